"""``keelhaul cache``: which instructions a change rebuilds, and how often over git history."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TextIO

import click

from keelhaul.cache.expensive import expensive_steps
from keelhaul.cache.history import layout, replay
from keelhaul.cache.keys import CacheModel
from keelhaul.cache.rates import rates
from keelhaul.cache.rebuilds import Change, rebuilds
from keelhaul.cache.render import (
    change_json,
    change_text,
    estimate,
    replay_json,
    replay_markdown,
    replay_text,
)
from keelhaul.cache.reorder import reordered
from keelhaul.cli.options import build_arg_option, parse_build_args, target_option
from keelhaul.cli.output import Output
from keelhaul.context.build_context import BuildContext, find_ignore_file
from keelhaul.context.dockerignore import DockerIgnore
from keelhaul.dockerfile.syntax import Dockerfile, parse, read_dockerfile
from keelhaul.errors import ConfigError, FileMissing, FileUnreadable

HELP = """Which instructions a change rebuilds, as BuildKit's cache decides.

With --changed FILE (repeatable) or --changed-from LIST: for the files that changed (paths relative to the context, or to the
current folder when they exist there), print per stage the first instruction that misses the
cache, why, and every step that runs again after it; EXPENSIVE marks dependency installs and
compiles. Stages the target does not need are not built.

With --git REV_RANGE (or --last N): replay each commit of the range against its first parent
and print each instruction's rebuild rate, beside the rate after the dependency-first reorder
`keelhaul fix --unsafe-fixes` (KH182) would make. --format markdown gives a table to paste
into a pull request (with --changed it prints the text report).

\b
JSON shapes (--format json):
  --changed: {"changed": [path], "ignored": [path], "changed_build_args": [name],
    "stages": [{"stage", "built", "first_miss": {"line", "end_line", "instruction",
    "expensive", "reason"} | null, "rebuilds": [{"line", "end_line", "instruction",
    "expensive"}]}], "expensive_rebuilds": int, "notes": [str]}
  --git: {"range", "commits", "replayed", "predate_dockerfile" (commits before the
    Dockerfile existed, in no count), "reorder_changes_dockerfile",
    "reordered_dockerfile", "instructions": [{"stage", "line", "line_after_reorder",
    "instruction", "expensive", "added_by_reorder", "rebuilt", "of",
    "rebuilt_after_reorder", "of_after_reorder"}], "per_commit": [{"commit", "subject",
    "context_files_changed", "rebuilt_lines", "rebuilt_lines_after_reorder", "note"}],
    "estimate_seconds": {"now", "after_reorder"} | null, "notes": [str]}

Exit 0, or 2 for bad input (not a git repository, bad range, missing Dockerfile, syntax error).
"""


def _dockerfile(context_dir: Path, file: Path | None) -> tuple[Path, Dockerfile]:
    path = file if file is not None else context_dir / "Dockerfile"
    tree = read_dockerfile(path)
    tree.raise_for_errors()
    return path, tree


def _ignore(context_dir: Path, dockerfile: Path) -> DockerIgnore | None:
    found = find_ignore_file(context_dir, dockerfile)
    if found is None:
        return None
    try:
        return DockerIgnore.parse(found.read_bytes(), str(found))
    except OSError as exc:
        raise FileUnreadable(found, exc.strerror or str(exc)) from None


def _relative(context_dir: Path, given: str) -> str:
    """A changed path relative to the context: as given, unless it names a file from here."""
    path = Path(given)
    if path.is_absolute() or (path.exists() and not (context_dir / path).exists()):
        try:
            return path.resolve().relative_to(context_dir.resolve()).as_posix()
        except ValueError:
            raise ConfigError(
                f"--changed {given}: outside the build context {context_dir}"
            ) from None
    return Path(os.path.normpath(given)).as_posix()


def _seconds(values: tuple[str, ...]) -> dict[int, float]:
    out: dict[int, float] = {}
    for value in values:
        line, sep, secs = value.partition("=")
        try:
            if not sep:
                raise ValueError
            out[int(line)] = float(secs)
        except ValueError:
            raise ConfigError(f"--step-seconds {value!r}: expected LINE=SECONDS") from None
    return out


def _write(text: str) -> None:
    sys.stdout.buffer.write(text.encode("utf-8", "surrogateescape"))
    sys.stdout.buffer.flush()


@click.command("cache", help=HELP)
@click.argument("context_dir", default=".", type=click.Path(path_type=Path, file_okay=False))
@click.option(
    "-f",
    "--file",
    "file",
    type=click.Path(path_type=Path, dir_okay=False),
    help="The Dockerfile (default: CONTEXT_DIR/Dockerfile).",
)
@click.option("--changed", multiple=True, metavar="FILE", help="A changed file (repeatable).")
@click.option(
    "--changed-from",
    type=click.File("r"),
    metavar="LIST",
    help="Read changed files from LIST, one a line (`-`: stdin, e.g. from `git diff --name-only`).",
)
@click.option(
    "--changed-arg",
    multiple=True,
    metavar="NAME",
    help="A build arg whose value changed (repeatable).",
)
@click.option(
    "--git", "rev_range", metavar="REV_RANGE", help="Replay these commits (e.g. HEAD~100..HEAD)."
)
@click.option(
    "--last",
    type=click.IntRange(min=1),
    metavar="N",
    help="Replay the last N commits (of REV_RANGE, default HEAD).",
)
@click.option(
    "--step-seconds",
    multiple=True,
    metavar="LINE=SECONDS",
    help="With --git: how long the step on LINE takes, for a time estimate (repeatable).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "markdown", "json"]),
    default="text",
    show_default=True,
)
@build_arg_option
@target_option
@click.pass_obj
def command(
    out: Output,
    context_dir: Path,
    file: Path | None,
    changed: tuple[str, ...],
    changed_from: TextIO | None,
    changed_arg: tuple[str, ...],
    rev_range: str | None,
    last: int | None,
    step_seconds: tuple[str, ...],
    fmt: str,
    build_args: tuple[str, ...],
    target: str | None,
) -> int:
    if not context_dir.is_dir():
        raise FileMissing(context_dir)
    args = parse_build_args(build_args)
    if rev_range is not None or last is not None:
        if changed or changed_from or changed_arg:
            raise click.UsageError("--changed and --git cannot be used together")
        return _history(
            out,
            context_dir,
            file,
            rev_range or "HEAD",
            last,
            args,
            target,
            _seconds(step_seconds),
            fmt,
        )
    if changed_from is not None:
        changed += tuple(line.strip() for line in changed_from if line.strip())
    elif not changed and not changed_arg:
        raise click.UsageError(
            "give --changed FILE, --changed-from LIST, --changed-arg NAME or --git REV_RANGE"
        )
    return _changed(out, context_dir, file, changed, changed_arg, args, target, fmt)


def _changed(
    out: Output,
    context_dir: Path,
    file: Path | None,
    changed: tuple[str, ...],
    changed_args: tuple[str, ...],
    args: dict[str, str],
    target: str | None,
    fmt: str,
) -> int:
    path, tree = _dockerfile(context_dir, file)
    model = CacheModel.of(tree, args, target)
    _check_target(model, target)
    ignore = _ignore(context_dir, path)
    files = frozenset(_relative(context_dir, c) for c in changed)
    ignored = sorted(f for f in files if ignore is not None and ignore.excludes(f))

    def sent(rel: str) -> bool:
        return ignore is None or not ignore.excludes(rel)

    own = (
        _relative(context_dir, str(path))
        if path.resolve().is_relative_to(context_dir.resolve())
        else None
    )
    if own in files:
        out.info(
            f"note: {own} is read as a context file only; to see what its own edits rebuild, use --git"
        )
    result = rebuilds(model, Change(files, frozenset(changed_args), None, sent))
    expensive = expensive_steps(tree, args)
    if fmt == "json":
        _write(change_json(result, expensive, ignored))
    else:  # text and markdown: the text report reads fine in both
        _write(change_text(result, expensive, ignored, str(path)))
    return 0


def _check_target(model: CacheModel, target: str | None) -> None:
    if target is not None and model.build.stage_by_name(target) is None:
        raise ConfigError(f"--target {target}: no stage of that name")


def _history(
    out: Output,
    context_dir: Path,
    file: Path | None,
    rev_range: str,
    last: int | None,
    args: dict[str, str],
    target: str | None,
    seconds: dict[int, float],
    fmt: str,
) -> int:
    path = file if file is not None else context_dir / "Dockerfile"
    place = layout(context_dir, path)
    outside = None
    if place.dockerfile is None:
        _, tree = _dockerfile(context_dir, file)
        outside = tree.render()
    # The reorder copies the manifests the context holds now (an approximation for old commits).
    try:
        build_context: BuildContext | None = BuildContext.read(context_dir, path)
    except FileMissing:
        build_context = None

    def reorder(text: str) -> str | None:
        return reordered(text, build_context, args)

    history = replay(place, rev_range, last, args, target, reorder, outside)
    if last is not None:
        history.rev_range = f"{rev_range}, last {last}"
    if not history.commits:
        raise ConfigError(f"--git {rev_range}: no commits in that range")
    final_text = history.final_text
    if final_text is None:
        raise FileMissing(f"{path} (at the end of {rev_range})")
    final_tree = parse(final_text, str(path))
    final_tree.raise_for_errors()
    final = CacheModel.of(final_tree, args, target)
    _check_target(final, target)
    fixed_text = history.final_reordered
    fixed = CacheModel.of(parse(fixed_text, str(path)), args, target) if fixed_text else None
    expensive = expensive_steps(final_tree, args)
    table = rates(history, final, fixed, expensive)
    est = estimate(table, seconds)
    if fmt == "json":
        _write(replay_json(history, table, final, est, expensive))
    elif fmt == "markdown":
        _write(replay_markdown(history, table, final, est, str(path)))
    else:
        _write(replay_text(history, table, final, est, str(path)))
    return 0
