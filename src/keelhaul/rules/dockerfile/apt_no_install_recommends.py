from collections.abc import Iterator

from keelhaul.findings import Category, Severity
from keelhaul.rules.registry import DockerfileContext, Hit, Rule, register


def check(ctx: DockerfileContext) -> Iterator[Hit]:
    for run in ctx.runs:
        for op in run.operations.packages:
            wanted = op.manager in ("apt-get", "apt") and op.action == "install" and op.packages
            if wanted and not op.no_install_recommends:
                names = ", ".join(p.name for p in op.packages[:4])
                yield Hit(run.instruction, f"apt install of {names} also installs "
                          "recommended packages; add --no-install-recommends", run.stage,
                          run.instruction.locate(op.subcommand))  # fmt: skip


register(
    Rule(
        code="KH103",
        name="apt-no-install-recommends",
        severity=Severity.WARNING,
        category=Category.SIZE,
        summary="`apt-get install` without `--no-install-recommends`.",
        explanation=(
            "By default apt also installs every package the requested ones recommend: often "
            "tens to hundreds of MB of documentation tools, X libraries and helpers the image "
            "never uses, each one more attack surface."
        ),
        bad="FROM debian:12\nRUN apt-get update && apt-get install -y curl && rm -rf /var/lib/apt/lists/*\n",
        good=(
            "FROM debian:12\nRUN apt-get update && apt-get install -y --no-install-recommends "
            "curl && rm -rf /var/lib/apt/lists/*\n"
        ),
        check=check,
        related={"hadolint": ("DL3015",), "trivy": ("DS-0029",)},
    )
)
