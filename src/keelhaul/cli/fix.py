"""``keelhaul fix``: apply the fixes of the findings, safely; or show them (``--diff``)."""

from __future__ import annotations

import difflib
import sys
from pathlib import Path

import click

from keelhaul.catalogue import all_rules
from keelhaul.checking import BROKEN, DOCKERFILE, STDIN, UNKNOWN, Checker, Target
from keelhaul.cli.check import RULE_WORDS, targets_of
from keelhaul.cli.options import (
    build_arg_option,
    config_file_option,
    context_option,
    no_config_option,
    parse_build_args,
    quiet_unknown_option,
    report_unknown,
    stdin_filename_option,
)
from keelhaul.cli.output import Output
from keelhaul.cli.redacting import data_stdout
from keelhaul.config import ConfigFinder, Overrides
from keelhaul.errors import KeelhaulError
from keelhaul.findings import Safety
from keelhaul.fix.fixing import FixOutcome, fix_target
from keelhaul.fix.pinning import CachedResolver, pin_text
from keelhaul.selection import Vocabulary
from keelhaul.writing import check_inside, check_replaceable, write_atomically


def _diff_text(name: str, old: str, new: str) -> str:
    before = old.splitlines(keepends=True)
    after = new.splitlines(keepends=True)
    shown = name.lstrip("/")
    lines = difflib.unified_diff(before, after, f"a/{shown}", f"b/{shown}")
    return "".join(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n"
                   for line in lines)  # fmt: skip


def _resolver() -> CachedResolver:
    # Imported here: the HTTP stack is needed only with --pin.
    from keelhaul.registry import RegistryClient, resolve_digest_from_engine

    client = RegistryClient()

    def from_registry(reference: str) -> str:
        return client.resolve_digest(reference).digest

    def from_engine(reference: str) -> str:
        return resolve_digest_from_engine(reference).digest

    return CachedResolver(from_registry, from_engine)


def _read(target: Target) -> str:
    if target.source is not None:  # a runtime file: discovery read it already
        return target.source.text
    data = target.data if target.data is not None else target.path.read_bytes()
    return data.decode("utf-8", "surrogateescape")


@click.command("fix")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path, allow_dash=True))
@click.option("--diff", is_flag=True, help="Print a unified diff of the fixes; change nothing.")
@click.option("--check", "check_only", is_flag=True, help="Exit 1 when a file would change.")
@click.option("--unsafe-fixes", is_flag=True, help="Also apply fixes that may change behaviour.")
@click.option("--select", multiple=True, metavar="RULES", help=f"Fix only these ({RULE_WORDS}).")
@click.option("--extend-select", multiple=True, metavar="RULES", help="Fix these as well.")
@click.option("--ignore", multiple=True, metavar="RULES", help="Do not fix these.")
@config_file_option
@no_config_option
@stdin_filename_option
@context_option
@click.option(
    "--pin",
    is_flag=True,
    help="Pin FROM images to their digest (from the registry, else the local engine).",
)
@click.option("--update", is_flag=True, help="With --pin: refresh digests already pinned.")
@click.option(
    "--verify",
    "verify_fixes",
    is_flag=True,
    help="Build before and after with the Docker Engine (`keelhaul verify`) and keep only the "
    "fixes that still build and pass the smoke check.",
)
@click.option("--network", metavar="NAME", help="With --verify: the network of builds and runs.")
@click.option("--base-map", multiple=True, metavar="IMAGE=LOCAL",
              help="With --verify: build FROM LOCAL where the Dockerfile says IMAGE.")  # fmt: skip
@click.option(
    "--render/--no-render",
    default=True,
    show_default=True,
    help="Render kustomize overlays (kubectl or kustomize on PATH): a base's manifest is fixed "
    "only where every overlay that deploys it needs the fix, and the result is rendered "
    "again before it is written; patches are never edited. --no-render fixes every file as "
    "written.",
)
@build_arg_option
@quiet_unknown_option
@click.option(
    "-v",
    "--verbose",
    count=True,
    help="List each unsafe fix with what it may change (those left out, and with "
    "--unsafe-fixes those applied); as `keelhaul -v fix`.",
)
@click.pass_obj
def command(
    out: Output,
    paths: tuple[Path, ...],
    diff: bool,
    check_only: bool,
    unsafe_fixes: bool,
    select: tuple[str, ...],
    extend_select: tuple[str, ...],
    ignore: tuple[str, ...],
    config_file: Path | None,
    isolated: bool,
    stdin_filename: str | None,
    context_dir: Path | None,
    pin: bool,
    update: bool,
    verify_fixes: bool,
    network: str | None,
    base_map: tuple[str, ...],
    build_args: tuple[str, ...],
    render: bool,
    quiet_unknown: bool,
    verbose: int,
) -> int:
    """Fix what `keelhaul check` finds in the Dockerfiles in PATHS (default `.`).

    Safe fixes keep the meaning and apply by default; unsafe ones (reordering, a new USER, a
    different base) only with --unsafe-fixes. Files are rewritten atomically and only the
    instructions involved change. `-` reads stdin and writes the fixed file to stdout.

    Exit 0 when done (or, with --check/--diff, when nothing would change), 1 when --check or
    --diff finds something to change, 2 on unreadable or unparsable input.
    """
    if config_file is not None and isolated:
        raise click.UsageError("--config and --no-config do not go together")
    if verbose and out.verbosity >= 0:
        out.verbosity += verbose
    rules = all_rules()
    vocabulary = Vocabulary(rules)
    overrides = Overrides(
        select=select or None, extend_select=extend_select, ignore=ignore, shellcheck=False
    )
    finder = ConfigFinder(
        vocabulary, config_file=config_file, isolated=isolated, overrides=overrides
    )
    checker = Checker(
        finder,
        vocabulary,
        rules,
        build_args=parse_build_args(build_args),
        context=context_dir,
        shellcheck=None,
        note=out.detail,
        error=lambda message: None,  # reported once per file below
    )
    if update and not pin:
        raise click.UsageError("--update goes with --pin")
    if (network or base_map) and not verify_fixes:
        raise click.UsageError("--network and --base-map go with --verify")
    resolver = _resolver() if pin else None
    dry = diff or check_only
    broken = changed = 0
    for target in targets_of(paths, stdin_filename, render=render):
        if target.kind == UNKNOWN:
            if report_unknown(out, [(target.name, target.why, target.named)], quiet_unknown):
                broken += 1
            continue
        if target.kind == BROKEN:  # a named overlay its renderer refused
            out.err.print(f"keelhaul: error: {target.name}: {target.why}", markup=False)
            broken += 1
            continue
        try:
            text = _read(target)
        except OSError as exc:
            out.err.print(f"keelhaul: error: {target.name}: {exc.strerror}", markup=False)
            broken += 1
            continue
        outcome = fix_target(checker, target, text, unsafe_fixes)
        if outcome.broken is not None:
            out.err.print(f"keelhaul: error: {outcome.broken}", markup=False)
            broken += 1
            continue
        if outcome.bug is not None:
            out.err.print(f"keelhaul: bug: {target.name}: {outcome.bug}", markup=False)
        if verify_fixes and target.kind == DOCKERFILE and outcome.changed and target.data is None:
            from keelhaul.cli.verify import verified_outcome

            outcome = verified_outcome(
                out, checker, target, outcome, unsafe_fixes, context_dir, network, base_map,
                config_file, isolated, parse_build_args(build_args),
            )  # fmt: skip
        if resolver is not None and target.kind == DOCKERFILE:
            try:
                pinned = pin_text(outcome.after, target.name, resolver, update)
            except KeelhaulError as exc:  # unreachable registry, wrong credentials...
                out.err.print(f"keelhaul: error: {target.name}: {exc}", markup=False)
                broken += 1
            else:
                outcome.after = pinned.text
                for note in pinned.skipped:
                    out.detail(note)
                for done in pinned.pinned:
                    out.detail(f"{target.name}:{done.line}: {done.reference} -> {done.digest}")
        is_stdin = target.data is not None and target.name == (stdin_filename or STDIN)
        try:  # a .dockerignore linked out of its folder: neither read, shown nor written
            for other in () if is_stdin and not dry else outcome.files:
                check_inside(Path(other), Path(other).parent)
        except KeelhaulError as exc:
            out.err.print(f"keelhaul: error: {exc}", markup=False)
            broken += 1
            continue
        try:
            changed += _write(out, outcome, target, is_stdin, diff, dry, check_only)
        except KeelhaulError as exc:  # one file that cannot be written: say so, go on
            out.err.print(f"keelhaul: error: {exc}", markup=False)
            broken += 1
            continue
        except OSError as exc:
            out.err.print(f"keelhaul: error: {target.name}: {exc.strerror or exc}", markup=False)
            broken += 1
            continue
        _summarise(out, outcome, dry)
    if broken:
        return 2
    return 1 if dry and changed else 0


def _write(
    out: Output,
    outcome: FixOutcome,
    target: Target,
    is_stdin: bool,
    diff: bool,
    dry: bool,
    check_only: bool,
) -> int:
    """Write (or show) what fixing ``target`` changed; how many files changed."""
    changed = 0
    if outcome.changed and not dry and not is_stdin:
        check_replaceable(target.path)  # before any other file is written for it
    for other, content in outcome.files.items():
        changed += 1
        if is_stdin and not dry:  # `fix -` writes the fixed Dockerfile to stdout, nothing else
            out.info(
                f"keelhaul: {other}: not written (`fix -` writes only to stdout); "
                "`keelhaul fix` on the file, or `keelhaul context --write-dockerignore`, "
                "updates it"
            )
            continue
        old_path = Path(other)
        old = old_path.read_text("utf-8", "surrogateescape") if old_path.exists() else ""
        if diff:
            sys.stdout.write(_diff_text(other, old, content))
        elif not dry:
            write_atomically(
                old_path, content.encode("utf-8", "surrogateescape"), root=old_path.parent
            )
    if outcome.changed:
        changed += 1
        if diff:
            sys.stdout.write(_diff_text(outcome.name, outcome.before, outcome.after))
        elif is_stdin and not check_only:
            data_stdout().write(outcome.after.encode("utf-8", "surrogateescape"))
        elif not dry:
            write_atomically(target.path, outcome.after.encode("utf-8", "surrogateescape"))
    elif is_stdin and not dry:
        data_stdout().write(outcome.before.encode("utf-8", "surrogateescape"))
    return changed


def _summarise(out: Output, outcome: FixOutcome, dry: bool) -> None:
    verb = "would fix" if dry else "fixed"
    for note in outcome.notes:
        out.info(f"keelhaul: {note}")
    if outcome.applied:
        codes = ", ".join(sorted({f.code for f in outcome.applied}))
        out.info(f"{outcome.name}: {verb} {len(outcome.applied)} finding(s) ({codes})")
    for finding in outcome.applied:
        if finding.fix is not None and finding.fix.safety is Safety.UNSAFE:
            out.detail(
                f"{outcome.name}:{finding.location.line}: {finding.code} "
                f"{'would apply' if dry else 'applied'} an unsafe fix "
                f"({finding.fix.description}: {finding.fix.why_unsafe})"
            )
    for finding in outcome.unsafe_left:
        assert finding.fix is not None
        out.detail(
            f"{outcome.name}:{finding.location.line}: {finding.code} has an unsafe fix "
            f"({finding.fix.description}: {finding.fix.why_unsafe}); use --unsafe-fixes"
        )
    if outcome.unsafe_left:
        out.info(
            f"{outcome.name}: {len(outcome.unsafe_left)} more with --unsafe-fixes "
            "(-v lists them with what each may change)"
        )
