"""Options several commands share."""

from __future__ import annotations

from pathlib import Path

import click

from keelhaul.cli.output import Output
from keelhaul.errors import ConfigError


def parse_build_args(values: tuple[str, ...]) -> dict[str, str]:
    """``--build-arg KEY=VALUE`` (``KEY`` alone takes the value from the environment)."""
    import os

    args: dict[str, str] = {}
    for value in values:
        key, sep, val = value.partition("=")
        if not key:
            raise ConfigError(f"--build-arg {value!r}: expected KEY=VALUE")
        if sep:
            args[key] = val
        elif key in os.environ:
            args[key] = os.environ[key]
    return args


build_arg_option = click.option(
    "--build-arg",
    "build_args",
    multiple=True,
    metavar="KEY=VALUE",
    help="A build arg, as `docker build --build-arg` takes it (repeatable).",
)
target_option = click.option(
    "--target", metavar="STAGE", help="The stage to build (default: the last one)."
)
context_option = click.option(
    "--context",
    "context_dir",
    type=click.Path(path_type=Path, file_okay=False, exists=True),
    help="The build context of the Dockerfiles (default: each one's own folder).",
)
stdin_filename_option = click.option(
    "--stdin-filename",
    metavar="NAME",
    help="With `-`: the path the stdin Dockerfile stands for (configuration, messages).",
)
config_file_option = click.option(
    "--config",
    "config_file",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Use this configuration for every file (.keelhaul.toml, pyproject.toml "
    "or .hadolint.yaml) instead of looking beside each Dockerfile.",
)
no_config_option = click.option(
    "--no-config",
    "--isolated",
    "isolated",
    is_flag=True,
    help="Read no configuration file: built-in defaults and the command line.",
)


quiet_unknown_option = click.option(
    "--quiet-unknown",
    is_flag=True,
    help="Skip named files keelhaul does not understand without a notice or exit 2 "
    "(for hooks that hand over every YAML file).",
)


def report_unknown(out: Output, unknown: list[tuple[str, str, bool]], quiet: bool) -> bool:
    """One notice per file keelhaul does not check; True when one the user named should make
    the run exit 2 (it was not checked, and ``--quiet-unknown`` was not given)."""
    failed = False
    for name, why, named in unknown:
        if named and quiet:
            continue
        out.err.print(f"keelhaul: notice: {name}: {why}", markup=False, soft_wrap=True)
        failed = failed or named
    return failed
