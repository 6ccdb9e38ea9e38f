"""The runtime checks, per family, as tables: bad cases flagged (code and line), good quiet.

Kubernetes cases are manifests run through the reader; Compose and docker run cases are
:class:`ContainerRun` objects built by hand (the checks read only that model), so the checks
are tested for every format whatever the state of the other readers.
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any

import pytest

from keelhaul.checking import itemised
from keelhaul.runtime.checking import check_runs
from keelhaul.runtime.kubernetes import read_kubernetes
from keelhaul.runtime.model import ContainerRun, EnvVar, Mount, Port, Source, Value, Where

HEAD = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n"  # the spec starts on line 5


def pod(spec: str) -> str:
    return HEAD + "".join(f"  {line}\n" for line in spec.strip("\n").split("\n"))


def k8s(spec: str, code: str) -> list[int]:
    """Lines of ``code``'s findings on a pod with this spec."""
    return [
        f.location.line
        for f in itemised(check_runs(read_kubernetes(pod(spec), "p.yaml")))
        if f.code == code
    ]


W = Where("compose.yaml", 3, 5)


def v(value: Any, line: int = 3) -> Value[Any]:
    return Value(value, Where("compose.yaml", line, 5))


def compose(**values: Any) -> ContainerRun:
    """A Compose service's run with the given fields (plain values are wrapped at line 3)."""
    wrapped: dict[str, Any] = {}
    kinds = {f.name: str(f.type) for f in fields(ContainerRun)}
    for name, value in values.items():
        if name == "source" or "Value" not in kinds[name] or isinstance(value, Value):
            wrapped[name] = value
        elif isinstance(value, list):
            wrapped[name] = [v(x) for x in value]
        else:
            wrapped[name] = v(value)
    wrapped.setdefault("source", Source.COMPOSE)
    return ContainerRun(file="compose.yaml", name="web", workload="service web", where=W, **wrapped)


def found(run: ContainerRun, code: str) -> list[str]:
    return [f.message for f in itemised(check_runs([run])) if f.code == code]


# --------------------------------------------------------------------------------------------
# Kubernetes: (spec, code, lines)

CONTAINER = "containers:\n  - name: a\n    image: example/a:1\n"  # the container is line 6

K8S: list[tuple[str, str, list[int]]] = [
    # capabilities
    (CONTAINER, "KH400", [6]),
    (CONTAINER + "    securityContext:\n      capabilities: {drop: [ALL]}", "KH400", []),
    (CONTAINER + "    securityContext:\n      capabilities: {drop: [all]}", "KH400", []),
    (CONTAINER + "    securityContext:\n      privileged: true", "KH400", []),
    (CONTAINER + "    securityContext:\n      capabilities: {add: [SYS_TIME, NET_BIND_SERVICE, SYS_ADMIN]}", "KH401", [9]),
    (CONTAINER + "    securityContext:\n      capabilities: {add: [CHOWN, NET_BIND_SERVICE]}", "KH401", []),
    (CONTAINER + "    securityContext:\n      capabilities: {add: [CHOWN, NET_BIND_SERVICE, SYS_ADMIN]}", "KH402", [9]),
    (CONTAINER + "    securityContext:\n      capabilities:\n        add: [NET_ADMIN, SYS_PTRACE, SYS_MODULE, DAC_READ_SEARCH, ALL]", "KH402", [10] * 5),
    (CONTAINER + "    securityContext:\n      capabilities: {add: [NET_BIND_SERVICE]}", "KH403", [9]),
    (CONTAINER + "    ports: [{containerPort: 443}]\n    securityContext:\n      capabilities: {add: [NET_BIND_SERVICE]}", "KH403", []),
    # filesystem
    (CONTAINER, "KH405", [6]),
    (CONTAINER + "    securityContext:\n      readOnlyRootFilesystem: false", "KH405", [9]),
    (CONTAINER + "    securityContext:\n      readOnlyRootFilesystem: true", "KH405", []),
    # users
    (CONTAINER, "KH410", [6]),
    ("securityContext: {runAsNonRoot: true}\n" + CONTAINER, "KH410", []),
    ("securityContext: {runAsUser: 10001}\n" + CONTAINER, "KH410", []),
    (CONTAINER + "    securityContext: {runAsNonRoot: false}", "KH410", [8]),
    ("os: {name: windows}\n" + CONTAINER, "KH410", []),
    ("securityContext: {runAsUser: 0}\n" + CONTAINER, "KH411", [5]),
    ("securityContext: {runAsUser: 10001}\n" + CONTAINER + "    securityContext: {runAsUser: 0}", "KH411", [9]),
    ("securityContext: {runAsUser: 0}\n" + CONTAINER + "    securityContext: {runAsUser: 10001}", "KH411", []),
    ("securityContext: {runAsUser: 1000, runAsGroup: 1000}\n" + CONTAINER, "KH412", [5]),
    ("securityContext: {runAsUser: 10001, runAsGroup: 10001}\n" + CONTAINER, "KH412", []),
    ("securityContext: {runAsNonRoot: true}\n" + CONTAINER, "KH412", []),
    # privilege
    (CONTAINER + "    securityContext: {privileged: true}", "KH415", [8]),
    (CONTAINER + "    securityContext: {privileged: false}", "KH415", []),
    (CONTAINER, "KH416", [6]),
    (CONTAINER + "    securityContext: {allowPrivilegeEscalation: true}", "KH416", [8]),
    (CONTAINER + "    securityContext: {allowPrivilegeEscalation: false}", "KH416", []),
    (CONTAINER + "    securityContext: {privileged: true}", "KH416", []),
    ("securityContext: {seccompProfile: {type: Unconfined}}\n" + CONTAINER, "KH417", [5]),
    ("securityContext: {seccompProfile: {type: Unconfined}}\n" + CONTAINER + "    securityContext: {seccompProfile: {type: RuntimeDefault}}", "KH417", []),
    (CONTAINER, "KH418", [6]),
    ("securityContext: {seccompProfile: {type: RuntimeDefault}}\n" + CONTAINER, "KH418", []),
    (CONTAINER + "    securityContext: {seccompProfile: {type: Localhost, localhostProfile: p.json}}", "KH418", []),
    (CONTAINER + "    securityContext: {appArmorProfile: {type: Unconfined}}", "KH419", [8]),
    (CONTAINER + "    securityContext: {appArmorProfile: {type: RuntimeDefault}}", "KH419", []),
    (CONTAINER + "    securityContext: {procMount: Unmasked}", "KH420", [8]),
    ("hostUsers: false\n" + CONTAINER + "    securityContext: {procMount: Unmasked}", "KH420", []),
    ("securityContext:\n  sysctls: [{name: kernel.msgmax, value: '1'}, {name: net.ipv4.tcp_syncookies, value: '1'}]\n" + CONTAINER, "KH421", [6]),
    # host access
    ("hostNetwork: true\nhostPID: true\nhostIPC: false\n" + CONTAINER, "KH425", [5, 6]),
    (CONTAINER + "    volumeMounts: [{name: v, mountPath: /data}]\nvolumes: [{name: v, hostPath: {path: /srv}}]", "KH426", [8]),
    (CONTAINER + "    volumeMounts: [{name: v, mountPath: /data}]\nvolumes: [{name: v, emptyDir: {}}]", "KH426", []),
    (CONTAINER + "    volumeMounts: [{name: v, mountPath: /s}]\nvolumes: [{name: v, hostPath: {path: /var/run/docker.sock}}]", "KH427", [8]),
    (CONTAINER + "    volumeMounts: [{name: v, mountPath: /s}]\nvolumes: [{name: v, hostPath: {path: /var/run/docker.sock}}]", "KH426", []),
    (CONTAINER + "    volumeMounts: [{name: v, mountPath: /h, readOnly: true}]\nvolumes: [{name: v, hostPath: {path: /}}]", "KH427", [8]),
    (CONTAINER + "    volumeMounts: [{name: v, mountPath: /p, readOnly: true}]\nvolumes: [{name: v, hostPath: {path: /proc/}}]", "KH427", [8]),
    (CONTAINER + "    volumeMounts: [{name: v, mountPath: /c}]\nvolumes: [{name: v, hostPath: {path: /etc/ssl/certs}}]", "KH427", [8]),
    (CONTAINER + "    volumeMounts: [{name: v, mountPath: /c, readOnly: true}]\nvolumes: [{name: v, hostPath: {path: /etc/ssl/certs}}]", "KH427", []),
    (CONTAINER + "    ports: [{containerPort: 80, hostPort: 80}, {containerPort: 81}]", "KH428", [8]),
    # secrets
    (CONTAINER + "    env:\n      - {name: DB_PASSWORD, value: hunter2-hunter2}", "KH430", [9]),
    (CONTAINER + "    env:\n      - {name: GITHUB, value: ghp_" + "a" * 36 + "}", "KH430", [9]),
    (CONTAINER + "    env:\n      - {name: DB_PASSWORD, value: '{{ .Values.password }}'}", "KH430", []),
    (CONTAINER + "    env:\n      - {name: DB_PASSWORD, value: $(PASSWORD)}", "KH430", []),
    (CONTAINER + "    env:\n      - {name: DB_PASSWORD_FILE, value: /run/secrets/db}", "KH430", []),
    (CONTAINER + "    env:\n      - {name: LOG_LEVEL, value: debug}", "KH430", []),
    (CONTAINER, "KH431", [2]),
    ("automountServiceAccountToken: true\n" + CONTAINER, "KH431", [5]),
    ("automountServiceAccountToken: false\n" + CONTAINER, "KH431", []),
    ("containers: [{name: a, image: x}, {name: b, image: y}]", "KH431", [2]),
    # images
    ("containers: [{name: a, image: nginx}]", "KH435", [5]),
    ("containers: [{name: a, image: 'nginx:latest'}]", "KH435", [5]),
    ("containers: [{name: a, image: 'registry:5000/nginx'}]", "KH435", [5]),
    ("containers: [{name: a, image: 'nginx:1.27'}]", "KH435", []),
    ("containers: [{name: a, image: 'moby/buildkit:master'}]", "KH435", [5]),  # a branch
    ("containers: [{name: a, image: 'example/web:Nightly'}]", "KH435", [5]),
    ("containers: [{name: a, image: 'node:lts'}]", "KH435", [5]),  # a channel
    ("containers: [{name: a, image: 'example/web:main-4f2a9c1'}]", "KH435", []),  # a commit
    ("containers: [{name: a, image: 'moby/buildkit:master'}]", "KH436", []),
    ("containers: [{name: a, image: 'nginx@sha256:" + "0" * 64 + "'}]", "KH435", []),
    ("containers: [{name: a, image: '{{ .Values.image }}'}]", "KH435", []),
    ("containers: [{name: a, image: 'nginx:1.27'}]", "KH436", [5]),
    ("containers: [{name: a, image: nginx}]", "KH436", []),
    ("containers: [{name: a, image: nginx, imagePullPolicy: IfNotPresent}]", "KH437", [5]),
    ("containers: [{name: a, image: nginx, imagePullPolicy: Always}]", "KH437", []),
    ("containers: [{name: a, image: 'nginx:1', imagePullPolicy: Never}]", "KH437", []),
    # resources
    (CONTAINER, "KH440", [6]),
    (CONTAINER + "    resources: {limits: {memory: 1Gi}}", "KH440", []),
    ("ephemeralContainers: [{name: debug, image: busybox}]", "KH440", []),
    (CONTAINER, "KH441", [6]),
    (CONTAINER + "    resources: {limits: {cpu: '1'}}", "KH441", []),
    (CONTAINER, "KH442", []),
]  # fmt: skip


@pytest.mark.parametrize(
    ("spec", "code", "lines"), K8S, ids=[f"{c[1]}-{i}" for i, c in enumerate(K8S)]
)
def test_kubernetes(spec: str, code: str, lines: list[int]) -> None:
    assert k8s(spec, code) == lines


# --------------------------------------------------------------------------------------------
# Compose and docker run: (run, code, flagged)

NEUTRAL: list[tuple[ContainerRun, str, bool]] = [
    (compose(), "KH400", True),
    (compose(cap_drop=["ALL"]), "KH400", False),
    (compose(cap_drop=["all"]), "KH400", False),
    (compose(cap_add=["CAP_SYS_ADMIN"]), "KH402", True),
    (compose(cap_add=["cap_sys_time"]), "KH401", True),
    (compose(cap_add=["cap_net_raw"]), "KH401", False),  # in the default set already
    (compose(cap_add=["NET_BIND_SERVICE"], ports=[Port(80, 8080, "tcp", W)]), "KH403", False),
    (compose(cap_add=["NET_BIND_SERVICE"], ports=[Port(8080, 80, "tcp", W)]), "KH403", True),
    (compose(), "KH405", True),
    (compose(read_only_root=True), "KH405", False),
    (compose(), "KH410", True),
    (compose(user="app"), "KH410", False),
    (compose(user="root"), "KH411", True),
    (compose(user="0:0"), "KH411", True),
    (compose(user="10001:10001"), "KH411", False),
    (compose(user="1000:1000"), "KH412", True),
    (compose(user="app"), "KH412", False),
    (compose(), "KH416", True),
    (compose(no_new_privileges=True), "KH416", False),
    (compose(no_new_privileges=True, source=Source.DOCKER_RUN), "KH416", False),
    (compose(allow_privilege_escalation=False), "KH416", True),  # not Compose's way to say it
    (compose(), "KH418", False),  # Docker applies its default seccomp profile
    (compose(seccomp="unconfined"), "KH417", True),
    (compose(apparmor="unconfined"), "KH419", True),
    (compose(proc_mount="Unmasked"), "KH420", True),
    (compose(sysctls=["net.core.somaxconn=1024"]), "KH421", False),
    (compose(sysctls=["net.core.somaxconn=1024"], host_network=True), "KH421", True),
    (compose(host_network=True), "KH425", True),
    (compose(host_uts=True), "KH425", True),
    (compose(mounts=[Mount("/app", "./src", False, "bind", W)]), "KH426", False),
    (compose(mounts=[Mount("/app", "./src", False, "bind", W)]), "KH427", False),
    (
        compose(mounts=[Mount("/var/run/docker.sock", "/var/run/docker.sock", True, "bind", W)]),
        "KH427",
        True,
    ),
    (compose(mounts=[Mount("/etc/localtime", "/etc/localtime", True, "bind", W)]), "KH427", False),
    (compose(mounts=[Mount("/host", "/", True, "bind", W)]), "KH427", True),
    (compose(ports=[Port(80, 8080, "tcp", W)]), "KH428", False),
    (compose(devices=["/dev/fuse"]), "KH429", True),
    (compose(env=[EnvVar("POSTGRES_PASSWORD", "s3cr3t-pw-1", False, W)]), "KH430", True),
    (compose(env=[EnvVar("POSTGRES_PASSWORD", "${PG_PASSWORD}", False, W)]), "KH430", False),
    (compose(env=[EnvVar("POSTGRES_PASSWORD", None, False, W)]), "KH430", False),
    (compose(), "KH431", False),
    (compose(image="redis"), "KH435", True),
    (compose(image="${IMAGE}"), "KH435", False),
    (compose(image="redis", pull_policy="missing"), "KH437", True),
    (compose(image="redis:7", pull_policy="missing"), "KH437", False),
    (compose(), "KH440", True),
    (compose(memory_limit="512m"), "KH440", False),
    (compose(), "KH442", True),
    (compose(pids_limit="100"), "KH442", False),
    (compose(source=Source.DOCKER_RUN), "KH442", True),
]


@pytest.mark.parametrize(
    ("run", "code", "flagged"), NEUTRAL, ids=[f"{c[1]}-{i}" for i, c in enumerate(NEUTRAL)]
)
def test_compose_and_docker_run(run: ContainerRun, code: str, flagged: bool) -> None:
    assert bool(found(run, code)) is flagged


# --------------------------------------------------------------------------------------------
# messages name the concrete thing and suggest the format's own spelling


def test_messages_speak_the_format() -> None:
    assert "cap_drop: [ALL]" in found(compose(), "KH400")[0]
    assert "--cap-drop=ALL" in found(compose(source=Source.DOCKER_RUN), "KH400")[0]
    assert "no-new-privileges:true" in found(compose(), "KH416")[0]
    assert "read_only: true" in found(compose(), "KH405")[0]
    assert "secretKeyRef" in next(
        f.message
        for f in check_runs(
            read_kubernetes(
                pod(CONTAINER + "    env: [{name: API_TOKEN, value: abcdef123456}]"), "p"
            )
        )
        if f.code == "KH430"
    )


def test_writable_paths_hint_names_known_image_paths_not_yet_mounted() -> None:
    spec = (
        "containers:\n  - name: a\n    image: nginx:1.27\n"
        "    volumeMounts: [{name: t, mountPath: /tmp}]\nvolumes: [{name: t, emptyDir: {}}]"
    )
    (message,) = [
        f.message
        for f in itemised(check_runs(read_kubernetes(pod(spec), "p")))
        if f.code == "KH405"
    ]
    assert "/var/cache/nginx, /var/run" in message
    assert "/tmp" not in message


def test_secret_messages_never_show_the_value() -> None:
    messages = found(compose(env=[EnvVar("API_TOKEN", "ghp_" + "b" * 36, False, W)]), "KH430")
    assert messages
    assert all("bbbb" not in m for m in messages)


def _codes_of(text: str) -> list[str]:
    from keelhaul.runtime.kubernetes import read_kubernetes

    return [f.code for f in itemised(check_runs(read_kubernetes(text, "p.yaml")))]


_ADD_BACK = """\
apiVersion: v1
kind: Pod
metadata:
  name: web
spec:
  containers:
    - name: web
      image: example/web:1.2
      securityContext:
        runAsUser: {user}
        capabilities:
          drop: [ALL]
          add: [{caps}]
"""


def test_add_backs_after_drop_all_are_what_kh400_asks_for() -> None:
    """KH401 and KH400 never contradict each other (issue 18)."""
    codes = _codes_of(_ADD_BACK.format(user=10001, caps="CHOWN, SETUID, SETGID"))
    assert "KH400" not in codes
    assert "KH401" not in codes
    assert "KH401" in _codes_of(_ADD_BACK.format(user=10001, caps="SYS_TIME"))


def test_root_is_reported_once() -> None:
    """KH411 says it runs as root; KH412 (low IDs) does not repeat it for UID or GID 0."""
    codes = _codes_of(_ADD_BACK.format(user=0, caps="CHOWN"))
    assert "KH411" in codes
    assert "KH412" not in codes
