from collections.abc import Iterator

from keelhaul.findings import Category, Severity
from keelhaul.rules.registry import DockerfileContext, Hit, Rule, register


def check(ctx: DockerfileContext) -> Iterator[Hit]:
    stage = ctx.final_stage
    if stage is None:
        return
    for inst in stage.instructions:
        if inst.name in ("CMD", "ENTRYPOINT") and inst.values and not inst.json:
            yield Hit(inst, f"shell-form {inst.name} runs under /bin/sh -c, which does not "
                      "pass SIGTERM on; use the JSON form", stage)  # fmt: skip


register(
    Rule(
        code="KH113",
        name="shell-form-command",
        severity=Severity.WARNING,
        category=Category.CORRECTNESS,
        summary="CMD or ENTRYPOINT in shell form.",
        explanation=(
            "In shell form the process is a child of `/bin/sh -c`; the shell is PID 1 and does "
            "not forward SIGTERM, so `docker stop` waits 10 s and kills the service uncleanly."
        ),
        bad="FROM node:20-slim\nCMD node server.js\n",
        good='FROM node:20-slim\nCMD ["node", "server.js"]\n',
        check=check,
        related={"hadolint": ("DL3025",), "buildkit": ("JSONArgsRecommended",)},
    )
)
