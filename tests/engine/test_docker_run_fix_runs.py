"""A ``docker run`` line fixed by keelhaul still runs, on a real engine: the hardening flags
(``--cap-drop=ALL --read-only --tmpfs /tmp --security-opt=no-new-privileges``) keep a
container that writes to /tmp working, and the tmpfs is what makes read-only possible."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from keelhaul.runtime.fixing import fix_docker_run

pytestmark = pytest.mark.docker

SCRIPT = "docker run --rm --network none {image} sh -c 'echo ok > /tmp/probe && cat /tmp/probe'\n"


def test_fixed_docker_run_line_still_runs(docker_engine: str, tmp_path: Path) -> None:
    text = SCRIPT.format(image=docker_engine)
    fixed = fix_docker_run(text, "run.sh").text
    assert "--cap-drop=ALL" in fixed
    assert "--read-only --tmpfs /tmp" in fixed
    assert "--security-opt=no-new-privileges" in fixed
    script = tmp_path / "run.sh"
    for version, expected in ((text, 0), (fixed, 0)):
        script.write_text(version)
        done = subprocess.run(["sh", str(script)], capture_output=True, text=True, check=False)
        assert done.returncode == expected, done.stderr
        assert done.stdout.strip() == "ok"
    # without the tmpfs the same read-only container cannot write /tmp: the fix adds both
    script.write_text(fixed.replace(" --tmpfs /tmp", ""))
    broken = subprocess.run(["sh", str(script)], capture_output=True, text=True, check=False)
    assert broken.returncode != 0
