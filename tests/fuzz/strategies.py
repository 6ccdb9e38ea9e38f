"""Structure-aware mutators for every kind of input keelhaul reads: Dockerfiles, Kubernetes
and Compose YAML, configurations, OSV records and OCI image layouts.

Each starts from real or realistic input (corpus files where the shared corpus is present,
small written samples otherwise) and changes it the way hostile or broken input differs from
good input: syntax tokens inserted, parts cut, values swapped for values of another type,
nesting deepened, a real-looking secret planted.
"""

from __future__ import annotations

import copy
import functools
import json
from typing import Any

from hypothesis import strategies as st

from tests.corpus import corpus_bytes, corpus_files
from tests.fuzz.harness import PLANTED

# --- Dockerfiles --------------------------------------------------------------------------

DOCKERFILE = (
    b"FROM python:3.12-slim AS build\nWORKDIR /app\nCOPY requirements.txt .\n"
    b"RUN pip install -r requirements.txt \\\n  && apt-get update && apt-get install -y curl\n"
    b"COPY . .\nFROM python:3.12-slim\nCOPY --from=build /app /app\nEXPOSE 8080\n"
    b'CMD ["python", "/app/main.py"]\n'
)
DOCKERFILE_TOKENS = [
    b"\\\n", b"\\", b"`\n", b"'", b'"', b"\x00", b"\xff", b"\r\n", b"\n", b"<<EOF\n", b"EOF\n",
    b"[", b'["a", 1]', b"# escape=`\n", b"# syntax=x\n", b"\t", b"ONBUILD ", b"ENV ", b"ARG ",
    b"=", b"${", b"}", b"${A:-${B}}", b"$(", b"\xef\xbb\xbf", b"FROM scratch\n", b"USER 0\n",
    b"RUN --mount=type=cache,target=/root/.cache ", b"COPY --from=0 / /\n", "\u2028"
    .encode(), b"# keelhaul: ignore=KH101\n", b"AS b\n", b"HEALTHCHECK CMD ",
    f"ARG NPM_TOKEN={PLANTED}\n".encode(),
]  # fmt: skip


@functools.cache
def _dockerfiles() -> tuple[bytes, ...]:
    files = corpus_files("dockerfiles")
    picked = [corpus_bytes(p) for p in files[:: max(1, len(files) // 80)]]
    return tuple(p for p in picked if len(p) < 20_000) or (DOCKERFILE,)


@st.composite
def _byte_mutations(draw: st.DrawFn, base: bytes, tokens: list[bytes]) -> bytes:
    data = bytearray(base)
    for _ in range(draw(st.integers(1, 6))):
        kind = draw(st.sampled_from(["insert", "insert", "truncate", "delete", "random", "dup"]))
        pos = draw(st.integers(0, len(data)))
        if kind == "insert":
            data[pos:pos] = draw(st.sampled_from(tokens))
        elif kind == "truncate":
            del data[pos:]
        elif kind == "delete":
            del data[pos : pos + draw(st.integers(1, 40))]
        elif kind == "dup":
            end = min(len(data), pos + draw(st.integers(1, 200)))
            data[pos:pos] = data[pos:end] * draw(st.integers(1, 4))
        else:
            data[pos:pos] = draw(st.binary(max_size=8))
    return bytes(data)


@st.composite
def dockerfiles(draw: st.DrawFn) -> bytes:
    """A mutated real Dockerfile with a secret planted in it."""
    base = draw(st.sampled_from(_dockerfiles()))
    planted = base.replace(b"\n", f"\nARG NPM_TOKEN={PLANTED}\n".encode(), 1)
    return draw(_byte_mutations(planted, DOCKERFILE_TOKENS))


# --- Kubernetes and Compose ---------------------------------------------------------------

POD = f"""apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  template:
    spec:
      containers:
      - name: web
        image: nginx:1.27
        env:
        - name: API_TOKEN
          value: "{PLANTED}"
        securityContext:
          privileged: true
""".encode()
COMPOSE = f"""services:
  web:
    image: nginx:1.27
    environment:
      NPM_TOKEN: {PLANTED}
    volumes:
      - /var/run/docker.sock:/var/run/docker.sock
    cap_add: [SYS_ADMIN]
""".encode()
YAML_TOKENS = [
    b"&a ", b"*a", b"<<: *a\n", b"? ", b"!!python/object:os.system ", b"!!binary ", b"---\n",
    b"...\n", b"\t", b"'", b'"', b"- ", b": ", b"{", b"}", b"[", b"]", b"#", b"\n  ", b"\n",
    b"securityContext: {}\n", b"- name: x\n", b"\xff", b"\x00", b"%YAML 1.1\n", b"{{ .Values.x }}",
    b"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[", b"2001-02-30", b"~", b"null", b"1e309",
]  # fmt: skip


@functools.cache
def _yaml_files(kind: str) -> tuple[bytes, ...]:
    files = corpus_files(kind)
    picked = [corpus_bytes(p) for p in files[:: max(1, len(files) // 40)]]
    return tuple(p for p in picked if len(p) < 30_000)


@st.composite
def manifests(draw: st.DrawFn) -> tuple[str, bytes]:
    """(file name, a mutated Kubernetes manifest or Compose file)."""
    kind = draw(st.sampled_from(["k8s", "compose"]))
    written = POD if kind == "k8s" else COMPOSE
    base = draw(st.sampled_from((written, *_yaml_files(kind))))
    name = "deploy.yaml" if kind == "k8s" else "compose.yaml"
    return name, draw(_byte_mutations(base, YAML_TOKENS))


# --- configurations -----------------------------------------------------------------------

CONFIGS = {
    ".keelhaul.toml": b'select = ["KH1"]\nignore = ["KH101"]\nfail-on = "error"\n[settings]\n'
                      b'trusted-registries = ["docker.io"]\nimage-max-size = "500MB"\n'
                      b'[per-file-ignores]\n"docker/*" = ["KH109"]\n',
    ".hadolint.yaml": b"ignored: [DL3008]\ntrustedRegistries: [docker.io]\nfailure-threshold: "
                      b"warning\noverride:\n  error: [DL3001]\n",
}  # fmt: skip
CONFIG_TOKENS = [
    b"[", b"]", b'"', b"=", b"\n[settings]\n", b"\nselect = 5\n", b"&a ", b"*a", b"{", b"}",
    b"\xff", b"\x00", b"\n[[a]]\n", b"expires = 2001-02-30\n", b"1979-05-27T07:32:00Z", b"-",
    b"inf", b"nan", b"\t", b"\\",
]  # fmt: skip


@st.composite
def configs(draw: st.DrawFn) -> tuple[str, bytes]:
    name = draw(st.sampled_from(sorted(CONFIGS)))
    return name, draw(_byte_mutations(CONFIGS[name], CONFIG_TOKENS))


# --- JSON documents: values swapped for values of another type -----------------------------

ODD_VALUES: list[Any] = [None, 0, -1, 1.5, "", "x", [], [1], {}, {"a": 1}, True, "0" * 300,
                         [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]  # fmt: skip


def _paths(doc: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(doc, dict):
        for key, value in doc.items():
            found += _paths(value, (*prefix, key))
    elif isinstance(doc, list):
        for n, value in enumerate(doc):
            found += _paths(value, (*prefix, n))
    return found


def _set(doc: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    parent = doc
    for step in path[:-1]:
        parent = parent[step]
    parent[path[-1]] = value
    return doc


@st.composite
def json_mutants(draw: st.DrawFn, base: Any) -> Any:
    """``base`` with one to four of its values replaced by values of other types (or a key
    dropped)."""
    doc = copy.deepcopy(base)
    for _ in range(draw(st.integers(1, 4))):
        paths = _paths(doc)
        path = draw(st.sampled_from(paths))
        if path and draw(st.booleans()) and isinstance(_parent(doc, path), dict):
            del _parent(doc, path)[path[-1]]
        else:
            doc = _set(doc, path, copy.deepcopy(draw(st.sampled_from(ODD_VALUES))))
    return doc


def _parent(doc: Any, path: tuple[Any, ...]) -> Any:
    for step in path[:-1]:
        doc = doc[step]
    return doc


OSV_RECORD: dict[str, Any] = {
    "schema_version": "1.6.0",
    "id": "PYSEC-FUZZ-1",
    "modified": "2024-01-01T00:00:00Z",
    "aliases": ["CVE-2099-0001", "GHSA-xxxx-yyyy-zzzz"],
    "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}],
    "affected": [{"package": {"ecosystem": "PyPI", "name": "flask", "purl": "pkg:pypi/flask"},
                  "ranges": [{"type": "ECOSYSTEM",
                              "events": [{"introduced": "0"}, {"fixed": "2.3.2"}]}],
                  "versions": ["2.0.0", "2.3.1"],
                  "database_specific": {"severity": "HIGH"}}],
}  # fmt: skip


def osv_records() -> st.SearchStrategy[Any]:
    return json_mutants(OSV_RECORD)


def as_json(doc: Any) -> bytes:
    return json.dumps(doc).encode()
