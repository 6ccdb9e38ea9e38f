"""Issue 23 item 3: ``fix`` and ``context --write-dockerignore`` never write through a
``.dockerignore`` symlink that leaves the project: one line, exit 2, nothing written."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

DOCKERFILE = "FROM python:3.12-slim\nCOPY . /app\nUSER 1000\n"
OUTSIDE = "export SECRET_SAUCE=1\n"


def project(tmp_path: Path, link: str) -> tuple[Path, Path]:
    home = tmp_path / "home"
    proj = home / "proj"
    (proj / ".git").mkdir(parents=True)
    (proj / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    (proj / "Dockerfile").write_text(DOCKERFILE)
    (home / ".bashrc").write_text(OUTSIDE)
    (proj / ".dockerignore").symlink_to(link)
    return home, proj


def run(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "keelhaul", *args], cwd=cwd, capture_output=True, text=True,
        check=False, timeout=120,
    )  # fmt: skip


def snapshot(folder: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and not p.is_symlink()
    }


@pytest.mark.parametrize(
    "args",
    [
        ("fix", "--unsafe-fixes", "--select", "KH230,KH231", "Dockerfile"),
        ("fix", "--unsafe-fixes", "--select", "KH230,KH231", "--diff", "Dockerfile"),
        ("context", "--write-dockerignore", "."),
    ],
    ids=["fix", "fix-diff", "context-write"],
)
def test_a_link_out_of_the_project_is_refused(tmp_path: Path, args: tuple[str, ...]) -> None:
    home, proj = project(tmp_path, "../.bashrc")
    before = snapshot(home)
    done = run(proj, *args)
    assert done.returncode == 2
    errors = [line for line in done.stderr.splitlines() if line.startswith("keelhaul: error")]
    assert len(errors) == 1
    assert "outside" in errors[0]
    assert ".dockerignore" in errors[0]
    assert snapshot(home) == before  # nothing written, no temp file left, Dockerfile as it was
    assert "SECRET_SAUCE" not in done.stdout  # the target is not shown in a diff either


def test_the_check_still_reports_what_it_would_fix(tmp_path: Path) -> None:
    _, proj = project(tmp_path, "../.bashrc")
    done = run(proj, "check", "--format", "concise", "Dockerfile")
    assert "KH231" in done.stdout


def test_a_link_inside_the_project_is_written(tmp_path: Path) -> None:
    home, proj = project(tmp_path, "conf/dockerignore")
    (proj / "conf").mkdir()
    (proj / "conf" / "dockerignore").write_text("")
    done = run(
        proj, "fix", "--unsafe-fixes", "--select", "KH230,KH231", "Dockerfile"
    )  # leaving out .git is unsafe
    assert done.returncode == 0, done.stderr
    assert ".git" in (proj / "conf" / "dockerignore").read_text()
    assert (home / ".bashrc").read_text() == OUTSIDE
