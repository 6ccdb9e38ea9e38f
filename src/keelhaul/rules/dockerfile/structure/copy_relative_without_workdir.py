from collections.abc import Iterator

from keelhaul.findings import Category, Severity
from keelhaul.rules.dockerfile.shared.structure import (
    inherited,
    is_absolute,
    resolve_word,
    rooted_at_scratch,
    scopes,
    transfer,
)
from keelhaul.rules.registry import DockerfileContext, Hit, Rule, register


def check(ctx: DockerfileContext) -> Iterator[Hit]:
    known = scopes(ctx)
    has_workdir: dict[int, bool] = {}
    for stage in ctx.build.stages:
        anchored = inherited(stage, has_workdir)
        # From scratch the directory is "/" for sure: nothing outside the file can move it.
        judged = not rooted_at_scratch(ctx.build, stage)
        for inst in stage.instructions:
            if inst.name == "WORKDIR":
                anchored = True
                continue
            move = transfer(inst) if inst.name in ("COPY", "ADD") else None
            if anchored or not judged or move is None:
                continue
            scope = known.at(inst)
            dest = resolve_word(move.dest, scope, ctx.tree.escape) if scope else None
            if dest is not None and not is_absolute(dest):
                yield Hit(inst, f"{inst.name} to the relative path {move.dest} with no WORKDIR "
                          "in this stage: the files land wherever the base image's WORKDIR "
                          "points; set WORKDIR first or write an absolute path", stage,
                          inst.locate(move.dest))  # fmt: skip
        has_workdir[stage.index] = anchored


register(
    Rule(
        code="KH150",
        name="copy-relative-without-workdir",
        severity=Severity.INFO,
        category=Category.CORRECTNESS,
        summary="COPY or ADD to a relative destination before any WORKDIR in the stage.",
        explanation=(
            "A relative destination is resolved against the working directory, which, before "
            "the stage sets a WORKDIR, is whatever the base image chose: `/` for most, `/go` "
            "for golang, something else after the next base image update. Set an absolute "
            "WORKDIR first (it also makes RUN and CMD start there), or copy to an absolute "
            "path. Stages built from scratch are not flagged (their directory is always `/`), "
            "nor destinations that depend on an unknown variable.\n\n"
            "Information, not a warning: on the real-world corpus every finding was a file "
            "that works as written (the base sets no WORKDIR, the files land in `/` and the "
            "RUN or CMD that reads them uses the same relative path); it is a robustness "
            "note for the next base image, not a defect of the build today."
        ),
        bad="FROM python:3.12-slim\nCOPY requirements.txt .\n",
        good="FROM python:3.12-slim\nWORKDIR /app\nCOPY requirements.txt .\n",
        check=check,
        related={"hadolint": ("DL3045",)},
    )
)
