import re
from collections.abc import Iterator

from keelhaul.dockerfile.syntax import Instruction
from keelhaul.findings import Category, Severity
from keelhaul.rules.registry import DockerfileContext, Hit, Rule, register

# Problems a more specific rule reports with its own code and advice.
COVERED = re.compile(
    r"isn't allowed as an ONBUILD trigger"  # KH148 onbuild-forbidden-trigger
    r"|is not allowed before the first FROM"  # KH153 instruction-before-from
    r"|cannot copy from itself"  # KH136 copy-from-own-stage
)


def check(ctx: DockerfileContext) -> Iterator[Hit]:
    by_line: dict[int, Instruction] = {}
    for inst in ctx.tree.instructions:
        for line in range(inst.start_line, inst.end_line + 1):
            by_line[line] = inst
    first = ctx.tree.instructions[0] if ctx.tree.instructions else None
    stage_of = {id(i): s for s in ctx.build.stages for i in (s.from_instruction, *s.instructions)}
    for problem in ctx.build.problems:
        if not problem.fatal or COVERED.search(problem.message):
            continue
        found = by_line.get(problem.line, first)
        if found is None:
            continue
        inst = found
        yield Hit(inst, f"the build will fail: {problem.message}", stage_of.get(id(inst)))


register(
    Rule(
        code="KH115",
        name="build-will-fail",
        severity=Severity.ERROR,
        category=Category.CORRECTNESS,
        summary="Something BuildKit refuses: the build stops here.",
        explanation=(
            "The Dockerfile parses, but BuildKit rejects it when it plans the build: an unknown "
            "instruction or flag, a stage that cannot be found or depends on itself in a "
            "circle, a variable in `COPY --from`, an invalid stage name or index, no FROM at "
            "all. Finding it here costs a second; finding it in CI costs a pipeline run."
        ),
        bad="FROM alpine:3.20\nCOPY --from=$STAGE /app /app\n",
        good="FROM alpine:3.20\nCOPY app /app\n",
        check=check,
    )
)
