"""The documentation site builds with MkDocs in strict mode (every link and page checked),
with the command, configuration and rule pages generated from the code."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_the_site_builds_strictly(tmp_path: Path) -> None:
    pytest.importorskip("mkdocs")
    site = tmp_path / "site"
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        cwd=ROOT, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert (site / "commands" / "index.html").is_file()
    commands = (site / "commands" / "index.html").read_text()
    assert "keelhaul check" in commands
    assert "--fail-on" in commands
    assert (site / "rules" / "KH101" / "index.html").is_file()
    rule = (site / "rules" / "KH101" / "index.html").read_text()
    assert "DL3007" in rule  # related ids in other tools
    assert "Bad" in rule
