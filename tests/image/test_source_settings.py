"""The image sources' bounds and insecure registries from ``[settings]`` and
``--insecure-registry``, on ``keelhaul image``, ``keelhaul sbom`` and ``keelhaul vulns``."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import Any, ClassVar

import pytest

from keelhaul.cli.app import main
from keelhaul.errors import ConfigError
from keelhaul.image import sources as image_sources
from keelhaul.image.sources import SourceLimits
from keelhaul.image.sources.settings import source_settings
from tests.image import source_images as si
from tests.registry import conftest as loopback
from tests.registry.conftest import Registry

BIG = {"srv/data.bin": bytes(range(256)) * 40, "etc/os-release": b"ID=debian\n"}


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    with pytest.raises(SystemExit) as done:
        main(args)
    captured = capsys.readouterr()
    code = done.value.code
    return (code if isinstance(code, int) else 0), captured.err.strip()


@pytest.fixture
def archive(tmp_path: Path) -> Path:
    return si.write_legacy_archive(tmp_path / "save.tar", si.image([BIG], "tar"))


def config(tmp_path: Path, body: str) -> str:
    path = tmp_path / ".keelhaul.toml"
    path.write_text("[settings]\n" + body)
    return str(path)


def test_the_settings_read() -> None:
    chosen = source_settings(
        {"image-max-layer-bytes": "1.5GiB", "image-max-ratio": 50, "image-max-layer-count": 7,
         "image-insecure-registries": ["registry.local:5000"]},
        ["other.local"],
    )  # fmt: skip
    assert chosen.limits == SourceLimits(max_layer_bytes=3 << 29, max_ratio=50.0, max_layers=7)
    assert chosen.insecure_registries == ("registry.local:5000", "other.local")
    assert source_settings({}).limits == SourceLimits()


def test_lower_max_layer_bytes_refuses_the_image(
    archive: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ok, _ = run(["image", f"docker-archive:{archive}", "--no-config"], capsys)
    assert ok in (0, 1)
    cfg = config(tmp_path, 'image-max-layer-bytes = "4KB"\n')
    code, err = run(["image", f"docker-archive:{archive}", "--config", cfg], capsys)
    assert code == 2
    assert len(err.splitlines()) == 1
    assert "layer 1 (sha256:" in err  # the layer, by number and digest
    assert "4000 bytes" in err


def test_compare_honours_the_source_settings(
    archive: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ref = f"docker-archive:{archive}"
    ok, _ = run(["image", ref, "--compare", ref, "--no-config"], capsys)
    assert ok == 0
    cfg = config(tmp_path, 'image-max-layer-bytes = "4KB"\n')
    code, err = run(["image", ref, "--compare", ref, "--config", cfg], capsys)
    assert code == 2
    assert "layer 1 (sha256:" in err


@pytest.mark.parametrize(
    ("body", "key"),
    [
        ('image-max-layer-bytes = "lots"\n', "image-max-layer-bytes"),
        ("image-max-ratio = 0\n", "image-max-ratio"),
        ('image-max-layer-count = "many"\n', "image-max-layer-count"),
        ('image-insecure-registries = "registry.local"\n', "image-insecure-registries"),
        ('image-insecure-registries = ["http://registry.local/"]\n', "image-insecure-registries"),
    ],
)
def test_a_bad_value_names_its_key(
    archive: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], body: str, key: str
) -> None:
    cfg = config(tmp_path, body)
    for command in ("image", "sbom"):
        code, err = run([command, f"docker-archive:{archive}", "--config", cfg], capsys)
        assert code == 2
        assert key in err
        assert len(err.splitlines()) == 1


class _Client:
    """Stands in for RegistryClient: records what open_image gives it, then stops."""

    seen: ClassVar[list[tuple[str, ...]]] = []

    def __init__(self, **kwargs: Any) -> None:
        type(self).seen.append(tuple(kwargs["insecure_registries"]))

    def __enter__(self) -> _Client:
        raise ConfigError("stand-in client: stop here")

    def __exit__(
        self, kind: type[BaseException] | None, err: BaseException | None, tb: TracebackType | None
    ) -> None:
        pass


@pytest.fixture
def recording_client(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, ...]]:
    _Client.seen = []
    monkeypatch.setattr(image_sources, "RegistryClient", _Client)
    return _Client.seen


@pytest.mark.parametrize("command", ["image", "sbom", "vulns"])
def test_insecure_registry_reaches_the_client(
    recording_client: list[tuple[str, ...]],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    command: str,
) -> None:
    cfg = config(tmp_path, 'image-insecure-registries = ["mirror.local"]\n')
    args = [command, "registry:registry.local:5000/app:1", "--config", cfg,
            "--insecure-registry", "registry.local:5000"]  # fmt: skip
    code, err = run(args, capsys)
    assert code == 2
    assert "stand-in client" in err
    assert recording_client == [("mirror.local", "registry.local:5000")]


def test_a_bad_insecure_registry_option_is_named(
    archive: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["image", f"docker-archive:{archive}", "--no-config", "--insecure-registry", "a b"]
    code, err = run(args, capsys)
    assert code == 2
    assert "--insecure-registry" in err


@pytest.fixture(scope="module")
def plain_registry() -> Iterator[Registry]:
    if shutil.which("skopeo") is None:
        loopback.unavailable("skopeo is not installed")
    started = loopback._start(None)
    yield started
    loopback._stop(started)


def test_a_loopback_registry_keeps_working(
    plain_registry: Registry, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    built = si.image([BIG])
    si.write_layout(tmp_path / "layout", [built], tag="s1")
    reference = plain_registry.push(tmp_path / "layout", "s1", "kh/settings")
    cfg = config(tmp_path, 'image-insecure-registries = ["registry.local:5000"]\n')
    code, err = run(["image", f"registry:{reference}", "--config", cfg, "--format", "json",
                     "--insecure-registry", "mirror.local"], capsys)  # fmt: skip
    assert code in (0, 1), err
    cfg = config(tmp_path, 'image-max-layer-bytes = "1KB"\n')  # the bounds apply there too
    code, err = run(["image", f"registry:{reference}", "--config", cfg], capsys)
    assert code == 2
    assert "layer" in err
