from collections.abc import Iterator

from keelhaul.findings import Category, Severity
from keelhaul.rules.dockerfile.shared.structure import locate_word
from keelhaul.rules.registry import DockerfileContext, Hit, Rule, register

#: Names BuildKit gives a meaning of its own: the empty image and the build context.
RESERVED = frozenset({"scratch", "context"})


def check(ctx: DockerfileContext) -> Iterator[Hit]:
    for stage in ctx.build.stages:
        inst = stage.from_instruction
        values = inst.values
        if len(values) == 3 and values[1].lower() == "as" and values[2].lower() in RESERVED:
            yield Hit(inst, f"stage name {values[2]} is reserved by BuildKit "
                      f"({'the empty image' if values[2].lower() == 'scratch' else 'the build context'}); "
                      "choose another name", stage, locate_word(inst, values[2], last=True))  # fmt: skip


register(
    Rule(
        code="KH138",
        name="reserved-stage-name",
        severity=Severity.WARNING,
        category=Category.CORRECTNESS,
        summary="A stage named `scratch` or `context`.",
        explanation=(
            "`scratch` is the empty image and `context` the build context: BuildKit treats "
            "those words specially (named contexts, `FROM scratch`), so a stage with either "
            "name is confusing at best, and `FROM scratch` or `--from=context` elsewhere may "
            "not mean the stage."
        ),
        bad="FROM alpine:3.20 AS context\nRUN echo hi\n",
        good="FROM alpine:3.20 AS prepare\nRUN echo hi\n",
        check=check,
        related={"hadolint": ("DL3063",), "buildkit": ("ReservedStageName",)},
    )
)
