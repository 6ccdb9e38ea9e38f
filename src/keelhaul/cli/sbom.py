"""``keelhaul sbom``: what is installed in a root filesystem or an image, or pinned by a
source tree's lock files."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import click
from rich.table import Table

from keelhaul.cli.options import config_file_option, no_config_option
from keelhaul.cli.output import Output
from keelhaul.image.text import shown
from keelhaul.sbom.catalog import Inventory
from keelhaul.sbom.targets import Target, read_target
from keelhaul.writing import write_atomically

FORMATS = ("table", "json", "cyclonedx", "spdx")


def inventory_json(inventory: Inventory) -> dict[str, object]:
    release = inventory.release
    return {
        "release": None if release is None else {
            "id": release.id, "version_id": release.version_id, "name": release.pretty_name,
            "osv_ecosystem": release.osv_ecosystem,
        },
        "packages": [
            {"name": p.name, "version": p.version, "type": p.type, "purl": p.purl,
             "found_by": p.found_by, "path": p.path, "source_name": p.source_name,
             "source_version": p.source_version, "arch": p.arch, "licenses": list(p.licenses),
             "layer": p.layer}
            for p in inventory.packages
        ],
    }  # fmt: skip


_PLATFORM = click.option("--platform", default=None, metavar="OS/ARCH[/VARIANT]",
                         help="The platform of a multi-platform image (default: this host's).")  # fmt: skip
_NO_CACHE = click.option("--no-cache", is_flag=True,
                         help="Read every layer again instead of the per-layer cache.")  # fmt: skip
INSECURE_REGISTRY = click.option(
    "--insecure-registry", "insecure_registry", multiple=True, metavar="HOST[:PORT]",
    help="Speak plain HTTP to this registry (repeatable; also [settings] "
    "image-insecure-registries, beside the image-max-* bounds of `keelhaul image`).",
)  # fmt: skip


def read_with_settings(
    target: str,
    platform: str | None,
    no_cache: bool,
    insecure: tuple[str, ...],
    config_file: Path | None,
    isolated: bool,
) -> Target:
    """:func:`keelhaul.sbom.targets.read_target`, the image sources bounded and pointed by the
    configuration's [settings] (found from the current folder) and ``--insecure-registry``."""
    from keelhaul.sbom.sbom_input import sniff

    if Path(target).is_dir() or (Path(target).is_file() and sniff(Path(target))):
        return read_target(target, platform, use_cache=not no_cache)  # a folder or an SBOM
    from keelhaul.cli.image import settings_for
    from keelhaul.image.sources.settings import source_settings

    settings = settings_for(config_file, isolated, Path.cwd() / "Dockerfile")
    sources = source_settings(settings, insecure).open_kwargs()
    return read_target(target, platform, use_cache=not no_cache, sources=sources)


@click.command("sbom")
@click.argument("target")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True,
              help="A table, keelhaul's JSON, CycloneDX 1.6 JSON or SPDX 2.3 JSON.")  # fmt: skip
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write to this file (atomically) instead of standard output.")  # fmt: skip
@_PLATFORM
@_NO_CACHE
@INSECURE_REGISTRY
@config_file_option
@no_config_option
@click.pass_obj
def command(
    out: Output,
    target: str,
    platform: str | None,
    no_cache: bool,
    fmt: str,
    output: Path | None,
    insecure_registry: tuple[str, ...],
    config_file: Path | None,
    isolated: bool,
) -> int:
    """List the packages of TARGET: a root filesystem folder (OS packages from dpkg, apk or
    rpm, and the language packages installed in it) or a source tree (its lock files)."""
    read = read_with_settings(target, platform, no_cache, insecure_registry, config_file, isolated)
    inventory = read.inventory
    if fmt == "table":
        if output is not None:
            raise click.UsageError("--output needs --format json, cyclonedx or spdx")
        table = Table("name", "version", "type", "source", "found in", box=None)
        for p in inventory.packages:
            source = p.source_name if p.source_name and p.source_name != p.name else ""
            table.add_row(*(shown(cell) for cell in (p.name, p.version, p.type, source, p.path)))
        out.out.print(table)
        counts = Counter(p.type for p in inventory.packages)
        summary = ", ".join(f"{n} {t}" for t, n in sorted(counts.items())) or "no packages"
        release = f" on {inventory.release.pretty_name}" if inventory.release else ""
        out.info(f"{target}: {summary}{release}")
        return 0
    if fmt == "json":
        text = json.dumps(inventory_json(inventory), indent=2) + "\n"
    elif fmt == "cyclonedx":
        from keelhaul.sbom.formats import cyclonedx_json

        text = cyclonedx_json(inventory, read.name) + "\n"
    else:
        from keelhaul.sbom.formats import spdx_json

        text = spdx_json(inventory, read.name)
    if output is None:
        click.echo(text, nl=False)
    else:
        write_atomically(output, text.encode())
    return 0
