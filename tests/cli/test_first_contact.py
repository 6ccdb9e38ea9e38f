"""What a newcomer reads first: `check --help` and the README's first screen say which files
`check` reads beyond Dockerfiles, and how to check less."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
#: What `check` finds besides Dockerfiles, and the ways to limit it.
TOLD = ("Compose", "Kubernetes", "docker run", "Makefiles", "CI files", "README",
        "--select", "exclude")  # fmt: skip


def _help() -> str:
    done = subprocess.run([sys.executable, "-m", "keelhaul", "check", "--help"],
                          capture_output=True, text=True, check=True, env={**os.environ, "COLUMNS": "200"})  # fmt: skip
    return " ".join(done.stdout.split())


def _first_screen() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    return " ".join(text[: text.index("## Try it")].split())


@pytest.mark.parametrize("word", TOLD)
def test_check_help_tells(word: str) -> None:
    assert word in _help()


@pytest.mark.parametrize("word", TOLD)
def test_readme_first_screen_tells(word: str) -> None:
    assert word in _first_screen()


def test_readme_commands_unchanged() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert ("python3 -m venv .venv && .venv/bin/pip install -q . && .venv/bin/keelhaul "
            "check examples/") in text  # fmt: skip
    assert ("python3 -m venv .venv && .venv/bin/pip install -q -e '.[test]' && "
            ".venv/bin/python -m pytest") in text  # fmt: skip
