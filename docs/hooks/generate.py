"""MkDocs hook: pages generated from the code at build time, so they cannot go stale.

- ``commands.md``: every command and its options, from the click commands themselves;
- ``configuration.md``: the configuration module's own description (its keys are in
  ``settings.md``, written by ``python -m keelhaul.settings``);
- ``rules/index.md`` and ``rules/<CODE>.md``: one page per rule of the catalogue.
"""

from __future__ import annotations

from typing import Any

import click
from mkdocs.structure.files import File, Files

from keelhaul import config as keelhaul_config
from keelhaul.catalogue.docs import listed_rules, rule_markdown
from keelhaul.cli.app import cli


def _command_markdown(command: click.Command, path: str, depth: int) -> list[str]:
    ctx = click.Context(command, info_name=path)
    lines = [f"{'#' * depth} `{path}`", ""]
    help_text = (command.help or "").replace("\b\n", "").strip()
    lines += [f"```text\n{command.get_usage(ctx)}\n```", "", help_text, ""]
    options = [p for p in command.get_params(ctx) if isinstance(p, click.Option)]
    if options:
        lines += ["| option | meaning |", "|---|---|"]
        for option in options:
            record = option.get_help_record(ctx)
            if record is None:
                continue
            names, meaning = record
            escaped = meaning.replace("|", "\\|")
            lines.append(f"| `{names}` | {escaped} |")
        lines.append("")
    if isinstance(command, click.Group):
        for name in sorted(command.list_commands(ctx)):
            sub = command.get_command(ctx, name)
            if sub is not None and not sub.hidden:
                lines += _command_markdown(sub, f"{path} {name}", depth + 1)
    return lines


def _commands() -> str:
    lines = ["# Commands", "", "Generated from the command-line definitions.", ""]
    lines += _command_markdown(cli, "keelhaul", 2)
    return "\n".join(lines) + "\n"


def _configuration() -> str:
    doc = (keelhaul_config.__doc__ or "").replace("``", "`")
    lines = ["# Configuration", "", doc.strip(), "", "## Keys", "",
             "Every key, its value, its default and the commands that read it are in "
             "[Settings](settings.md), generated from the schema (`keelhaul.settings`).", ""]  # fmt: skip
    return "\n".join(lines) + "\n"


def _rules(files: Files, config: Any) -> None:
    rules = listed_rules()
    index = ["# Rules", "", f"{len(rules)} rules; each page has bad and good examples and the "
             "matching ids in other tools; the Dockerfile rules add bad and good examples.", "", "| code | name | severity | category | summary |",
             "|---|---|---|---|---|"]  # fmt: skip
    for rule in rules:
        summary = rule.summary.replace("|", "\\|")
        index.append(f"| [{rule.code}]({rule.code}.md) | {rule.name} | {rule.severity.value} | "
                     f"{rule.category.value} | {summary} |")  # fmt: skip
        page = rule_markdown(rule).replace(f"## {rule.code}", f"# {rule.code}", 1)
        files.append(File.generated(config, f"rules/{rule.code}.md", content=page))
    files.append(File.generated(config, "rules/index.md", content="\n".join(index) + "\n"))


def on_files(files: Files, config: Any) -> Files:
    files.append(File.generated(config, "commands.md", content=_commands()))
    files.append(File.generated(config, "configuration.md", content=_configuration()))
    _rules(files, config)
    return files
