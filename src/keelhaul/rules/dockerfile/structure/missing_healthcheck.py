from collections.abc import Iterator

from keelhaul.findings import Category, Severity
from keelhaul.rules.dockerfile.shared.structure import chain
from keelhaul.rules.registry import DockerfileContext, Hit, Rule, register


def check(ctx: DockerfileContext) -> Iterator[Hit]:
    final = ctx.final_stage
    if final is None:
        return
    for stage in chain(ctx.build, final):
        if any(inst.name == "HEALTHCHECK" for inst in stage.instructions):
            return  # HEALTHCHECK NONE is a decision too
    yield Hit(final.from_instruction, "the final stage has no HEALTHCHECK; Docker and Compose "
              "cannot tell a hung service from a healthy one", final)  # fmt: skip


register(
    Rule(
        code="KH156",
        name="missing-healthcheck",
        severity=Severity.INFO,
        category=Category.CORRECTNESS,
        summary="The final stage has no HEALTHCHECK.",
        explanation=(
            "Off by default: Kubernetes, Nomad and ECS ignore the image's HEALTHCHECK and use "
            "their own probes, so for images deployed there it costs a probe process per "
            "interval for nothing, and images without a long-running service (CLIs, jobs, base "
            "images) have nothing to check. Select KH156 for images run by plain Docker, "
            "Compose or Swarm, where HEALTHCHECK drives `docker ps` health, restarts and "
            "`depends_on: condition: service_healthy`. `HEALTHCHECK NONE` records a decision "
            "and satisfies the rule; a HEALTHCHECK inherited from an earlier stage counts."
        ),
        bad='FROM nginx:1.27\nCMD ["nginx", "-g", "daemon off;"]\n',
        good=(
            "FROM nginx:1.27\nHEALTHCHECK CMD curl -fsS http://localhost/ || exit 1\n"
            'CMD ["nginx", "-g", "daemon off;"]\n'
        ),
        check=check,
        related={"hadolint": ("DL3057",), "trivy": ("DS-0026",), "checkov": ("CKV_DOCKER_2",)},
        default_on=False,
    )
)
