"""kill -9 in the middle of a slim never leaves a half-written destination: the image is
assembled under a temporary name beside it and renamed into place at the end, so the
destination is either absent, or as it was before (``--force``), or whole; the temporary a
killed slim leaves is removed by the next slim to the same destination."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from keelhaul.image.sources import open_image
from keelhaul.slim.tree import merged_tree
from tests.image.synthetic import file
from tests.slim.images import BASE, oci


def _kill_while_writing(source: str, dest: str, folder: Path, *extra: str) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "keelhaul", "slim", source, "--output", dest, *extra],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            layers = [p for p in folder.glob(".*.tmp/*.layer") if p.stat().st_size > 0]
            if layers or process.poll() is not None:
                break
            time.sleep(0.005)
        assert process.poll() is None, "slim ended before it could be killed mid-write"
        assert layers, "no layer being written"
        os.kill(process.pid, signal.SIGKILL)
    finally:
        process.kill()
        process.wait()
    assert process.returncode == -signal.SIGKILL


@pytest.mark.parametrize("scheme", ["oci", "oci-archive", "docker-archive"])
def test_kill_9_mid_write_leaves_no_half_written_destination(tmp_path: Path, scheme: str) -> None:
    # 32 MB of incompressible bytes in the image's own layers: a second or so of writing
    big = [file("app/blob-1", os.urandom(16 << 20)), file("app/blob-2", os.urandom(16 << 20))]
    source = oci(tmp_path / "src", [BASE, big, [file("app/small", b"x")]], how="tar")
    out = tmp_path / "out"
    out.mkdir()
    dest = out / ("image" if scheme == "oci" else "image.tar")
    _kill_while_writing(source, f"{scheme}:{dest}", out)
    assert not dest.exists()
    # what is left is a temporary, named for the destination (.image.keelhaul-PID....tmp),
    # which the next slim to it removes
    assert all(p.name.startswith(f".{dest.name}.keelhaul-") for p in out.iterdir())
    assert list(out.iterdir())
    # with --force over an image that is there, the old one stays whole
    small = oci(tmp_path / "small", [BASE, [file("app/small", b"x")]])
    done = subprocess.run([sys.executable, "-m", "keelhaul", "slim", small, "--output",
                           f"{scheme}:{dest}"], capture_output=True, text=True, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert [p.name for p in out.iterdir()] == [dest.name]  # the killed one's temporary is gone
    before = {p: p.read_bytes() for p in sorted([dest, *dest.rglob("*")]) if p.is_file()}
    _kill_while_writing(source, f"{scheme}:{dest}", out, "--force")
    assert {p: p.read_bytes() for p in sorted([dest, *dest.rglob("*")]) if p.is_file()} == before
    with open_image(f"{scheme}:{dest}") as image:
        assert "app/small" in merged_tree(image)
