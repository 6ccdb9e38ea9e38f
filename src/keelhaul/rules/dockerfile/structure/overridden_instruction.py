from collections.abc import Iterator

from keelhaul.dockerfile.syntax import Instruction
from keelhaul.findings import Category, Severity
from keelhaul.rules.dockerfile.shared.structure import first_line_of
from keelhaul.rules.registry import DockerfileContext, Hit, Rule, register

ONCE = ("CMD", "ENTRYPOINT", "HEALTHCHECK")


def check(ctx: DockerfileContext) -> Iterator[Hit]:
    for stage in ctx.build.stages:
        last: dict[str, Instruction] = {}
        for inst in stage.instructions:
            if inst.name not in ONCE:
                continue  # an ONBUILD trigger runs in another build
            earlier = last.get(inst.name)
            if earlier is not None:
                # Point at the instruction that has no effect, as BuildKit does.
                yield Hit(earlier, f"this {inst.name} has no effect: the {inst.name} on line "
                          f"{inst.start_line} replaces it (only the last one in a stage "
                          "counts)", stage, first_line_of(earlier))  # fmt: skip
            last[inst.name] = inst


register(
    Rule(
        code="KH133",
        name="overridden-instruction",
        severity=Severity.WARNING,
        category=Category.CORRECTNESS,
        summary="Several CMD, ENTRYPOINT or HEALTHCHECK instructions in one stage.",
        explanation=(
            "CMD, ENTRYPOINT and HEALTHCHECK set one value of the image config: each replaces "
            "the one before it, so only the last in a stage counts. An earlier one is dead code "
            "that misleads the reader, often a CMD meant to run at build time (that is RUN) or "
            "two services squeezed into one container (run two containers, or a supervisor). "
            "The finding is on the instruction that has no effect. A stage built FROM another "
            "stage may override that stage's CMD: that is not flagged."
        ),
        bad='FROM python:3.12-slim\nCMD ["python", "migrate.py"]\nCMD ["python", "app.py"]\n',
        good='FROM python:3.12-slim\nCMD ["python", "app.py"]\n',
        check=check,
        related={
            "hadolint": ("DL3012", "DL4003", "DL4004"),
            "buildkit": ("MultipleInstructionsDisallowed",),
            "trivy": ("DS-0007", "DS-0016", "DS-0023"),
        },
    )
)
