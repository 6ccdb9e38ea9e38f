from collections.abc import Iterator

from keelhaul.findings import Category, Severity
from keelhaul.rules.dockerfile.shared.structure import (
    is_directory_path,
    resolve_word,
    scopes,
    stage_of,
    transfer,
)
from keelhaul.rules.registry import DockerfileContext, Hit, Rule, register


def check(ctx: DockerfileContext) -> Iterator[Hit]:
    known = scopes(ctx)
    stages = stage_of(ctx.build)
    for inst in ctx.tree.instructions:
        move = transfer(inst)
        if move is None or len(move.sources) + move.heredocs < 2:
            continue
        # An ONBUILD trigger expands its variables in the build that uses this image.
        scope = known.at(inst) if inst.name != "ONBUILD" else None
        dest = resolve_word(move.dest, scope, ctx.tree.escape) if scope else move.dest
        if dest is None or "$" in dest or is_directory_path(dest):
            continue  # depends on a variable we cannot resolve, or is a directory
        name = inst.effective.name
        yield Hit(inst, f"{name} of several sources into {move.dest}: end the destination "
                  f"with / ({move.dest}/) so that it is a directory", stages.get(id(inst)),
                  inst.locate(move.dest))  # fmt: skip


register(
    Rule(
        code="KH134",
        name="copy-several-sources-to-file",
        severity=Severity.WARNING,
        category=Category.CORRECTNESS,
        summary="COPY or ADD of several sources to a destination that does not end in /.",
        explanation=(
            "With more than one source the destination must be a directory, written with a "
            "trailing `/`. The classic builder, Podman and kaniko refuse the line; BuildKit "
            "guesses, and copies into a file or a directory depending on whether the path "
            "already exists in the base image (moby/buildkit#1853). `.` and `..` count as "
            "directories. A wildcard source that might match several files is not judged."
        ),
        bad="FROM node:20-slim\nWORKDIR /app\nCOPY package.json package-lock.json /app\n",
        good="FROM node:20-slim\nWORKDIR /app\nCOPY package.json package-lock.json /app/\n",
        check=check,
        related={"hadolint": ("DL3021",), "trivy": ("DS-0011",)},
    )
)
