"""What runs on the Dask workers: one task per layer, one per image.

A layer task is keyed by the layer's DiffID and the analyzers' versions
(:func:`layer_key`), so a base layer that a thousand images share is fetched and walked
once per scan, whichever image asked first; Dask hands the same result to every image task
that names the key. The layer's facts (every path's metadata and content hash, the heads of
the files the checks read, secrets in its files) are the layer's own; what depends on the
image (files that later layers hide, duplicates across layers, the base, the findings) is
computed by the image task, which merges its layers' facts in order with the image's config
exactly as ``keelhaul image`` does (:func:`keelhaul.image.analysis.assemble`).

With a vulnerability database, the layer tasks also gather each layer's package facts
(:data:`keelhaul.sbom.image_files.PACKAGE_FACTS`) in the same walk, and one task per base
image in use (keyed by its top layer) catalogs the packages of the base's layers from those
facts and matches them against the database (:func:`base_vulnerabilities`): once per base,
whatever the number of images built on it.

Everything handed to a task is plain, picklable data: the worker opens its own registry
connection (with its own credentials) and fetches the blob itself. The local engine's images
(``docker:``) come from one save the scan spilled on this host (:class:`SavedImage`): the
worker reads the layer in place from that file.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from keelhaul.fleet.facts import LayerScanRecord
from keelhaul.image.analysis import (
    LayerScan,
    Options,
    analyzers,
    assemble,
    relocated,
    scan_layer,
)
from keelhaul.image.layer_cache import LayerCache, cache_path
from keelhaul.image.model import HistoryEntry, Image, Layer, LayerError
from keelhaul.image.report import ImageReport
from keelhaul.image.sources.blobstore import ArchiveStore
from keelhaul.image.sources.docker_archive import open_save
from keelhaul.image.sources.registry_source import registry_layer
from keelhaul.image.sources.streams import SourceLimits
from keelhaul.registry import RegistryClient

__all__ = [
    "Connection",
    "ImageSpec",
    "LayerFailed",
    "LayerSpec",
    "SavedImage",
    "analyse_layer",
    "analyser_version",
    "assemble_image",
    "base_key",
    "base_vulnerabilities",
    "layer_key",
]


@dataclass(frozen=True)
class Connection:
    """How a worker reaches registries."""

    insecure: tuple[str, ...] = ()
    limits: SourceLimits = field(default_factory=SourceLimits)
    layer_cache: bool = True
    """Keep each layer's scan in the worker's per-layer cache (``$KEELHAUL_CACHE_DIR``)
    and take it from there next time: a later scan reads only new layers."""


@dataclass(frozen=True)
class LayerSpec:
    """One layer as the manifest and config describe it."""

    index: int
    digest: str
    diff_id: str
    media_type: str
    size: int
    history: HistoryEntry | None = None


@dataclass(frozen=True)
class SavedImage:
    """An image in a ``docker save`` archive on this host (the scan's save of the engine's
    images): where a worker reads its layers."""

    archive: str
    name: str
    platform: str


@dataclass(frozen=True)
class ImageSpec:
    """One image (one platform of a tag) as its manifest and config describe it."""

    source: str
    """``registry:HOST/REPO:TAG``: how reports name it."""
    reference: str
    """``HOST/REPO:TAG``: where its blobs are fetched from."""
    repository: str
    tag: str
    platform: str
    manifest_digest: str | None
    index_digest: str | None
    config_digest: str
    config: dict[str, Any]
    history: tuple[HistoryEntry, ...]
    layers: tuple[LayerSpec, ...]
    saved: SavedImage | None = None
    """Set for the local engine's images: the save their layers are read from."""

    @property
    def location(self) -> str | SavedImage:
        """Where a layer task reads this image's layers: the registry reference, or the save."""
        return self.saved if self.saved is not None else self.reference

    @property
    def created(self) -> str:
        value = self.config.get("created")
        return value if isinstance(value, str) else ""

    @property
    def compressed_size(self) -> int:
        return sum(layer.size for layer in self.layers)

    @classmethod
    def of(
        cls,
        image: Image,
        source: str,
        reference: str,
        repository: str,
        tag: str,
        saved: SavedImage | None = None,
    ) -> ImageSpec:
        return cls(
            source=source, reference=reference, repository=repository, tag=tag,
            platform=image.platform, manifest_digest=image.manifest_digest,
            index_digest=image.index_digest, config_digest=image.config_digest,
            config=image.config, history=image.history,
            layers=tuple(LayerSpec(layer.index, layer.digest, layer.diff_id, layer.media_type,
                                   layer.compressed_size, layer.history)
                         for layer in image.layers),
            saved=saved,
        )  # fmt: skip

    def image(self) -> Image:
        """The :class:`Image` the report is assembled for; its layers are never opened here
        (their scans come from the layer tasks)."""
        layers = tuple(
            Layer(spec.index, spec.digest, spec.diff_id, spec.media_type, spec.size,
                  spec.history, _unopened(spec))
            for spec in self.layers
        )  # fmt: skip
        return Image(
            source=self.source, manifest_digest=self.manifest_digest,
            config_digest=self.config_digest, config=self.config, layers=layers,
            history=self.history, platform=self.platform, index_digest=self.index_digest,
            tags=(self.tag,) if self.tag else (),
        )  # fmt: skip


def _unopened(spec: LayerSpec) -> Any:
    def opener() -> AbstractContextManager[IO[bytes]]:
        raise LayerError(f"layer {spec.index + 1} ({spec.digest}): read by its layer task")

    return opener


def analyser_version(options: Options) -> str:
    """The analyzers a layer task runs, with their versions (``filesystem-1+secrets-2``)."""
    return "+".join(f"{a.name}-{a.version}" for a in analyzers(options))


def layer_key(diff_id: str, options: Options) -> str:
    """The Dask key of a layer's task: the same layer and analyzers, the same key."""
    return f"keelhaul-layer-{analyser_version(options)}-{diff_id}"


_clients = threading.local()


def _client(connection: Connection) -> RegistryClient:
    """This worker thread's registry client for ``connection``: its connections and tokens
    serve every layer task the thread runs (a new client per task costs more than a small
    layer's walk)."""
    made: dict[Connection, RegistryClient] | None = getattr(_clients, "made", None)
    if made is None:
        made = _clients.made = {}
    client = made.get(connection)
    if client is None:
        client = made[connection] = RegistryClient(
            insecure_registries=connection.insecure, timeout=connection.limits.registry_timeout
        )
    return client


def _cache(connection: Connection) -> LayerCache | None:
    """This worker thread's per-layer cache (SQLite connections stay in their thread)."""
    if not connection.layer_cache:
        return None
    path = cache_path()
    made: dict[Path, LayerCache] | None = getattr(_clients, "caches", None)
    if made is None:
        made = _clients.caches = {}
    cache = made.get(path)
    if cache is None:
        cache = made[path] = LayerCache(path)
    return cache


def _saved_layer(saved: SavedImage, layer: LayerSpec, connection: Connection) -> Layer:
    """The layer at ``layer.index`` of ``saved``, read in place from its archive (each worker
    thread indexes the archive's members once)."""
    stores: dict[str, ArchiveStore] | None = getattr(_clients, "saves", None)
    if stores is None:
        stores = _clients.saves = {}
    store = stores.get(saved.archive)
    if store is None:
        store = stores[saved.archive] = ArchiveStore(
            Path(saved.archive), f"the engine's save ({saved.archive})", connection.limits
        )
    image = open_save(store, source=f"docker:{saved.name}", name=saved.name,
                      platform=saved.platform, limits=connection.limits)  # fmt: skip
    if layer.index >= len(image.layers) or image.layers[layer.index].diff_id != layer.diff_id:
        raise LayerError(f"{layer_name_of(layer)}: not layer {layer.index + 1} of {saved.name} "
                         "in the engine's save")  # fmt: skip
    return image.layers[layer.index]


def analyse_layer(
    reference: str | SavedImage, layer: LayerSpec, options: Options, connection: Connection
) -> LayerScan:
    """Fetch the layer's blob from the image ``reference``'s repository (or read it from the
    engine's save) and walk it once (digest and DiffID verified as it streams). Errors are
    one line naming the layer."""
    try:
        cache, record = _cache(connection), LayerScanRecord(analyser_version(options))
        if cache is not None:
            found = cache.lookup(layer.diff_id, record)
            if found is not None:
                return found
        if isinstance(reference, SavedImage):
            opened = _saved_layer(reference, layer, connection)
        else:
            opened = registry_layer(
                _client(connection), reference, index=layer.index, digest=layer.digest,
                diff_id=layer.diff_id, media_type=layer.media_type, size=layer.size,
                limits=connection.limits, history=layer.history,
            )  # fmt: skip
        scan = scan_layer(opened, options)
        if cache is not None:  # stored once read to its end: the digests were verified
            cache.store(layer.diff_id, record, relocated(scan, 0))
        return scan
    except LayerError as err:
        raise LayerFailed(str(err)) from None
    except Exception as err:  # any other failure: one picklable line naming the layer
        raise LayerFailed(f"{layer_name_of(layer)}: {err or type(err).__name__}") from None


class LayerFailed(Exception):
    """A layer task's failure, as one line; a plain exception so that it crosses process
    boundaries (pickled) whatever the error it stands for."""


def layer_name_of(layer: LayerSpec) -> str:
    return f"layer {layer.diff_id}"


def assemble_image(spec: ImageSpec, options: Options, *scans: LayerScan) -> ImageReport:
    """``keelhaul image``'s report on ``spec`` from its layers' scans (in order)."""
    placed: Iterator[LayerScan] = (relocated(scan, i) for i, scan in enumerate(scans))
    return assemble(spec.image(), placed, options)


def base_key(top: str, options: Options, database: str) -> str:
    """The Dask key of a base's vulnerability task: the base's top layer, the analyzers and
    the database."""
    named = hashlib.sha256(database.encode("utf-8", "surrogateescape")).hexdigest()[:12]
    return f"keelhaul-base-{analyser_version(options)}-{named}-{top}"


def base_vulnerabilities(
    database: str, diff_ids: tuple[str, ...], *scans: LayerScan
) -> dict[str, Any]:
    """The packages of a base image's layers (``diff_ids``, from the bottom; their scans with
    the package facts) and the vulnerabilities the database ``database`` knows in them:
    ``{"packages": N, "counts": {level: n}, "total": N}``."""
    from keelhaul.sbom.catalog import catalog
    from keelhaul.sbom.image_files import ImageFiles, LayerFacts
    from keelhaul.vulns import database as vulns_database
    from keelhaul.vulns import scan as vulns_scan

    layers: list[tuple[str, LayerFacts]] = []
    for diff_id, scan in zip(diff_ids, scans, strict=True):
        if not isinstance(scan.facts, LayerFacts):
            raise LayerFailed(f"layer {diff_id}: its scan holds no package facts")
        layers.append((diff_id, scan.facts))
    try:
        inventory = catalog(ImageFiles(layers), lock_files=False)
        with vulns_database.Database(Path(database)) as db:
            found = vulns_scan.scan(db, inventory).vulnerabilities
    except Exception as err:  # one picklable line, as for a layer
        raise LayerFailed(f"base {diff_ids[-1]}: {err or type(err).__name__}") from None
    return {"packages": len(inventory.packages), "counts": vulns_scan.summary(found),
            "total": len(found)}  # fmt: skip
