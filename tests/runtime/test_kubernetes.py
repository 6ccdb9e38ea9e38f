"""The Kubernetes reader: kinds, containers, precedence, positions, and YAML as Kubernetes reads it."""

from __future__ import annotations

import pytest

from keelhaul.errors import KeelhaulError, SyntaxProblem
from keelhaul.runtime.kubernetes import read_kubernetes, read_pods
from keelhaul.runtime.model import Source

SPEC = """\
      containers:
        - name: app
          image: example/app:1.0
"""


def workload(kind: str, api: str = "apps/v1") -> str:
    head = f"apiVersion: {api}\nkind: {kind}\nmetadata:\n  name: w\n"
    if kind == "Pod":
        return head + "spec:\n" + SPEC.replace("      ", "  ", 1).replace("\n      ", "\n  ")
    if kind == "CronJob":
        return (
            head
            + "spec:\n  jobTemplate:\n    spec:\n      template:\n        spec:\n"
            + "".join("    " + line + "\n" for line in SPEC.splitlines())
        )
    return head + "spec:\n  template:\n    spec:\n" + SPEC


@pytest.mark.parametrize(
    "kind",
    [
        "Pod",
        "Deployment",
        "StatefulSet",
        "DaemonSet",
        "ReplicaSet",
        "ReplicationController",
        "Job",
        "CronJob",
    ],
)
def test_every_workload_kind_gives_its_container(kind: str) -> None:
    (run,) = read_kubernetes(workload(kind), "w.yaml")
    assert run.source is Source.KUBERNETES
    assert (run.name, run.workload) == ("app", f"{kind}/w")
    assert run.image is not None
    assert run.image.value == "example/app:1.0"


def test_other_kinds_and_empty_documents_give_nothing() -> None:
    text = "---\napiVersion: v1\nkind: Service\nmetadata: {name: s}\n---\n---\n# only a comment\n"
    assert read_kubernetes(text, "s.yaml") == []


def test_list_kinds_and_multi_documents() -> None:
    text = (
        "apiVersion: v1\nkind: List\nitems:\n"
        "  - apiVersion: v1\n    kind: Pod\n    metadata: {name: a}\n    spec:\n      containers: [{name: x, image: i}]\n"
        "---\n"
        "apiVersion: v1\nkind: PodList\nitems:\n"
        "  - apiVersion: v1\n    kind: Pod\n    metadata: {name: b}\n    spec:\n      containers: [{name: y, image: j}]\n"
    )
    runs = read_kubernetes(text, "l.yaml")
    assert [(r.workload, r.name, r.where.line) for r in runs] == [
        ("Pod/a", "x", 8),
        ("Pod/b", "y", 17),
    ]


def test_init_and_ephemeral_containers_are_flagged() -> None:
    text = (
        "kind: Pod\nmetadata: {name: p}\nspec:\n  initContainers: [{name: i}]\n"
        "  containers: [{name: c}]\n  ephemeralContainers: [{name: e}]\n"
    )
    runs = read_kubernetes(text, "p.yaml")
    assert [(r.name, r.init, r.ephemeral) for r in runs] == [
        ("i", True, False),
        ("c", False, False),
        ("e", False, True),
    ]


def test_container_settings_override_the_pods() -> None:
    text = """\
kind: Pod
metadata: {name: p}
spec:
  securityContext:
    runAsUser: 1000
    runAsGroup: 3000
    runAsNonRoot: true
    seccompProfile: {type: RuntimeDefault}
  containers:
    - name: a
      securityContext:
        runAsUser: 2000
        runAsNonRoot: false
        seccompProfile: {type: Unconfined}
    - name: b
"""
    a, b = read_kubernetes(text, "p.yaml")
    assert (a.user and a.user.value, a.group and a.group.value) == ("2000", "3000")
    assert a.run_as_non_root is not None
    assert a.run_as_non_root.value is False
    assert a.seccomp is not None
    assert a.seccomp.value == "Unconfined"
    assert a.seccomp.where.line == 14
    assert (b.user and b.user.value, b.user and b.user.where.line) == ("1000", 5)
    assert b.seccomp is not None
    assert b.seccomp.value == "RuntimeDefault"


def test_values_keep_line_and_column() -> None:
    text = """\
kind: Deployment
metadata: {name: d}
spec:
  template:
    spec:
      containers:
        - name: web
          image: nginx
          securityContext:
            capabilities:
              add: [NET_ADMIN, SYS_TIME]
          env:
            - name: A
              value: "x"
"""
    (run,) = read_kubernetes(text, "d.yaml")
    assert run.image is not None
    assert (run.image.where.line, run.image.where.column) == (8, 18)
    assert [(c.value, c.where.line, c.where.column) for c in run.cap_add] == [
        ("NET_ADMIN", 11, 21),
        ("SYS_TIME", 11, 32),
    ]
    assert (
        run.cap_add[0].where.path
        == "spec.template.spec.containers[0].securityContext.capabilities.add[0]"
    )
    assert [(e.name, e.value, e.where.line) for e in run.env] == [("A", "x", 14)]


def test_duplicate_keys_are_a_located_error() -> None:
    """kubectl's strict decoding refuses a key written twice; so does keelhaul (the checker
    and the fixer share the loader, so neither can read the block the other skipped)."""
    text = "kind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n    - name: a\n      image: one\n      image: two\n"
    with pytest.raises(
        SyntaxProblem, match=r"p.yaml:7:7: .*duplicate key 'image' \(first at line 6\)"
    ):
        read_kubernetes(text, "p.yaml")


def test_yaml_11_booleans_in_boolean_fields_strings_elsewhere() -> None:
    text = """\
kind: Pod
metadata: {name: p}
spec:
  hostNetwork: yes
  containers:
    - name: a
      securityContext: {privileged: on, readOnlyRootFilesystem: "no"}
      env:
        - {name: FLAG, value: yes}
"""
    (run,) = read_kubernetes(text, "p.yaml")
    assert run.host_network is not None
    assert run.host_network.value is True
    assert run.privileged is not None
    assert run.privileged.value is True
    assert run.read_only_root is not None
    assert run.read_only_root.value is False
    assert run.env[0].value == "yes"


def test_env_from_secret_and_literal() -> None:
    text = """\
kind: Pod
metadata: {name: p}
spec:
  containers:
    - name: a
      env:
        - name: FROM_SECRET
          valueFrom: {secretKeyRef: {name: s, key: k}}
        - name: FROM_FIELD
          valueFrom: {fieldRef: {fieldPath: metadata.name}}
        - {name: PLAIN, value: "1"}
"""
    (run,) = read_kubernetes(text, "p.yaml")
    assert [(e.name, e.value, e.from_secret) for e in run.env] == [
        ("FROM_SECRET", None, True),
        ("FROM_FIELD", None, False),
        ("PLAIN", "1", False),
    ]


def test_mounts_join_volumes_and_ports_keep_host_ports() -> None:
    text = """\
kind: Pod
metadata: {name: p}
spec:
  containers:
    - name: a
      ports: [{containerPort: 80, hostPort: 8080, protocol: UDP}, {containerPort: 9090}]
      volumeMounts:
        - {name: host, mountPath: /host, readOnly: true}
        - {name: tmp, mountPath: /tmp}
        - {name: missing, mountPath: /x}
  volumes:
    - {name: host, hostPath: {path: /var/log}}
    - {name: tmp, emptyDir: {}}
"""
    (run,) = read_kubernetes(text, "p.yaml")
    assert [(m.target, m.host_path, m.read_only, m.kind) for m in run.mounts] == [
        ("/host", "/var/log", True, "hostPath"),
        ("/tmp", None, False, "emptyDir"),
        ("/x", None, False, "unknown"),
    ]
    assert [(p.container_port, p.host_port, p.protocol) for p in run.ports] == [
        (80, 8080, "UDP"),
        (9090, None, "TCP"),
    ]


def test_apparmor_field_annotation_and_pod_precedence() -> None:
    text = """\
kind: Pod
metadata:
  name: p
  annotations:
    container.apparmor.security.beta.kubernetes.io/b: unconfined
spec:
  securityContext: {appArmorProfile: {type: RuntimeDefault}}
  containers:
    - {name: a, securityContext: {appArmorProfile: {type: Unconfined}}}
    - {name: b}
    - {name: c}
"""
    a, b, c = read_kubernetes(text, "p.yaml")
    assert [r.apparmor and r.apparmor.value for r in (a, b, c)] == [
        "Unconfined",
        "Unconfined",
        "RuntimeDefault",
    ]


def test_helm_template_output_with_sources_and_json_documents() -> None:
    text = (
        "---\n# Source: chart/templates/svc.yaml\napiVersion: v1\nkind: Service\nmetadata: {name: s}\n"
        "---\n# Source: chart/templates/deploy.yaml\n"
        '{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},\n'
        ' "spec": {"template": {"spec": {"containers": [{"name": "c", "image": "x:1"}]}}}}\n'
    )
    (run,) = read_kubernetes(text, "-")
    assert (run.workload, run.where.line) == ("Deployment/d", 9)


def test_skipped_documents_keep_line_numbers() -> None:
    filler = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata:\n  a: |\n    x\n    y\n"
    text = (
        filler
        + "---\n"
        + "kind: Pod\nmetadata: {name: p}\nspec:\n  containers: [{name: a, image: i}]\n"
    )
    (run,) = read_kubernetes(text, "p.yaml")
    assert run.image is not None
    assert run.image.where.line == 12


def test_pods_share_their_facts() -> None:
    text = "kind: Pod\nmetadata: {name: p}\nspec:\n  hostPID: true\n  containers: [{name: a}, {name: b}]\n"
    (pod,) = read_pods(text, "p.yaml")
    assert [r.extra["pod"] is pod for r in pod.runs] == [True, True]
    assert pod.host_pid is not None
    assert pod.host_pid.value


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("kind: Pod\nspec:\n  containers: [a, b\n", 4),
        ("kind: Pod\nmetadata:\n  name: a\n name: b\n", 4),
        ("kind: Pod\n\tspec: {}\n", 2),
        ('kind: "Pod\n', 2),
    ],
)
def test_malformed_yaml_is_one_located_error(text: str, line: int) -> None:
    with pytest.raises(SyntaxProblem) as caught:
        read_kubernetes(text, "bad.yaml")
    err = caught.value
    assert isinstance(err, KeelhaulError)
    assert err.exit_code == 2
    assert err.position.path == "bad.yaml"
    assert err.position.line == line
    assert "\n" not in str(err)
    assert str(err).startswith(f"bad.yaml:{line}")


def test_wrong_types_do_not_crash() -> None:
    text = """\
kind: Deployment
metadata: {name: d}
spec:
  template:
    spec:
      securityContext: [not, a, map]
      volumes: {a: b}
      containers:
        - name: {{a: b}: c}
          image: [x]
          ports: "80"
          env: [1, {name: 2}]
          securityContext: {capabilities: {add: oops, drop: [{x: y}]}, runAsUser: abc}
        - just a string
"""
    (run,) = read_kubernetes(text, "d.yaml")
    assert run.image is None
    assert run.cap_add == []
    assert run.user is None
