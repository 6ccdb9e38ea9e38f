"""The cost model prices what a registry stores: for layers stored as plain tars (`docker:`,
`docker-archive:`, as `docker save` writes them) the compressed size is estimated, gzip level 6
over a sample of the layers, and every output says it is an estimate."""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import http.server
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from keelhaul.cli.image import command
from keelhaul.cli.output import Output
from keelhaul.image.compressed_estimate import SAMPLE_BYTES, Sampler
from tests.image import source_images as si
from tests.image import test_engine_stream as es

MB = 1 << 20
#: A compressible layer (a log) and one that does not compress (random bytes).
TEXT = {"var/log/app.log": b"".join(b"line %d of a log\n" % i for i in range(400_000))}
NOISE = {"opt/blob.bin": hashlib.shake_256(b"keelhaul").digest(3 * MB)}


def invoke(args: list[str], tmp_path: Path) -> str:
    with contextlib.chdir(tmp_path):
        result = CliRunner().invoke(command, [*args, "--no-config"], obj=Output(color=False),
                                    standalone_mode=False, catch_exceptions=False)  # fmt: skip
    return result.output


def gzip6(built: si.Built) -> int:
    return sum(len(gzip.compress(tar, compresslevel=6)) for tar in built.tars)


@pytest.fixture
def archive(tmp_path: Path) -> tuple[Path, si.Built]:
    built = si.image([TEXT, NOISE], "tar")
    return si.write_legacy_archive(tmp_path / "save.tar", built), built


def test_sampler_compresses_one_window_in_eight() -> None:
    sampler = Sampler()
    for _ in range(20):
        sampler.feed(b"x" * MB)
    sampler.close()
    assert sampler.sampled_in == 3 * SAMPLE_BYTES  # windows at 0, 8 and 16 MiB


def test_docker_archive_cost_prices_the_estimate(archive: tuple[Path, si.Built],
                                                 tmp_path: Path) -> None:  # fmt: skip
    path, built = archive
    data = json.loads(invoke([f"docker-archive:{path}", "--format", "json"], tmp_path))
    estimate = data["cost"]["compressed"]
    assert estimate["basis"] == "estimated"
    assert abs(estimate["bytes"] - gzip6(built)) < 0.05 * gzip6(built)
    assert data["cost"]["now"]["compressed_bytes"] == estimate["bytes"]
    assert data["compressed_size"] == sum(len(t) for t in built.tars)  # what is stored


def test_docker_archive_text_says_estimated(archive: tuple[Path, si.Built],
                                            tmp_path: Path) -> None:  # fmt: skip
    out = invoke([f"docker-archive:{archive[0]}"], tmp_path)
    assert "(estimated: stored as plain tars)" in out
    assert "gzip level 6" in out


def test_docker_archive_html_says_estimated(archive: tuple[Path, si.Built],
                                            tmp_path: Path) -> None:  # fmt: skip
    out = invoke([f"docker-archive:{archive[0]}", "--format", "html"], tmp_path)
    assert "(estimated)" in out


def test_gzip_layers_are_measured(tmp_path: Path) -> None:
    built = si.image([TEXT, NOISE], "gzip")
    si.write_layout(tmp_path / "lay", [built])
    data = json.loads(invoke([f"oci:{tmp_path / 'lay'}", "--format", "json"], tmp_path))
    assert data["cost"]["compressed"]["basis"] == "measured"
    assert data["cost"]["now"]["compressed_bytes"] == data["compressed_size"]


@pytest.fixture
def engine(monkeypatch: pytest.MonkeyPatch) -> Iterator[es.Engine]:
    """The stand-in Docker Engine of tests/image/test_engine_stream.py."""
    state = es.Engine()
    handler = type("Handler", (es._Handler,), {"engine": state})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    monkeypatch.setenv("DOCKER_HOST", f"tcp://127.0.0.1:{server.server_address[1]}")
    monkeypatch.delenv("DOCKER_TLS_VERIFY", raising=False)
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


def test_streamed_docker_source_is_estimated_too(engine: es.Engine, tmp_path: Path,
                                                 archive: tuple[Path, si.Built]) -> None:  # fmt: skip
    path, built = archive
    es.serve(engine, built, path)
    data = json.loads(invoke(["docker:keelhaul-test/app:1", "--format", "json"], tmp_path))
    estimate = data["cost"]["compressed"]
    assert estimate["basis"] == "estimated"
    assert abs(estimate["bytes"] - gzip6(built)) < 0.05 * gzip6(built)


def test_compare_prices_the_estimate_too(archive: tuple[Path, si.Built], tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    path, built = archive
    monkeypatch.setenv("KEELHAUL_CACHE_DIR", str(tmp_path / "cache"))
    out = invoke([f"docker-archive:{path}", "--compare", f"docker-archive:{path}", "--format",
                  "json"], tmp_path)  # fmt: skip
    priced = json.loads(out)["cost"]["a"]["compressed_bytes"]
    assert abs(priced - gzip6(built)) < 0.05 * gzip6(built)
