"""Running the catalogue over a Dockerfile."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from keelhaul.dockerfile.syntax import Dockerfile
from keelhaul.findings import Finding
from keelhaul.rules.registry import DockerfileContext, Rule, all_rules


def check_dockerfile(
    tree: Dockerfile,
    build_args: Mapping[str, str] | None = None,
    rules: Iterable[Rule] | None = None,
    settings: Mapping[str, object] | None = None,
) -> list[Finding]:
    """Every finding of ``rules`` (default: the rules on by default) on a parsed Dockerfile."""
    if tree.errors:
        return []  # a file BuildKit cannot read is reported as a syntax error, not linted
    ctx = DockerfileContext.of(tree, build_args, settings)
    chosen = rules if rules is not None else [r for r in all_rules() if r.default_on]
    found = [f for rule in chosen for f in rule.findings(ctx)]
    return sorted(found, key=Finding.sort_key)
