"""pre-commit itself runs keelhaul's hooks on a repository the test creates, with this
repository as the hook source. The hook's environment installs keelhaul and its dependencies
offline, from the wheelhouse `.ci/run` downloads."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import docker_required

ROOT = Path(__file__).resolve().parents[2]
WHEELHOUSE = ROOT / ".ci" / "wheelhouse"


def _git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True,
                          check=True).stdout.strip()  # fmt: skip


def test_pre_commit_runs_the_hooks(tmp_path: Path) -> None:
    pytest.importorskip("pre_commit")
    if not any(WHEELHOUSE.glob("*.whl")):
        reason = "no wheelhouse for an offline hook install (.ci/run downloads it)"
        if docker_required():  # CI: the wheelhouse must be there
            pytest.fail(reason)
        pytest.skip(reason)
    rev = _git(ROOT, "rev-parse", "HEAD")
    repo = tmp_path / "project"
    repo.mkdir()
    _git(repo, "init", "-q")
    (repo / "Dockerfile").write_text("FROM debian:12\nRUN apt-get update && apt-get install curl\n")
    (repo / "notes.txt").write_text("not a Dockerfile\n")
    (repo / ".pre-commit-config.yaml").write_text(
        f"repos:\n  - repo: {ROOT}\n    rev: {rev}\n    hooks:\n"
        "      - id: keelhaul-check\n      - id: keelhaul-fix\n"
    )
    _git(repo, "add", ".")
    env = {**os.environ, "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home"),
           "PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(WHEELHOUSE), "NO_COLOR": "1",
           "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"}  # fmt: skip
    done = subprocess.run([sys.executable, "-m", "pre_commit", "run", "--all-files"], cwd=repo,
                          capture_output=True, text=True, check=False, env=env, timeout=600)  # fmt: skip
    output = done.stdout + done.stderr
    assert done.returncode == 1, output
    assert "keelhaul check (Dockerfiles)" in output
    assert "Failed" in output
    assert "KH" in output  # keelhaul's findings, from the hook's own environment
    assert "files were modified by this hook" in output  # keelhaul fix rewrote it
    fixed = (repo / "Dockerfile").read_text()
    assert "apt-get install -y" in fixed
    assert (repo / "notes.txt").read_text() == "not a Dockerfile\n"
