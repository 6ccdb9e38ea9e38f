"""``keelhaul fleet scan``: open every image's manifest and config, run the layer and image
tasks on Dask, store the snapshot.

The manifests and configs (small documents) are read here, by the client; the layers are
fetched by the workers (:mod:`keelhaul.fleet.work`). Each unique layer DiffID is one task,
submitted once whatever the number of images holding it. A task that fails is retried
(``retries``); a layer that still fails marks every image holding it incomplete, with the
reason, and the scan goes on. A worker that dies has its tasks run again elsewhere (Dask's
own recovery).

The local engine's images (``docker:`` sources) are saved by the engine once, all together,
into one temporary archive on this host (a layer they share is written once), which the
workers read in place; they therefore need workers on this host: the local cluster, or a
scheduler on loopback.

With a vulnerability database (``vulnerability_db``), each base image in use (told from the
history, as ``keelhaul image`` tells it) gets one more task, keyed by its top layer, that
matches the packages of its layers against the database: once per base, not per image.
"""

from __future__ import annotations

import dataclasses
import os
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from keelhaul.errors import KeelhaulError
from keelhaul.fleet import sources as fleet_sources
from keelhaul.fleet.sources import ENGINE
from keelhaul.fleet.store import LEVELS, Store
from keelhaul.fleet.work import (
    Connection,
    ImageSpec,
    SavedImage,
    analyse_layer,
    analyser_version,
    assemble_image,
    base_key,
    base_vulnerabilities,
    layer_key,
)
from keelhaul.image import base as bases
from keelhaul.image import cost as cost_model
from keelhaul.image.analysis import Options
from keelhaul.image.report import ImageReport
from keelhaul.image.sources import host_platform_name
from keelhaul.image.sources.manifests import ImageSourceError, platform_matches
from keelhaul.image.sources.registry_source import open_registry_image
from keelhaul.registry import RegistryClient, RegistryError, parse_reference

__all__ = ["ScanError", "ScanResult", "ScanSettings", "scan"]

#: Manifests and configs read at once by the client.
OPENING_THREADS = 8


class ScanError(KeelhaulError):
    """The scan cannot start (no Dask, no scheduler, nothing to scan)."""


@dataclass(frozen=True)
class ScanSettings:
    platforms: tuple[str, ...] = ()
    """``os/arch[/variant]`` to expand manifest lists to; default the host's."""
    workers: int | None = None
    """Workers of the local cluster; default one per core."""
    scheduler: str | None = None
    """A Dask scheduler address (``tcp://host:8786``) instead of a local cluster."""
    processes: bool = True
    """Local workers as processes (False: threads of this process, for tests)."""
    retries: int = 2
    connection: Connection = field(default_factory=Connection)
    options: Options = field(default_factory=Options)
    vulnerability_db: str | None = None
    """A ``keelhaul db`` vulnerability database (a path every worker can read): the base
    images' packages are matched against it. None: no vulnerability counts."""


@dataclass(frozen=True)
class ScanResult:
    snapshot: int
    images: int
    incomplete: int
    layer_tasks: int
    """Layer tasks submitted: the unique DiffIDs of the images opened."""
    layer_references: int
    """Layers of every image, counted once per image holding them."""
    seconds: float


@dataclass
class _Done:
    spec: ImageSpec | None
    source: str
    repository: str
    tag: str
    report: ImageReport | None = None
    error: str | None = None


def scan(
    sources: Sequence[str],
    selection: fleet_sources.Selection,
    store: Store,
    settings: ScanSettings,
    progress: Callable[[str], None] = lambda _: None,
) -> ScanResult:
    started = datetime.now(UTC)
    clock = time.monotonic()
    if settings.vulnerability_db is not None and settings.options.facts is None:
        from keelhaul.sbom.image_files import PACKAGE_FACTS

        facts = dataclasses.replace(settings.options, facts=PACKAGE_FACTS)
        settings = dataclasses.replace(settings, options=facts)
    platforms = settings.platforms or (host_platform_name(),)
    with RegistryClient(
        insecure_registries=settings.connection.insecure,
        timeout=settings.connection.limits.registry_timeout,
    ) as client:
        references: list[str] = []
        for source in sources:
            references += fleet_sources.expand(client, source, selection)
        references = list(dict.fromkeys(references))
        progress(f"{len(references)} reference(s) from {len(sources)} source(s)")
        engine = [r.removeprefix(ENGINE) for r in references if r.startswith(ENGINE)]
        remote = [r for r in references if not r.startswith(ENGINE)]
        specs, failed = _open_all(client, remote, platforms, settings)
    if engine and settings.scheduler and not _on_this_host(settings.scheduler):
        raise ScanError(f"docker: sources are read from this host's engine: their workers must "
                        f"run here (the local cluster, not --scheduler {settings.scheduler})")  # fmt: skip
    folder = tempfile.TemporaryDirectory(prefix="keelhaul-fleet-") if engine else None
    try:
        if folder is not None:
            saved, broken = _open_engine(engine, Path(folder.name), platforms[0], settings,
                                         progress)  # fmt: skip
            specs, failed = specs + saved, failed + broken
        specs = _latest(specs, selection.latest)
        if not specs and not failed:
            raise ScanError("nothing to scan: the sources and patterns name no image")
        done, base_scans = _run(specs, settings, progress)
    finally:
        if folder is not None:
            folder.cleanup()
    done += failed
    version = analyser_version(settings.options)
    unique = {layer.diff_id for spec in specs for layer in spec.layers}
    seconds = time.monotonic() - clock
    snapshot = _store(store, started, sources, version, len(unique), seconds, done, base_scans,
                      settings.vulnerability_db)  # fmt: skip
    incomplete = sum(1 for d in done if d.report is None)
    return ScanResult(snapshot, len(done), incomplete, len(unique),
                      sum(len(s.layers) for s in specs), seconds)  # fmt: skip


def _open_all(
    client: RegistryClient,
    references: list[str],
    platforms: Sequence[str],
    settings: ScanSettings,
) -> tuple[list[ImageSpec], list[_Done]]:
    """Every reference's manifest and config, one per chosen platform it offers (a few
    references at once: these are small requests, and a registry answers them in parallel)."""
    specs: list[ImageSpec] = []
    failed: list[_Done] = []
    with ThreadPoolExecutor(max_workers=OPENING_THREADS, thread_name_prefix="manifest") as pool:
        for opened, broken in pool.map(
            lambda reference: _open_one(client, reference, platforms, settings), references
        ):
            specs += opened
            failed += broken
    return specs, failed


def _open_one(
    client: RegistryClient, reference: str, platforms: Sequence[str], settings: ScanSettings
) -> tuple[list[ImageSpec], list[_Done]]:
    specs: list[ImageSpec] = []
    failed: list[_Done] = []
    ref = parse_reference(reference)
    repository, tag = ref.repository, ref.tag or ref.digest or ""
    seen: set[str | None] = set()
    for platform in platforms:
        source = f"registry:{reference}"
        try:
            image = open_registry_image(client, reference, source=source, platform=platform,
                                        limits=settings.connection.limits)  # fmt: skip
        except ImageSourceError as err:
            if f"no image for platform {platform} " in str(err):
                continue  # an index without this platform
            failed.append(_Done(None, source, repository, tag, error=str(err)))
            break
        except (RegistryError, KeelhaulError) as err:
            failed.append(_Done(None, source, repository, tag, error=str(err)))
            break
        if image.manifest_digest in seen:
            continue
        if image.index_digest is None and not platform_matches(platform, image.platform):
            continue  # a single-platform image of another platform
        seen.add(image.manifest_digest)
        if len(platforms) > 1:
            source = f"{source} ({image.platform})"
        specs.append(ImageSpec.of(image, source, reference, repository, tag))
    return specs, failed


def _on_this_host(scheduler: str) -> bool:
    scheme, _, rest = scheduler.partition("://")
    if scheme == "inproc":
        return True
    host = rest.rpartition(":")[0] if rest.count(":") == 1 or rest.startswith("[") else rest
    return host.strip("[]") in ("127.0.0.1", "localhost", "::1")


def _open_engine(
    names: list[str],
    folder: Path,
    platform: str,
    settings: ScanSettings,
    progress: Callable[[str], None],
) -> tuple[list[ImageSpec], list[_Done]]:
    """The engine's images ``names`` saved together into ``folder`` (each shared layer once),
    and each one's manifest and config read from that save."""
    from keelhaul.image.sources.blobstore import ArchiveStore
    from keelhaul.image.sources.docker_archive import open_save
    from keelhaul.image.sources.engine import save_images

    archive = folder / "engine-save.tar"
    limits = settings.connection.limits
    try:
        written = save_images(names, archive, limits)
        store = ArchiveStore(archive, "the engine's save", limits)
    except (RegistryError, KeelhaulError) as err:
        return [], [_Done(None, f"{ENGINE}{name}", *fleet_sources.engine_name(name),
                          error=str(err)) for name in names]  # fmt: skip
    progress(f"the engine saved {len(names)} image(s) in {written:,} bytes")
    specs: list[ImageSpec] = []
    failed: list[_Done] = []
    for name in names:
        source = f"{ENGINE}{name}"
        repository, tag = fleet_sources.engine_name(name)
        try:
            image = open_save(store, source=source, name=name, platform=platform, limits=limits)
        except (RegistryError, KeelhaulError) as err:
            failed.append(_Done(None, source, repository, tag, error=str(err)))
            continue
        saved = SavedImage(str(archive), name, platform)
        specs.append(ImageSpec.of(image, source, source, repository, tag, saved))
    return specs, failed


def _latest(specs: list[ImageSpec], latest: int | None) -> list[ImageSpec]:
    """Per repository, the images of the ``latest`` most recently created tags."""
    if latest is None:
        return specs
    by_repo: dict[str, dict[str, str]] = {}
    for spec in specs:
        tags = by_repo.setdefault(spec.repository, {})
        tags[spec.tag] = max(tags.get(spec.tag, ""), spec.created)
    kept: set[tuple[str, str]] = set()
    for repository, tags in by_repo.items():
        ordered = sorted(tags.items(), key=lambda item: (item[1], item[0]), reverse=True)
        kept |= {(repository, tag) for tag, _ in ordered[: max(latest, 0)]}
    return [s for s in specs if (s.repository, s.tag) in kept]


def _client(settings: ScanSettings) -> tuple[Any, Any]:
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise ScanError("keelhaul fleet needs Dask: pip install 'keelhaul[fleet]'") from None
    if settings.scheduler:
        try:
            return Client(settings.scheduler, timeout=30), None
        except (OSError, TimeoutError) as err:
            raise ScanError(f"--scheduler {settings.scheduler}: cannot connect: {err}") from None
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    workers = settings.workers or cores or 1
    cluster = LocalCluster(
        n_workers=workers, threads_per_worker=1, processes=settings.processes,
        dashboard_address=":0", silence_logs=50,
    )  # fmt: skip
    return Client(cluster), cluster


def base_chain(spec: ImageSpec) -> tuple[str, ...]:
    """The DiffIDs of the image's base layers, from the bottom (empty when the history does
    not tell the base): what ``keelhaul image`` reports as the base."""
    history = [(h.created_by, h.empty_layer) for h in spec.history]
    count, _ = bases.base_layers(history, len(spec.layers))
    return tuple(layer.diff_id for layer in spec.layers[: count or 0])


def _run(
    specs: list[ImageSpec], settings: ScanSettings, progress: Callable[[str], None]
) -> tuple[list[_Done], dict[str, dict[str, Any]]]:
    if not specs:
        return [], {}
    from distributed import as_completed

    dask, cluster = _client(settings)
    options, connection = settings.options, settings.connection
    try:
        layers: dict[str, Any] = {}
        users: Counter[str] = Counter()
        for spec in specs:
            for layer in spec.layers:
                users[layer.diff_id] += 1
                if layer.diff_id not in layers:
                    layers[layer.diff_id] = dask.submit(
                        analyse_layer, spec.location, layer, options, connection,
                        key=layer_key(layer.diff_id, options), retries=settings.retries,
                    )  # fmt: skip
        images = {
            dask.submit(
                assemble_image, spec, options, *(layers[layer.diff_id] for layer in spec.layers),
                key=f"keelhaul-image-{at}-{spec.manifest_digest}", retries=settings.retries,
            ): spec
            for at, spec in enumerate(specs)
        }  # fmt: skip
        base_futures: dict[Any, str] = {}
        if settings.vulnerability_db is not None:
            chains = {chain[-1]: chain for chain in map(base_chain, specs) if chain}
            base_futures = {
                dask.submit(
                    base_vulnerabilities, settings.vulnerability_db, chain,
                    *(layers[diff_id] for diff_id in chain),
                    key=base_key(top, options, settings.vulnerability_db),
                    retries=settings.retries,
                ): top
                for top, chain in chains.items()
            }  # fmt: skip
        base_scans: dict[str, dict[str, Any]] = {}
        total_layers, total_images = len(layers), len(images)
        layer_futures = set(layers.values())
        progress(f"{total_images} image(s), {total_layers} unique layer(s) of "
                 f"{sum(users.values())} on {_describe(dask)}")  # fmt: skip
        layers_done = images_done = 0
        done: list[_Done] = []
        last = 0.0
        for future in as_completed([*layer_futures, *images, *base_futures]):
            if future in layer_futures:
                layers_done += 1
            elif future in base_futures:
                top = base_futures[future]
                if future.status == "finished":
                    base_scans[top] = future.result()
                else:
                    progress(f"base {top[:19]}: no vulnerability counts: "
                             f"{_reason(_failure(future))}")  # fmt: skip
            else:
                images_done += 1
                spec = images[future]
                outcome = _Done(spec, spec.source, spec.repository, spec.tag)
                if future.status == "finished":
                    outcome.report = future.result()
                else:
                    outcome.error = _reason(_failure(future))
                done.append(outcome)
                for layer in spec.layers:  # a layer no image waits for is released
                    users[layer.diff_id] -= 1
                    if not users[layer.diff_id]:
                        layers.pop(layer.diff_id, None)
            now = time.monotonic()
            if now - last >= 1.0 or images_done == total_images:
                progress(
                    f"layers {layers_done}/{total_layers}, images {images_done}/{total_images}"
                )
                last = now
        order = {spec.source: at for at, spec in enumerate(specs)}
        done.sort(key=lambda d: order.get(d.source, 0))
        return done, base_scans
    finally:
        dask.close()
        if cluster is not None:
            cluster.close()


def _describe(dask: Any) -> str:
    workers = len(dask.scheduler_info().get("workers", {}))
    return f"{workers} Dask worker(s) at {dask.scheduler.address}"


def _failure(future: Any) -> BaseException | None:
    try:
        failure: BaseException | None = future.exception()
    except Exception as err:  # cancelled (its scheduler went away)
        failure = err
    return failure


def _reason(error: BaseException | None) -> str:
    text = str(error).strip() if error is not None else ""
    return (text.splitlines()[0] if text else type(error).__name__)[:500]


def _store(
    store: Store,
    started: datetime,
    sources: Sequence[str],
    version: str,
    layer_tasks: int,
    seconds: float,
    done: list[_Done],
    base_scans: dict[str, dict[str, Any]],
    vulnerability_db: str | None,
) -> int:
    finished = datetime.now(UTC)
    with store.transaction():
        snapshot = store.insert(
            "INSERT INTO snapshots (started, finished, sources, analyzers, layer_tasks, seconds,"
            " vulnerability_db) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (started.isoformat(), finished.isoformat(), "\n".join(sources), version,
             layer_tasks, round(seconds, 3), vulnerability_db),
        )  # fmt: skip
        layer_rows: dict[str, tuple[int, int, int]] = {}
        for outcome in done:
            _store_image(store, snapshot, outcome)
            if outcome.report is not None:
                for layer in outcome.report.layers:
                    layer_rows.setdefault(
                        layer.diff_id, (layer.tar_size, layer.content_size, layer.entries)
                    )
        store.many(
            "INSERT INTO layers (snapshot_id, diff_id, tar_size, content_size, entries)"
            " VALUES (?, ?, ?, ?, ?)",
            [(snapshot, diff_id, *sizes) for diff_id, sizes in sorted(layer_rows.items())],
        )
        store.many(
            "INSERT INTO base_vulnerabilities (snapshot_id, base_top, packages, "
            + ", ".join(f"level_{level}" for level in LEVELS)
            + ") VALUES (?, ?, ?, " + ", ".join("?" for _ in LEVELS) + ")",
            [(snapshot, top, found["packages"], *(found["counts"].get(level, 0) for level in LEVELS))
             for top, found in sorted(base_scans.items())],
        )  # fmt: skip
    return snapshot


def _store_image(store: Store, snapshot: int, outcome: _Done) -> None:
    spec, report = outcome.spec, outcome.report
    values: dict[str, Any] = {
        "snapshot_id": snapshot, "source": outcome.source, "repository": outcome.repository,
        "tag": outcome.tag, "platform": spec.platform if spec else "",
        "manifest_digest": spec.manifest_digest if spec else None,
        "config_digest": spec.config_digest if spec else "",
        "created": spec.created if spec else None,
        "compressed_size": spec.compressed_size if spec else 0,
        "complete": 1 if report is not None else 0, "error": outcome.error,
    }  # fmt: skip
    if report is not None and spec is not None:
        base = report.base
        top = None
        if base.base_layers:
            top = spec.layers[base.base_layers - 1].diff_id
        values |= {
            "tar_size": report.tar_size, "content_size": report.content_size,
            "waste": report.waste.total, "removable": cost_model.removable(report),
            "efficiency": report.waste.efficiency,
            "os": base.pretty_name or base.os_id, "end_of_life": base.end_of_life,
            "base_layers": base.base_layers, "base_top": top,
            "findings": len(report.findings),
        }  # fmt: skip
    columns = list(values)
    image_id = store.insert(
        f"INSERT INTO images ({', '.join(columns)}) VALUES ({', '.join('?' for _ in columns)})",
        [values[c] for c in columns],
    )
    if spec is not None:
        store.many(
            "INSERT INTO image_layers (image_id, position, digest, diff_id, compressed_size)"
            " VALUES (?, ?, ?, ?, ?)",
            [(image_id, layer.index, layer.digest, layer.diff_id, layer.size)
             for layer in spec.layers],
        )  # fmt: skip
    if report is not None:
        store.many(
            "INSERT INTO findings (image_id, code, severity, message) VALUES (?, ?, ?, ?)",
            [(image_id, f.code, f.severity.value, f.message[:1000]) for f in report.findings],
        )
