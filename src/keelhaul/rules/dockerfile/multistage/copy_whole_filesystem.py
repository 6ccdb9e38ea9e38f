import posixpath
from collections.abc import Iterator

from keelhaul.dockerfile.stages import Stage
from keelhaul.findings import Category, Severity
from keelhaul.rules.dockerfile.multistage._stage_references import stage_names
from keelhaul.rules.dockerfile.shared.structure import chain, rooted_at_scratch, transfer
from keelhaul.rules.registry import DockerfileContext, Hit, Rule, register


def _is_root(path: str) -> bool:
    return posixpath.normpath(path.strip("\"'") or ".") == "/"


#: Instructions that change a stage's files.
_CHANGES = frozenset({"RUN", "COPY", "ADD", "WORKDIR"})


def _builds_on_an_os(ctx: DockerfileContext, stage: Stage) -> bool:
    """A stage that adds files to an image's filesystem (builds on an OS, in all likelihood).

    Stages built from scratch hold only what they were given, and a bare alias of an image
    (``FROM tonistiigi/xx AS xx``) is an image made to be copied whole, like images named
    directly in --from: keelhaul cannot see what those contain.
    """
    if rooted_at_scratch(ctx.build, stage):
        return False
    return any(i.name in _CHANGES for s in chain(ctx.build, stage) for i in s.instructions)


def check(ctx: DockerfileContext) -> Iterator[Hit]:
    final = ctx.final_stage
    if final is None:
        return
    names = stage_names(ctx.build)
    # Only what ships matters: the final stage and the stages it is built FROM.
    for stage in chain(ctx.build, final):
        for inst in stage.instructions:
            ref = inst.flag("from") if inst.name == "COPY" else None
            move = transfer(inst) if ref else None
            if ref is None or move is None or not _is_root(move.dest):
                continue
            if not any(_is_root(s) for s in move.sources):
                continue
            index = int(ref) if ref.isdigit() else names.get(ref.lower())
            source = ctx.build.stages[index] if index is not None and index < stage.index else None
            if source is None or not _builds_on_an_os(ctx, source):
                continue
            what = f"stage {source.label}"
            yield Hit(inst, f"COPY --from={ref} / / puts the whole filesystem of {what} (its OS, "
                      "package caches and build tools) into the image; copy only the paths "
                      "the image needs", stage, inst.locate(ref))  # fmt: skip


register(
    Rule(
        code="KH159",
        name="copy-whole-filesystem",
        severity=Severity.WARNING,
        category=Category.SIZE,
        summary="COPY --from=... / / of a whole OS filesystem into the image that ships.",
        explanation=(
            "Copying `/` of a builder stage or an image into the final image brings its whole "
            "operating system along, compilers, caches and all: the multi-stage build then "
            "saves nothing and the image carries two distributions' worth of files and CVEs. "
            "Copy the build outputs you need. Flagged only for stages of this Dockerfile that "
            "add files to an image: not for stages that do not ship, stages built FROM "
            "scratch (their `/` holds only what was put there), or images and bare image "
            "aliases (`FROM tonistiigi/xx AS xx`), which are often made to be copied whole."
        ),
        bad=(
            "FROM golang:1.22 AS build\nRUN go build -o /out/app .\n"
            "FROM gcr.io/distroless/static-debian12\nCOPY --from=build / /\n"
        ),
        good=(
            "FROM golang:1.22 AS build\nRUN go build -o /out/app .\n"
            "FROM gcr.io/distroless/static-debian12\nCOPY --from=build /out/app /app\n"
        ),
        check=check,
        related={"hadolint": ("DL3067",)},
    )
)
