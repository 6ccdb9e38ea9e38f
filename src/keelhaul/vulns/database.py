"""The vulnerability database: OSV advisories in one SQLite file, indexed by ecosystem and
package, updated atomically.

Layout: ``advisories`` holds each record (zlib-compressed JSON) under its id; ``packages``
indexes (ecosystem, normalised name) -> id, with the record's ``affected`` entries for that
package (``entries``: what matching needs, a fraction of the record, so a record is read
whole only when it matches); ``aliases`` indexes the ids of the flaw a record
is about (its aliases, ``upstream`` CVEs, the CVE in ``UBUNTU-CVE-...``) -> id; ``sources`` tells, per ecosystem, where its
records came from and when. Every change builds a complete new file beside the old one and
renames it into place (``os.replace``): a failed update leaves the old database as it was,
and a scan that opened the old file goes on reading it, never a half-written one.

Where it lives: ``--db PATH``, else ``$KEELHAUL_DB``, else ``<cache>/keelhaul/osv.sqlite3``
with ``<cache>`` from ``$XDG_CACHE_HOME`` (``~/.cache`` by default).
"""

from __future__ import annotations

import fcntl
import io
import json
import os
import sqlite3
import tempfile
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator
from contextlib import closing, contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any
from urllib.parse import quote

from keelhaul import limits
from keelhaul.errors import KeelhaulError
from keelhaul.vulns import download, exploits, record_shape
from keelhaul.vulns.osv import flaw_ids, normalise_name, packages

SCHEMA_VERSION = 2
#: Older schemas this version still reads (1: no ``aliases`` index; migrated on a write).
READABLE_SCHEMAS = ("1", "2")
#: Bytes one advisory may take (the largest real ones are a few hundred KB).
MAX_RECORD_BYTES = limits.OSV_RECORD_BYTES
#: Bytes a zip may inflate to in all (OSV's largest export, Debian, is some 2 GB inflated).
MAX_ZIP_BYTES = limits.OSV_ZIP_BYTES

_SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE advisories (
  id TEXT PRIMARY KEY, modified TEXT, withdrawn INTEGER NOT NULL, record BLOB NOT NULL);
CREATE TABLE packages (
  ecosystem TEXT NOT NULL, name TEXT NOT NULL, id TEXT NOT NULL, entries BLOB,
  PRIMARY KEY (ecosystem, name, id)) WITHOUT ROWID;
CREATE TABLE aliases (
  key TEXT NOT NULL, id TEXT NOT NULL, PRIMARY KEY (key, id)) WITHOUT ROWID;
CREATE TABLE sources (
  ecosystem TEXT PRIMARY KEY, origin TEXT NOT NULL, imported_at TEXT NOT NULL,
  records INTEGER NOT NULL);
"""

#: Tables added within schema 2 (an older keelhaul reading the file ignores them): the
#: validators of each ecosystem's last download, CISA's KEV catalogue, FIRST's EPSS scores.
_EXTRAS = """
CREATE TABLE IF NOT EXISTS downloads (
  ecosystem TEXT PRIMARY KEY, url TEXT NOT NULL, etag TEXT, last_modified TEXT,
  checked_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS kev (
  cve TEXT PRIMARY KEY, date_added TEXT NOT NULL, due_date TEXT NOT NULL,
  ransomware TEXT NOT NULL, name TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS epss (
  cve TEXT PRIMARY KEY, score REAL NOT NULL, percentile REAL NOT NULL) WITHOUT ROWID;
"""


class DatabaseError(KeelhaulError):
    """The database or an advisory source cannot be read or written."""


def default_path() -> Path:
    explicit = os.environ.get("KEELHAUL_DB")
    if explicit:
        return Path(explicit)
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "keelhaul" / "osv.sqlite3"


@dataclass(frozen=True)
class Status:
    path: Path
    exists: bool
    advisories: int = 0
    withdrawn: int = 0
    ecosystems: tuple[tuple[str, str, str, int], ...] = ()
    """(ecosystem, origin, imported at, records) for each imported ecosystem."""
    updated_at: str | None = None
    """When the database last changed."""
    checked_at: str | None = None
    """When ``db update`` last found every ecosystem it asked for current (changed or not)."""
    published: dict[str, str] = field(default_factory=dict)
    """Ecosystem -> when its export was published (the server's ``Last-Modified``)."""
    kev: tuple[str, int] | None = None
    """CISA's KEV catalogue: (its version and date, entries)."""
    epss: tuple[str, int] | None = None
    """FIRST's EPSS scores: (model and score date, CVEs)."""

    @property
    def current_at(self) -> str | None:
        """The latest of :attr:`updated_at` and :attr:`checked_at`: since when the data may
        have gone stale."""
        found = [t for t in (self.updated_at, self.checked_at) if t]
        return max(found, key=datetime.fromisoformat) if found else None

    @property
    def age_hours(self) -> float | None:
        if self.current_at is None:
            return None
        then = datetime.fromisoformat(self.current_at)
        return (datetime.now(UTC) - then).total_seconds() / 3600


def _connect(path: Path, readonly: bool) -> sqlite3.Connection:
    if readonly:
        return sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
    return sqlite3.connect(path)


def _tables(db: sqlite3.Connection) -> set[str]:
    return {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def age_hours(path: Path) -> float | None:
    """Hours since the database was last updated or found current (:attr:`Status.age_hours`)
    without counting what it holds; None when there is none or it cannot tell."""
    try:
        with closing(_connect(path, readonly=True)) as db:
            meta = dict(db.execute(
                "SELECT key, value FROM meta WHERE key IN ('updated_at', 'checked_at')"))  # fmt: skip
    except sqlite3.DatabaseError:
        return None
    return Status(path, True, updated_at=meta.get("updated_at"),
                  checked_at=meta.get("checked_at")).age_hours  # fmt: skip


def status(path: Path) -> Status:
    if not path.is_file():
        return Status(path, False)
    try:
        with closing(_connect(path, readonly=True)) as db:
            total, withdrawn = db.execute(
                "SELECT count(*), coalesce(sum(withdrawn), 0) FROM advisories"
            ).fetchone()
            rows = db.execute(
                "SELECT ecosystem, origin, imported_at, records FROM sources ORDER BY ecosystem"
            ).fetchall()
            meta = dict(db.execute("SELECT key, value FROM meta").fetchall())
            tables = _tables(db)
            published: dict[str, str] = {}
            kev = epss = None
            if "downloads" in tables:
                published = {e: m for e, m in db.execute(
                    "SELECT ecosystem, last_modified FROM downloads") if m}  # fmt: skip
            if "kev" in tables and "kev_catalog" in meta:
                kev = (meta["kev_catalog"], db.execute("SELECT count(*) FROM kev").fetchone()[0])
            if "epss" in tables and "epss_scored" in meta:
                epss = (meta["epss_scored"], db.execute("SELECT count(*) FROM epss").fetchone()[0])
    except sqlite3.DatabaseError as exc:
        raise DatabaseError(f"{path}: not a keelhaul vulnerability database ({exc})") from None
    return Status(path, True, int(total), int(withdrawn), tuple(tuple(r) for r in rows),
                  meta.get("updated_at"), meta.get("checked_at"), published, kev, epss)  # fmt: skip


# --------------------------------------------------------------------------------------------
# reading advisories from zips and folders


@dataclass(frozen=True)
class Advisory:
    id: str
    modified: str | None
    withdrawn: bool
    data: bytes
    """The record's JSON as read."""
    record: dict[str, Any]


@dataclass(frozen=True)
class Skipped:
    """A record of a shape keelhaul cannot read (:mod:`keelhaul.vulns.record_shape`): not
    imported, and said so."""

    why: str


def _advisory(data: bytes, where: str) -> Advisory | Skipped:
    if len(data) > MAX_RECORD_BYTES:
        raise DatabaseError(f"{where}: advisory larger than {MAX_RECORD_BYTES // 2**20} MiB")
    try:
        record = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DatabaseError(f"{where}: not valid JSON ({exc})") from None
    if not isinstance(record, dict) or not isinstance(record.get("id"), str):
        raise DatabaseError(f"{where}: not an OSV record (no string `id`)")
    wrong = record_shape.problem(record)
    if wrong is not None:
        return Skipped(f"{record['id']} ({where}): {wrong}")
    return Advisory(record["id"], record.get("modified"), bool(record.get("withdrawn")), data,
                    record)  # fmt: skip


def read_zip(source: Path | io.BytesIO, name: str) -> Iterator[Advisory | Skipped]:
    """The advisories of an OSV export zip (``all.zip``): one JSON file per record."""
    try:
        archive = zipfile.ZipFile(source)
    except (zipfile.BadZipFile, OSError) as exc:
        raise DatabaseError(f"{name}: not a zip archive ({exc})") from None
    with archive:
        total = 0
        for info in archive.infolist():
            if info.is_dir() or not info.filename.endswith(".json"):
                continue
            total += info.file_size
            if info.file_size > MAX_RECORD_BYTES or total > MAX_ZIP_BYTES:
                raise DatabaseError(f"{name}: {info.filename}: inflates beyond the limits")
            try:
                data = archive.read(info)
            except (zipfile.BadZipFile, zlib.error, OSError) as exc:
                raise DatabaseError(f"{name}: {info.filename}: {exc}") from None
            yield _advisory(data, f"{name}: {info.filename}")


def read_path(path: Path) -> Iterator[Advisory | Skipped]:
    """Advisories from a zip, a JSON file, or a folder of them (searched recursively)."""
    if path.is_dir():
        for child in sorted(path.rglob("*")):
            if child.is_file() and child.suffix in (".json", ".zip"):
                yield from read_path(child)
        return
    if not path.is_file():
        raise DatabaseError(f"{path}: no such file or folder")
    if path.suffix == ".zip" or zipfile.is_zipfile(path):
        yield from read_zip(path, str(path))
        return
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DatabaseError(f"{path}: {exc.strerror or exc}") from None
    yield _advisory(data, str(path))


# --------------------------------------------------------------------------------------------
# writing: one writer at a time, always a whole new file, renamed into place


@contextmanager
def writing(path: Path, waiting: Callable[[], None] | None = None) -> Iterator[None]:
    """Hold the database's write lock (``fcntl.flock`` on ``<path>.lock``): writers (``db
    import``, ``db update``) take turns, each building on what the one before stored.
    ``waiting`` is called once when another writer holds it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    lock = path.with_name(path.name + ".lock")
    with lock.open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if waiting is not None:
                waiting()
            fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            _sweep(path)
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _sweep(path: Path) -> None:
    """Remove what writers killed mid-way left (their ``.<name>.XXXX.new`` copy and its
    ``-journal``): with the write lock held, no live writer owns one."""
    prefix = f".{path.name}."
    try:
        entries = list(os.scandir(path.parent))
    except OSError:
        return
    for entry in entries:
        if entry.name.startswith(prefix) and entry.name.endswith((".new", ".new-journal")):
            with suppress(OSError):
                os.unlink(entry.path)


@contextmanager
def _rewrite(path: Path) -> Iterator[sqlite3.Connection]:
    """A writable copy of the database (or a new one); renamed over ``path`` when the block
    ends without an error, thrown away otherwise. Hold :func:`writing` around it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".new", dir=path.parent)
    os.close(handle)
    temp = Path(temp_name)
    try:
        db = sqlite3.connect(temp)
        try:
            if path.is_file():
                with closing(_connect(path, readonly=True)) as old:
                    old.backup(db)
                if _check_schema(db, path) != str(SCHEMA_VERSION):
                    _migrate(db)
            else:
                db.executescript(_SCHEMA)
                db.execute("INSERT INTO meta VALUES ('schema', ?)", (str(SCHEMA_VERSION),))
            db.executescript(_EXTRAS)
            if "entries" not in {r[1] for r in db.execute("PRAGMA table_info(packages)")}:
                db.execute("ALTER TABLE packages ADD COLUMN entries BLOB")  # read as absent
            yield db
            db.execute("INSERT OR REPLACE INTO meta VALUES ('updated_at', ?)", (_now(),))
            db.commit()
        finally:
            db.close()
        # mkstemp made it private: give it the old file's mode, or what the umask allows
        if path.is_file():
            os.chmod(temp, path.stat().st_mode & 0o777)
        else:
            mask = os.umask(0)
            os.umask(mask)
            os.chmod(temp, 0o666 & ~mask)
        os.replace(temp, path)
    except sqlite3.DatabaseError as exc:
        raise DatabaseError(f"{path}: {exc}") from None
    finally:
        temp.unlink(missing_ok=True)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _check_schema(db: sqlite3.Connection, path: Path) -> str:
    try:
        row = db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
    except sqlite3.DatabaseError:
        row = None
    if row is None or row[0] not in READABLE_SCHEMAS:
        raise DatabaseError(f"{path}: not a keelhaul vulnerability database of this version "
                            "(remove it and run `keelhaul db update`)")  # fmt: skip
    return str(row[0])


def _migrate(db: sqlite3.Connection) -> None:
    """Schema 1 -> 2: the ``aliases`` index, filled from the stored records."""
    db.execute("CREATE TABLE IF NOT EXISTS aliases (key TEXT NOT NULL, id TEXT NOT NULL, "
               "PRIMARY KEY (key, id)) WITHOUT ROWID")  # fmt: skip
    for advisory_id, blob in db.execute("SELECT id, record FROM advisories").fetchall():
        record = json.loads(zlib.decompress(blob))
        db.executemany("INSERT OR IGNORE INTO aliases VALUES (?, ?)",
                       [(k, advisory_id) for k in flaw_ids(record)])  # fmt: skip
    db.execute("UPDATE meta SET value = ? WHERE key = 'schema'", (str(SCHEMA_VERSION),))


@dataclass
class Imported:
    """What an import or update stored: records, and records per ecosystem (a record that
    names two ecosystems counts in both); KEV entries and EPSS scores."""

    records: int = 0
    by_ecosystem: dict[str, int] = field(default_factory=dict)
    kev: int = 0
    epss: int = 0
    skipped: list[str] = field(default_factory=list)
    """Records not imported, each with its id, where it came from and why."""

    def add(self, other: Imported) -> None:
        self.records += other.records
        self.skipped += other.skipped
        self.kev += other.kev
        self.epss += other.epss
        for ecosystem, n in other.by_ecosystem.items():
            self.by_ecosystem[ecosystem] = self.by_ecosystem.get(ecosystem, 0) + n


def _store(db: sqlite3.Connection, advisories: Iterable[Advisory | Skipped]) -> Imported:
    """Insert (or replace) advisories; skipped ones are counted."""
    done = Imported()
    counts = done.by_ecosystem
    for adv in advisories:
        if isinstance(adv, Skipped):
            done.skipped.append(adv.why)
            continue
        done.records += 1
        db.execute("DELETE FROM packages WHERE id = ?", (adv.id,))
        db.execute("DELETE FROM aliases WHERE id = ?", (adv.id,))
        db.executemany("INSERT OR IGNORE INTO aliases VALUES (?, ?)",
                       [(k, adv.id) for k in flaw_ids(adv.record)])  # fmt: skip
        db.execute("INSERT OR REPLACE INTO advisories VALUES (?, ?, ?, ?)",
                   (adv.id, adv.modified, int(adv.withdrawn), zlib.compress(adv.data, 6)))  # fmt: skip
        seen = set(packages(adv.record))
        db.executemany("INSERT OR REPLACE INTO packages (ecosystem, name, id, entries) "
                       "VALUES (?, ?, ?, ?)",
                       [(e, n, adv.id, _entries(adv.record, e, n)) for e, n in seen])  # fmt: skip
        for ecosystem in {e.partition(":")[0] for e, _ in seen} or {"(none)"}:
            counts[ecosystem] = counts.get(ecosystem, 0) + 1
    return done


def _entries(record: dict[str, Any], ecosystem: str, name: str) -> bytes:
    """The part of ``record`` that says whether it affects ``name`` in ``ecosystem``."""
    mine = [a for a in record.get("affected") or () if isinstance(a, dict)
            and isinstance(a.get("package"), dict)
            and str(a["package"].get("ecosystem", "")) == ecosystem
            and normalise_name(ecosystem, str(a["package"].get("name", ""))) == name]  # fmt: skip
    small = {"id": record["id"], "withdrawn": record.get("withdrawn"), "affected": mine}
    return zlib.compress(json.dumps(small, separators=(",", ":")).encode(), 6)


def _store_kev(db: sqlite3.Connection, kev: exploits.Kev) -> Imported:
    """Replace the KEV catalogue held (a newer catalogue lists every entry again)."""
    db.execute("DELETE FROM kev")
    db.executemany("INSERT OR REPLACE INTO kev VALUES (?, ?, ?, ?, ?)",
                   [(e.cve, e.date_added, e.due_date, e.ransomware, e.name)
                    for e in kev.entries])  # fmt: skip
    db.execute("INSERT OR REPLACE INTO meta VALUES ('kev_catalog', ?)", (kev.catalog,))
    return Imported(kev=len(kev.entries))


def _store_epss(db: sqlite3.Connection, epss: exploits.Epss) -> Imported:
    """Replace the EPSS scores held (each day's file scores every CVE again)."""
    db.execute("DELETE FROM epss")
    db.executemany("INSERT OR REPLACE INTO epss VALUES (?, ?, ?)",
                   [(e.cve, e.score, e.percentile) for e in epss.entries])  # fmt: skip
    db.execute("INSERT OR REPLACE INTO meta VALUES ('epss_scored', ?)",
               (epss.scored or "no date in the file",))  # fmt: skip
    return Imported(epss=len(epss.entries))


def _replace_ecosystem(db: sqlite3.Connection, ecosystem: str) -> None:
    """Forget what an earlier import of ``ecosystem`` brought (its releases included)."""
    like = ecosystem.replace("%", r"\%").replace("_", r"\_") + ":%"
    ids = [r[0] for r in db.execute(
        "SELECT DISTINCT id FROM packages WHERE ecosystem = ? OR ecosystem LIKE ? ESCAPE '\\'",
        (ecosystem, like))]  # fmt: skip
    db.executemany("DELETE FROM packages WHERE id = ?", [(i,) for i in ids])
    db.executemany("DELETE FROM advisories WHERE id = ?", [(i,) for i in ids])
    db.executemany("DELETE FROM aliases WHERE id = ?", [(i,) for i in ids])


def import_paths(path: Path, sources: Iterable[Path],
                 waiting: Callable[[], None] | None = None) -> Imported:  # fmt: skip
    """``keelhaul db import``: add the advisories of zips, files and folders; a CISA KEV
    catalogue or a FIRST EPSS file (:func:`keelhaul.vulns.exploits.kind_of`) replaces the one
    held. Every file is read before the database is touched."""
    found = list(sources)
    advisories = [s for s in found if exploits.kind_of(s) is None]
    try:
        catalogues = [exploits.read_kev(s) for s in found if exploits.kind_of(s) == "kev"]
        scores = [exploits.read_epss(s) for s in found if exploits.kind_of(s) == "epss"]
    except exploits.ExploitDataError as exc:
        raise DatabaseError(str(exc)) from None
    done = Imported()
    with writing(path, waiting), _rewrite(path) as db:
        for source in advisories:
            done.add(_store(db, read_path(source)))
        _record_sources(db, done.by_ecosystem, ", ".join(str(s) for s in advisories))
        for kev in catalogues:
            done.add(_store_kev(db, kev))
        for epss in scores:
            done.add(_store_epss(db, epss))
    return done


def _record_sources(db: sqlite3.Connection, counts: dict[str, int], origin: str) -> None:
    now = _now()
    for ecosystem, n in counts.items():
        db.execute("INSERT OR REPLACE INTO sources VALUES (?, ?, ?, ?)",
                   (ecosystem, origin, now, n))  # fmt: skip


#: OSV's public export: ``<base>/<ecosystem>/all.zip``.
OSV_BASE_URL = "https://osv-vulnerabilities.storage.googleapis.com"
DEFAULT_ECOSYSTEMS = ("Debian", "Ubuntu", "Alpine", "Red Hat", "Rocky Linux", "AlmaLinux",
                      "SUSE", "openSUSE", "Wolfi", "Chainguard", "PyPI", "npm", "Go", "crates.io", "Maven", "RubyGems", "Packagist",
                      "NuGet")  # fmt: skip
MAX_DOWNLOAD_BYTES = download.MAX_DOWNLOAD_BYTES


@dataclass
class Updated:
    """What ``db update`` did: records stored per changed ecosystem, the ecosystems the
    server said had not changed, and those whose download resumed (from how many bytes)."""

    changed: dict[str, int] = field(default_factory=dict)
    unchanged: list[str] = field(default_factory=list)
    resumed: dict[str, int] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)
    """Records of an unreadable shape, not imported (with why)."""


def _held(path: Path) -> dict[str, download.Validators]:
    if not path.is_file():
        return {}
    try:
        with closing(_connect(path, readonly=True)) as db:
            if "downloads" not in _tables(db):
                return {}
            rows = db.execute("SELECT ecosystem, url, etag, last_modified FROM downloads")
            return {e: download.Validators(u, t, m) for e, u, t, m in rows}
    except sqlite3.DatabaseError as exc:
        raise DatabaseError(f"{path}: {exc}") from None


def _record_checked(db: sqlite3.Connection, fetched: dict[str, download.Fetched]) -> None:
    now = _now()
    for ecosystem, got in fetched.items():
        v = got.validators
        db.execute("INSERT OR REPLACE INTO downloads VALUES (?, ?, ?, ?, ?)",
                   (ecosystem, v.url, v.etag, v.last_modified, now))  # fmt: skip
    db.execute("INSERT OR REPLACE INTO meta VALUES ('checked_at', ?)", (now,))


def update(path: Path, ecosystems: Iterable[str], base_url: str = OSV_BASE_URL,
           timeout: float = 60.0, *, max_bytes: int = MAX_DOWNLOAD_BYTES,
           progress: Callable[[str, int, int | None], None] | None = None,
           waiting: Callable[[], None] | None = None) -> Updated:  # fmt: skip
    """``keelhaul db update``: download the ``all.zip`` of each ecosystem that changed since
    the copy held (:mod:`keelhaul.vulns.download`: ETag / Last-Modified, resumed downloads,
    at most ``max_bytes`` each) and replace what the database held for it. Every download
    finishes before the database is touched; any failure leaves it as it was, and keeps
    what arrived of an interrupted download for the next run to resume."""
    import httpx

    wanted = list(dict.fromkeys(ecosystems))
    partial = path.with_name(f".{path.name}.downloads")
    done = Updated()
    with writing(path, waiting):
        held = _held(path)
        fetched: dict[str, download.Fetched] = {}
        with httpx.Client(timeout=timeout, follow_redirects=True) as client:
            for ecosystem in wanted:
                url = f"{base_url.rstrip('/')}/{ecosystem.replace(' ', '%20')}/all.zip"
                target = partial / f"{quote(ecosystem, safe='')}.zip.part"
                report = (lambda n, total, e=ecosystem: progress(e, n, total)) if progress else None
                try:
                    got = download.fetch(client, url, target, held=held.get(ecosystem),
                                         limit=max_bytes, progress=report)  # fmt: skip
                except download.DownloadError as exc:
                    raise DatabaseError(str(exc)) from None
                fetched[ecosystem] = got
                if got.resumed_from:
                    done.resumed[ecosystem] = got.resumed_from
        changed = {e: g for e, g in fetched.items() if g.changed and g.path is not None}
        done.unchanged = [e for e in wanted if e not in changed]
        try:
            _apply(path, fetched, changed, done)
        finally:  # complete downloads are not kept, stored or not
            for got in changed.values():
                assert got.path is not None
                download.forget(got.path)
            with suppress(OSError):
                partial.rmdir()  # when empty
    return done


def _apply(path: Path, fetched: dict[str, download.Fetched],
           changed: dict[str, download.Fetched], done: Updated) -> None:  # fmt: skip
    if changed:
        with _rewrite(path) as db:
            # forget first, then store: a record naming two ecosystems comes in both zips
            for ecosystem in changed:
                _replace_ecosystem(db, ecosystem)
            for ecosystem, got in changed.items():
                assert got.path is not None
                stored = _store(db, read_zip(got.path, got.validators.url))
                n = stored.records
                done.skipped += stored.skipped
                done.changed[ecosystem] = n
                _record_sources(db, {ecosystem: n}, got.validators.url)
            _record_checked(db, fetched)
    elif path.is_file():  # nothing changed: a few rows, written in place
        try:
            with closing(_connect(path, readonly=False)) as db, db:
                db.executescript(_EXTRAS)
                _record_checked(db, fetched)
        except sqlite3.DatabaseError as exc:
            raise DatabaseError(f"{path}: {exc}") from None


# --------------------------------------------------------------------------------------------
# reading


class Database:
    """A read-only view of the database for matching: records by (ecosystem, package)."""

    def __init__(self, path: Path) -> None:
        if not path.is_file():
            raise DatabaseError(f"{path}: no vulnerability database (run `keelhaul db update` "
                                "or `keelhaul db import PATH`)")  # fmt: skip
        self.path = path
        self._db = _connect(path, readonly=True)
        self._has_aliases = _check_schema(self._db, path) != "1"
        tables = _tables(self._db)
        self._has_entries = "entries" in {
            r[1] for r in self._db.execute("PRAGMA table_info(packages)")}  # fmt: skip
        self._has_kev = "kev" in tables and self._any("kev")
        self._has_epss = "epss" in tables and self._any("epss")
        self._records: dict[str, dict[str, Any]] = {}
        self._patterns: dict[str, list[str]] = {}
        self._flaws: dict[str, list[str]] = {}

    def _any(self, table: str) -> bool:
        return self._db.execute(f"SELECT 1 FROM {table} LIMIT 1").fetchone() is not None

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Database:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def ecosystems_like(self, pattern: str) -> list[str]:
        """The ecosystems the database holds that ``pattern`` names: itself, or (with ``*``)
        every one it matches (:func:`fnmatch.fnmatchcase`). The index is walked from the
        pattern's literal prefix one distinct ecosystem at a time."""
        if "*" not in pattern:
            return [pattern]
        found = self._patterns.get(pattern)
        if found is None:
            prefix = pattern.partition("*")[0]
            found = []
            at = prefix
            high = prefix + "\U0010ffff"
            while True:
                row = self._db.execute(
                    "SELECT min(ecosystem) FROM packages WHERE ecosystem > ? AND ecosystem < ?",
                    (at, high),
                ).fetchone()
                if row is None or row[0] is None:
                    break
                at = row[0]
                if fnmatchcase(at, pattern):
                    found.append(at)
            if fnmatchcase(prefix, pattern) and self.has_ecosystem(prefix):
                found.insert(0, prefix)
            self._patterns[pattern] = found
        return found

    def has_ecosystem(self, ecosystem: str) -> bool:
        row = self._db.execute(
            "SELECT 1 FROM packages WHERE ecosystem = ? LIMIT 1", (ecosystem,)
        ).fetchone()
        return row is not None

    def hits(self, ecosystems: Iterable[str], names: Iterable[str]) -> list[tuple[str, str, str]]:
        """(advisory id, ecosystem, name) of every record naming one of ``names`` in one of
        ``ecosystems`` (patterns allowed, see :meth:`ecosystems_like`), each id once."""
        out: list[tuple[str, str, str]] = []
        seen: set[str] = set()
        for pattern in ecosystems:
            for ecosystem in self.ecosystems_like(pattern):
                for name in names:
                    for advisory_id in self.ids_for(ecosystem, name):
                        if advisory_id not in seen:
                            seen.add(advisory_id)
                            out.append((advisory_id, ecosystem, name))
        return out

    def candidates(self, ecosystems: Iterable[str],
                   names: Iterable[str]) -> list[tuple[str, str, str, dict[str, Any] | None]]:  # fmt: skip
        """:meth:`hits` with each record's ``affected`` entries for the package (a record
        reduced to what matching reads), or None when the database predates them."""
        out: list[tuple[str, str, str, dict[str, Any] | None]] = []
        seen: set[str] = set()
        for pattern in ecosystems:
            for ecosystem in self.ecosystems_like(pattern):
                for name in names:
                    rows = self._db.execute(
                        "SELECT id, entries FROM packages WHERE ecosystem = ? AND name = ?"
                        if self._has_entries else
                        "SELECT id, NULL FROM packages WHERE ecosystem = ? AND name = ?",
                        (ecosystem, normalise_name(ecosystem, name)),
                    ).fetchall()  # fmt: skip
                    for advisory_id, blob in rows:
                        if advisory_id not in seen:
                            seen.add(advisory_id)
                            small = json.loads(zlib.decompress(blob)) if blob else None
                            if small is not None and record_shape.problem(small) is not None:
                                small = {"id": advisory_id, "affected": []}  # an older import
                            out.append((advisory_id, ecosystem, name, small))
        return out

    def ids_for(self, ecosystem: str, name: str) -> list[str]:
        rows = self._db.execute(
            "SELECT id FROM packages WHERE ecosystem = ? AND name = ?",
            (ecosystem, normalise_name(ecosystem, name)),
        ).fetchall()
        return [r[0] for r in rows]

    def record(self, advisory_id: str) -> dict[str, Any]:
        found = self._records.get(advisory_id)
        if found is None:
            row = self._db.execute(
                "SELECT record FROM advisories WHERE id = ?", (advisory_id,)
            ).fetchone()
            if row is None:
                raise DatabaseError(f"{self.path}: advisory {advisory_id} is indexed but missing")
            found = json.loads(zlib.decompress(row[0]))
            if record_shape.problem(found) is not None:  # imported before shapes were checked
                found = {"id": advisory_id, "affected": []}
            self._records[advisory_id] = found
        return found

    def same_flaw(self, key: str) -> list[str]:
        """Ids of the records about the flaw ``key`` names (a CVE, a GHSA id...): those
        listing it among their aliases or upstream ids, or carrying it in their own id."""
        if not self._has_aliases:
            return []
        found = self._flaws.get(key)
        if found is None:
            rows = self._db.execute("SELECT id FROM aliases WHERE key = ?", (key,)).fetchall()
            found = [r[0] for r in rows]
            if self._db.execute("SELECT 1 FROM advisories WHERE id = ?", (key,)).fetchone():
                found.insert(0, key)
            self._flaws[key] = found
        return found

    def records_for(self, ecosystem: str, name: str) -> list[dict[str, Any]]:
        return [self.record(i) for i in self.ids_for(ecosystem, name)]

    def known_exploited(self, cve: str) -> exploits.KnownExploited | None:
        """CISA's KEV entry for ``cve``, when a catalogue was imported and lists it."""
        if not self._has_kev:
            return None
        row = self._db.execute(
            "SELECT cve, date_added, due_date, ransomware, name FROM kev WHERE cve = ?", (cve,)
        ).fetchone()
        return exploits.KnownExploited(*row) if row else None

    def likelihood(self, cve: str) -> exploits.Likelihood | None:
        """FIRST's EPSS score for ``cve``, when scores were imported and include it."""
        if not self._has_epss:
            return None
        row = self._db.execute(
            "SELECT cve, score, percentile FROM epss WHERE cve = ?", (cve,)
        ).fetchone()
        return exploits.Likelihood(*row) if row else None
