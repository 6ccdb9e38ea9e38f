"""``keelhaul fleet scan`` and ``keelhaul fleet report``: a whole registry, each layer once."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from keelhaul.cli.image import _cost_options, settings_for
from keelhaul.cli.options import config_file_option, no_config_option
from keelhaul.cli.output import Output
from keelhaul.image import cost as cost_model

__all__ = ["command"]

_DB_HELP = ("The fleet database: a SQLite file (default: fleet.sqlite3 beside the layer cache) "
            "or postgresql://USER[:PASSWORD]@HOST[:PORT]/DB (needs keelhaul[fleet]).")  # fmt: skip


@click.group("fleet")
def command() -> None:
    """Scan a whole registry with each layer analysed once, on Dask, and report on it."""


@command.command("scan")
@click.argument("sources", nargs=-1, required=True)
@click.option("--include", multiple=True, metavar="GLOB", help="Only REPO:TAG matching this "
              "(a glob; without ':' it matches repositories). Repeatable.")  # fmt: skip
@click.option("--exclude", multiple=True, metavar="GLOB", help="Leave out REPO:TAG matching "
              "this. Repeatable.")  # fmt: skip
@click.option(
    "--latest",
    type=click.IntRange(min=1),
    default=None,
    metavar="N",
    help="Per repository, only the N most recently created images.",
)
@click.option("--platform", "platforms", multiple=True, metavar="OS/ARCH[/VARIANT]",
              help="Expand manifest lists to this platform (repeatable; default the host's).")  # fmt: skip
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=None,
    help="Workers of the local Dask cluster (default: one per core).",
)
@click.option(
    "--scheduler",
    metavar="tcp://HOST:PORT",
    default=None,
    help="Run on this Dask scheduler instead of a local cluster.",
)
@click.option(
    "--retries",
    type=click.IntRange(min=0),
    default=2,
    show_default=True,
    help="Times a failed layer or image task is tried again.",
)
@click.option("--db", "db", default=None, metavar="PATH|URL", help=_DB_HELP)
@click.option("--layer-cache/--no-layer-cache", default=True, show_default=True,
              help="Keep each layer's scan in the workers' per-layer cache and reuse it: a "
              "later scan reads only new layers.")  # fmt: skip
@click.option("--insecure-registry", "insecure_registry", multiple=True, metavar="HOST[:PORT]",
              help="Speak plain HTTP to this registry (loopback ones always are).")  # fmt: skip
@click.option("--vulns-db", "vulns_db", type=click.Path(dir_okay=False, path_type=Path),
              default=None, help="Match each base image's packages against this `keelhaul db` "
              "vulnerability database (a path the workers can read; default: keelhaul db's, "
              "when it exists).")  # fmt: skip
@click.option("--no-vulns", is_flag=True, help="Count no vulnerabilities, even with a database.")
@config_file_option
@no_config_option
@click.pass_obj
def scan_command(
    out: Output,
    sources: tuple[str, ...],
    include: tuple[str, ...],
    exclude: tuple[str, ...],
    latest: int | None,
    platforms: tuple[str, ...],
    workers: int | None,
    scheduler: str | None,
    retries: int,
    db: str | None,
    layer_cache: bool,
    insecure_registry: tuple[str, ...],
    vulns_db: Path | None,
    no_vulns: bool,
    config_file: Path | None,
    isolated: bool,
) -> int:
    """Scan SOURCES into a new snapshot: registry:HOST[:PORT] (the whole catalog),
    registry:HOST/REPO (its tags), registry:HOST/REPO:TAG, docker: (every tagged image of
    the local Docker Engine), docker:REPO, docker:REPO:TAG, or a file of references (one a
    line).

    Each unique layer (by DiffID) is fetched and walked once by a Dask worker, whatever the
    number of images holding it; each image's report is then assembled from its layers'
    facts, as `keelhaul image` would make it. A layer that cannot be read marks the images
    holding it incomplete (with the reason) and the scan goes on. Progress goes to stderr;
    exit 0 when every image was analysed, 1 when some are incomplete, 2 on bad input.
    """
    from keelhaul.fleet.scan import ScanSettings, scan
    from keelhaul.fleet.sources import Selection
    from keelhaul.fleet.store import open_store
    from keelhaul.fleet.work import Connection
    from keelhaul.image.analysis import Options
    from keelhaul.image.sources.settings import source_settings

    settings = settings_for(config_file, isolated, Path.cwd())
    chosen = source_settings(settings, insecure_registry)
    options = Options(waste_min_bytes=settings.image_waste_min_bytes,
                      max_ratio=chosen.limits.max_ratio)  # fmt: skip
    run = ScanSettings(
        platforms=platforms, workers=workers, scheduler=scheduler, retries=retries,
        connection=Connection(chosen.insecure_registries, chosen.limits, layer_cache),
        options=options, vulnerability_db=None if no_vulns else _vulnerability_db(vulns_db),
    )  # fmt: skip
    store = open_store(db)
    try:
        result = scan(sources, Selection(include, exclude, latest), store, run, out.info)
    finally:
        store.close()
    out.info(
        f"snapshot {result.snapshot}: {result.images} image(s), {result.incomplete} "
        f"incomplete; {result.layer_tasks} layer task(s) for {result.layer_references} "
        f"layer reference(s); {result.seconds:.1f} s ({store.where})"
    )
    return 1 if result.incomplete else 0


def _vulnerability_db(chosen: Path | None) -> str | None:
    """The vulnerability database the scan matches bases against: the one named (which must
    exist), else keelhaul db's when there is one."""
    from keelhaul.errors import KeelhaulError
    from keelhaul.vulns import database

    if chosen is not None:
        if not chosen.is_file():
            raise KeelhaulError(f"--vulns-db {chosen}: no vulnerability database there (run "
                                "`keelhaul db update` or `keelhaul db import PATH`)")  # fmt: skip
        return str(chosen.resolve())
    found = database.default_path()
    return str(found.resolve()) if found.is_file() else None


@command.command("report")
@click.option("--format", "fmt", type=click.Choice(("text", "json", "markdown", "html")),
              default="text", show_default=True)  # fmt: skip
@click.option(
    "--snapshot",
    type=click.IntRange(min=1),
    default=None,
    help="The snapshot to report on (default: the latest).",
)
@click.option(
    "--top",
    type=click.IntRange(min=1),
    default=10,
    show_default=True,
    help="Images in each top list.",
)
@click.option("--db", "db", default=None, metavar="PATH|URL", help=_DB_HELP)
@_cost_options
@config_file_option
@no_config_option
@click.pass_obj
def report_command(
    out: Output,
    fmt: str,
    snapshot: int | None,
    top: int,
    db: str | None,
    pulls_per_day: float | None,
    nodes: int | None,
    regions: int | None,
    storage_price: float | None,
    transfer_price: float | None,
    bandwidth_mbps: float | None,
    config_file: Path | None,
    isolated: bool,
) -> int:
    """Report on the latest snapshot (or --snapshot N): bytes stored with and without layer
    sharing, the monthly cost (keelhaul image's cost model and its [settings]), the top
    images by waste and by cost, the base images in use (end of life; vulnerabilities when
    the scan had a database), findings by rule, and what changed since the snapshot before.
    --format html writes one self-contained page."""
    from keelhaul.fleet.report import build_report, render
    from keelhaul.fleet.store import open_store

    settings = settings_for(config_file, isolated, Path.cwd())
    costs = cost_model.settings_from(settings, {
        "pulls-per-day": pulls_per_day, "nodes": nodes, "regions": regions,
        "storage-price": storage_price, "transfer-price": transfer_price,
        "bandwidth-mbps": bandwidth_mbps,
    })  # fmt: skip
    store = open_store(db)
    try:
        report = build_report(store, costs, snapshot, top)
    finally:
        store.close()
    sys.stdout.write(render(report, fmt))
    sys.stdout.flush()
    return 0
