"""The ``keelhaul`` command: global options, the subcommands, and the one place errors end."""

from __future__ import annotations

import gc
import importlib
import sys
import traceback

import click

from keelhaul import __version__
from keelhaul.cli import redacting
from keelhaul.cli.output import Output
from keelhaul.errors import KeelhaulError

#: Exit codes: 0 fine, 1 findings (later issues), 2 bad input or usage, 3 a bug in keelhaul.
EXIT_USAGE = 2
EXIT_BUG = 3

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


#: Subcommand -> the module that defines it (as ``command``). Modules are imported when their
#: command runs, not before: ``keelhaul image`` need not load the Dockerfile rules, and a CI
#: step pays ~0.1 s of start-up instead of ~0.5 s.
COMMANDS = {
    "cache": "keelhaul.cli.cache", "check": "keelhaul.cli.check",
    "completion": "keelhaul.cli.completion", "context": "keelhaul.cli.context",
    "db": "keelhaul.cli.db", "dump": "keelhaul.cli.dump", "fix": "keelhaul.cli.fix",
    "fleet": "keelhaul.cli.fleet", "image": "keelhaul.cli.image", "parse": "keelhaul.cli.parse", "rules": "keelhaul.cli.rules",
    "sbom": "keelhaul.cli.sbom", "slim": "keelhaul.cli.slim", "verify": "keelhaul.cli.verify", "vulns": "keelhaul.cli.vulns",
}  # fmt: skip


class LazyGroup(click.Group):
    """A group whose subcommands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *COMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        found = super().get_command(ctx, cmd_name)
        if found is not None or cmd_name not in COMMANDS:
            return found
        command = importlib.import_module(COMMANDS[cmd_name]).command
        if not isinstance(command, click.Command):
            raise TypeError(f"{COMMANDS[cmd_name]}.command is not a click command")
        self.add_command(command, cmd_name)
        return command


@click.group(cls=LazyGroup, context_settings=CONTEXT_SETTINGS)
@click.version_option(__version__, "-V", "--version", prog_name="keelhaul")
@click.option("--no-color", is_flag=True, help="No colour in output (NO_COLOR is honoured too).")
@click.option("-q", "--quiet", is_flag=True, help="Only results and errors.")
@click.option("-v", "--verbose", count=True, help="More detail; repeat for more.")
@click.option("--debug", is_flag=True, help="Show tracebacks for errors.")
@click.pass_context
def cli(ctx: click.Context, no_color: bool, quiet: bool, verbose: int, debug: bool) -> None:
    """keelhaul: make container images small, fast to build and hard to attack."""
    ctx.obj = Output(color=not no_color, verbosity=-1 if quiet else verbose, debug=debug)


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the CLI and turn every error into one line and an exit code."""
    debug = "--debug" in (argv if argv is not None else sys.argv[1:])
    # A run builds many small objects that live until the end (trees, stages, findings): the
    # cyclic collector would walk them again and again for nothing.
    gc.freeze()
    gc.set_threshold(50_000, 20, 20)
    redacting.install()  # every byte written from here on: no secret in it
    try:
        code = cli.main(args=argv, prog_name="keelhaul", standalone_mode=False)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        click.echo("keelhaul: aborted", err=True)
        sys.exit(130)
    except KeelhaulError as exc:
        if debug:
            traceback.print_exc()
        click.echo(f"keelhaul: error: {exc}", err=True)
        sys.exit(exc.exit_code)
    except BrokenPipeError:
        sys.exit(0)
    except RecursionError:  # the readers refuse deep input themselves; this is the net under them
        if debug:
            traceback.print_exc()
        click.echo("keelhaul: error: input nested too deeply to read", err=True)
        sys.exit(EXIT_USAGE)
    except Exception as exc:
        if debug:
            traceback.print_exc()
        click.echo(
            f"keelhaul: internal error: {type(exc).__name__}: {exc} "
            "(a bug in keelhaul; rerun with --debug for the traceback and report it)",
            err=True,
        )
        sys.exit(EXIT_BUG)
    sys.exit(code if isinstance(code, int) else 0)
