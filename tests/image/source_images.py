"""Image files the source tests write by hand: layers made with tarfile and compressed with
gzip or zstd, configs and manifests with correct digests, then laid out as an OCI layout, an
oci-archive, or a docker save archive (legacy or Docker 25+). Tests then break one thing
(a digest, a size, a path, the JSON) to make the hostile cases."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import zstandard

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
LAYER_MEDIA = {
    "gzip": "application/vnd.oci.image.layer.v1.tar+gzip",
    "zstd": "application/vnd.oci.image.layer.v1.tar+zstd",
    "tar": "application/vnd.oci.image.layer.v1.tar",
}


def sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def tar_bytes(files: dict[str, bytes]) -> bytes:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode = len(data), 0, 0o644
            tar.addfile(info, io.BytesIO(data))
    return raw.getvalue()


def compress(data: bytes, how: str) -> bytes:
    if how == "gzip":
        return gzip.compress(data, compresslevel=1, mtime=0)
    if how == "zstd":
        return zstandard.ZstdCompressor().compress(data)
    return data


def canonical(document: object) -> bytes:
    return json.dumps(document, sort_keys=True, separators=(",", ":")).encode()


@dataclass
class Built:
    """One image: blobs by digest, and the manifest and config documents."""

    blobs: dict[str, bytes] = field(default_factory=dict)
    config: dict[str, Any] = field(default_factory=dict)
    manifest: dict[str, Any] = field(default_factory=dict)
    tars: list[bytes] = field(default_factory=list)
    platform: tuple[str, str] = ("linux", "amd64")

    def add(self, data: bytes) -> str:
        digest = sha(data)
        self.blobs[digest] = data
        return digest

    def seal(self) -> tuple[str, int]:
        """Write config and manifest as blobs; the manifest's digest and size."""
        config = canonical(self.config)
        self.manifest["config"] = {
            "mediaType": OCI_CONFIG, "digest": self.add(config), "size": len(config),
        }  # fmt: skip
        data = canonical(self.manifest)
        return self.add(data), len(data)


def image(
    layers: list[dict[str, bytes]],
    compression: str | list[str] = "gzip",
    *,
    arch: str = "amd64",
    history: bool = True,
) -> Built:
    built = Built(platform=("linux", arch))
    hows = compression if isinstance(compression, list) else [compression] * len(layers)
    descriptors = []
    diff_ids = []
    for files, how in zip(layers, hows, strict=True):
        tar = tar_bytes(files)
        built.tars.append(tar)
        blob = compress(tar, how)
        descriptors.append(
            {"mediaType": LAYER_MEDIA[how], "digest": built.add(blob), "size": len(blob)}
        )
        diff_ids.append(sha(tar))
    built.config = {
        "architecture": arch,
        "os": "linux",
        "config": {"Env": ["PATH=/usr/bin"], "Cmd": ["/bin/sh"]},
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
    }
    if history:
        built.config["history"] = [
            {"created_by": f"COPY layer{i} /", "created": "2026-01-01T00:00:00Z"}
            for i in range(len(layers))
        ] + [{"created_by": 'CMD ["/bin/sh"]', "empty_layer": True}]
    built.manifest = {"schemaVersion": 2, "mediaType": OCI_MANIFEST, "layers": descriptors}
    return built


def write_layout(
    folder: Path, images: list[Built], *, tag: str | None = "v1", as_index: bool = False
) -> dict[str, str]:
    """An OCI layout; with ``as_index`` the images go in one image index (multi-platform).
    Returns {"manifest": digest of the first manifest, "index": digest of the index}."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')
    entries = []
    blobs: dict[str, bytes] = {}
    for built in images:
        digest, size = built.seal()
        blobs.update(built.blobs)
        entry: dict[str, Any] = {"mediaType": OCI_MANIFEST, "digest": digest, "size": size}
        if as_index:
            entry["platform"] = {"os": built.platform[0], "architecture": built.platform[1]}
        elif tag:
            entry["annotations"] = {"org.opencontainers.image.ref.name": tag}
        entries.append(entry)
    result = {"manifest": entries[0]["digest"]}
    if as_index:
        index = canonical({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries})
        blobs[sha(index)] = index
        result["index"] = sha(index)
        entries = [{"mediaType": OCI_INDEX, "digest": sha(index), "size": len(index)}]
        if tag:
            entries[0]["annotations"] = {"org.opencontainers.image.ref.name": tag}
    (folder / "index.json").write_bytes(
        canonical({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries})
    )
    for digest, data in blobs.items():
        path = folder / "blobs" / "sha256" / digest.removeprefix("sha256:")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return result


def tar_folder(folder: Path, archive: Path) -> Path:
    with tarfile.open(archive, "w") as tar:
        for path in sorted(folder.rglob("*")):
            tar.add(path, arcname=str(path.relative_to(folder)), recursive=False)
    return archive


def add_members(tar: tarfile.TarFile, members: dict[str, bytes]) -> None:
    for name, data in members.items():
        info = tarfile.TarInfo(name)
        info.size, info.mtime = len(data), 0
        tar.addfile(info, io.BytesIO(data))


def write_legacy_archive(
    archive: Path,
    built: Built,
    *,
    repo_tag: str = "keelhaul-test/app:1",
    layer_paths: list[str] | None = None,
    config_path: str | None = None,
    manifest: bytes | None = None,
    extra: dict[str, bytes] | None = None,
    symlink_dup: bool = False,
) -> Path:
    """A pre-25 ``docker save``: manifest.json, <hex>.json, <id>/layer.tar (plain tar).
    ``symlink_dup`` makes the last layer.tar a symlink to the first (as docker does for a
    repeated layer)."""
    config = canonical(built.config)
    config_name = config_path or sha(config).removeprefix("sha256:") + ".json"
    paths = layer_paths or [f"{sha(t)[7:23]}{i}/layer.tar" for i, t in enumerate(built.tars)]
    members: dict[str, bytes] = {config_name: config}
    for path, tar in zip(paths, built.tars, strict=False):
        members[path] = tar
    document = [{"Config": config_name, "RepoTags": [repo_tag], "Layers": paths}]
    members["manifest.json"] = manifest if manifest is not None else canonical(document)
    members.update(extra or {})
    if symlink_dup:
        del members[paths[-1]]
    with tarfile.open(archive, "w") as out:
        add_members(out, members)
        if symlink_dup:
            info = tarfile.TarInfo(paths[-1])
            info.type = tarfile.SYMTYPE
            info.linkname = "../" + paths[0]
            out.addfile(info)
    return archive


def write_docker25_archive(
    archive: Path, built: Built, *, name: str = "keelhaul-test/app:1"
) -> Path:
    """A Docker 25+ ``docker save``: an OCI layout (uncompressed layers) plus manifest.json."""
    folder = archive.with_suffix(".d")
    built.manifest["layers"] = [
        {**d, "mediaType": LAYER_MEDIA["tar"], "digest": built.add(t), "size": len(t)}
        for d, t in zip(built.manifest["layers"], built.tars, strict=True)
    ]
    digest, size = built.seal()
    folder.mkdir(parents=True)
    (folder / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')
    entry = {
        "mediaType": OCI_MANIFEST, "digest": digest, "size": size,
        "annotations": {"io.containerd.image.name": f"docker.io/{name}",
                        "org.opencontainers.image.ref.name": name.rsplit(":", 1)[1]},
    }  # fmt: skip
    (folder / "index.json").write_bytes(
        canonical({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [entry]})
    )
    layers = [f"blobs/sha256/{d['digest'][7:]}" for d in built.manifest["layers"]]
    (folder / "manifest.json").write_bytes(
        canonical(
            [
                {
                    "Config": f"blobs/sha256/{built.manifest['config']['digest'][7:]}",
                    "RepoTags": [name],
                    "Layers": layers,
                }
            ]
        )
    )
    for blob_digest, data in built.blobs.items():
        path = folder / "blobs" / "sha256" / blob_digest.removeprefix("sha256:")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return tar_folder(folder, archive)
