from collections.abc import Iterator

from keelhaul.findings import Category, Severity
from keelhaul.rules.dockerfile.shared.structure import locate_word
from keelhaul.rules.registry import DockerfileContext, Hit, Rule, register


def check(ctx: DockerfileContext) -> Iterator[Hit]:
    first: dict[str, int] = {}
    for stage in ctx.build.stages:
        inst = stage.from_instruction
        values = inst.values
        if len(values) != 3 or values[1].lower() != "as":
            continue
        name = values[2].lower()
        if name in first:
            yield Hit(inst, f"stage name {values[2]} is already used on line {first[name]}; "
                      "FROM and COPY --from then reach different stages by the same name",
                      stage, locate_word(inst, values[2], last=True))  # fmt: skip
        else:
            first[name] = inst.start_line


register(
    Rule(
        code="KH137",
        name="duplicate-stage-name",
        severity=Severity.ERROR,
        category=Category.CORRECTNESS,
        summary="Two stages with the same name (names ignore case).",
        explanation=(
            "BuildKit resolves `FROM name` to the last stage of that name defined so far, but "
            "`COPY --from=name` to the last one in the whole file, so the same word reaches "
            "different stages depending on where it is used, and a copy can come from a stage "
            "defined after it. Give every stage its own name."
        ),
        bad="FROM node:20 AS build\nRUN npm ci\nFROM node:20 AS build\nRUN npm test\n",
        good="FROM node:20 AS build\nRUN npm ci\nFROM node:20 AS test\nRUN npm test\n",
        check=check,
        related={
            "hadolint": ("DL3024",),
            "buildkit": ("DuplicateStageName",),
            "trivy": ("DS-0012",),
            "checkov": ("CKV_DOCKER_11",),
        },
    )
)
