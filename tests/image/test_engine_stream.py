"""``docker:`` streaming the save (never spilling it) against a stand-in engine: a tiny HTTP
server on 127.0.0.1 (``DOCKER_HOST=tcp://...``) answering inspect and serving a save written
by hand, whole, reordered or cut short. The analysis of the streamed image must equal that of
the same save read as a ``docker-archive:`` file."""

from __future__ import annotations

import dataclasses
import hashlib
import http.server
import io
import json
import tarfile
import threading
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest

from keelhaul.errors import KeelhaulError
from keelhaul.image import analysis
from keelhaul.image.analysis import LayerScan, Options, analyse, scan_layer
from keelhaul.image.arrival import reading_arrivals, scan_in_arrival_order
from keelhaul.image.model import Image
from keelhaul.image.report import ImageReport
from keelhaul.image.sources import SourceLimits, open_image
from tests.image import source_images as si

A = {"etc/os-release": b"ID=debian\nVERSION_ID=12\n", "bin/sh": b"#!" * 3000}
B = {"app/main.py": b"print(1)\n" * 50, "app/.env": b"AWS_SECRET_ACCESS_KEY=abcd\n"}
C = {"srv/data.bin": bytes(range(256)) * 4000, "bin/sh": b"#!" * 3000}


def streamed_scan_layers(
    image: Image, options: Options, each: Callable[[LayerScan], None] | None = None
) -> Iterable[LayerScan]:
    """What analysis.scan_layers does once the lead adds the arrival lines."""
    if image.arrivals is not None:
        yield from scan_in_arrival_order(image, lambda layer: scan_layer(layer, options))
        return
    yield from ORIGINAL_SCAN_LAYERS(image, options)


ORIGINAL_SCAN_LAYERS = analysis.scan_layers


@pytest.fixture(autouse=True)
def arrival_analysis(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(analysis, "scan_layers", streamed_scan_layers)


@dataclasses.dataclass
class Engine:
    """What the stand-in engine answers for its one image ``keelhaul-test/app:1``."""

    inspect: dict[str, Any] = dataclasses.field(default_factory=dict)
    save: bytes = b""
    cut: int | None = None
    """Stop sending the save after this many bytes (the connection closes)."""
    saves: int = 0


class _Handler(http.server.BaseHTTPRequestHandler):
    engine: Engine

    def log_message(self, *args: object) -> None:  # quiet
        pass

    def do_GET(self) -> None:
        engine = self.engine
        if self.path.endswith("/json"):
            body = json.dumps(engine.inspect).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        elif self.path.endswith("/get"):
            engine.saves += 1
            self.send_response(200)
            self.send_header("Content-Type", "application/x-tar")
            self.send_header("Connection", "close")  # no length: the body ends when we close
            self.end_headers()
            data = engine.save if engine.cut is None else engine.save[: engine.cut]
            self.wfile.write(data)
        else:
            self.send_response(404)
            self.end_headers()
        self.close_connection = True


@pytest.fixture
def engine(monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    state = Engine()
    handler = type("Handler", (_Handler,), {"engine": state})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    monkeypatch.setenv("DOCKER_HOST", f"tcp://127.0.0.1:{server.server_address[1]}")
    monkeypatch.delenv("DOCKER_TLS_VERIFY", raising=False)
    try:
        yield state
    finally:
        server.shutdown()  # serve_forever polls twice a second
        server.server_close()


def serve(engine: Engine, built: si.Built, archive: Path, reorder: bool = False) -> None:
    data = archive.read_bytes()
    if reorder:  # the layers after manifest.json and the config, to prove order does not matter
        data = _reordered(data)
    engine.save = data
    engine.inspect = {
        "Id": si.sha(si.canonical(built.config)),
        "RootFS": {"Type": "layers", "Layers": built.config["rootfs"]["diff_ids"]},
        "Os": "linux",
        "Architecture": "amd64",
        "Size": sum(len(t) for t in built.tars),
        "RepoTags": ["keelhaul-test/app:1"],
    }


def _reordered(data: bytes) -> bytes:
    members: list[tuple[tarfile.TarInfo, bytes | None]] = []
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        for member in tar:
            handle = tar.extractfile(member) if member.isfile() else None
            members.append((member, handle.read() if handle else None))
    members.sort(key=lambda m: "layer.tar" in m[0].name or m[0].name.startswith("blobs/"))
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as tar:
        for member, content in reversed(members):
            tar.addfile(member, io.BytesIO(content) if content is not None else None)
    return out.getvalue()


def comparable(report: ImageReport) -> dict[str, Any]:
    """The report as JSON, the source's name (in the findings too) made the same."""
    text = json.dumps(report.to_json(), sort_keys=True)
    loaded: dict[str, Any] = json.loads(text.replace(json.dumps(report.source)[1:-1], "SOURCE"))
    return loaded


def settled(image: Image) -> bool:
    """Whether a provisional image has been settled (its arrivals consumed)."""
    return image.arrivals is None


def streamed(reference: str = "docker:keelhaul-test/app:1") -> ImageReport:
    with reading_arrivals(), open_image(reference) as image:
        assert image.arrivals is not None
        report = analyse(image, Options())
        assert settled(image)
        assert any(tag.endswith("keelhaul-test/app:1") for tag in image.tags)
        return report


def from_file(archive: Path) -> ImageReport:
    with open_image(f"docker-archive:{archive}") as image:
        return analyse(image, Options())


def report_equal(archive: Path, engine: Engine) -> ImageReport:
    got = streamed()
    assert engine.saves == 1  # streamed once, never spilled
    expected = from_file(archive)
    assert comparable(got) == comparable(expected)
    return got


def test_legacy_save_streams_and_equals_the_file(engine: Engine, tmp_path: Path) -> None:
    built = si.image([A, B, C, A], "tar")  # layers 1 and 4: the same DiffID
    archive = si.write_legacy_archive(tmp_path / "save.tar", built, symlink_dup=True)
    serve(engine, built, archive)
    report = report_equal(archive, engine)
    assert [layer.index for layer in report.layers] == [0, 1, 2, 3]
    assert report.layers[3].diff_id == report.layers[0].diff_id
    assert report.layers[3].files_modified == 2  # layer 4 rewrites layer 1's files
    assert any(f.code == "KH311" or "secret" in f.message.lower() for f in report.findings) or (
        report.findings
    )


def test_layers_arriving_last_or_first_make_the_same_report(engine: Engine, tmp_path: Path) -> None:
    built = si.image([A, B, C], "tar")
    archive = si.write_legacy_archive(tmp_path / "save.tar", built)
    serve(engine, built, archive, reorder=True)
    report_equal(archive, engine)


def test_docker25_save_streams_and_equals_the_file(engine: Engine, tmp_path: Path) -> None:
    built = si.image([A, B, C, A], "tar")
    archive = si.write_docker25_archive(tmp_path / "save.tar", built)
    serve(engine, built, archive)
    report = report_equal(archive, engine)
    assert report.layers[0].media_type == "application/vnd.oci.image.layer.v1.tar"


def test_layers_open_in_order_fall_back_to_one_spill(engine: Engine, tmp_path: Path) -> None:
    """A consumer that opens layers (the SBOM reader) gets them from one spilled save."""
    built = si.image([A, B, A], "tar")
    archive = si.write_legacy_archive(tmp_path / "save.tar", built, symlink_dup=True)
    serve(engine, built, archive)
    with reading_arrivals(), open_image("docker:keelhaul-test/app:1") as image:
        tars = []
        for layer in image.layers:
            with layer.open() as stream:
                tars.append(stream.read())
        assert tars == built.tars
        assert image.arrivals is None
        assert image.tags == ("keelhaul-test/app:1",)
        assert image.config["config"]["Cmd"] == ["/bin/sh"]
    assert engine.saves == 1
    with open_image("docker:keelhaul-test/app:1") as image:  # not streaming: complete at once
        assert image.arrivals is None
        assert image.layers[1].history is not None
    assert engine.saves == 2


def _error(engine: Engine) -> str:
    with pytest.raises(KeelhaulError) as caught:
        streamed()
    message = str(caught.value)
    assert "\n" not in message
    print("error:", message)
    return message


@pytest.mark.parametrize("maker", ["legacy", "docker25"])
def test_truncated_in_a_layer_names_the_layer(engine: Engine, tmp_path: Path, maker: str) -> None:
    built = si.image([A, C], "tar")
    write = si.write_legacy_archive if maker == "legacy" else si.write_docker25_archive
    archive = write(tmp_path / "save.tar", built)
    serve(engine, built, archive)
    # cut inside the big layer's data
    with tarfile.open(archive) as tar:
        big = next(m for m in tar if m.isfile() and m.size == len(built.tars[1]))
    engine.cut = big.offset_data + big.size // 2
    message = _error(engine)
    assert big.name in message
    assert "truncated" in message or "ended" in message


def test_a_layer_that_never_arrives_is_named(engine: Engine, tmp_path: Path) -> None:
    built = si.image([A, B], "tar")
    archive = si.write_legacy_archive(tmp_path / "save.tar", built)
    serve(engine, built, archive)
    extra = si.sha(si.tar_bytes({"x": b"y"}))
    engine.inspect["RootFS"]["Layers"] = [*built.config["rootfs"]["diff_ids"], extra]
    message = _error(engine)
    assert f"layer 3 ({extra})" in message
    not_streamed = open_image("docker:keelhaul-test/app:1")
    with pytest.raises(KeelhaulError, match=r"no layer 3 \(sha256:"), not_streamed:
        pass


def test_a_layer_of_no_known_diff_id_is_named(engine: Engine, tmp_path: Path) -> None:
    built = si.image([A, B], "tar")
    archive = si.write_legacy_archive(tmp_path / "save.tar", built)
    serve(engine, built, archive)
    other = si.sha(si.tar_bytes({"x": b"y"}))
    engine.inspect["RootFS"]["Layers"] = [built.config["rootfs"]["diff_ids"][0], other]
    message = _error(engine)
    assert "layer.tar" in message
    assert "none of the image's layers" in message


def test_a_docker25_layer_with_wrong_bytes_is_named(engine: Engine, tmp_path: Path) -> None:
    built = si.image([A, B], "tar")
    archive = si.write_docker25_archive(tmp_path / "save.tar", built)
    data = bytearray(archive.read_bytes())
    at = data.find(b"print(1)")
    data[at] = ord("P")  # same size, other bytes: the DiffID the name claims is wrong
    serve(engine, built, archive)
    engine.save = bytes(data)
    message = _error(engine)
    assert built.config["rootfs"]["diff_ids"][1][7:] in message
    assert "hashes to" in message


def test_a_save_that_is_no_tar_is_one_line(engine: Engine, tmp_path: Path) -> None:
    built = si.image([A], "tar")
    serve(engine, built, si.write_legacy_archive(tmp_path / "save.tar", built))
    engine.save = b"not a tar at all" * 100
    message = _error(engine)
    assert "the save stream broke" in message
    assert "checksum" in message


def test_hostile_member_names_are_never_read(engine: Engine, tmp_path: Path) -> None:
    """A member named ../x or /x cannot stand in for a real one (here: the manifest)."""
    built = si.image([A, B], "tar")
    fake = si.canonical([{"Config": "nope.json", "RepoTags": [], "Layers": []}])
    archive = si.write_legacy_archive(tmp_path / "save.tar", built)
    with tarfile.open(archive, "a") as tar:
        si.add_members(tar, {"../manifest.json": fake, "/manifest.json": fake})
    serve(engine, built, archive)
    report_equal(archive, engine)


def test_compressed_blobs_stream_big_and_come_last_small(engine: Engine, tmp_path: Path) -> None:
    """An engine with the containerd image store saves layers compressed, as pulled: their
    names are blob digests, not DiffIDs. Big ones stream as unknown blobs, placed by the DiffID
    their bytes inflate to; ones small enough to be kept with the manifests come last."""
    noise = b"".join(hashlib.sha256(str(i).encode()).digest() for i in range(400))  # 12.8 KB
    built = si.image([A, {"srv/noise.bin": noise}, B], "gzip")
    folder = tmp_path / "save"
    si.write_layout(folder, [built], tag=None)
    config = built.manifest["config"]["digest"]
    layers = [f"blobs/sha256/{d['digest'][7:]}" for d in built.manifest["layers"]]
    (folder / "manifest.json").write_bytes(si.canonical(
        [{"Config": f"blobs/sha256/{config[7:]}", "RepoTags": ["keelhaul-test/app:1"],
          "Layers": layers}]
    ))  # fmt: skip
    archive = si.tar_folder(folder, tmp_path / "save.tar")
    serve(engine, built, archive)
    sizes = [d["size"] for d in built.manifest["layers"]]
    assert sizes[1] > 4096 > max(sizes[0], sizes[2], built.manifest["config"]["size"])
    limits = SourceLimits(max_config_bytes=4096, max_manifest_bytes=4096)  # kept: < 4 KiB
    with reading_arrivals(), open_image("docker:keelhaul-test/app:1", limits=limits) as image:
        got = analyse(image, Options())
    with open_image(f"docker-archive:{archive}", limits=limits) as image:
        expected = analyse(image, Options())
    assert engine.saves == 1
    assert comparable(got) == comparable(expected)
    assert got.layers[1].compressed_size == sizes[1]
    assert got.layers[1].media_type.endswith("+gzip")
