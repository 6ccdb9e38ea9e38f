"""``keelhaul slim``: rewrite an image without its waste."""

from __future__ import annotations

import json

import click

from keelhaul.cli.output import Output


@click.command("slim")
@click.argument("source")
@click.option(
    "-o",
    "--output",
    "output",
    required=True,
    metavar="DEST",
    help="Where the slim image goes: docker-archive:PATH[:NAME], oci:DIR[:TAG], "
    "oci-archive:PATH[:TAG], docker:NAME (loaded into the local engine) or registry:NAME "
    "(pushed with docker login's credentials).",
)
@click.option(
    "--keep-layers",
    type=click.IntRange(min=0),
    default=None,
    metavar="N",
    help="Keep the first N layers as they are (default: the base image's, told from the history).",
)
@click.option(
    "--squash",
    type=click.Choice(["own", "all"]),
    default="own",
    show_default=True,
    help="Squash the image's own layers, or every layer.",
)
@click.option(
    "--remove",
    "remove",
    multiple=True,
    metavar="CATEGORY",
    help="Also leave out files of this kind (repeatable): package-cache, toolchain, "
    "vcs, docs, tests, sources, core-dump, logs.",
)
@click.option(
    "--compression",
    type=click.Choice(["gzip", "zstd"]),
    default="gzip",
    show_default=True,
    help="How the new layer is compressed.",
)
@click.option(
    "--compression-level",
    "level",
    type=click.IntRange(min=0, max=22),
    default=None,
    metavar="N",
    help="gzip: ISA-L's 0-3 (default 2: fast, a few percent larger than gzip -6); "
    "zstd: 1-22 (default 3).",
)
@click.option(
    "--source-date-epoch",
    type=click.IntRange(min=0),
    envvar="SOURCE_DATE_EPOCH",
    default=None,
    help="Clamp the new layer's mtimes to this (also SOURCE_DATE_EPOCH).",
)
@click.option(
    "--platform",
    metavar="OS/ARCH[/VARIANT]",
    default=None,
    help="Pick from a multi-platform index (default: this host's).",
)
@click.option("--force", is_flag=True, help="Replace DEST when it exists.")
@click.option(
    "--even-if-larger",
    is_flag=True,
    help="Squash even when the squashed layer comes out no smaller than the layers it "
    "replaces (by default they are then written as they are, and the report says so).",
)
@click.option(
    "--verify",
    is_flag=True,
    help="Load the slim image into the local engine and smoke-check it (and a docker: "
    "original) before writing it; a failing one is not written.",
)
@click.option(
    "--smoke",
    metavar="'ARGS...'",
    default=None,
    help="With --verify: `docker run IMAGE ARGS...` must exit 0 (default: the "
    "healthcheck, else the container stays up --smoke-seconds).",
)
@click.option(
    "--smoke-seconds",
    type=click.FloatRange(min=0),
    default=3.0,
    show_default=True,
    help="With --verify and no healthcheck: how long the container must stay up.",
)
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)
@click.pass_obj
def command(
    out: Output,
    source: str,
    output: str,
    keep_layers: int | None,
    squash: str,
    remove: tuple[str, ...],
    compression: str,
    level: int | None,
    source_date_epoch: int | None,
    platform: str | None,
    force: bool,
    even_if_larger: bool,
    verify: bool,
    smoke: str | None,
    smoke_seconds: float,
    fmt: str,
) -> int:
    """Rewrite the image SOURCE without its waste, to DEST.

    SOURCE is any image `keelhaul image` reads (docker-archive:, oci:, oci-archive:, docker:,
    registry:). The base image's layers (up to its CMD/ENTRYPOINT in the history, or the
    `docker import` layers an image was built on) stay as they are; the image's own layers
    become one, without the bytes later layers hid (overwritten and deleted files, deleted
    folders, opaque folders). When that one layer would not be smaller than the layers it
    replaces and nothing was removed, they are kept as they are (--even-if-larger squashes
    anyway). A kept layer stored as a plain tar (docker save) is compressed with
    --compression for every DEST but docker: (same DiffID). Config, entrypoint, user and
    healthcheck stay; the history says what was squashed. Same input, same output digest.
    """
    from keelhaul.image.sources import open_image
    from keelhaul.slim import report
    from keelhaul.slim.consolidate import SlimError
    from keelhaul.slim.outputs import parse_destination
    from keelhaul.slim.smoke import SmokePlan
    from keelhaul.slim.write_image import SlimOptions, slim

    if smoke is not None and not verify:
        raise SlimError("--smoke needs --verify")
    if level is not None and compression == "gzip" and level > 3:
        raise SlimError(f"--compression-level {level}: gzip (ISA-L) takes 0 to 3")
    if level is not None and compression == "zstd" and level < 1:
        raise SlimError(f"--compression-level {level}: zstd takes 1 to 22")
    if squash == "all" and keep_layers is not None:
        raise SlimError("--squash all and --keep-layers: choose one")
    destination = parse_destination(output)
    options = SlimOptions(keep_layers=keep_layers, squash_all=squash == "all",
                          compression=compression, level=level, source_date_epoch=source_date_epoch,
                          remove=remove, force=force, even_if_larger=even_if_larger,
                          verify=SmokePlan(smoke, smoke_seconds) if verify else None)  # fmt: skip
    with open_image(source, platform=platform) as image:
        result = slim(image, destination, options)
    if fmt == "json":
        out.out.print_json(json.dumps(report.as_json(result)))
    else:
        for line in report.lines(result):
            out.out.print(line, markup=False, soft_wrap=True, highlight=False)
    return 0
