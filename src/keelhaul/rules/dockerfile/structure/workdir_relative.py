from collections.abc import Iterator

from keelhaul.findings import Category, Severity
from keelhaul.rules.dockerfile.shared.structure import inherited, is_absolute, resolve_word, scopes
from keelhaul.rules.registry import DockerfileContext, Hit, Rule, register


def check(ctx: DockerfileContext) -> Iterator[Hit]:
    known = scopes(ctx)
    has_workdir: dict[int, bool] = {}
    for stage in ctx.build.stages:
        # Like BuildKit: only the first WORKDIR of a stage chain matters; a relative one after
        # an absolute one is anchored by it.
        anchored = inherited(stage, has_workdir)
        for inst in stage.instructions:
            if inst.name != "WORKDIR" or not inst.values:
                continue
            if not anchored:
                scope = known.at(inst)
                raw = inst.values[0]
                path = resolve_word(raw, scope, ctx.tree.escape) if scope else None
                # A path that depends on an unknown variable ($HOME from the base image) is
                # not judged.
                if path is not None and not is_absolute(path):
                    yield Hit(inst, f"relative WORKDIR {raw} lands under whatever directory "
                              "the base image sets; write the absolute path", stage,
                              inst.locate(raw))  # fmt: skip
            anchored = True
        has_workdir[stage.index] = anchored


register(
    Rule(
        code="KH130",
        name="workdir-relative",
        severity=Severity.WARNING,
        category=Category.CORRECTNESS,
        summary="A relative WORKDIR with no absolute WORKDIR before it in the stage.",
        explanation=(
            "A relative WORKDIR is resolved against the working directory of the base image. "
            "When the base image changes its WORKDIR (a new tag, another distribution), every "
            "later COPY, RUN and the container's start directory silently move with it. "
            "Start each stage with an absolute WORKDIR; relative ones after it are fine. "
            "Paths that depend on an unknown variable are not judged."
        ),
        bad="FROM node:20-slim\nWORKDIR app\nCOPY . .\n",
        good="FROM node:20-slim\nWORKDIR /app\nCOPY . .\n",
        check=check,
        related={
            "hadolint": ("DL3000",),
            "buildkit": ("WorkdirRelativePath",),
            "trivy": ("DS-0009",),
            "checkov": ("CKV_DOCKER_10",),
        },
    )
)
