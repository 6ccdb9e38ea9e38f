"""Issue 23 item 18: inputs that made keelhaul exit 3 (a bug) now give a one-line error or a
result: a Compose service made only of a merge key (fix), a Kubernetes complex mapping key,
an ignore file's impossible or timestamp ``expires``, deep nesting in eight file types, and
file names that are not UTF-8 when stdout is strict."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from keelhaul.errors import ConfigError
from keelhaul.vulns.scan import read_ignore_file

DEEP = 100_000
CLEAN = "FROM alpine:3.20\nUSER 1000\n"


def keelhaul(cwd: Path, *args: str, env: dict[str, str] | None = None,
             stdin: str | None = None) -> subprocess.CompletedProcess[bytes]:  # fmt: skip
    return subprocess.run(
        [sys.executable, "-m", "keelhaul", *args], cwd=cwd, capture_output=True, check=False,
        timeout=120, env={**os.environ, **(env or {})},
        input=stdin.encode() if stdin is not None else None,
    )  # fmt: skip


def one_line_error(done: subprocess.CompletedProcess[bytes]) -> str:
    assert done.returncode == 2, done.stderr
    lines = done.stderr.decode(errors="replace").strip().splitlines()
    assert len(lines) == 1
    return lines[0]


def test_compose_service_of_only_a_merge_key(tmp_path: Path) -> None:
    text = "x-base: &base\n  image: nginx:1.25\nservices:\n  web:\n    <<: *base\n"
    (tmp_path / "compose.yaml").write_text(text)
    done = keelhaul(tmp_path, "fix", "--unsafe-fixes", "compose.yaml")
    assert done.returncode in (0, 1), done.stderr


def test_kubernetes_metadata_that_is_a_string(tmp_path: Path) -> None:
    """Found by bench/fuzz.py: ``fix`` read the pod's name from ``metadata`` taken as a
    mapping (AttributeError, exit 3)."""
    text = ("apiVersion: v1\nkind: Pod\nmetadata: liveness-exec\nspec:\n  containers:\n"
            "    - name: liveness\n      image: busybox:1.36\n")  # fmt: skip
    (tmp_path / "pod.yaml").write_text(text)
    for args in (("check",), ("fix",), ("fix", "--unsafe-fixes")):
        done = keelhaul(tmp_path, *args, "pod.yaml")
        assert done.returncode in (0, 1), done.stderr
    assert "securityContext" in (tmp_path / "pod.yaml").read_text()  # hardened all the same


@pytest.mark.parametrize("where", ["metadata", "container", "securityContext"])
def test_kubernetes_complex_mapping_key(tmp_path: Path, where: str) -> None:
    odd = "? [a, b]\n: x\n"
    indent = {"metadata": 2, "container": 6, "securityContext": 8}[where]
    key = "".join(" " * indent + line + "\n" for line in odd.splitlines())
    text = ("apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n"
            + (key if where == "metadata" else "")
            + "spec:\n  containers:\n    - name: c\n      image: nginx:1.25\n"
            + (key if where == "container" else "")
            + "      securityContext:\n        runAsNonRoot: true\n"
            + (key if where == "securityContext" else ""))  # fmt: skip
    (tmp_path / "pod.yaml").write_text(text)
    for args in (("check", "--pss", "restricted"), ("fix", "--unsafe-fixes")):
        done = keelhaul(tmp_path, *args, "pod.yaml")
        assert done.returncode in (0, 1, 2), done.stderr


@pytest.mark.parametrize("expires", ["2024-02-30", "2024-13-01"])
def test_ignore_file_impossible_date(tmp_path: Path, expires: str) -> None:
    path = tmp_path / "ignore.yaml"
    path.write_text(f"ignore:\n  - id: X\n    reason: r\n    expires: {expires}\n")
    with pytest.raises(ConfigError, match=r"ignore\.yaml"):
        read_ignore_file(path)
    (tmp_path / "root").mkdir()
    done = keelhaul(tmp_path, "vulns", "--ignore-file", "ignore.yaml", "root")
    assert "ignore.yaml" in one_line_error(done)


def test_ignore_file_timestamp_counts_as_its_day(tmp_path: Path) -> None:
    path = tmp_path / "ignore.yaml"
    path.write_text("ignore:\n  - id: X\n    reason: r\n    expires: 2024-01-01T10:00:00Z\n")
    assert read_ignore_file(path)[0].expires == date(2024, 1, 1)


NESTED = "[" * DEEP + "]" * DEEP
#: file name -> (its text, the command that reads it)
DEEP_FILES: dict[str, tuple[str, tuple[str, ...]]] = {
    ".keelhaul.toml": (f"x = {NESTED}\n", ("check", "Dockerfile")),
    "pyproject.toml": (f"[tool.keelhaul]\nx = {NESTED}\n", ("check", "Dockerfile")),
    ".hadolint.yaml": (f"ignored: {NESTED}\n", ("check", "Dockerfile")),
    "baseline.json": (NESTED, ("check", "--no-config", "--baseline", "baseline.json",
                               "Dockerfile")),
    "ignore.yaml": (f"ignore: {NESTED}\n", ("vulns", "--ignore-file", "ignore.yaml", "root")),
    "compose.yaml": (f"services:\n  web:\n    image: nginx:1\n    command: {NESTED}\n",
                     ("check", "--no-config", "compose.yaml")),
    "pod.json": ('{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},"spec":{"containers":'
                 f'[{{"name":"c","image":"nginx:1","args":{NESTED}}}]}}}}',
                 ("check", "--no-config", "pod.json")),
    "Dockerfile.json-form": (f'FROM alpine:3.20\nCMD ["a", {NESTED}]\nUSER 1\n',
                             ("check", "--no-config", "Dockerfile.json-form")),
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(DEEP_FILES))
def test_deep_nesting_is_no_crash(tmp_path: Path, name: str) -> None:
    text, args = DEEP_FILES[name]
    (tmp_path / name).write_text(text)
    (tmp_path / "Dockerfile").write_text(CLEAN)
    (tmp_path / "root").mkdir()
    done = keelhaul(tmp_path, *args)
    assert done.returncode in (0, 1, 2), done.stderr
    if done.returncode == 2:
        one_line_error(done)


@pytest.mark.parametrize("encoding", ["utf-8:strict", "ascii:strict"])
@pytest.mark.parametrize("command", ["parse", "check", "dump"])
def test_file_names_not_utf8_on_a_strict_stdout(
    tmp_path: Path, encoding: str, command: str
) -> None:
    name = os.fsdecode(b"bad\xff.Dockerfile")
    (tmp_path / name).write_text("FROM ubuntu\n")
    done = keelhaul(tmp_path, "-v", command, name, env={"PYTHONIOENCODING": encoding})
    assert done.returncode in (0, 1), done.stderr
    shown = done.stdout + done.stderr  # the name's own bytes, or U+FFFD in their place
    assert b"bad\xff.Dockerfile" in shown or "bad\ufffd.Dockerfile".encode() in shown
