"""Images the tests build in memory: layers written with tarfile, wrapped in model.Image."""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import io
import tarfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import IO, Any

from keelhaul.image.model import HistoryEntry, Image, Layer


@dataclass
class F:
    """A layer member: a file (data), dir, symlink, hardlink or whiteout (by name)."""

    path: str
    data: bytes = b""
    kind: str = "file"
    mode: int = 0o644
    link: str = ""
    uid: int = 0
    gid: int = 0
    xattrs: dict[str, str] = field(default_factory=dict)
    mtime: int = 0


def file(path: str, data: bytes | int = b"", mode: int = 0o644) -> F:
    return F(path, data if isinstance(data, bytes) else _filler(path, data), mode=mode)


def _filler(seed: str, size: int) -> bytes:
    """``size`` bytes unique to ``seed`` (so different paths do not dedupe by accident)."""
    block = hashlib.sha256(seed.encode()).digest() * 64
    return (block * (size // len(block) + 1))[:size]


def folder(path: str, mode: int = 0o755) -> F:
    return F(path, kind="dir", mode=mode)


def symlink(path: str, target: str) -> F:
    return F(path, kind="symlink", link=target, mode=0o777)


def hardlink(path: str, target: str) -> F:
    return F(path, kind="hardlink", link=target)


def whiteout(path: str) -> F:
    parent, _, name = path.rpartition("/")
    return F(f"{parent}/.wh.{name}" if parent else f".wh.{name}")


def opaque(folder_path: str) -> F:
    return F(f"{folder_path}/.wh..wh..opq")


def layer_tar(members: Sequence[F], fmt: int = tarfile.PAX_FORMAT) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=fmt) as tar:
        for m in members:
            info = tarfile.TarInfo(m.path)
            info.mode = m.mode
            info.uid, info.gid, info.mtime = m.uid, m.gid, m.mtime
            if m.xattrs:
                info.pax_headers = {f"SCHILY.xattr.{k}": v for k, v in m.xattrs.items()}
            if m.kind == "dir":
                info.type = tarfile.DIRTYPE
            elif m.kind == "symlink":
                info.type, info.linkname = tarfile.SYMTYPE, m.link
            elif m.kind == "hardlink":
                info.type, info.linkname = tarfile.LNKTYPE, m.link
            else:
                info.size = len(m.data)
            tar.addfile(info, io.BytesIO(m.data) if m.kind == "file" else None)
    return out.getvalue()


@dataclass
class Spec:
    members: Sequence[F] | bytes
    created_by: str = "RUN /bin/sh -c true"
    compressed_size: int | None = None


def opener(data: bytes) -> Any:
    @contextlib.contextmanager
    def open_() -> Iterator[IO[bytes]]:
        yield io.BytesIO(data)

    return open_


def image(
    layers: Sequence[Spec | Sequence[F]],
    config: dict[str, Any] | None = None,
    source: str = "test:image",
    history: Sequence[HistoryEntry] | None = None,
    tags: tuple[str, ...] = (),
) -> Image:
    built: list[Layer] = []
    entries: list[HistoryEntry] = []
    for i, spec in enumerate(layers):
        if not isinstance(spec, Spec):
            spec = Spec(spec)
        data = spec.members if isinstance(spec.members, bytes) else layer_tar(spec.members)
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        entry = HistoryEntry(spec.created_by)
        entries.append(entry)
        built.append(Layer(
            index=i, digest=digest, diff_id=digest,
            media_type="application/vnd.oci.image.layer.v1.tar",
            compressed_size=spec.compressed_size if spec.compressed_size is not None else len(data),
            history=entry, opener=opener(data),
        ))  # fmt: skip
    cfg: dict[str, Any] = {"architecture": "amd64", "os": "linux",
                           "config": {"User": "app", "Healthcheck": {"Test": ["CMD", "true"]}}}  # fmt: skip
    if config is not None:
        cfg["config"] = {**cfg["config"], **config}
    return Image(
        source=source, manifest_digest=None, config_digest="sha256:" + "0" * 64, config=cfg,
        layers=tuple(built), history=tuple(history if history is not None else entries),
        platform="linux/amd64", tags=tags,
    )  # fmt: skip


def counted(img: Image) -> tuple[Image, list[int]]:
    """``img`` whose layers count how often they are opened."""
    opens = [0] * len(img.layers)

    def wrap(layer: Layer) -> Layer:
        inner = layer.opener

        @contextlib.contextmanager
        def opener() -> Iterator[IO[bytes]]:
            opens[layer.index] += 1
            with inner() as stream:
                yield stream

        return dataclasses.replace(layer, opener=opener)

    return dataclasses.replace(img, layers=tuple(wrap(layer) for layer in img.layers)), opens


@dataclass
class Codes:
    found: list[str] = field(default_factory=list)
