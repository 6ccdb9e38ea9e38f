from collections.abc import Iterator

from keelhaul.findings import Category, Severity
from keelhaul.rules.dockerfile.shared.roles import Role, stage_role, target_program
from keelhaul.rules.dockerfile.shared.security import exposed_ports
from keelhaul.rules.dockerfile.shared.structure import locate_word
from keelhaul.rules.registry import DockerfileContext, Hit, Rule, register


def check(ctx: DockerfileContext) -> Iterator[Hit]:
    if target_program(ctx) == "sshd" or stage_role(ctx).role is Role.TEST:
        return  # an SSH server is the image's service (a git server), or a test fixture
    for port in exposed_ports(ctx):
        if port.covers(22) and port.protocol in ("", "tcp"):
            yield Hit(port.instruction, f"EXPOSE {port.shown(22)} offers SSH: a login daemon, "
                      "its keys and passwords in the image; use docker exec or kubectl exec "
                      "for a shell", port.stage,
                      locate_word(port.instruction, port.written))  # fmt: skip


register(
    Rule(
        code="KH208",
        name="ssh-port-exposed",
        severity=Severity.WARNING,
        category=Category.SECURITY,
        summary="EXPOSE 22: an SSH server in the container.",
        explanation=(
            "A container runs one service; an SSH daemon beside it is a second, internet-facing "
            "one, with host keys baked into the image (the same for every container started "
            "from it) and passwords or authorized keys to manage. `docker exec`, `kubectl exec` "
            "and `kubectl debug` give a shell without any of that. Only the stages that ship "
            "are checked; a range that includes 22 counts too. An image whose command is sshd "
            "itself (a git server over SSH, an SSH bastion) serves SSH on purpose and is not "
            "reported, nor are test fixtures (an SSH test target under testdata/ or e2e/)."
        ),
        bad="FROM debian:12\nEXPOSE 22 8080\n",
        good="FROM debian:12\nEXPOSE 8080\n",
        check=check,
        related={"trivy": ("DS-0004",), "checkov": ("CKV_DOCKER_1",)},
    )
)
