"""``keelhaul parse``: read Dockerfiles as BuildKit would and show their build graph."""

from __future__ import annotations

from pathlib import Path

import click
from rich.table import Table

from keelhaul.cli.options import build_arg_option, parse_build_args, target_option
from keelhaul.cli.output import Output
from keelhaul.dockerfile.discover import find_dockerfiles
from keelhaul.dockerfile.stages import Build, resolve
from keelhaul.dockerfile.syntax import read_dockerfile
from keelhaul.errors import KeelhaulError


def _stage_summary(build: Build) -> str:
    needed = set(build.needed_stages())
    parts = []
    for stage in build.stages:
        base = (
            f"stage {build.stages[stage.base_stage].label}"
            if stage.base_stage is not None
            else stage.base
        )
        mark = "" if stage.index in needed else " (unused)"
        target = " [target]" if stage.index == build.target else ""
        parts.append(f"{stage.label}: {base}{target}{mark}")
    return "\n".join(parts)


@click.command("parse")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@build_arg_option
@target_option
@click.pass_obj
def command(
    out: Output, paths: tuple[Path, ...], build_args: tuple[str, ...], target: str | None
) -> int:
    """Parse the Dockerfiles in PATHS (files or folders, default `.`) and show their stages.

    Reports every syntax error with its file and line; one bad file does not stop the others.
    Exits 2 when any file could not be read or parsed.
    """
    args = parse_build_args(build_args)
    files = find_dockerfiles(paths or (Path("."),))
    if not files:
        out.info("no Dockerfiles found")
        return 0
    table = Table(show_lines=True)
    table.add_column("Dockerfile", overflow="fold")
    table.add_column("Instructions", justify="right")
    table.add_column("Stages (base)", overflow="fold")
    failed = 0
    for path in files:
        try:
            tree = read_dockerfile(path)
        except KeelhaulError as exc:
            failed += 1
            out.err.print(f"keelhaul: error: {exc}", markup=False)
            continue
        for error in tree.errors:
            out.err.print(f"keelhaul: error: {error}", markup=False)
        build = resolve(tree, args, target)
        for problem in build.problems:
            level = "error" if problem.fatal else "warning"
            out.err.print(
                f"keelhaul: {level}: {path}:{problem.line}: {problem.message}", markup=False
            )
        if tree.errors:
            failed += 1
        table.add_row(str(path), str(len(tree.instructions)), _stage_summary(build))
    if out.verbosity >= 0:
        out.out.print(table)
    out.info(f"{len(files)} Dockerfile(s) parsed, {failed} with errors")
    return 2 if failed else 0
