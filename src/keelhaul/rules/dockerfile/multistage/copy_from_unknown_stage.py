from collections.abc import Iterator

from keelhaul.findings import Category, Severity
from keelhaul.rules.dockerfile.multistage._stage_references import (
    Reference,
    references,
    stage_names,
)
from keelhaul.rules.dockerfile.shared.structure import OFFICIAL_IMAGES, suggest
from keelhaul.rules.registry import DockerfileContext, Hit, Rule, register


def _closest(ref: str, names: list[str]) -> str | None:
    # "set" for "license-set": a stage whose name ends with the word beats a near spelling.
    word = ref.lower()
    endings = [n for n in names if n.endswith(("-" + word, "_" + word, "." + word))]
    if len(endings) == 1:
        return endings[0]
    return suggest(word, names)


def _problem(ctx: DockerfileContext, ref: Reference, names: list[str]) -> str | None:
    count = len(ctx.build.stages)
    if ref.target is not None:
        if ref.target == ref.stage.index:
            return None  # its own stage: KH136
        if ref.target >= count:
            return f"{ref.via}={ref.written}: there is no stage {ref.target} ({count} stages)"
        if ref.target > ref.stage.index:
            return (f"{ref.via}={ref.written} names a stage defined after this one (line "
                    f"{ctx.build.stages[ref.target].from_instruction.start_line}); BuildKit "
                    "needs it defined first")  # fmt: skip
        return None
    if "$" in ref.written[:-1]:
        return (f"{ref.via}={ref.written}: BuildKit does not expand variables here and "
                "fails; add a stage `FROM ${...} AS name` (global ARGs work there) and copy "
                "from it")  # fmt: skip
    bare = ref.written.lower()
    if any(c in bare for c in "/:@") or bare in OFFICIAL_IMAGES:
        return None  # an image reference
    near = _closest(ref.written, names)
    hint = f"; did you mean {near}?" if near else ""
    return (f"{ref.via}={ref.written} names no stage, so BuildKit pulls the image "
            f"docker.io/library/{bare} (unless --build-context {bare}=... is given){hint}")  # fmt: skip


def check(ctx: DockerfileContext) -> Iterator[Hit]:
    names = sorted(stage_names(ctx.build))
    for ref in references(ctx.build):
        problem = _problem(ctx, ref, names)
        if problem is not None:
            yield Hit(ref.instruction, problem, ref.stage, ref.instruction.locate(ref.written))


register(
    Rule(
        code="KH135",
        name="copy-from-unknown-stage",
        severity=Severity.ERROR,
        category=Category.CORRECTNESS,
        summary="COPY --from naming a stage that does not exist, comes later, or uses a variable.",
        explanation=(
            "`COPY --from=NAME` copies from the stage NAME, and when there is none, from the "
            "image NAME: a mistyped or renamed stage becomes a pull of "
            "`docker.io/library/NAME`, which fails or, worse, fetches somebody else's image. "
            "A stage must also be defined before the stage that copies from it, and BuildKit "
            "refuses variables in `--from`. Bare names of Docker Hub official images (`nginx`, "
            "`golang`) and references with a registry, path, tag or digest count as images. "
            "`RUN --mount=from=` is checked the same way. A name supplied with "
            "`--build-context NAME=...` is legitimate: suppress the finding on that line."
        ),
        bad=(
            "FROM golang:1.22 AS build\nRUN go build -o /out/app .\n"
            "FROM gcr.io/distroless/static-debian12\nCOPY --from=builder /out/app /app\n"
        ),
        good=(
            "FROM golang:1.22 AS build\nRUN go build -o /out/app .\n"
            "FROM gcr.io/distroless/static-debian12\nCOPY --from=build /out/app /app\n"
        ),
        check=check,
        related={"hadolint": ("DL3022",)},
    )
)
