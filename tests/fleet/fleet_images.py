"""A small fleet assembled by hand (no engine): 30 images in 10 repositories, over three base
images that share their layers, written as one OCI layout and pushed with skopeo.

Each base is two layers: a root filesystem with ``/etc/os-release`` and incompressible
library bytes (and, in the Debian base, a dpkg database of two packages), then a tools layer; its history ends in a CMD, as official images' do, so
keelhaul tells the base's layers from the application's. Each image adds its own
application layer; every ``v3`` image adds one more layer that deletes a base library and
rewrites an application file (waste that later layers hide). One repository also holds a
two-platform index.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import random
import tarfile
from dataclasses import dataclass, field
from pathlib import Path

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"

BASES = {
    "debian": 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\nVERSION_ID="12"\n',
    "alpine": 'PRETTY_NAME="Alpine Linux v3.19"\nID=alpine\nVERSION_ID=3.19.1\n',
    "ubuntu": 'PRETTY_NAME="Ubuntu 20.04.6 LTS"\nID=ubuntu\nVERSION_ID="20.04"\n',
}
REPOSITORIES = [f"team/app{i}" for i in range(10)]
TAGS = ["v1", "v2", "v3"]


def _canonical(document: object) -> bytes:
    return json.dumps(document, sort_keys=True, separators=(",", ":")).encode()


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class Blob:
    media_type: str
    data: bytes

    @property
    def digest(self) -> str:
        return _digest(self.data)

    def descriptor(self, **extra: object) -> dict[str, object]:
        return {"mediaType": self.media_type, "digest": self.digest, "size": len(self.data),
                **extra}  # fmt: skip


@dataclass(frozen=True)
class LayerBlob:
    blob: Blob
    diff_id: str
    created_by: str


def layer(files: dict[str, bytes], created_by: str, deleted: tuple[str, ...] = ()) -> LayerBlob:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        folders: set[str] = set()
        for path in sorted(files):
            parts = path.split("/")[:-1]
            for depth in range(1, len(parts) + 1):
                folder = "/".join(parts[:depth])
                if folder not in folders:
                    folders.add(folder)
                    info = tarfile.TarInfo(folder)
                    info.type, info.mode, info.mtime = tarfile.DIRTYPE, 0o755, 0
                    tar.addfile(info)
            info = tarfile.TarInfo(path)
            info.size, info.mode, info.mtime = len(files[path]), 0o644, 0
            tar.addfile(info, io.BytesIO(files[path]))
        for path in deleted:
            folder, _, name = path.rpartition("/")
            info = tarfile.TarInfo(f"{folder}/.wh.{name}" if folder else f".wh.{name}")
            info.size, info.mode, info.mtime = 0, 0o644, 0
            tar.addfile(info, io.BytesIO(b""))
    tar_bytes = raw.getvalue()
    return LayerBlob(Blob(OCI_LAYER_GZIP, gzip.compress(tar_bytes, 6, mtime=0)),
                     _digest(tar_bytes), created_by)  # fmt: skip


def noise(seed: str, size: int) -> bytes:
    return random.Random(seed).randbytes(size)


#: The Debian base's package database: what the fleet's vulnerability counts match.
DPKG_STATUS = (b"Package: libssl3\nStatus: install ok installed\nVersion: 3.0.11-1~deb12u2\n"
               b"Source: openssl\nArchitecture: amd64\n\n"
               b"Package: zlib1g\nStatus: install ok installed\nVersion: 1:1.2.13.dfsg-1\n"
               b"Source: zlib\nArchitecture: amd64\n\n")  # fmt: skip


def base_layers(name: str) -> list[LayerBlob]:
    files = {"etc/os-release": BASES[name].encode(),
             f"usr/lib/{name}/libbase.so": noise(f"{name}-lib", 400_000),
             f"usr/lib/{name}/libextra.so": noise(f"{name}-extra", 150_000)}  # fmt: skip
    if name == "debian":
        files["var/lib/dpkg/status"] = DPKG_STATUS
    root = layer(files, f"/bin/sh -c #(nop) ADD file:{name}-rootfs in / ")
    tools = layer({f"usr/bin/{name}-tool": noise(f"{name}-tool", 120_000)},
                  f"/bin/sh -c install {name} tools")  # fmt: skip
    return [root, tools]


@dataclass
class Made:
    repository: str
    tag: str
    base: str
    manifest: Blob
    layers: list[LayerBlob]
    config: Blob


@dataclass
class Fleet:
    images: list[Made] = field(default_factory=list)
    blobs: dict[str, Blob] = field(default_factory=dict)
    index: Blob | None = None
    """The two-platform index (``team/multi:v1``)."""


def _image(layers: list[LayerBlob], base_count: int, arch: str = "amd64") -> tuple[Blob, Blob]:
    history: list[dict[str, object]] = []
    for at, made in enumerate(layers):
        history.append({"created_by": made.created_by, "created": "2026-01-01T00:00:00Z"})
        if at == base_count - 1:
            history.append({"created_by": '/bin/sh -c #(nop)  CMD ["sh"]', "empty_layer": True})
    config = Blob(OCI_CONFIG, _canonical({
        "architecture": arch, "os": "linux", "created": "2026-01-01T00:00:00Z",
        "config": {"Cmd": ["/app"], "User": "1000"},
        "rootfs": {"type": "layers", "diff_ids": [m.diff_id for m in layers]},
        "history": history,
    }))  # fmt: skip
    manifest = Blob(OCI_MANIFEST, _canonical({
        "schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": config.descriptor(),
        "layers": [m.blob.descriptor() for m in layers],
    }))  # fmt: skip
    return manifest, config


def make_fleet() -> Fleet:
    fleet = Fleet()
    bases = {name: base_layers(name) for name in BASES}
    names = list(BASES)
    for number, repository in enumerate(REPOSITORIES):
        base = names[number % len(names)]
        for tag in TAGS:
            layers = list(bases[base])
            app = {"app/main": noise(f"{repository}:{tag}", 60_000 + 1000 * number),
                   "app/config.json": f'{{"name": "{repository}", "tag": "{tag}"}}'.encode()}  # fmt: skip
            layers.append(layer(app, f"/bin/sh -c build {repository}:{tag}"))
            if tag == "v3":
                layers.append(layer({"app/main": noise(f"{repository}:{tag}:patched", 50_000)},
                                    f"/bin/sh -c patch {repository}",
                                    deleted=(f"usr/lib/{base}/libextra.so",)))  # fmt: skip
            manifest, config = _image(layers, 2)
            fleet.images.append(Made(repository, tag, base, manifest, layers, config))
            for blob in (manifest, config, *(m.blob for m in layers)):
                fleet.blobs[blob.digest] = blob
    # a two-platform index whose platforms share the debian base layers
    children = []
    for arch in ("amd64", "arm64"):
        layers = [*bases["debian"], layer({"app/main": noise(f"multi-{arch}", 30_000)},
                                          f"/bin/sh -c build multi {arch}")]  # fmt: skip
        manifest, config = _image(layers, 2, arch)
        children.append((arch, manifest))
        for blob in (manifest, config, *(m.blob for m in layers)):
            fleet.blobs[blob.digest] = blob
    fleet.index = Blob(OCI_INDEX, _canonical({
        "schemaVersion": 2, "mediaType": OCI_INDEX,
        "manifests": [m.descriptor(platform={"os": "linux", "architecture": arch})
                      for arch, m in children],
    }))  # fmt: skip
    fleet.blobs[fleet.index.digest] = fleet.index
    return fleet


def write_layout(fleet: Fleet, directory: Path) -> Path:
    """Every image in one OCI layout, each under the tag ``REPO_NAME-TAG``."""
    blob_dir = directory / "blobs" / "sha256"
    blob_dir.mkdir(parents=True, exist_ok=True)
    for blob in fleet.blobs.values():
        (blob_dir / blob.digest.removeprefix("sha256:")).write_bytes(blob.data)
    (directory / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')
    manifests = [m.manifest.descriptor(annotations={"org.opencontainers.image.ref.name":
                                                    layout_tag(m.repository, m.tag)})
                 for m in fleet.images]  # fmt: skip
    if fleet.index is not None:
        manifests.append(fleet.index.descriptor(
            annotations={"org.opencontainers.image.ref.name": "multi-v1"}))  # fmt: skip
    (directory / "index.json").write_text(json.dumps({"schemaVersion": 2,
                                                      "manifests": manifests}))  # fmt: skip
    return directory


def layout_tag(repository: str, tag: str) -> str:
    return f"{repository.replace('/', '-')}-{tag}"
