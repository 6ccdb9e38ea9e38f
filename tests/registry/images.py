"""Tiny OCI image layouts written by hand, for pushing into a real registry with skopeo.

Each image is one config blob, one gzip layer with one file, and a manifest; a multi-platform
image adds an index over two such manifests. Everything is made here, so the tests need no
network and no Docker Engine.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
from dataclasses import dataclass
from pathlib import Path

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"


@dataclass(frozen=True)
class Blob:
    media_type: str
    data: bytes

    @property
    def digest(self) -> str:
        return "sha256:" + hashlib.sha256(self.data).hexdigest()

    def descriptor(self, **extra: object) -> dict[str, object]:
        return {
            "mediaType": self.media_type,
            "digest": self.digest,
            "size": len(self.data),
            **extra,
        }


def _canonical(document: object) -> bytes:
    return json.dumps(document, sort_keys=True, separators=(",", ":")).encode()


def _layer(text: str) -> tuple[Blob, str]:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        data = text.encode()
        info = tarfile.TarInfo("hello.txt")
        info.size, info.mtime, info.mode = len(data), 0, 0o644
        tar.addfile(info, io.BytesIO(data))
    tar_bytes = raw.getvalue()
    diff_id = "sha256:" + hashlib.sha256(tar_bytes).hexdigest()
    return Blob(OCI_LAYER_GZIP, gzip.compress(tar_bytes, mtime=0)), diff_id


def _image(os_name: str, arch: str, text: str) -> tuple[Blob, list[Blob]]:
    """(manifest, [config, layer]) of a one-layer image."""
    layer, diff_id = _layer(text)
    config = Blob(
        OCI_CONFIG,
        _canonical(
            {
                "architecture": arch,
                "os": os_name,
                "config": {"Cmd": ["/hello"]},
                "rootfs": {"type": "layers", "diff_ids": [diff_id]},
            }
        ),
    )
    manifest = Blob(
        OCI_MANIFEST,
        _canonical(
            {
                "schemaVersion": 2,
                "mediaType": OCI_MANIFEST,
                "config": config.descriptor(),
                "layers": [layer.descriptor()],
            }
        ),
    )
    return manifest, [config, layer]


def write_layout(directory: Path, top: Blob, blobs: list[Blob], tag: str) -> Path:
    blob_dir = directory / "blobs" / "sha256"
    blob_dir.mkdir(parents=True, exist_ok=True)
    for blob in [top, *blobs]:
        (blob_dir / blob.digest.removeprefix("sha256:")).write_bytes(blob.data)
    (directory / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')
    index = {
        "schemaVersion": 2,
        "manifests": [top.descriptor(annotations={"org.opencontainers.image.ref.name": tag})],
    }
    (directory / "index.json").write_text(json.dumps(index))
    return directory


def single_platform(directory: Path, tag: str = "v1", text: str = "hello\n") -> tuple[Path, Blob]:
    manifest, blobs = _image("linux", "amd64", text)
    return write_layout(directory, manifest, blobs, tag), manifest


def multi_platform(directory: Path, tag: str = "multi") -> tuple[Path, Blob]:
    amd64, amd64_blobs = _image("linux", "amd64", "amd64\n")
    arm64, arm64_blobs = _image("linux", "arm64", "arm64\n")
    index = Blob(
        OCI_INDEX,
        _canonical(
            {
                "schemaVersion": 2,
                "mediaType": OCI_INDEX,
                "manifests": [
                    amd64.descriptor(platform={"os": "linux", "architecture": "amd64"}),
                    arm64.descriptor(
                        platform={"os": "linux", "architecture": "arm64", "variant": "v8"}
                    ),
                ],
            }
        ),
    )
    return write_layout(directory, index, [amd64, arm64, *amd64_blobs, *arm64_blobs], tag), index
