"""``keelhaul rules``: the rule catalogue, or one rule explained."""

from __future__ import annotations

import json

import click
from rich.markdown import Markdown
from rich.table import Table

from keelhaul.catalogue.docs import listed_rules, rule_markdown
from keelhaul.cli.output import Output
from keelhaul.errors import ConfigError


@click.command("rules")
@click.argument("code", required=False)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_obj
def command(out: Output, code: str | None, as_json: bool) -> int:
    """List the rules, or explain CODE (a code such as KH101 or a name such as root-user).

    The list holds the Dockerfile rules (KH0xx-KH2xx), the image findings of `keelhaul image`
    (KH3xx) and the runtime rules for Kubernetes, Compose and docker run (KH4xx).
    """
    rules = listed_rules()
    if code is not None:
        wanted = code.lower()
        rules = [r for r in rules if wanted in (r.code.lower(), r.name)]
        if not rules:
            raise ConfigError(f"no rule {code!r}; `keelhaul rules` lists them")
    if as_json:
        click.echo(
            json.dumps(
                [
                    {
                        "code": r.code,
                        "name": r.name,
                        "severity": r.severity.value,
                        "category": r.category.value,
                        "summary": r.summary,
                        "explanation": r.explanation,
                        "bad": r.bad,
                        "good": r.good,
                        "related": {k: list(v) for k, v in r.related.items()},
                        "default_on": r.default_on,
                        "fix": r.fix.value if r.fix else None,
                        "fix_reason": r.fix_reason or None,
                    }
                    for r in rules
                ],
                indent=2,
            )
        )
    elif not out.out.is_terminal:
        # a pipe or a file: plain text, never wrapped to a guessed width nor cut
        if code is not None:
            click.echo(rule_markdown(rules[0]), nl=False)
        else:
            click.echo("\t".join(("code", "name", "severity", "category", "fix", "summary")))
            for r in rules:
                opt_in = "" if r.default_on else " (opt-in)"
                fix = r.fix.value if r.fix else "-"
                fields = (r.code, r.name, r.severity.value, r.category.value, fix)
                click.echo("\t".join((*fields, r.summary + opt_in)))
    elif code is not None:
        out.out.print(Markdown(rule_markdown(rules[0])))
    else:
        table = Table(box=None, pad_edge=False)
        for column in ("code", "name", "severity", "category", "fix"):
            table.add_column(column, no_wrap=True)
        table.add_column("summary", ratio=1)
        for r in rules:
            opt_in = "" if r.default_on else " (opt-in)"
            fix = r.fix.value if r.fix else ""
            table.add_row(
                r.code, r.name, r.severity.value, r.category.value, fix, r.summary + opt_in
            )
        out.out.print(table)
    return 0
