"""Secrets in plain configuration, and credentials handed to every container by default."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from keelhaul.findings import Category, Severity
from keelhaul.rule import Kind, Rule, register
from keelhaul.runtime.checks._common import container_label, is_kubernetes, spell
from keelhaul.runtime.model import ContainerRun
from keelhaul.runtime.rules import RuntimeHit
from keelhaul.secrets import assignment_secret

#: Template placeholders (Helm, Jinja, envsubst) that will be replaced before use.
_PLACEHOLDER_MARKS = ("{{", "${", "$(")


def _secret_env(run: ContainerRun, settings: Mapping[str, object]) -> Iterator[RuntimeHit]:
    for var in run.env:
        if var.value is None or var.from_secret:
            continue
        if any(mark in var.value for mark in _PLACEHOLDER_MARKS):
            continue
        label = assignment_secret(var.name, var.value)
        if label is None:
            continue
        how = spell(
            run,
            "valueFrom.secretKeyRef",
            "Compose secrets (or an env_file kept out of version control)",
            "--env-file or a secret mount",
        )
        yield RuntimeHit(
            var.where,
            f"{container_label(run)}: environment variable {var.name} holds {label} in plain "
            f"text; use {how}",
        )


def _token(run: ContainerRun, settings: Mapping[str, object]) -> Iterator[RuntimeHit]:
    if not is_kubernetes(run):
        return
    token = run.automount_service_account_token
    if token is not None and not token.value:
        return
    pod = run.extra.get("pod")
    where = token.where if token is not None else getattr(pod, "where", run.where)
    yield RuntimeHit(
        where,
        f"{run.workload} mounts its service account token; set automountServiceAccountToken: "
        "false unless it calls the Kubernetes API",
    )


register(
    Rule(
        kind=Kind.RUNTIME,
        example_format="kubernetes",
        code="KH430",
        name="secret-in-env",
        severity=Severity.ERROR,
        category=Category.SECURITY,
        summary="An environment variable holds a secret in plain text",
        explanation=(
            "A password or token written as an env value lives in the repository, in every "
            "copy of the manifest, in `kubectl get -o yaml`, `docker inspect` and the "
            "process's /proc/<pid>/environ, readable by anyone who can read any of those. Keep "
            "it in a Secret and reference it (Kubernetes valueFrom.secretKeyRef, Compose "
            "secrets:, docker run --env-file kept out of version control). Values that are "
            "references (${VAR}, {{ .Values.x }}) and names that only look like secrets "
            "(PASSWORD_FILE) are not reported; the detection is keelhaul's one secret detector."
        ),
        bad="""\
apiVersion: v1
kind: Pod
metadata:
  name: web
spec:
  containers:
    - name: web
      image: example/web:1.2
      env:
        - name: DB_PASSWORD
          value: s3cr3t-Pa55w0rd
""",
        good="""\
apiVersion: v1
kind: Pod
metadata:
  name: web
spec:
  containers:
    - name: web
      image: example/web:1.2
      env:
        - name: DB_PASSWORD
          valueFrom:
            secretKeyRef: {name: db, key: password}
""",
        check=_secret_env,
        related={"checkov": ("CKV_K8S_35",), "trivy": ("KSV109",)},
    )
)

register(
    Rule(
        kind=Kind.RUNTIME,
        example_format="kubernetes",
        code="KH431",
        name="service-account-token-mounted",
        severity=Severity.INFO,
        category=Category.SECURITY,
        summary="The pod mounts its service account token though it may not need it",
        explanation=(
            "Unless automountServiceAccountToken is false, every container gets a token for the "
            "pod's service account at /var/run/secrets/kubernetes.io/serviceaccount: an "
            "attacker in the container can call the Kubernetes API with it, with whatever RBAC "
            "grants that account. Most applications never call the API; set "
            "automountServiceAccountToken: false on the pod (or the ServiceAccount). "
            "Kubernetes only."
        ),
        bad="""\
apiVersion: v1
kind: Pod
metadata:
  name: web
spec:
  containers:
    - name: web
      image: example/web:1.2
""",
        good="""\
apiVersion: v1
kind: Pod
metadata:
  name: web
spec:
  automountServiceAccountToken: false
  containers:
    - name: web
      image: example/web:1.2
""",
        check=_token,
        related={
            "checkov": ("CKV_K8S_38",),
            "polaris": ("automountServiceAccountToken",),
            "trivy": ("KSV036",),
        },
    )
)
