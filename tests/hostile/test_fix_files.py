"""Issue 23 item 21: ``fix`` and the files it writes. One file it cannot write does not stop
the run; a read-only file is not replaced; the owner and mode stay; hard links are not split
(refused, clearly); temporary files a killed run left are removed by the next."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from keelhaul.errors import FileUnwritable
from keelhaul.writing import write_atomically

FIXABLE = "FROM alpine:3.20\nRUN apk add --no-cache curl\nRUN echo done\nUSER 1000\n"


def fix(cwd: Path, *files: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "keelhaul", "fix", "--no-config", *files], cwd=cwd,
        capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip


def errors(done: subprocess.CompletedProcess[str]) -> list[str]:
    return [line for line in done.stderr.splitlines() if line.startswith("keelhaul: error")]


def test_a_read_only_file_is_refused_and_the_run_goes_on(tmp_path: Path) -> None:
    locked, free = tmp_path / "a.Dockerfile", tmp_path / "b.Dockerfile"
    locked.write_text(FIXABLE)
    free.write_text(FIXABLE)
    locked.chmod(0o444)
    done = fix(tmp_path, locked.name, free.name)
    assert done.returncode == 2
    assert len(errors(done)) == 1
    assert "a.Dockerfile" in errors(done)[0]
    assert "read-only" in errors(done)[0]
    assert locked.read_text() == FIXABLE
    assert stat.S_IMODE(locked.stat().st_mode) == 0o444
    assert free.read_text() != FIXABLE  # the other file was fixed


def test_mode_and_owner_stay(tmp_path: Path) -> None:
    path = tmp_path / "Dockerfile"
    path.write_text(FIXABLE)
    path.chmod(0o640)
    if os.geteuid() == 0:
        os.chown(path, 12345, 23456)
    before = path.stat()
    done = fix(tmp_path, "Dockerfile")
    assert done.returncode == 0, done.stderr
    after = path.stat()
    assert path.read_text() != FIXABLE
    assert stat.S_IMODE(after.st_mode) == 0o640
    assert (after.st_uid, after.st_gid) == (before.st_uid, before.st_gid)


def test_another_owner_that_cannot_be_kept_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "Dockerfile"
    path.write_text("old")

    def not_allowed(*args: object) -> None:
        raise PermissionError(1, "Operation not permitted")

    real_stat = os.stat

    def other_owner(target: object, *args: object, **kwargs: object) -> os.stat_result:
        found = real_stat(target, *args, **kwargs)  # type: ignore[arg-type]
        if str(target) == str(path):
            values = list(found)
            values[4] = found.st_uid + 1
            return os.stat_result(values)
        return found

    monkeypatch.setattr(os, "chown", not_allowed)
    monkeypatch.setattr(os, "stat", other_owner)
    with pytest.raises(FileUnwritable, match="change its owner"):
        write_atomically(path, b"new")
    monkeypatch.undo()
    assert path.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["Dockerfile"]


def test_hard_links_are_not_split(tmp_path: Path) -> None:
    path = tmp_path / "Dockerfile"
    path.write_text(FIXABLE)
    twin = tmp_path / "twin"
    os.link(path, twin)
    done = fix(tmp_path, "Dockerfile")
    assert done.returncode == 2
    assert "hard links" in errors(done)[0]
    assert path.read_text() == FIXABLE
    assert path.stat().st_ino == twin.stat().st_ino


def test_temp_files_of_killed_runs_are_removed(tmp_path: Path) -> None:
    path = tmp_path / "Dockerfile"
    path.write_text(FIXABLE)
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()  # a process id that no longer runs
    dead = tmp_path / f".Dockerfile.keelhaul-{gone.pid}.x1y2z3.tmp"
    old_style = tmp_path / ".Dockerfile.a8b7c6.tmp"
    live = tmp_path / f".Dockerfile.keelhaul-{os.getpid()}.q9w8e7.tmp"
    for leftover in (dead, old_style, live):
        leftover.write_text("half a Docker")
    two_hours_ago = time.time() - 7200
    os.utime(old_style, (two_hours_ago, two_hours_ago))
    done = fix(tmp_path, "Dockerfile")
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == [live.name, "Dockerfile"]
