from collections.abc import Iterator

from keelhaul.findings import Category, Severity
from keelhaul.rules.dockerfile.shared.security import (
    all_runs,
    base_image,
    exposed_ports,
    final_chain,
    last_user,
)
from keelhaul.rules.dockerfile.shared.structure import locate_word
from keelhaul.rules.registry import DockerfileContext, Hit, Rule, register

#: Usual unprivileged stand-ins for the well-known ports.
ALTERNATIVES = {80: 8080, 443: 8443, 53: 5353, 25: 2525, 21: 2121, 389: 3389, 636: 6636}


def _non_root_user(ctx: DockerfileContext) -> str | None:
    """The user the image runs as when it is known not to be root, else None."""
    stages = final_chain(ctx)
    if not stages:
        return None
    setting = last_user(ctx, stages)
    if setting is not None:
        return None if setting.user is None or setting.is_root else setting.user
    return base_image(stages[-1].base).default_user


def _grants_bind_capability(ctx: DockerfileContext) -> bool:
    """A RUN gives a program the capability (``setcap cap_net_bind_service=+ep /usr/bin/x``)."""
    chain = {s.index for s in final_chain(ctx)}
    return any(
        cmd.name == "setcap" and "net_bind_service" in " ".join(cmd.argv).lower()
        for run in all_runs(ctx)
        if run.stage.index in chain
        for cmd in run.script.commands
    )


def check(ctx: DockerfileContext) -> Iterator[Hit]:
    user = _non_root_user(ctx)
    if user is None:
        return
    ports = [p for p in exposed_ports(ctx) if 0 < p.low < 1024]
    if not ports or _grants_bind_capability(ctx):
        return
    for port in ports:
        instead = ALTERNATIVES.get(port.low)
        other = f"listen on {instead}" if instead else "listen on a port of 1024 or above"
        yield Hit(port.instruction, f"EXPOSE {port.written}: the image runs as {user}, which "
                  f"can bind port {port.low} only with the NET_BIND_SERVICE capability or a "
                  f"runtime that allows low ports; {other} and map it", port.stage,
                  locate_word(port.instruction, port.written))  # fmt: skip


register(
    Rule(
        code="KH207",
        name="privileged-port",
        severity=Severity.INFO,
        category=Category.CORRECTNESS,
        summary="A non-root image exposes a port below 1024.",
        explanation=(
            "Ports below 1024 are privileged on Linux: a process that is not root needs the "
            "NET_BIND_SERVICE capability to listen on them. Docker (20.10 and later) lowers "
            "`net.ipv4.ip_unprivileged_port_start` to 0 in a container's network namespace, so "
            "it works there, but other runtimes, host networking, and hardened pods that drop "
            "all capabilities (the Kubernetes restricted profile) do not: the service then "
            'fails with "permission denied" at start. Listening on 8080 or 8443 and mapping '
            "the port works everywhere. Checked only when the image is known to run as a "
            "non-root user (a non-root USER, or a base that sets one): a root image binds any "
            "port, and the root-user rule speaks about that. Quiet when a RUN grants the "
            "capability with `setcap cap_net_bind_service=+ep`."
        ),
        bad="FROM nginx:1.27\nUSER nginx\nEXPOSE 80\n",
        good="FROM nginx:1.27\nUSER nginx\nEXPOSE 8080\n",
        check=check,
    )
)
