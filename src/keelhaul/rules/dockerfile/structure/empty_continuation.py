from collections.abc import Iterator

from keelhaul.dockerfile.syntax import LineRole, Span
from keelhaul.findings import Category, Severity
from keelhaul.rules.registry import DockerfileContext, Hit, Rule, register


def check(ctx: DockerfileContext) -> Iterator[Hit]:
    stage_of = {id(i): s for s in ctx.build.stages for i in s.instructions}
    for inst in ctx.tree.instructions:
        # Heredoc bodies have their own role, so a blank line here sits inside a continuation.
        blank = next((line for line in inst.lines if line.role is LineRole.BLANK), None)
        if blank is not None:
            yield Hit(inst, f"{inst.name} continues over the empty line {blank.number}; BuildKit "
                      "warns about it and plans to reject it", stage_of.get(id(inst)),
                      Span(blank.number, 1, blank.number, 1))  # fmt: skip


register(
    Rule(
        code="KH114",
        name="empty-continuation",
        severity=Severity.WARNING,
        category=Category.CORRECTNESS,
        summary="An empty line inside a continued instruction.",
        explanation=(
            "A backslash-continued instruction that runs over an empty line still builds today, "
            "but BuildKit warns that this will become an error, and the blank line usually "
            "means a continuation was left behind when a line was deleted. Remove the empty "
            "line, or end the instruction before it."
        ),
        bad="FROM debian:12\nRUN apt-get update && \\\n\n    apt-get install -y curl\n",
        good="FROM debian:12\nRUN apt-get update && \\\n    apt-get install -y curl\n",
        check=check,
        related={"buildkit": ("NoEmptyContinuation",)},
    )
)
