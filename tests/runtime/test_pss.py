"""The Pod Security Standards checks, case by case as pod-security-admission's own tests
(policy/check_*_test.go, v1.35) exercise them: each row is a pod spec, the check ID, and the
details expected (empty: allowed)."""

from __future__ import annotations

import pytest

from keelhaul.checking import itemised
from keelhaul.runtime.checking import check_runs
from keelhaul.runtime.kubernetes import read_kubernetes, read_pods
from keelhaul.runtime.pss import CONTROLS, controls, evaluate


def pod(spec: str, annotations: str = "") -> str:
    meta = "metadata:\n  name: p\n"
    if annotations:
        meta += "  annotations:\n" + "".join(
            f"    {line}\n" for line in annotations.strip().split("\n")
        )
    body = "".join(f"  {line}\n" for line in spec.strip("\n").split("\n"))
    return f"apiVersion: v1\nkind: Pod\n{meta}spec:\n{body}"


def details(text: str, check_id: str) -> list[str]:
    """The details of one check, run at the level that check belongs to."""
    (found,) = read_pods(text, "pod.yaml")
    level = next(c.level for c in CONTROLS if c.check_id == check_id)
    return [detail for control, _, detail in evaluate(found, level) if control.check_id == check_id]


CASES: list[tuple[str, str, str, str, list[str]]] = [
    # (upstream test name, check ID, spec, annotations, expected details)
    ("allowPrivilegeEscalation: multiple containers", "allowPrivilegeEscalation", """
containers:
  - {name: a}
  - {name: b, securityContext: {allowPrivilegeEscalation: null}}
  - {name: c, securityContext: {allowPrivilegeEscalation: true}}
  - {name: d, securityContext: {allowPrivilegeEscalation: false}}
""", "", ["container a must set securityContext.allowPrivilegeEscalation=false",
          "container b must set securityContext.allowPrivilegeEscalation=false",
          "container c must set securityContext.allowPrivilegeEscalation=false"]),
    ("allowPrivilegeEscalation: windows pod, admit without checking", "allowPrivilegeEscalation", """
os: {name: windows}
containers:
  - {name: a}
""", "", []),
    ("allowPrivilegeEscalation: init and ephemeral containers count", "allowPrivilegeEscalation", """
initContainers:
  - {name: i, securityContext: {allowPrivilegeEscalation: false}}
containers:
  - {name: a, securityContext: {allowPrivilegeEscalation: false}}
ephemeralContainers:
  - {name: e}
""", "", ["ephemeral container e must set securityContext.allowPrivilegeEscalation=false"]),
    ("appArmorProfile: container with default AppArmor + extra annotations", "appArmorProfile", """
containers: [{name: a}]
""", "container.apparmor.security.beta.kubernetes.io/a: runtime/default\nx: y", []),
    ("appArmorProfile: container with local AppArmor", "appArmorProfile", """
containers: [{name: a}]
""", "container.apparmor.security.beta.kubernetes.io/a: localhost/foo", []),
    ("appArmorProfile: pod with runtime default", "appArmorProfile", """
securityContext: {appArmorProfile: {type: RuntimeDefault}}
containers: [{name: a, securityContext: {appArmorProfile: {type: Localhost, localhostProfile: x}}}]
""", "", []),
    ("appArmorProfile: unconfined pod", "appArmorProfile", """
securityContext: {appArmorProfile: {type: Unconfined}}
containers: [{name: a}]
""", "", ["pod must not set AppArmor profile type to 'Unconfined'"]),
    ("appArmorProfile: unconfined init container", "appArmorProfile", """
initContainers: [{name: i, securityContext: {appArmorProfile: {type: Unconfined}}}]
containers: [{name: a}]
""", "", ["init container i must not set AppArmor profile type to 'Unconfined'"]),
    ("appArmorProfile: unconfined annotation", "appArmorProfile", """
containers: [{name: a}]
""", "container.apparmor.security.beta.kubernetes.io/a: unconfined", [
        "annotation container.apparmor.security.beta.kubernetes.io/a='unconfined' is a forbidden AppArmor profile"]),
    ("capabilities_baseline: multiple containers", "capabilities_baseline", """
containers:
  - {name: a, securityContext: {capabilities: {add: [CAP_SYS_TIME]}}}
  - {name: b, securityContext: {capabilities: {add: [NET_RAW, CHOWN, SETUID]}}}
  - {name: c, securityContext: {capabilities: {add: [AUDIT_WRITE, CHOWN, DAC_OVERRIDE, FOWNER, FSETID, KILL, MKNOD, NET_BIND_SERVICE, SETFCAP, SETGID, SETPCAP, SETUID, SYS_CHROOT]}}}
""", "", ["container a must not include 'CAP_SYS_TIME' in securityContext.capabilities.add",
          "container b must not include 'NET_RAW' in securityContext.capabilities.add"]),
    ("capabilities_restricted: multiple containers", "capabilities_restricted", """
containers:
  - {name: a}
  - {name: b, securityContext: {capabilities: {}}}
  - {name: c, securityContext: {capabilities: {drop: [SYS_TIME]}}}
  - {name: d, securityContext: {capabilities: {drop: [ALL], add: [FOO]}}}
  - {name: e, securityContext: {capabilities: {drop: [ALL], add: [NET_BIND_SERVICE]}}}
""", "", ['container a must set securityContext.capabilities.drop=["ALL"]',
          'container b must set securityContext.capabilities.drop=["ALL"]',
          'container c must set securityContext.capabilities.drop=["ALL"]',
          "container d must not include 'FOO' in securityContext.capabilities.add"]),
    ("capabilities_restricted: windows pod, admit without checking capabilities", "capabilities_restricted", """
os: {name: windows}
containers: [{name: a}]
""", "", []),
    ("hostNamespaces: multiple host namespaces", "hostNamespaces", """
hostNetwork: true
hostPID: true
hostIPC: true
containers: [{name: a}]
""", "", ["hostNetwork=true", "hostPID=true", "hostIPC=true"]),
    ("hostNamespaces: false is allowed", "hostNamespaces", """
hostNetwork: false
containers: [{name: a}]
""", "", []),
    ("hostPathVolumes: host path volumes", "hostPathVolumes", """
containers: [{name: a}]
volumes:
  - {name: a, hostPath: {path: /a}}
  - {name: b, hostPath: {path: /b}}
  - {name: c, emptyDir: {}}
""", "", ["hostPath volume 'a'", "hostPath volume 'b'"]),
    ("hostPorts: multiple containers, multiple host port", "hostPorts", """
containers:
  - {name: a, ports: [{containerPort: 80, hostPort: 10}, {containerPort: 81, hostPort: 20}]}
  - {name: b, ports: [{containerPort: 80, hostPort: 0}, {containerPort: 82}]}
""", "", ["container a uses hostPort 10", "container a uses hostPort 20"]),
    ("hostProbesAndHostLifecycle: valid pod with unset hosts", "hostProbesAndHostLifecycle", """
containers:
  - name: a
    livenessProbe: {httpGet: {port: 80}}
    readinessProbe: {tcpSocket: {port: 80, host: ""}}
""", "", []),
    ("hostProbesAndHostLifecycle: invalid hosts in probes and lifecycle", "hostProbesAndHostLifecycle", """
initContainers:
  - {name: i, startupProbe: {httpGet: {port: 80, host: 10.0.0.1}}}
containers:
  - name: a
    livenessProbe: {httpGet: {port: 80, host: 127.0.0.1}}
    readinessProbe: {tcpSocket: {port: 80, host: "::1"}}
    lifecycle:
      postStart: {tcpSocket: {port: 80, host: example.com}}
      preStop: {httpGet: {port: 80, host: example.org}}
""", "", ["init container i uses forbidden host '10.0.0.1' in a probe or lifecycle handler",
          "container a uses forbidden host '127.0.0.1' in a probe or lifecycle handler",
          "container a uses forbidden host '::1' in a probe or lifecycle handler",
          "container a uses forbidden host 'example.com' in a probe or lifecycle handler",
          "container a uses forbidden host 'example.org' in a probe or lifecycle handler"]),
    ("privileged", "privileged", """
containers:
  - {name: a}
  - {name: b, securityContext: {privileged: false}}
  - {name: c, securityContext: {privileged: true}}
""", "", ["container c must not set securityContext.privileged=true"]),
    ("procMount (baseline)", "procMount", """
containers:
  - {name: a}
  - {name: b, securityContext: {procMount: Default}}
  - {name: c, securityContext: {procMount: Unmasked}}
  - {name: d, securityContext: {procMount: other}}
""", "", ["container c must not set securityContext.procMount to 'Unmasked'",
          "container d must not set securityContext.procMount to 'other'"]),
    ("procMount with userns (baseline)", "procMount", """
hostUsers: false
containers:
  - {name: c, securityContext: {procMount: Unmasked}}
""", "", []),
    ("procMount_restricted: userns does not relax it", "procMount_restricted", """
hostUsers: false
containers:
  - {name: c, securityContext: {procMount: Unmasked}}
""", "", ["container c must not set securityContext.procMount to 'Unmasked'"]),
    ("restrictedVolumes: host path and other volumes", "restrictedVolumes", """
containers: [{name: a}]
volumes:
  - {name: a, hostPath: {path: /a}}
  - {name: b, nfs: {server: x, path: /}}
  - {name: c, gitRepo: {repository: x}}
  - {name: d, emptyDir: {}}
  - {name: e, configMap: {name: x}}
  - {name: f, secret: {secretName: x}}
  - {name: g, projected: {sources: []}}
  - {name: h, persistentVolumeClaim: {claimName: x}}
  - {name: i, csi: {driver: x}}
  - {name: j, ephemeral: {}}
  - {name: k, downwardAPI: {items: []}}
  - {name: l, image: {reference: x}}
  - {name: m}
""", "", ["volume 'a' uses restricted volume type 'hostPath'",
          "volume 'b' uses restricted volume type 'nfs'",
          "volume 'c' uses restricted volume type 'gitRepo'"]),
    ("runAsNonRoot: no explicit runAsNonRoot", "runAsNonRoot", """
containers: [{name: a}]
""", "", ["pod or container a must set securityContext.runAsNonRoot=true"]),
    ("runAsNonRoot: pod runAsNonRoot=false", "runAsNonRoot", """
securityContext: {runAsNonRoot: false}
containers: [{name: a, securityContext: {runAsNonRoot: true}}]
""", "", ["pod must not set securityContext.runAsNonRoot=false"]),
    ("runAsNonRoot: containers runAsNonRoot=false", "runAsNonRoot", """
securityContext: {runAsNonRoot: true}
containers:
  - {name: a}
  - {name: b, securityContext: {}}
  - {name: c, securityContext: {runAsNonRoot: false}}
  - {name: d, securityContext: {runAsNonRoot: false}}
  - {name: e, securityContext: {runAsNonRoot: true}}
""", "", ["container c must not set securityContext.runAsNonRoot=false",
          "container d must not set securityContext.runAsNonRoot=false"]),
    ("runAsNonRoot: pod nil, container fallthrough", "runAsNonRoot", """
containers:
  - {name: a}
  - {name: b, securityContext: {}}
  - {name: d, securityContext: {runAsNonRoot: true}}
""", "", ["pod or container a must set securityContext.runAsNonRoot=true",
          "pod or container b must set securityContext.runAsNonRoot=true"]),
    ("runAsNonRoot: host users false allowed", "runAsNonRoot", """
hostUsers: false
containers: [{name: a}]
""", "", []),
    ("runAsUser: pod runAsUser=0", "runAsUser", """
securityContext: {runAsUser: 0}
containers: [{name: a, securityContext: {runAsUser: 1000}}]
""", "", ["pod must not set runAsUser=0"]),
    ("runAsUser: pod runAsUser=non-zero", "runAsUser", """
securityContext: {runAsUser: 1000}
containers: [{name: a}]
""", "", []),
    ("runAsUser: containers runAsUser=0", "runAsUser", """
securityContext: {runAsUser: 1000}
containers:
  - {name: a, securityContext: {runAsUser: 0}}
  - {name: b, securityContext: {runAsUser: 1}}
""", "", ["container a must not set runAsUser=0"]),
    ("runAsUser: host users false allowed", "runAsUser", """
hostUsers: false
securityContext: {runAsUser: 0}
containers: [{name: a}]
""", "", []),
    ("seLinuxOptions: invalid pod and containers", "seLinuxOptions", """
securityContext: {seLinuxOptions: {type: foo, user: u, role: r}}
containers:
  - {name: a}
  - {name: b, securityContext: {seLinuxOptions: {type: container_t}}}
  - {name: c, securityContext: {seLinuxOptions: {type: container_engine_t}}}
  - {name: d, securityContext: {seLinuxOptions: {type: bar}}}
  - {name: e, securityContext: {seLinuxOptions: {user: x}}}
  - {name: f, securityContext: {seLinuxOptions: {role: x}}}
""", "", ["pod sets forbidden securityContext.seLinuxOptions: type 'foo'; user may not be set; role may not be set",
          "container d sets forbidden securityContext.seLinuxOptions: type 'bar'",
          "container e sets forbidden securityContext.seLinuxOptions: user may not be set",
          "container f sets forbidden securityContext.seLinuxOptions: role may not be set"]),
    ("seccompProfile_baseline: pod and containers seccomp invalid", "seccompProfile_baseline", """
securityContext: {seccompProfile: {type: Unconfined}}
containers:
  - {name: a}
  - {name: b, securityContext: {seccompProfile: {type: Unconfined}}}
  - {name: c, securityContext: {seccompProfile: {type: RuntimeDefault}}}
""", "", ["pod must not set securityContext.seccompProfile.type to 'Unconfined'",
          "container b must not set securityContext.seccompProfile.type to 'Unconfined'"]),
    ("seccompProfile_restricted: no explicit seccomp", "seccompProfile_restricted", """
containers: [{name: a}]
""", "", ['pod or container a must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost"']),
    ("seccompProfile_restricted: no explicit seccomp, windows pod", "seccompProfile_restricted", """
os: {name: windows}
containers: [{name: a}]
""", "", []),
    ("seccompProfile_restricted: pod nil, container fallthrough", "seccompProfile_restricted", """
containers:
  - {name: a, securityContext: {seccompProfile: {type: RuntimeDefault}}}
  - {name: b}
""", "", ['pod or container b must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost"']),
    ("seccompProfile_restricted: pod set, containers inherit", "seccompProfile_restricted", """
securityContext: {seccompProfile: {type: Localhost, localhostProfile: x.json}}
containers: [{name: a}, {name: b}]
""", "", []),
    ("sysctls: forbidden sysctls", "sysctls", """
securityContext:
  sysctls:
    - {name: a, value: "1"}
    - {name: kernel.msgmax, value: "1"}
    - {name: net.ipv4.tcp_rmem, value: "4096 87380 16777216"}
    - {name: net.ipv4.ip_local_port_range, value: "1024 65535"}
containers: [{name: a}]
""", "", ["forbidden sysctl a", "forbidden sysctl kernel.msgmax"]),
    ("sysctls: not yet supported at 1.35", "sysctls", """
securityContext:
  sysctls: [{name: net.ipv4.tcp_slow_start_after_idle, value: "0"}]
containers: [{name: a}]
""", "", ["forbidden sysctl net.ipv4.tcp_slow_start_after_idle"]),
    ("windowsHostProcess: host process", "windowsHostProcess", """
securityContext: {windowsOptions: {hostProcess: true}}
containers:
  - {name: a, securityContext: {windowsOptions: {hostProcess: true}}}
  - {name: b, securityContext: {windowsOptions: {hostProcess: false}}}
""", "", ["pod must not set securityContext.windowsOptions.hostProcess=true",
          "container a must not set securityContext.windowsOptions.hostProcess=true"]),
]  # fmt: skip


@pytest.mark.parametrize(
    ("name", "check_id", "spec", "annotations", "expected"), CASES, ids=[c[0] for c in CASES]
)
def test_check(name: str, check_id: str, spec: str, annotations: str, expected: list[str]) -> None:
    assert details(pod(spec, annotations), check_id) == expected


def test_restricted_overrides_baseline_checks() -> None:
    baseline = {c.check_id for c in controls("baseline")}
    restricted = {c.check_id for c in controls("restricted")}
    assert {
        "capabilities_baseline",
        "hostPathVolumes",
        "seccompProfile_baseline",
        "procMount",
    } <= baseline
    assert (
        not {"capabilities_baseline", "hostPathVolumes", "seccompProfile_baseline", "procMount"}
        & restricted
    )
    assert {"allowPrivilegeEscalation", "runAsNonRoot", "restrictedVolumes"} <= restricted
    assert not {"allowPrivilegeEscalation", "runAsNonRoot"} & baseline


RESTRICTED_POD = """
securityContext:
  runAsNonRoot: true
  seccompProfile: {type: RuntimeDefault}
containers:
  - name: a
    securityContext:
      allowPrivilegeEscalation: false
      capabilities: {drop: [ALL], add: [NET_BIND_SERVICE]}
"""


@pytest.mark.parametrize("level", ["baseline", "restricted"])
def test_a_restricted_pod_passes_both_levels(level: str) -> None:
    (found,) = read_pods(pod(RESTRICTED_POD), "pod.yaml")
    assert list(evaluate(found, level)) == []


def test_check_runs_reports_pss_per_level_with_codes_and_lines() -> None:
    text = pod("hostNetwork: true\ncontainers: [{name: a}]")
    runs = read_kubernetes(text, "pod.yaml")
    assert not [f for f in check_runs(runs) if f.code in ("KH445", "KH446")]
    baseline = [f for f in check_runs(runs, pss="baseline") if f.code in ("KH445", "KH446")]
    assert [(f.code, f.location.line) for f in baseline] == [("KH445", 6)]
    assert "Host Namespaces" in baseline[0].message
    assert "hostNetwork=true" in baseline[0].message
    restricted = {f.code for f in check_runs(runs, pss="restricted")}
    assert {"KH445", "KH446"} <= restricted


def test_pod_level_violation_reported_once_for_many_containers() -> None:
    runs = read_kubernetes(pod("hostPID: true\ncontainers: [{name: a}, {name: b}]"), "pod.yaml")
    assert len([f for f in check_runs(runs, pss="baseline") if f.code == "KH445"]) == 1


def test_unknown_level_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown"):
        check_runs([], pss="privileged-ish")


def test_pss_reports_a_problem_once_naming_the_rule_it_aliases() -> None:
    """``--pss`` does not add a second error for what KH400/KH410/KH416/KH418 report."""
    from keelhaul.runtime.kubernetes import read_kubernetes

    text = (
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\nspec:\n  containers:\n"
        "    - name: web\n      image: example/web:1.2\n"
    )
    found = itemised(check_runs(read_kubernetes(text, "p.yaml"), pss="restricted"))
    codes = [f.code for f in found]
    for alias in ("KH400", "KH410", "KH416", "KH418"):
        assert alias not in codes
        assert sum(f"(also {alias})" in f.message for f in found if f.code == "KH446") == 1
    assert "KH405" in codes  # no PSS control covers a writable root filesystem
    plain = [f.code for f in itemised(check_runs(read_kubernetes(text, "p.yaml")))]
    assert {"KH400", "KH410", "KH416", "KH418"} <= set(plain)
