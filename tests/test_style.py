"""ruff (lint and format) and mypy are part of the test suite, so CI runs them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=ROOT, capture_output=True, text=True, check=False)


def test_ruff_lint() -> None:
    result = _run(
        sys.executable, "-m", "ruff", "check", "--no-cache", "src", "tests", "bench", "docs/hooks"
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_format() -> None:
    result = _run(
        sys.executable,
        "-m",
        "ruff",
        "format",
        "--no-cache",
        "--check",
        "src",
        "tests",
        "bench",
        "docs/hooks",
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_strict() -> None:
    result = _run(sys.executable, "-m", "mypy")
    assert result.returncode == 0, result.stdout + result.stderr


def test_import_layers() -> None:
    """The layers of docs/architecture.md ([tool.importlinter] in pyproject.toml)."""
    lint = Path(sys.executable).with_name("lint-imports")
    result = _run(str(lint), "--no-cache")
    assert result.returncode == 0, result.stdout + result.stderr
