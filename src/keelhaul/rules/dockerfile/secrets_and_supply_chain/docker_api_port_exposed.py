from collections.abc import Iterator

from keelhaul.findings import Category, Severity
from keelhaul.rules.dockerfile.shared.roles import Role, stage_role, target_program
from keelhaul.rules.dockerfile.shared.security import exposed_ports
from keelhaul.rules.dockerfile.shared.structure import locate_word
from keelhaul.rules.registry import DockerfileContext, Hit, Rule, register

#: Programs that are the Docker daemon.
_DAEMONS = frozenset({"dockerd", "dockerd-entrypoint.sh", "dind"})
#: The Docker Engine API's ports and what a client reaching them gets.
PORTS = {
    2375: "the Docker API without TLS or authentication: whoever reaches it is root on the "
    "host running that daemon",
    2376: "the Docker API over TLS: whoever holds a client certificate is root on the host "
    "running that daemon",
}


def check(ctx: DockerfileContext) -> Iterator[Hit]:
    role = stage_role(ctx)
    if role.role is Role.TEST:
        return  # a test fixture (a daemon the test suite talks to)
    daemon = target_program(ctx) in _DAEMONS or "dind" in role.reason
    for port in exposed_ports(ctx):
        for number, what in PORTS.items():
            if daemon and number == 2376:
                continue  # the daemon's own TLS port, with client certificates: its job
            if port.covers(number) and port.protocol in ("", "tcp"):
                yield Hit(port.instruction, f"EXPOSE {port.shown(number)} offers {what}; "
                          "reach the daemon through its socket or an SSH context instead",
                          port.stage, locate_word(port.instruction, port.written))  # fmt: skip
                break


register(
    Rule(
        code="KH209",
        name="docker-api-port-exposed",
        severity=Severity.WARNING,
        category=Category.SECURITY,
        summary="EXPOSE 2375 or 2376: the Docker daemon's API.",
        explanation=(
            "Port 2375 is the Docker Engine API in clear text with no authentication, 2376 the "
            "same API over TLS. Anyone who can call it starts privileged containers, mounts the "
            "host's disk and owns the machine; scanners look for open 2375 ports all day. An "
            "image exposing them runs a Docker daemon (Docker-in-Docker): keep that daemon on "
            "a Unix socket, or behind TLS with client certificates on a private network only. "
            "Only the stages that ship are checked. 2376 is not reported on an image that is "
            "the daemon itself (docker:dind, dockerd-entrypoint.sh): serving its API over TLS "
            "with client certificates is its job; 2375 always is. Test fixtures are skipped."
        ),
        bad="FROM docker:27-dind\nEXPOSE 2375\n",
        good='FROM docker:27-cli\nCMD ["docker", "version"]\n',
        check=check,
    )
)
