"""``keelhaul fix`` on Kubernetes and Compose: the hardening is added, nothing else changes.

The corpus test fixes every Compose and Kubernetes file of the shared corpus, loads the YAML
before and after, and checks that the only differences are the intended fields (new keys from
the hardening set, new items ALL / NET_BIND_SERVICE / no-new-privileges:true / /tmp / the tmp
volume and mount), that the text outside the inserted lines is byte for byte the same, and
that a second fix changes nothing.
"""

from __future__ import annotations

import difflib
import functools
from pathlib import Path
from typing import Any

import pytest

from keelhaul.catalogue import all_rules
from keelhaul.checking import Checker, Target
from keelhaul.config import ConfigFinder
from keelhaul.errors import SyntaxProblem
from keelhaul.fix.fixing import FixOutcome, fix_target
from keelhaul.runtime.discover import kind_of
from keelhaul.runtime.fixing import fix_compose, fix_kubernetes, fix_runtime_text
from keelhaul.runtime.images import IMAGES as IMAGE_TABLE
from keelhaul.runtime.yaml_documents import YamlFile, load_documents
from keelhaul.selection import Vocabulary
from tests.corpus import check_every_file, corpus_bytes, corpus_id, require_corpus

K8S_KEYS = {
    "securityContext",
    "runAsNonRoot",
    "allowPrivilegeEscalation",
    "readOnlyRootFilesystem",
    "capabilities",
    "drop",
    "add",
    "seccompProfile",
    "type",
    "volumes",
    "volumeMounts",
    "runAsUser",
    "runAsGroup",
}
COMPOSE_KEYS = {"cap_drop", "cap_add", "read_only", "tmpfs", "security_opt"}
#: What the fixes may add to a list: ALL, the capabilities an image's entrypoint needs back
#: (keelhaul.runtime.images), no-new-privileges, and the paths an image writes.
NEW_ITEMS = frozenset(
    {"ALL", "NET_BIND_SERVICE", "no-new-privileges:true", "/tmp"}
    | {c for needs in IMAGE_TABLE.values() for c in needs.capabilities}
    | {p for needs in IMAGE_TABLE.values() for p in needs.scratch}
)


def _plain(node: Any) -> Any:
    if isinstance(node, dict):
        return {str(k): _plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_plain(v) for v in node]
    return node


def _intended_item(item: Any) -> bool:
    if isinstance(item, str) and item in NEW_ITEMS:
        return True
    if isinstance(item, dict) and set(item) in ({"name", "mountPath"}, {"name", "emptyDir"}):
        path = item.get("mountPath")
        return (isinstance(path, str) and path in NEW_ITEMS) or item.get("emptyDir") == {}
    return False


def differences(before: Any, after: Any, keys: set[str], path: str = "") -> list[str]:
    """What changed from ``before`` to ``after`` beyond the intended additions."""
    if isinstance(before, dict) and isinstance(after, dict):
        problems = [f"{path}.{k} removed" for k in before if k not in after]
        for key, value in after.items():
            if key in before:
                problems += differences(before[key], value, keys, f"{path}.{key}")
            elif key not in keys:
                problems.append(f"{path}.{key} added")
        return problems
    if before is None and isinstance(after, dict):  # ``securityContext:`` with no value
        return differences({}, after, keys, path)
    if isinstance(before, list) and isinstance(after, list):
        rest = list(after)
        for item in before:  # every old item, in order, with only intended items between
            while rest and rest[0] != item and _intended_item(rest[0]):
                rest.pop(0)
            if not rest:
                return [f"{path}: item {item!r} lost"]
            head = rest.pop(0)
            if head != item:
                problems = differences(item, head, keys, f"{path}[]")
                if problems:
                    return problems
        return [f"{path}: unexpected item {r!r}" for r in rest if not _intended_item(r)]
    return [] if before == after else [f"{path}: {before!r} -> {after!r}"]


def only_insertions(before: str, after: str) -> bool:
    """Every old line is still there, in order; changed lines are only added (or a ``{}`` /
    flow-sequence edit on one line)."""
    matcher = difflib.SequenceMatcher(None, before.split("\n"), after.split("\n"), autojunk=False)
    for tag, i1, i2, _j1, _j2 in matcher.get_opcodes():
        if tag == "delete" or (tag == "replace" and i2 - i1 > 1):
            return False
    return True


@functools.cache
def _workload_files() -> list[tuple[Path, str, str]]:
    """The corpus files that hold a workload or Compose services, with their text and kind
    (the others are Helm values, CRDs, Services...: nothing to fix)."""
    found = []
    for path in require_corpus("compose") + require_corpus("k8s"):
        try:
            text = corpus_bytes(path).decode("utf-8")  # as it is: CRLF files stay CRLF
        except UnicodeDecodeError:
            continue
        kind = kind_of(YamlFile(str(path), text))
        if kind in ("compose", "kubernetes"):
            try:
                load_documents(text, str(path))
            except SyntaxProblem as exc:  # a duplicate key: check and fix both refuse it
                refused = str(exc)
            else:
                refused = ""
            if "duplicate key" in refused:
                continue
            found.append((path, text, kind))
    return found


def _round_trip(path: Path, text: str, kind: str) -> None:
    fixed = fix_runtime_text(YamlFile(str(path), text), kind).text
    if fixed == text:
        return
    before = [_plain(d) for d in load_documents(text, "before")]
    after = [_plain(d) for d in load_documents(fixed, "after")]
    assert len(before) == len(after)
    keys = COMPOSE_KEYS if kind == "compose" else K8S_KEYS
    for old, new in zip(before, after, strict=True):
        assert differences(old, new, keys) == []
    assert only_insertions(text, fixed)
    assert fix_runtime_text(YamlFile(str(path), fixed), kind).text == fixed  # idempotent


SHARDS = 4


@pytest.mark.corpus
@pytest.mark.corpus_fixes
@pytest.mark.parametrize("shard", range(SHARDS), ids=lambda n: f"{n + 1}of{SHARDS}")
def test_corpus_round_trip(shard: int) -> None:
    """Every workload file of the corpus: only the intended additions, idempotent. The files
    are dealt into a few shards (one test each) that pytest-xdist can run side by side."""
    files = _workload_files()
    assert len(files) > 500  # most of the corpus holds workloads
    mine = files[shard::SHARDS]
    check_every_file(mine, lambda f: _round_trip(*f), lambda f: corpus_id(f[0]))


COMPOSE_IN = """\
# the stack
version: "3.8"   # legacy
services:
  web:   # front
    image: 'nginx:1.25'
    ports:
    - "80:80"
    cap_drop: [NET_RAW]
    security_opt:
      - seccomp=default.json

  db:
    image: postgres:16
    read_only: false
volumes:
  data: {}
"""
COMPOSE_OUT = """\
# the stack
version: "3.8"   # legacy
services:
  web:   # front
    image: 'nginx:1.25'
    ports:
    - "80:80"
    cap_drop: [ALL, NET_RAW]
    security_opt:
      - no-new-privileges:true
      - seccomp=default.json
    cap_add:
    - CHOWN
    - SETGID
    - SETUID
    - NET_BIND_SERVICE
    read_only: true
    tmpfs:
    - /tmp
    - /var/cache/nginx
    - /var/run

  db:
    image: postgres:16
    read_only: false
    cap_drop:
    - ALL
    cap_add:
    - CHOWN
    - DAC_OVERRIDE
    - FOWNER
    - SETGID
    - SETUID
    security_opt:
    - no-new-privileges:true
volumes:
  data: {}
"""


def test_compose_fix_exact() -> None:
    assert fix_compose(COMPOSE_IN, "compose.yaml").text == COMPOSE_OUT
    assert fix_compose(COMPOSE_OUT, "compose.yaml").text == COMPOSE_OUT


K8S_IN = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  template:
    spec:
      containers:
        - name: web
          image: nginx:1.25
          ports:
            - containerPort: 80
        - name: side
          image: busybox:1
          securityContext:
            privileged: true
---
apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  securityContext:
    runAsUser: 0
  containers:
  - name: a
    image: a:1
    securityContext: {}
    volumeMounts:
    - name: tmp
      mountPath: /tmp
  volumes:
  - name: tmp
    emptyDir: {}
"""
K8S_OUT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  template:
    spec:
      containers:
        - name: web
          image: nginx:1.25
          ports:
            - containerPort: 80
          securityContext:
            allowPrivilegeEscalation: false
            readOnlyRootFilesystem: true
            capabilities:
              drop:
                - ALL
              add:
                - CHOWN
                - SETGID
                - SETUID
                - NET_BIND_SERVICE
            seccompProfile:
              type: RuntimeDefault
          volumeMounts:
            - name: tmp
              mountPath: /tmp
            - name: var-cache-nginx
              mountPath: /var/cache/nginx
            - name: var-run
              mountPath: /var/run
        - name: side
          image: busybox:1
          securityContext:
            privileged: true
            runAsNonRoot: true
            runAsUser: 10001
            runAsGroup: 10001
            readOnlyRootFilesystem: true
            capabilities:
              drop:
                - ALL
            seccompProfile:
              type: RuntimeDefault
          volumeMounts:
            - name: tmp
              mountPath: /tmp
      volumes:
        - name: tmp
          emptyDir: {}
        - name: var-cache-nginx
          emptyDir: {}
        - name: var-run
          emptyDir: {}
---
apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  securityContext:
    runAsUser: 0
  containers:
  - name: a
    image: a:1
    securityContext:
      allowPrivilegeEscalation: false
      readOnlyRootFilesystem: true
      capabilities:
        drop:
        - ALL
      seccompProfile:
        type: RuntimeDefault
    volumeMounts:
    - name: tmp
      mountPath: /tmp
  volumes:
  - name: tmp
    emptyDir: {}
"""


def test_kubernetes_fix_exact() -> None:
    assert fix_kubernetes(K8S_IN, "k.yaml").text == K8S_OUT
    assert fix_kubernetes(K8S_OUT, "k.yaml").text == K8S_OUT


@pytest.mark.parametrize(
    ("before", "after"),
    [
        # a securityContext with no value
        (
            "kind: Pod\napiVersion: v1\nspec:\n  containers:\n  - name: a\n    image: a\n"
            "    securityContext:\n    volumeMounts:\n    - {name: tmp, mountPath: /tmp}\n",
            "    securityContext:\n      runAsNonRoot: true\n",
        ),
        # capabilities.drop written without ALL
        (
            "kind: Pod\napiVersion: v1\nspec:\n  containers:\n  - name: a\n    image: a\n"
            "    securityContext:\n      readOnlyRootFilesystem: false\n      capabilities:\n"
            "        drop:\n        - NET_RAW\n",
            "        drop:\n        - ALL\n        - NET_RAW\n",
        ),
        # CRLF line ends survive
        (
            "services:\r\n  web:\r\n    image: a\r\n",
            "    image: a\r\n    cap_drop:\r\n",
        ),
        # no newline at the end of the file
        (
            "services:\n  web:\n    image: a",
            "    image: a\n    cap_drop:\n",
        ),
    ],
)
def test_fix_shapes(before: str, after: str) -> None:
    kind = kind_of(YamlFile("f.yaml", before))
    assert kind is not None
    fixed = fix_runtime_text(YamlFile("f.yaml", before), kind).text
    assert after in fixed
    load_documents(fixed, "f.yaml")
    assert fix_runtime_text(YamlFile("f.yaml", fixed), kind).text == fixed


def test_flow_mapping_service_is_left_alone() -> None:
    text = "services:\n  web: {image: a}\n"
    change = fix_compose(text, "c.yaml")
    assert change.text == text
    assert change.skipped


def fix_runtime(name: str, text: str, unsafe: bool) -> FixOutcome:
    """``keelhaul fix`` (the one fix loop) of ``text`` read from stdin as ``name``."""
    vocabulary = Vocabulary(all_rules())
    checker = Checker(ConfigFinder(vocabulary, isolated=True), vocabulary, all_rules())
    return fix_target(checker, Target.stdin(text.encode(), name), text, unsafe)


def test_fix_runtime_is_unsafe_only() -> None:
    text = "services:\n  web:\n    image: nginx:1.25\n"
    safe = fix_runtime("compose.yaml", text, unsafe=False)
    assert safe.after == text
    assert safe.unsafe_left
    assert not safe.applied
    unsafe = fix_runtime("compose.yaml", text, unsafe=True)
    assert unsafe.after != text
    assert unsafe.applied
    assert {f.code for f in unsafe.applied} == {f.code for f in safe.unsafe_left}
    broken = fix_runtime("compose.yaml", "services:\n  web: [\n", unsafe=True)
    assert broken.broken is not None
    assert broken.after == broken.before
    shell = fix_runtime("run.sh", "docker run --privileged alpine\n", unsafe=True)
    assert shell.after == "docker run --read-only --tmpfs /tmp --privileged alpine\n"
    assert any(f.code == "KH415" for f in shell.remaining)  # privileged is the user's choice


def test_windows_pods_and_tmpfs_strings_are_left_alone() -> None:
    pod = (
        "apiVersion: v1\nkind: Pod\nspec:\n  os:\n    name: windows\n  containers:\n"
        "  - name: a\n    image: a\n"
    )
    assert fix_kubernetes(pod, "p.yaml").text == pod
    text = "services:\n  web:\n    image: a\n    tmpfs: /run\n"
    change = fix_compose(text, "c.yaml")
    assert "tmpfs: /run\n" in change.text
    assert any("tmpfs" in s for s in change.skipped)
    load_documents(change.text, "c.yaml")


def test_merge_key_services() -> None:
    text = (
        "services:\n  llm: &llm\n    image: a:1\n    networks:\n      - net\n\n"
        "  llm-gpu:\n    <<: *llm\n    deploy:\n      replicas: 1\n"
    )
    fixed = fix_compose(text, "c.yaml").text
    assert fixed.startswith("services:\n  llm: &llm\n    image: a:1\n    networks:\n      - net\n")
    assert "    deploy:\n      replicas: 1\n    cap_drop:\n" in fixed
    load_documents(fixed, "c.yaml")
    assert fix_compose(fixed, "c.yaml").text == fixed
