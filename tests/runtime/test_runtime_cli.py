"""``keelhaul check`` and ``keelhaul fix`` on runtime files, end to end.

These run once the CLI is wired to :mod:`keelhaul.runtime.integration` (the ``pss`` field of
:class:`keelhaul.checking.Checker` is the sign); until then they skip.
"""

from __future__ import annotations

import os
from dataclasses import fields
from pathlib import Path

import pytest

from keelhaul.checking import Checker
from tests.keelhaul_cli import run

pytestmark = pytest.mark.skipif(
    "pss" not in {f.name for f in fields(Checker)},
    reason="keelhaul check is not wired to the runtime files yet",
)

COMPOSE = (
    "services:\n  web:\n    image: nginx:1.25\n    privileged: true\n    ports:\n      - '80:80'\n"
)
POD = (
    "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  hostNetwork: true\n"
    "  containers:\n  - name: a\n    image: a:1\n"
)


def test_check_walks_and_tells_files_by_content(tmp_path: Path) -> None:
    (tmp_path / "stack.yml").write_text(COMPOSE)
    (tmp_path / "k8s").mkdir()
    (tmp_path / "k8s" / "pod.yaml").write_text(POD)
    (tmp_path / "start.sh").write_text("#!/bin/sh\ndocker run --cap-add SYS_ADMIN alpine:3\n")
    (tmp_path / "notes.yaml").write_text("services:\n  - a\n")
    done = run("check", ".", "--format", "concise", cwd=tmp_path)
    assert done.returncode == 1, done.stderr
    paths = {line.split(":", 1)[0] for line in done.stdout.splitlines() if ":" in line}
    found = {os.path.normpath(p) for p in paths if not p.startswith(("Found", "failing"))}
    assert found == {"stack.yml", os.path.join("k8s", "pod.yaml"), "start.sh"}


def test_pss_and_stdin(tmp_path: Path) -> None:
    done = run("check", "-", "--pss", "baseline", "--format", "concise", cwd=tmp_path, stdin=POD)
    assert done.returncode in (0, 1), done.stderr
    assert "KH445" in done.stdout


def test_malformed_yaml_exits_2(tmp_path: Path) -> None:
    (tmp_path / "compose.yaml").write_text("services:\n  web:\n    image: [a\n")
    done = run("check", "compose.yaml", cwd=tmp_path)
    assert done.returncode == 2
    assert "compose.yaml:" in done.stderr
    fixed = run("fix", "--unsafe-fixes", "compose.yaml", cwd=tmp_path)
    assert fixed.returncode == 2
    assert (tmp_path / "compose.yaml").read_text() == "services:\n  web:\n    image: [a\n"


def test_fix_is_unsafe_only_and_idempotent(tmp_path: Path) -> None:
    target = tmp_path / "compose.yaml"
    plain = COMPOSE.replace("    privileged: true\n", "")
    target.write_text(plain)
    assert run("fix", "compose.yaml", cwd=tmp_path).returncode == 0
    assert target.read_text() == plain  # every runtime fix is unsafe
    diff = run("fix", "--unsafe-fixes", "--diff", "compose.yaml", cwd=tmp_path)
    assert diff.returncode == 1
    assert "+    cap_drop:" in diff.stdout
    assert run("fix", "--unsafe-fixes", "compose.yaml", cwd=tmp_path).returncode == 0
    fixed = target.read_text()
    assert "no-new-privileges:true" in fixed
    assert "NET_BIND_SERVICE" in fixed
    check = run("fix", "--unsafe-fixes", "--check", "compose.yaml", cwd=tmp_path)
    assert check.returncode == 0
    assert target.read_text() == fixed


def test_fix_adds_only_what_check_reports(tmp_path: Path) -> None:
    """A privileged service holds every capability whatever cap_drop says: check does not
    report KH400 for it, so fix does not add cap_drop either."""
    target = tmp_path / "compose.yaml"
    target.write_text(COMPOSE)
    reported = run("check", "compose.yaml", "--format", "concise", cwd=tmp_path).stdout
    assert "KH400" not in reported
    assert "KH405" in reported
    assert run("fix", "--unsafe-fixes", "compose.yaml", cwd=tmp_path).returncode == 0
    fixed = target.read_text()
    assert "read_only: true" in fixed
    assert "cap_drop" not in fixed


def test_suppression_comment(tmp_path: Path) -> None:
    (tmp_path / "compose.yaml").write_text(
        "services:\n  # keelhaul: ignore=KH415 -- a test rig\n  web:\n    image: nginx:1.25\n"
        "    privileged: true\n"
    )
    done = run("check", "compose.yaml", "--format", "concise", cwd=tmp_path)
    assert "KH415" not in done.stdout


def test_a_readme_quoting_manifests_is_not_read_as_one(tmp_path: Path) -> None:
    """A README's YAML code fences (a ConfigMap, a Deployment) are examples, not its own
    manifests: only its ``docker run`` lines are checked (argocd-example-apps' plugins/nix
    README stopped a walk with "invalid YAML")."""
    fence = "```"
    (tmp_path / "README.md").write_text(
        f"# app\n\n{fence}yaml\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n"
        f"data:\n  a: |\n    b\n{fence}\n\n{fence}yaml\napiVersion: apps/v1\nkind: Deployment\n"
        f"spec:\n  template:\n    spec:\n      containers:\n        - name: a\n          image: a:1\n"
        f"{fence}\n\n{fence}sh\ndocker run --privileged alpine:3\n{fence}\n"
    )
    done = run("check", ".", "--format", "concise", cwd=tmp_path)
    assert done.returncode == 1, done.stderr
    assert "invalid YAML" not in done.stderr
    codes = {line.split()[2] for line in done.stdout.splitlines() if line.startswith("README.md:")}
    assert "KH415" in codes
    assert all(
        int(line.split(":")[1]) >= 20
        for line in done.stdout.splitlines()
        if line.startswith("README.md:")
    )
