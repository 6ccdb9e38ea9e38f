from collections.abc import Iterator

from keelhaul.findings import Category, Severity
from keelhaul.rules.registry import DockerfileContext, Hit, Rule, register

SHELL_PATHS = frozenset({"/bin/sh", "/usr/bin/sh"})


def check(ctx: DockerfileContext) -> Iterator[Hit]:
    # Parsing every RUN's shell is shared with other rules, but not needed when no RUN
    # mentions a link to a shell at all.
    if not any(
        i.effective.name == "RUN" and "ln" in i.text and "/sh" in i.text
        for i in ctx.tree.instructions
    ):
        return
    for run in ctx.runs:
        for cmd in run.script:
            if cmd.name != "ln":
                continue
            operands = [a for a in cmd.args if not a.startswith("-")]
            if len(operands) >= 2 and operands[-1] in SHELL_PATHS:
                inst = run.instruction
                yield Hit(inst, f"`{cmd.raw.strip()}` replaces {operands[-1]} for every "
                          "program in the image; to run RUN lines with another shell use "
                          'SHELL ["/bin/bash", "-o", "pipefail", "-c"]', run.stage,
                          inst.locate(cmd.raw.strip()) or inst.locate("ln "))  # fmt: skip


register(
    Rule(
        code="KH154",
        name="shell-replaced-by-symlink",
        severity=Severity.WARNING,
        category=Category.CORRECTNESS,
        summary="`ln -sf /bin/bash /bin/sh` to change the shell RUN uses.",
        explanation=(
            "Pointing /bin/sh at bash changes the shell of every script in the image, package "
            "maintainer scripts included, which may rely on dash or busybox behaviour; the "
            "next package upgrade may also restore the link. To run RUN instructions under "
            "bash, the SHELL instruction says so explicitly and affects only the Dockerfile."
        ),
        bad="FROM debian:12\nRUN ln -sf /bin/bash /bin/sh\n",
        good='FROM debian:12\nSHELL ["/bin/bash", "-o", "pipefail", "-c"]\n',
        check=check,
        related={"hadolint": ("DL4005",)},
    )
)
