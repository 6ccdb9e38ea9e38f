"""``registry:HOST/REPO:TAG`` or ``@DIGEST``: manifest, config and layer blobs straight over
the OCI distribution API, with keelhaul's registry client (its auth: anonymous, Basic and
Bearer from ~/.docker/config.json and credential helpers; plain HTTP only for loopback and
registries named insecure). Layers stream from the socket; nothing is written to disk."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator

import httpx

from keelhaul.image.model import HistoryEntry, Image, Layer
from keelhaul.image.sources.manifests import (
    INDEX_TYPES,
    ImageSourceError,
    LayerBlob,
    assemble,
    load_json,
    parse_index,
    parse_manifest,
    select_platform,
)
from keelhaul.image.sources.streams import SourceLimits, verified_layer
from keelhaul.registry import RegistryClient
from keelhaul.registry.pacing import stream_paced
from keelhaul.registry.reference import Reference, parse_reference

__all__ = ["open_registry_image", "registry_layer"]

_CHUNK = 1 << 20


def open_registry_image(
    client: RegistryClient,
    text: str,
    *,
    source: str,
    platform: str,
    limits: SourceLimits,
) -> Image:
    ref = parse_reference(text)
    where = f"registry {ref.registry} ({ref.familiar()})"
    # A digest pins the content: ask for it, not for the tag beside it.
    manifest = client.fetch_manifest(ref.with_tag(None) if ref.digest else ref)
    index_digest: str | None = None
    if manifest.media_type in INDEX_TYPES:
        index_digest = manifest.digest
        document = load_json(manifest.body, f"{where}: index", limits.max_manifest_bytes)
        entries = parse_index(document, f"{where}: index {manifest.digest}", limits)
        chosen = select_platform(entries, platform, f"{where}: index {manifest.digest}")
        manifest = client.fetch_manifest(ref.with_tag(None).with_digest(chosen.digest))
        if manifest.media_type in INDEX_TYPES:
            raise ImageSourceError(f"{where}: nested index {chosen.digest} is not supported")
    document = load_json(manifest.body, f"{where}: manifest", limits.max_manifest_bytes)
    media_type = manifest.media_type if manifest.media_type.startswith("application/") else ""
    parts = parse_manifest(document, f"{where}: manifest {manifest.digest}", limits, media_type)
    config = client.fetch_blob(ref, parts.config.digest, limits.max_config_bytes)
    blobs = [
        LayerBlob(
            digest=layer.digest,
            media_type=layer.media_type,
            size=layer.size,
            chunks=_opener(client, ref, layer.digest, where),
            name=f"{where} layer {i + 1}",
        )
        for i, layer in enumerate(parts.layers)
    ]
    return assemble(
        source=source,
        manifest_digest=manifest.digest,
        config_data=config,
        config_digest=parts.config.digest,
        blobs=blobs,
        limits=limits,
        index_digest=index_digest,
        tags=(ref.tag,) if ref.tag else (),
    )


def registry_layer(
    client: RegistryClient,
    text: str,
    *,
    index: int,
    digest: str,
    diff_id: str,
    media_type: str,
    size: int,
    limits: SourceLimits,
    history: HistoryEntry | None = None,
) -> Layer:
    """One layer of the image ``text`` (``HOST/REPO[:TAG]``) named by its blob digest, opened
    on its own, as :func:`open_registry_image` opens each layer: what a worker that was handed
    only the layer's descriptor fetches (``keelhaul fleet``)."""
    ref = parse_reference(text)
    where = f"registry {ref.registry} ({ref.familiar()})"
    return Layer(
        index=index,
        digest=digest,
        diff_id=diff_id,
        media_type=media_type,
        compressed_size=size,
        history=history,
        opener=verified_layer(
            _opener(client, ref, digest, where),
            name=f"{where}: layer {index + 1} ({digest})",
            digest=digest,
            diff_id=diff_id,
            media_type=media_type,
            declared_size=size,
            limits=limits,
        ),
    )


def _opener(
    client: RegistryClient, ref: Reference, digest: str, where: str
) -> Callable[[], contextlib.AbstractContextManager[Iterator[bytes]]]:
    @contextlib.contextmanager
    def chunks() -> Iterator[Iterator[bytes]]:
        with client.open_blob(ref, digest) as response:
            timeout = response.request.extensions.get("timeout", {}).get("read") or 30.0
            # each network read as it comes, so the pace is judged while bytes trickle in
            paced = stream_paced(response.iter_raw(), float(timeout), f"{where}: blob {digest}")
            yield _raw(_rechunked(paced), where, digest)

    return chunks


def _rechunked(parts: Iterable[bytes]) -> Iterator[bytes]:
    """``parts`` joined into pieces of about :data:`_CHUNK` bytes (the last may be shorter)."""
    pending: list[bytes] = []
    size = 0
    for part in parts:
        pending.append(part)
        size += len(part)
        if size >= _CHUNK:
            yield b"".join(pending)
            pending, size = [], 0
    if pending:
        yield b"".join(pending)


def _raw(parts: Iterable[bytes], where: str, digest: str) -> Iterator[bytes]:
    """The body as sent (no Content-Encoding undone: the blob is the bytes), with transport
    errors turned into one clear line."""
    try:
        yield from parts
    except httpx.HTTPError as err:
        reason = str(err)[:160] or type(err).__name__
        raise ImageSourceError(f"{where}: reading blob {digest} failed: {reason}") from None
