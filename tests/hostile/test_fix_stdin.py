"""Issue 23 item 17: ``fix -`` (stdin to stdout) writes nothing to disk, not even the
build context's ``.dockerignore`` that KH230/KH231 would fix."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

DOCKERFILE = "FROM python:3.12-slim\nCOPY . /app\nUSER 1000\n"
# leaving out .git is an unsafe fix (a build step may read it)
UNSAFE_DOCKERIGNORE = ("--unsafe-fixes", "--select", "KH230,KH231")


@pytest.mark.parametrize(
    "flags",
    [("--stdin-filename", "Dockerfile"), ("--context", ".")],
    ids=["stdin-filename", "context"],
)
def test_fix_stdin_writes_no_dockerignore(tmp_path: Path, flags: tuple[str, ...]) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    before = sorted(p.name for p in tmp_path.rglob("*"))
    done = subprocess.run(
        [sys.executable, "-m", "keelhaul", "fix", *UNSAFE_DOCKERIGNORE, *flags, "-"], cwd=tmp_path, input=DOCKERFILE,
        capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout == DOCKERFILE
    assert sorted(p.name for p in tmp_path.rglob("*")) == before
    assert ".dockerignore: not written" in done.stderr


def test_fix_diff_on_stdin_still_shows_the_dockerignore_change(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    done = subprocess.run(
        [sys.executable, "-m", "keelhaul", "fix", *UNSAFE_DOCKERIGNORE, "--diff",
         "--stdin-filename", "Dockerfile", "-"],
        cwd=tmp_path, input=DOCKERFILE, capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip
    assert "+.git" in done.stdout
    assert not (tmp_path / ".dockerignore").exists()
