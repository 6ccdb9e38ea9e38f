"""``keelhaul image``: where every byte of a built image went and what is unsafe in it."""

from __future__ import annotations

import dataclasses
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from keelhaul.cli.options import config_file_option, no_config_option
from keelhaul.cli.output import Output
from keelhaul.config import Config, ConfigFinder
from keelhaul.dockerfile.stages import Build, resolve
from keelhaul.dockerfile.syntax import read_dockerfile
from keelhaul.findings import Origin
from keelhaul.image import checks, compressed_estimate
from keelhaul.image import cost as cost_model
from keelhaul.image.analysis import Options, analyse
from keelhaul.image.checks import Thresholds, parse_ratio, parse_size
from keelhaul.image.model import Image
from keelhaul.image.report import ImageReport
from keelhaul.report import FORMATS, Report, render
from keelhaul.report.markdown import code as markdown_code
from keelhaul.rule import Rule
from keelhaul.selection import (
    THRESHOLD_WORDS,
    DeferredVocabulary,
    Threshold,
    Vocabulary,
)
from keelhaul.settings import SOURCE_KEYS, Settings

if TYPE_CHECKING:
    from keelhaul.sbom.image_files import LayerFacts

IMAGE_FORMATS = tuple(dict.fromkeys(("text", "json", "html", *FORMATS)))


def _size(ctx: click.Context, param: click.Parameter, value: str | None) -> int | None:
    if value is None:
        return None
    try:
        return parse_size(value, f"--{param.name.replace('_', '-') if param.name else ''}")
    except Exception as exc:
        raise click.BadParameter(str(exc)) from None


def _ratio(ctx: click.Context, param: click.Parameter, value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return parse_ratio(value, "--min-efficiency")
    except Exception as exc:
        raise click.BadParameter(str(exc)) from None


def _vocabulary() -> Vocabulary:
    """The image codes now; the Dockerfile rules only if a configuration names one of them."""

    def other_rules() -> list[Rule]:
        from keelhaul.catalogue import all_rules

        return all_rules()

    return DeferredVocabulary(checks.image_rules(), other_rules)


def config_for(config_file: Path | None, isolated: bool, near: Path) -> Config:
    """The configuration that applies (found from ``near`` upward), knowing the KH3xx codes
    so that `ignore = ["KH321"]` and `select` work for images as for Dockerfiles."""
    finder = ConfigFinder(_vocabulary(), config_file=config_file, isolated=isolated)
    return finder.for_path(near)


def settings_for(config_file: Path | None, isolated: bool, near: Path) -> Settings:
    """The configuration's ``[settings]`` that apply (found from ``near`` upward)."""
    return config_for(config_file, isolated, near).settings


def run(
    out: Output,
    image: Image,
    fmt: str = "text",
    thresholds: Thresholds | None = None,
    fail_on: str = "error",
    build: Build | None = None,
    options: Options | None = None,
    cost_settings: cost_model.CostSettings | None = None,
    db_path: Path | None = None,
    enabled: Callable[[str], bool] | None = None,
    skip_base: bool = False,
) -> tuple[int, ImageReport]:
    """Analyse ``image``, write the report in ``fmt`` and return the exit code (0 or 1).

    ``skip_base`` leaves out the findings that come from the base image's layers, from the
    report and from the exit code.
    """
    database = _database(db_path)
    # with a database, the one pass over the layers also gathers what the package catalogers
    # read, so the vulnerability summary reads no layer again
    facts: list[LayerFacts] | None = None
    if database is not None:
        from keelhaul.sbom.image_files import PACKAGE_FACTS

        facts = []
        options = dataclasses.replace(options or Options(), facts=PACKAGE_FACTS)
    watching = compressed_estimate.watch(image)  # samples the plain-tar layers as they are read
    report = analyse(image, options, build, facts)
    compressed = watching.compressed_size([
        (layer.diff_id, layer.media_type, layer.compressed_size, layer.tar_size)
        for layer in report.layers])  # fmt: skip
    if enabled is not None:  # the configuration's select and ignore
        report = dataclasses.replace(
            report, findings=tuple(f for f in report.findings if enabled(f.code))
        )
    if skip_base:
        kept = tuple(f for f in report.findings if f.origin is not Origin.BASE)
        if len(kept) < len(report.findings):
            out.info(f"{len(report.findings) - len(kept)} finding(s) from the base image left "
                     "out (--skip-base)")  # fmt: skip
        report = dataclasses.replace(report, findings=kept)
    vulnerabilities = _vulnerability_summary(image, database, facts)
    thresholds = thresholds or Thresholds()
    crossed = checks.crossed(
        thresholds, image.source, report.tar_size, report.waste.total,
        report.waste.efficiency, len(report.layers),
    )  # fmt: skip
    if crossed:
        report = dataclasses.replace(report, findings=(*report.findings, *crossed))
    emit(out, fmt, report, cost_settings or cost_model.CostSettings(), vulnerabilities,
         compressed)  # fmt: skip
    threshold = Threshold.parse(fail_on) or Threshold()
    failing = threshold.severity is not None and any(
        f.severity.rank >= threshold.severity.rank for f in report.findings
    )
    return (1 if crossed or failing else 0), report


def _database(db_path: Path | None) -> Path | None:
    """The vulnerability database to summarise with, or None when there is none."""
    from keelhaul.vulns import database

    path = db_path or database.default_path()
    return path if path.is_file() else None


def _vulnerability_summary(
    image: Image, path: Path | None, facts: list[LayerFacts] | None = None
) -> dict[str, Any] | None:
    """Counts by severity and the worst few, when a vulnerability database is there.

    ``facts``: what the analysis pass gathered of each layer for the catalogers; they also
    go into the per-layer cache that ``keelhaul sbom`` reads. Without them the layers are read
    (or taken from that cache)."""
    if path is None:
        return None
    from keelhaul.sbom.catalog import catalog
    from keelhaul.sbom.image_files import ImageFiles, LayerCache, image_files
    from keelhaul.vulns import database, scan

    cache = LayerCache()
    try:
        if facts is not None and len(facts) == len(image.layers):
            for layer, gathered in zip(image.layers, facts, strict=True):
                if cache.get(layer.diff_id) is None:
                    cache.put(layer.diff_id, gathered)
            files = ImageFiles([(layer.diff_id, f) for layer, f in zip(image.layers, facts,
                                                                        strict=True)])  # fmt: skip
        else:
            files, _ = image_files(image, cache)
    finally:
        cache.close()
    inventory = catalog(files, lock_files=False)
    with database.Database(path) as db:
        found = scan.scan(db, inventory).vulnerabilities
    worst = [{"id": v.id, "severity": v.severity.level, "package": v.package.binary
              or v.package.name, "version": v.package.version, "fixed": v.fixed}
             for v in found[:5]]  # fmt: skip
    return {"database": str(path), "packages": len(inventory.packages),
            "counts": scan.summary(found), "total": len(found), "worst": worst}  # fmt: skip


def emit(out: Output, fmt: str, report: ImageReport, settings: cost_model.CostSettings,
         vulnerabilities: dict[str, Any] | None = None,
         compressed: compressed_estimate.CompressedSize | None = None) -> None:  # fmt: skip
    """Write the report; ``compressed``: what the image weighs compressed when that is not
    the stored size (layers stored as plain tars), which the cost model prices."""
    gone = cost_model.removable(report)
    priced = compressed.bytes if compressed is not None else report.compressed_size
    saving = cost_model.saving(priced, report.tar_size, gone, settings)
    if fmt == "text":
        from keelhaul.image.text import render_text

        render_text(report, out.out, compressed=compressed)
        _cost_text(out, saving, settings, compressed)
        if vulnerabilities is not None:
            counts = ", ".join(f"{n} {k}" for k, n in vulnerabilities["counts"].items() if n)
            out.out.print(f"[bold]Vulnerabilities[/bold] in {vulnerabilities['packages']} "
                          f"packages: {vulnerabilities['total']} ({counts or 'none'}); "
                          "`keelhaul vulns` lists them")  # fmt: skip
        return
    if fmt == "json":
        data = report.to_json()
        data["cost"] = cost_model.cost_json(saving, settings, gone, compressed)
        data["vulnerabilities"] = vulnerabilities
        text = json.dumps(data, indent=2) + "\n"
    elif fmt == "html":
        from keelhaul.image.html import render_html

        text = render_html(report, saving, vulnerabilities, compressed)
    elif fmt == "markdown":
        text = _markdown_summary(report, saving, compressed) + render(
            "markdown", Report(findings=report.findings, files=[report.source],
                               rules=checks.rule_infos(), cwd=Path.cwd()),
        ).replace("## keelhaul\n", "", 1)  # fmt: skip
    else:
        color = out.color and "NO_COLOR" not in os.environ and sys.stdout.isatty()
        text = render(fmt, Report(
            findings=report.findings, files=[report.source], rules=checks.rule_infos(),
            cwd=Path.cwd(), color=color and fmt == "concise",
        ))  # fmt: skip
    sys.stdout.buffer.write(text.encode("utf-8", "surrogateescape"))
    sys.stdout.buffer.flush()


def _markdown_summary(report: ImageReport, s: cost_model.Saving,
                      compressed: compressed_estimate.CompressedSize | None = None) -> str:  # fmt: skip
    """The head of a job summary: size, layers, waste, cost."""
    waste = report.waste
    size = checks.human(report.compressed_size)
    if compressed is not None and compressed.basis != "measured":
        size = f"{checks.human(compressed.bytes)} ({compressed.basis})"
    return (
        f"## keelhaul image {markdown_code(report.source)}\n\n"
        "| compressed | uncompressed | layers | wasted | efficiency | cost a month | pull |\n"
        "|---|---|---|---|---|---|---|\n"
        f"| {size} | {checks.human(report.tar_size)} | "
        f"{len(report.layers)} | {checks.human(waste.total)} | {waste.efficiency:.1%} | "
        f"{cost_model.money(s.before.total_month)} | {cost_model.duration(s.before.pull_seconds)} |\n"
    )


def _cost_text(out: Output, s: cost_model.Saving, settings: cost_model.CostSettings,
               compressed: compressed_estimate.CompressedSize | None = None) -> None:  # fmt: skip
    now, after = s.before, s.after
    pulls = f"{settings.pulls_per_day:g} pull(s) a day on {settings.nodes} node(s)"
    out.out.print(f"[bold]Cost[/bold] ({pulls}, {settings.regions} region(s), "
                  f"${settings.storage_price:g}/GB-month, ${settings.transfer_price:g}/GB, "
                  f"{settings.bandwidth_mbps:g} Mbit/s)")  # fmt: skip
    if compressed is not None:
        out.out.print(f"  priced on {checks.human(now.compressed_bytes)} compressed "
                      f"({compressed.describe()})", markup=False)  # fmt: skip
    out.out.print(f"  {cost_model.money(now.total_month)} a month "
                  f"(storage {cost_model.money(now.storage_month)}, transfer "
                  f"{cost_model.money(now.transfer_month)} for {now.transferred_gb_month:,.1f} GB); "
                  f"each pull {cost_model.duration(now.pull_seconds)}")  # fmt: skip
    if s.month > 0 or s.pull_seconds > 0:
        out.out.print(f"  without the waste and caches: {cost_model.money(after.total_month)} a "
                      f"month, saving {cost_model.money(s.month)}; each pull "
                      f"{cost_model.duration(after.pull_seconds)}")  # fmt: skip


_COST_OPTIONS = (
    ("--pulls-per-day", float, "Pulls per node per day (default 1)."),
    ("--nodes", int, "Nodes that pull the image (default 10)."),
    ("--regions", int, "Registries (regions) it is stored in (default 1)."),
    ("--storage-price", float, "Dollars per GB-month stored (default 0.10)."),
    ("--transfer-price", float, "Dollars per GB transferred (default 0.09)."),
    ("--bandwidth-mbps", float, "Megabits per second a node pulls at (default 100)."),
)


def _cost_options(function: Any) -> Any:
    for name, kind, help_text in reversed(_COST_OPTIONS):
        function = click.option(name, type=click.FloatRange(min=0) if kind is float
                                else click.IntRange(min=0), default=None, help=help_text)(function)  # fmt: skip
    return function


@click.command("image")
@click.argument("reference")
@click.option("--platform", metavar="OS/ARCH[/VARIANT]", help="Pick from a multi-platform index "
              "(default: the host's).")  # fmt: skip
@click.option("-f", "--file", "dockerfile", type=click.Path(path_type=Path, dir_okay=False,
              exists=True), help="The Dockerfile that built the image: layers are mapped to its "
              "instructions (best effort).")  # fmt: skip
@click.option("--target", help="The Dockerfile's target stage (default: the last).")
@click.option("--format", "fmt", type=click.Choice(IMAGE_FORMATS), default="text",
              show_default=True, help="text for people; json is the whole report (layers, "
              "waste, findings); sarif, gitlab, checkstyle, junit, github... carry the findings.")  # fmt: skip
@click.option("--max-size", callback=_size, help="Exit 1 when the uncompressed layers add up to "
              "more (500MB, 1.5GiB).")  # fmt: skip
@click.option("--max-waste", callback=_size, help="Exit 1 when the waste is more.")
@click.option("--min-efficiency", callback=_ratio, help="Exit 1 when efficiency is under this "
              "(0.9 or 90%).")  # fmt: skip
@click.option("--max-layers", type=click.IntRange(min=0), help="Exit 1 with more layers.")
@click.option("--fail-on", type=click.Choice(THRESHOLD_WORDS), default="error",
              show_default=True, help="Exit 1 when a finding is at least this severe.")  # fmt: skip
@click.option("--db", "db_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="The vulnerability database for the summary (default: keelhaul db's; no "
              "summary when there is none).")  # fmt: skip
@click.option("--compare", "compare_with", metavar="REFERENCE",
              help="Set a second image beside this one (sizes, layers, waste, packages, cost).")  # fmt: skip
@click.option("--skip-base/--no-skip-base", default=None, help="Leave out the findings that "
              "come from the base image's layers, from the report and the exit code, to gate "
              "only on what your own Dockerfile adds (default: [settings] image-skip-base, "
              "else off).")  # fmt: skip
@click.option("--insecure-registry", "insecure_registry", multiple=True, metavar="HOST[:PORT]",
              help="Speak plain HTTP to this registry (repeatable; also [settings] "
              "image-insecure-registries). The sources' bounds come from [settings] "
              "image-max-layer-bytes, image-max-blob-bytes, image-max-ratio, image-max-layer-count, "
              "image-max-config-bytes, image-max-manifest-bytes, image-max-archive-members.")  # fmt: skip
@_cost_options
@config_file_option
@no_config_option
@click.pass_obj
def command(
    out: Output,
    reference: str,
    platform: str | None,
    dockerfile: Path | None,
    target: str | None,
    fmt: str,
    max_size: int | None,
    max_waste: int | None,
    min_efficiency: float | None,
    max_layers: int | None,
    fail_on: str,
    db_path: Path | None,
    compare_with: str | None,
    insecure_registry: tuple[str, ...],
    skip_base: bool | None,
    pulls_per_day: float | None,
    nodes: int | None,
    regions: int | None,
    storage_price: float | None,
    transfer_price: float | None,
    bandwidth_mbps: float | None,
    config_file: Path | None,
    isolated: bool,
) -> int:
    """Show where every byte of an image went and what is unsafe in it.

    REFERENCE is docker-archive:PATH, oci:DIR[:TAG], oci-archive:PATH, docker:NAME,
    registry:HOST/REPO:TAG (or @DIGEST), or a bare name (the local engine, then the registry).

    Thresholds also come from the configuration's [settings]: image-max-size, image-max-waste,
    image-min-efficiency, image-max-layers; the command line wins. Exit 0 when none is crossed
    and no finding reaches --fail-on, 1 otherwise, 2 when the image cannot be read.

    Findings from the base image's layers (the layers up to the base's CMD or ENTRYPOINT in
    the history) are marked base; --skip-base, or [settings] image-skip-base = true, leaves
    them out of the report and the exit code, so a team gates on what its own Dockerfile adds.

    Cost a month: storage (compressed size x regions x price), transfer (compressed size x
    pulls x price) and the time of one pull, now and without the waste and caches; the
    defaults are list prices (keelhaul.image.cost), overridden by [settings] image-storage-price,
    image-transfer-price, image-bandwidth-mbps, image-pulls-per-day, image-nodes,
    image-regions, then by the options. --compare B analyses B too and sets both side by side
    (for example before and after `keelhaul fix`).
    """
    from keelhaul.image.arrival import reading_arrivals
    from keelhaul.image.sources import open_image  # the sources live apart: import when used

    near = dockerfile if dockerfile is not None else Path.cwd() / "Dockerfile"
    config = config_for(config_file, isolated, near)
    settings = config.settings
    sources = _source_options(settings, insecure_registry)
    thresholds = Thresholds.from_settings(settings).over(
        Thresholds(max_size, max_waste, min_efficiency, max_layers)
    )
    build = None
    if dockerfile is not None:
        build = resolve(read_dockerfile(dockerfile), target=target)
    options = Options(waste_min_bytes=settings.image_waste_min_bytes)
    if "limits" in sources:  # image-max-ratio bounds the tar walk's own bomb check too
        options = dataclasses.replace(options, max_ratio=sources["limits"].max_ratio)
    skip = skip_base if skip_base is not None else settings.image_skip_base
    costs = cost_model.settings_from(settings, {
        "pulls-per-day": pulls_per_day, "nodes": nodes, "regions": regions,
        "storage-price": storage_price, "transfer-price": transfer_price,
        "bandwidth-mbps": bandwidth_mbps,
    })  # fmt: skip
    if compare_with is not None:
        from keelhaul.cli.image_compare import compare

        return compare(out, reference, compare_with, platform, fmt, costs, options, sources)
    # streamed: the analysis reads docker: layers as the engine's save delivers them
    with reading_arrivals(), open_image(reference, platform=platform, **sources) as image:
        code, _ = run(out, image, fmt, thresholds, fail_on, build, options, costs, db_path,
                      lambda code: config.enabled(code, near), skip)  # fmt: skip
    return code


def _source_options(settings: Settings, insecure: tuple[str, ...]) -> dict[str, Any]:
    """``open_image``'s limits and insecure registries from [settings] and the command line
    (nothing when neither sets one: the sources then load only when an image is opened)."""
    if not insecure and not any(key in settings for key in SOURCE_KEYS):
        return {}
    from keelhaul.image.sources.settings import source_settings

    return source_settings(settings, insecure).open_kwargs()
