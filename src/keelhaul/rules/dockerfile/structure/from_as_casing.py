from collections.abc import Iterator

from keelhaul.findings import Category, Safety, Severity
from keelhaul.rules.dockerfile.shared.structure import locate_word
from keelhaul.rules.dockerfile.structure._fixes import recase_word
from keelhaul.rules.registry import DockerfileContext, Hit, Rule, register


def check(ctx: DockerfileContext) -> Iterator[Hit]:
    for stage in ctx.build.stages:
        inst = stage.from_instruction
        keyword, values = inst.keyword, inst.values
        if len(values) < 3:
            continue
        # A FROM in mixed case is the instruction-casing rule's business.
        for case in (str.lower, str.upper):
            if keyword == case(keyword) and values[1] != case(values[1]):
                span = locate_word(inst, values[1])
                yield Hit(inst, f"'{values[1]}' does not match the case of '{keyword}'; write "
                          f"'{case('as')}'", stage, span,
                          recase_word(inst, 1, case("as")))  # fmt: skip
                break


register(
    Rule(
        code="KH140",
        name="from-as-casing",
        severity=Severity.STYLE,
        category=Category.MAINTAINABILITY,
        summary="`FROM image as name`: the AS keyword in another case than FROM.",
        explanation=(
            "Keywords are case-insensitive, but `FROM x as y` next to `FROM x AS y` reads as two "
            "different things. Write AS in the case of FROM."
        ),
        bad="FROM golang:1.22 as build\nRUN go build ./...\n",
        good="FROM golang:1.22 AS build\nRUN go build ./...\n",
        check=check,
        fix=Safety.SAFE,
        fix_reason=(
            "The `AS` keyword of FROM is read the same in any case: only the spelling changes."
        ),
        related={"buildkit": ("FromAsCasing",)},
    )
)
