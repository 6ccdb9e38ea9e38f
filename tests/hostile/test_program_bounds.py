"""Every program keelhaul starts runs within bounds (issue 23, "limits at every edge"):
ShellCheck (tests/hostile/test_shellcheck_bounds.py) and the kustomize/kubectl renderer go
through one runner, :mod:`keelhaul.programs`: a deadline that kills the program's whole
process group, and an address-space cap."""

from __future__ import annotations

import shutil
import sys
import time
from pathlib import Path

import pytest

from keelhaul import programs
from keelhaul.runtime import render
from tests.processes import alive

KUBECTL = shutil.which("kubectl")


def test_a_program_past_its_deadline_is_killed_with_what_it_started(tmp_path: Path) -> None:
    pid_file = tmp_path / "child.pid"
    script = f"sleep 60 & echo $! > {pid_file}; wait"
    started = time.monotonic()
    with pytest.raises(programs.TimedOut, match=r"did not finish in 0\.5 s"):
        programs.run(["sh", "-c", script], programs.Bounds(0.5, 1 << 30))
    assert time.monotonic() - started < 10
    child = int(pid_file.read_text())
    deadline = time.monotonic() + 5
    while alive(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive(child), "the program's own child ran on after the deadline"


def test_a_program_over_its_memory_cap_stops() -> None:
    grab = "b = bytearray(400 * 1024 * 1024)"
    done = programs.run([sys.executable, "-c", grab], programs.Bounds(30, 200 * 1024 * 1024))
    assert done.returncode != 0
    assert b"MemoryError" in done.stderr
    fine = programs.run([sys.executable, "-c", "print(1)"], programs.Bounds(30, 1 << 30))
    assert (fine.returncode, fine.stdout) == (0, b"1\n")


@pytest.mark.skipif(KUBECTL is None, reason="kubectl is not on PATH")
@pytest.mark.parametrize(
    ("bounds", "said"),
    [
        (programs.Bounds(0.001, render.BOUNDS.memory), "did not finish"),
        (programs.Bounds(30, 16 * 1024 * 1024), "memory"),
    ],
)
def test_the_renderer_is_bounded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, bounds: programs.Bounds, said: str
) -> None:
    (tmp_path / "kustomization.yaml").write_text("resources:\n  - pod.yaml\n")
    (tmp_path / "pod.yaml").write_text(
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n"
        "    - name: c\n      image: nginx:1.27\n"
    )
    assert render.render_kustomize(tmp_path)  # within the real bounds it renders
    monkeypatch.setattr(render, "BOUNDS", bounds)
    with pytest.raises(render.RenderFailed, match=said):
        render.render_kustomize(tmp_path)
