from collections.abc import Iterator

from keelhaul.findings import Category, Severity
from keelhaul.rules.dockerfile.shared.structure import locate_word
from keelhaul.rules.registry import DockerfileContext, Hit, Rule, register


def check(ctx: DockerfileContext) -> Iterator[Hit]:
    for stage in ctx.build.stages:
        inst = stage.from_instruction
        values = inst.values
        if len(values) == 3 and values[2] != values[2].lower():
            yield Hit(inst, f"write stage name {values[2]} in lowercase "
                      f"({values[2].lower()}); BuildKit lower-cases it anyway", stage,
                      locate_word(inst, values[2], last=True))  # fmt: skip


register(
    Rule(
        code="KH139",
        name="stage-name-casing",
        severity=Severity.STYLE,
        category=Category.MAINTAINABILITY,
        summary="A stage name with capitals.",
        explanation=(
            "Stage names are case-insensitive: BuildKit lower-cases them, so `Builder`, "
            "`builder` and `BUILDER` are one stage, and `--target` and build logs show the "
            "lowercase form. Writing them in lowercase keeps the file and the tools in "
            "agreement."
        ),
        bad="FROM golang:1.22 AS Builder\nRUN go build ./...\n",
        good="FROM golang:1.22 AS builder\nRUN go build ./...\n",
        check=check,
        related={"buildkit": ("StageNameCasing",)},
    )
)
