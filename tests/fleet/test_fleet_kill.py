"""Issue 23, "fault tests", for ``keelhaul fleet scan``: ``kill -9`` of the command at a few
seeded points leaves its SQLite store as it was (or with the whole new snapshot), passing
SQLite's integrity check; the Dask worker processes it started do not run on; the next scan
completes and leaves no journal or temporary file; two scans into one store at the same time
both land whole (SQLite's write lock serialises their one transaction each)."""

from __future__ import annotations

import contextlib
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.fleet.conftest import FleetRegistry
from tests.processes import alive

pytestmark = pytest.mark.fleet

SEED = 23
#: a few images of the fleet (fewer layers: each scan a few seconds)
ONLY = ("--include", "team/app1", "--include", "team/app2")


def _scan(registry: FleetRegistry, db: Path) -> list[str]:
    return [sys.executable, "-m", "keelhaul", "fleet", "scan", f"registry:{registry.host}",
            *ONLY, "--workers", "1", "--no-layer-cache", "--db", str(db)]  # fmt: skip


def _start(command: list[str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _snapshots(db: Path) -> list[int]:
    """Images per snapshot, oldest first; the store must open and check clean."""
    with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as con:
        assert con.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        rows = con.execute(
            "SELECT s.id, COUNT(i.id) FROM snapshots s LEFT JOIN images i "
            "ON i.snapshot_id = s.id GROUP BY s.id ORDER BY s.id"
        ).fetchall()
    return [count for _, count in rows]


def _descendants(pid: int) -> set[int]:
    """The processes started (directly or not) by ``pid``, from /proc."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat[stat.rindex(")") + 2 :].split()[1])
    found: set[int] = set()
    todo = [pid]
    while todo:
        parent = todo.pop()
        children = [child for child, up in parents.items() if up == parent]
        found.update(children)
        todo.extend(children)
    return found


def _leftovers(folder: Path) -> list[str]:
    """Files a finished run must not leave: journals, SQLite's WAL once closed, temporaries."""
    ends = ("-journal", "-wal", "-shm", ".tmp", ".new")
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(ends))


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_a_killed_fleet_scan_leaves_the_store_before_or_after(
    fleet_registry: FleetRegistry, tmp_path: Path
) -> None:
    reference = tmp_path / "reference.sqlite3"
    started = time.monotonic()
    first = subprocess.run(_scan(fleet_registry, reference), capture_output=True, text=True,
                           check=False, timeout=300)  # fmt: skip
    full = time.monotonic() - started
    assert first.returncode == 0, first.stderr
    [images] = _snapshots(reference)
    assert images > 0
    draw = random.Random(SEED)
    # starting up or scanning; then anywhere (the snapshot is written about half-way: closing
    # the Dask cluster takes the rest)
    points = [0.15 * full, draw.uniform(0.3, 0.9) * full]
    outcomes = []
    for n, point in enumerate(points):
        db = tmp_path / f"run{n}" / "fleet.sqlite3"
        db.parent.mkdir()
        db.write_bytes(reference.read_bytes())  # a store holding one snapshot already
        process = _start(_scan(fleet_registry, db))
        time.sleep(point)
        started_by = _descendants(process.pid)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=60)
        state = _snapshots(db)
        assert state in ([images], [images, images]), f"{state} after a kill at {point:.2f}s"
        outcomes.append(len(state))
        gone_by = time.monotonic() + 15  # a Dask worker notices its nanny or scheduler went
        while any(alive(p) for p in started_by) and time.monotonic() < gone_by:
            time.sleep(0.1)
        assert not [p for p in started_by if alive(p)], f"left running after {point:.2f}s"
    again = subprocess.run(_scan(fleet_registry, db), capture_output=True, text=True,
                           check=False, timeout=300)  # fmt: skip
    assert again.returncode == 0, again.stderr
    assert _leftovers(db.parent) == []  # before a reader of ours opens it (that makes a -shm)
    assert _snapshots(db)[-1] == images
    assert 1 in outcomes  # at least one kill landed before the snapshot was written


def test_two_scans_into_one_store_at_once_both_land_whole(
    fleet_registry: FleetRegistry, tmp_path: Path
) -> None:
    db = tmp_path / "fleet.sqlite3"
    scans = [_start(_scan(fleet_registry, db)) for _ in range(2)]
    codes = [scan.wait(timeout=300) for scan in scans]
    assert codes == [0, 0]
    assert _leftovers(db.parent) == []
    state = _snapshots(db)
    assert len(state) == 2, state
    assert state[0] == state[1] > 0, state
