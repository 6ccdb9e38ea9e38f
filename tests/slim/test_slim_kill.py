"""kill -9 in the middle of a slim never leaves a half-written destination: the image is
assembled under a temporary name beside it and renamed into place at the end, so the
destination is either absent, or as it was before (``--force``), or whole; the temporary a
killed slim leaves is removed by the next slim to the same destination."""

from __future__ import annotations

import os
import random
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

pytestmark = pytest.mark.faults  # left out of a plain run; CI and `-m faults` run them


def _size(path: Path) -> int:
    """The file's size, 0 once it is gone (slim renames or removes its layer files)."""
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def _kill_while_writing(source: str, dest: str, folder: Path, *extra: str) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "keelhaul", "slim", source, "--output", dest, *extra],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            layers = [p for p in folder.glob(".*.tmp/*.layer") if _size(p) > 0]
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


def test_kill_9_at_random_points_leaves_the_destination_absent_or_whole(tmp_path: Path) -> None:
    """Seeded random points over a whole slim (start-up, planning, writing, renaming): the
    destination is absent or a whole image, and the next slim cleans what was left."""
    big = [file("app/blob", os.urandom(4 << 20))]
    source = oci(tmp_path / "src", [BASE, big, [file("app/small", b"x")]], how="tar")
    command = [sys.executable, "-m", "keelhaul", "slim", source, "--output"]
    started = time.monotonic()
    done = subprocess.run([*command, f"oci:{tmp_path / 'reference'}"], capture_output=True,
                          text=True, check=False)  # fmt: skip
    full = time.monotonic() - started
    assert done.returncode == 0, done.stderr
    draw = random.Random(23)
    outcomes = set()
    points = [draw.uniform(0.1, 0.5) * full, draw.uniform(0.5, 1.1) * full]
    for n, point in enumerate(points):
        out = tmp_path / f"run{n}"
        out.mkdir()
        dest = out / "image"
        process = subprocess.Popen([*command, f"oci:{dest}"], stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL)  # fmt: skip
        time.sleep(point)
        process.kill()
        process.wait()
        if dest.exists():
            with open_image(f"oci:{dest}") as image:
                assert "app/small" in merged_tree(image), f"half an image after {point:.2f}s"
        outcomes.add(dest.exists())
        again = subprocess.run([*command, f"oci:{dest}", "--force"], capture_output=True,
                               text=True, check=False)  # fmt: skip
        assert again.returncode == 0, again.stderr
        assert [p.name for p in out.iterdir()] == ["image"]  # no temporary left beside it
    assert False in outcomes  # at least one kill landed before the rename


@pytest.mark.parametrize("scheme", ["oci", "oci-archive"])
def test_two_slims_to_one_destination_leave_one_whole_image(tmp_path: Path, scheme: str) -> None:
    """Concurrent writers to the same destination (issue 23, fault tests): both finish, and
    the destination holds one of the two images whole, with nothing left beside it."""
    sources = {
        mark: oci(tmp_path / mark, [BASE, [file("app/blob", os.urandom(2 << 20))],
                                    [file(f"app/{mark}", b"x")]], how="tar")
        for mark in ("a", "b")
    }  # fmt: skip
    out = tmp_path / "out"
    out.mkdir()
    dest = out / ("image" if scheme == "oci" else "image.tar")
    for _ in range(2):
        command = [sys.executable, "-m", "keelhaul", "slim", "--force", "--output"]
        processes = [
            subprocess.Popen([*command, f"{scheme}:{dest}", source],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            for source in sources.values()
        ]  # fmt: skip
        errors = [p.communicate()[1] for p in processes]
        assert [p.returncode for p in processes] == [0, 0], errors
        with open_image(f"{scheme}:{dest}") as image:
            tree = merged_tree(image)
        assert ("app/a" in tree) != ("app/b" in tree)
        assert [p.name for p in out.iterdir()] == [dest.name]
