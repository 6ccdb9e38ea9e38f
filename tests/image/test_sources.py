"""The image sources on images written by hand: every format, every compression, and the
hostile cases (each must give one clear KeelhaulError line)."""

from __future__ import annotations

import gzip
import json
import os
import tarfile
from pathlib import Path
from typing import Any

import pytest

from keelhaul.errors import KeelhaulError
from keelhaul.image.model import Image
from keelhaul.image.sources import SourceLimits, open_image, parse_source
from tests.image import source_images as si

FILES = [{"etc/os-release": b"ID=debian\n", "bin/sh": b"#!" * 100}, {"app/main.py": b"print(1)\n"}]


def layer_tars(image: Image) -> list[bytes]:
    found = []
    for layer in image.layers:
        with layer.open() as stream:
            found.append(stream.read())
    return found


def check(image: Image, built: si.Built) -> None:
    assert layer_tars(image) == built.tars
    assert [layer.diff_id for layer in image.layers] == built.config["rootfs"]["diff_ids"]
    assert image.config["config"]["Cmd"] == ["/bin/sh"]
    assert [layer.history.created_by if layer.history else None for layer in image.layers] == [
        "COPY layer0 /",
        "COPY layer1 /",
    ]
    assert len(image.history) == 3
    assert image.platform == "linux/amd64"


def error_of(reference: str, **kwargs: object) -> str:
    with (
        pytest.raises(KeelhaulError) as caught,
        open_image(reference, **kwargs) as image,  # type: ignore[arg-type]
    ):
        layer_tars(image)
    message = str(caught.value)
    assert "\n" not in message
    print("error:", message)  # shown with -s: what a user would read
    return message


# -- formats ------------------------------------------------------------------------------------


@pytest.mark.parametrize("how", ["gzip", "zstd", "tar", ["gzip", "zstd"]])
def test_oci_layout_every_compression(tmp_path: Path, how: str | list[str]) -> None:
    built = si.image(FILES, how)
    digests = si.write_layout(tmp_path / "lay", [built])
    with open_image(f"oci:{tmp_path / 'lay'}") as image:
        check(image, built)
        assert image.manifest_digest == digests["manifest"]
        assert image.index_digest is None
        assert image.tags == ("v1",)
        assert image.layers[0].compressed_size == len(built.blobs[image.layers[0].digest])


def test_oci_layout_by_tag_and_missing_tag(tmp_path: Path) -> None:
    built = si.image(FILES)
    si.write_layout(tmp_path / "lay", [built], tag="v1")
    with open_image(f"oci:{tmp_path / 'lay'}:v1") as image:
        check(image, built)
    assert "no image tagged 'v2' (tags: v1)" in error_of(f"oci:{tmp_path / 'lay'}:v2")


def test_oci_archive(tmp_path: Path) -> None:
    built = si.image(FILES, "zstd")
    si.write_layout(tmp_path / "lay", [built])
    archive = si.tar_folder(tmp_path / "lay", tmp_path / "img.tar")
    with open_image(f"oci-archive:{archive}") as image:
        check(image, built)
    with open_image(f"oci-archive:{archive}:v1") as image:
        assert image.tags == ("v1",)


def test_docker_archive_legacy(tmp_path: Path) -> None:
    built = si.image(FILES, "tar")
    archive = si.write_legacy_archive(tmp_path / "save.tar", built)
    with open_image(f"docker-archive:{archive}") as image:
        check(image, built)
        assert image.manifest_digest is None
        assert image.tags == ("keelhaul-test/app:1",)
        assert image.layers[0].digest == image.layers[0].diff_id
    with open_image(f"docker-archive:{archive}:keelhaul-test/app:1") as image:
        assert len(image.layers) == 2


def test_docker_archive_legacy_symlinked_duplicate_layer(tmp_path: Path) -> None:
    same = {"a": b"same"}
    built = si.image([same, {"b": b"x"}, same], "tar", history=False)
    archive = si.write_legacy_archive(tmp_path / "save.tar", built, symlink_dup=True)
    with open_image(f"docker-archive:{archive}") as image:
        assert layer_tars(image) == built.tars
        assert image.layers[0].history is None


def test_docker_archive_legacy_gzip_layer_named_tar(tmp_path: Path) -> None:
    """A layer.tar that is really gzip is found by its magic bytes."""
    built = si.image(FILES, "tar")
    paths = ["l0/layer.tar", "l1/layer.tar"]
    archive = tmp_path / "save.tar"
    si.write_legacy_archive(archive, built, layer_paths=paths)
    zipped = tmp_path / "zipped.tar"
    with tarfile.open(archive) as old, tarfile.open(zipped, "w") as new:
        for member in old.getmembers():
            data = old.extractfile(member).read()  # type: ignore[union-attr]
            if member.name == "l1/layer.tar":
                data = gzip.compress(data)
            si.add_members(new, {member.name: data})
    with open_image(f"docker-archive:{zipped}") as image:
        assert layer_tars(image) == built.tars


def test_docker25_archive_is_an_oci_layout(tmp_path: Path) -> None:
    built = si.image(FILES, "gzip")
    archive = si.write_docker25_archive(tmp_path / "save.tar", built)
    with open_image(f"docker-archive:{archive}") as image:
        check(image, built)
        assert image.manifest_digest is not None
        assert image.layers[0].media_type == si.LAYER_MEDIA["tar"]
    with open_image(f"docker-archive:{archive}:keelhaul-test/app:1") as image:
        assert "1" in image.tags


def test_multi_platform_index(tmp_path: Path) -> None:
    amd = si.image(FILES, arch="amd64")
    arm = si.image([{"arm": b"arm64 only"}, {"x": b"y"}], arch="arm64")
    digests = si.write_layout(tmp_path / "lay", [amd, arm], as_index=True)
    with open_image(f"oci:{tmp_path / 'lay'}") as image:
        check(image, amd)
        assert image.index_digest == digests["index"]
    with open_image(f"oci:{tmp_path / 'lay'}", platform="linux/arm64") as image:
        assert image.platform == "linux/arm64"
        assert layer_tars(image) == arm.tars
    message = error_of(f"oci:{tmp_path / 'lay'}", platform="linux/s390x")
    assert "no image for platform linux/s390x (available: linux/amd64, linux/arm64)" in message


def test_parse_source() -> None:
    assert parse_source("docker:app:1").target == "app:1"
    assert parse_source("docker-daemon:app").scheme == "docker"
    assert parse_source("registry:127.0.0.1:5000/a/b:1").target == "127.0.0.1:5000/a/b:1"
    assert parse_source("docker://h/a:1").scheme == "registry"
    assert parse_source("debian:bookworm").scheme == ""
    assert parse_source("localhost:5000/a").scheme == ""


def test_layer_stream_stops_early_still_verifies(tmp_path: Path) -> None:
    built = si.image(FILES)
    si.write_layout(tmp_path / "lay", [built])
    with open_image(f"oci:{tmp_path / 'lay'}") as image, image.layers[0].open() as stream:
        assert stream.read(512)  # the first header only; leaving drains and checks


# -- hostile -----------------------------------------------------------------------------------


def _layout(tmp_path: Path, built: si.Built | None = None) -> Path:
    folder = tmp_path / "lay"
    si.write_layout(folder, [built or si.image(FILES)])
    return folder


def _blob(folder: Path, digest: str) -> Path:
    return folder / "blobs" / "sha256" / digest.removeprefix("sha256:")


def _rewrite_manifest(folder: Path, change: object) -> None:
    """Replace the manifest blob with ``change(manifest)`` and re-point index.json to it."""
    index = json.loads((folder / "index.json").read_bytes())
    entry = index["manifests"][0]
    manifest = json.loads(_blob(folder, entry["digest"]).read_bytes())
    data = change(manifest)  # type: ignore[operator]
    data = data if isinstance(data, bytes) else si.canonical(data)
    _blob(folder, si.sha(data)).write_bytes(data)
    entry.update(digest=si.sha(data), size=len(data))
    (folder / "index.json").write_bytes(si.canonical(index))


def test_wrong_layer_digest_names_the_layer(tmp_path: Path) -> None:
    """The blob at the digest's path holds other bytes (same tar, other gzip level): the
    DiffID still matches, the blob digest does not."""
    built = si.image(FILES)
    folder = _layout(tmp_path, built)
    digest = built.manifest["layers"][1]["digest"]
    other = gzip.compress(built.tars[1], compresslevel=9, mtime=1)
    _blob(folder, digest).write_bytes(other)

    def resize(manifest: dict[str, Any]) -> dict[str, Any]:
        manifest["layers"][1]["size"] = len(other)
        return manifest

    _rewrite_manifest(folder, resize)
    message = error_of(f"oci:{folder}")
    assert f"layer 2 ({digest}): the blob hashes to sha256:" in message
    assert "not its digest" in message


def test_blob_longer_than_declared(tmp_path: Path) -> None:
    built = si.image(FILES)
    folder = _layout(tmp_path, built)
    digest = built.manifest["layers"][0]["digest"]
    path = _blob(folder, digest)
    path.write_bytes(path.read_bytes() + b"\0" * 10)
    assert "longer than its declared" in error_of(f"oci:{folder}")


def test_wrong_diff_id(tmp_path: Path) -> None:
    built = si.image(FILES)
    built.config["rootfs"]["diff_ids"][0] = si.sha(b"other")
    folder = _layout(tmp_path, built)
    message = error_of(f"oci:{folder}")
    assert "layer 1 " in message
    assert "not its DiffID" in message


def test_truncated_gzip(tmp_path: Path) -> None:
    built = si.image([{"big": os.urandom(200_000)}])
    folder = _layout(tmp_path, built)
    digest = built.manifest["layers"][0]["digest"]
    path = _blob(folder, digest)
    path.write_bytes(path.read_bytes()[:-100])
    message = error_of(f"oci:{folder}")
    assert "layer 1 " in message
    assert "truncated" in message


def test_truncated_gzip_stream_with_matching_size(tmp_path: Path) -> None:
    """A blob whose size and digest are right but whose gzip stream is cut short."""
    tar = si.tar_bytes({"big": os.urandom(100_000)})
    cut = gzip.compress(tar)[:-2000]
    built = si.image([{"x": b""}])
    built.blobs.clear()
    built.manifest["layers"] = [
        {"mediaType": si.LAYER_MEDIA["gzip"], "digest": built.add(cut), "size": len(cut)}
    ]
    built.config["rootfs"]["diff_ids"] = [si.sha(tar)]
    built.config["history"] = []
    folder = _layout(tmp_path, built)
    assert "truncated gzip stream" in error_of(f"oci:{folder}")


def test_gzip_bomb_is_stopped(tmp_path: Path) -> None:
    tar = si.tar_bytes({"zeros": bytes(64 << 20)})
    built = si.image([{"x": b""}])
    built.blobs.clear()
    blob = gzip.compress(tar, compresslevel=9)
    built.manifest["layers"] = [
        {"mediaType": si.LAYER_MEDIA["gzip"], "digest": built.add(blob), "size": len(blob)}
    ]
    built.config["rootfs"]["diff_ids"] = [si.sha(tar)]
    built.config["history"] = []
    folder = _layout(tmp_path, built)
    limits = SourceLimits(max_ratio=100, ratio_floor=8 << 20)
    message = error_of(f"oci:{folder}", limits=limits)
    assert "decompression bomb" in message
    assert "layer 1 " in message
    # And with the defaults (floor 256 MiB) the same layer is fine.
    with open_image(f"oci:{folder}") as image:
        assert len(layer_tars(image)[0]) == len(tar)


def test_zstd_bomb_is_stopped(tmp_path: Path) -> None:
    tar = si.tar_bytes({"zeros": bytes(64 << 20)})
    built = si.image([{"x": b""}])
    built.blobs.clear()
    blob = si.compress(tar, "zstd")
    built.manifest["layers"] = [
        {"mediaType": si.LAYER_MEDIA["zstd"], "digest": built.add(blob), "size": len(blob)}
    ]
    built.config["rootfs"]["diff_ids"] = [si.sha(tar)]
    built.config["history"] = []
    folder = _layout(tmp_path, built)
    message = error_of(f"oci:{folder}", limits=SourceLimits(ratio_floor=4 << 20))
    assert "decompression bomb" in message


def test_layer_size_limit(tmp_path: Path) -> None:
    folder = _layout(tmp_path, si.image([{"f": os.urandom(300_000)}]))
    assert "the layer limit" in error_of(f"oci:{folder}", limits=SourceLimits(max_layer_bytes=1000))


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda m: b"{not json", "not valid JSON"),
        (lambda m: b"[]", "expected a JSON object"),
        (lambda m: {**m, "schemaVersion": 1}, "schemaVersion is not 2"),
        (lambda m: {**m, "mediaType": "application/x-evil"}, "unsupported manifest media type"),
        # found by bench/fuzz.py (issue 23): a list as the media type was a TypeError, exit 3
        (lambda m: {**m, "mediaType": [1]}, "mediaType is not a string"),
        (
            lambda m: {
                **m,
                "config": {**m["config"], "mediaType": "application/vnd.cncf.helm.config.v1+json"},
            },
            "is not an image config",
        ),
        (
            lambda m: {
                **m,
                "layers": [{**m["layers"][0], "mediaType": "text/plain"}, m["layers"][1]],
            },
            "layer 1 has media type 'text/plain'",
        ),
        (
            lambda m: {**m, "layers": [{**m["layers"][0], "digest": "sha256:../../etc/passwd"}]},
            "invalid digest 'sha256:../../etc/passwd'",
        ),
        (
            lambda m: {**m, "layers": [{**m["layers"][0], "size": 10**18}, m["layers"][1]]},
            "beyond the",
        ),
        (
            lambda m: {**m, "layers": [{**m["layers"][0], "size": -1}, m["layers"][1]]},
            "invalid size",
        ),
        (lambda m: {**m, "layers": m["layers"][:1]}, "1 layers"),
        (
            lambda m: {
                **m,
                "layers": [m["layers"][0], {**m["layers"][1], "digest": si.sha(b"gone")}],
            },
            "layer 2 blob sha256:",
        ),
        (lambda m: {**m, "layers": [m["layers"][0]] * 2000}, "more than the 1000 allowed"),
    ],
)
def test_malformed_manifests(tmp_path: Path, change: object, expected: str) -> None:
    folder = _layout(tmp_path)
    _rewrite_manifest(folder, change)
    assert expected in error_of(f"oci:{folder}")


def test_manifest_blob_digest_mismatch(tmp_path: Path) -> None:
    folder = _layout(tmp_path)
    index = json.loads((folder / "index.json").read_bytes())
    path = _blob(folder, index["manifests"][0]["digest"])
    data = path.read_bytes()
    path.write_bytes(data.replace(b'"schemaVersion":2', b'"schemaVersion":2 '))
    index["manifests"][0]["size"] = len(data) + 1
    (folder / "index.json").write_bytes(si.canonical(index))
    assert "hashes to" in error_of(f"oci:{folder}")


def test_missing_and_absurd_index(tmp_path: Path) -> None:
    folder = _layout(tmp_path)
    (folder / "index.json").write_bytes(b"{" * 100_000)
    assert "not valid JSON" in error_of(f"oci:{folder}")
    (folder / "index.json").write_bytes(b" " * (5 << 20))
    assert "more than" in error_of(f"oci:{folder}")
    (folder / "index.json").unlink()
    assert "no index.json" in error_of(f"oci:{folder}")
    assert "no such" in error_of(f"oci:{tmp_path / 'nothing'}")


def test_config_diff_ids_malformed(tmp_path: Path) -> None:
    built = si.image(FILES)
    built.config["rootfs"]["diff_ids"] = ["nope"]
    folder = _layout(tmp_path, built)
    assert "rootfs.diff_ids is missing" in error_of(f"oci:{folder}")


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        # found by bench/fuzz.py (issue 23): `Env: -1` was a TypeError in the secrets scan
        ("Env", -1, "config.Env is not a list of strings"),
        ("Env", ["A=1", 2], "config.Env is not a list of strings"),
        ("Cmd", "sh", "config.Cmd is not a list of strings"),
        ("Labels", {"a": 1}, "config.Labels is not an object of strings"),
        ("User", 0, "config.User is not a string"),
        ("ExposedPorts", ["80/tcp"], "config.ExposedPorts is not an object"),
        ("Healthcheck", "CMD true", "config.Healthcheck is not an object"),
    ],
)
def test_run_config_of_the_wrong_type(
    tmp_path: Path, field: str, value: object, expected: str
) -> None:
    built = si.image(FILES)
    built.config.setdefault("config", {})[field] = value
    folder = _layout(tmp_path, built)
    assert expected in error_of(f"oci:{folder}")


def test_run_config_that_is_not_an_object(tmp_path: Path) -> None:
    built = si.image(FILES)
    built.config["config"] = ["Env"]
    assert "config is not an object" in error_of(f"oci:{_layout(tmp_path, built)}")


@pytest.mark.parametrize(
    "path", ["../../etc/passwd", "/etc/passwd", "a/../../x/layer.tar", "..\\x"]
)
def test_docker_archive_path_traversal(tmp_path: Path, path: str) -> None:
    built = si.image(FILES, "tar")
    archive = si.write_legacy_archive(
        tmp_path / "save.tar", built, layer_paths=[path, "ok/layer.tar"]
    )
    assert "refusing the path" in error_of(f"docker-archive:{archive}")


def test_docker_archive_symlink_out_of_archive(tmp_path: Path) -> None:
    built = si.image(FILES, "tar")
    archive = tmp_path / "save.tar"
    si.write_legacy_archive(archive, built, layer_paths=["a/layer.tar", "b/layer.tar"])
    evil = tmp_path / "evil.tar"
    with tarfile.open(archive) as old, tarfile.open(evil, "w") as new:
        for member in old.getmembers():
            if member.name == "b/layer.tar":
                member.type, member.linkname, member.size = (
                    tarfile.SYMTYPE,
                    "../../../etc/passwd",
                    0,
                )
                new.addfile(member)
            else:
                new.addfile(member, old.extractfile(member))
    assert "links outside the archive" in error_of(f"docker-archive:{evil}")


def test_docker_archive_symlink_loop(tmp_path: Path) -> None:
    built = si.image(FILES, "tar")
    archive = tmp_path / "save.tar"
    si.write_legacy_archive(archive, built, layer_paths=["a/layer.tar", "b/layer.tar"])
    evil = tmp_path / "loop.tar"
    with tarfile.open(archive) as old, tarfile.open(evil, "w") as new:
        for member in old.getmembers():
            if member.name in ("a/layer.tar", "b/layer.tar"):
                other = "b" if member.name.startswith("a") else "a"
                member.type, member.linkname, member.size = (
                    tarfile.SYMTYPE,
                    f"../{other}/layer.tar",
                    0,
                )
                new.addfile(member)
            else:
                new.addfile(member, old.extractfile(member))
    assert "too many links" in error_of(f"docker-archive:{evil}")


def test_docker_archive_hostile_misc(tmp_path: Path) -> None:
    built = si.image(FILES, "tar")
    bad_json = si.write_legacy_archive(tmp_path / "a.tar", built, manifest=b"[{")
    assert "manifest.json: not valid JSON" in error_of(f"docker-archive:{bad_json}")
    missing = si.write_legacy_archive(
        tmp_path / "b.tar", built, layer_paths=["x/layer.tar", "y/layer.tar"]
    )
    cut = tmp_path / "c.tar"
    with tarfile.open(missing) as old, tarfile.open(cut, "w") as new:
        for member in old.getmembers():
            if member.name != "y/layer.tar":
                new.addfile(member, old.extractfile(member))
    assert "layer 2 (y/layer.tar) is missing" in error_of(f"docker-archive:{cut}")
    wrong_config = si.write_legacy_archive(
        tmp_path / "d.tar", built, config_path="ab" * 32 + ".json"
    )
    assert "hashes to" in error_of(f"docker-archive:{wrong_config}")
    notar = tmp_path / "e.tar"
    notar.write_bytes(b"hello" * 100)
    assert "not a readable tar archive" in error_of(f"docker-archive:{notar}")
    zipped = tmp_path / "f.tar.gz"
    zipped.write_bytes(gzip.compress(bad_json.read_bytes()))
    assert "compressed" in error_of(f"docker-archive:{zipped}")
    two = si.write_legacy_archive(
        tmp_path / "g.tar",
        built,
        manifest=si.canonical([{"Config": "x.json", "RepoTags": ["a:1"], "Layers": []}] * 2),
    )
    assert "2 images; name one (a:1, a:1)" in error_of(f"docker-archive:{two}")


def test_truncated_archive(tmp_path: Path) -> None:
    built = si.image([{"big": os.urandom(300_000)}], "tar")
    archive = si.write_legacy_archive(tmp_path / "save.tar", built)
    data = archive.read_bytes()
    # Cut inside the layer member (members are config, layer, manifest.json): the index of
    # the archive fails, or the layer comes short.
    cut = tmp_path / "cut.tar"
    cut.write_bytes(data[:200_000])
    message = error_of(f"docker-archive:{cut}")
    assert "docker-archive" in message or "cut.tar" in message


def test_archive_member_count_bound(tmp_path: Path) -> None:
    built = si.image(FILES, "tar")
    archive = si.write_legacy_archive(
        tmp_path / "save.tar", built, extra={f"junk/{i}": b"" for i in range(300)}
    )
    message = error_of(f"docker-archive:{archive}", limits=SourceLimits(max_archive_members=100))
    assert "more than 100 members" in message


def test_bad_platform_and_bare_file(tmp_path: Path) -> None:
    folder = _layout(tmp_path)
    assert "expected os/arch" in error_of(f"oci:{folder}", platform="amd64")
    assert "name its kind" in error_of(str(folder))


def _single_blob_layout(tmp_path: Path, tar: bytes, blob: bytes, how: str) -> Path:
    built = si.image([{"x": b""}])
    built.blobs.clear()
    built.manifest["layers"] = [
        {"mediaType": si.LAYER_MEDIA[how], "digest": built.add(blob), "size": len(blob)}
    ]
    built.config["rootfs"]["diff_ids"] = [si.sha(tar)]
    built.config["history"] = []
    return _layout(tmp_path, built)


@pytest.mark.parametrize("how", ["gzip", "zstd"])
def test_multi_member_streams(tmp_path: Path, how: str) -> None:
    """pigz-style multi-member gzip and multi-frame zstd are one stream."""
    tar = si.tar_bytes({"a": os.urandom(70_000), "b": b"b" * 300_000})
    blob = b"".join(si.compress(tar[i : i + 50_000], how) for i in range(0, len(tar), 50_000))
    folder = _single_blob_layout(tmp_path, tar, blob, how)
    with open_image(f"oci:{folder}") as image:
        assert layer_tars(image) == [tar]


@pytest.mark.parametrize("how", ["gzip", "zstd"])
def test_trailing_garbage_after_compressed_stream(tmp_path: Path, how: str) -> None:
    tar = si.tar_bytes({"a": b"a" * 1000})
    folder = _single_blob_layout(tmp_path, tar, si.compress(tar, how) + b"GARBAGE!", how)
    assert f"trailing bytes after the {how} data" in error_of(f"oci:{folder}")


def test_media_type_lies(tmp_path: Path) -> None:
    """A layer declared +gzip that is plain tar (and zstd declared plain) is read by magic."""
    tar = si.tar_bytes({"a": b"a" * 1000})
    folder = _single_blob_layout(tmp_path, tar, tar, "gzip")
    with open_image(f"oci:{folder}") as image:
        assert layer_tars(image) == [tar]
    other = _single_blob_layout(tmp_path / "z", tar, si.compress(tar, "zstd"), "tar")
    with open_image(f"oci:{other}") as image:
        assert layer_tars(image) == [tar]


def test_oci_layout_symlink_out_of_the_layout(tmp_path: Path) -> None:
    built = si.image(FILES)
    folder = _layout(tmp_path, built)
    outside = tmp_path / "outside"
    outside.write_bytes(b"secret")
    blob = _blob(folder, built.manifest["layers"][0]["digest"])
    blob.unlink()
    blob.symlink_to(outside)
    assert "leads outside the layout" in error_of(f"oci:{folder}")


def test_single_platform_image_and_an_explicit_other_platform(tmp_path: Path) -> None:
    folder = _layout(tmp_path, si.image(FILES, arch="arm64"))
    with open_image(f"oci:{folder}") as image:  # no choice to make: the image as it is
        assert image.platform == "linux/arm64"
    with open_image(f"oci:{folder}", platform="linux/arm64/v8") as image:
        assert image.platform == "linux/arm64"
    message = error_of(f"oci:{folder}", platform="linux/amd64")
    assert "the image is linux/arm64, not linux/amd64" in message


def test_layout_with_two_tagged_images(tmp_path: Path) -> None:
    one, two = si.image(FILES), si.image([{"b": b"2"}, {"c": b"3"}])
    si.write_layout(tmp_path / "a", [one], tag="one")
    si.write_layout(tmp_path / "b", [two], tag="two")
    # Merge b's index entries and blobs into a.
    index = json.loads((tmp_path / "a" / "index.json").read_bytes())
    index["manifests"] += json.loads((tmp_path / "b" / "index.json").read_bytes())["manifests"]
    (tmp_path / "a" / "index.json").write_bytes(si.canonical(index))
    for blob in (tmp_path / "b" / "blobs" / "sha256").iterdir():
        (tmp_path / "a" / "blobs" / "sha256" / blob.name).write_bytes(blob.read_bytes())
    assert "2 images; name one with a tag (one, two)" in error_of(f"oci:{tmp_path / 'a'}")
    with open_image(f"oci:{tmp_path / 'a'}:two") as image:
        assert layer_tars(image) == two.tars
