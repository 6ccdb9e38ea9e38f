"""``keelhaul image`` on an image a real Docker Engine built: apt cache left behind, a big file
deleted in a later layer, a private key copied in. Read through the sources
(``docker-archive:`` after ``docker save``, and ``docker:`` over the engine API)."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from keelhaul.image.analysis import Options, analyse
from keelhaul.image.report import ImageReport

pytestmark = pytest.mark.docker

TAG = "keelhaul-test/image-analysis:apt-cache"
KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ\n-----END OPENSSH PRIVATE KEY-----\n"
DOCKERFILE = """\
FROM {base}
RUN mkdir -p /var/lib/apt/lists /var/cache/apt/archives \\
 && head -c 2000000 /dev/urandom > /var/lib/apt/lists/deb.debian.org_debian_dists_bookworm_main_binary-amd64_Packages \\
 && head -c 300000 /dev/urandom > /var/cache/apt/archives/curl_7.88.1_amd64.deb
RUN head -c 3000000 /dev/urandom > /big.bin
RUN rm /big.bin
COPY id_rsa /root/.ssh/id_rsa
"""


@pytest.fixture(scope="module")
def built(docker_engine: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    folder = tmp_path_factory.mktemp("image-analysis")
    (folder / "Dockerfile").write_text(DOCKERFILE.format(base=docker_engine))
    (folder / "id_rsa").write_text(KEY)
    subprocess.run(["docker", "build", "-q", "--network", "host", "-t", TAG, str(folder)],
                   check=True, capture_output=True)  # fmt: skip
    archive = folder / "image.tar"
    try:
        subprocess.run(["docker", "save", "-o", str(archive), TAG], check=True, capture_output=True)
        yield archive
    finally:
        subprocess.run(["docker", "rmi", "-f", TAG], capture_output=True, check=False)


def _check(report: ImageReport) -> None:
    codes = {f.code for f in report.findings}
    assert "KH303" in codes  # the apt lists and archives
    cache = next(g for g in report.unwanted if g.kind == "package-cache")
    # the base (debootstrap) leaves its own .debs in /var/cache/apt/archives: count ours
    assert dict(cache.by_layer)[1] == 2_300_000
    assert "KH300" in codes  # rm /big.bin in a later layer
    assert report.waste.deleted == 3_000_000
    assert report.layers[3].hides_size == 3_000_000
    assert "KH311" in codes  # the key
    assert "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ" not in str(report.to_json())
    assert report.base.os_id == "debian"
    assert report.base.version_id == "12"
    assert len(report.layers) == 5


def test_docker_archive(built: Path) -> None:
    sources = pytest.importorskip("keelhaul.image.sources")
    with sources.open_image(f"docker-archive:{built}") as image:
        _check(analyse(image, Options()))


def test_docker_engine(built: Path) -> None:
    sources = pytest.importorskip("keelhaul.image.sources")
    with sources.open_image(f"docker:{TAG}") as image:
        _check(analyse(image, Options()))
