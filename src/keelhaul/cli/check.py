"""``keelhaul check``: lint Dockerfiles against the rule catalogue."""

from __future__ import annotations

import json
from pathlib import Path

import click

from keelhaul.cli.options import build_arg_option, parse_build_args
from keelhaul.cli.output import Output, read_each
from keelhaul.dockerfile.discover import find_dockerfiles
from keelhaul.findings import Finding, Severity
from keelhaul.rules.engine import check_dockerfile

STYLES = {"error": "bold red", "warning": "yellow", "info": "cyan", "style": "dim"}


def _as_json(finding: Finding) -> dict[str, object]:
    loc = finding.location
    return {
        "code": finding.code,
        "name": finding.name,
        "severity": finding.severity.value,
        "category": finding.category.value,
        "path": loc.path,
        "line": loc.line,
        "column": loc.column,
        "end_line": loc.end_line,
        "end_column": loc.end_column,
        "stage": finding.stage,
        "message": finding.message,
    }


@click.command("check")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)
@click.option(
    "--fail-on",
    type=click.Choice([s.value for s in Severity]),
    default="warning",
    show_default=True,
    help="Exit 1 when a finding is at least this severe.",
)
@build_arg_option
@click.pass_obj
def command(
    out: Output, paths: tuple[Path, ...], fmt: str, fail_on: str, build_args: tuple[str, ...]
) -> int:
    """Check the Dockerfiles in PATHS (files or folders, default `.`) against the rules.

    Exit 0 when no finding reaches --fail-on, 1 when one does, 2 on unreadable or unparsable
    input. `keelhaul rules` lists the rules.
    """
    args = parse_build_args(build_args)
    files = find_dockerfiles(paths or (Path("."),))
    findings: list[Finding] = []
    broken = 0
    for _, tree in read_each(out, files):
        if tree is None:
            broken += 1
            continue
        if tree.errors:
            broken += 1
            out.err.print(f"keelhaul: error: {tree.errors[0]}", markup=False)
            continue
        findings += check_dockerfile(tree, args)
    if fmt == "json":
        click.echo(json.dumps([_as_json(f) for f in findings], indent=2))
    else:
        for f in findings:
            sev = f.severity.value
            out.out.print(
                f"{f.location}: [{STYLES[sev]}]{sev}[/] {f.code} {f.name}: ",
                end="",
                highlight=False,
            )
            out.out.print(f.message, markup=False, highlight=False)
        counts = {s.value: sum(f.severity is s for f in findings) for s in Severity}
        summary = ", ".join(f"{n} {s}" for s, n in counts.items() if n)
        out.info(f"{len(files)} Dockerfile(s) checked: {summary or 'no findings'}")
    if broken:
        return 2
    threshold = Severity(fail_on).rank
    return 1 if any(f.severity.rank >= threshold for f in findings) else 0
