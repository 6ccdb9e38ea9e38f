"""``keelhaul vulns``: which installed packages are known to be vulnerable."""

from __future__ import annotations

import json
from pathlib import Path

import click
from rich.table import Table

from keelhaul.cli.options import config_file_option, no_config_option
from keelhaul.cli.output import Output
from keelhaul.cli.sbom import INSECURE_REGISTRY, read_with_settings
from keelhaul.image.text import shown
from keelhaul.report import FORMATS, Report, render
from keelhaul.vulns import database, scan
from keelhaul.vulns.matching import LEVELS, at_least
from keelhaul.writing import write_atomically

_LEVELS = tuple(reversed(LEVELS))  # critical first


_PLATFORM = click.option("--platform", default=None, metavar="OS/ARCH[/VARIANT]",
                         help="The platform of a multi-platform image (default: this host's).")  # fmt: skip
_NO_CACHE = click.option("--no-cache", is_flag=True,
                         help="Read every layer again instead of the per-layer cache.")  # fmt: skip


@click.command("vulns")
@click.argument("target")
@click.option("--db", "db_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="The database (default: $KEELHAUL_DB, else ~/.cache/keelhaul/osv.sqlite3).")  # fmt: skip
@click.option("--format", "fmt", type=click.Choice(("table", *FORMATS, "cyclonedx")),
              default="table", show_default=True,
              help="A table, one of check's formats (json, sarif...), or CycloneDX 1.6 "
              "with its vulnerabilities section.")  # fmt: skip
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write to this file (atomically) instead of standard output.")  # fmt: skip
@click.option("--severity", type=click.Choice(_LEVELS), default="unknown", show_default=True,
              help="Report only vulnerabilities at least this severe.")  # fmt: skip
@click.option("--fail-on", type=click.Choice((*_LEVELS, "never")), default="unknown",
              show_default=True,
              help="Exit 1 when a reported vulnerability is at least this severe.")  # fmt: skip
@click.option("--ignore-unfixed", is_flag=True,
              help="Leave out vulnerabilities no version fixes yet.")  # fmt: skip
@click.option("--ignore-file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="YAML: `ignore:` entries with id, reason, and optional expires and package.")  # fmt: skip
@click.option("--vex", "vex_files", multiple=True, type=click.Path(dir_okay=False, path_type=Path),
              help="An OpenVEX document: its not_affected statements are set aside (repeatable).")  # fmt: skip
@click.option("--fail-on-kev", is_flag=True,
              help="Exit 1 when a reported vulnerability is in CISA's Known Exploited "
              "Vulnerabilities catalogue (imported with `keelhaul db import`).")  # fmt: skip
@click.option("--fail-on-epss", type=click.FloatRange(0, 1), default=None, metavar="SCORE",
              help="Exit 1 when a reported vulnerability's EPSS score (FIRST's, imported with "
              "`keelhaul db import`) is at least SCORE (0 to 1).")  # fmt: skip
@_PLATFORM
@_NO_CACHE
@INSECURE_REGISTRY
@config_file_option
@no_config_option
@click.pass_obj
def command(out: Output, target: str, platform: str | None, no_cache: bool,
            db_path: Path | None, fmt: str, output: Path | None, severity: str, fail_on: str,
            ignore_unfixed: bool, ignore_file: Path | None, vex_files: tuple[Path, ...],
            fail_on_kev: bool, fail_on_epss: float | None, insecure_registry: tuple[str, ...], config_file: Path | None,
            isolated: bool) -> int:  # fmt: skip
    """Match the packages of TARGET (an image, a root filesystem folder or a source tree, as
    `keelhaul sbom` reads it, or an SBOM: CycloneDX 1.4-1.6 JSON, SPDX 2.2-2.3 JSON or
    tag-value, from syft, Trivy or keelhaul) against the OSV database (`keelhaul db`). Works
    offline."""
    read = read_with_settings(target, platform, no_cache, insecure_registry, config_file, isolated)
    inventory = read.inventory
    ignore = scan.read_ignore_file(ignore_file) if ignore_file else []
    vex = [s for f in vex_files for s in scan.read_openvex(f)]
    path = db_path or database.default_path()
    _warn_when_stale(out, path, config_file, isolated)
    with database.Database(path) as db:
        result = scan.scan(db, inventory, ignore=ignore, vex=vex, ignore_unfixed=ignore_unfixed,
                           severity=severity)  # fmt: skip
    for entry in result.expired:
        out.info(f"keelhaul: note: the ignore entry for {entry.id} expired on {entry.expires}")
    vulns = result.vulnerabilities
    if fmt == "table":
        exploits = any(v.exploited or v.likelihood for v in vulns)
        columns = ["severity", "rated by", "id", "package", "installed", "fixed in"]
        table = Table(*columns, *(("KEV", "EPSS") if exploits else ()), "found in", box=None)
        for v in vulns:
            ids = v.id + (f" (+{', '.join(v.also)})" if v.also else "")
            extra = ((v.exploited.date_added if v.exploited else "-",
                      f"{v.likelihood.score:.3f}" if v.likelihood else "-") if exploits else ())  # fmt: skip
            table.add_row(*(shown(cell) for cell in (
                v.severity.level, v.severity.source or "-", ids,
                v.package.binary or v.package.name, v.package.version, v.fixed or "-",
                *extra, v.package.path or "")))  # fmt: skip
        if output is not None:
            raise click.UsageError("--output needs a --format other than table")
        out.out.print(table)
        counts = ", ".join(f"{n} {level}" for level, n in scan.summary(vulns).items() if n)
        out.info(f"{target}: {len(vulns)} vulnerabilities ({counts or 'none'}) in "
                 f"{len(inventory.packages)} packages; {len(result.ignored)} set aside")  # fmt: skip
    else:
        if fmt == "cyclonedx":
            from keelhaul.vulns.cyclonedx import cyclonedx_json

            text = cyclonedx_json(inventory, read.name, vulns) + "\n"
        elif fmt == "json":
            text = json.dumps(scan.as_json(result), indent=2) + "\n"
        else:
            found, rules = scan.findings(vulns)
            text = render(fmt, Report(found, files=sorted({f.location.path for f in found}),
                                      rules=rules, cwd=Path.cwd()))  # fmt: skip
        if output is None:
            click.echo(text, nl=False)
        else:
            write_atomically(output, text.encode())
    failing = fail_on != "never" and any(at_least(v.severity.level, fail_on) for v in vulns)
    failing = failing or (fail_on_kev and any(v.exploited for v in vulns))
    failing = failing or (fail_on_epss is not None and any(
        v.likelihood and v.likelihood.score >= fail_on_epss for v in vulns))  # fmt: skip
    return 1 if failing else 0


def _warn_when_stale(out: Output, path: Path, config_file: Path | None, isolated: bool) -> None:
    """A warning when the database is older than the ``vulns-db-max-age`` setting."""
    from keelhaul.cli.image import settings_for

    days = settings_for(config_file, isolated, Path.cwd() / "Dockerfile").vulns_db_max_age
    if not days or not path.is_file():
        return
    age = database.age_hours(path)
    if age is not None and age > days * 24:
        out.info(f"keelhaul: warning: the vulnerability database {path} is {age / 24:.1f} days "
                 f"old (settings.vulns-db-max-age is {days:g}); run `keelhaul db update`")  # fmt: skip
