"""Issue 23 item 20: a Kubernetes (or Compose) fix never inserts its keys inside a value that
spans lines: a quoted string whose next line starts with ``#``, a block scalar ending in a
``#`` line, a flow list continued at a lower indentation. The keys go after the value, the
value reads the same, and a second ``fix`` changes nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from keelhaul.runtime.yaml_documents import load_documents
from tests.keelhaul_cli import run

POD = """apiVersion: v1
kind: Pod
metadata:
  name: x
spec:
  containers:
    - name: a
      image: nginx:1.25
{last}"""

LAST = {
    "quoted": '      command: ["sh", "-c", "echo hi\n        # not a comment"]\n',
    "block": "      args:\n        - |\n          echo hi\n          # still the script\n",
    "flow": '      args: ["--a",\n  "--b"]\n',
    "plain": "      workingDir: /srv\n        # part of the path\n",
}
COMPOSE = (
    'services:\n  web:\n    image: nginx:1.25\n    command: "echo hi\n      # not a comment"\n'
)


def _fix_twice(tmp_path: Path, name: str, text: str) -> tuple[str, str]:
    path = tmp_path / name
    path.write_text(text)
    first = run("fix", "--unsafe-fixes", name, cwd=tmp_path)
    assert first.returncode in (0, 1), first.stderr
    once = path.read_text()
    second = run("fix", "--unsafe-fixes", name, cwd=tmp_path)
    assert second.returncode in (0, 1), second.stderr
    return once, path.read_text()


@pytest.mark.parametrize("shape", sorted(LAST))
def test_kubernetes_keys_go_after_a_multiline_value(tmp_path: Path, shape: str) -> None:
    text = POD.format(last=LAST[shape])
    before = load_documents(text, "pod.yaml")[0]["spec"]["containers"][0]
    once, twice = _fix_twice(tmp_path, "pod.yaml", text)
    assert once == twice  # idempotent
    after = load_documents(once, "pod.yaml")[0]["spec"]["containers"][0]
    assert "securityContext" in after
    assert once.count("securityContext:") == 1
    for key, value in before.items():
        assert after[key] == value, key  # the multi-line value reads as it did


def test_compose_keys_go_after_a_multiline_string(tmp_path: Path) -> None:
    before = load_documents(COMPOSE, "compose.yaml")[0]["services"]["web"]
    once, twice = _fix_twice(tmp_path, "compose.yaml", COMPOSE)
    assert once == twice
    after = load_documents(once, "compose.yaml")[0]["services"]["web"]
    assert after["command"] == before["command"]
    assert len(after) > len(before)  # hardened, not skipped
