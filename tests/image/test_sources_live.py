"""The image sources against real things: a Docker Engine (``docker:`` and ``docker save``),
skopeo-made OCI layouts and archives, and a CNCF distribution registry on loopback
(anonymous and Basic auth, a multi-platform index pushed with ``skopeo --all``)."""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from keelhaul.errors import KeelhaulError
from keelhaul.image.model import Image, Layer
from keelhaul.image.sources import open_image
from tests.image import source_images as si
from tests.registry import conftest as loopback
from tests.registry.conftest import PASSWORD, USER, Registry


@pytest.fixture(scope="module")
def skopeo_path() -> str:
    path = shutil.which("skopeo")
    if path is None:
        loopback.unavailable("skopeo is not installed (apt-get install skopeo)")
    assert path is not None
    return path


@pytest.fixture(scope="module")
def plain_registry(skopeo_path: str) -> Iterator[Registry]:
    """CNCF distribution on loopback, started like tests/registry's (registry-up)."""
    started = loopback._start(None)
    yield started
    loopback._stop(started)


@pytest.fixture(scope="module")
def basic_registry(
    skopeo_path: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Registry]:
    htpasswd = tmp_path_factory.mktemp("htpasswd") / "htpasswd"
    htpasswd.write_text(loopback.bcrypt_line(USER, PASSWORD) + "\n")
    started = loopback._start(htpasswd)
    started.creds = f"{USER}:{PASSWORD}"
    yield started
    loopback._stop(started)


FILES = [{"etc/hello": b"hello\n"}, {"app/data.bin": bytes(range(256)) * 40}]


def read_layers(image: Image) -> list[int]:
    sizes = []
    for layer in image.layers:
        with layer.open() as stream:
            size = 0
            while chunk := stream.read(1 << 20):
                size += len(chunk)
            sizes.append(size)
    return sizes


def read_layers_of(layer: Layer) -> int:
    with layer.open() as stream:
        return len(stream.read())


def run(*command: str) -> str:
    done = subprocess.run(command, capture_output=True, text=True, check=False, timeout=300)
    assert done.returncode == 0, done.stderr
    return done.stdout


# -- Docker Engine -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def built_image(docker_engine: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    context = tmp_path_factory.mktemp("ctx")
    (context / "Dockerfile").write_text(
        f"FROM {docker_engine}\nCOPY hello.txt /srv/hello.txt\nENV GREETING=hi\n"
        "RUN echo built > /srv/built.txt\n"
    )
    (context / "hello.txt").write_text("hello from keelhaul\n")
    name = f"keelhaul-test/sources:{uuid.uuid4().hex[:8]}"
    run("docker", "build", "--network", "host", "-q", "-t", name, str(context))
    yield name
    subprocess.run(["docker", "rmi", "-f", name], capture_output=True, check=False)


def _inspect(name: str) -> dict[str, object]:
    document: list[dict[str, object]] = json.loads(run("docker", "image", "inspect", name))
    return document[0]


@pytest.mark.docker
def test_docker_engine_source(built_image: str) -> None:
    info = _inspect(built_image)
    with open_image(f"docker:{built_image}") as image:
        assert image.config_digest == info["Id"]
        assert [layer.diff_id for layer in image.layers] == info["RootFS"]["Layers"]  # type: ignore[index]
        assert image.tags == (built_image,)
        sizes = read_layers(image)
        assert len(sizes) == 3
        assert sizes[1] < 10_000
        assert sizes[0] > 1_000_000
        assert image.layers[2].history is not None
        assert "echo built" in image.layers[2].history.created_by
        assert "GREETING=hi" in image.config["config"]["Env"]


@pytest.mark.docker
def test_bare_reference_uses_the_engine(built_image: str) -> None:
    with open_image(built_image) as image:
        assert image.source == built_image
        assert image.config_digest == _inspect(built_image)["Id"]


@pytest.mark.docker
def test_docker_host_is_honoured(
    built_image: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("DOCKER_HOST", "unix:///var/run/docker.sock")
    with open_image(f"docker:{built_image}") as image:
        assert len(image.layers) == 3
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/none.sock")
    with (
        pytest.raises(KeelhaulError, match="no Docker Engine answers at unix://"),
        open_image(f"docker:{built_image}"),
    ):
        pass


@pytest.mark.docker
def test_engine_missing_image(docker_engine: str) -> None:
    with (
        pytest.raises(KeelhaulError, match="is not in the local Docker Engine"),
        open_image("docker:keelhaul-test/no-such-image:nope"),
    ):
        pass


@pytest.mark.docker
def test_docker_save_legacy_archive(built_image: str, tmp_path: Path) -> None:
    archive = tmp_path / "save.tar"
    run("docker", "save", "-o", str(archive), built_image)
    with open_image(f"docker-archive:{archive}") as image:
        assert image.config_digest == _inspect(built_image)["Id"]
        assert image.manifest_digest is None  # the 20.10 engine writes the legacy layout
        assert len(read_layers(image)) == 3


@pytest.mark.docker
def test_skopeo_oci_layout_and_archive(built_image: str, skopeo_path: str, tmp_path: Path) -> None:
    run(
        skopeo_path, "copy", "--quiet", f"docker-daemon:{built_image}", f"oci:{tmp_path / 'lay'}:t1"
    )
    run(
        skopeo_path,
        "copy",
        "--quiet",
        f"docker-daemon:{built_image}",
        f"oci-archive:{tmp_path / 'a.tar'}:t1",
    )
    diff_ids = _inspect(built_image)["RootFS"]["Layers"]  # type: ignore[index]
    for reference in (f"oci:{tmp_path / 'lay'}:t1", f"oci-archive:{tmp_path / 'a.tar'}"):
        with open_image(reference) as image:
            assert [layer.diff_id for layer in image.layers] == diff_ids
            assert image.layers[0].media_type.endswith("tar+gzip")
            assert image.manifest_digest is not None
            assert len(read_layers(image)) == 3


# -- registry ----------------------------------------------------------------------------------


def _push(
    reg: Registry, tmp_path: Path, images: list[si.Built], tag: str, *, index: bool = False
) -> tuple[str, dict[str, str]]:
    digests = si.write_layout(tmp_path / tag, images, tag=tag, as_index=index)
    return reg.push(tmp_path / tag, tag, "kh/sources", all_images=index), digests


def test_registry_source(plain_registry: Registry, tmp_path: Path) -> None:
    built = si.image(FILES, ["gzip", "zstd"])
    reference, digests = _push(plain_registry, tmp_path, [built], "r1")
    with open_image(f"registry:{reference}") as image:
        assert image.manifest_digest == digests["manifest"]
        assert read_layers(image) == [len(t) for t in built.tars]
        assert image.tags == ("r1",)
    with open_image(f"registry:{plain_registry.host}/kh/sources@{digests['manifest']}") as image:
        assert image.manifest_digest == digests["manifest"]
    with open_image(f"docker://{reference}") as image:
        assert len(image.layers) == 2
    # The analysis reads layers from a thread pool: the client must serve that.
    with open_image(f"registry:{reference}") as image, ThreadPoolExecutor(4) as pool:
        sizes = list(pool.map(lambda layer: read_layers_of(layer), image.layers * 3))
    assert sizes == [len(t) for t in built.tars] * 3


def test_bare_reference_falls_back_to_the_registry(
    plain_registry: Registry, tmp_path: Path
) -> None:
    built = si.image(FILES)
    reference, digests = _push(plain_registry, tmp_path, [built], "bare")
    with open_image(reference) as image:  # the engine (if any) does not have it
        assert image.manifest_digest == digests["manifest"]


def test_registry_multi_platform_index(plain_registry: Registry, tmp_path: Path) -> None:
    amd = si.image(FILES, arch="amd64")
    arm = si.image([{"arm": b"arm"}, {"x": b"y"}], arch="arm64")
    reference, digests = _push(plain_registry, tmp_path, [amd, arm], "multi", index=True)
    with open_image(f"registry:{reference}") as image:
        assert image.index_digest == digests["index"]
        assert image.platform == "linux/amd64"
        assert read_layers(image) == [len(t) for t in amd.tars]
    with open_image(f"registry:{reference}", platform="linux/arm64") as image:
        assert read_layers(image) == [len(t) for t in arm.tars]
    with (
        pytest.raises(KeelhaulError, match=r"available: linux/amd64, linux/arm64"),
        open_image(f"registry:{reference}", platform="linux/riscv64"),
    ):
        pass


def test_registry_errors(plain_registry: Registry) -> None:
    with (
        pytest.raises(KeelhaulError, match=r"has no repository|unknown tag"),
        open_image(f"registry:{plain_registry.host}/kh/absent:nope"),
    ):
        pass


def test_registry_basic_auth(
    basic_registry: Registry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    built = si.image(FILES)
    reference, digests = _push(basic_registry, tmp_path, [built], "private")
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "empty"))
    with (
        pytest.raises(KeelhaulError, match="asks for credentials"),
        open_image(f"registry:{reference}"),
    ):
        pass
    config = tmp_path / "docker"
    config.mkdir()
    auth = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    (config / "config.json").write_text(
        json.dumps({"auths": {basic_registry.host: {"auth": auth}}})
    )
    monkeypatch.setenv("DOCKER_CONFIG", str(config))
    with open_image(f"registry:{reference}") as image:
        assert image.manifest_digest == digests["manifest"]
        assert read_layers(image) == [len(t) for t in built.tars]


@pytest.mark.skipif(shutil.which("skopeo") is None, reason="no skopeo")
def test_registry_corrupt_blob_is_caught(plain_registry: Registry, tmp_path: Path) -> None:
    """distribution stores what it is given under the digest it was told; a blob corrupted
    in storage must be caught while streaming."""
    built = si.image([{"f": b"x" * 5000}])
    reference, _ = _push(plain_registry, tmp_path, [built], "corrupt")
    digest = built.manifest["layers"][0]["digest"]
    stored = list(plain_registry.directory.rglob(f"blobs/sha256/{digest[7:9]}/{digest[7:]}/data"))
    assert stored, "cannot find the stored blob"
    data = bytearray(stored[0].read_bytes())
    data[len(data) // 2] ^= 0xFF
    stored[0].write_bytes(bytes(data))
    with (
        pytest.raises(KeelhaulError, match=rf"layer 1 \({digest}\)"),
        open_image(f"registry:{reference}") as image,
    ):
        read_layers(image)
