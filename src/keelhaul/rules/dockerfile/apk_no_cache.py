from collections.abc import Iterator

from keelhaul.findings import Category, Severity
from keelhaul.rules.registry import DockerfileContext, Hit, Rule, register


def check(ctx: DockerfileContext) -> Iterator[Hit]:
    for run in ctx.runs:
        if run.has_cache_mount("/var/cache/apk", "/etc/apk/cache"):
            continue
        cleaned = any(any("/var/cache/apk" in p for p in c.paths) for c in run.operations.cleanups)
        for op in run.operations.packages:
            if op.manager == "apk" and op.action == "install" and not op.no_cache and not cleaned:
                yield Hit(run.instruction, "apk add without --no-cache keeps the package "
                          "index in the layer", run.stage, run.instruction.locate("apk"))  # fmt: skip


register(
    Rule(
        code="KH106",
        name="apk-no-cache",
        severity=Severity.WARNING,
        category=Category.SIZE,
        summary="`apk add` without `--no-cache`.",
        explanation=(
            "Without --no-cache, apk stores the index in /var/cache/apk and it ships in the "
            "layer. --no-cache fetches the index on the fly and keeps nothing."
        ),
        bad="FROM alpine:3.20\nRUN apk add curl\n",
        good="FROM alpine:3.20\nRUN apk add --no-cache curl\n",
        check=check,
        related={"hadolint": ("DL3019",), "trivy": ("DS-0025",)},
    )
)
