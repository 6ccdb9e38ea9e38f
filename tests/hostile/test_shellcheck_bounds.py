"""Issue 23, limits at every edge: ShellCheck's time and memory. ShellCheck has no limit of its
own (a RUN of 1,500 ``&& echo`` lines takes it 41 s and 3.6 GB) and used to run on after
keelhaul was killed. Each ShellCheck process now runs in a process group of its own, under
an address-space rlimit (``shellcheck-max-memory``) and a deadline (``shellcheck-timeout``),
and the kernel kills it when keelhaul dies. Hitting a limit stops the check with an error
naming the RUN scripts ShellCheck was given (exit 2), quickly, not a hang."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from keelhaul.rules.shellcheck import find_shellcheck
from tests.keelhaul_cli import run
from tests.processes import alive

needs_shellcheck = pytest.mark.skipif(find_shellcheck() is None, reason="no shellcheck binary")


def long_run(lines: int) -> str:
    """A Dockerfile whose second RUN has ``lines`` lines: ShellCheck's cost grows faster."""
    body = " \\\n    && ".join(f"echo line{i} $X{i}" for i in range(lines))
    return f"FROM debian:12.5\nRUN cd /tmp; ls $UNQUOTED\nRUN {body}\n"


def project(tmp_path: Path, lines: int, settings: str) -> Path:
    (tmp_path / "Dockerfile").write_text(long_run(lines))
    (tmp_path / ".keelhaul.toml").write_text(f"[settings]\n{settings}\n")
    return tmp_path


@needs_shellcheck
def test_a_low_memory_limit_stops_shellcheck_with_a_located_error(tmp_path: Path) -> None:
    # 300 lines take ShellCheck about 200 MiB; 50 MiB of address space is enough to start
    project(tmp_path, 300, 'shellcheck-max-memory = "50MiB"')
    done = run("check", "--shellcheck", "Dockerfile", cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    assert "keelhaul: error: ShellCheck" in done.stderr
    assert "was stopped at 50 MiB of memory (setting shellcheck-max-memory)" in done.stderr
    # the long RUN is named (the short one is too, unless ShellCheck's cache held it already)
    assert re.search(r"checking the RUN scripts? at (Dockerfile:2, )?Dockerfile:3\b", done.stderr)
    assert "out of memory" in done.stderr


@needs_shellcheck
def test_a_short_deadline_stops_shellcheck_with_a_located_error(tmp_path: Path) -> None:
    project(tmp_path, 600, "shellcheck-timeout = 0.1")  # about 3 s of ShellCheck unbounded
    started = time.monotonic()
    done = run("check", "--shellcheck", "Dockerfile", cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    assert re.search(
        r"was stopped after 0\.1 s \(setting shellcheck-timeout\) checking the RUN scripts? at "
        r"(Dockerfile:2, )?Dockerfile:3\b",
        done.stderr,
    )
    assert time.monotonic() - started < 30


@needs_shellcheck
def test_the_limits_stay_out_of_the_way_of_ordinary_scripts(tmp_path: Path) -> None:
    project(tmp_path, 20, 'shellcheck-max-memory = "200MiB"\nshellcheck-timeout = 60')
    done = run("check", "--shellcheck", "Dockerfile", cwd=tmp_path)
    assert done.returncode in (0, 1), done.stderr
    assert "SC2086" in done.stdout  # `ls $UNQUOTED`


def _children(parent: int) -> list[int]:
    """The ShellCheck processes whose parent is ``parent``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2 :].split()
        if name == "shellcheck" and int(fields[1]) == parent:
            found.append(int(entry.name))
    return found


@needs_shellcheck
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_shellcheck_is_bounded_and_dies_with_keelhaul(tmp_path: Path) -> None:
    # 900 lines keep ShellCheck busy for many seconds: long enough to look at it, then kill -9
    project(tmp_path, 900, 'shellcheck-max-memory = "1500MiB"')
    keelhaul = subprocess.Popen(
        [sys.executable, "-m", "keelhaul", "check", "--shellcheck", "Dockerfile"],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 20
        children: list[int] = []
        while not children and time.monotonic() < deadline and keelhaul.poll() is None:
            time.sleep(0.05)
            children = _children(keelhaul.pid)
        assert children, "ShellCheck never started"
        child = children[0]
        limits = Path(f"/proc/{child}/limits").read_text()
        address = next(line for line in limits.splitlines() if line.startswith("Max address"))
        assert address.split()[3:5] == [str(1500 << 20)] * 2  # soft and hard rlimit
        assert os.getpgid(child) == child  # a process group of its own
        os.kill(keelhaul.pid, signal.SIGKILL)
        keelhaul.wait()
        gone_by = time.monotonic() + 5
        while alive(child) and time.monotonic() < gone_by:
            time.sleep(0.05)
        assert not alive(child), "ShellCheck runs on after keelhaul was killed"
    finally:
        if keelhaul.poll() is None:
            keelhaul.kill()
            keelhaul.wait()
