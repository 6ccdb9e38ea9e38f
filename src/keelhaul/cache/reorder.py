"""The Dockerfile as ``keelhaul fix --unsafe-fixes`` would leave it after the dependency-first
reorder (KH182), computed in memory: nothing is written."""

from __future__ import annotations

from collections.abc import Mapping

from keelhaul.context.build_context import BuildContext
from keelhaul.dockerfile.edits import apply_edits, choose_fixes
from keelhaul.dockerfile.syntax import parse
from keelhaul.findings import Safety
from keelhaul.rules.engine import check_context, dockerfile_rules
from keelhaul.rules.registry import DockerfileContext

REORDER_CODE = "KH182"
#: One pass per install the fix moves; a Dockerfile rarely has more than a few.
MAX_PASSES = 8


def reordered(
    text: str,
    build_context: BuildContext | None,
    build_args: Mapping[str, str] | None = None,
    name: str = "Dockerfile",
) -> str | None:
    """``text`` with every KH182 reorder applied, or None when there is nothing to reorder."""
    rules = [r for r in dockerfile_rules() if r.code == REORDER_CODE]
    allowed = {Safety.SAFE.value, Safety.UNSAFE.value}
    current = text
    for _ in range(MAX_PASSES):
        tree = parse(current, name)
        if tree.errors:
            break
        ctx = DockerfileContext.of(tree, build_args, None, build_context)
        chosen = choose_fixes(check_context(ctx, rules, True), allowed)
        if not chosen:
            break
        candidate = apply_edits(current, [e for f in chosen if f.fix for e in f.fix.edits])
        if candidate == current or parse(candidate, name).errors:
            break
        current = candidate
    return current if current != text else None
