"""The Pod Security Standards, checked exactly as Kubernetes' pod-security-admission checks
them at version 1.35 (``k8s.io/pod-security-admission/policy``, the ``check_*.go`` files).

Each control below is one upstream check, at the version in force for v1.35; the docstring
names the upstream check ID. At the restricted level the restricted checks replace the
baseline checks they override upstream (capabilities, hostPath volumes, seccomp, procMount).
Upstream returns one verdict per check and pod; here each offending place is one finding, so
it points at its line. Baseline controls are reported as KH445, restricted ones as KH446.

The checks read :class:`keelhaul.runtime.kubernetes.Pod`: the raw pod- and container-level
fields, not the merged :class:`ContainerRun` values, because the standards tell "the pod sets
it" from "a container sets it" (a pod-level ``runAsNonRoot: false`` fails even when every
container sets ``true``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from keelhaul.findings import Category, Severity
from keelhaul.rule import REGISTRY, Kind, Rule, register
from keelhaul.runtime.model import ContainerRun, Where
from keelhaul.runtime.rules import RuntimeHit

if TYPE_CHECKING:  # the reader is imported by a check: registering the rules needs none of it
    from keelhaul.runtime.kubernetes import Container, Pod, SecurityContext

__all__ = ["PSS_CODES", "Control", "evaluate", "violations"]

BASELINE_CODE = "KH445"
RESTRICTED_CODE = "KH446"
PSS_CODES = (BASELINE_CODE, RESTRICTED_CODE)

#: check_capabilities_baseline.go: capabilities_allowed_1_0.
BASELINE_CAPABILITIES = frozenset(
    {"AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD",
     "NET_BIND_SERVICE", "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT"}
)  # fmt: skip
#: check_sysctls.go: sysctlsAllowedV1Dot32 (in force from 1.32 to 1.36).
SAFE_SYSCTLS = frozenset(
    {"kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range", "net.ipv4.tcp_syncookies",
     "net.ipv4.ping_group_range", "net.ipv4.ip_unprivileged_port_start",
     "net.ipv4.ip_local_reserved_ports", "net.ipv4.tcp_keepalive_time",
     "net.ipv4.tcp_fin_timeout", "net.ipv4.tcp_keepalive_intvl",
     "net.ipv4.tcp_keepalive_probes", "net.ipv4.tcp_rmem", "net.ipv4.tcp_wmem"}
)  # fmt: skip
#: check_seLinuxOptions.go: selinuxAllowedTypes1_31.
SELINUX_TYPES = frozenset(
    {"", "container_t", "container_init_t", "container_kvm_t", "container_engine_t"}
)
#: check_restrictedVolumes.go: the inline volume sources restricted allows.
RESTRICTED_VOLUMES = frozenset(
    {"configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "image", "persistentVolumeClaim",
     "projected", "secret"}
)  # fmt: skip
_SECCOMP_OK = frozenset({"RuntimeDefault", "Localhost"})
_APPARMOR_OK = frozenset({"RuntimeDefault", "Localhost"})
_APPARMOR_PREFIX = "container.apparmor.security.beta.kubernetes.io/"

Problem = tuple[Where, str]


@dataclass(frozen=True)
class Control:
    check_id: str
    """The upstream check ID (``hostNamespaces``, ``capabilities_restricted``...)."""
    title: str
    """The control's name in the Pod Security Standards page."""
    level: str
    run: Callable[[Pod], list[Problem]]
    overrides: tuple[str, ...] = ()


def _label(c: Container) -> str:
    kind = {"initContainers": "init container", "ephemeralContainers": "ephemeral container"}
    return f"{kind.get(c.kind, 'container')} {c.name}"


def _sc_where(sc: SecurityContext, fallback: Where) -> Where:
    return sc.where if sc.where is not None else fallback


def _pod_where(pod: Pod) -> Where:
    return _sc_where(pod.security, pod.where)


def _windows(pod: Pod) -> bool:
    return pod.os_name == "windows"


def _user_namespace(pod: Pod) -> bool:
    """relaxPolicyForUserNamespacePod: ``hostUsers: false``."""
    return pod.host_users is not None and not pod.host_users.value


# ---------------------------------------------------------------------------- baseline


def host_process(pod: Pod) -> list[Problem]:
    """windowsHostProcess."""
    out: list[Problem] = []
    hp = pod.security.host_process
    if hp is not None and hp.value:
        out.append((hp.where, "pod must not set securityContext.windowsOptions.hostProcess=true"))
    for c in pod.containers:
        hp = c.security.host_process
        if hp is not None and hp.value:
            out.append(
                (
                    hp.where,
                    f"{_label(c)} must not set securityContext.windowsOptions.hostProcess=true",
                )
            )
    return out


def host_namespaces(pod: Pod) -> list[Problem]:
    """hostNamespaces."""
    out: list[Problem] = []
    for name, value in (
        ("hostNetwork", pod.host_network),
        ("hostPID", pod.host_pid),
        ("hostIPC", pod.host_ipc),
    ):
        if value is not None and value.value:
            out.append((value.where, f"{name}=true"))
    return out


def privileged(pod: Pod) -> list[Problem]:
    """privileged."""
    return [
        (c.security.privileged.where, f"{_label(c)} must not set securityContext.privileged=true")
        for c in pod.containers
        if c.security.privileged is not None and c.security.privileged.value
    ]


def capabilities_baseline(pod: Pod) -> list[Problem]:
    """capabilities_baseline."""
    return [
        (
            cap.where,
            f"{_label(c)} must not include {cap.value!r} in securityContext.capabilities.add",
        )
        for c in pod.containers
        for cap in c.security.cap_add
        if cap.value not in BASELINE_CAPABILITIES
    ]


def host_path_volumes(pod: Pod) -> list[Problem]:
    """hostPathVolumes."""
    return [
        (v.where, f"hostPath volume {v.name!r}") for v in pod.volumes if "hostPath" in v.sources
    ]


def host_ports(pod: Pod) -> list[Problem]:
    """hostPorts."""
    return [
        (p.where, f"{_label(c)} uses hostPort {p.value}")
        for c in pod.containers
        for p in c.host_ports
    ]


def host_probes(pod: Pod) -> list[Problem]:
    """hostProbesAndHostLifecycle (from 1.34)."""
    return [
        (h.where, f"{_label(c)} uses forbidden host {h.value!r} in a probe or lifecycle handler")
        for c in pod.containers
        for h in c.probe_hosts
    ]


def apparmor(pod: Pod) -> list[Problem]:
    """appArmorProfile: the field (pod and containers) and the deprecated annotations."""
    out: list[Problem] = []
    psc = pod.security
    if psc.apparmor_set and psc.apparmor is not None and psc.apparmor.value not in _APPARMOR_OK:
        out.append(
            (
                psc.apparmor.where,
                f"pod must not set AppArmor profile type to {psc.apparmor.value!r}",
            )
        )
    for c in pod.containers:
        sc = c.security
        if sc.apparmor_set and sc.apparmor is not None and sc.apparmor.value not in _APPARMOR_OK:
            out.append(
                (
                    sc.apparmor.where,
                    f"{_label(c)} must not set AppArmor profile type to {sc.apparmor.value!r}",
                )
            )
    for key, note in sorted(pod.annotations.items()):
        value = note.value
        if key.startswith(_APPARMOR_PREFIX) and not (
            value == "" or value == "runtime/default" or value.startswith("localhost/")
        ):
            out.append((note.where, f"annotation {key}={value!r} is a forbidden AppArmor profile"))
    return out


def _selinux_bad(sc: SecurityContext) -> list[str]:
    if not sc.selinux_set:
        return []
    bad: list[str] = []
    kind = sc.selinux_type.value if sc.selinux_type is not None else ""
    if kind not in SELINUX_TYPES:
        bad.append(f"type {kind!r}")
    if sc.selinux_user is not None and sc.selinux_user.value:
        bad.append("user may not be set")
    if sc.selinux_role is not None and sc.selinux_role.value:
        bad.append("role may not be set")
    return bad


def selinux(pod: Pod) -> list[Problem]:
    """seLinuxOptions (1.31 types)."""
    out: list[Problem] = []
    bad = _selinux_bad(pod.security)
    if bad:
        out.append(
            (
                _pod_where(pod),
                f"pod sets forbidden securityContext.seLinuxOptions: {'; '.join(bad)}",
            )
        )
    for c in pod.containers:
        bad = _selinux_bad(c.security)
        if bad:
            where = _sc_where(c.security, c.where)
            out.append(
                (
                    where,
                    f"{_label(c)} sets forbidden securityContext.seLinuxOptions: {'; '.join(bad)}",
                )
            )
    return out


def _proc_mount(pod: Pod) -> list[Problem]:
    """procMount_1_0."""
    return [
        (
            c.security.proc_mount.where,
            f"{_label(c)} must not set securityContext.procMount to {c.security.proc_mount.value!r}",
        )
        for c in pod.containers
        if c.security.proc_mount is not None and c.security.proc_mount.value != "Default"
    ]


def proc_mount_baseline(pod: Pod) -> list[Problem]:
    """procMount (1.35: relaxed for a pod in a user namespace)."""
    return [] if _user_namespace(pod) else _proc_mount(pod)


def _seccomp_bad(sc: SecurityContext) -> bool:
    return sc.seccomp_set and (sc.seccomp is None or sc.seccomp.value not in _SECCOMP_OK)


def _seccomp_value(sc: SecurityContext) -> str:
    return sc.seccomp.value if sc.seccomp is not None else ""


def seccomp_baseline(pod: Pod) -> list[Problem]:
    """seccompProfile_baseline (1.19: the fields; the annotations are no longer read)."""
    out: list[Problem] = []
    psc = pod.security
    if _seccomp_bad(psc):
        where = psc.seccomp.where if psc.seccomp is not None else _pod_where(pod)
        out.append(
            (
                where,
                f"pod must not set securityContext.seccompProfile.type to {_seccomp_value(psc)!r}",
            )
        )
    for c in pod.containers:
        if _seccomp_bad(c.security):
            sc = c.security
            where = sc.seccomp.where if sc.seccomp is not None else _sc_where(sc, c.where)
            out.append(
                (
                    where,
                    f"{_label(c)} must not set securityContext.seccompProfile.type to {_seccomp_value(sc)!r}",
                )
            )
    return out


def sysctls(pod: Pod) -> list[Problem]:
    """sysctls (the 1.32 allowed set)."""
    out: list[Problem] = []
    for sysctl in pod.security.sysctls:
        name = sysctl.value.split("=", 1)[0]
        if name not in SAFE_SYSCTLS:
            out.append((sysctl.where, f"forbidden sysctl {name}"))
    return out


# ---------------------------------------------------------------------------- restricted


def restricted_volumes(pod: Pod) -> list[Problem]:
    """restrictedVolumes (a volume with no source is defaulted to emptyDir by the API)."""
    out: list[Problem] = []
    for v in pod.volumes:
        if not v.sources or any(s in RESTRICTED_VOLUMES for s in v.sources):
            continue
        out.append((v.where, f"volume {v.name!r} uses restricted volume type {v.kind!r}"))
    return out


def privilege_escalation(pod: Pod) -> list[Problem]:
    """allowPrivilegeEscalation (1.25: Windows pods exempt)."""
    if _windows(pod):
        return []
    out: list[Problem] = []
    for c in pod.containers:
        ape = c.security.allow_privilege_escalation
        if ape is None or ape.value:
            where = ape.where if ape is not None else _sc_where(c.security, c.where)
            out.append(
                (where, f"{_label(c)} must set securityContext.allowPrivilegeEscalation=false")
            )
    return out


def run_as_non_root(pod: Pod) -> list[Problem]:
    """runAsNonRoot (1.35: relaxed in a user namespace)."""
    if _user_namespace(pod):
        return []
    out: list[Problem] = []
    pod_value = pod.security.run_as_non_root
    if pod_value is not None and not pod_value.value:
        out.append((pod_value.where, "pod must not set securityContext.runAsNonRoot=false"))
    pod_true = pod_value is not None and pod_value.value
    for c in pod.containers:
        value = c.security.run_as_non_root
        if value is not None:
            if not value.value:
                out.append(
                    (value.where, f"{_label(c)} must not set securityContext.runAsNonRoot=false")
                )
        elif not pod_true:
            out.append(
                (
                    _sc_where(c.security, c.where),
                    f"pod or {_label(c)} must set securityContext.runAsNonRoot=true",
                )
            )
    return out


def run_as_user(pod: Pod) -> list[Problem]:
    """runAsUser (1.35: relaxed in a user namespace)."""
    if _user_namespace(pod):
        return []
    out: list[Problem] = []
    value = pod.security.run_as_user
    if value is not None and value.value == 0:
        out.append((value.where, "pod must not set runAsUser=0"))
    for c in pod.containers:
        value = c.security.run_as_user
        if value is not None and value.value == 0:
            out.append((value.where, f"{_label(c)} must not set runAsUser=0"))
    return out


def seccomp_restricted(pod: Pod) -> list[Problem]:
    """seccompProfile_restricted (1.25: Windows pods exempt)."""
    if _windows(pod):
        return []
    out = seccomp_baseline(pod)
    psc = pod.security
    pod_set = psc.seccomp_set and not _seccomp_bad(psc)
    for c in pod.containers:
        if not c.security.seccomp_set and not pod_set:
            out.append(
                (_sc_where(c.security, c.where),
                 f'pod or {_label(c)} must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost"')
            )  # fmt: skip
    return out


def capabilities_restricted(pod: Pod) -> list[Problem]:
    """capabilities_restricted (1.25: Windows pods exempt)."""
    if _windows(pod):
        return []
    out: list[Problem] = []
    for c in pod.containers:
        sc = c.security
        if sc.capabilities is None or not any(d.value == "ALL" for d in sc.cap_drop):
            where = sc.capabilities if sc.capabilities is not None else _sc_where(sc, c.where)
            out.append((where, f'{_label(c)} must set securityContext.capabilities.drop=["ALL"]'))
        for cap in sc.cap_add:
            if cap.value != "NET_BIND_SERVICE":
                out.append(
                    (
                        cap.where,
                        f"{_label(c)} must not include {cap.value!r} in securityContext.capabilities.add",
                    )
                )
    return out


CONTROLS: tuple[Control, ...] = (
    Control("windowsHostProcess", "HostProcess", "baseline", host_process),
    Control("hostNamespaces", "Host Namespaces", "baseline", host_namespaces),
    Control("privileged", "Privileged Containers", "baseline", privileged),
    Control("capabilities_baseline", "Capabilities", "baseline", capabilities_baseline),
    Control("hostPathVolumes", "HostPath Volumes", "baseline", host_path_volumes),
    Control("hostPorts", "Host Ports", "baseline", host_ports),
    Control("hostProbesAndHostLifecycle", "Host Probes / Lifecycle Hooks", "baseline", host_probes),
    Control("appArmorProfile", "AppArmor", "baseline", apparmor),
    Control("seLinuxOptions", "SELinux", "baseline", selinux),
    Control("procMount", "/proc Mount Type", "baseline", proc_mount_baseline),
    Control("seccompProfile_baseline", "Seccomp", "baseline", seccomp_baseline),
    Control("sysctls", "Sysctls", "baseline", sysctls),
    Control(
        "restrictedVolumes", "Volume Types", "restricted", restricted_volumes, ("hostPathVolumes",)
    ),
    Control("allowPrivilegeEscalation", "Privilege Escalation", "restricted", privilege_escalation),
    Control("runAsNonRoot", "Running as Non-root", "restricted", run_as_non_root),
    Control("runAsUser", "Running as Non-root user", "restricted", run_as_user),
    Control(
        "seccompProfile_restricted",
        "Seccomp",
        "restricted",
        seccomp_restricted,
        ("seccompProfile_baseline",),
    ),
    Control(
        "capabilities_restricted",
        "Capabilities",
        "restricted",
        capabilities_restricted,
        ("capabilities_baseline",),
    ),
    Control("procMount_restricted", "/proc Mount Type", "restricted", _proc_mount, ("procMount",)),
)


def controls(level: str) -> list[Control]:
    """The checks upstream runs at ``level``, overridden ones left out."""
    if level not in ("baseline", "restricted"):
        raise ValueError(f"unknown Pod Security Standards level {level!r}")
    chosen = [c for c in CONTROLS if c.level == "baseline" or level == "restricted"]
    overridden = {o for c in chosen for o in c.overrides}
    return [c for c in chosen if c.check_id not in overridden]


def evaluate(pod: Pod, level: str) -> Iterator[tuple[Control, Where, str]]:
    """Every violation of ``level`` in ``pod``: the control, the place, the detail."""
    for control in controls(level):
        for where, detail in control.run(pod):
            yield control, where, detail


def violations(runs: Iterable[ContainerRun], level: str) -> Iterator[tuple[Rule, RuntimeHit]]:
    """The PSS findings of the Kubernetes pods among ``runs``, for :func:`check_runs`."""
    from keelhaul.runtime.kubernetes import pods_of

    for pod in pods_of(list(runs)):
        for control, where, detail in evaluate(pod, level):
            rule = REGISTRY[BASELINE_CODE if control.level == "baseline" else RESTRICTED_CODE]
            message = f"{pod.workload} violates PSS {control.level} ({control.title}): {detail}"
            yield rule, RuntimeHit(where, message)


def _none(run: ContainerRun, settings: object) -> Iterator[RuntimeHit]:
    """The findings come from :func:`violations`, per pod, when ``--pss`` asks for them."""
    return iter(())


_POD = """\
apiVersion: v1
kind: Pod
metadata:
  name: web
spec:
  securityContext:
    runAsNonRoot: true
    seccompProfile: {type: RuntimeDefault}
  containers:
    - name: web
      image: example/web:1.2
      securityContext:
        allowPrivilegeEscalation: false
        capabilities: {drop: [ALL]}
"""

register(
    Rule(
        kind=Kind.RUNTIME,
        example_format="kubernetes",
        code=BASELINE_CODE,
        name="pss-baseline",
        severity=Severity.ERROR,
        category=Category.SECURITY,
        summary="The pod violates the Pod Security Standards' baseline level",
        explanation=(
            "A namespace labelled pod-security.kubernetes.io/enforce: baseline refuses such a "
            "pod. The baseline level forbids known privilege escalations: host namespaces, "
            "privileged containers, capabilities beyond the default set, hostPath volumes, "
            "host ports, host in probes, AppArmor and seccomp Unconfined, custom SELinux users, "
            "roles and types, an unmasked /proc and unsafe sysctls. keelhaul checks each control "
            "as pod-security-admission v1.35 does. Reported only with --pss baseline or "
            "--pss restricted."
        ),
        bad=_POD.replace("  containers:", "  hostNetwork: true\n  containers:"),
        good=_POD,
        check=_none,
        related={"pss": ("baseline",)},
        default_on=False,
        example_settings={"pss": "baseline"},
    )
)

register(
    Rule(
        kind=Kind.RUNTIME,
        example_format="kubernetes",
        code=RESTRICTED_CODE,
        name="pss-restricted",
        severity=Severity.ERROR,
        category=Category.SECURITY,
        summary="The pod violates the Pod Security Standards' restricted level",
        explanation=(
            "A namespace labelled pod-security.kubernetes.io/enforce: restricted refuses such a "
            "pod. On top of baseline, restricted requires allowPrivilegeEscalation: false, "
            "runAsNonRoot: true and no runAsUser 0, a RuntimeDefault or Localhost seccomp "
            "profile, capabilities drop [ALL] (adding back only NET_BIND_SERVICE), the default "
            "/proc mount, and only configMap, csi, downwardAPI, emptyDir, ephemeral, image, "
            "persistentVolumeClaim, projected and secret volumes. keelhaul checks each control "
            "as pod-security-admission v1.35 does. Reported only with --pss restricted."
        ),
        bad=_POD.replace("        allowPrivilegeEscalation: false\n", ""),
        good=_POD,
        check=_none,
        related={"pss": ("restricted",)},
        default_on=False,
        example_settings={"pss": "restricted"},
    )
)
