"""Privilege: privileged mode, privilege escalation, seccomp, AppArmor, /proc masks, sysctls.

Where the formats differ (documented per check):

* Kubernetes' ``allowPrivilegeEscalation: false`` is what sets the kernel's no_new_privs flag;
  Compose (``security_opt: [no-new-privileges:true]``) and docker run
  (``--security-opt no-new-privileges``) say it directly. KH416 reads the one its format has.
* An unset seccomp profile is Unconfined in Kubernetes (unless the kubelet runs with
  ``--seccomp-default``), but Docker's default profile under Compose and docker run; so
  KH418 is about Kubernetes only.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from keelhaul.findings import Category, Safety, Severity
from keelhaul.rule import Kind, Rule, register
from keelhaul.runtime.checks._common import (
    container_label,
    is_kubernetes,
    is_windows,
    security_where,
    spell,
)
from keelhaul.runtime.grouping import DEPTH_TEXT, DEVELOPMENT_TEXT
from keelhaul.runtime.model import ContainerRun
from keelhaul.runtime.rules import RuntimeHit

#: The sysctls Kubernetes calls safe (namespaced, isolated per pod): pod-security-admission's
#: allowed set as of v1.35 (its v1.32 list).
SAFE_SYSCTLS = frozenset(
    {
        "kernel.shm_rmid_forced",
        "net.ipv4.ip_local_port_range",
        "net.ipv4.tcp_syncookies",
        "net.ipv4.ping_group_range",
        "net.ipv4.ip_unprivileged_port_start",
        "net.ipv4.ip_local_reserved_ports",
        "net.ipv4.tcp_keepalive_time",
        "net.ipv4.tcp_fin_timeout",
        "net.ipv4.tcp_keepalive_intvl",
        "net.ipv4.tcp_keepalive_probes",
        "net.ipv4.tcp_rmem",
        "net.ipv4.tcp_wmem",
    }
)


def _on(value: object) -> bool:
    return getattr(value, "value", None) is True


def _privileged(run: ContainerRun, settings: Mapping[str, object]) -> Iterator[RuntimeHit]:
    if run.privileged is not None and run.privileged.value:
        yield RuntimeHit(run.privileged.where, f"{container_label(run)} runs privileged")


def _escalation(run: ContainerRun, settings: Mapping[str, object]) -> Iterator[RuntimeHit]:
    if _on(run.privileged) or is_windows(run):  # privileged always may escalate; KH415 says so
        return
    if is_kubernetes(run):
        ape = run.allow_privilege_escalation
        if ape is not None and not ape.value:
            return
        where = ape.where if ape is not None else security_where(run)
        yield RuntimeHit(
            where,
            f"{container_label(run)} may gain privileges (setuid binaries, file capabilities); "
            "set allowPrivilegeEscalation: false",
        )
        return
    if _on(run.no_new_privileges):
        return
    how = spell(
        run, "", "security_opt: [no-new-privileges:true]", "--security-opt no-new-privileges"
    )
    where = run.no_new_privileges.where if run.no_new_privileges is not None else run.where
    yield RuntimeHit(
        where, f"{container_label(run)} may gain privileges through setuid binaries; add {how}"
    )


def _seccomp_value(run: ContainerRun) -> str:
    return run.seccomp.value.strip().lower() if run.seccomp is not None else ""


def _seccomp_unconfined(run: ContainerRun, settings: Mapping[str, object]) -> Iterator[RuntimeHit]:
    if run.seccomp is not None and _seccomp_value(run) == "unconfined":
        yield RuntimeHit(
            run.seccomp.where, f"{container_label(run)} runs without a seccomp profile (Unconfined)"
        )


def _seccomp_missing(run: ContainerRun, settings: Mapping[str, object]) -> Iterator[RuntimeHit]:
    if not is_kubernetes(run) or is_windows(run) or _on(run.privileged):
        return
    if run.seccomp is None or _seccomp_value(run) == "":
        yield RuntimeHit(
            security_where(run),
            f"{container_label(run)} has no seccomp profile, which Kubernetes runs Unconfined; "
            "set seccompProfile: {type: RuntimeDefault}",
        )


def _apparmor(run: ContainerRun, settings: Mapping[str, object]) -> Iterator[RuntimeHit]:
    if run.apparmor is not None and run.apparmor.value.strip().lower() == "unconfined":
        yield RuntimeHit(
            run.apparmor.where, f"{container_label(run)} runs without AppArmor (unconfined)"
        )


def _proc_mount(run: ContainerRun, settings: Mapping[str, object]) -> Iterator[RuntimeHit]:
    if run.proc_mount is None or run.proc_mount.value in ("", "Default"):
        return
    if run.userns is not None and run.userns.value == "private":
        return  # in a user namespace the unmasked /proc is the namespace's (PSS baseline agrees)
    yield RuntimeHit(
        run.proc_mount.where,
        f"{container_label(run)} unmasks /proc ({run.proc_mount.value}): host kernel files become visible",
    )


def _sysctls(run: ContainerRun, settings: Mapping[str, object]) -> Iterator[RuntimeHit]:
    for sysctl in run.sysctls:
        name = sysctl.value.split("=", 1)[0].strip()
        if is_kubernetes(run):
            if name in SAFE_SYSCTLS:
                continue
            yield RuntimeHit(
                sysctl.where,
                f"{container_label(run)} sets sysctl {name}, which is not in Kubernetes' safe set",
            )
        elif _on(run.host_network) and name.startswith("net."):
            # Docker only allows namespaced sysctls; net.* is namespaced unless the network is the host's
            yield RuntimeHit(
                sysctl.where,
                f"{container_label(run)} sets sysctl {name} on the host's network namespace",
            )


_POD = """\
apiVersion: v1
kind: Pod
metadata:
  name: web
spec:
  containers:
    - name: web
      image: example/web:1.2
      securityContext:
        allowPrivilegeEscalation: false
        seccompProfile:
          type: RuntimeDefault
"""

register(
    Rule(
        kind=Kind.RUNTIME,
        example_format="kubernetes",
        code="KH415",
        name="privileged-container",
        severity=Severity.ERROR,
        category=Category.SECURITY,
        summary="The container runs privileged",
        explanation=(
            "A privileged container has every capability, every host device, no seccomp or "
            "AppArmor confinement and a writable /sys: it is root on the host with extra steps "
            "(mounting the host disk is one command). Give it the one capability or device it "
            "needs instead; node agents that truly need it belong in a namespace that is "
            "audited as such."
        ),
        bad=_POD.replace("allowPrivilegeEscalation: false", "privileged: true"),
        good=_POD,
        check=_privileged,
        related={
            "checkov": ("CKV_K8S_16",),
            "trivy": ("KSV017",),
            "kubesec": ("Privileged",),
            "polaris": ("runAsPrivileged",),
            "pss": ("Privileged Containers",),
        },
    )
)

register(
    Rule(
        kind=Kind.RUNTIME,
        example_format="kubernetes",
        code="KH416",
        fix=Safety.UNSAFE,
        fix_reason=(
            "Forbids privilege escalation: setuid programs (sudo, su, ping on some images) "
            "stop working."
        ),
        name="privilege-escalation-allowed",
        severity=Severity.WARNING,
        category=Category.SECURITY,
        summary="The process may gain privileges: allowPrivilegeEscalation / no-new-privileges",
        explanation=(
            "Unless the no_new_privs flag is set, a setuid binary in the image (su, passwd, "
            "mount, ping on older images) or a file with capabilities raises the process's "
            "privileges. Kubernetes sets the flag with allowPrivilegeEscalation: false (its "
            "default is true); Compose with security_opt: [no-new-privileges:true]; docker run "
            "with --security-opt no-new-privileges. It costs nothing for a service that does "
            "not call setuid programs." + DEVELOPMENT_TEXT + DEPTH_TEXT
        ),
        bad=_POD.replace("        allowPrivilegeEscalation: false\n", ""),
        good=_POD,
        check=_escalation,
        related={
            "checkov": ("CKV_K8S_20",),
            "trivy": ("KSV001",),
            "kubesec": ("AllowPrivilegeEscalation",),
            "polaris": ("privilegeEscalationAllowed",),
            "pss": ("Privilege Escalation",),
        },
    )
)

register(
    Rule(
        kind=Kind.RUNTIME,
        example_format="kubernetes",
        code="KH417",
        name="seccomp-unconfined",
        severity=Severity.ERROR,
        category=Category.SECURITY,
        summary="Seccomp is turned off (Unconfined)",
        explanation=(
            "The runtime's default seccomp profile blocks some 40 system calls a service never "
            "needs (keyctl, unshare, ptrace on old kernels, kexec...) that many kernel exploits "
            "use. Unconfined removes the filter. Use RuntimeDefault, or a Localhost profile that "
            "allows the extra call the program needs."
        ),
        bad=_POD.replace("type: RuntimeDefault", "type: Unconfined"),
        good=_POD,
        check=_seccomp_unconfined,
        related={"checkov": ("CKV_K8S_31",), "trivy": ("KSV104",), "pss": ("Seccomp",)},
    )
)

register(
    Rule(
        kind=Kind.RUNTIME,
        example_format="kubernetes",
        code="KH418",
        fix=Safety.UNSAFE,
        fix_reason=(
            "Sets the runtime's default seccomp profile: a program that uses a blocked "
            "system call fails."
        ),
        name="seccomp-profile-missing",
        severity=Severity.WARNING,
        category=Category.SECURITY,
        summary="No seccomp profile is set, so Kubernetes runs the container Unconfined",
        explanation=(
            "Unlike Docker, Kubernetes applies no seccomp profile unless asked (or unless every "
            "kubelet runs with --seccomp-default). Set securityContext.seccompProfile.type: "
            "RuntimeDefault on the pod (its containers inherit it) or on each container. "
            "Kubernetes only: Compose and docker run apply Docker's default profile when none "
            "is given." + DEPTH_TEXT
        ),
        bad=_POD.replace("        seccompProfile:\n          type: RuntimeDefault\n", ""),
        good=_POD,
        check=_seccomp_missing,
        related={
            "checkov": ("CKV_K8S_31",),
            "trivy": ("KSV030",),
            "kubesec": ("SeccompAny",),
            "pss": ("Seccomp (restricted)",),
        },
    )
)

register(
    Rule(
        kind=Kind.RUNTIME,
        example_format="kubernetes",
        code="KH419",
        name="apparmor-unconfined",
        severity=Severity.WARNING,
        category=Category.SECURITY,
        summary="AppArmor is turned off (unconfined)",
        explanation=(
            "On AppArmor hosts (Ubuntu, Debian, SUSE) the runtime's default profile denies "
            "mounts, writes to /proc and /sys, and raw kernel interfaces. Unconfined (the "
            "appArmorProfile field since Kubernetes 1.30, the older "
            "container.apparmor.security.beta.kubernetes.io annotation, or Compose/docker "
            "security_opt apparmor=unconfined) removes that layer. Use RuntimeDefault or a "
            "Localhost profile."
        ),
        bad=_POD.replace(
            "        seccompProfile:",
            "        appArmorProfile:\n          type: Unconfined\n        seccompProfile:",
        ),
        good=_POD,
        check=_apparmor,
        related={"trivy": ("KSV002",), "kubesec": ("ApparmorAny",), "pss": ("AppArmor",)},
    )
)

register(
    Rule(
        kind=Kind.RUNTIME,
        example_format="kubernetes",
        code="KH420",
        name="proc-unmasked",
        severity=Severity.ERROR,
        category=Category.SECURITY,
        summary="/proc is mounted without its masks (procMount: Unmasked)",
        explanation=(
            "The runtime hides and makes read-only the parts of /proc and /sys that expose or "
            "change the host kernel (/proc/kcore, /proc/sysrq-trigger, /proc/sys...). "
            "procMount: Unmasked (Compose/docker: security_opt systempaths=unconfined) removes "
            "those masks. It is only meant for nested containers in a user namespace "
            "(hostUsers: false), where it is not reported."
        ),
        bad=_POD.replace(
            "        allowPrivilegeEscalation: false\n",
            "        allowPrivilegeEscalation: false\n        procMount: Unmasked\n",
        ),
        good=_POD,
        check=_proc_mount,
        related={"trivy": ("KSV027",), "pss": ("/proc Mount Type",)},
    )
)

register(
    Rule(
        kind=Kind.RUNTIME,
        example_format="kubernetes",
        code="KH421",
        name="unsafe-sysctl",
        severity=Severity.WARNING,
        category=Category.SECURITY,
        summary="A sysctl outside the safe, namespaced set is set",
        explanation=(
            "Kubernetes calls a sysctl safe when it is namespaced and isolated per pod "
            "(kernel.shm_rmid_forced, net.ipv4.ip_local_port_range, net.ipv4.tcp_syncookies, "
            "net.ipv4.ping_group_range, net.ipv4.ip_unprivileged_port_start and a few TCP "
            "settings). Others change the node for every pod, or disable protections; the "
            "kubelet refuses them unless allowed with --allowed-unsafe-sysctls. Compose and "
            "docker run only accept namespaced sysctls, so there a net.* sysctl is reported only "
            "when the container shares the host's network."
        ),
        bad="""\
apiVersion: v1
kind: Pod
metadata:
  name: web
spec:
  securityContext:
    sysctls:
      - {name: kernel.msgmax, value: "65536"}
  containers:
    - name: web
      image: example/web:1.2
""",
        good="""\
apiVersion: v1
kind: Pod
metadata:
  name: web
spec:
  securityContext:
    sysctls:
      - {name: net.ipv4.ip_unprivileged_port_start, value: "80"}
  containers:
    - name: web
      image: example/web:1.2
""",
        check=_sysctls,
        related={"trivy": ("KSV026",), "pss": ("Sysctls",)},
    )
)
