import re
from collections.abc import Iterator

from keelhaul.dockerfile.stages import Build, Stage
from keelhaul.findings import Category, Severity
from keelhaul.rules.registry import DockerfileContext, Hit, Rule, register

#: Names of stages that exist to feed another one; unused, they are a forgotten COPY --from.
_INTERMEDIATE = re.compile(
    r"(?:.+[-_])?(?:build|builder|build[-_]?env|build[-_]?stage|compile|compiler|deps"
    r"|dependencies|installer|prepare|prep)"
)


def _targets(build: Build) -> list[int]:
    """The stages someone may build: the target, and any named stage nothing else uses
    (``--target dev``, ``--target test``: keelhaul cannot know which ones CI builds)."""
    used = {d.stage for s in build.stages for d in s.dependencies if d.stage is not None}
    out = [] if build.target is None else [build.target]
    for stage in build.stages:
        named = stage.name is not None and stage.index not in used
        if named and not _INTERMEDIATE.fullmatch(stage.name or ""):
            out.append(stage.index)
    return out


def _describe(stage: Stage) -> str:
    if stage.name is not None:
        return f"stage '{stage.name}'"
    return f"stage {stage.index} (FROM {stage.base or stage.base_raw})"


def check(ctx: DockerfileContext) -> Iterator[Hit]:
    build = ctx.build
    if build.target is None:
        return
    needed: set[int] = set()
    for target in _targets(build):
        needed.update(build.needed_stages(target))
    for stage in build.stages:
        if stage.index in needed:
            continue
        inst = stage.from_instruction
        ref = stage.name or str(stage.index)
        if stage.name is not None:
            message = (f"{_describe(stage)} is never used: no stage is built FROM it or "
                       f"copies from it (COPY --from={ref}), so its work never reaches the "
                       "image; add the missing COPY --from or delete the stage")  # fmt: skip
        else:
            message = (f"{_describe(stage)} is never used and has no name to build it with "
                       f"--target: BuildKit skips it, the legacy builder builds it for "
                       f"nothing; delete it or COPY --from={ref} what you need")  # fmt: skip
        yield Hit(inst, message, stage, inst.span)


register(
    Rule(
        code="KH126",
        name="unused-stage",
        severity=Severity.WARNING,
        category=Category.MAINTAINABILITY,
        summary="A build stage whose output nothing uses.",
        explanation=(
            "A stage that no other stage is built FROM or copies from (COPY --from, RUN "
            "--mount=from) does not reach the image. BuildKit skips it, the legacy builder "
            "builds it for nothing, and readers assume it matters; more often than not a "
            "`COPY --from=builder` was forgotten and the final stage copies from the build "
            "context instead. Stages may be built on their own with `--target`, so a named "
            "stage nothing uses counts as a target (dev, test, lint...) and is not reported, "
            "unless its name says it feeds another stage (build, builder, deps, compile, "
            "installer, `*-builder`...); an unnamed stage cannot be a target. The stages a "
            "target needs are used."
        ),
        bad=(
            "FROM golang:1.22 AS builder\nRUN go build -o /app .\n"
            'FROM gcr.io/distroless/static-debian12\nCOPY app /app\nCMD ["/app"]\n'
        ),
        good=(
            "FROM golang:1.22 AS builder\nRUN go build -o /app .\n"
            "FROM gcr.io/distroless/static-debian12\nCOPY --from=builder /app /app\n"
            'CMD ["/app"]\n'
        ),
        check=check,
    )
)
