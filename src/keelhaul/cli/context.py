"""``keelhaul context``: what a ``docker build`` of a folder sends, and how to send less.

``--format json`` writes one object (``version`` 1)::

    {"version": 1, "context": DIR, "dockerfile": PATH|null, "ignore_file": PATH|null,
     "sent": {"files": N, "bytes": N, "folders": N, "skipped_folders": N},
     "largest_files": [{"path", "bytes"}], "largest_folders": [{"path", "bytes"}],
     "top_level": [{"path" (folders end in /), "files", "bytes"}],
     "unused": {"files", "bytes", "paths" (first 100)} | null (unknowable or no Dockerfile),
     "unused_unknown": [why: a COPY source names a variable...],
     "vcs_and_dependency_folders": [{"path", "kind" (vcs|dependencies|build-output),
                                     "files", "bytes"}],
     "secrets": [{"path", "kind", "label", "matches" (redacted),
                  "copied": {"instruction", "line", "stage"} | null (a COPY naming it)}],
     "suggested_lines": [{"line", "reason", "files", "bytes" (what the line saves)}],
     "unreadable": [paths], "findings": <keelhaul check's JSON report of the findings>}

Paths are relative to the context root, ``/``-separated; lists are largest first.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click
from rich.markup import escape
from rich.table import Table

from keelhaul.cli.options import build_arg_option, parse_build_args
from keelhaul.cli.output import Output
from keelhaul.context.build_context import BuildContext
from keelhaul.context.usage import (
    ContextUse,
    Source,
    Suggestion,
    context_use,
    copied_secrets,
    suggest_lines,
    unused_files,
)
from keelhaul.context.walk import ContextWalk, SentFile, walk_context
from keelhaul.dockerfile.syntax import Dockerfile, read_dockerfile
from keelhaul.errors import FileMissing
from keelhaul.findings import Finding
from keelhaul.report import FORMATS, Report, render, rule_infos
from keelhaul.report.model import BrokenFile
from keelhaul.rules.dockerfile.context._context import ignore_file_fix
from keelhaul.rules.engine import check_context, dockerfile_rules
from keelhaul.rules.registry import DockerfileContext, Rule
from keelhaul.selection import THRESHOLD_WORDS
from keelhaul.writing import check_inside, write_atomically

#: The rule codes of the build context (KH230-KH239), and KH205 (secret-file-copied): a
#: secret a COPY takes from the context is a finding here too, with the advice that helps.
CONTEXT_CODES = frozenset({*(f"KH23{i}" for i in range(10)), "KH205"})
#: The ``version`` field of ``--format json``.
JSON_VERSION = 1
_SEVERITY_RANK = {"error": 3, "warning": 2, "info": 1, "style": 0}


@dataclass
class ContextReport:
    """Everything ``keelhaul context`` found, ready for any format."""

    walk: ContextWalk
    dockerfile: Path | None
    use: ContextUse | None
    unused: list[SentFile] | None
    suggestions: list[Suggestion]
    findings: list[Finding]
    source: str
    copied: dict[str, Source] = field(default_factory=dict)
    """The secrets a COPY, ADD or bind mount names, by path: a .dockerignore line cannot help."""

    @property
    def unused_bytes(self) -> int | None:
        return None if self.unused is None else sum(f.size for f in self.unused)


def context_rules() -> list[Rule]:
    return [r for r in dockerfile_rules() if r.code in CONTEXT_CODES and r.default_on]


def _dockerfile(folder: Path, given: Path | None) -> tuple[Path | None, Dockerfile | None]:
    """The Dockerfile and its tree; a missing default Dockerfile is fine (walk only)."""
    path = given if given is not None else folder / "Dockerfile"
    if given is None and not path.is_file():
        return None, None
    tree = read_dockerfile(path)
    if tree.errors:
        raise tree.errors[0]
    return path, tree


def analyse(folder: Path, given: Path | None, build_args: dict[str, str]) -> ContextReport:
    """Walk the context, match it with the Dockerfile, run the context rules."""
    if not folder.is_dir():
        raise FileMissing(folder)
    path, tree = _dockerfile(folder, given)
    walk = walk_context(folder, path)
    if tree is None:
        return ContextReport(walk, None, None, None, suggest_lines(walk, ContextUse(), None), [],
                             "")  # fmt: skip
    bounded = BuildContext.read(folder, path)
    ctx = DockerfileContext.of(tree, build_args, {}, bounded)
    use = context_use(ctx.build)
    unused = unused_files(walk, use, _build_files(folder, path, walk.ignore_file))
    findings = check_context(ctx, context_rules(), fixes=True)
    copied = {secret.path: source for secret, source in copied_secrets(walk, use)}
    return ContextReport(walk, path, use, unused, suggest_lines(walk, use, unused), findings,
                         tree.render(), copied)  # fmt: skip


def _build_files(folder: Path, *paths: Path | None) -> list[str]:
    """The Dockerfile and the ignore file, relative to the context (when inside it)."""
    found: list[str] = []
    root = os.path.abspath(folder)
    for path in paths:
        if path is not None:
            rel = os.path.relpath(os.path.abspath(path), root)
            if not rel.startswith(".."):
                found.append(rel.replace(os.sep, "/"))
    return found


def write_suggestions(report: ContextReport, build_args: dict[str, str]) -> list[str]:
    """Add the suggested lines to the ignore file, through the fix KH230/KH231 make.

    Lines the file already holds are not added again, and the fix drops any line that would
    leave out something a COPY names. Returns the lines written.
    """
    present = set((report.walk.ignore_text or "").splitlines())
    lines = [s.line for s in report.suggestions if s.line not in present]
    if not lines:
        return []
    tree = read_dockerfile(report.dockerfile) if report.dockerfile else None
    folder = report.walk.root
    bounded = BuildContext.read(folder, report.dockerfile)
    if tree is None:
        tree = _empty_dockerfile()
    ctx = DockerfileContext.of(tree, build_args, {}, bounded)
    fix = ignore_file_fix(ctx, bounded, lines)
    if fix is None:
        return []
    for change in fix.files:  # a .dockerignore linked out of the context is refused first
        check_inside(Path(change.path), folder)
    for change in fix.files:
        path = Path(change.path)
        write_atomically(path, change.text.encode("utf-8", "surrogateescape"), root=folder)
    written = set(fix.files[0].text.splitlines()) - present if fix.files else set()
    return [line for line in lines if line in written]


def _empty_dockerfile() -> Dockerfile:
    from keelhaul.dockerfile.syntax import parse

    return parse(b"", "Dockerfile")


# --- output -----------------------------------------------------------------------------------


def size(n: int) -> str:
    """Bytes for people: ``1.2 MB`` (decimal units, as docker build prints them)."""
    value = float(n)
    for unit in ("B", "kB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{n} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:.1f} TB"  # pragma: no cover


def as_json(report: ContextReport, findings_json: Any) -> dict[str, Any]:
    walk = report.walk
    return {
        "version": JSON_VERSION,
        "context": str(walk.root),
        "dockerfile": None if report.dockerfile is None else str(report.dockerfile),
        "ignore_file": None if walk.ignore_file is None else str(walk.ignore_file),
        "sent": {"files": len(walk.files), "bytes": walk.total_bytes,
                 "folders": len(walk.folders), "skipped_folders": walk.skipped_folders},
        "largest_files": [{"path": f.path, "bytes": f.size} for f in walk.largest_files()],
        "largest_folders": [{"path": p, "bytes": b} for p, b in walk.largest_folders()],
        "top_level": [{"path": p, "files": n, "bytes": b} for p, n, b in walk.top_level()],
        "unused": None if report.unused is None else {
            "files": len(report.unused), "bytes": report.unused_bytes,
            "paths": sorted(f.path for f in report.unused)[:100]},
        "unused_unknown": [] if report.use is None else report.use.unknown,
        "vcs_and_dependency_folders": [
            {"path": f.path, "kind": f.kind.value, "files": f.files, "bytes": f.size}
            for f in walk.notable_folders],
        "secrets": [{"path": s.path, "kind": s.kind, "label": s.label, "matches": list(s.matches),
                     "copied": _copied_json(report.copied.get(s.path))}
                    for s in walk.secrets],
        "suggested_lines": [{"line": s.line, "reason": s.reason, "files": s.files,
                             "bytes": s.saves} for s in report.suggestions],
        "unreadable": walk.unreadable,
        "findings": findings_json,
    }  # fmt: skip


def _copied_json(source: Source | None) -> dict[str, Any] | None:
    if source is None:
        return None
    return {"instruction": source.instruction, "line": source.line, "stage": source.stage}


#: What to do instead of copying a secret into the image.
COPIED_SECRET_ADVICE = ("do not copy {what} into the image (anyone who can pull it can read "
                        "it); use a build secret: RUN --mount=type=secret,id=...")  # fmt: skip


def print_text(out: Output, report: ContextReport, top: int) -> None:
    con = out.out
    walk = report.walk
    ignore = walk.ignore_file.name if walk.ignore_file else "no .dockerignore"
    con.print(f"[bold]Build context[/bold] {escape(str(walk.root))} ({escape(ignore)})")
    con.print(f"  sends [bold]{len(walk.files):,}[/bold] files, [bold]{size(walk.total_bytes)}"
              f"[/bold] ({walk.total_bytes:,} bytes)")  # fmt: skip
    if report.unused is not None and not report.unused:
        con.print("  every file sent is one a COPY or ADD can use")
    elif report.unused is not None:
        con.print(f"  no COPY or ADD uses [bold]{size(report.unused_bytes or 0)}[/bold] of it "
                  f"({len(report.unused):,} files): the legacy builder uploads them anyway; "
                  "BuildKit skips them unless a COPY . takes everything")  # fmt: skip
    elif report.use is not None:
        con.print("  unused bytes: unknown, " + "; ".join(report.use.unknown[:3]))
    else:
        con.print("  unused bytes: unknown (no Dockerfile)")
    if walk.files:
        con.print(_table("Largest files", [(f.path, f.size) for f in walk.largest_files(top)]))
        folders = walk.largest_folders(top)
        if folders:
            con.print(_table("Largest folders", folders))
        con.print(_table("By top-level entry", [(p, b) for p, _, b in walk.top_level()[:top]]))
    for folder in walk.notable_folders:
        con.print(f"  [yellow]{folder.kind.value}[/yellow] {escape(folder.path)}/ sent: "
                  f"{folder.files:,} files, {size(folder.size)}", markup=True)  # fmt: skip
    for secret in walk.secrets:
        found = f" ({'; '.join(secret.matches)})" if secret.matches else ""
        con.print(f"  [red]secret[/red] {escape(secret.path)}: {secret.label}{escape(found)}",
                  markup=True, highlight=False)  # fmt: skip
        source = report.copied.get(secret.path)
        if source is not None:
            what = "a private key" if secret.kind == "private-key" else "a secret"
            con.print(
                f"    {source.instruction} on line {source.line} puts it in the image: "
                + COPIED_SECRET_ADVICE.format(what=what),
                markup=False,
                highlight=False,
            )
    for path in walk.unreadable:
        con.print(f"  [red]unreadable[/red] {escape(path)} (docker build would fail)")
    if report.suggestions:
        con.print("[bold].dockerignore lines that would cut it[/bold] (--write-dockerignore adds "
                  "them):")  # fmt: skip
        for s in report.suggestions:
            con.print(f"  {s.line:<28} saves {size(s.saves):>10}  ({s.reason})", markup=False)


def _table(title: str, rows: list[tuple[str, int]]) -> Table:
    table = Table(title=title, title_justify="left", box=None, pad_edge=False)
    table.add_column("bytes", justify="right")
    table.add_column("path")
    for path, n in rows:
        table.add_row(size(n), escape(path))
    return table


def _report(report: ContextReport, fmt: str) -> str:
    rules = context_rules()
    name = str(report.dockerfile) if report.dockerfile else "Dockerfile"
    color = fmt in ("text", "concise") and sys.stdout.isatty() and "NO_COLOR" not in os.environ
    model = Report(findings=report.findings, files=[name], broken=list[BrokenFile](),
                   rules=rule_infos(rules), sources={name: report.source} if report.source else {},
                   cwd=Path.cwd(), color=color)  # fmt: skip
    return render(fmt, model)


@click.command("context")
@click.argument(
    "folder", default=".", type=click.Path(path_type=Path, file_okay=False), metavar="[DIR]"
)
@click.option(
    "-f", "--file", "dockerfile", type=click.Path(path_type=Path, dir_okay=False),
    help="The Dockerfile (default: DIR/Dockerfile); its <name>.dockerignore wins, as in BuildKit.",
)  # fmt: skip
@click.option(
    "--format", "fmt", type=click.Choice(FORMATS), default="text", show_default=True,
    help="text for people; json: the whole report (findings included); sarif, gitlab, "
    "checkstyle, junit, github, concise: the findings only.",
)  # fmt: skip
@click.option(
    "--fail-on", type=click.Choice(THRESHOLD_WORDS), default="warning", show_default=True,
    help="Exit 1 when a finding is at least this severe (none: never).",
)  # fmt: skip
@click.option("--top", default=10, show_default=True, help="How many largest files and folders.")
@click.option(
    "--write-dockerignore", is_flag=True,
    help="Add the suggested lines to the ignore file (never one a COPY needs).",
)  # fmt: skip
@build_arg_option
@click.pass_obj
def command(
    out: Output,
    folder: Path,
    dockerfile: Path | None,
    fmt: str,
    fail_on: str,
    top: int,
    write_dockerignore: bool,
    build_args: tuple[str, ...],
) -> int:
    """Show what `docker build DIR` sends: files and bytes, the largest files and folders, bytes
    no COPY or ADD uses, secrets and VCS or dependency folders, and the .dockerignore lines
    that would cut it.

    The context is walked through its .dockerignore exactly as BuildKit applies it. Exit 0
    when no finding reaches --fail-on, 1 when one does, 2 on a missing folder, an unreadable
    or invalid .dockerignore, or a Dockerfile that does not parse.
    """
    args = parse_build_args(build_args)
    report = analyse(folder, dockerfile, args)
    if write_dockerignore:
        written = write_suggestions(report, args)
        where = report.walk.ignore_file or folder / ".dockerignore"
        if written:
            out.info(f"wrote {len(written)} line(s) to {where}: {', '.join(written)}")
        else:
            out.info(f"{where}: nothing to add")
        if written:
            report = analyse(folder, dockerfile, args)
    if fmt == "json":
        findings = json.loads(_report(report, "json"))
        text = json.dumps(as_json(report, findings), indent=2) + "\n"
        sys.stdout.write(text)
    elif fmt == "text":
        print_text(out, report, top)
        if report.findings:
            sys.stdout.write(_report(report, "text"))
    else:
        sys.stdout.write(_report(report, fmt))
    sys.stdout.flush()
    return 1 if _failing(report.findings, fail_on) else 0


def _failing(findings: list[Finding], fail_on: str) -> bool:
    if fail_on == "none":
        return False
    threshold = _SEVERITY_RANK.get(fail_on, 2)
    return any(f.severity.rank >= threshold for f in findings)


__all__ = ["ContextReport", "analyse", "command", "write_suggestions"]
