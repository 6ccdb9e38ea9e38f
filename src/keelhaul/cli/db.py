"""``keelhaul db``: the vulnerability database (OSV advisories in SQLite)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import click
from rich.table import Table

from keelhaul.cli.output import Output
from keelhaul.vulns import database

_DB_OPTION = click.option(
    "--db",
    "db_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="The database file (default: $KEELHAUL_DB, else ~/.cache/keelhaul/osv.sqlite3).",
)


def _path(db_path: Path | None) -> Path:
    return db_path if db_path is not None else database.default_path()


@click.group("db")
def command() -> None:
    """The vulnerability database: update it from OSV, import advisories, see its state."""


@command.command("update")
@_DB_OPTION
@click.option(
    "-e",
    "--ecosystem",
    "ecosystems",
    multiple=True,
    help="An OSV ecosystem to download (repeatable). Default: those already in the "
    "database, or the common ones (Debian, Ubuntu, Alpine, the RPM distributions, PyPI, npm, "
    "Go, crates.io, Maven, RubyGems, Packagist, NuGet).",
)
@click.option(
    "--mirror",
    default=None,
    help="Base URL serving <ecosystem>/all.zip (default: $KEELHAUL_OSV_URL, else OSV's "
    "public bucket).",
)
@click.pass_obj
def update(out: Output, db_path: Path | None, ecosystems: tuple[str, ...],
           mirror: str | None) -> int:  # fmt: skip
    """Download OSV's exports and replace the ecosystems' advisories, atomically: a failed
    update leaves the database as it was."""
    path = _path(db_path)
    wanted = list(ecosystems)
    if not wanted:
        current = database.status(path)
        wanted = [e[0] for e in current.ecosystems] or list(database.DEFAULT_ECOSYSTEMS)
    base = mirror or os.environ.get("KEELHAUL_OSV_URL") or database.OSV_BASE_URL
    counts = database.update(path, wanted, base)
    for ecosystem, n in counts.items():
        out.info(f"{ecosystem}: {n} advisories")
    click.echo(f"{path}: updated {len(counts)} ecosystem(s), {sum(counts.values())} advisories")
    return 0


@command.command("import")
@_DB_OPTION
@click.argument("sources", nargs=-1, required=True,
                type=click.Path(exists=True, path_type=Path))  # fmt: skip
@click.pass_obj
def import_(out: Output, db_path: Path | None, sources: tuple[Path, ...]) -> int:
    """Add advisories from OSV zips, JSON files or folders of them (for air-gapped sites)."""
    path = _path(db_path)
    done = database.import_paths(path, sources)
    for ecosystem, n in sorted(done.by_ecosystem.items()):
        out.info(f"{ecosystem}: {n} advisories")
    click.echo(f"{path}: imported {done.records} advisories")
    return 0


@command.command("status")
@_DB_OPTION
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_obj
def status(out: Output, db_path: Path | None, as_json: bool) -> int:
    """Where the database is, how old, and what it holds. Exits 1 when there is none."""
    found = database.status(_path(db_path))
    if as_json:
        click.echo(json.dumps({
            "path": str(found.path), "exists": found.exists, "updated_at": found.updated_at,
            "advisories": found.advisories, "withdrawn": found.withdrawn,
            "ecosystems": [{"ecosystem": e, "origin": o, "imported_at": t, "records": n}
                           for e, o, t, n in found.ecosystems],
        }, indent=2))  # fmt: skip
        return 0 if found.exists else 1
    if not found.exists:
        click.echo(f"{found.path}: no database (run `keelhaul db update` or `keelhaul db import`)")
        return 1
    age = found.age_hours
    click.echo(f"{found.path}: {found.advisories} advisories ({found.withdrawn} withdrawn), "
               f"updated {found.updated_at}" + (f" ({age:.1f} h ago)" if age is not None else ""))  # fmt: skip
    table = Table("ecosystem", "advisories", "imported", "from", box=None)
    for ecosystem, origin, imported, n in found.ecosystems:
        table.add_row(ecosystem, str(n), imported, origin)
    out.out.print(table)
    return 0
