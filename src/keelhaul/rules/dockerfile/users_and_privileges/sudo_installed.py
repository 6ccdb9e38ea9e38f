import re
from collections.abc import Iterator

from keelhaul.findings import Category, Severity
from keelhaul.rules.dockerfile.shared.roles import stage_role
from keelhaul.rules.dockerfile.shared.security import all_runs, final_chain, word_span
from keelhaul.rules.registry import DockerfileContext, Hit, Rule, register

#: Packages that let a user become root.
ESCALATION_PACKAGES = frozenset({"sudo", "doas", "opendoas", "sudo-ldap"})
#: A sudoers line that needs no password.
NOPASSWD = re.compile(r"NOPASSWD\s*:")


def check(ctx: DockerfileContext) -> Iterator[Hit]:
    if "development" in stage_role(ctx).reason:
        return  # a development container: sudo is the developer's convenience
    chain = {s.index for s in final_chain(ctx)}
    runs = [r for r in all_runs(ctx) if r.stage.index in chain]
    nopasswd = any(NOPASSWD.search(" ".join(c.words)) for r in runs for c in r.script.commands)
    for run in runs:
        for op in run.operations.packages:
            if op.action != "install":
                continue
            for spec in op.packages:
                if spec.name.lower() not in ESCALATION_PACKAGES:
                    continue
                index = op.command.argv.index(spec.raw) if spec.raw in op.command.argv else 0
                extra = ", and a sudoers rule grants it without a password" if nopasswd else ""
                yield Hit(run.instruction, f"{op.manager} installs {spec.name} in the image{extra}"
                          f": any process running as a user allowed to use it can become "
                          "root; do the root work at build time and leave it out",
                          run.stage, word_span(run, op.command, index))  # fmt: skip


register(
    Rule(
        code="KH203",
        name="sudo-installed",
        severity=Severity.WARNING,
        category=Category.SECURITY,
        summary="sudo (or doas) installed in the image that ships.",
        explanation=(
            "sudo in a container image is a setuid-root program waiting for a user allowed to "
            "use it: usually the application's own user, given `NOPASSWD: ALL` so that scripts "
            "work. Then an attacker who gets code execution in the application is root in the "
            "container one command later, and the non-root USER protects nothing. Install and "
            "configure everything as root during the build (`USER root` ... `USER app`), and "
            "use gosu, su-exec or setpriv in an entrypoint that must switch users. Only the "
            "final stage and the stages it is built on are checked; a builder stage's sudo "
            "does not ship. Development containers (`.devcontainer/Dockerfile`, "
            "`dev.Dockerfile`, a `dev-envs` target, `hack/develop/`) are not checked: sudo "
            "for the developer's user is their convention (the devcontainer features install "
            "it)."
        ),
        bad=(
            "FROM debian:12\nRUN apt-get update && apt-get install -y --no-install-recommends "
            "sudo && rm -rf /var/lib/apt/lists/*\n"
        ),
        good=(
            "FROM debian:12\nRUN apt-get update && apt-get install -y --no-install-recommends "
            "curl && rm -rf /var/lib/apt/lists/*\n"
        ),
        check=check,
    )
)
