from collections.abc import Iterator

from keelhaul.findings import Category, Severity
from keelhaul.rules.registry import DockerfileContext, Hit, Rule, register

ROOT = ("root", "0")


def check(ctx: DockerfileContext) -> Iterator[Hit]:
    stage = ctx.final_stage
    if stage is None or stage.is_scratch:
        return
    # A base that is an earlier stage passes its USER on.
    chain = [stage]
    while chain[-1].base_stage is not None and chain[-1].base_stage < chain[-1].index:
        chain.append(ctx.build.stages[chain[-1].base_stage])
    for link in chain:
        users = [i for i in link.instructions if i.name == "USER"]
        if users:
            last = users[-1]
            user = (last.values[0] if last.values else "").split(":")[0]
            if user in ROOT:
                yield Hit(last, f"the final stage runs as {user}; switch to an unprivileged "
                          "user (a numeric UID such as 10001)", stage)  # fmt: skip
            return
    yield Hit(stage.from_instruction, "the final stage sets no USER, so the container runs as "
              "root unless the base image says otherwise", stage)  # fmt: skip


register(
    Rule(
        code="KH109",
        name="root-user",
        severity=Severity.WARNING,
        category=Category.SECURITY,
        summary="The final stage runs as root.",
        explanation=(
            "A process running as root in a container is root on the host's kernel: one escape "
            "or one writable host mount away from the node. Create a user and end with "
            "`USER 10001:10001`; numeric IDs also let Kubernetes verify runAsNonRoot."
        ),
        bad='FROM debian:12\nCMD ["sleep", "infinity"]\n',
        good=(
            "FROM debian:12\nRUN useradd --uid 10001 --no-create-home app\nUSER 10001:10001\n"
            'CMD ["sleep", "infinity"]\n'
        ),
        check=check,
        related={
            "hadolint": ("DL3002",),
            "trivy": ("DS-0002",),
            "checkov": ("CKV_DOCKER_3", "CKV_DOCKER_8"),
            "dockle": ("CIS-DI-0001",),
        },
    )
)
