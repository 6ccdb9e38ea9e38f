from collections.abc import Iterator

from keelhaul.findings import Category, Severity
from keelhaul.rules.dockerfile.shared.security import needed_runs, quoted, wrapper_span
from keelhaul.rules.registry import DockerfileContext, Hit, Rule, register

#: Tools that run a command as root, in the way sudo does.
ESCALATORS = ("sudo", "doas")


def check(ctx: DockerfileContext) -> Iterator[Hit]:
    for run in needed_runs(ctx):
        for cmd in run.script.commands:
            tool = next((w for w in cmd.wrappers if w in ESCALATORS), None)
            if tool is None and cmd.name in ESCALATORS:
                tool = cmd.name  # ``sudo -v``, ``sudo -i``: sudo itself is the command
            if tool is None:
                continue
            shown = quoted(cmd.argv, 4) if cmd.name != tool else ""
            yield Hit(run.instruction, f"{tool} {shown}".rstrip() + ": RUN already runs as the "
                      "stage's USER; switch with USER root before the step (and back after it) "
                      "instead of relying on sudo and a sudoers entry", run.stage,
                      wrapper_span(run, cmd, tool))  # fmt: skip


register(
    Rule(
        code="KH202",
        name="sudo-used",
        severity=Severity.WARNING,
        category=Category.SECURITY,
        summary="`sudo` in a RUN.",
        explanation=(
            "A RUN runs as the stage's current USER, so sudo is either pointless (already "
            "root) or works only because the image lets that user become root without a "
            "password, which any process running as that user can do as well. sudo also "
            "behaves differently without a TTY and keeps environment variables its own way. "
            "Switch with `USER root` before the steps that need it and `USER app` after them; "
            "an entrypoint that must drop privileges uses gosu, su-exec or setpriv. `doas` "
            "counts too. Every stage the build runs is checked, and ONBUILD RUNs."
        ),
        bad="FROM debian:12\nRUN useradd app\nUSER app\nRUN sudo apt-get update\n",
        good=(
            "FROM debian:12\nRUN apt-get update && apt-get install -y --no-install-recommends "
            "curl && rm -rf /var/lib/apt/lists/*\nRUN useradd app\nUSER app\n"
        ),
        check=check,
        related={"hadolint": ("DL3004",), "trivy": ("DS-0010",), "checkov": ("CKV2_DOCKER_1",)},
    )
)
