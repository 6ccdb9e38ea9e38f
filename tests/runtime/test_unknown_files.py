"""Files keelhaul does not understand are said so, never silently dropped; Helm chart
templates are never read as plain YAML."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.keelhaul_cli import run

CHART = "apiVersion: v2\nname: web\nversion: 0.1.0\n"
TEMPLATE = (
    "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{ .Release.Name }}\nspec:\n"
    "  template:\n    spec:\n      containers:\n        - name: a\n"
    "          image: {{ .Values.image }}\n"
)


def without_tools(*args: str, cwd: Path, path: str = "") -> subprocess.CompletedProcess[str]:
    """``keelhaul ARGS`` with only ``path`` on PATH (no helm, kubectl or kustomize)."""
    return subprocess.run(
        [sys.executable, "-m", "keelhaul", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, "NO_COLOR": "1", "PATH": path or str(cwd / "no-tools")},
        check=False,
    )


def chart(tmp_path: Path) -> Path:
    (tmp_path / "web" / "templates").mkdir(parents=True)
    (tmp_path / "web" / "Chart.yaml").write_text(CHART)
    (tmp_path / "web" / "templates" / "deploy.yaml").write_text(TEMPLATE)
    return tmp_path / "web"


def test_a_named_file_keelhaul_does_not_understand_exits_2(tmp_path: Path) -> None:
    (tmp_path / "values.yaml").write_text("replicas: 2\n")
    done = run("check", "values.yaml", cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.strip() == (
        "keelhaul: notice: values.yaml: not a Dockerfile, a Kubernetes workload, a Compose "
        "file or a script with `docker run`; not checked"
    )
    quiet = run("check", "--quiet-unknown", "values.yaml", cwd=tmp_path)
    assert quiet.returncode == 0
    assert quiet.stderr == ""
    assert run("fix", "values.yaml", cwd=tmp_path).returncode == 2
    assert run("fix", "--quiet-unknown", "values.yaml", cwd=tmp_path).returncode == 0


def test_a_walk_skips_unknown_files_quietly(tmp_path: Path) -> None:
    (tmp_path / "values.yaml").write_text("replicas: 2\n")
    (tmp_path / "Dockerfile").write_text('FROM alpine:3.20\nUSER 10001\nCMD ["true"]\n')
    done = run("check", ".", cwd=tmp_path)
    assert "values.yaml" not in done.stderr
    assert done.returncode in (0, 1)


def test_chart_templates_are_not_read_as_yaml(tmp_path: Path) -> None:
    chart(tmp_path)
    walked = without_tools("check", "--format", "json", ".", cwd=tmp_path)
    assert "ordereddict" not in walked.stdout
    assert "Deployment/" not in walked.stdout
    assert walked.returncode == 0
    assert walked.stderr.strip() == (
        "keelhaul: notice: web: a Helm chart: its templates are not YAML until rendered, so "
        "they were not checked; run `helm template CHART [-f values.yaml] | keelhaul check -` "
        "(helm is not installed: https://helm.sh/docs/intro/install/)"
    )
    named = without_tools("check", "web/templates/deploy.yaml", cwd=tmp_path)
    assert named.returncode == 2
    assert "web/templates/deploy.yaml: a Helm chart template" in named.stderr


@pytest.mark.skipif(shutil.which("helm") is None, reason="helm is not on PATH")
def test_a_named_template_is_checked_as_its_chart_renders_it(tmp_path: Path) -> None:
    chart(tmp_path)
    (tmp_path / "web" / "values.yaml").write_text("image: nginx:1.27\n")
    named = run("check", "--format", "concise", "web/templates/deploy.yaml", cwd=tmp_path)
    assert named.returncode == 1, named.stderr
    assert "web/templates/deploy.yaml:9:" in named.stdout  # the container, in the template
    assert "ordereddict" not in named.stdout


def test_rendered_output_is_checked_from_stdin(tmp_path: Path) -> None:
    rendered = TEMPLATE.replace("{{ .Release.Name }}", "web").replace(
        "{{ .Values.image }}", "nginx:1.27"
    )
    done = subprocess.run(
        [sys.executable, "-m", "keelhaul", "check", "--format", "concise", "-"],
        input=rendered,
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
    )
    assert "KH405" in done.stdout


OVERLAY = "resources:\n  - deploy.yaml\nnamePrefix: prod-\n"
DEPLOYMENT = (
    "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  template:\n"
    "    spec:\n      containers:\n        - name: web\n          image: nginx:1.27\n"
)


def overlay(tmp_path: Path) -> None:
    (tmp_path / "prod").mkdir()
    (tmp_path / "prod" / "kustomization.yaml").write_text(OVERLAY)
    (tmp_path / "prod" / "deploy.yaml").write_text(DEPLOYMENT)


def test_a_kustomize_overlay_says_how_to_check_what_it_deploys(tmp_path: Path) -> None:
    overlay(tmp_path)
    done = without_tools("check", "--format", "concise", ".", cwd=tmp_path)
    assert done.returncode == 1  # its resources are checked as written
    assert "prod/deploy.yaml:9:11: warning KH409" in done.stdout
    assert done.stderr.strip() == (
        "keelhaul: notice: prod/kustomization.yaml: a kustomize overlay: its resource files are "
        "checked as written, without its patches; to check what it deploys run "
        "`kubectl kustomize prod | keelhaul check -` (kubectl is not installed: "
        "https://kubectl.docs.kubernetes.io/installation/)"
    )
    named = without_tools("check", "prod/kustomization.yaml", cwd=tmp_path)
    assert named.returncode == 2
    assert "prod/kustomization.yaml: a kustomize overlay" in named.stderr


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed")
def test_the_rendered_overlay_is_checked_from_stdin(tmp_path: Path) -> None:
    """With the real kubectl: the line the notice gives works, and the rendered names count."""
    overlay(tmp_path)
    kubectl = shutil.which("kubectl")
    assert kubectl is not None
    done = without_tools("check", "--format", "concise", ".", cwd=tmp_path,
                         path=os.path.dirname(kubectl))  # fmt: skip
    assert "(kubectl is not installed" not in done.stderr
    rendered = subprocess.run(
        [kubectl, "kustomize", "prod"], capture_output=True, text=True, cwd=tmp_path, check=True
    ).stdout
    checked = subprocess.run(
        [sys.executable, "-m", "keelhaul", "check", "--format", "concise", "-"],
        input=rendered, capture_output=True, text=True, cwd=tmp_path, check=False,
    )  # fmt: skip
    assert checked.returncode == 1
    assert "container web of Deployment/prod-web is not hardened" in checked.stdout
