from collections.abc import Iterator

from keelhaul.findings import Category, Safety, Severity
from keelhaul.rules.dockerfile.packages_and_caches._fixes import apk_fix
from keelhaul.rules.dockerfile.shared.packages import APK_INDEX, fill_span, kept_caches
from keelhaul.rules.registry import DockerfileContext, Hit, Rule, register


def check(ctx: DockerfileContext) -> Iterator[Hit]:
    for run, fill in kept_caches(ctx, APK_INDEX):
        if fill.op is not None and fill.op.action == "update":
            message = ("`apk update` stores the package index in /var/cache/apk and it ships "
                       "in this layer; drop it and use `apk add --no-cache`, which fetches "
                       "a fresh index and keeps nothing")  # fmt: skip
        else:
            message = (f"`{fill.program}` without --no-cache keeps the package index in "
                       "/var/cache/apk in this layer; add --no-cache")  # fmt: skip
        fix = apk_fix(ctx, run, fill.op) if fill.op is not None else None
        yield Hit(run.instruction, message, run.stage, fill_span(run, fill), fix)


register(
    Rule(
        code="KH106",
        name="apk-no-cache",
        severity=Severity.WARNING,
        category=Category.SIZE,
        summary="`apk add` without `--no-cache` (or `apk update`) leaves the index in the layer.",
        explanation=(
            "Without --no-cache, apk stores the package index in /var/cache/apk and it ships "
            "in the layer (a few MB per repository). `apk add --no-cache` fetches the index on "
            "the fly and keeps nothing, so a separate `apk update` is not needed either (and "
            "leaves the index behind even when the add uses --no-cache). Removing "
            "/var/cache/apk/* later in the same RUN, or a cache mount there, also does. Only "
            "stages that end up in the image are checked."
        ),
        bad="FROM alpine:3.20\nRUN apk add curl\n",
        good="FROM alpine:3.20\nRUN apk add --no-cache curl\n",
        check=check,
        fix=Safety.SAFE,
        fix_reason=(
            "`apk add --no-cache` fetches a fresh index, installs the same packages, and "
            "keeps nothing in /var/cache/apk; not offered with `--cache-dir` or "
            "`--no-network`, and an `apk update` is dropped only when every later `apk` "
            "fetches its own index."
        ),
        related={"hadolint": ("DL3019",), "trivy": ("DS-0025",)},
    )
)
