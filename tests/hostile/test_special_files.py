"""Issue 23 item 15: a FIFO (or another special file) where keelhaul expects a file never
hangs it. In an untrusted folder (an OCI layout, a build context) it is refused or passed
over; a pipe the user names (``--config <(...)``) is read, within a deadline."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from keelhaul import reading
from keelhaul.reading import open_regular, read_limited
from tests.image import source_images as si
from tests.keelhaul_cli import run

FILES = [{"etc/os-release": b'ID=debian\nVERSION_ID="12"\n', "app/x": b"x" * 100}]


def test_a_fifo_in_an_oci_layout_is_refused_at_once(tmp_path: Path) -> None:
    layout = tmp_path / "lay"
    built = si.image(FILES)
    si.write_layout(layout, [built])
    layer = built.manifest["layers"][0]["digest"]
    blob = layout / "blobs" / "sha256" / layer.removeprefix("sha256:")
    blob.unlink()
    os.mkfifo(blob)
    started = time.monotonic()
    done = run("image", f"oci:{layout}", cwd=tmp_path)
    assert done.returncode == 2, done.stdout + done.stderr
    assert layer in done.stderr  # named: refused as not a (regular) blob file
    assert len(done.stderr.strip().splitlines()) == 1
    assert time.monotonic() - started < 60


def test_a_fifo_dockerignore_does_not_hang_check(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text("FROM debian:12.5\nCOPY . /app\n")
    os.mkfifo(tmp_path / ".dockerignore")
    os.mkfifo(tmp_path / "secrets.env")
    done = subprocess.run([sys.executable, "-m", "keelhaul", "check", "Dockerfile"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=60,
                          check=False)  # fmt: skip
    assert done.returncode in (0, 1, 2), done.stderr
    assert "Traceback" not in done.stderr


def test_a_named_pipe_with_a_writer_is_read(tmp_path: Path) -> None:
    """What ``--config <(printf ...)`` hands keelhaul: a pipe someone writes to."""
    (tmp_path / "Dockerfile").write_text("FROM debian:12.5\nRUN apt-get install -y curl\n")
    pipe = tmp_path / "config.toml"
    os.mkfifo(pipe)

    def write() -> None:
        with pipe.open("w") as handle:
            handle.write('ignore = ["KH103", "KH104", "KH105", "KH101", "KH106"]\n')

    writer = threading.Thread(target=write)
    writer.start()
    done = run("check", "--config", str(pipe), "--format", "json", "Dockerfile", cwd=tmp_path)
    writer.join(timeout=10)
    assert done.returncode in (0, 1), done.stderr
    assert '"KH103"' not in done.stdout


def test_a_named_pipe_nobody_writes_to_times_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(reading, "PIPE_WAIT_SECONDS", 0.5)
    pipe = tmp_path / "base.json"
    os.mkfifo(pipe)
    started = time.monotonic()
    with pytest.raises(OSError, match=r"sent no end within 0\.5s"):
        read_limited(pipe, 1024, pipes=True)
    assert time.monotonic() - started < 5


@pytest.mark.parametrize("pipes", [False, True])
def test_special_files_in_untrusted_folders_are_named(tmp_path: Path, pipes: bool) -> None:
    pipe = tmp_path / "blob"
    os.mkfifo(pipe)
    with pytest.raises(OSError, match="named pipe"):
        open_regular(pipe)
    if not pipes:
        with pytest.raises(OSError, match="named pipe"):
            read_limited(pipe, 10)
    with pytest.raises(IsADirectoryError):
        open_regular(tmp_path)
    (tmp_path / "file").write_bytes(b"0123456789abc")
    assert read_limited(tmp_path / "file", 10, pipes=pipes) == b"0123456789a"


@pytest.mark.parametrize("what", ["folder", "loop", "fifo"])
def test_a_configuration_that_cannot_be_read_is_an_error_not_skipped(
    tmp_path: Path, what: str
) -> None:
    """Issue 23 item 19: a `.keelhaul.toml` that is a folder, a link loop or a FIFO used to be
    passed over (the check ran with defaults, exit 0): fail-open."""
    (tmp_path / "Dockerfile").write_text("FROM debian:12.5\n")
    config = tmp_path / ".keelhaul.toml"
    if what == "folder":
        config.mkdir()
    elif what == "loop":
        config.symlink_to("other")
        (tmp_path / "other").symlink_to(".keelhaul.toml")
    else:
        os.mkfifo(config)
    done = subprocess.run([sys.executable, "-m", "keelhaul", "check", "Dockerfile"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=60,
                          check=False)  # fmt: skip
    assert done.returncode == 2, done.stdout + done.stderr
    assert ".keelhaul.toml" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
