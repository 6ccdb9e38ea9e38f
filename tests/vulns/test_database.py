"""The vulnerability database: import, the real update code against a local HTTP server
serving zips of the real advisories, atomic replacement, and matching."""

from __future__ import annotations

import functools
import http.server
import io
import json
import sqlite3
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from keelhaul.vulns import database
from keelhaul.vulns.database import Database, DatabaseError
from keelhaul.vulns.matching import InstalledPackage, match

OSV = Path(__file__).resolve().parents[2].parent / "shared" / "osv"


def _zip(folder: Path) -> bytes:
    data = io.BytesIO()
    with zipfile.ZipFile(data, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.glob("*.json")):
            archive.write(path, path.name)
    return data.getvalue()


@pytest.fixture(scope="module")
def mirror(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A local HTTP server laid out like OSV's bucket: <ecosystem>/all.zip."""
    if not OSV.is_dir():
        pytest.skip("../shared/osv is absent")
    root = tmp_path_factory.mktemp("osv-mirror")
    for ecosystem in ("PyPI", "Debian", "Alpine", "crates.io"):
        (root / ecosystem).mkdir()
        (root / ecosystem / "all.zip").write_bytes(_zip(OSV / ecosystem))
    (root / "Broken").mkdir()
    (root / "Broken" / "all.zip").write_bytes(b"not a zip at all")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *a, **k: None  # type: ignore[attr-defined]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()


def test_update_from_a_mirror_then_match(mirror: str, tmp_path: Path) -> None:
    db_path = tmp_path / "osv.sqlite3"
    counts = database.update(db_path, ["PyPI", "Debian", "Alpine"], mirror).changed
    assert counts["PyPI"] == len(list((OSV / "PyPI").glob("*.json")))
    state = database.status(db_path)
    assert state.exists
    assert {e[0] for e in state.ecosystems} == {"PyPI", "Debian", "Alpine"}
    with Database(db_path) as db:
        found = match(db, [InstalledPackage("PyPI", "Jinja2", "2.7.1"),
                           InstalledPackage("Debian:9", "openssl", "1.1.0l-1~deb9u5",
                                            binary="libssl1.1"),
                           InstalledPackage("PyPI", "jinja2-nothing", "1.0")])  # fmt: skip
    ids = {v.id for v in found}
    assert "PYSEC-2014-8" in ids
    assert "DLA-3008-1" in ids
    assert all(v.package.name != "jinja2-nothing" for v in found)
    openssl = next(v for v in found if v.id == "DLA-3008-1")
    assert openssl.fixed == "1.1.0l-1~deb9u6"
    assert openssl.cve == "CVE-2022-1292"


def test_a_failed_update_leaves_the_database_as_it_was(mirror: str, tmp_path: Path) -> None:
    db_path = tmp_path / "osv.sqlite3"
    database.update(db_path, ["Alpine"], mirror)
    before = db_path.read_bytes()
    with pytest.raises(DatabaseError, match="HTTP 404"):
        database.update(db_path, ["Alpine", "NoSuchEcosystem"], mirror)
    with pytest.raises(DatabaseError, match="not a zip"):
        database.update(db_path, ["Alpine", "Broken"], mirror)
    assert db_path.read_bytes() == before
    assert not list(tmp_path.glob(".osv.sqlite3.*"))  # no temporary file left behind


def test_a_reader_keeps_its_snapshot_during_an_update(mirror: str, tmp_path: Path) -> None:
    db_path = tmp_path / "osv.sqlite3"
    database.update(db_path, ["Alpine"], mirror)
    with Database(db_path) as reader:
        database.update(db_path, ["Alpine", "crates.io"], mirror)  # replaced under the reader
        assert reader.ids_for("crates.io", "smallvec") == []  # still the old file
        assert reader.ids_for("Alpine:v3.12", "mariadb")
    with Database(db_path) as fresh:
        assert fresh.ids_for("crates.io", "smallvec")


def test_update_replaces_an_ecosystem_and_keeps_the_others(mirror: str, tmp_path: Path) -> None:
    db_path = tmp_path / "osv.sqlite3"
    database.update(db_path, ["Alpine", "Debian"], mirror)
    first = database.status(db_path).advisories
    database.update(db_path, ["Alpine"], mirror)
    assert database.status(db_path).advisories == first


def test_import_folder_zip_and_bad_input(tmp_path: Path) -> None:
    if not OSV.is_dir():
        pytest.skip("../shared/osv is absent")
    db_path = tmp_path / "osv.sqlite3"
    archive = tmp_path / "debian.zip"
    archive.write_bytes(_zip(OSV / "Debian"))
    done = database.import_paths(db_path, [OSV / "Alpine", archive])
    # CVE-2025-26519 (in Alpine/) names Debian releases too
    assert done.by_ecosystem == {"Alpine": 5, "Debian": 9, "(none)": 1}
    assert done.records == 14
    bad = tmp_path / "bad.json"
    bad.write_text('{"id": 3}')
    before = db_path.read_bytes()
    with pytest.raises(DatabaseError, match=r"bad\.json: not an OSV record"):
        database.import_paths(db_path, [bad])
    bad.write_text("{not json")
    with pytest.raises(DatabaseError, match="not valid JSON"):
        database.import_paths(db_path, [bad])
    assert db_path.read_bytes() == before


def test_not_a_database(tmp_path: Path) -> None:
    path = tmp_path / "other.sqlite3"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE x (y)")
    with pytest.raises(DatabaseError, match="not a keelhaul vulnerability database"):
        Database(path)
    with pytest.raises(DatabaseError, match="no vulnerability database"):
        Database(tmp_path / "missing.sqlite3")


def test_the_whole_shared_corpus_imports_and_every_range_evaluates(tmp_path: Path) -> None:
    """Every real record imports, and evaluating each of its packages at its first fixed
    version (not affected by that range) and at "0"-introduced ranges never raises."""
    if not OSV.is_dir():
        pytest.skip("../shared/osv is absent")
    db_path = tmp_path / "osv.sqlite3"
    database.import_paths(db_path, [OSV])
    from keelhaul.vulns.osv import affects

    checked = 0
    with Database(db_path) as db:
        for path in sorted(OSV.glob("*/*.json")):
            record = json.loads(path.read_text())
            for affected in record.get("affected") or ():
                package = affected.get("package") or {}
                if "ecosystem" not in package:
                    continue
                for version in (affected.get("versions") or [])[:3]:
                    hit = affects(record, package["ecosystem"], package["name"], version)
                    assert record.get("withdrawn") or hit is not None, (path, version)
                    checked += 1
        assert db.ids_for("PyPI", "jinja2")
    assert checked > 1000


def test_matching_on_the_index_entries_equals_matching_on_whole_records(tmp_path: Path) -> None:
    """The index keeps each record's entries for the package, so matching reads a record
    whole only when it matches; a database written before (entries absent) matches the
    same."""
    if not OSV.is_dir():
        pytest.skip("../shared/osv is absent")
    db_path = tmp_path / "osv.sqlite3"
    database.import_paths(db_path, [OSV / "PyPI", OSV / "Debian"])
    installed = [InstalledPackage("PyPI", "Jinja2", "2.7.1"), InstalledPackage("PyPI", "flask", "2.2.4"),
                 InstalledPackage("PyPI", "django", "3.2.0"), InstalledPackage("PyPI", "django", "99.0"),
                 InstalledPackage("Debian:9", "openssl", "1.1.0l-1~deb9u5", binary="libssl1.1")]  # fmt: skip
    with Database(db_path) as db:
        assert all(small is not None for *_, small in db.candidates(["PyPI"], ["django"]))
        with_entries = match(db, installed)
    with sqlite3.connect(db_path) as conn:
        conn.execute("UPDATE packages SET entries = NULL")
    with Database(db_path) as db:
        assert all(small is None for *_, small in db.candidates(["PyPI"], ["django"]))
        whole = match(db, installed)
    assert len(with_entries) > 20
    assert [(v.id, v.also, v.fixed, v.package) for v in with_entries] == [
        (v.id, v.also, v.fixed, v.package) for v in whole]  # fmt: skip
