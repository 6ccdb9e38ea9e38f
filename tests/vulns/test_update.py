"""`keelhaul db update` staying current cheaply, against a real HTTP server on 127.0.0.1 that
speaks ETag / Last-Modified, 304 and byte ranges as OSV's bucket does: only changed exports
are downloaded, an interrupted download resumes, a size limit holds; writers take turns
(the lock); `vulns` warns when the database is older than the configured age."""

from __future__ import annotations

import hashlib
import http.server
import io
import json
import sqlite3
import subprocess
import sys
import threading
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.utils import formatdate
from pathlib import Path

import pytest

from keelhaul.vulns import database
from keelhaul.vulns.database import Database, DatabaseError
from tests.keelhaul_cli import run

OSV = Path(__file__).resolve().parents[2].parent / "shared" / "osv"


def _zip(*paths: Path) -> bytes:
    data = io.BytesIO()
    with zipfile.ZipFile(data, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in paths:
            archive.write(path, path.name)
    return data.getvalue()


@dataclass
class Bucket:
    """What the server serves (path -> bytes) and saw (each request's path, status and the
    headers that matter here)."""

    files: dict[str, bytes] = field(default_factory=dict)
    seen: list[tuple[str, int, dict[str, str]]] = field(default_factory=list)
    cut_after: dict[str, int] = field(default_factory=dict)
    """path -> bytes sent before the connection drops (once)."""
    no_length: set[str] = field(default_factory=set)
    """paths sent without Content-Length (to the end of the connection)."""
    url: str = ""

    def etag(self, path: str) -> str:
        return '"' + hashlib.sha256(self.files[path]).hexdigest()[:16] + '"'

    def statuses(self, path: str) -> list[int]:
        return [status for p, status, _ in self.seen if p == path]


class _Handler(http.server.BaseHTTPRequestHandler):
    bucket: Bucket
    modified = formatdate(1_700_000_000, usegmt=True)

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        b = self.bucket
        asked = {k: v for k, v in self.headers.items()
                 if k.lower() in ("if-none-match", "if-modified-since", "range", "if-range")}  # fmt: skip
        body = b.files.get(self.path)
        if body is None:
            b.seen.append((self.path, 404, asked))
            self.send_error(404)
            return
        etag = b.etag(self.path)
        if self.headers.get("If-None-Match") == etag:
            b.seen.append((self.path, 304, asked))
            self.send_response(304)
            self.send_header("ETag", etag)
            self.end_headers()
            return
        start = 0
        wanted = self.headers.get("Range", "")
        if wanted.startswith("bytes=") and self.headers.get("If-Range") in (etag, None):
            start = int(wanted[6:].rstrip("-"))
        status = 206 if start else 200
        b.seen.append((self.path, status, asked))
        self.send_response(status)
        self.send_header("ETag", etag)
        self.send_header("Last-Modified", self.modified)
        self.send_header("Content-Type", "application/zip")
        if status == 206:
            self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
        if self.path in b.no_length:
            self.send_header("Connection", "close")
            self.close_connection = True
        else:
            self.send_header("Content-Length", str(len(body) - start))
        self.end_headers()
        cut = b.cut_after.pop(self.path, None)
        if cut is not None:
            self.wfile.write(body[start:cut])
            self.wfile.flush()
            self.close_connection = True
            return
        self.wfile.write(body[start:])


@pytest.fixture
def bucket() -> Iterator[Bucket]:
    if not OSV.is_dir():
        pytest.skip("../shared/osv is absent")
    b = Bucket()
    b.files["/Alpine/all.zip"] = _zip(*sorted((OSV / "Alpine").glob("*.json")))
    b.files["/Debian/all.zip"] = _zip(*sorted((OSV / "Debian").glob("*.json")))
    handler = type("Handler", (_Handler,), {"bucket": b})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    b.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield b
    finally:
        server.shutdown()
        server.server_close()


def _ids(path: Path, ecosystem: str, name: str) -> set[str]:
    with Database(path) as db:
        return set(db.ids_for(ecosystem, name))


def test_a_second_update_downloads_only_what_changed(bucket: Bucket, tmp_path: Path) -> None:
    db = tmp_path / "osv.sqlite3"
    first = database.update(db, ["Alpine", "Debian"], bucket.url)
    assert set(first.changed) == {"Alpine", "Debian"}
    assert first.unchanged == []
    updated = database.status(db).updated_at
    assert database.status(db).published["Debian"] == _Handler.modified

    again = database.update(db, ["Alpine", "Debian"], bucket.url)
    assert again.changed == {}
    assert again.unchanged == ["Alpine", "Debian"]
    assert bucket.statuses("/Debian/all.zip") == [200, 304]
    assert bucket.seen[-1][2]["If-None-Match"] == bucket.etag("/Debian/all.zip")
    after = database.status(db)
    assert after.updated_at == updated  # the data did not change...
    assert after.checked_at is not None
    assert after.current_at == after.checked_at

    # Debian's export changes (DSA-3029-1 leaves it): only Debian is downloaded again
    bucket.files["/Debian/all.zip"] = _zip(*sorted(p for p in (OSV / "Debian").glob("*.json")
                                                   if p.name != "DSA-3029-1.json"))  # fmt: skip
    assert "DSA-3029-1" in _ids(db, "Debian:7", "nginx")
    third = database.update(db, ["Alpine", "Debian"], bucket.url)
    assert list(third.changed) == ["Debian"]
    assert third.unchanged == ["Alpine"]
    assert bucket.statuses("/Alpine/all.zip") == [200, 304, 304]
    assert bucket.statuses("/Debian/all.zip") == [200, 304, 200]
    assert "DSA-3029-1" not in _ids(db, "Debian:7", "nginx")
    assert "DLA-3008-1" in _ids(db, "Debian:9", "openssl")
    assert not (tmp_path / ".osv.sqlite3.downloads").exists()


def test_an_interrupted_download_resumes(bucket: Bucket, tmp_path: Path) -> None:
    db = tmp_path / "osv.sqlite3"
    size = len(bucket.files["/Debian/all.zip"])
    bucket.cut_after["/Debian/all.zip"] = size // 2
    with pytest.raises(DatabaseError, match="run again to resume"):
        database.update(db, ["Debian"], bucket.url)
    assert not db.exists()  # nothing stored from half a zip
    kept = tmp_path / ".osv.sqlite3.downloads" / "Debian.zip.part"
    assert kept.stat().st_size == size // 2

    done = database.update(db, ["Debian"], bucket.url)
    assert done.resumed == {"Debian": size // 2}
    assert bucket.statuses("/Debian/all.zip") == [200, 206]
    resumed = bucket.seen[-1][2]
    assert resumed["Range"] == f"bytes={size // 2}-"
    assert resumed["If-Range"] == bucket.etag("/Debian/all.zip")
    assert done.changed["Debian"] == len(list((OSV / "Debian").glob("*.json")))
    assert "DLA-3008-1" in _ids(db, "Debian:9", "openssl")
    assert not kept.exists()


def test_a_changed_export_is_not_resumed_from_the_old_bytes(bucket: Bucket,
                                                           tmp_path: Path) -> None:  # fmt: skip
    db = tmp_path / "osv.sqlite3"
    bucket.cut_after["/Debian/all.zip"] = 100
    with pytest.raises(DatabaseError):
        database.update(db, ["Debian"], bucket.url)
    bucket.files["/Debian/all.zip"] = _zip(OSV / "Debian" / "DLA-3008-1.json")  # a new ETag
    done = database.update(db, ["Debian"], bucket.url)
    assert bucket.statuses("/Debian/all.zip") == [200, 200]  # If-Range failed: sent whole
    assert done.resumed == {}
    assert done.changed == {"Debian": 1}


def test_the_size_limit_holds(bucket: Bucket, tmp_path: Path) -> None:
    db = tmp_path / "osv.sqlite3"
    size = len(bucket.files["/Debian/all.zip"])
    with pytest.raises(DatabaseError, match=rf"{size} bytes, more than the limit of 1000"):
        database.update(db, ["Debian"], bucket.url, max_bytes=1000)
    bucket.no_length.add("/Debian/all.zip")  # a body of unknown length is cut at the limit
    with pytest.raises(DatabaseError, match="more than the limit of 1000 bytes"):
        database.update(db, ["Debian"], bucket.url, max_bytes=1000)
    assert not db.exists()
    assert database.update(db, ["Debian"], bucket.url, max_bytes=size).changed["Debian"] > 0
    done = run("db", "update", "--db", str(tmp_path / "other.sqlite3"), "-e", "Debian",
               "--mirror", bucket.url, "--max-size", "1kB", cwd=tmp_path)  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert "more than the limit of 1000" in done.stderr


def test_the_command_says_what_changed_and_how_old_the_data_is(bucket: Bucket,
                                                               tmp_path: Path) -> None:  # fmt: skip
    db = str(tmp_path / "osv.sqlite3")
    first = run("db", "update", "--db", db, "-e", "Alpine", "--mirror", bucket.url, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert "Alpine: 5 advisories" in first.stderr
    assert "1 ecosystem(s) updated (5 advisories), 0 unchanged" in first.stdout
    again = run("db", "update", "--db", db, "-e", "Alpine", "--mirror", bucket.url, cwd=tmp_path)
    assert "Alpine: unchanged" in again.stderr
    assert "0 ecosystem(s) updated (0 advisories), 1 unchanged; data checked 20" in again.stdout
    shown = run("db", "status", "--db", db, cwd=tmp_path)
    assert ", checked current 20" in shown.stdout
    assert "h old)" in shown.stdout
    assert "2023-11-14T22:13" in shown.stdout  # when the export was published
    as_json = json.loads(run("db", "status", "--db", db, "--json", cwd=tmp_path).stdout)
    assert as_json["ecosystems"][0]["published"] == _Handler.modified
    assert as_json["checked_at"]
    assert 0 <= as_json["age_hours"] < 1


# --------------------------------------------------------------------------------------------
# writers take turns


def _import(db: Path, source: Path) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "keelhaul", "db", "import", "--db", str(db),
                             str(source)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)  # fmt: skip


def test_a_writer_waits_for_the_one_holding_the_lock(tmp_path: Path) -> None:
    if not OSV.is_dir():
        pytest.skip("../shared/osv is absent")
    db = tmp_path / "osv.sqlite3"
    with database.writing(db):
        child = _import(db, OSV / "Alpine")
        time.sleep(3)
        assert child.poll() is None  # blocked on the lock, not done
        assert not db.exists()
    out, err = child.communicate(timeout=120)
    assert child.returncode == 0, err
    assert "another keelhaul is writing the database; waiting for it" in err
    assert "imported 5 advisories" in out


def test_two_imports_at_once_keep_both(tmp_path: Path) -> None:
    if not OSV.is_dir():
        pytest.skip("../shared/osv is absent")
    db = tmp_path / "osv.sqlite3"
    database.import_paths(db, [OSV / "Alpine"])
    # both start from the same database; without the lock the second rename wins and the
    # first one's advisories vanish
    children = [_import(db, OSV / "Debian"), _import(db, OSV / "crates.io")]
    for child in children:
        _out, err = child.communicate(timeout=300)
        assert child.returncode == 0, err
    ecosystems = {e[0] for e in database.status(db).ecosystems}
    assert {"Alpine", "Debian", "crates.io"} <= ecosystems
    assert "DLA-3008-1" in _ids(db, "Debian:9", "openssl")


# --------------------------------------------------------------------------------------------
# `vulns` warns about an old database


def _age(db: Path, days: float) -> None:
    then = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(time.time() - days * 86400))
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE meta SET value = ? WHERE key = 'updated_at'", (then,))
        conn.execute("DELETE FROM meta WHERE key = 'checked_at'")


def test_vulns_warns_when_the_database_is_older_than_the_setting(tmp_path: Path) -> None:
    if not OSV.is_dir():
        pytest.skip("../shared/osv is absent")
    db = tmp_path / "osv.sqlite3"
    database.import_paths(db, [OSV / "Debian"])
    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True)
    (root / "etc/os-release").write_text('ID=debian\nVERSION_ID="9"\n')
    args = ("vulns", "--db", str(db), str(root), "--format", "json")
    fresh = run(*args, cwd=tmp_path)
    assert fresh.returncode == 0, fresh.stderr
    assert "warning" not in fresh.stderr

    _age(db, 10)
    stale = run(*args, cwd=tmp_path)
    assert stale.returncode == 0
    assert "the vulnerability database" in stale.stderr
    assert "is 10.0 days old (settings.vulns-db-max-age is 7)" in stale.stderr

    (tmp_path / ".keelhaul.toml").write_text("[settings]\nvulns-db-max-age = 30\n")
    assert "warning" not in run(*args, cwd=tmp_path).stderr
    (tmp_path / ".keelhaul.toml").write_text("[settings]\nvulns-db-max-age = 0\n")
    _age(db, 400)
    assert "warning" not in run(*args, cwd=tmp_path).stderr
    (tmp_path / ".keelhaul.toml").write_text("[settings]\nvulns-db-max-age = 'soon'\n")
    bad = run(*args, cwd=tmp_path)
    assert bad.returncode == 2
    assert "vulns-db-max-age" in bad.stderr
