from collections.abc import Iterator

from keelhaul.findings import Category, Severity
from keelhaul.rules.dockerfile.multistage._stage_references import references
from keelhaul.rules.registry import DockerfileContext, Hit, Rule, register


def check(ctx: DockerfileContext) -> Iterator[Hit]:
    for ref in references(ctx.build):
        if ref.target == ref.stage.index:
            yield Hit(ref.instruction, f"{ref.via}={ref.written} names the stage it is in; a "
                      "stage cannot read its own result (BuildKit reports a circular "
                      "dependency)", ref.stage,
                      ref.instruction.locate(ref.written))  # fmt: skip


register(
    Rule(
        code="KH136",
        name="copy-from-own-stage",
        severity=Severity.ERROR,
        category=Category.CORRECTNESS,
        summary="COPY --from (or RUN --mount from=) naming the stage it is in.",
        explanation=(
            "A stage can copy from earlier stages only; naming itself (by name or number) is a "
            "circular dependency and `docker build` fails. Usually the stage was renamed or the "
            "line was moved from the next stage: copy from the stage that produces the files."
        ),
        bad=(
            "FROM golang:1.22 AS build\nRUN go build -o /out/app .\n"
            "COPY --from=build /out/app /usr/local/bin/app\n"
        ),
        good=(
            "FROM golang:1.22 AS build\nRUN go build -o /out/app .\n"
            "FROM gcr.io/distroless/static-debian12\nCOPY --from=build /out/app /app\n"
        ),
        check=check,
        related={"hadolint": ("DL3023",), "trivy": ("DS-0006",)},
    )
)
