"""Hardening fixes that do not break the images they harden (issue 18): what the image table
(keelhaul.runtime.images) says each well-known image needs, and every fixed corpus manifest
accepted by the Kubernetes API's own schema (kubernetes-validate)."""

from __future__ import annotations

from collections import Counter

import pytest
import yaml

from keelhaul.runtime.discover import kind_of
from keelhaul.runtime.fixing import fix_compose, fix_kubernetes
from keelhaul.runtime.images import needs_of
from keelhaul.runtime.yaml_documents import YamlFile, load_documents
from tests.corpus import corpus_files
from tests.kubernetes_schema import schema_errors

POD = """\
apiVersion: v1
kind: Pod
metadata:
  name: p
spec:
  containers:
    - name: c
      image: {image}
"""


def container(image: str) -> dict[str, object]:
    fixed = fix_kubernetes(POD.format(image=image), "p.yaml").text
    (doc,) = yaml.safe_load_all(fixed)
    (found,) = doc["spec"]["containers"]
    assert isinstance(found, dict)
    return found


def test_postgres_keeps_what_its_entrypoint_needs() -> None:
    c = container("postgres:16")
    sc = c["securityContext"]
    assert isinstance(sc, dict)
    assert "runAsNonRoot" not in sc  # it starts as root, chowns its data, then gosu postgres
    assert sc["capabilities"] == {
        "drop": ["ALL"],
        "add": ["CHOWN", "DAC_OVERRIDE", "FOWNER", "SETGID", "SETUID"],
    }
    assert "readOnlyRootFilesystem" not in sc  # its data folder needs a volume first


def test_postgres_with_a_data_volume_becomes_read_only() -> None:
    text = POD.format(image="postgres:16") + (
        "      volumeMounts:\n        - name: data\n          mountPath: /var/lib/postgresql/data\n"
        "  volumes:\n    - name: data\n      persistentVolumeClaim: {claimName: pg}\n"
    )
    (doc,) = yaml.safe_load_all(fix_kubernetes(text, "p.yaml").text)
    c = doc["spec"]["containers"][0]
    assert c["securityContext"]["readOnlyRootFilesystem"] is True
    mounted = {m["mountPath"] for m in c["volumeMounts"]}
    assert mounted == {"/var/lib/postgresql/data", "/tmp", "/var/run/postgresql"}


def test_nginx_read_only_gets_every_path_it_writes() -> None:
    c = container("nginx:1.27")
    assert {m["mountPath"] for m in c["volumeMounts"]} == {"/tmp", "/var/cache/nginx", "/var/run"}
    caps = c["securityContext"]["capabilities"]["add"]
    assert caps == ["CHOWN", "SETGID", "SETUID", "NET_BIND_SERVICE"]  # it listens on 80


def test_run_as_non_root_comes_with_a_user() -> None:
    """The kubelet refuses runAsNonRoot alone for an image whose user is root."""
    sc = container("example.com/app:1")["securityContext"]
    assert sc["runAsNonRoot"] is True
    assert (sc["runAsUser"], sc["runAsGroup"]) == (10001, 10001)
    known = container("prom/prometheus:v2.53.0")["securityContext"]
    assert (known["runAsUser"], known["runAsGroup"]) == (65534, 65534)


def test_compose_keeps_the_database_startable() -> None:
    text = "services:\n  db:\n    image: mariadb:11\n"
    fixed = fix_compose(text, "compose.yaml")
    service = yaml.safe_load(fixed.text)["services"]["db"]
    assert service["cap_drop"] == ["ALL"]
    assert service["cap_add"] == ["CHOWN", "DAC_OVERRIDE", "FOWNER", "SETGID", "SETUID"]
    assert "read_only" not in service
    assert any("/var/lib/mysql" in line for line in fixed.skipped)


def _workload_files() -> list[tuple[str, str]]:
    out = []
    for path in corpus_files("k8s"):
        try:
            text = path.read_bytes().decode("utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        if kind_of(YamlFile(str(path), text)) == "kubernetes":
            out.append((str(path), text))
    return out


@pytest.mark.corpus
@pytest.mark.corpus_fixes
def test_fixed_corpus_manifests_pass_the_api_schema() -> None:
    """The fixes add no error the API's schema finds (kubernetes-validate's Kubernetes 1.30
    schemas, strict) to any corpus manifest: one the schema accepts is still accepted after
    every hardening fix (``fix_kubernetes`` asked for every code of every container: what
    ``fix --unsafe-fixes`` applies, and more), and one it refused already (test fixtures of
    scanners, fields in the wrong place) gets no new error; the fixed containers lack nothing
    the image table says their images need (:func:`_table_breaches`) that they did not lack
    before."""
    pytest.importorskip("kubernetes_validate")
    files = _workload_files()
    if not files:
        pytest.skip("no shared corpus")
    failures: list[str] = []
    checked = Counter[str]()
    for name, text in files:
        try:
            fixed = fix_kubernetes(text, name).text
            if fixed == text:
                continue
            before = [d for d in yaml.safe_load_all(text) if isinstance(d, dict)]
            after = [d for d in yaml.safe_load_all(fixed) if isinstance(d, dict)]
        except Exception:  # duplicate keys, templated or non-YAML content: refused elsewhere
            continue
        load_documents(fixed, name)
        for old, new in zip(before, after, strict=True):
            if old == new:
                continue
            was = schema_errors(old)
            if was is None:
                checked["no schema"] += 1  # an API version removed before 1.25, a custom kind
                continue
            checked["valid before" if not was else "refused before"] += 1
            added = (schema_errors(new) or frozenset()) - was
            failures += [f"{name}: {new.get('kind')}: {error}" for error in sorted(added)]
            breached = set(_table_breaches(name, old))
            failures += [b for b in _table_breaches(name, new) if b not in breached]
    print(f"corpus manifests fixed: {dict(checked)}")
    assert checked["valid before"] > 200, checked
    assert checked["refused before"] > 20, checked
    assert failures == [], failures[:10]


def _table_breaches(name: str, doc: dict[str, object]) -> list[str]:
    """What the image table says a container needs and the manifest does not give it: no
    runAsNonRoot for an image whose entrypoint starts as root (unless a runAsUser says who),
    a runAsUser beside runAsNonRoot when the image's user is root or not known (the kubelet
    refuses runAsNonRoot alone), every path the image writes mounted when the root is
    read-only, and the entrypoint's capabilities added back after dropping ALL."""
    out: list[str] = []
    for pod, c in _pod_containers(doc):
        needs = needs_of(str(c.get("image", "")))
        sc = c.get("securityContext") or {}
        pod_sc = pod.get("securityContext") or {}
        if not isinstance(sc, dict) or not isinstance(pod_sc, dict):
            continue
        label = f"{name}: {c.get('name')}"
        user = sc.get("runAsUser", pod_sc.get("runAsUser"))
        non_root = sc.get("runAsNonRoot", pod_sc.get("runAsNonRoot")) is True
        if non_root and user is None and (needs is None or needs.starts_as_root or not needs.user):
            out.append(f"{label}: runAsNonRoot without a runAsUser on an image run as root")
        if needs is None:
            continue
        if needs.starts_as_root and non_root and not user:
            out.append(f"{label}: runAsNonRoot on an image that starts as root")
        if sc.get("readOnlyRootFilesystem") is True:
            mounts = [
                str(m.get("mountPath", "")).rstrip("/") + "/"
                for m in c.get("volumeMounts") or []
                if isinstance(m, dict)
            ]
            for path in ("/tmp", *needs.scratch, *needs.data):
                if not any((path.rstrip("/") + "/").startswith(m) for m in mounts):
                    out.append(f"{label}: read-only root but {path} is not mounted")
        caps = sc.get("capabilities") or {}
        if not isinstance(caps, dict) or not needs.starts_as_root:
            continue
        dropped = {str(x).upper().removeprefix("CAP_") for x in caps.get("drop") or []}
        added = {str(x).upper().removeprefix("CAP_") for x in caps.get("add") or []}
        if "ALL" in dropped and "ALL" not in added:
            for cap in needs.capabilities:
                if cap not in added:
                    out.append(f"{label}: drops ALL but not {cap} its entrypoint needs")
    return out


def _pod_containers(node: object) -> list[tuple[dict[str, object], dict[str, object]]]:
    """Every (pod spec, container) under ``node``: a pod spec is a mapping with a list of
    ``containers``."""
    found: list[tuple[dict[str, object], dict[str, object]]] = []
    if isinstance(node, dict):
        for group in ("initContainers", "containers"):
            items = node.get(group)
            if isinstance(items, list):
                found += [(node, c) for c in items if isinstance(c, dict)]
        for key, value in node.items():
            if key not in ("containers", "initContainers"):
                found += _pod_containers(value)
    elif isinstance(node, list):
        for item in node:
            found += _pod_containers(item)
    return found


def test_the_table_check_sees_what_would_break_a_pod() -> None:
    """The corpus test's judge: the advice the issue found breaking pods is caught."""
    nginx = {"name": "web", "image": "nginx:1.27", "volumeMounts": [{"mountPath": "/tmp"}]}
    nginx["securityContext"] = {
        "readOnlyRootFilesystem": True,
        "capabilities": {"drop": ["ALL"]},
        "runAsNonRoot": True,
    }
    doc: dict[str, object] = {"kind": "Pod", "spec": {"containers": [nginx]}}
    found = _table_breaches("p.yaml", doc)
    assert "p.yaml: web: read-only root but /var/cache/nginx is not mounted" in found
    assert "p.yaml: web: read-only root but /var/run is not mounted" in found
    assert "p.yaml: web: drops ALL but not CHOWN its entrypoint needs" in found
    assert "p.yaml: web: runAsNonRoot on an image that starts as root" in found
    unknown = {
        "name": "app",
        "image": "example.com/app:1",
        "securityContext": {"runAsNonRoot": True},
    }
    lone = _table_breaches("q.yaml", {"spec": {"containers": [unknown]}})
    assert lone == ["q.yaml: app: runAsNonRoot without a runAsUser on an image run as root"]
    assert _table_breaches("r.yaml", {"spec": {"containers": [container("nginx:1.27")]}}) == []
