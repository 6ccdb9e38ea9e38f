"""``docker save`` archives. Docker 25+ writes an OCI layout (``index.json``, ``blobs/``) and
is read as one; older engines write the legacy layout: ``manifest.json`` naming a config
``<id>.json`` and ``<id>/layer.tar`` files (plain tar, sometimes symlinks to one another)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from keelhaul.image.model import Image
from keelhaul.image.sources.blobstore import ArchiveStore, BlobStore, safe_path
from keelhaul.image.sources.manifests import (
    ImageSourceError,
    LayerBlob,
    assemble,
    check_digest,
    digest_of,
    load_json,
)
from keelhaul.image.sources.oci_layout import open_layout
from keelhaul.image.sources.streams import SourceLimits

__all__ = ["LEGACY_LAYER", "open_docker_archive", "open_save"]

LEGACY_LAYER = "application/vnd.docker.image.rootfs.diff.tar"


def open_docker_archive(
    path: Path,
    *,
    source: str,
    name: str | None,
    platform: str,
    limits: SourceLimits,
    label: str | None = None,
) -> Image:
    """``label`` names the archive in errors (default ``docker-archive:PATH``)."""
    store = ArchiveStore(path, label or f"docker-archive:{path}", limits)
    return open_save(store, source=source, name=name, platform=platform, limits=limits)


def open_save(
    store: BlobStore, *, source: str, name: str | None, platform: str, limits: SourceLimits
) -> Image:
    """A ``docker save`` from wherever its members are (a file read in place, or the
    members a streamed save kept in memory), either layout."""
    if store.exists("index.json") and store.exists("oci-layout"):
        return open_layout(store, source=source, tag=name, platform=platform, limits=limits)
    return _legacy(store, source=source, name=name, limits=limits)


def _legacy(store: BlobStore, *, source: str, name: str | None, limits: SourceLimits) -> Image:
    label = store.label
    if not store.exists("manifest.json"):
        raise ImageSourceError(f"{label}: no manifest.json (not a docker save archive)")
    where = f"{label}: manifest.json"
    document = load_json(
        store.read("manifest.json", limits.max_manifest_bytes, "manifest.json"),
        where,
        limits.max_manifest_bytes,
    )
    if not isinstance(document, list) or not document:
        raise ImageSourceError(f"{where}: expected a non-empty list of images")
    entry = _choose(document, name, where)
    config_path = safe_path(entry.get("Config"), f"{where} Config")
    layer_paths = entry.get("Layers")
    if not isinstance(layer_paths, list):
        raise ImageSourceError(f"{where}: Layers is not a list")
    if len(layer_paths) > limits.max_layers:
        raise ImageSourceError(f"{where}: {len(layer_paths)} layers is too many")
    paths = [safe_path(p, f"{where} Layers[{i}]") for i, p in enumerate(layer_paths)]
    config_data = store.read(config_path, limits.max_config_bytes, "the config")
    config_digest = digest_of(config_data)
    expected = _digest_in_name(config_path)
    if expected is not None:
        check_digest(config_data, expected, f"{label}: config {config_path}")
    blobs: list[LayerBlob] = []
    for i, layer_path in enumerate(paths):
        if not store.exists(layer_path):
            raise ImageSourceError(f"{label}: layer {i + 1} ({layer_path}) is missing")
        blobs.append(
            LayerBlob(
                digest=_digest_in_name(layer_path),
                media_type=LEGACY_LAYER,
                size=store.size(layer_path),
                chunks=lambda p=layer_path: store.chunks(p),  # type: ignore[misc]
                stamp=lambda p=layer_path: store.stamp(p),  # type: ignore[misc]
                name=f"{label} layer {i + 1} ({layer_path})",
            )
        )
    tags = entry.get("RepoTags") or []
    return assemble(
        source=source,
        manifest_digest=None,
        config_data=config_data,
        config_digest=config_digest,
        blobs=blobs,
        limits=limits,
        tags=tuple(t for t in tags if isinstance(t, str)),
    )


def _choose(document: list[Any], name: str | None, where: str) -> dict[str, Any]:
    entries = [e for e in document if isinstance(e, dict)]
    if len(entries) != len(document):
        raise ImageSourceError(f"{where}: an entry is not a JSON object")
    if name is None:
        if len(entries) > 1:
            tags = [t for e in entries for t in (e.get("RepoTags") or []) if isinstance(t, str)]
            raise ImageSourceError(
                f"{where}: {len(entries)} images; name one ({', '.join(tags) or 'untagged'})"
            )
        return entries[0]
    for entry in entries:
        tags = [t for t in (entry.get("RepoTags") or []) if isinstance(t, str)]
        if name in tags or f"{name}:latest" in tags or f"docker.io/{name}" in tags:
            return entry
    raise ImageSourceError(f"{where}: no image tagged {name!r}")


def _digest_in_name(path: str) -> str | None:
    """``blobs/sha256/<hex>`` or ``<hex>.json`` name their own digest."""
    parts = path.split("/")
    if len(parts) == 3 and parts[0] == "blobs" and len(parts[2]) == 64:
        return f"{parts[1]}:{parts[2]}"
    stem = parts[-1].removesuffix(".json")
    if len(parts) == 1 and len(stem) == 64 and all(c in "0123456789abcdef" for c in stem):
        return f"sha256:{stem}"
    return None
