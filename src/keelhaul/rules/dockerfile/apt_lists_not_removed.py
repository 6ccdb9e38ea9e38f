from collections.abc import Iterator

from keelhaul.findings import Category, Severity
from keelhaul.rules.registry import DockerfileContext, Hit, Rule, register

LISTS = "/var/lib/apt/lists"


def check(ctx: DockerfileContext) -> Iterator[Hit]:
    for run in ctx.runs:
        ops = run.operations
        if not any(
            op.manager in ("apt-get", "apt") and op.action == "install" for op in ops.packages
        ):
            continue
        if run.has_cache_mount(LISTS, "/var/lib/apt", "/var/cache/apt"):
            continue
        if any(any(p.startswith(LISTS) for p in c.paths) for c in ops.cleanups):
            continue
        yield Hit(run.instruction, "apt package lists stay in this layer (tens of MB); "
                  "add `&& rm -rf /var/lib/apt/lists/*` to the same RUN", run.stage)  # fmt: skip


register(
    Rule(
        code="KH105",
        name="apt-lists-not-removed",
        severity=Severity.WARNING,
        category=Category.SIZE,
        summary="apt lists not removed in the RUN that installs.",
        explanation=(
            "`apt-get update` downloads package lists into /var/lib/apt/lists (20-50 MB on "
            "Debian). Removed in a later RUN they still ship in the earlier layer. Remove them "
            "in the same RUN, or use a BuildKit cache mount for /var/lib/apt."
        ),
        bad="FROM debian:12\nRUN apt-get update && apt-get install -y --no-install-recommends curl\n",
        good=(
            "FROM debian:12\nRUN apt-get update && apt-get install -y --no-install-recommends "
            "curl && rm -rf /var/lib/apt/lists/*\n"
        ),
        check=check,
        related={"hadolint": ("DL3009",)},
    )
)
