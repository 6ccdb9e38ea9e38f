"""Reading manifests, indexes and configs the same way whatever their source: bounded,
checked against their digests, their media types and their shape, then assembled into an
:class:`~keelhaul.image.model.Image`."""

from __future__ import annotations

import hashlib
import json
import platform as host_platform
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

from keelhaul.errors import KeelhaulError
from keelhaul.image.model import HistoryEntry, Image, Layer
from keelhaul.image.sources.streams import SourceLimits, verified_layer

__all__ = [
    "Descriptor",
    "ImageSourceError",
    "ManifestParts",
    "assemble",
    "check_digest",
    "host_platform_name",
    "load_json",
    "parse_descriptor",
    "parse_manifest",
    "select_platform",
]

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
INDEX_TYPES = frozenset({OCI_INDEX, DOCKER_LIST})
MANIFEST_TYPES = frozenset({OCI_MANIFEST, DOCKER_MANIFEST})
CONFIG_TYPES = frozenset(
    {"application/vnd.oci.image.config.v1+json", "application/vnd.docker.container.image.v1+json"}
)
LAYER_TYPES = frozenset(
    {
        "application/vnd.oci.image.layer.v1.tar",
        "application/vnd.oci.image.layer.v1.tar+gzip",
        "application/vnd.oci.image.layer.v1.tar+zstd",
        "application/vnd.oci.image.layer.nondistributable.v1.tar",
        "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
        "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
        "application/vnd.docker.image.rootfs.diff.tar",
        "application/vnd.docker.image.rootfs.diff.tar.gzip",
        "application/vnd.docker.image.rootfs.diff.tar.zstd",
        "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
    }
)
_DIGEST = re.compile(r"^(sha256:[0-9a-f]{64}|sha512:[0-9a-f]{128})$")
_ARCH = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64",
         "armv7l": "arm", "armv6l": "arm", "i686": "386", "i386": "386", "ppc64le": "ppc64le",
         "s390x": "s390x", "riscv64": "riscv64"}  # fmt: skip


class ImageSourceError(KeelhaulError):
    """An image cannot be opened: the source is missing, malformed or refused."""


@dataclass(frozen=True)
class Descriptor:
    media_type: str
    digest: str
    size: int
    platform: str | None = None
    annotations: Mapping[str, str] | None = None


@dataclass(frozen=True)
class ManifestParts:
    config: Descriptor
    layers: tuple[Descriptor, ...]


def host_platform_name() -> str:
    """This machine's platform as ``linux/<arch>[/variant]``."""
    machine = host_platform.machine().lower()
    arch = _ARCH.get(machine, machine)
    if machine == "armv7l":
        return "linux/arm/v7"
    if machine == "armv6l":
        return "linux/arm/v6"
    return f"linux/{arch}"


def valid_digest(text: object) -> bool:
    return isinstance(text, str) and _DIGEST.match(text) is not None


def digest_of(data: bytes, algorithm: str = "sha256") -> str:
    return f"{algorithm}:{hashlib.new(algorithm, data).hexdigest()}"


def check_digest(data: bytes, digest: str, where: str) -> None:
    got = digest_of(data, digest.partition(":")[0])
    if got != digest:
        raise ImageSourceError(f"{where}: the content hashes to {got}, not {digest}")


def load_json(data: bytes, where: str, limit: int) -> Any:
    if len(data) > limit:
        raise ImageSourceError(f"{where}: {len(data)} bytes is more than the {limit} allowed")
    try:
        return json.loads(data)
    except (ValueError, RecursionError) as err:
        raise ImageSourceError(f"{where}: not valid JSON ({_short(err)})") from None


def _short(err: Exception) -> str:
    return str(err).splitlines()[0][:120] if str(err) else type(err).__name__


def _object(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ImageSourceError(f"{where}: expected a JSON object")
    return value


def parse_descriptor(value: Any, where: str, limits: SourceLimits) -> Descriptor:
    entry = _object(value, where)
    media_type = entry.get("mediaType", "")
    digest = entry.get("digest")
    size = entry.get("size")
    if not isinstance(media_type, str):
        raise ImageSourceError(f"{where}: mediaType is not a string")
    if not valid_digest(digest):
        raise ImageSourceError(f"{where}: invalid digest {str(digest)[:80]!r}")
    if isinstance(size, bool) or not isinstance(size, int) or size < 0:
        raise ImageSourceError(f"{where}: invalid size {str(size)[:40]!r}")
    if size > limits.max_blob_bytes:
        raise ImageSourceError(
            f"{where}: size {size} is beyond the {limits.max_blob_bytes}-byte blob limit"
        )
    platform = None
    raw = entry.get("platform")
    if isinstance(raw, dict) and isinstance(raw.get("os"), str):
        platform = f"{raw.get('os')}/{raw.get('architecture', '')}"
        if isinstance(raw.get("variant"), str) and raw["variant"]:
            platform += f"/{raw['variant']}"
    annotations = entry.get("annotations")
    if not isinstance(annotations, dict):
        annotations = None
    assert isinstance(digest, str)
    return Descriptor(media_type, digest, size, platform, annotations)


def parse_index(document: Any, where: str, limits: SourceLimits) -> list[Descriptor]:
    manifests = _object(document, where).get("manifests")
    if not isinstance(manifests, list):
        raise ImageSourceError(f"{where}: no 'manifests' list")
    if len(manifests) > limits.max_layers:
        raise ImageSourceError(f"{where}: {len(manifests)} manifests is too many")
    return [parse_descriptor(m, f"{where} manifests[{i}]", limits) for i, m in enumerate(manifests)]


def platform_matches(wanted: str, offered: str) -> bool:
    want = wanted.split("/")
    have = offered.split("/")
    if want[:2] != have[:2]:
        return False
    if len(want) > 2:
        return want[2] == (have[2] if len(have) > 2 else ("v8" if want[1] == "arm64" else ""))
    return True


def select_platform(entries: Sequence[Descriptor], wanted: str, where: str) -> Descriptor:
    """The manifest for ``wanted`` in an index; an error lists what is there."""
    images = [e for e in entries if e.media_type in MANIFEST_TYPES or not e.media_type]
    # Attestation manifests (BuildKit's "unknown/unknown") are not images.
    candidates = [e for e in images if e.platform and not e.platform.startswith("unknown/")]
    matches = [e for e in candidates if e.platform and platform_matches(wanted, e.platform)]
    if matches:
        # Prefer an exact variant match, else the first (e.g. arm64 without a variant).
        exact = [e for e in matches if e.platform == wanted]
        return (exact or matches)[0]
    if not candidates and len(images) == 1:
        return images[0]
    available = ", ".join(sorted({e.platform for e in candidates if e.platform})) or "none"
    raise ImageSourceError(f"{where}: no image for platform {wanted} (available: {available})")


def parse_manifest(
    document: Any, where: str, limits: SourceLimits, media_type: str = ""
) -> ManifestParts:
    manifest = _object(document, where)
    kind = media_type or manifest.get("mediaType") or OCI_MANIFEST
    if not isinstance(kind, str):
        raise ImageSourceError(f"{where}: mediaType is not a string")
    if kind in INDEX_TYPES:
        raise ImageSourceError(f"{where}: an index where a manifest was expected")
    if kind not in MANIFEST_TYPES:
        raise ImageSourceError(f"{where}: unsupported manifest media type {str(kind)[:100]!r}")
    if manifest.get("schemaVersion") != 2:
        raise ImageSourceError(f"{where}: schemaVersion is not 2")
    config = parse_descriptor(manifest.get("config"), f"{where} config", limits)
    if config.media_type not in CONFIG_TYPES:
        raise ImageSourceError(
            f"{where}: config media type {config.media_type[:100]!r} is not an image config "
            "(an artifact, not a container image?)"
        )
    if config.size > limits.max_config_bytes:
        raise ImageSourceError(
            f"{where}: config size {config.size} is beyond the {limits.max_config_bytes}-byte limit"
        )
    raw_layers = manifest.get("layers")
    if not isinstance(raw_layers, list):
        raise ImageSourceError(f"{where}: no 'layers' list")
    if len(raw_layers) > limits.max_layers:
        raise ImageSourceError(
            f"{where}: {len(raw_layers)} layers is more than the {limits.max_layers} allowed"
        )
    layers = tuple(
        parse_descriptor(entry, f"{where} layers[{i}]", limits)
        for i, entry in enumerate(raw_layers)
    )
    for i, layer in enumerate(layers):
        if layer.media_type not in LAYER_TYPES:
            raise ImageSourceError(
                f"{where}: layer {i + 1} has media type {layer.media_type[:100]!r}, not a layer tar"
            )
    return ManifestParts(config, layers)


def parse_config(data: bytes, where: str, limits: SourceLimits) -> dict[str, Any]:
    config = _object(load_json(data, where, limits.max_config_bytes), where)
    rootfs = config.get("rootfs")
    diff_ids = rootfs.get("diff_ids") if isinstance(rootfs, dict) else None
    if not isinstance(diff_ids, list) or not all(valid_digest(d) for d in diff_ids):
        raise ImageSourceError(f"{where}: rootfs.diff_ids is missing or not a list of digests")
    history = config.get("history", [])
    if not isinstance(history, list) or not all(isinstance(h, dict) for h in history):
        raise ImageSourceError(f"{where}: history is not a list of objects")
    _check_run_config(config.get("config"), where)
    return config


def _strings(value: object) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


#: The fields of a config's ``config`` object keelhaul reads, and the JSON type each must have
#: (null is always allowed, as the image spec's omitempty fields are).
_RUN_CONFIG_FIELDS: dict[str, tuple[str, Callable[[object], bool]]] = {
    "Env": ("a list of strings", _strings),
    "Cmd": ("a list of strings", _strings),
    "Entrypoint": ("a list of strings", _strings),
    "Shell": ("a list of strings", _strings),
    "User": ("a string", lambda v: isinstance(v, str)),
    "WorkingDir": ("a string", lambda v: isinstance(v, str)),
    "StopSignal": ("a string", lambda v: isinstance(v, str)),
    "Labels": ("an object of strings",
               lambda v: isinstance(v, dict) and all(isinstance(x, str) for x in v.values())),
    "ExposedPorts": ("an object", lambda v: isinstance(v, dict)),
    "Volumes": ("an object", lambda v: isinstance(v, dict)),
    "Healthcheck": ("an object", lambda v: isinstance(v, dict)),
}  # fmt: skip


def _check_run_config(run: object, where: str) -> None:
    """The image's run configuration holds what the image spec says, or the image is refused
    here, once, with the field named (every reader of it can then trust the types)."""
    if run is None:
        return
    if not isinstance(run, dict):
        raise ImageSourceError(f"{where}: config is not an object")
    for name, (kind, holds) in _RUN_CONFIG_FIELDS.items():
        value = run.get(name)
        if value is not None and not holds(value):
            raise ImageSourceError(f"{where}: config.{name} is not {kind}")


def _history(config: Mapping[str, Any]) -> tuple[HistoryEntry, ...]:
    entries: list[HistoryEntry] = []
    for raw in config.get("history", []):
        created = raw.get("created")
        comment = raw.get("comment")
        entries.append(
            HistoryEntry(
                created_by=str(raw.get("created_by") or ""),
                empty_layer=bool(raw.get("empty_layer", False)),
                created=created if isinstance(created, str) else None,
                comment=comment if isinstance(comment, str) else None,
            )
        )
    return tuple(entries)


def _platform_of(config: Mapping[str, Any]) -> str:
    os_name = config.get("os") or "linux"
    arch = config.get("architecture") or "unknown"
    variant = config.get("variant")
    text = f"{os_name}/{arch}"
    return f"{text}/{variant}" if isinstance(variant, str) and variant else text


@dataclass(frozen=True)
class LayerBlob:
    """What a source knows of one layer blob, and how to read its bytes."""

    digest: str | None
    """The compressed digest when known (None: a docker-archive legacy layer.tar)."""
    media_type: str
    size: int
    chunks: Callable[[], AbstractContextManager[Iterator[bytes]]]
    name: str
    """How an error names the blob (``docker-archive:x.tar layer 3 (abc/layer.tar)``)."""
    stamp: Callable[[], str | None] | None = None
    """The stamp of the file holding the blob (:meth:`BlobStore.stamp`), for local blobs."""


def assemble(
    *,
    source: str,
    manifest_digest: str | None,
    config_data: bytes,
    config_digest: str,
    blobs: Sequence[LayerBlob],
    limits: SourceLimits,
    index_digest: str | None = None,
    tags: tuple[str, ...] = (),
) -> Image:
    config = parse_config(config_data, f"{source}: config {config_digest}", limits)
    diff_ids: list[str] = config["rootfs"]["diff_ids"]
    if len(diff_ids) != len(blobs):
        raise ImageSourceError(
            f"{source}: the config lists {len(diff_ids)} diff_ids but the manifest "
            f"{len(blobs)} layers"
        )
    history = _history(config)
    made = [h for h in history if not h.empty_layer]
    aligned = len(made) == len(blobs)
    layers: list[Layer] = []
    for index, (blob, diff_id) in enumerate(zip(blobs, diff_ids, strict=True)):
        digest = blob.digest or diff_id
        layers.append(
            Layer(
                index=index,
                digest=digest,
                diff_id=diff_id,
                media_type=blob.media_type,
                compressed_size=blob.size,
                history=made[index] if aligned else None,
                stamp=blob.stamp,
                opener=verified_layer(
                    blob.chunks,
                    name=f"{source}: layer {index + 1} ({digest})",
                    digest=blob.digest,
                    diff_id=diff_id,
                    media_type=blob.media_type,
                    declared_size=blob.size,
                    limits=limits,
                ),
                blob=blob.chunks,
            )
        )
    return Image(
        source=source,
        manifest_digest=manifest_digest,
        config_digest=config_digest,
        config=config,
        layers=tuple(layers),
        history=history,
        platform=_platform_of(config),
        index_digest=index_digest,
        tags=tags,
    )
