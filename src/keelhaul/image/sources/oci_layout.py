"""An OCI image layout (a folder, or a tar of one: ``oci-archive``), and the Docker 25+
``docker save`` layout, which is one too: ``index.json`` names manifests (or nested
indexes), every blob lives at ``blobs/<algorithm>/<hex>``."""

from __future__ import annotations

from keelhaul.image.model import Image
from keelhaul.image.sources.blobstore import BlobStore
from keelhaul.image.sources.manifests import (
    INDEX_TYPES,
    MANIFEST_TYPES,
    Descriptor,
    ImageSourceError,
    LayerBlob,
    assemble,
    check_digest,
    load_json,
    parse_index,
    parse_manifest,
    select_platform,
)
from keelhaul.image.sources.streams import SourceLimits

__all__ = ["open_layout"]

REF_NAME = "org.opencontainers.image.ref.name"
CONTAINERD_NAME = "io.containerd.image.name"
_MAX_NESTING = 4


def blob_path(digest: str) -> str:
    algorithm, _, hexdigest = digest.partition(":")
    return f"blobs/{algorithm}/{hexdigest}"


def _read_blob(store: BlobStore, descriptor: Descriptor, limit: int, what: str) -> bytes:
    if descriptor.size > limit:
        raise ImageSourceError(
            f"{store.label}: {what} {descriptor.digest} is {descriptor.size} bytes, "
            f"more than {limit}"
        )
    data = store.read(blob_path(descriptor.digest), limit, f"{what} {descriptor.digest}")
    if len(data) != descriptor.size:
        raise ImageSourceError(
            f"{store.label}: {what} {descriptor.digest} is {len(data)} bytes, "
            f"its descriptor says {descriptor.size}"
        )
    check_digest(data, descriptor.digest, f"{store.label}: {what}")
    return data


def _names(descriptor: Descriptor) -> set[str]:
    annotations = descriptor.annotations or {}
    found = set()
    for key in (REF_NAME, CONTAINERD_NAME):
        value = annotations.get(key)
        if isinstance(value, str):
            found.add(value)
            # docker.io/library/app:1 is also app:1, and its tag is 1.
            found.add(value.removeprefix("docker.io/").removeprefix("library/"))
            if ":" in value.rsplit("/", 1)[-1]:
                found.add(value.rsplit(":", 1)[1])
    return found


def _pick_by_tag(entries: list[Descriptor], tag: str | None, label: str) -> list[Descriptor]:
    if tag is None:
        return entries
    chosen = [e for e in entries if tag in _names(e)]
    if not chosen:
        known = sorted({n for e in entries for n in _names(e)}) or ["none"]
        raise ImageSourceError(f"{label}: no image tagged {tag!r} (tags: {', '.join(known)})")
    return chosen


def open_layout(
    store: BlobStore,
    *,
    source: str,
    tag: str | None,
    platform: str,
    limits: SourceLimits,
) -> Image:
    label = store.label
    if not store.exists("index.json"):
        raise ImageSourceError(f"{label}: no index.json (not an OCI image layout)")
    index = load_json(
        store.read("index.json", limits.max_manifest_bytes, "index.json"),
        f"{label}: index.json",
        limits.max_manifest_bytes,
    )
    entries = parse_index(index, f"{label}: index.json", limits)
    entries = _pick_by_tag(entries, tag, label)
    tags = tuple(sorted({n for e in entries for n in _names(e)}))
    index_digest: str | None = None
    current: list[Descriptor] = entries
    where = f"{label}: index.json"
    for _ in range(_MAX_NESTING):
        if len(current) == 1 and current[0].media_type in INDEX_TYPES:
            nested = current[0]
            data = _read_blob(store, nested, limits.max_manifest_bytes, "index")
            index_digest = nested.digest
            where = f"{label}: index {nested.digest}"
            current = parse_index(load_json(data, where, limits.max_manifest_bytes), where, limits)
            continue
        break
    if len(current) == 1 and current[0].media_type in MANIFEST_TYPES and not current[0].platform:
        chosen = current[0]
    else:
        if any(e.media_type in INDEX_TYPES for e in current):
            raise ImageSourceError(
                f"{where}: several images; name one with a tag ({', '.join(tags) or 'none'})"
            )
        if len(current) > 1 and not any(e.platform for e in current):
            raise ImageSourceError(
                f"{where}: {len(current)} images; name one with a tag "
                f"({', '.join(tags) or 'none are tagged'})"
            )
        chosen = select_platform(current, platform, where)
    manifest_data = _read_blob(store, chosen, limits.max_manifest_bytes, "manifest")
    where = f"{label}: manifest {chosen.digest}"
    parts = parse_manifest(
        load_json(manifest_data, where, limits.max_manifest_bytes), where, limits
    )
    config_data = _read_blob(store, parts.config, limits.max_config_bytes, "config")
    blobs = []
    for i, layer in enumerate(parts.layers):
        path = blob_path(layer.digest)
        if not store.exists(path):
            raise ImageSourceError(f"{label}: layer {i + 1} blob {layer.digest} is missing")
        blobs.append(
            LayerBlob(
                digest=layer.digest,
                media_type=layer.media_type,
                size=layer.size,
                chunks=lambda path=path: store.chunks(path),  # type: ignore[misc]
                stamp=lambda path=path: store.stamp(path),  # type: ignore[misc]
                name=f"{label} layer {i + 1}",
            )
        )
    return assemble(
        source=source,
        manifest_digest=chosen.digest,
        config_data=config_data,
        config_digest=parts.config.digest,
        blobs=blobs,
        limits=limits,
        index_digest=index_digest,
        tags=tags,
    )
