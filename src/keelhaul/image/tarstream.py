"""A minimal, bounded reader of tar streams (ustar, pax and GNU headers), for image layers.

Layers come from anywhere, so the reader trusts nothing: every header's checksum is checked,
sizes are parsed strictly (octal or GNU base-256) and capped, pax and GNU long-name records are
capped, and so are the number of entries and the length of a path. Nothing is extracted:
entries are yielded one by one, and a file's content can be read in chunks (to hash it, or to
keep a bounded head of it) or skipped.

Why not :mod:`tarfile`: in stream mode it builds a ``TarInfo`` per entry with every field
decoded, which costs several times more than the few fields an image analysis needs (see
bench/image_analysis.py for numbers), and its limits are not ours to set.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO

from keelhaul.errors import KeelhaulError

BLOCK = 512
_READ = 1 << 20
_ZERO_BLOCK = bytes(BLOCK)

#: Entry kinds, as short strings (``file``, ``dir``...): cheap to store per path.
FILE = "file"
DIR = "dir"
SYMLINK = "symlink"
HARDLINK = "hardlink"
CHAR = "char"
BLOCKDEV = "block"
FIFO = "fifo"
OTHER = "other"

_KINDS = {
    b"0": FILE, b"\0": FILE, b"7": FILE, b"1": HARDLINK, b"2": SYMLINK,
    b"3": CHAR, b"4": BLOCKDEV, b"5": DIR, b"6": FIFO, b"S": FILE,
}  # fmt: skip


class TarError(KeelhaulError):
    """A layer's tar stream is malformed, truncated or beyond the limits."""


@dataclass(frozen=True)
class TarLimits:
    """What one layer may hold before it is refused."""

    max_entries: int = 2_000_000
    max_path_bytes: int = 4096
    """Linux's PATH_MAX: longer names cannot be extracted anywhere."""
    max_meta_bytes: int = 1 << 20
    """A pax extended header or a GNU long name record."""
    max_entry_bytes: int = 1 << 40
    """One entry's declared size (1 TiB): anything bigger is an absurd header."""


@dataclass(slots=True)
class TarEntry:
    """One member: its raw name (as in the archive), kind, size and metadata."""

    name: str
    kind: str
    size: int
    mode: int
    uid: int
    gid: int
    link: str
    sparse: bool = False
    header: bytes = b""
    """The raw 512-byte header block (mtime, device numbers: read by who needs them)."""
    pax: dict[str, str] | None = None
    """The entry's pax records (xattrs as ``SCHILY.xattr.*``), when it had any."""


def _number(field: bytes, what: str) -> int:
    """An octal header number, or GNU base-256 (first byte 0x80 or 0xff)."""
    if field[-1:] == b"\0" and field[:1].isdigit():  # the usual form: zero-padded, NUL-ended
        text = field[:-1]
        if text.isdigit():
            try:
                return int(text, 8)
            except ValueError:  # an 8 or a 9
                raise TarError(f"bad {what} field {text[:20]!r} in a tar header") from None
    if field and field[0] & 0x80:
        value = int.from_bytes(field[1:], "big")
        if field[0] == 0xFF:  # negative base-256: never valid for sizes and ids here
            raise TarError(f"negative {what} in a tar header")
        return value
    text = field.split(b"\0", 1)[0].strip(b" ")
    if not text:
        return 0
    if not text.isdigit():  # int() would take "-1", "+7" and "1_0": never valid here
        raise TarError(f"bad {what} field {text[:20]!r} in a tar header")
    try:
        return int(text, 8)
    except ValueError:
        raise TarError(f"bad {what} field {text[:20]!r} in a tar header") from None


def _text(field: bytes) -> str:
    return field.split(b"\0", 1)[0].decode("utf-8", "surrogateescape")


def _pax_records(data: bytes) -> dict[str, str]:
    """``"%d %s=%s\\n"`` records; malformed ones end the parse with an error."""
    out: dict[str, str] = {}
    at = 0
    while at < len(data):
        if data[at] == 0:
            break  # padding some writers leave
        space = data.find(b" ", at)
        if space < 0:
            raise TarError("malformed pax extended header")
        try:
            length = int(data[at:space])
        except ValueError:
            raise TarError("malformed pax extended header (bad record length)") from None
        if length <= 0 or at + length > len(data):
            raise TarError("malformed pax extended header (record past its end)")
        record = data[space + 1 : at + length - 1]
        key, sep, value = record.partition(b"=")
        if not sep:
            raise TarError("malformed pax extended header (record without '=')")
        out[key.decode("utf-8", "surrogateescape")] = value.decode("utf-8", "surrogateescape")
        at += length
    return out


class TarReader:
    """Iterate a tar stream's entries; read or skip each file's content as it comes.

    After :meth:`entries` yields an entry, :meth:`chunks` gives its content (once); whatever
    is not read is skipped when the next entry is asked for.
    """

    def __init__(self, stream: IO[bytes], limits: TarLimits | None = None) -> None:
        self._stream = stream
        # read1 (where the stream has it) hands over what is ready, with no copy to fill a
        # request exactly; the reader buffers what it needs itself
        self._read = getattr(stream, "read1", stream.read)
        self.limits = limits or TarLimits()
        self._buf = b""
        self._pos = 0
        self._remaining = 0  # content bytes of the current entry not yet consumed
        self._padding = 0
        self.bytes_read = 0
        """Tar bytes consumed so far (headers, content and padding)."""
        self.entry_count = 0

    @property
    def buffered(self) -> int:
        """Bytes read from the stream but not consumed (what follows the end marker)."""
        return len(self._buf) - self._pos

    # -- buffered input --------------------------------------------------------------------

    def _fill(self, need: int) -> bool:
        """Make ``need`` bytes available from ``_pos``; False at end of stream."""
        while len(self._buf) - self._pos < need:
            chunk = self._read(max(_READ, need))
            if not chunk:
                return False
            # most refills find the buffer used up: take the chunk as it is, no copy
            self._buf = self._buf[self._pos :] + chunk if self._pos < len(self._buf) else chunk
            self._pos = 0
        return True

    def _take(self, n: int, what: str) -> bytes:
        if not self._fill(n):
            raise TarError(f"truncated tar stream (in {what})")
        data = self._buf[self._pos : self._pos + n]
        self._pos += n
        self.bytes_read += n
        return data

    def _skip(self, n: int) -> None:
        while n > 0:
            have = len(self._buf) - self._pos
            if have == 0:
                if not self._fill(1):
                    raise TarError("truncated tar stream (in a file's content)")
                have = len(self._buf) - self._pos
            step = min(have, n)
            self._pos += step
            self.bytes_read += step
            n -= step

    # -- content ---------------------------------------------------------------------------

    def chunks(self) -> Iterator[memoryview]:
        """The rest of the current entry's content, in chunks (views valid until the next)."""
        while self._remaining > 0:
            if len(self._buf) - self._pos == 0 and not self._fill(1):
                raise TarError("truncated tar stream (in a file's content)")
            step = min(len(self._buf) - self._pos, self._remaining)
            view = memoryview(self._buf)[self._pos : self._pos + step]
            self._pos += step
            self.bytes_read += step
            self._remaining -= step
            yield view

    def _finish_entry(self) -> None:
        if self._remaining:
            self._skip(self._remaining)
            self._remaining = 0
        if self._padding:
            self._skip(self._padding)
            self._padding = 0

    def _meta(self, size: int, what: str) -> bytes:
        if size > self.limits.max_meta_bytes:
            raise TarError(f"{what} of {size} bytes (limit {self.limits.max_meta_bytes})")
        data = self._take(size, what)
        self._skip(-size % BLOCK)
        return data

    # -- headers ---------------------------------------------------------------------------

    def entries(self) -> Iterator[TarEntry]:
        limits = self.limits
        pax: dict[str, str] = {}
        long_name: str | None = None
        long_link: str | None = None
        while True:
            self._finish_entry()
            if not self._fill(BLOCK):
                if self.bytes_read == 0:
                    return  # an empty stream: an empty layer
                raise TarError("truncated tar stream (no end-of-archive marker)")
            block = self._take(BLOCK, "a header")
            if block == _ZERO_BLOCK:
                return  # end of archive; a second zero block and padding may follow
            stored = _number(block[148:156], "checksum")
            if stored != sum(block) - sum(block[148:156]) + 8 * 32:
                raise TarError(f"bad tar header checksum at byte {self.bytes_read - BLOCK}")
            flag = block[156:157]
            size = _number(block[124:136], "size")
            if size > limits.max_entry_bytes:
                raise TarError(
                    f"a tar header declares {size} bytes (limit {limits.max_entry_bytes}): "
                    "an absurd size"
                )
            if flag in (b"x", b"X"):
                pax = _pax_records(self._meta(size, "a pax extended header"))
                continue
            if flag == b"g":
                self._meta(size, "a pax global header")  # defaults for mtime/uname: unused
                continue
            if flag == b"L":
                long_name = _text(self._meta(size, "a GNU long name"))
                continue
            if flag == b"K":
                long_link = _text(self._meta(size, "a GNU long link name"))
                continue
            self.entry_count += 1
            if self.entry_count > limits.max_entries:
                raise TarError(f"more than {limits.max_entries} entries: refused")
            entry = self._entry(block, flag, size, pax, long_name, long_link)
            pax, long_name, long_link = {}, None, None
            if len(entry.name.encode("utf-8", "surrogateescape")) > limits.max_path_bytes:
                raise TarError(
                    f"a path of more than {limits.max_path_bytes} bytes ({entry.name[:60]!r}...)"
                )
            # Only regular files (and unknown types) carry content, as tarfile reads it: the
            # size a link or a directory header declares is ignored.
            carried = entry.size if entry.kind in (FILE, OTHER) else 0
            if carried == 0:
                entry.size = 0
            self._remaining = carried
            self._padding = -carried % BLOCK
            yield entry

    def _entry(
        self,
        block: bytes,
        flag: bytes,
        size: int,
        pax: dict[str, str],
        long_name: str | None,
        long_link: str | None,
    ) -> TarEntry:
        name = _text(block[0:100])
        # POSIX has a prefix field (GNU's magic has none); most entries leave it empty
        if block[345] and block[257:263] == b"ustar\x00":
            prefix = _text(block[345:500])
            if prefix:
                name = f"{prefix}/{name}"
        link = _text(block[157:257]) if block[157] else ""
        if long_name is not None:
            name = long_name
        if long_link is not None:
            link = long_link
        sparse = flag == b"S"
        if pax:
            name = pax.get("path", name)
            link = pax.get("linkpath", link)
            if "GNU.sparse.name" in pax:
                name, sparse = pax["GNU.sparse.name"], True
            if "size" in pax:
                try:
                    size = int(pax["size"])
                except ValueError:
                    raise TarError(f"bad pax size {pax['size'][:20]!r}") from None
                if size < 0 or size > self.limits.max_entry_bytes:
                    raise TarError(f"a pax header declares an absurd size ({size})")
        kind = _KINDS.get(flag, OTHER)
        return TarEntry(
            name=name,
            kind=kind,
            size=size,
            mode=_number(block[100:108], "mode") & 0o7777,
            uid=_pax_int(pax, "uid", block[108:116]),
            gid=_pax_int(pax, "gid", block[116:124]),
            link=link,
            sparse=sparse,
            header=block,
            pax=pax or None,
        )


def _pax_int(pax: dict[str, str], key: str, field: bytes) -> int:
    if key in pax:
        text = pax[key]
        if not (text.isascii() and text.isdigit()):  # int() would take "-1" and " 1_0 "
            raise TarError(f"bad pax {key} {text[:20]!r}")
        return int(text)
    return _number(field, key)
