"""Issue 23, "fault tests": ``kill -9`` at seeded random points of ``fix``, ``db import`` and
``db update`` never leaves a half-written file. A fixed file is the original or the complete
fix, nothing else; the database is the one before or the one after, and opens and passes
SQLite's integrity check; the next run completes and leaves no temporary file behind.

Each command is timed once to its end, then killed at a few points spread over that time
(the first point early, while it is still starting)."""

from __future__ import annotations

import http.server
import io
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import zipfile
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import pytest

from tests.keelhaul_cli import run

pytestmark = pytest.mark.faults  # left out of a plain run; CI and `-m faults` run them

KILLS = 5
SEED = 23


def _command(*args: str, cwd: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "keelhaul", *args], cwd=cwd,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env={**os.environ, "NO_COLOR": "1"})  # fmt: skip


def _timed(*args: str, cwd: Path) -> float:
    started = time.monotonic()
    done = _command(*args, cwd=cwd)
    done.wait(timeout=300)
    return time.monotonic() - started


def _kill_points(full: float) -> list[float]:
    draw = random.Random(SEED)
    return sorted([0.05] + [draw.uniform(0.2, full) for _ in range(KILLS - 1)])


def _killed(args: tuple[str, ...], cwd: Path, after: float) -> None:
    process = _command(*args, cwd=cwd)
    time.sleep(after)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=60)


def _temp_files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith((".tmp", ".new", "-journal")))


# --- fix ------------------------------------------------------------------------------------

DOCKERFILE = "FROM debian:12.5\n" + "".join(
    f"RUN apt-get update && apt-get install -y pkg{i}\nMAINTAINER someone{i}\n"
    f"RUN cd /srv{i} && make\n"
    for i in range(150)
)  # many findings, each with a fix: a fix that takes a while
POD = ("apiVersion: v1\nkind: Pod\nmetadata:\n  name: x\nspec:\n  containers:\n"
       "    - name: a\n      image: nginx:1.25\n")  # fmt: skip


def test_a_killed_fix_leaves_each_file_original_or_fixed(tmp_path: Path) -> None:
    reference = tmp_path / "reference"
    reference.mkdir()
    (reference / "Dockerfile").write_text(DOCKERFILE)
    (reference / "pod.yaml").write_text(POD)
    args = ("fix", "--unsafe-fixes", ".")
    full = _timed(*args, cwd=reference)
    fixed = {name: (reference / name).read_text() for name in ("Dockerfile", "pod.yaml")}
    assert fixed["Dockerfile"] != DOCKERFILE
    assert fixed["pod.yaml"] != POD
    seen = set()
    for n, after in enumerate(_kill_points(full)):
        work = tmp_path / f"run{n}"
        work.mkdir()
        (work / "Dockerfile").write_text(DOCKERFILE)
        (work / "pod.yaml").write_text(POD)
        _killed(args, work, after)
        for name, original in (("Dockerfile", DOCKERFILE), ("pod.yaml", POD)):
            now = (work / name).read_text()
            assert now in (original, fixed[name]), f"{name} half-written after {after:.2f}s"
            seen.add((name, now == original))
        again = run(*args, cwd=work)
        assert again.returncode in (0, 1), again.stderr
        assert {name: (work / name).read_text() for name in fixed} == fixed
        assert _temp_files(work) == []
    assert ("Dockerfile", True) in seen  # killed before writing at least once


# --- db import / db update ------------------------------------------------------------------


def _record(n: int, tag: str) -> dict[str, object]:
    return {"id": f"PYSEC-{tag}-{n}", "modified": "2024-01-01T00:00:00Z",
            "affected": [{"package": {"ecosystem": "PyPI", "name": f"pkg{n}"},
                          "ranges": [{"type": "ECOSYSTEM",
                                      "events": [{"introduced": "0"}, {"fixed": "1.0"}]}]}]}  # fmt: skip


def _export(tag: str, count: int) -> bytes:
    data = io.BytesIO()
    with zipfile.ZipFile(data, "w", zipfile.ZIP_DEFLATED) as archive:
        for n in range(count):
            archive.writestr(f"PYSEC-{tag}-{n}.json", json.dumps(_record(n, tag)))
    return data.getvalue()


def _state(db: Path) -> set[str]:
    """The advisory id prefixes the database holds; it must open and check clean."""
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as con:
        assert con.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        ids = [row[0] for row in con.execute("SELECT id FROM advisories")]
    return {i.rsplit("-", 1)[0] for i in ids}


@pytest.fixture
def mirror(tmp_path: Path) -> Iterator[str]:
    """A static OSV mirror on 127.0.0.1 (``<ecosystem>/all.zip``)."""
    root = tmp_path / "mirror"
    (root / "PyPI").mkdir(parents=True)
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *a: None  # type: ignore[attr-defined]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("how", ["import", "update"])
def test_a_killed_db_writer_leaves_the_database_before_or_after(
    tmp_path: Path, mirror: str, how: str
) -> None:
    old, new = _export("OLD", 300), _export("NEW", 3000)
    (tmp_path / "old.zip").write_bytes(old)
    (tmp_path / "new.zip").write_bytes(new)
    (tmp_path / "mirror" / "PyPI" / "all.zip").write_bytes(new)

    def fresh(db: Path) -> None:
        done = run("db", "import", "--db", str(db), str(tmp_path / "old.zip"), cwd=tmp_path)
        assert done.returncode == 0, done.stderr

    def args(db: Path) -> tuple[str, ...]:
        if how == "import":
            return ("db", "import", "--db", str(db), str(tmp_path / "new.zip"))
        return ("db", "update", "--db", str(db), "-e", "PyPI", "--mirror", mirror)

    reference = tmp_path / "reference" / "osv.sqlite3"
    reference.parent.mkdir()
    fresh(reference)
    before = _state(reference)
    full = _timed(*args(reference), cwd=tmp_path)
    after = _state(reference)
    assert before != after
    outcomes = set()
    for n, point in enumerate(_kill_points(full)):
        db = tmp_path / f"run{n}" / "osv.sqlite3"
        db.parent.mkdir()
        fresh(db)
        _killed(args(db), tmp_path, point)
        state = _state(db)
        assert state in (before, after), f"{state} after a kill at {point:.2f}s"
        outcomes.add(state == after)
        again = run(*args(db), cwd=tmp_path)
        assert again.returncode == 0, again.stderr
        assert _state(db) == after
        assert _temp_files(db.parent) == []
    assert False in outcomes  # at least one kill landed before the new data was in
