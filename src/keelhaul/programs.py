"""Other programs keelhaul starts (ShellCheck, kustomize or kubectl, helm), within bounds.

A program given hostile input may run for ever or take all the memory, and one left running
when keelhaul is killed goes on as an orphan. Every program keelhaul starts therefore runs
through :func:`run`:

- in a **process group of its own** (a new session), so whatever it starts is killed with it;
- under an **address-space cap** (``RLIMIT_AS``): past it allocation fails and the program
  stops, instead of taking gigabytes;
- with the **kernel told to kill it when keelhaul dies** (``PR_SET_PDEATHSIG``), ``kill -9``
  included;
- within a **deadline**, after which its group is killed and :class:`TimedOut` raised.

:func:`kill_all` kills every program running now (a thread pool's other workers after one
failed, or Ctrl-C). The limits themselves are in :mod:`keelhaul.limits`.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import os
import resource
import signal
import subprocess
import sys
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Bounds", "Done", "TimedOut", "kill_all", "run"]


@dataclass(frozen=True, slots=True)
class Bounds:
    """What one program may use: wall seconds and bytes of address space."""

    seconds: float
    memory: int


@dataclass(frozen=True, slots=True)
class Done:
    """A program that ended: its exit status (negative: the signal that killed it) and output."""

    returncode: int
    stdout: bytes
    stderr: bytes

    @property
    def killed_by_memory(self) -> bool:
        """It died the way a program at its address-space cap dies (GHC's runtime says "out
        of memory"; Go's and others' runtimes abort or are killed)."""
        first = self.stderr.decode("utf-8", "replace").lower()
        return "out of memory" in first or self.returncode in (
            -signal.SIGKILL,
            -signal.SIGSEGV,
            -signal.SIGABRT,
        )


class TimedOut(Exception):
    """The program did not finish within its bounds' seconds (its group has been killed)."""


_PR_SET_PDEATHSIG = 1
_LIBC = ctypes.CDLL(None, use_errno=True) if sys.platform == "linux" else None
#: The programs running now (killed with their group if keelhaul is interrupted).
_RUNNING: set[subprocess.Popen[bytes]] = set()
_RUNNING_LOCK = threading.Lock()


def _limit_child(memory: int, parent: int) -> None:
    """In the forked child, before the program starts: cap its address space and have the
    kernel kill it when keelhaul dies, not run on as an orphan."""
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    if _LIBC is not None:
        _LIBC.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:  # keelhaul died before the request above was made
        os._exit(1)


def _kill(proc: subprocess.Popen[bytes]) -> None:
    """Kill the program's process group, unless it has been waited for (its id may then
    belong to another process)."""
    if proc.returncode is None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)


def run(
    command: Sequence[str],
    bounds: Bounds,
    *,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
) -> Done:
    """Run ``command`` to its end within ``bounds``, stdin closed, output captured. Raises
    ``OSError`` when it cannot start and :class:`TimedOut` past the deadline."""
    proc = subprocess.Popen(
        list(command),
        cwd=cwd,
        env=None if env is None else dict(env),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,  # a process group of its own, killed as one
        preexec_fn=functools.partial(_limit_child, bounds.memory, os.getpid()),
    )
    with _RUNNING_LOCK:
        _RUNNING.add(proc)
    try:
        stdout, stderr = proc.communicate(timeout=bounds.seconds)
    except subprocess.TimeoutExpired:
        _kill(proc)
        proc.communicate()
        raise TimedOut(f"{command[0]} did not finish in {bounds.seconds:g} s") from None
    finally:
        _kill(proc)  # a no-op once it has exited; else (an interrupt) it must not run on
        with _RUNNING_LOCK:
            _RUNNING.discard(proc)
    return Done(proc.returncode, stdout, stderr)


def kill_all() -> None:
    """Kill every program :func:`run` started that is still running."""
    with _RUNNING_LOCK:
        for proc in _RUNNING:
            _kill(proc)
