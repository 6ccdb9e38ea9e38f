"""Render an HTML report in headless Chromium (Debian's ``chromium`` package) and keep the
screenshot: what ``keelhaul image`` and ``keelhaul fleet report`` test their pages with.
Without Chromium the calling test skips, saying so."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest


def screenshot(page: str, folder: Path, name: str = "report") -> Path:
    """``page`` written to ``folder/NAME.html`` and rendered; the PNG's path. Set
    ``KEELHAUL_KEEP_SCREENSHOT=PATH`` to keep a copy of it."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("no chromium to render the page (Debian's chromium package)")
    html = folder / f"{name}.html"
    html.write_text(page, encoding="utf-8")
    shot = folder / f"{name}.png"
    rendered = subprocess.run(
        [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
         f"--screenshot={shot}", "--window-size=1200,1400", html.as_uri()],
        capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip
    assert shot.is_file(), rendered.stderr
    keep = os.environ.get("KEELHAUL_KEEP_SCREENSHOT")
    if keep:
        shutil.copy(shot, keep)
    return shot
