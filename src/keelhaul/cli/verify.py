"""``keelhaul verify``: build a Dockerfile as it is and as fixed (or two versions), compare."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from keelhaul.cli.options import (
    build_arg_option,
    config_file_option,
    no_config_option,
    parse_build_args,
    target_option,
)
from keelhaul.cli.output import Output
from keelhaul.errors import FileMissing, KeelhaulError

if TYPE_CHECKING:
    from keelhaul.checking import Checker, Target
    from keelhaul.fix.fixing import FixOutcome

FORMATS = ("text", "markdown", "json")


@click.command("verify")
@click.argument("directory", required=False, type=click.Path(path_type=Path, file_okay=False),
                default=Path("."))  # fmt: skip
@click.option("-f", "--file", "dockerfile", type=click.Path(path_type=Path, dir_okay=False),
              help="The Dockerfile (default DIRECTORY/Dockerfile).")  # fmt: skip
@click.option("--unsafe-fixes", is_flag=True, help="Verify the unsafe fixes too.")
@click.option("--before", "before_file", type=click.Path(path_type=Path, dir_okay=False,
              exists=True), help="Compare this Dockerfile (with --after) instead of fixing.")  # fmt: skip
@click.option("--after", "after_file", type=click.Path(path_type=Path, dir_okay=False,
              exists=True), help="The Dockerfile to compare with --before.")  # fmt: skip
@click.option("--against", metavar="REV",
              help="Compare the Dockerfile and context at git revision REV with the working tree.")  # fmt: skip
@click.option("--smoke", "smoke_command", metavar="'ARGS...'",
              help="Smoke check: `docker run IMAGE ARGS...` must exit 0.")  # fmt: skip
@click.option("--smoke-http", metavar="PORT/PATH",
              help="Smoke check: GET 127.0.0.1:PORT/PATH must answer below 400.")  # fmt: skip
@click.option("--smoke-seconds", type=click.FloatRange(min=0), default=5.0, show_default=True,
              help="Without another check: the CMD must stay up this long.")  # fmt: skip
@click.option("--smoke-timeout", type=click.FloatRange(min=1), default=60.0, show_default=True,
              help="Seconds a smoke check may take.")  # fmt: skip
@click.option("--touch", metavar="PATH",
              help="The context file to change for the cache check (default: one COPY brings in).")  # fmt: skip
@click.option(
    "--no-cache-check", is_flag=True, help="Do not measure what a source change rebuilds."
)
@click.option("--no-bisect", is_flag=True, help="Do not look for the fix to blame.")
@click.option("--network", metavar="NAME",
              help="The network of builds and smoke runs (default: docker's; `host` where "
                   "the engine has no bridge).")  # fmt: skip
@click.option("--base-map", multiple=True, metavar="IMAGE=LOCAL",
              help="Build FROM LOCAL where the Dockerfile says IMAGE (repeatable; "
                   "[settings] verify-base-map).")  # fmt: skip
@click.option("--docker", "docker_client", metavar="PATH", help="The docker client to run.")
@click.option("--keep-images", is_flag=True, help="Keep the images verify built.")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="text", show_default=True)
@click.option("-o", "--output", "output_file", type=click.Path(path_type=Path, dir_okay=False),
              help="Write the report here instead of stdout.")  # fmt: skip
@build_arg_option
@target_option
@config_file_option
@no_config_option
@click.pass_obj
def command(
    out: Output,
    directory: Path,
    dockerfile: Path | None,
    unsafe_fixes: bool,
    before_file: Path | None,
    after_file: Path | None,
    against: str | None,
    smoke_command: str | None,
    smoke_http: str | None,
    smoke_seconds: float,
    smoke_timeout: float,
    touch: str | None,
    no_cache_check: bool,
    no_bisect: bool,
    network: str | None,
    base_map: tuple[str, ...],
    docker_client: str | None,
    keep_images: bool,
    fmt: str,
    output_file: Path | None,
    build_args: tuple[str, ...],
    target: str | None,
    config_file: Path | None,
    isolated: bool,
) -> int:
    """Prove a change by building it: the Dockerfile in DIRECTORY as it is and as `keelhaul
    fix` would leave it (or --before/--after files, or --against a git revision), each built
    from a temporary copy of the context with a real Docker Engine (BuildKit).

    Compares build success, size (uncompressed; compressed, measured or estimated), layers,
    waste, user, ports, entrypoint and command; runs a smoke check on both (--smoke,
    --smoke-http, else the image's HEALTHCHECK, else the CMD staying up); and rebuilds each
    after a one-line change to a source file to count the steps that run again. Your files
    are never changed; the images and containers it makes are removed.

    Exit 0 when the new version builds and passes its smoke check, 1 when it does not (the
    fix to blame is named), 2 on bad usage or without a Docker Engine.
    """
    from keelhaul.verify import report
    from keelhaul.verify.base_map import parse_entries
    from keelhaul.verify.engine import Engine
    from keelhaul.verify.smoke import SmokePlan, parse_http
    from keelhaul.verify.verifying import FILES, FIX, REVISION, Request, new_run_id, verify

    if (before_file is None) != (after_file is None):
        raise click.UsageError("--before and --after go together")
    if before_file is not None and against is not None:
        raise click.UsageError("--before/--after and --against do not go together")
    if unsafe_fixes and (before_file is not None or against is not None):
        raise click.UsageError(
            "--unsafe-fixes verifies fixes; it does not go with --before or --against"
        )
    if smoke_command is not None and smoke_http is not None:
        raise click.UsageError("--smoke and --smoke-http do not go together")
    if config_file is not None and isolated:
        raise click.UsageError("--config and --no-config do not go together")
    http = None
    if smoke_http is not None:
        try:
            http = parse_http(smoke_http)
        except ValueError as exc:
            raise click.UsageError(str(exc)) from None
    if not directory.is_dir():
        raise FileMissing(directory)
    dockerfile = dockerfile if dockerfile is not None else directory / "Dockerfile"
    if not dockerfile.is_file():
        raise FileMissing(dockerfile)
    if touch is not None and not (directory / touch).is_file():
        raise KeelhaulError(f"--touch {touch}: no such file in {directory}")
    mapping = dict(_configured_map(dockerfile, config_file, isolated))
    mapping.update(parse_entries(base_map))
    mode = FILES if before_file is not None else REVISION if against is not None else FIX
    request = Request(
        dockerfile=dockerfile, context=directory, mode=mode, unsafe=unsafe_fixes,
        before_file=before_file, after_file=after_file, against=against, base_map=mapping,
        smoke=SmokePlan(smoke_command, http, smoke_seconds, smoke_timeout), touch=touch,
        cache=not no_cache_check, bisect=not no_bisect, keep_images=keep_images,
        build_args=parse_build_args(build_args), target=target, config_file=config_file,
        isolated=isolated,
    )  # fmt: skip
    engine = Engine.find(new_run_id(), docker_client, network)
    result = verify(request, engine, out.detail)
    if fmt == "json":
        rendered = report.json_text(result)
    elif fmt == "markdown":
        rendered = report.markdown(result)
    else:
        rendered = report.text(result)
    if output_file is not None:
        output_file.write_text(rendered, encoding="utf-8")
    else:
        click.echo(rendered, nl=False)
    return 0 if result.passed else 1


def _configured_map(dockerfile: Path, config_file: Path | None, isolated: bool) -> dict[str, str]:
    """``[settings] verify-base-map`` of the configuration beside the Dockerfile."""
    from keelhaul.catalogue import all_rules
    from keelhaul.config import ConfigFinder
    from keelhaul.selection import Vocabulary

    finder = ConfigFinder(Vocabulary(all_rules()), config_file=config_file, isolated=isolated)
    return dict(finder.for_path(dockerfile).settings.verify_base_map or {})


def verified_outcome(
    out: Output,
    checker: Checker,
    target: Target,
    outcome: FixOutcome,
    unsafe: bool,
    context_dir: Path | None,
    network: str | None,
    base_map: tuple[str, ...],
    config_file: Path | None,
    isolated: bool,
    build_args: dict[str, str],
) -> FixOutcome:
    """``fix --verify``: ``outcome`` with only the fixes verify keeps green."""
    from keelhaul.checking import Checker
    from keelhaul.config import ConfigFinder, Overrides
    from keelhaul.fix.fixing import FixOutcome, fix_target
    from keelhaul.verify.base_map import parse_entries
    from keelhaul.verify.engine import Engine
    from keelhaul.verify.keeping import keep_green
    from keelhaul.verify.verifying import Request, new_run_id

    codes = tuple(dict.fromkeys(f.code for f in outcome.applied))
    dockerfile = target.path
    mapping = _configured_map(dockerfile, config_file, isolated)
    mapping.update(parse_entries(base_map))
    request = Request(dockerfile=dockerfile, context=context_dir or dockerfile.parent,
                      unsafe=unsafe, base_map=mapping, build_args=build_args,
                      config_file=config_file, isolated=isolated, codes=codes)  # fmt: skip
    engine = Engine.find(new_run_id(), None, network)
    kept = keep_green(request, engine, out.detail)
    for dropped in kept.dropped:
        out.info(f"{target.name}: not applying {dropped.code} ({dropped.description}): the "
                 f"fixed image {dropped.why}")  # fmt: skip
    if set(kept.codes) == set(codes):
        out.info(f"{target.name}: verified: the fixed image builds and passes its smoke check")
        return outcome
    if not kept.codes:
        return FixOutcome(outcome.name, outcome.before, outcome.before)
    narrowed = Checker(
        ConfigFinder(checker.vocabulary, config_file=config_file, isolated=isolated,
                     overrides=Overrides(select=kept.codes, shellcheck=False)),
        checker.vocabulary, checker.rules, build_args=build_args, context=context_dir,
        shellcheck=None)  # fmt: skip
    return fix_target(narrowed, target, outcome.before, unsafe)
