from collections.abc import Iterator

from keelhaul.dockerfile.validate import NOT_TRIGGERS
from keelhaul.findings import Category, Severity
from keelhaul.rules.dockerfile.shared.structure import stage_of
from keelhaul.rules.registry import DockerfileContext, Hit, Rule, register


def check(ctx: DockerfileContext) -> Iterator[Hit]:
    stages = stage_of(ctx.build)
    for inst in ctx.tree.instructions:
        if inst.name == "ONBUILD" and inst.sub is not None and inst.sub.name in NOT_TRIGGERS:
            yield Hit(inst, f"ONBUILD {inst.sub.name} is not allowed: docker build refuses "
                      "this line", stages.get(id(inst)),
                      inst.locate(inst.sub.keyword))  # fmt: skip


register(
    Rule(
        code="KH148",
        name="onbuild-forbidden-trigger",
        severity=Severity.ERROR,
        category=Category.CORRECTNESS,
        summary="ONBUILD FROM, ONBUILD MAINTAINER or ONBUILD ONBUILD.",
        explanation=(
            "An ONBUILD trigger runs in the build of every image that uses this one as its "
            "base, right after that build's FROM. FROM, MAINTAINER and ONBUILD cannot be "
            "triggers, and `docker build` stops with an error on such a line."
        ),
        bad="FROM node:20-slim\nONBUILD FROM node:20-slim\n",
        good="FROM node:20-slim\nONBUILD COPY package.json /app/\n",
        check=check,
        related={"hadolint": ("DL3043",)},
    )
)
