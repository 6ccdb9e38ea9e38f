"""Proof by building: a Dockerfile and its `keelhaul fix --unsafe-fixes` result, both built by a
real Docker Engine on the local Debian base image, run the same and the fixed one is no bigger.
"""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

CASES = {
    "style-and-layers": (
        "ARG BASE\n"
        "FROM ${BASE}\n"
        "MAINTAINER Test <t@example.com>\n"
        "ENV GREETING hello world\n"
        "RUN mkdir -p /app\n"
        "# the greeting\n"
        'RUN echo "$GREETING" > /app/greeting.txt\n'
        "RUN printf 'b\\na\\n' | sort > /app/sorted.txt\n"
        "CMD cat /app/greeting.txt /app/sorted.txt\n"
    ),
}


def _docker(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["docker", *args], capture_output=True, text=True, check=False)


def _build_and_run(folder: Path, base: str) -> tuple[str, int]:
    tag = f"keelhaul-test/fix:{uuid.uuid4().hex[:12]}"
    built = _docker(
        "build", "--network", "host", "--build-arg", f"BASE={base}", "-t", tag, str(folder)
    )
    assert built.returncode == 0, built.stdout + built.stderr
    try:
        ran = _docker("run", "--rm", "--network", "none", tag)
        assert ran.returncode == 0, ran.stderr
        size = json.loads(_docker("image", "inspect", tag).stdout)[0]["Size"]
        return ran.stdout, int(size)
    finally:
        _docker("rmi", "-f", tag)


@pytest.mark.docker
@pytest.mark.parametrize("name", sorted(CASES))
def test_fixed_dockerfile_builds_runs_the_same_and_is_no_bigger(
    docker_engine: str, tmp_path: Path, name: str
) -> None:
    before_dir, after_dir = tmp_path / "before", tmp_path / "after"
    for folder in (before_dir, after_dir):
        folder.mkdir()
        (folder / "Dockerfile").write_text(CASES[name])
    fixed = subprocess.run(
        [sys.executable, "-m", "keelhaul", "fix", "--no-config", "--unsafe-fixes", str(after_dir)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert fixed.returncode == 0, fixed.stderr
    after_text = (after_dir / "Dockerfile").read_text()
    assert after_text != CASES[name], "no fix applied: the test proves nothing"
    out_before, size_before = _build_and_run(before_dir, docker_engine)
    out_after, size_after = _build_and_run(after_dir, docker_engine)
    assert out_after == out_before
    assert size_after <= size_before, after_text
