"""Linux capabilities: drop them all, add back only what the process needs.

Docker and containerd start a container with 14 capabilities (CHOWN, DAC_OVERRIDE, FOWNER,
FSETID, KILL, SETGID, SETUID, SETPCAP, NET_BIND_SERVICE, NET_RAW, SYS_CHROOT, MKNOD,
AUDIT_WRITE, SETFCAP); most services need none of them once they run as a non-root user.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from keelhaul.findings import Category, Safety, Severity
from keelhaul.rule import Kind, Rule, register
from keelhaul.runtime.checks._common import capability, container_label, security_where, spell
from keelhaul.runtime.grouping import DEPTH_TEXT, DEVELOPMENT_TEXT
from keelhaul.runtime.model import ContainerRun
from keelhaul.runtime.rules import RuntimeHit

#: Capabilities that each amount to root on the host or close to it.
DANGEROUS = frozenset(
    {"SYS_ADMIN", "NET_ADMIN", "SYS_PTRACE", "SYS_MODULE", "DAC_READ_SEARCH", "ALL"}
)
#: The capabilities a container has by default (Docker's and containerd's default set): adding
#: one of them back after ``drop: [ALL]`` is the least-privilege pattern KH400 asks for.
DEFAULT_SET = frozenset(
    {
        "CHOWN", "DAC_OVERRIDE", "FSETID", "FOWNER", "MKNOD", "NET_RAW", "SETGID", "SETUID",
        "SETFCAP", "SETPCAP", "NET_BIND_SERVICE", "SYS_CHROOT", "KILL", "AUDIT_WRITE",
    }
)  # fmt: skip
#: Ports below this need NET_BIND_SERVICE (unless the sysctl ip_unprivileged_port_start says else).
PRIVILEGED_PORT_LIMIT = 1024


def _privileged(run: ContainerRun) -> bool:
    return run.privileged is not None and run.privileged.value


def _not_dropped(run: ContainerRun, settings: Mapping[str, object]) -> Iterator[RuntimeHit]:
    if _privileged(run):  # a privileged container has every capability; KH415 says so
        return
    if any(capability(c.value) == "ALL" for c in run.cap_drop):
        return
    how = spell(
        run,
        "securityContext.capabilities.drop: [ALL]",
        "cap_drop: [ALL]",
        "--cap-drop=ALL",
    )
    yield RuntimeHit(
        security_where(run),
        f"{container_label(run)} keeps the default capabilities; add {how} "
        "(and add back only what it needs)",
    )


def _added(run: ContainerRun, dangerous: bool) -> Iterator[RuntimeHit]:
    dropped_all = any(capability(c.value) == "ALL" for c in run.cap_drop)
    for cap in run.cap_add:
        name = capability(cap.value)
        if name == "NET_BIND_SERVICE" or (name in DANGEROUS) != dangerous:
            continue
        if not dangerous and name in DEFAULT_SET:
            # after drop: [ALL] an add-back of a default capability is what KH400 asks for;
            # without it the container has the capability anyway (KH400 reports that)
            continue
        how = " beyond the default set" if not dropped_all else ""
        yield RuntimeHit(cap.where, f"{container_label(run)} adds capability {name}{how}")


def _added_plain(run: ContainerRun, settings: Mapping[str, object]) -> Iterator[RuntimeHit]:
    return _added(run, dangerous=False)


def _added_dangerous(run: ContainerRun, settings: Mapping[str, object]) -> Iterator[RuntimeHit]:
    return _added(run, dangerous=True)


def _net_bind_unneeded(run: ContainerRun, settings: Mapping[str, object]) -> Iterator[RuntimeHit]:
    low = [
        p
        for p in run.ports
        if p.container_port is not None and p.container_port < PRIVILEGED_PORT_LIMIT
    ]
    if low:
        return
    for cap in run.cap_add:
        if capability(cap.value) == "NET_BIND_SERVICE":
            yield RuntimeHit(
                cap.where,
                f"{container_label(run)} adds NET_BIND_SERVICE but declares no port below "
                f"{PRIVILEGED_PORT_LIMIT}",
            )


_DROP_ALL = """\
apiVersion: v1
kind: Pod
metadata:
  name: web
spec:
  containers:
    - name: web
      image: example/web:1.2
      securityContext:
        capabilities:
          drop: [ALL]
"""

register(
    Rule(
        kind=Kind.RUNTIME,
        example_format="kubernetes",
        code="KH400",
        fix=Safety.UNSAFE,
        fix_reason=(
            "Drops every capability (NET_BIND_SERVICE added back for a port below 1024): a "
            "program that needs one (chown, setuid, raw sockets) fails."
        ),
        name="capabilities-not-dropped",
        severity=Severity.WARNING,
        category=Category.SECURITY,
        summary="The container keeps the default capabilities: drop ALL",
        explanation=(
            "A container starts with 14 capabilities (CHOWN, DAC_OVERRIDE, FOWNER, SETUID, "
            "SETGID, NET_RAW, MKNOD...). A process that gets code execution can use them: NET_RAW "
            "forges packets on the pod network, DAC_OVERRIDE reads any file of the image whatever "
            "its mode. Most services need none of them; drop ALL and add back the one or two the "
            "process needs (NET_BIND_SERVICE for a port below 1024). Kubernetes: "
            "securityContext.capabilities.drop: [ALL]; Compose: cap_drop: [ALL]; docker run: "
            "--cap-drop=ALL. A privileged container is reported by KH415 instead."
            + DEVELOPMENT_TEXT
            + DEPTH_TEXT
        ),
        bad="""\
apiVersion: v1
kind: Pod
metadata:
  name: web
spec:
  containers:
    - name: web
      image: example/web:1.2
""",
        good=_DROP_ALL,
        check=_not_dropped,
        related={
            "checkov": ("CKV_K8S_28", "CKV_K8S_37"),
            "trivy": ("KSV003",),
            "kubesec": ("CapDropAll",),
            "pss": ("Capabilities (restricted)",),
        },
    )
)

register(
    Rule(
        kind=Kind.RUNTIME,
        example_format="kubernetes",
        code="KH401",
        name="capability-added",
        severity=Severity.WARNING,
        category=Category.SECURITY,
        summary="A capability beyond the runtime's default set is added",
        explanation=(
            "Each added capability is a privilege a compromised process keeps: SYS_TIME sets "
            "the host's clock, IPC_LOCK pins memory, SYS_RESOURCE lifts the kernel's limits. "
            "Check that the process needs it; often a file permission or a setting removes the "
            "need. Adding back one of the default set (CHOWN, SETUID, SETGID, "
            "NET_BIND_SERVICE...) after `drop: [ALL]` is the least-privilege pattern KH400 "
            "asks for, so it is not reported here; the Pod Security Standards' restricted "
            "level, stricter, allows only NET_BIND_SERVICE (`--pss restricted` reports the "
            "rest). The dangerous ones (SYS_ADMIN, NET_ADMIN, SYS_PTRACE, SYS_MODULE, "
            "DAC_READ_SEARCH, ALL) are KH402."
        ),
        bad=_DROP_ALL.replace("drop: [ALL]", "drop: [ALL]\n          add: [SYS_TIME]"),
        good=_DROP_ALL.replace("drop: [ALL]", "drop: [ALL]\n          add: [CHOWN]"),
        check=_added_plain,
        related={
            "trivy": ("KSV022",),
            "polaris": ("insecureCapabilities",),
            "pss": ("Capabilities (restricted)",),
        },
    )
)

register(
    Rule(
        kind=Kind.RUNTIME,
        example_format="kubernetes",
        code="KH402",
        name="dangerous-capability-added",
        severity=Severity.ERROR,
        category=Category.SECURITY,
        summary="SYS_ADMIN, NET_ADMIN, SYS_PTRACE, SYS_MODULE, DAC_READ_SEARCH or ALL is added",
        explanation=(
            "These capabilities are root on the host in all but name: SYS_ADMIN mounts "
            "filesystems and escapes through cgroups, SYS_MODULE loads kernel modules, "
            "SYS_PTRACE reads other processes' memory, DAC_READ_SEARCH opens any host file by "
            "handle (the 'shocker' escape), NET_ADMIN reconfigures the network the node shares. "
            "Remove the capability; if a tool really needs it (a VPN, a debugger), run that tool "
            "in a separate, isolated workload."
        ),
        bad=_DROP_ALL.replace("drop: [ALL]", "drop: [ALL]\n          add: [SYS_ADMIN]"),
        good=_DROP_ALL,
        check=_added_dangerous,
        related={
            "checkov": ("CKV_K8S_39",),
            "trivy": ("KSV005",),
            "kubesec": ("CapSysAdmin",),
            "polaris": ("dangerousCapabilities",),
            "pss": ("Capabilities",),
        },
    )
)

register(
    Rule(
        kind=Kind.RUNTIME,
        example_format="kubernetes",
        code="KH403",
        name="net-bind-service-unneeded",
        severity=Severity.INFO,
        category=Category.SECURITY,
        summary="NET_BIND_SERVICE is added but no port below 1024 is declared",
        explanation=(
            "NET_BIND_SERVICE only lets a non-root process listen on a port below 1024. When the "
            "container declares no such port it is a privilege without a use: remove it, or "
            "declare the port (containerPort, Compose ports/expose, docker run -p) so the need is "
            "visible."
        ),
        bad=_DROP_ALL.replace("drop: [ALL]", "drop: [ALL]\n          add: [NET_BIND_SERVICE]")
        + "      ports:\n        - containerPort: 8080\n",
        good=_DROP_ALL.replace("drop: [ALL]", "drop: [ALL]\n          add: [NET_BIND_SERVICE]")
        + "      ports:\n        - containerPort: 80\n",
        check=_net_bind_unneeded,
        related={"pss": ("Capabilities (restricted)",)},
    )
)
