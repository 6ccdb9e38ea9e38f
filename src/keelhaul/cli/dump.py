"""``keelhaul dump``: the parsed model of one Dockerfile as JSON, for bug reports."""

from __future__ import annotations

import json
from pathlib import Path

import click

from keelhaul.cli.options import build_arg_option, parse_build_args, target_option
from keelhaul.cli.output import Output
from keelhaul.dockerfile.export import dockerfile_to_dict
from keelhaul.dockerfile.stages import resolve
from keelhaul.dockerfile.syntax import decode, parse, read_dockerfile
from keelhaul.secrets import mask_text


@click.command("dump")
@click.argument("dockerfile", type=click.Path(path_type=Path, dir_okay=False))
@build_arg_option
@target_option
@click.pass_obj
def command(out: Output, dockerfile: Path, build_args: tuple[str, ...], target: str | None) -> int:
    """Print the parsed model of DOCKERFILE as JSON: instructions, stages, shell commands.

    Exits 2 when the file has a syntax error (the JSON is still printed, with the error).
    """
    tree = read_dockerfile(dockerfile)
    # The model of the file with every secret masked (same length, so every offset holds):
    # an argument list splits ``mysql -pSECRET`` from the words that tell it is one.
    source = decode(dockerfile.read_bytes())
    masked = mask_text(source)
    if masked != source:
        tree = parse(masked, str(dockerfile))
    build = resolve(tree, parse_build_args(build_args), target)
    text = json.dumps(dockerfile_to_dict(tree, build), indent=2, ensure_ascii=False)
    # Bytes that were not UTF-8 are carried as surrogates; print them as U+FFFD.
    click.echo(text.encode("utf-8", "surrogateescape").decode("utf-8", "replace"))
    if tree.errors:
        out.err.print(f"keelhaul: error: {tree.errors[0]}", markup=False)
        return 2
    return 0
