"""``keelhaul completion SHELL``: the shell's completion script, to source or install."""

from __future__ import annotations

import click
from click.shell_completion import get_completion_class

SHELLS = ("bash", "zsh", "fish")


@click.command("completion")
@click.argument("shell", type=click.Choice(SHELLS))
def command(shell: str) -> int:
    """Print the completion script for SHELL (bash, zsh or fish).

    \b
    bash: eval "$(keelhaul completion bash)"   in ~/.bashrc
    zsh:  eval "$(keelhaul completion zsh)"    in ~/.zshrc
    fish: keelhaul completion fish > ~/.config/fish/completions/keelhaul.fish
    """
    from keelhaul.cli.app import cli

    completion = get_completion_class(shell)
    if completion is None:  # click knows the three shells offered
        raise click.UsageError(f"no completion for {shell}")
    click.echo(completion(cli, {}, "keelhaul", "_KEELHAUL_COMPLETE").source())
    return 0
