from collections.abc import Iterator

from keelhaul.findings import Category, Severity
from keelhaul.rules.registry import DockerfileContext, Hit, Rule, register


def check(ctx: DockerfileContext) -> Iterator[Hit]:
    for run in ctx.runs:
        for op in run.operations.packages:
            if op.manager in ("apt-get", "apt") and op.action in ("install", "upgrade", "remove"):
                piped_yes = any(c.argv[:1] == ("yes",) and c.pipe_to[:1] == (op.command.argv[0],)
                                for c in run.script.commands)  # fmt: skip
                if not op.assume_yes and not piped_yes:
                    yield Hit(run.instruction, f"apt-get {op.subcommand} without -y stops at "
                              "its confirmation prompt and fails the build", run.stage,
                              run.instruction.locate(op.subcommand))  # fmt: skip


register(
    Rule(
        code="KH104",
        name="apt-missing-yes",
        severity=Severity.ERROR,
        category=Category.CORRECTNESS,
        summary="`apt-get install` without `-y`.",
        explanation=(
            "With no terminal, apt asks 'Do you want to continue?' and reads end-of-file as "
            "no: the build fails as soon as something new must be installed."
        ),
        bad="FROM debian:12\nRUN apt-get update && apt-get install --no-install-recommends curl\n",
        good="FROM debian:12\nRUN apt-get update && apt-get install -y --no-install-recommends curl\n",
        check=check,
        related={"hadolint": ("DL3014",), "trivy": ("DS-0021",)},
    )
)
