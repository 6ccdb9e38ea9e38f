"""Options several commands share."""

from __future__ import annotations

import click

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
