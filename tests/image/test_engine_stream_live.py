"""``docker:`` streaming against the real Docker Engine: an image with two layers of identical
content (one DiffID in two places; an unchanged COPY makes no layer at all, so the file is
removed in between), analysed through the streamed save and through a
``docker save`` file; the reports must be the same, and nothing may be spilled to disk."""

from __future__ import annotations

import json
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from keelhaul.image import analysis
from keelhaul.image.analysis import Options, analyse
from keelhaul.image.arrival import reading_arrivals
from keelhaul.image.sources import open_image
from tests.image.test_engine_stream import comparable, settled, streamed_scan_layers

pytestmark = pytest.mark.docker

DOCKERFILE = """\
FROM {base}
COPY same.bin /same.bin
RUN mkdir -p /var/cache/apt/archives \\
 && head -c 300000 /dev/urandom > /var/cache/apt/archives/curl_7.88.1_amd64.deb \\
 && head -c 2000000 /dev/urandom > /big.bin && rm /same.bin
COPY same.bin /same.bin
RUN rm /big.bin
ENV GREETING=hi
"""


@pytest.fixture(scope="module")
def saved(
    docker_engine: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, Path]]:
    folder = tmp_path_factory.mktemp("engine-stream")
    (folder / "Dockerfile").write_text(DOCKERFILE.format(base=docker_engine))
    (folder / "same.bin").write_bytes(bytes(range(256)) * 5000)
    tag = f"keelhaul-test/engine-stream:{uuid.uuid4().hex[:8]}"
    subprocess.run(["docker", "build", "-q", "--network", "host", "-t", tag, str(folder)],
                   check=True, capture_output=True)  # fmt: skip
    archive = folder / "save.tar"
    try:
        subprocess.run(["docker", "save", "-o", str(archive), tag], check=True, capture_output=True)
        yield tag, archive
    finally:
        subprocess.run(["docker", "rmi", "-f", tag], capture_output=True, check=False)


def _no_spill(*args: Any, **kwargs: Any) -> Any:
    raise AssertionError("the streamed save must not be spilled to disk")


def test_streamed_engine_save_equals_the_saved_file(
    saved: tuple[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    tag, archive = saved
    inspected = json.loads(subprocess.run(["docker", "image", "inspect", tag], check=True,
                                          capture_output=True, text=True).stdout)[0]  # fmt: skip
    diff_ids = inspected["RootFS"]["Layers"]
    # COPY same.bin, RUN ... rm /same.bin, COPY same.bin: the same tar twice
    assert diff_ids[-4] == diff_ids[-2]
    assert diff_ids.count(diff_ids[-2]) == 2

    monkeypatch.setattr(analysis, "scan_layers", streamed_scan_layers)
    with open_image(f"docker-archive:{archive}") as image:
        expected = analyse(image, Options())

    monkeypatch.setattr("keelhaul.image.sources.engine.tempfile.TemporaryDirectory", _no_spill)
    with reading_arrivals(), open_image(f"docker:{tag}") as image:
        assert image.arrivals is not None
        got = analyse(image, Options())
        assert settled(image)
        assert image.tags == (tag,)
    assert comparable(got) == comparable(expected)
    assert got.layers[-2].diff_id == got.layers[-4].diff_id
    assert got.layers[-2].files_added == 1  # /same.bin again
    assert got.layers[-1].hides_size == 2_000_000  # rm /big.bin
    assert "KH303" in {f.code for f in got.findings}  # the .deb left in the apt cache
