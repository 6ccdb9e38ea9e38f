"""``keelhaul parse``: read Dockerfiles as BuildKit would and show their build graph."""

from __future__ import annotations

from pathlib import Path

import click
from rich.markup import escape

from keelhaul.cli.options import build_arg_option, parse_build_args, target_option
from keelhaul.cli.output import Output, read_each
from keelhaul.dockerfile.discover import find_dockerfiles
from keelhaul.dockerfile.stages import Build, DependencyVia, resolve


def _stage_lines(build: Build) -> list[str]:
    needed = set(build.needed_stages())
    lines = []
    for stage in build.stages:
        if stage.base_stage is not None:
            base = f"stage {build.stages[stage.base_stage].label}"
        else:
            base = stage.base or "(blank)"
        notes = []
        if stage.index == build.target:
            notes.append("target")
        elif stage.index not in needed:
            notes.append("unused by the target")
        copies = sorted(
            {
                d.reference if d.stage is None else build.stages[d.stage].label
                for d in stage.dependencies
                if d.via is not DependencyVia.FROM
            }
        )
        if copies:
            notes.append("copies from " + ", ".join(copies))
        suffix = f"  ({'; '.join(notes)})" if notes else ""
        lines.append(f"  stage {stage.label}: FROM {base}{suffix}")
    return lines


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
    failed = 0
    for path, tree in read_each(out, files):
        if tree is None:
            failed += 1
            continue
        for error in tree.errors:
            out.err.print(f"keelhaul: error: {error}", markup=False)
        for warning in tree.warnings:
            out.err.print(
                f"keelhaul: warning: {path}:{warning.line}: empty continuation line "
                "(BuildKit warns; a future release will reject it)",
                markup=False,
            )
        build = resolve(tree, args, target)
        # BuildKit stops at a syntax error: what follows from a broken tree would be noise.
        for problem in () if tree.errors else build.problems:
            level = "error" if problem.fatal else "warning"
            out.err.print(
                f"keelhaul: {level}: {path}:{problem.line}: {problem.message}", markup=False
            )
        if tree.errors or any(p.fatal for p in build.problems):
            failed += 1
        if out.verbosity >= 0:
            out.out.print(f"[bold]{escape(str(path))}[/]: {len(tree.instructions)} instructions")
            for line in _stage_lines(build):
                out.out.print(line, markup=False)
            for directive in tree.directives:
                out.detail(
                    f"  directive {directive.name}={directive.value} (line {directive.line})"
                )
    out.info(f"{len(files)} Dockerfile(s) parsed, {failed} with errors")
    return 2 if failed else 0
