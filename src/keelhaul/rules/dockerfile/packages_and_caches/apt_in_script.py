from collections.abc import Iterator

from keelhaul.findings import Category, Severity
from keelhaul.rules.dockerfile.shared.packages import analysis, command_span
from keelhaul.rules.registry import DockerfileContext, Hit, Rule, register


def check(ctx: DockerfileContext) -> Iterator[Hit]:
    for run in analysis(ctx).runs:
        for cmd in run.script.commands:
            if cmd.name != "apt" or len(cmd.argv) < 2:
                continue
            at = next((i for i, a in enumerate(cmd.argv) if i and not a.startswith("-")), 0)
            sub = cmd.argv[at] if at else ""
            instead = "apt-cache" if sub in ("search", "show", "policy", "depends") else "apt-get"
            yield Hit(run.instruction, f"`apt {sub}`: apt is meant for people at a terminal "
                      f"and its output and options may change between releases; use "
                      f"`{instead} {sub}` in scripts", run.stage,
                      command_span(run, cmd, at))  # fmt: skip


register(
    Rule(
        code="KH169",
        name="apt-in-script",
        severity=Severity.INFO,
        category=Category.MAINTAINABILITY,
        summary="`apt` instead of `apt-get`/`apt-cache` in a RUN.",
        explanation=(
            "apt is the interactive front end: it warns 'apt does not have a stable CLI "
            "interface. Use with caution in scripts', draws progress bars into build logs and "
            "may change its behaviour between releases. apt-get and apt-cache keep a stable "
            "interface for scripts; the commands are the same."
        ),
        bad="FROM debian:12\nRUN apt update && apt install -y --no-install-recommends curl && rm -rf /var/lib/apt/lists/*\n",
        good="FROM debian:12\nRUN apt-get update && apt-get install -y --no-install-recommends curl && rm -rf /var/lib/apt/lists/*\n",
        check=check,
        related={"hadolint": ("DL3027",), "checkov": ("CKV_DOCKER_9",)},
    )
)
