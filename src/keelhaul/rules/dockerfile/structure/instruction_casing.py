from collections.abc import Iterator

from keelhaul.dockerfile.syntax import KNOWN_INSTRUCTIONS
from keelhaul.findings import Category, Safety, Severity
from keelhaul.rules.dockerfile.shared.structure import first_line_of, stage_of
from keelhaul.rules.dockerfile.structure._fixes import recase_keyword
from keelhaul.rules.registry import DockerfileContext, Hit, Rule, register


def check(ctx: DockerfileContext) -> Iterator[Hit]:
    # Unknown instructions are KH115's: recasing a typo (or a binary file) helps no one.
    known = [inst for inst in ctx.tree.instructions if inst.name in KNOWN_INSTRUCTIONS]
    keywords = [inst.keyword for inst in known]
    lower = sum(k == k.lower() and k != k.upper() for k in keywords)
    upper = sum(k == k.upper() and k != k.lower() for k in keywords)
    # BuildKit's choice: lowercase only when strictly more instructions are lowercase.
    want, case = ("lowercase", str.lower) if lower > upper else ("uppercase", str.upper)
    stages = stage_of(ctx.build)
    for inst in known:
        if inst.keyword != case(inst.keyword):
            yield Hit(inst, f"'{inst.keyword}' should be {want} like most instructions in this "
                      f"file ({case(inst.keyword)})", stages.get(id(inst)),
                      first_line_of(inst), recase_keyword(inst, case))  # fmt: skip


register(
    Rule(
        code="KH141",
        name="instruction-casing",
        severity=Severity.STYLE,
        category=Category.MAINTAINABILITY,
        summary="An instruction keyword in another case than the file's majority.",
        explanation=(
            "Instruction keywords are case-insensitive, but a file that mixes `RUN` and `run` "
            "(or writes `From`) is harder to scan and to grep. The majority case of the file "
            "wins; upper case on a tie. Unlike BuildKit, ARGs before the first FROM count too."
        ),
        bad="FROM alpine:3.20\nrun echo hi\nCOPY . /src\n",
        good="FROM alpine:3.20\nRUN echo hi\nCOPY . /src\n",
        check=check,
        fix=Safety.SAFE,
        fix_reason=(
            "Instruction keywords are read the same in any case: only the spelling changes."
        ),
        related={"buildkit": ("ConsistentInstructionCasing",)},
    )
)
