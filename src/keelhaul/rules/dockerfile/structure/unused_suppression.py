from collections.abc import Iterator

from keelhaul.findings import Category, Severity
from keelhaul.rules.registry import DockerfileContext, Hit, Rule, register
from keelhaul.selection import UNUSED_SUPPRESSION_CODE, UNUSED_SUPPRESSION_NAME


def check(ctx: DockerfileContext) -> Iterator[Hit]:
    """Nothing here: ``keelhaul check`` reports these after suppressions are applied."""
    return iter(())


register(
    Rule(
        code=UNUSED_SUPPRESSION_CODE,
        name=UNUSED_SUPPRESSION_NAME,
        severity=Severity.WARNING,
        category=Category.MAINTAINABILITY,
        summary="A `# keelhaul: ignore=` comment that silences nothing.",
        explanation=(
            "A suppression outlives the problem it hid: the instruction was fixed or the rule "
            "changed, and the comment now only hides the next real finding of that rule on "
            "that instruction. Remove it. Reported by `keelhaul check` after suppressions are "
            "applied; pragmas for rules that are turned off, and hadolint pragmas, are left "
            "alone."
        ),
        bad="FROM debian:12.5\n# keelhaul: ignore=KH101 -- pinned below\nUSER 10001\n",
        good="FROM debian:12.5\nUSER 10001\n",
        check=check,
        default_on=False,
        from_pipeline=True,
    )
)
