"""The header blobs of an rpm database, in each of the three formats rpm has kept them in:

- SQLite ``rpmdb.sqlite`` (RHEL 9, Fedora 33+, Rocky, AlmaLinux, Amazon Linux 2023);
- BerkeleyDB ``Packages`` (CentOS/RHEL 5-8, SLES 12, Amazon Linux 2): a hash database whose
  keys are header instances and whose values are the blobs;
- ndb ``Packages.db`` (SUSE/openSUSE since 15.3): rpm's own "new database" format.

Each reader takes the file's bytes and yields blobs; the one header parser
(:func:`keelhaul.sbom.os_packages.parse_rpm_header`) reads them all. A file that is not in its
format yields nothing.

Written from the formats as BerkeleyDB 5.3 (``dbinc/db_page.h``, ``dbinc/db_meta.h``) and rpm
(``lib/backend/ndb/rpmpkg.c``) define them.
"""

from __future__ import annotations

import sqlite3
import struct
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

# --------------------------------------------------------------------------------------------
# SQLite


def sqlite_blobs(data: bytes) -> Iterator[bytes]:
    with tempfile.TemporaryDirectory() as folder:  # sqlite reads files, not bytes
        copy = Path(folder) / "rpmdb.sqlite"
        copy.write_bytes(data)
        try:
            db = sqlite3.connect(f"file:{copy}?mode=ro", uri=True)
            try:
                rows = db.execute("SELECT blob FROM Packages").fetchall()
            finally:
                db.close()
        except sqlite3.DatabaseError:
            return
    for (blob,) in rows:
        yield bytes(blob)


# --------------------------------------------------------------------------------------------
# BerkeleyDB hash database

_HASH_MAGIC = 0x061561
_META_HASH = 8  # P_HASHMETA
_HASH_UNSORTED = 2  # P_HASH_UNSORTED (databases written before BerkeleyDB 4.6: CentOS 5)
_HASH = 13  # P_HASH
_OVERFLOW = 7  # P_OVERFLOW
_KEYDATA = 1  # H_KEYDATA: the item is on the page
_OFFPAGE = 3  # H_OFFPAGE: the item is on a chain of overflow pages
_PAGE_HEADER = 26  # LSN 8, pgno 4, prev 4, next 4, entries 2, hf_offset 2, level 1, type 1
_PAGE_SIZES = frozenset(512 << k for k in range(8))  # 512 .. 65536


def _bdb_layout(data: bytes) -> tuple[str, int, int] | None:
    """(byte order, page size, last page) from the metadata page, or None if not a hash
    database. The magic number says the byte order the database was written in."""
    if len(data) < 512:
        return None
    for order in ("<", ">"):
        magic, _version, page_size = struct.unpack_from(f"{order}III", data, 12)
        if magic == _HASH_MAGIC:
            break
    else:
        return None
    last_page = struct.unpack_from(f"{order}I", data, 32)[0]
    if data[25] != _META_HASH or page_size not in _PAGE_SIZES or data[24] != 0:
        return None  # another access method, or encrypted
    return order, page_size, min(last_page, len(data) // page_size - 1)


def _overflow(data: bytes, order: str, page_size: int, first: int, length: int) -> bytes:
    """The item stored on the chain of overflow pages starting at ``first``: each page holds
    ``hf_offset`` bytes of it after its header."""
    out = bytearray()
    page, seen = first, set()
    while page and page not in seen and len(out) < length:
        seen.add(page)
        start = page * page_size
        if start + page_size > len(data) or data[start + 25] != _OVERFLOW:
            raise ValueError(f"overflow page {page} missing")
        next_page, _entries, used = struct.unpack_from(f"{order}IHH", data, start + 16)
        out += data[start + _PAGE_HEADER : start + _PAGE_HEADER + min(used, page_size)]
        page = next_page
    if len(out) != length:
        raise ValueError("overflow chain shorter than its item")
    return bytes(out)


def bdb_values(data: bytes) -> Iterator[bytes]:
    """Every value of a BerkeleyDB hash database, page by page (the bucket order does not
    matter here). Hash pages hold key/data pairs: an index of 2-byte offsets after the page
    header, items packed from the page's end; a value is on the page (``H_KEYDATA``) or on
    overflow pages (``H_OFFPAGE``: page number and length)."""
    layout = _bdb_layout(data)
    if layout is None:
        return
    order, page_size, last_page = layout
    for number in range(1, last_page + 1):
        start = number * page_size
        page = data[start : start + page_size]
        if page[25] not in (_HASH, _HASH_UNSORTED):
            continue
        entries = struct.unpack_from(f"{order}H", page, 20)[0]
        if _PAGE_HEADER + 2 * entries > page_size:
            continue
        offsets = struct.unpack_from(f"{order}{entries}H", page, _PAGE_HEADER)
        for k in range(1, entries, 2):  # the value of each pair
            at, end = offsets[k], offsets[k - 1]  # items are laid out downwards
            if not _PAGE_HEADER < at < page_size:
                continue
            kind = page[at]
            if kind == _KEYDATA and at < end <= page_size:
                yield page[at + 1 : end]
            elif kind == _OFFPAGE and at + 12 <= page_size:
                first, length = struct.unpack_from(f"{order}II", page, at + 4)
                try:
                    yield _overflow(data, order, page_size, first, length)
                except ValueError:
                    continue


# --------------------------------------------------------------------------------------------
# ndb (rpm's Packages.db)

_NDB_MAGIC = b"RpmP"
_SLOT_MAGIC = b"Slot"
_BLOB_MAGIC = b"BlbS"
_SLOT_PAGE = 4096
_BLOCK = 16  # offsets and lengths of blobs count 16-byte blocks


def ndb_blobs(data: bytes) -> Iterator[bytes]:
    """The blobs of an ndb ``Packages.db``: a 32-byte header (magic, version 0, generation,
    number of slot pages), then the slot pages (16-byte slots: magic, package index, block
    offset, block count; the header takes the first two slots' room), then blobs, each with
    a 16-byte header (magic, package index, checksum, length)."""
    if len(data) < 32 or data[:4] != _NDB_MAGIC:
        return
    version, _generation, slot_pages = struct.unpack_from("<III", data, 4)
    if version != 0 or not 0 < slot_pages <= 2048:
        return
    end = min(slot_pages * _SLOT_PAGE, len(data) - len(data) % 16)
    for at in range(32, end, 16):
        magic = data[at : at + 4]
        if magic != _SLOT_MAGIC:
            return  # a damaged slot table: stop rather than read garbage
        index, block, _count = struct.unpack_from("<III", data, at + 4)
        if index == 0:
            continue  # a free slot
        blob_at = block * _BLOCK
        if blob_at + 16 > len(data) or data[blob_at : blob_at + 4] != _BLOB_MAGIC:
            continue
        owner, _checksum, length = struct.unpack_from("<III", data, blob_at + 4)
        if owner != index or blob_at + 16 + length > len(data):
            continue
        yield data[blob_at + 16 : blob_at + 16 + length]


# --------------------------------------------------------------------------------------------

#: Where each format lives, in the order they are tried. ``/usr/lib/sysimage/rpm`` is where
#: Fedora 36+ and SUSE keep the database (``/var/lib/rpm`` is then a symbolic link to it).
_FORMATS: tuple[tuple[str, Callable[[bytes], Iterator[bytes]]], ...] = (
    ("rpmdb.sqlite", sqlite_blobs),
    ("Packages.db", ndb_blobs),
    ("Packages", bdb_values),
)
DATABASES = tuple(
    (f"{folder}/{name}", reader)
    for folder in ("/var/lib/rpm", "/usr/lib/sysimage/rpm")
    for name, reader in _FORMATS
)
