"""Hardening fixes that do not break the images they harden (issue 18): what the image table
(keelhaul.runtime.images) says each well-known image needs, and every fixed corpus manifest
accepted by the Kubernetes API's own schema (kubernetes-validate)."""

from __future__ import annotations

import pytest
import yaml

from keelhaul.runtime.discover import kind_of
from keelhaul.runtime.fixing import fix_compose, fix_kubernetes
from keelhaul.runtime.images import needs_of
from keelhaul.runtime.yaml_documents import YamlFile, load_documents
from tests.corpus import corpus_files

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
def test_fixed_corpus_manifests_pass_the_api_schema() -> None:
    """Every corpus manifest the API's schema accepts is still accepted after
    ``fix --unsafe-fixes``, and the fix honours the image table."""
    kubernetes_validate = pytest.importorskip("kubernetes_validate")
    files = _workload_files()
    if not files:
        pytest.skip("no shared corpus")
    failures: list[str] = []
    checked = 0
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
            if old == new or not _valid(kubernetes_validate, old):
                continue
            checked += 1
            if not _valid(kubernetes_validate, new):
                failures.append(f"{name}: {new.get('kind')}/{new.get('metadata', {}).get('name')}")
            was = set(_table_breaches(name, old))
            failures += [b for b in _table_breaches(name, new) if b not in was]
    assert checked > 200
    assert failures == [], failures[:10]


def _valid(module: object, doc: dict[str, object]) -> bool:
    try:
        module.validate(doc, "1.30.0", strict=True)  # type: ignore[attr-defined]
    except Exception:
        return False
    return True


def _table_breaches(name: str, doc: dict[str, object]) -> list[str]:
    out: list[str] = []
    for c in _containers(doc):
        needs = needs_of(str(c.get("image", "")))
        sc = c.get("securityContext") or {}
        if needs is None or not isinstance(sc, dict):
            continue
        if needs.starts_as_root and sc.get("runAsNonRoot") is True and not sc.get("runAsUser"):
            out.append(f"{name}: {c.get('name')}: runAsNonRoot on an image that starts as root")
    return out


def _containers(node: object) -> list[dict[str, object]]:
    found: list[dict[str, object]] = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("containers", "initContainers") and isinstance(value, list):
                found += [c for c in value if isinstance(c, dict)]
            else:
                found += _containers(value)
    elif isinstance(node, list):
        for item in node:
            found += _containers(item)
    return found
