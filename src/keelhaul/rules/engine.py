"""Running the catalogue over a Dockerfile."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from keelhaul.context.build_context import BuildContext
from keelhaul.dockerfile.syntax import Dockerfile
from keelhaul.findings import Finding
from keelhaul.rule import Kind, Rule, registered
from keelhaul.rules.registry import DockerfileContext, findings_of, fixes_wanted


def check_dockerfile(
    tree: Dockerfile,
    build_args: Mapping[str, str] | None = None,
    rules: Iterable[Rule] | None = None,
    settings: Mapping[str, object] | None = None,
    build_context: BuildContext | None = None,
    fixes: bool = True,
) -> list[Finding]:
    """Every finding of ``rules`` (default: the rules on by default) on a parsed Dockerfile.

    ``build_context`` is the Dockerfile's context when known; rules about it stay quiet without.
    ``fixes=False`` skips building the fixes (cheaper when nobody will see them).
    """
    if tree.errors:
        return []  # a file BuildKit cannot read is reported as a syntax error, not linted
    ctx = DockerfileContext.of(tree, build_args, settings, build_context)
    return check_context(ctx, rules, fixes)


def check_context(
    ctx: DockerfileContext, rules: Iterable[Rule] | None = None, fixes: bool = True
) -> list[Finding]:
    """:func:`check_dockerfile` for a context already built (it is shared with ShellCheck)."""
    chosen = rules if rules is not None else [r for r in dockerfile_rules() if r.default_on]
    with fixes_wanted(fixes):
        found = [f for rule in chosen for f in findings_of(rule, ctx)]
    return sorted(found, key=Finding.sort_key)


def dockerfile_rules() -> list[Rule]:
    """Every Dockerfile rule (the build-context rules among them), by code."""
    from keelhaul.rules import dockerfile  # noqa: F401  (registers the rule modules)

    return registered(Kind.DOCKERFILE)
