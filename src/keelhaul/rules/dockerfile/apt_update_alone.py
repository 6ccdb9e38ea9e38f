from collections.abc import Iterator

from keelhaul.findings import Category, Severity
from keelhaul.rules.registry import DockerfileContext, Hit, Rule, register

APT = ("apt-get", "apt", "aptitude")


def check(ctx: DockerfileContext) -> Iterator[Hit]:
    for run in ctx.runs:
        ops = [op for op in run.operations.packages if op.manager in APT]
        if any(op.action == "update" for op in ops) and not any(
            op.action in ("install", "upgrade") for op in ops
        ):
            yield Hit(run.instruction, "apt-get update in a RUN of its own: its cached layer "
                      "goes stale and later installs use old package lists", run.stage)  # fmt: skip


register(
    Rule(
        code="KH102",
        name="apt-update-alone",
        severity=Severity.WARNING,
        category=Category.BUILD_CACHE,
        summary="`apt-get update` in a different RUN from the install it prepares.",
        explanation=(
            "Docker caches the update's layer. When the install line changes later, it runs "
            "against package lists from the day the update layer was built: versions that are "
            "gone from the mirror fail, or old ones install. Update and install in one RUN."
        ),
        bad="FROM debian:12\nRUN apt-get update\nRUN apt-get install -y curl\n",
        good=(
            "FROM debian:12\nRUN apt-get update && apt-get install -y --no-install-recommends "
            "curl && rm -rf /var/lib/apt/lists/*\n"
        ),
        check=check,
        related={"checkov": ("CKV_DOCKER_5",), "trivy": ("DS-0017",)},
    )
)
