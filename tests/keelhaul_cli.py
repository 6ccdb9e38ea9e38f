"""Running the real ``keelhaul`` command from a test: one helper for every module that does."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def run(*args: str, cwd: Path, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """``keelhaul ARGS`` in ``cwd`` (no colour), its output captured as text; never raises on
    a non-zero exit (tests assert the code)."""
    return subprocess.run(
        [sys.executable, "-m", "keelhaul", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, "NO_COLOR": "1"},
        input=stdin,
        check=False,
    )
