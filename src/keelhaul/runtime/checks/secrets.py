"""Secrets in plain configuration, and credentials handed to every container by default."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from keelhaul.findings import Category, Severity
from keelhaul.rule import Kind, Rule, register
from keelhaul.runtime.checks._common import container_label, is_kubernetes, spell
from keelhaul.runtime.model import ContainerRun, StoredValue
from keelhaul.runtime.rules import VALUE_CHECKS, RuntimeHit
from keelhaul.secrets import assignment_secret, secret_spans

#: Template placeholders (Helm, Jinja, envsubst) that will be replaced before use, also when
#: written as literal text (Compose `$${VAR}`, `${VAR}` in single quotes on a `docker run`
#: line): whoever replaces them, the value is not written here.
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


def _nothing(run: ContainerRun, settings: Mapping[str, object]) -> Iterator[RuntimeHit]:
    """KH432 reads no container: its check reads the stored values (:func:`_stored`)."""
    return iter(())


def _label(value: StoredValue) -> tuple[str, int] | None:
    """What the value holds (``a GitHub token``) and the line of the value it is on (1 for a
    one-line value), or None when no secret; the value is never part of the answer."""
    text = value.value
    if any(mark in text for mark in _PLACEHOLDER_MARKS) and "\n" not in text.strip():
        return None
    if "\n" not in text.strip():
        label = assignment_secret(value.key, text.strip())
        if label is not None:
            return label, 1
    spans = secret_spans(text, yaml=True)  # a file's content: config files, JSON, .properties
    if not spans:
        return None
    return spans[0].label, text.count("\n", 0, spans[0].start) + 1


_ADVICE = {
    "configmap": (
        "in plain text in a ConfigMap; keep it in a Secret that stays out of version control "
        "(Sealed Secrets, External Secrets, SOPS) and reference it with secretKeyRef"
    ),
    "secret": (
        "committed with the manifest (base64 is no encryption); keep the value out of version "
        "control (Sealed Secrets, External Secrets, SOPS)"
    ),
    "env-file": (
        "in plain text; keep the env file out of version control (.gitignore) or use Compose "
        "secrets"
    ),
    "dotenv": (
        "in plain text, and the Compose file uses it here; keep .env out of version control "
        "(.gitignore)"
    ),
}


def _stored(value: StoredValue, settings: Mapping[str, object]) -> Iterator[RuntimeHit]:
    found = _label(value)
    if found is None:
        return
    label, line = found
    where = f" ({value.origin})" if value.origin else ""
    part = f" (line {line} of its value)" if line > 1 else ""
    yield RuntimeHit(
        value.where,
        f"{value.holder}{where}: {value.key}{part} holds {label} {_ADVICE[value.kind]}",
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
            "secrets:, docker run --env-file kept out of version control). Any value under a "
            "password-like name counts, random ones too (`Xk9#mQ2$vL7pR4wZ`: a `$` inside a run "
            "of letters and digits is a character, not a variable; on a `docker run` line "
            "nothing in single quotes is one). Not reported: references "
            "(${VAR}, $VAR, $(VAR), {{ .Values.x }}, secretKeyRef), paths (/run/secrets/db), "
            "empty values, placeholders (changeme, <password>, xxx: one character repeated) "
            "and names that only look like secrets (PASSWORD_FILE); the detection is "
            "keelhaul's one secret detector."
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

register(
    Rule(
        kind=Kind.RUNTIME,
        example_format="kubernetes",
        code="KH432",
        name="secret-in-manifest",
        severity=Severity.ERROR,
        category=Category.SECURITY,
        summary="A ConfigMap, a committed Secret or a Compose env file holds a secret",
        explanation=(
            "A secret written into a file that is committed is readable by everyone who can "
            "read the repository, and stays in its history. Checked: the entries of ConfigMaps "
            "(readable by anyone who may read the namespace's configuration), of Secret "
            "manifests (`data` decoded from base64, which is an encoding, not encryption, and "
            "`stringData`), the lines of a Compose service's `env_file`s and of the `.env` file "
            "beside a Compose file (an env file git ignores is not reported). The detection is "
            "keelhaul's one secret detector: known token formats anywhere, and secret-like "
            "names (`password`, `api_key`...) with a value that is not empty, a reference "
            "(`${VAR}`, `$(cmd)`, `{{ }}`), a path (`/run/secrets/...`) or a placeholder "
            "(`changeme`, `<...>`, `xxx`), passphrases and random passwords holding `$` or `#` "
            "included. The message names the key and what kind of "
            "secret it is, never the value. Keep the value out of version control: Sealed "
            "Secrets, External Secrets or SOPS for Kubernetes, an ignored env file or Compose "
            "secrets for Compose."
        ),
        bad="""\
apiVersion: v1
kind: ConfigMap
metadata:
  name: shop-config
data:
  DB_HOST: db.shop.svc
  DB_PASSWORD: WinterHarbourLantern42
""",
        good="""\
apiVersion: v1
kind: ConfigMap
metadata:
  name: shop-config
data:
  DB_HOST: db.shop.svc
  DB_PASSWORD_FILE: /run/secrets/db-password
""",
        check=_nothing,
    )
)
VALUE_CHECKS["KH432"] = _stored
