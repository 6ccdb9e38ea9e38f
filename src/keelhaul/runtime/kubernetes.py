"""Kubernetes manifests read into :class:`ContainerRun` objects (and :class:`Pod` facts for the
Pod Security Standards, which judge a whole pod).

What is read: multi-document YAML (``kubectl apply -f``, ``helm template``, ``kustomize build``
output), ``List`` kinds (``items``), and the kinds that hold a pod template: Pod, PodTemplate,
Deployment, StatefulSet, DaemonSet, ReplicaSet, ReplicationController, Job, CronJob
(``spec.jobTemplate.spec.template``) and OpenShift's DeploymentConfig. Every container counts:
``containers``, ``initContainers`` and ``ephemeralContainers``.

The YAML is read the way the API server's client reads it, not the way PyYAML's default loader
does: a duplicate key is an error (as ``kubectl``'s strict decoding makes it; the one loader
:mod:`keelhaul.runtime.yaml_documents` is shared with the fixer), ``yes``/``no``/``on``/``off`` are booleans only in boolean fields
(a string field keeps the text), and YAML 1.2 scalars (``=``, ``0o17``) load as what they are.
Every value keeps its line and column (ruamel's round-trip loader), so a finding points at it.

Pod-level settings are applied under the container's own (Kubernetes precedence: a container's
``securityContext`` field overrides the pod's ``securityContext`` field of the same name); the
raw pod- and container-level values stay available in :class:`Pod` for the PSS checks, which
tell "the pod sets it" from "the container sets it".
"""

from __future__ import annotations

import base64
import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from ruamel.yaml.comments import CommentedMap, CommentedSeq

from keelhaul.runtime.model import (
    ContainerRun,
    EnvVar,
    Mount,
    Port,
    Source,
    StoredValue,
    Value,
    Where,
)
from keelhaul.runtime.yaml_documents import YamlFile, yaml_file

__all__ = [
    "Container",
    "Pod",
    "SecurityContext",
    "Volume",
    "holds_stored_values",
    "merge_step_template",
    "pods_of",
    "read_kubernetes",
    "read_pods",
    "stored_values",
    "tekton_task_specs",
]

#: kind -> key path from the object to its pod template (``metadata`` + ``spec``).
TEMPLATE_PATHS: dict[str, tuple[str, ...]] = {
    "Pod": (),
    "PodTemplate": ("template",),
    "Deployment": ("spec", "template"),
    "StatefulSet": ("spec", "template"),
    "DaemonSet": ("spec", "template"),
    "ReplicaSet": ("spec", "template"),
    "ReplicationController": ("spec", "template"),
    "Job": ("spec", "template"),
    "DeploymentConfig": ("spec", "template"),
    "CronJob": ("spec", "jobTemplate", "spec", "template"),
}


#: Booleans as the YAML 1.1 resolver behind ``sigs.k8s.io/yaml`` reads them in a bool field.
_TRUE = frozenset({"y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON"})
_FALSE = frozenset({"n", "N", "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF"})
#: Volume source keys, as ``spec.volumes[*]`` names them.
_NOT_SOURCES = frozenset({"name"})
APPARMOR_ANNOTATION = "container.apparmor.security.beta.kubernetes.io/"


# --------------------------------------------------------------------------------------------
# the pod model the PSS checks read


@dataclass
class SecurityContext:
    """One ``securityContext`` as written (pod or container level); None = not written."""

    where: Where | None = None
    run_as_non_root: Value[bool] | None = None
    run_as_user: Value[int] | None = None
    run_as_group: Value[int] | None = None
    privileged: Value[bool] | None = None
    allow_privilege_escalation: Value[bool] | None = None
    read_only_root: Value[bool] | None = None
    capabilities: Where | None = None
    """Where ``capabilities`` is written; None when absent (PSS tells absent from empty)."""
    cap_add: list[Value[str]] = field(default_factory=list)
    cap_drop: list[Value[str]] = field(default_factory=list)
    seccomp: Value[str] | None = None
    """``seccompProfile.type``; ``seccomp_set`` says whether ``seccompProfile`` is there."""
    seccomp_set: bool = False
    apparmor: Value[str] | None = None
    apparmor_set: bool = False
    selinux_type: Value[str] | None = None
    selinux_user: Value[str] | None = None
    selinux_role: Value[str] | None = None
    selinux_set: bool = False
    proc_mount: Value[str] | None = None
    host_process: Value[bool] | None = None
    sysctls: list[Value[str]] = field(default_factory=list)
    """``name=value`` (pod level only)."""


@dataclass
class Volume:
    name: str
    kind: str
    """The source key: ``hostPath``, ``emptyDir``, ``configMap``...; a volume without one is
    an ``emptyDir``, as the API server defaults it."""
    host_path: str | None
    where: Where
    sources: tuple[str, ...] = ()
    """Every source key written (a valid volume has one)."""


@dataclass
class Container:
    name: str
    kind: str
    """``containers``, ``initContainers`` or ``ephemeralContainers``."""
    where: Where
    security: SecurityContext
    host_ports: list[Value[int]] = field(default_factory=list)
    probe_hosts: list[Value[str]] = field(default_factory=list)
    """``host`` of httpGet/tcpSocket probes and lifecycle handlers."""


@dataclass
class Pod:
    """A pod template as the PSS checks see it."""

    file: str
    workload: str
    where: Where
    annotations: dict[str, Value[str]] = field(default_factory=dict)
    security: SecurityContext = field(default_factory=SecurityContext)
    host_network: Value[bool] | None = None
    host_pid: Value[bool] | None = None
    host_ipc: Value[bool] | None = None
    host_users: Value[bool] | None = None
    os_name: str | None = None
    automount_service_account_token: Value[bool] | None = None
    volumes: list[Volume] = field(default_factory=list)
    containers: list[Container] = field(default_factory=list)
    runs: list[ContainerRun] = field(default_factory=list)


# --------------------------------------------------------------------------------------------
# reading nodes


class _Reader:
    """Turns ruamel nodes into located values for one file."""

    def __init__(self, name: str) -> None:
        self.file = name

    def where(self, parent: object, key: str | int, path: str, *, of_key: bool = False) -> Where:
        """Where ``parent[key]`` is written (its value, or its key with ``of_key``)."""
        try:
            if isinstance(parent, CommentedMap):
                line, col = parent.lc.key(key) if of_key else parent.lc.value(key)
            elif isinstance(parent, CommentedSeq):
                line, col = parent.lc.item(key)
            else:
                return Where(self.file, 1, 1, path)
        except (KeyError, IndexError, TypeError, AttributeError):
            # a key brought in by a merge key (<<) has no position of its own
            line, col = getattr(getattr(parent, "lc", None), "line", 0), 0
        return Where(self.file, int(line or 0) + 1, int(col or 0) + 1, path)

    def value_bool(self, node: object, key: str, path: str) -> Value[bool] | None:
        raw = _get(node, key)
        if isinstance(raw, bool):
            return Value(raw, self.where(node, key, path))
        if isinstance(raw, str) and (raw in _TRUE or raw in _FALSE):
            return Value(raw in _TRUE, self.where(node, key, path))
        return None

    def value_str(self, node: object, key: str, path: str) -> Value[str] | None:
        raw = _get(node, key)
        if raw is None or isinstance(raw, (dict, list)):
            return None
        text = ("true" if raw else "false") if isinstance(raw, bool) else str(raw)
        return Value(text, self.where(node, key, path))

    def value_int(self, node: object, key: str, path: str) -> Value[int] | None:
        raw = _get(node, key)
        if isinstance(raw, bool):
            return None
        if isinstance(raw, int):
            return Value(int(raw), self.where(node, key, path))
        if isinstance(raw, str) and raw.strip().lstrip("-").isdigit():
            return Value(int(raw.strip()), self.where(node, key, path))
        return None

    def strings(self, node: object, key: str, path: str) -> list[Value[str]]:
        seq = _get(node, key)
        if not isinstance(seq, list):
            return []
        return [
            Value(str(item), self.where(seq, i, f"{path}[{i}]"))
            for i, item in enumerate(seq)
            if isinstance(item, (str, int)) and not isinstance(item, bool)
        ]

    def security_context(self, parent: object, path: str) -> SecurityContext:
        sc = _get(parent, "securityContext")
        path = f"{path}.securityContext"
        if not isinstance(sc, dict):
            return SecurityContext()
        out = SecurityContext(where=self.where(parent, "securityContext", path, of_key=True))
        out.run_as_non_root = self.value_bool(sc, "runAsNonRoot", f"{path}.runAsNonRoot")
        out.run_as_user = self.value_int(sc, "runAsUser", f"{path}.runAsUser")
        out.run_as_group = self.value_int(sc, "runAsGroup", f"{path}.runAsGroup")
        out.privileged = self.value_bool(sc, "privileged", f"{path}.privileged")
        out.allow_privilege_escalation = self.value_bool(
            sc, "allowPrivilegeEscalation", f"{path}.allowPrivilegeEscalation"
        )
        out.read_only_root = self.value_bool(
            sc, "readOnlyRootFilesystem", f"{path}.readOnlyRootFilesystem"
        )
        out.proc_mount = self.value_str(sc, "procMount", f"{path}.procMount")
        caps = _get(sc, "capabilities")
        if isinstance(caps, dict):
            cpath = f"{path}.capabilities"
            out.capabilities = self.where(sc, "capabilities", cpath, of_key=True)
            out.cap_add = self.strings(caps, "add", f"{cpath}.add")
            out.cap_drop = self.strings(caps, "drop", f"{cpath}.drop")
        seccomp = _get(sc, "seccompProfile")
        if isinstance(seccomp, dict):
            out.seccomp_set = True
            out.seccomp = self.value_str(seccomp, "type", f"{path}.seccompProfile.type")
            if out.seccomp is None:  # the field is there but empty: PSS sees type ""
                w = self.where(sc, "seccompProfile", f"{path}.seccompProfile", of_key=True)
                out.seccomp = Value("", w)
        apparmor = _get(sc, "appArmorProfile")
        if isinstance(apparmor, dict):
            out.apparmor_set = True
            out.apparmor = self.value_str(apparmor, "type", f"{path}.appArmorProfile.type")
            if out.apparmor is None:
                w = self.where(sc, "appArmorProfile", f"{path}.appArmorProfile", of_key=True)
                out.apparmor = Value("", w)
        selinux = _get(sc, "seLinuxOptions")
        if isinstance(selinux, dict):
            out.selinux_set = True
            spath = f"{path}.seLinuxOptions"
            out.selinux_type = self.value_str(selinux, "type", f"{spath}.type")
            out.selinux_user = self.value_str(selinux, "user", f"{spath}.user")
            out.selinux_role = self.value_str(selinux, "role", f"{spath}.role")
        windows = _get(sc, "windowsOptions")
        if isinstance(windows, dict):
            out.host_process = self.value_bool(
                windows, "hostProcess", f"{path}.windowsOptions.hostProcess"
            )
        sysctls = _get(sc, "sysctls")
        if isinstance(sysctls, list):
            for i, item in enumerate(sysctls):
                name = _get(item, "name")
                if isinstance(name, str):
                    value = _get(item, "value")
                    text = f"{name}={'' if value is None else value}"
                    out.sysctls.append(Value(text, self.where(sysctls, i, f"{path}.sysctls[{i}]")))
        return out


def _get(node: object, key: str) -> object:
    if isinstance(node, dict):
        try:
            return node.get(key)
        except TypeError:  # an unhashable key elsewhere in a template's mapping
            return None
    return None


# --------------------------------------------------------------------------------------------
# documents -> pods


#: A document separator or end marker: a line starting ``---`` or ``...`` at column 0.
_DOC_MARKER = re.compile(r"^(?:---|\.\.\.)(?=[ \t]|$)", re.MULTILINE)
#: A document that may hold a pod template: its ``kind`` is one of ours or a List.
_WORKLOAD_KIND = re.compile(
    r"""["']?kind["']?[ \t]*:[ \t]*["']?(?:"""
    + "|".join(TEMPLATE_PATHS)
    + r"""|[A-Za-z]*List)["']?[ \t]*(?:[,}#\r\n]|$)""",
    re.MULTILINE,
)


#: Objects that store values for pods: their entries are checked for secrets.
_STORED_KIND = re.compile(
    r"""^["']?kind["']?[ \t]*:[ \t]*["']?(?:ConfigMap|Secret)["']?[ \t]*(?:#.*)?\r?$""", re.M
)


def holds_stored_values(text: str) -> bool:
    """Whether a manifest stream has a ConfigMap or a Secret (checked for secrets)."""
    return _STORED_KIND.search(text) is not None


def workload_documents(text: str) -> str:
    """``text`` with every document that cannot hold a pod template (or a ConfigMap's or
    Secret's values) blanked out (its lines kept as empty lines, so positions stay right):
    parsing a 10,000-line CRD to learn that it is a CRD is the bulk of the time otherwise."""
    if (
        not _WORKLOAD_KIND.search(text)
        and not custom_workload(text)
        and not (holds_stored_values(text))
    ):
        return ""
    starts = [0] + [m.start() for m in _DOC_MARKER.finditer(text)] + [len(text)]
    if len(starts) == 2:
        return text
    parts: list[str] = []
    for begin, end in itertools.pairwise(starts):
        chunk = text[begin:end]
        if _WORKLOAD_KIND.search(chunk) or custom_workload(chunk) or holds_stored_values(chunk):
            parts.append(chunk)
        else:
            first, newline, rest = chunk.partition("\n")
            keep = first if _DOC_MARKER.match(first) else ""
            parts.append(keep + newline + "\n" * rest.count("\n"))
    return "".join(parts)


def _objects(doc: object, path: str) -> Iterator[tuple[dict[Any, Any], str]]:
    """Each Kubernetes object of a document, ``List`` items included."""
    if not isinstance(doc, dict):
        return
    kind = _get(doc, "kind")
    items = _get(doc, "items")
    if isinstance(kind, str) and kind.endswith("List") and isinstance(items, list):
        for i, item in enumerate(items):
            yield from _objects(item, f"{path}items[{i}].")
        return
    yield doc, path


def read_pods(text: str | YamlFile, name: str = "") -> list[Pod]:
    """Every pod template of a manifest stream, with its containers already read.

    Raises :class:`keelhaul.errors.SyntaxProblem` (file and line) on YAML that does not parse
    (a duplicate key included).
    """
    source = yaml_file(text, name)
    reader = _Reader(source.name)
    pods: list[Pod] = []
    for doc in source.documents(workload_documents):
        for obj, prefix in _objects(doc, ""):
            pod = _pod_of(reader, obj, prefix)
            if pod is not None:
                pods.append(pod)
            elif _get(obj, "kind") not in TEMPLATE_PATHS:
                pods += _tekton_pods(reader, obj, prefix) or _custom_pods(reader, obj, prefix)
    return pods


#: A line of a document that lists containers (``containers:`` as a key).
_CONTAINERS_KEY = re.compile(r"^[ \t-]*[\"']?containers[\"']?[ \t]*:", re.M)
#: How deep below an object a pod spec is looked for in a custom resource.
_CUSTOM_DEPTH = 10


def custom_workload(chunk: str) -> bool:
    """A document that may hold a pod template although its kind is none of the built-in
    workloads (a custom resource: KubeRay, JobSet, Kubeflow, Argo Rollouts, Knative...,
    or a Tekton Task, TaskRun, Pipeline or PipelineRun with ``steps``).
    CustomResourceDefinitions themselves are left out: their schemas name ``containers``."""
    return (
        (_CONTAINERS_KEY.search(chunk) is not None or tekton_steps(chunk))
        and _API_VERSION_LINE.search(chunk) is not None
        and "CustomResourceDefinition" not in chunk
    )


#: A Tekton object (``apiVersion: tekton.dev/v1``) and a line that lists its steps.
_TEKTON_API = re.compile(r"^[\"']?apiVersion[\"']?[ \t]*:[ \t]*[\"']?tekton\.dev/", re.M)
_STEPS_KEY = re.compile(r"^[ \t-]*[\"']?steps[\"']?[ \t]*:", re.M)
#: Where each Tekton kind keeps its task specs (``*`` : every item of a list).
_TEKTON_TASK_SPECS: dict[str, tuple[tuple[str, ...], ...]] = {
    "Task": (("spec",),),
    "ClusterTask": (("spec",),),
    "TaskRun": (("spec", "taskSpec"),),
    "Pipeline": (("spec", "tasks", "*", "taskSpec"), ("spec", "finally", "*", "taskSpec")),
    "PipelineRun": (
        ("spec", "pipelineSpec", "tasks", "*", "taskSpec"),
        ("spec", "pipelineSpec", "finally", "*", "taskSpec"),
    ),
}


def tekton_steps(chunk: str) -> bool:
    """Whether a document is a Tekton object with ``steps`` (each step runs as a container)."""
    return _TEKTON_API.search(chunk) is not None and _STEPS_KEY.search(chunk) is not None


def _task_specs(node: object, keys: tuple[str, ...], path: str) -> Iterator[tuple[object, str]]:
    if not keys:
        yield node, path
        return
    key, rest = keys[0], keys[1:]
    if key == "*":
        if isinstance(node, list):
            for i, item in enumerate(node):
                yield from _task_specs(item, rest, f"{path.rstrip('.')}[{i}].")
        return
    yield from _task_specs(_get(node, key), rest, f"{path}{key}.")


#: The lists of a ``Container`` that a strategic merge merges item by item, by this key
#: (``patchMergeKey`` in k8s.io/api/core/v1); every other list is replaced whole.
_MERGE_KEYS = {
    "env": "name",
    "volumeMounts": "mountPath",
    "ports": "containerPort",
    "volumeDevices": "devicePath",
}


def merge_step_template(template: object, step: object) -> object:
    """A Tekton step as it runs: its ``stepTemplate`` merged under it the way Tekton merges
    them (``MergeStepsWithStepTemplate``: a strategic merge patch of the step onto the
    template, so a field the step writes wins, mappings such as ``securityContext`` merge
    field by field, ``env``/``volumeMounts``/``ports`` merge by name/path/port, every other
    list is the step's). Each key keeps the line and column of the file it was written in
    (the template's or the step's), so a finding on an inherited value points at the
    ``stepTemplate``."""
    if not isinstance(template, dict) or not template:
        return step
    if not isinstance(step, dict):
        return step
    return _merged_map(template, step, container=True)


def _merged_map(base: dict[Any, Any], over: dict[Any, Any], *, container: bool) -> object:
    out = CommentedMap()
    data: dict[Any, Any] = {}
    for source in (base, over):
        lc = getattr(source, "lc", None)
        known = getattr(lc, "data", None) or {}
        for key, value in source.items():
            mine = out.get(key) if source is over and key in out else None
            if source is over and key in out:
                if isinstance(mine, dict) and isinstance(value, dict):
                    value = _merged_map(mine, value, container=False)
                elif container and key in _MERGE_KEYS:
                    value = _merged_list(mine, value, _MERGE_KEYS[key])
            out[key] = value
            if key in known and not (
                container and source is base and key not in over and isinstance(value, dict)
            ):
                # a mapping only the template writes (securityContext...) is placed at the
                # step: what it lacks is the step's finding (and the step's pragma's); the
                # values it holds keep their own lines in the template
                data[key] = known[key]
    over_lc = getattr(over, "lc", None)
    out.lc.line = getattr(over_lc, "line", None)
    out.lc.col = getattr(over_lc, "col", None)
    out.lc.data = data
    return out


def _merged_list(base: object, over: object, key: str) -> object:
    """Items of ``over`` replace the item of ``base`` with the same ``key``; the others of
    ``base`` stay first (as a strategic merge orders them)."""
    if not isinstance(base, list) or not isinstance(over, list):
        return over
    written = {_get(item, key) for item in over}
    kept = [(base, i) for i, item in enumerate(base) if _get(item, key) not in written]
    kept += [(over, i) for i in range(len(over))]
    out = CommentedSeq(seq[i] for seq, i in kept)
    out.lc.data = {}
    for n, (seq, i) in enumerate(kept):
        known = getattr(getattr(seq, "lc", None), "data", None) or {}
        if i in known:
            out.lc.data[n] = known[i]
    return out


def tekton_task_specs(obj: object) -> Iterator[tuple[dict[Any, Any], object]]:
    """Each task spec (with ``steps``) of a Tekton Task, TaskRun, Pipeline or PipelineRun,
    with the object's ``podTemplate`` (None when it has none)."""
    api, kind = _get(obj, "apiVersion"), _get(obj, "kind")
    if not isinstance(api, str) or not api.startswith("tekton.dev/"):
        return
    if not isinstance(kind, str) or kind not in _TEKTON_TASK_SPECS:
        return
    pod_template = _get(_get(obj, "spec"), "podTemplate")
    for keys in _TEKTON_TASK_SPECS[kind]:
        for spec, _path in _task_specs(obj, keys, ""):
            if isinstance(spec, dict) and isinstance(_get(spec, "steps"), list):
                yield spec, pod_template


def _tekton_pods(reader: _Reader, obj: dict[Any, Any], prefix: str) -> list[Pod]:
    """The pods of a Tekton Task, TaskRun, Pipeline or PipelineRun: each task spec runs as a
    pod whose containers are its ``steps`` (each merged with the task's ``stepTemplate``,
    :func:`merge_step_template`) and ``sidecars`` (which the template does not touch); a
    TaskRun's ``podTemplate`` gives the pod-level settings."""
    api, kind = _get(obj, "apiVersion"), _get(obj, "kind")
    if not isinstance(api, str) or not api.startswith("tekton.dev/"):
        return []
    if not isinstance(kind, str) or kind not in _TEKTON_TASK_SPECS:
        return []
    meta = _get(obj, "metadata")
    obj_name = _get(meta, "name") or _get(meta, "generateName") or "?"
    pod_template = _get(_get(obj, "spec"), "podTemplate")
    found: list[Pod] = []
    for keys in _TEKTON_TASK_SPECS[kind]:
        for spec, path in _task_specs(obj, keys, prefix):
            if not isinstance(spec, dict) or not isinstance(_get(spec, "steps"), list):
                continue
            label = f"{kind}/{obj_name}"
            inner = path.removeprefix(prefix).rstrip(".")
            if inner != "spec":
                label += f" ({inner})"
            pod = _pod_from(
                reader, obj, label, {}, path, prefix, spec=spec, spec_path=path.rstrip("."),
                groups=("steps", "sidecars"), pod_spec=pod_template,
            )  # fmt: skip
            if pod is not None:
                found.append(pod)
    return found


_API_VERSION_LINE = re.compile(r"^[\"']?apiVersion[\"']?[ \t]*:", re.M)


def _custom_pods(reader: _Reader, obj: dict[Any, Any], prefix: str) -> list[Pod]:
    """The pod templates of a custom resource, found by their shape: a mapping whose
    ``spec`` holds a ``containers`` list of mappings with an ``image`` (the pod template
    shape every operator reuses), at any depth up to :data:`_CUSTOM_DEPTH`."""
    kind = _get(obj, "kind")
    if not isinstance(kind, str) or not isinstance(_get(obj, "apiVersion"), str):
        return []
    meta = _get(obj, "metadata")
    obj_name = _get(meta, "name") or _get(meta, "generateName") or "?"
    found: list[Pod] = []
    for template, path in _templates_below(obj, prefix, 0):
        label = f"{kind}/{obj_name}"
        inner = path.removeprefix(prefix).rstrip(".")
        if inner:
            label += f" ({inner})"
        pod = _pod_from(reader, obj, label, template, path, prefix)
        if pod is not None:
            found.append(pod)
    return found


def _templates_below(node: object, path: str, depth: int) -> Iterator[tuple[object, str]]:
    if depth > _CUSTOM_DEPTH:
        return
    if isinstance(node, dict):
        spec = _get(node, "spec")
        if depth > 0 and _looks_like_pod_spec(spec):
            yield node, path
            return
        for key, value in node.items():
            if isinstance(value, dict | list) and key not in ("metadata", "status"):
                yield from _templates_below(value, f"{path}{key}.", depth + 1)
    elif isinstance(node, list):
        for i, item in enumerate(node):
            yield from _templates_below(item, f"{path.rstrip('.')}[{i}].", depth + 1)


def _looks_like_pod_spec(spec: object) -> bool:
    containers = _get(spec, "containers")
    return (
        isinstance(containers, list)
        and bool(containers)
        and all(isinstance(c, dict) and "image" in c for c in containers)
    )


def read_kubernetes(text: str | YamlFile, name: str = "") -> list[ContainerRun]:
    """Every container of a manifest stream as a :class:`ContainerRun`, in file order.

    Each run's ``extra["pod"]`` is its :class:`Pod` (shared by the pod's containers) and
    ``extra["security"]`` the container's own :class:`SecurityContext`.
    """
    return [run for pod in read_pods(text, name) for run in pod.runs]


def stored_values(text: str | YamlFile, name: str = "") -> list[StoredValue]:
    """Every entry of the ConfigMaps and Secrets of a manifest stream: a Secret's ``data``
    decoded from base64 (an entry that does not decode, or is not text, is left out), its
    ``stringData`` and a ConfigMap's ``data`` as written. Read from the documents the pod
    reader loaded (no second load)."""
    source = yaml_file(text, name)
    if not holds_stored_values(source.text):
        return []
    reader = _Reader(source.name)
    out: list[StoredValue] = []
    for doc in source.documents(workload_documents):
        for obj, prefix in _objects(doc, ""):
            kind = _get(obj, "kind")
            if kind not in ("ConfigMap", "Secret"):
                continue
            holder = f"{kind}/{_get(_get(obj, 'metadata'), 'name') or '?'}"
            fields = ("data", "stringData") if kind == "Secret" else ("data",)
            for field_name in fields:
                entries = _get(obj, field_name)
                if not isinstance(entries, dict):
                    continue
                for key, raw in entries.items():
                    if not isinstance(key, str) or not isinstance(raw, str):
                        continue
                    value = _decoded(raw) if (kind, field_name) == ("Secret", "data") else raw
                    if value is None:
                        continue
                    where = reader.where(entries, key, f"{prefix}{field_name}.{key}", of_key=True)
                    out.append(StoredValue(holder, kind.lower(), key, value, where))
    return out


def _decoded(text: str) -> str | None:
    """A Secret's ``data`` value as the pod sees it; None when it is not base64 of text."""
    try:
        return base64.b64decode("".join(text.split()), validate=True).decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        return None


def pods_of(runs: list[ContainerRun]) -> list[Pod]:
    """The distinct pods the runs come from (Kubernetes runs only), in order."""
    seen: dict[int, Pod] = {}
    for run in runs:
        pod = run.extra.get("pod")
        if isinstance(pod, Pod) and id(pod) not in seen:
            seen[id(pod)] = pod
    return list(seen.values())


def _pod_of(reader: _Reader, obj: dict[Any, Any], prefix: str) -> Pod | None:
    kind = _get(obj, "kind")
    if not isinstance(kind, str) or kind not in TEMPLATE_PATHS:
        return None
    template: object = obj
    path = prefix
    for key in TEMPLATE_PATHS[kind]:
        template = _get(template, key)
        path += f"{key}."
    meta = _get(obj, "metadata")
    obj_name = _get(meta, "name") or _get(meta, "generateName") or "?"
    return _pod_from(reader, obj, f"{kind}/{obj_name}", template, path, prefix)


def _pod_from(
    reader: _Reader,
    obj: object,
    label: str,
    template: object,
    path: str,
    prefix: str,
    *,
    spec: object = None,
    spec_path: str = "",
    groups: tuple[str, ...] = ("initContainers", "containers", "ephemeralContainers"),
    pod_spec: object = None,
) -> Pod | None:
    """The pod whose template (``metadata`` + ``spec``) is ``template``, at ``path``; or
    (Tekton) whose containers are the ``groups`` of ``spec`` and whose pod-level settings
    are in ``pod_spec``."""
    containers_of = spec if spec is not None else _get(template, "spec")
    if not isinstance(containers_of, dict):
        return None
    spec_path = spec_path or f"{path}spec"
    where = reader.where(obj, "kind", f"{prefix}kind")
    pod = Pod(reader.file, label, where)
    container_path = spec_path
    if spec is not None:  # a Tekton task spec: pod-level settings from its podTemplate
        spec = pod_spec if isinstance(pod_spec, dict) else {}
        spec_path = f"{prefix}spec.podTemplate"
    else:
        spec = containers_of
    annotations = _get(_get(template, "metadata"), "annotations")
    if isinstance(annotations, dict):
        for key in list(annotations):
            value = reader.value_str(annotations, str(key), f"{path}metadata.annotations.{key}")
            if value is not None:
                pod.annotations[str(key)] = value
    pod.security = reader.security_context(spec, spec_path)
    pod.host_network = reader.value_bool(spec, "hostNetwork", f"{spec_path}.hostNetwork")
    pod.host_pid = reader.value_bool(spec, "hostPID", f"{spec_path}.hostPID")
    pod.host_ipc = reader.value_bool(spec, "hostIPC", f"{spec_path}.hostIPC")
    pod.host_users = reader.value_bool(spec, "hostUsers", f"{spec_path}.hostUsers")
    os_name = _get(_get(spec, "os"), "name")
    pod.os_name = os_name if isinstance(os_name, str) else None
    pod.automount_service_account_token = reader.value_bool(
        spec, "automountServiceAccountToken", f"{spec_path}.automountServiceAccountToken"
    )
    pod.volumes = _volumes(reader, spec, spec_path)
    if containers_of is not spec:
        pod.volumes += _volumes(reader, containers_of, container_path)
    step_template = _get(containers_of, "stepTemplate") if spec is not None else None
    for group in groups:
        seq = _get(containers_of, group)
        if not isinstance(seq, list):
            continue
        for i, item in enumerate(seq):
            if group == "steps":
                item = merge_step_template(step_template, item)
            if isinstance(item, dict):
                cpath = f"{container_path}.{group}[{i}]"
                _add_container(reader, pod, item, group, cpath, reader.where(seq, i, cpath))
    return pod


def _volumes(reader: _Reader, spec: object, spec_path: str) -> list[Volume]:
    seq = _get(spec, "volumes")
    if not isinstance(seq, list):
        return []
    out: list[Volume] = []
    for i, item in enumerate(seq):
        if not isinstance(item, dict):
            continue
        sources = tuple(str(k) for k in item if str(k) not in _NOT_SOURCES)
        kind = "hostPath" if "hostPath" in sources else sources[0] if sources else "emptyDir"
        host = _get(_get(item, "hostPath"), "path")
        vname = _get(item, "name")
        vpath = f"{spec_path}.volumes[{i}]"
        out.append(
            Volume(
                str(vname) if vname is not None else "",
                kind,
                str(host) if kind == "hostPath" and host is not None else None,
                reader.where(seq, i, vpath),
                sources,
            )
        )
    return out


def _add_container(
    reader: _Reader, pod: Pod, item: dict[Any, Any], group: str, path: str, where: Where
) -> None:
    raw_name = _get(item, "name")
    name = str(raw_name) if raw_name is not None else "?"
    sc = reader.security_context(item, path)
    container = Container(name, group, where, sc)
    ports = _ports(reader, item, path)
    container.host_ports = [
        Value(p.host_port, p.where) for p in ports if p.host_port not in (None, 0)
    ]
    container.probe_hosts = _probe_hosts(reader, item, path)
    pod.containers.append(container)
    pod.runs.append(_run_of(reader, pod, container, item, path, ports))


def _ports(reader: _Reader, item: object, path: str) -> list[Port]:
    seq = _get(item, "ports")
    if not isinstance(seq, list):
        return []
    out: list[Port] = []
    for i, port in enumerate(seq):
        if not isinstance(port, dict):
            continue
        ppath = f"{path}.ports[{i}]"
        container_port = reader.value_int(port, "containerPort", f"{ppath}.containerPort")
        host_port = reader.value_int(port, "hostPort", f"{ppath}.hostPort")
        protocol = _get(port, "protocol")
        out.append(
            Port(
                container_port.value if container_port else None,
                host_port.value if host_port else None,
                str(protocol) if isinstance(protocol, str) else "TCP",
                host_port.where if host_port else reader.where(seq, i, ppath),
            )
        )
    return out


def _probe_hosts(reader: _Reader, item: object, path: str) -> list[Value[str]]:
    out: list[Value[str]] = []
    handlers: list[tuple[object, str]] = []
    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
        handlers.append((_get(item, probe), f"{path}.{probe}"))
    lifecycle = _get(item, "lifecycle")
    for hook in ("postStart", "preStop"):
        handlers.append((_get(lifecycle, hook), f"{path}.lifecycle.{hook}"))
    for handler, hpath in handlers:
        for action in ("httpGet", "tcpSocket"):
            host = reader.value_str(_get(handler, action), "host", f"{hpath}.{action}.host")
            if host is not None and host.value != "":
                out.append(host)
    return out


def _run_of(
    reader: _Reader,
    pod: Pod,
    container: Container,
    item: dict[Any, Any],
    path: str,
    ports: list[Port],
) -> ContainerRun:
    sc, psc = container.security, pod.security
    user = sc.run_as_user or psc.run_as_user
    group = sc.run_as_group or psc.run_as_group
    run = ContainerRun(
        source=Source.KUBERNETES,
        file=reader.file,
        name=container.name,
        workload=pod.workload,
        where=container.where,
        image=reader.value_str(item, "image", f"{path}.image"),
        pull_policy=reader.value_str(item, "imagePullPolicy", f"{path}.imagePullPolicy"),
        init=container.kind == "initContainers",
        ephemeral=container.kind == "ephemeralContainers",
        user=Value(str(user.value), user.where) if user else None,
        group=Value(str(group.value), group.where) if group else None,
        run_as_non_root=sc.run_as_non_root or psc.run_as_non_root,
        privileged=sc.privileged,
        allow_privilege_escalation=sc.allow_privilege_escalation,
        cap_add=list(sc.cap_add),
        cap_drop=list(sc.cap_drop),
        read_only_root=sc.read_only_root,
        seccomp=_seccomp(sc, psc),
        apparmor=_apparmor(pod, container),
        selinux=sc.selinux_type or psc.selinux_type,
        proc_mount=sc.proc_mount,
        sysctls=list(psc.sysctls),
        host_network=pod.host_network,
        host_pid=pod.host_pid,
        host_ipc=pod.host_ipc,
        userns=(
            Value("private" if not pod.host_users.value else "host", pod.host_users.where)
            if pod.host_users
            else None
        ),
        mounts=_mounts(reader, pod, item, path),
        ports=ports,
        env=_env(reader, item, path),
        automount_service_account_token=pod.automount_service_account_token,
    )
    # a Tekton step says computeResources (v1) where a container says resources
    resources = "computeResources" if "computeResources" in item else "resources"
    limits = _get(_get(item, resources), "limits")
    lpath = f"{path}.{resources}.limits"
    run.memory_limit = reader.value_str(limits, "memory", f"{lpath}.memory")
    run.cpu_limit = reader.value_str(limits, "cpu", f"{lpath}.cpu")
    run.extra["pod"] = pod
    run.extra["security"] = sc
    host_process = sc.host_process or psc.host_process
    if host_process is not None:
        run.extra["hostProcess"] = host_process
    if pod.os_name is not None:
        run.extra["os"] = pod.os_name
    return run


def _seccomp(sc: SecurityContext, psc: SecurityContext) -> Value[str] | None:
    chosen = sc.seccomp if sc.seccomp_set else psc.seccomp
    return chosen


def _apparmor(pod: Pod, container: Container) -> Value[str] | None:
    """The container's field, else its (deprecated) annotation, else the pod's field."""
    if container.security.apparmor_set:
        return container.security.apparmor
    note = pod.annotations.get(APPARMOR_ANNOTATION + container.name)
    if note is not None:
        text = note.value
        if text == "unconfined":
            return Value("Unconfined", note.where)
        if text == "runtime/default":
            return Value("RuntimeDefault", note.where)
        if text.startswith("localhost/"):
            return Value("Localhost", note.where)
        return note
    return pod.security.apparmor if pod.security.apparmor_set else None


def _mounts(reader: _Reader, pod: Pod, item: object, path: str) -> list[Mount]:
    seq = _get(item, "volumeMounts")
    if not isinstance(seq, list):
        return []
    volumes = {v.name: v for v in pod.volumes}
    out: list[Mount] = []
    for i, mount in enumerate(seq):
        if not isinstance(mount, dict):
            continue
        target = _get(mount, "mountPath")
        volume = volumes.get(str(_get(mount, "name")))
        read_only = reader.value_bool(mount, "readOnly", "")
        out.append(
            Mount(
                target=str(target) if target is not None else "",
                host_path=volume.host_path if volume else None,
                read_only=bool(read_only and read_only.value),
                kind=volume.kind if volume else "unknown",
                where=reader.where(seq, i, f"{path}.volumeMounts[{i}]"),
            )
        )
    return out


def _env(reader: _Reader, item: object, path: str) -> list[EnvVar]:
    seq = _get(item, "env")
    if not isinstance(seq, list):
        return []
    out: list[EnvVar] = []
    for i, var in enumerate(seq):
        name = _get(var, "name")
        if not isinstance(name, str):
            continue
        epath = f"{path}.env[{i}]"
        value_from = _get(var, "valueFrom")
        literal = reader.value_str(var, "value", f"{epath}.value")
        out.append(
            EnvVar(
                name=name,
                value=literal.value if literal is not None and value_from is None else None,
                from_secret=isinstance(_get(value_from, "secretKeyRef"), dict),
                where=literal.where if literal is not None else reader.where(seq, i, epath),
            )
        )
    return out
