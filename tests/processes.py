"""Looking at processes from the tests that kill things (Linux ``/proc``)."""

from __future__ import annotations

from pathlib import Path


def alive(pid: int) -> bool:
    """The process runs (a zombie is dead, only not reaped yet)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2] != "Z"
