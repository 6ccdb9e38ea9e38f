"""``keelhaul db``: the vulnerability database (OSV advisories in SQLite)."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

import click
from rich.table import Table

from keelhaul.cli.output import Output
from keelhaul.settings import parse_size
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


class _Progress:
    """Download progress on stderr: a live bar on a terminal, else a line per quarter."""

    def __init__(self, out: Output) -> None:
        self.out = out
        self.bar: Any = None
        self.tasks: dict[str, Any] = {}
        self.shown: dict[str, int] = {}
        if out.verbosity >= 0 and out.err.is_terminal:
            from rich.progress import (
                BarColumn,
                DownloadColumn,
                Progress,
                TextColumn,
                TransferSpeedColumn,
            )

            self.bar = Progress(TextColumn("{task.description}"), BarColumn(),
                                DownloadColumn(), TransferSpeedColumn(), console=out.err,
                                transient=True)  # fmt: skip

    def __call__(self, ecosystem: str, done: int, total: int | None) -> None:
        if self.bar is not None:
            if ecosystem not in self.tasks:
                self.tasks[ecosystem] = self.bar.add_task(ecosystem, total=total)
            self.bar.update(self.tasks[ecosystem], completed=done, total=total)
            return
        quarter = 4 * done // total if total else done // (64 << 20)
        if self.shown.get(ecosystem) != quarter:
            self.shown[ecosystem] = quarter
            of = f" of {_size(total)}" if total else ""
            self.out.info(f"{ecosystem}: {_size(done)}{of}")

    def __enter__(self) -> _Progress:
        if self.bar is not None:
            self.bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.stop()


def _size(n: int) -> str:
    return f"{n / 2**20:.1f} MiB"


def _when(http_date: str | None) -> str:
    """An HTTP date (``Last-Modified``) as ISO 8601, like the other times shown."""
    if not http_date:
        return "-"
    try:
        return parsedate_to_datetime(http_date).isoformat(timespec="seconds")
    except (TypeError, ValueError):
        return http_date


def _age(hours: float | None) -> str:
    if hours is None:
        return "age unknown"
    if hours < 48:
        return f"{hours:.1f} h old"
    return f"{hours / 24:.0f} days old"


def _waiting(out: Output, path: Path) -> Callable[[], None]:
    return lambda: out.info(f"{path}: another keelhaul is writing the database; waiting for it")


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
@click.option("--max-size", default="4GiB", show_default=True, metavar="SIZE",
              help="Refuse an export larger than this (500MB, 1.5GiB).")  # fmt: skip
@click.pass_obj
def update(out: Output, db_path: Path | None, ecosystems: tuple[str, ...],
           mirror: str | None, max_size: str) -> int:  # fmt: skip
    """Download the OSV exports that changed since the last update (ETag / Last-Modified;
    an interrupted download resumes) and replace those ecosystems' advisories, atomically: a
    failed update leaves the database as it was."""
    path = _path(db_path)
    limit = parse_size(max_size, "--max-size")
    wanted = list(ecosystems)
    if not wanted:
        current = database.status(path)
        wanted = [e[0] for e in current.ecosystems] or list(database.DEFAULT_ECOSYSTEMS)
    base = mirror or os.environ.get("KEELHAUL_OSV_URL") or database.OSV_BASE_URL
    with _Progress(out) as progress:
        done = database.update(path, wanted, base, max_bytes=limit, progress=progress,
                               waiting=_waiting(out, path))  # fmt: skip
    for ecosystem, n in done.changed.items():
        resumed = done.resumed.get(ecosystem)
        out.info(f"{ecosystem}: {n} advisories"
                 + (f" (download resumed at {_size(resumed)})" if resumed else ""))  # fmt: skip
    for ecosystem in done.unchanged:
        out.info(f"{ecosystem}: unchanged")
    _say_skipped(out, done.skipped)
    found = database.status(path)
    click.echo(f"{path}: {len(done.changed)} ecosystem(s) updated "
               f"({sum(done.changed.values())} advisories), {len(done.unchanged)} unchanged; "
               f"data checked {found.current_at}")  # fmt: skip
    return 0


@command.command("import")
@_DB_OPTION
@click.argument("sources", nargs=-1, required=True,
                type=click.Path(exists=True, path_type=Path))  # fmt: skip
@click.pass_obj
def import_(out: Output, db_path: Path | None, sources: tuple[Path, ...]) -> int:
    """Add advisories from OSV zips, JSON files or folders of them (for air-gapped sites); a
    CISA KEV catalogue (known_exploited_vulnerabilities.json) or FIRST EPSS scores
    (epss_scores-DATE.csv, gzipped or not) replace those held."""
    path = _path(db_path)
    done = database.import_paths(path, sources, waiting=_waiting(out, path))
    for ecosystem, n in sorted(done.by_ecosystem.items()):
        out.info(f"{ecosystem}: {n} advisories")
    parts = [f"{done.records} advisories"]
    if done.kev:
        parts.append(f"{done.kev} known-exploited CVEs (CISA KEV)")
    if done.epss:
        parts.append(f"{done.epss} EPSS scores")
    click.echo(f"{path}: imported {', '.join(parts)}")
    _say_skipped(out, done.skipped)
    nothing = not (done.records or done.kev or done.epss)
    return 2 if nothing and done.skipped else 0


def _say_skipped(out: Output, skipped: list[str]) -> None:
    """One notice for the records not imported (the first few named), on stderr."""
    if not skipped:
        return
    shown = "; ".join(skipped[:3]) + ("; ..." if len(skipped) > 3 else "")
    out.err.print(f"keelhaul: notice: skipped {len(skipped)} malformed record(s): {shown}",
                  markup=False, soft_wrap=True)  # fmt: skip


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
            "checked_at": found.checked_at, "age_hours": found.age_hours,
            "advisories": found.advisories, "withdrawn": found.withdrawn,
            "ecosystems": [{"ecosystem": e, "origin": o, "imported_at": t, "records": n,
                            "published": found.published.get(e)}
                           for e, o, t, n in found.ecosystems],
            "kev": {"catalog": found.kev[0], "entries": found.kev[1]} if found.kev else None,
            "epss": {"scored": found.epss[0], "entries": found.epss[1]} if found.epss else None,
        }, indent=2))  # fmt: skip
        return 0 if found.exists else 1
    if not found.exists:
        click.echo(f"{found.path}: no database (run `keelhaul db update` or `keelhaul db import`)")
        return 1
    checked = f", checked current {found.checked_at}" if found.checked_at else ""
    click.echo(f"{found.path}: {found.advisories} advisories ({found.withdrawn} withdrawn), "
               f"updated {found.updated_at}{checked} ({_age(found.age_hours)})")  # fmt: skip
    if found.kev:
        click.echo(f"CISA KEV catalogue {found.kev[0]}: {found.kev[1]} CVEs")
    if found.epss:
        click.echo(f"FIRST EPSS scores ({found.epss[0]}): {found.epss[1]} CVEs")
    table = Table("ecosystem", "advisories", "imported", "published", "from", box=None)
    for ecosystem, origin, imported, n in found.ecosystems:
        table.add_row(ecosystem, str(n), imported, _when(found.published.get(ecosystem)), origin)
    out.out.print(table)
    return 0
