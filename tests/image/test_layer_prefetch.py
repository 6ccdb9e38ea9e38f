"""Layers read ahead in threads (inflate, then the DiffID hash): the reader gets the same bytes,
errors arrive in order and name the layer, and a reader that gives up stops the threads."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from keelhaul.errors import KeelhaulError
from keelhaul.image.analysis import analyse
from keelhaul.image.sources import open_image
from tests.image import source_images as si

BIG = {f"data/part{i}.bin": os.urandom(300_000) for i in range(40)}  # ~12 MB: many chunks


def _pieces(read: Callable[[int], bytes], size: int) -> list[bytes]:
    out = []
    while piece := read(size):
        out.append(piece)
    return out


def _layer_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("layer-")]


@pytest.mark.parametrize("how", ["gzip", "zstd", "tar"])
def test_read_ahead_gives_the_same_bytes(tmp_path: Path, how: str) -> None:
    built = si.image([BIG, {"etc/os-release": b"ID=debian\n"}], how)
    si.write_layout(tmp_path / "lay", [built])
    with open_image(f"oci:{tmp_path / 'lay'}") as image:
        for layer, expected in zip(image.layers, built.tars, strict=True):
            with layer.open() as stream:
                got = b"".join(_pieces(stream.read, 70_001))  # odd sizes
            assert got == expected
            with layer.open() as stream:  # what is ready, at most 5,000 bytes at a time
                pieces = _pieces(stream.read1, 5_000)  # type: ignore[attr-defined]
            assert b"".join(pieces) == expected
            assert max(map(len, pieces)) <= 5_000
    assert _layer_threads() == []


def test_a_reader_that_gives_up_stops_the_threads(tmp_path: Path) -> None:
    built = si.image([BIG])
    si.write_layout(tmp_path / "lay", [built])
    seen: list[str] = []

    def give_up() -> None:
        with open_image(f"oci:{tmp_path / 'lay'}") as image, image.layers[0].open() as stream:
            assert stream.read(4096)
            seen.extend(_layer_threads())  # reading ahead
            raise RuntimeError("gave up")

    with pytest.raises(RuntimeError, match="gave up"):
        give_up()
    assert seen
    assert _layer_threads() == []


def test_a_wrong_diff_id_found_by_the_hash_thread_names_the_layer(tmp_path: Path) -> None:
    built = si.image([{"a": b"x"}, BIG])
    built.config["rootfs"]["diff_ids"][1] = si.sha(b"other")
    si.write_layout(tmp_path / "lay", [built])
    with (
        pytest.raises(KeelhaulError, match=r"layer 2 .*not its DiffID"),
        open_image(f"oci:{tmp_path / 'lay'}") as image,
    ):
        analyse(image)
    assert _layer_threads() == []


def test_a_corrupt_blob_is_reported_by_its_digest_not_by_the_broken_tar(tmp_path: Path) -> None:
    """Zeroed bytes in the middle of a stored gzip block inflate to a broken tar: the cause
    the user hears is the blob's digest (read to the end), not a bad header checksum."""
    built = si.image([BIG])
    folder = tmp_path / "lay"
    si.write_layout(folder, [built])
    digest = built.manifest["layers"][0]["digest"]
    path = folder / "blobs" / "sha256" / digest.removeprefix("sha256:")
    data = bytearray(path.read_bytes())
    data[len(data) // 2 : len(data) // 2 + 64] = bytes(64)
    path.write_bytes(bytes(data))
    with (
        pytest.raises(KeelhaulError, match=r"layer 1 .*(corrupt gzip|not its digest)"),
        open_image(f"oci:{folder}") as image,
    ):
        analyse(image)
    assert _layer_threads() == []
