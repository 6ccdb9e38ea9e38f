from collections.abc import Iterator

from keelhaul.dockerfile.syntax import KNOWN_INSTRUCTIONS
from keelhaul.findings import Category, Severity
from keelhaul.rules.dockerfile.shared.structure import first_line_of
from keelhaul.rules.registry import DockerfileContext, Hit, Rule, register


def check(ctx: DockerfileContext) -> Iterator[Hit]:
    instructions = ctx.tree.instructions
    has_from = any(inst.name == "FROM" for inst in instructions)
    for inst in instructions:
        if inst.name == "FROM":
            return
        if inst.name == "ARG" or inst.name not in KNOWN_INSTRUCTIONS:
            continue  # unknown words are a different error
        where = "before the first FROM" if has_from else "in a Dockerfile without FROM"
        yield Hit(inst, f"{inst.name} {where}: only ARG may come before FROM, and docker "
                  "build refuses this line", None, first_line_of(inst))  # fmt: skip
        return  # the build stops at the first one


register(
    Rule(
        code="KH153",
        name="instruction-before-from",
        severity=Severity.ERROR,
        category=Category.CORRECTNESS,
        summary="An instruction other than ARG before the first FROM.",
        explanation=(
            "A Dockerfile starts with parser directives and comments, then optionally ARGs "
            "that FROM lines may use, then FROM. Any other instruction before the first FROM "
            "has no stage to belong to and `docker build` stops (`no build stage in current "
            "context`). Often a fragment meant to be concatenated, or a FROM lost in an edit."
        ),
        bad="LABEL org.opencontainers.image.authors=me@example.com\nFROM alpine:3.20\n",
        good="FROM alpine:3.20\nLABEL org.opencontainers.image.authors=me@example.com\n",
        check=check,
        related={"hadolint": ("DL3061",)},
    )
)
