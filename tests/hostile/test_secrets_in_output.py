"""Issue 23 item 1: a secret planted in a Dockerfile or manifest appears in no output at all.

The real CLI, in a subprocess, in every report format, with ``-vv --debug``, ``--show-fixes``,
``fix --diff``, ``dump``, ``parse``, ``check --pss`` and ``image -f Dockerfile``: stdout and
stderr both pass through the one redactor (:mod:`keelhaul.cli.redacting`).
"""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import sys
import tarfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from keelhaul.report import FORMATS
from keelhaul.secrets import StreamRedactor, mask_text, redact_text

# Built from parts so that this file holds no token a scanner would report. Each value is
# what must not appear; the Dockerfile line plants it.
AWS_ID = "AKIA" + "Q3EGRIRTZ7XKWP4N"
AWS_SECRET = "wJalrXUtnFEMIK7MDENG" + "bPxRfiCYzQ9vLk3nTq2A"
GITHUB = "ghp_" + "aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3zA5"
GITLAB = "glpat-" + "Xy7Zq9Wv3Ts5Rp1Nm8Lk"
SLACK = "xoxb-" + "2738492018-9182736450-QwErTyUiOpAsDfGh"
STRIPE = "sk_" + "live_4eC39HqLyjWDarjtT1zdp7dcQx"
NPM = "npm_" + "UdRPPgdzUvZ3gpmmICiBlrDp37eCZ32JgdPI"
ARG_PASSWORD = "Hunter2" + "Sup3rS3cretPw"
MYSQL_PASSWORD = "Tr0ub4dor" + "MysqlPw"
URL_PASSWORD = "Urlp4ss" + "w0rdQzX"
GOOGLE = "AIza" + "SyD8mK3qL9pX2vB7nR4tW6yZ1cF5hJ0gE3s"
JWT = "eyJhbGciOiJIUzI1NiJ9." + "eyJzdWIiOiIxMjM0NTY3ODkwIn0.dBjftJeZ4CVPmB92K27uhbUJU1p1r"
KEY_BODY = "MIIEowIBAAKCAQEAu1SU1" + "LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun"
SENDGRID = "SG." + "aBcDeFgHiJkLmNoPqRsTuV.wXyZ0123456789aBcDeFgHiJkLmNoPqRsTuVwXyZ012"

SECRETS = {
    "aws-id": AWS_ID, "aws-secret": AWS_SECRET, "github": GITHUB, "gitlab": GITLAB,
    "slack": SLACK, "stripe": STRIPE, "npm": NPM, "arg-password": ARG_PASSWORD,
    "mysql": MYSQL_PASSWORD, "url": URL_PASSWORD, "google": GOOGLE, "jwt": JWT,
    "private-key": KEY_BODY, "sendgrid": SENDGRID,
}  # fmt: skip

DOCKERFILE = f"""\
FROM node:20
ARG AWS_ACCESS_KEY_ID={AWS_ID}
ARG AWS_SECRET_ACCESS_KEY={AWS_SECRET}
ARG GH={GITHUB}
ARG GL={GITLAB}
ENV SLACK={SLACK}
ARG STRIPE={STRIPE}
ARG NPM_TOKEN={NPM}
ARG DB_PASSWORD={ARG_PASSWORD}
RUN mysql -uroot -p{MYSQL_PASSWORD} -e 'select 1' && cp /x /y
RUN curl https://deploy:{URL_PASSWORD}@example.org/x.tgz -o /x
ENV GOOGLE_API_KEY={GOOGLE}
RUN curl -H "Authorization: Bearer {JWT}" https://x
RUN echo "-----BEGIN RSA PRIVATE KEY-----\\
{KEY_BODY}\\
{KEY_BODY}" > /k
ENV SENDGRID={SENDGRID}
"""

MANIFEST = f"""\
apiVersion: v1
kind: Pod
metadata:
  name: web
spec:
  containers:
    - name: web
      image: nginx:1.25
      env:
        - name: DB_PASSWORD
          value: {ARG_PASSWORD}
        - name: GH
          value: {GITHUB}
        - {{name: API_TOKEN, value: "{MYSQL_PASSWORD}"}}
"""


def run(cwd: Path, *args: str) -> tuple[str, str]:
    done = subprocess.run(
        [sys.executable, "-m", "keelhaul", *args],
        cwd=cwd, capture_output=True, text=True, encoding="utf-8", errors="replace",
        check=False, timeout=120,
    )  # fmt: skip
    assert done.returncode != 3, done.stderr
    return done.stdout, done.stderr


def docker_archive(folder: Path) -> Path:
    """A ``docker save`` archive whose history is the planted Dockerfile's instructions."""
    layer = io.BytesIO()
    with tarfile.open(fileobj=layer, mode="w") as tar:
        info = tarfile.TarInfo("k")
        info.size = 3
        tar.addfile(info, io.BytesIO(b"key"))
    data = layer.getvalue()
    diff_id = "sha256:" + hashlib.sha256(data).hexdigest()
    lines = [line for line in DOCKERFILE.splitlines() if not line.startswith("FROM")]
    history = [{"created_by": f"/bin/sh -c #(nop) {line}", "empty_layer": True} for line in lines]
    history.append({"created_by": f"RUN |1 NPM_TOKEN={NPM} /bin/sh -c cp /x /y # buildkit"})
    config = {"architecture": "amd64", "os": "linux",
              "config": {"Env": [f"SLACK={SLACK}", f"DB_PASSWORD={ARG_PASSWORD}"]},
              "rootfs": {"type": "layers", "diff_ids": [diff_id]}, "history": history}  # fmt: skip
    config_bytes = json.dumps(config).encode()
    config_name = hashlib.sha256(config_bytes).hexdigest() + ".json"
    manifest = [{"Config": config_name, "RepoTags": ["t/t:1"], "Layers": ["l/layer.tar"]}]
    path = folder / "image.tar"
    with tarfile.open(path, "w") as tar:
        for name, blob in [("manifest.json", json.dumps(manifest).encode()),
                           (config_name, config_bytes), ("l/layer.tar", data)]:  # fmt: skip
            info = tarfile.TarInfo(name)
            info.size = len(blob)
            tar.addfile(info, io.BytesIO(blob))
    return path


def leaks(text: str) -> list[str]:
    return [kind for kind, value in SECRETS.items() if value in text]


def test_no_secret_in_any_output(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text(DOCKERFILE)
    (tmp_path / "pod.yaml").write_text(MANIFEST)
    archive = docker_archive(tmp_path)
    runs: dict[str, tuple[str, ...]] = {
        f"check --format {fmt}": ("check", "--format", fmt, "Dockerfile", "pod.yaml")
        for fmt in FORMATS
    }
    runs |= {
        "-vv --debug check": ("-vv", "--debug", "check", "Dockerfile", "pod.yaml"),
        "check --pss": ("check", "--pss", "restricted", "pod.yaml"),
        "check --show-fixes": ("check", "--show-fixes", "Dockerfile"),
        "fix --diff": ("-v", "fix", "--diff", "--unsafe-fixes", "Dockerfile", "pod.yaml"),
        "dump": ("dump", "Dockerfile"),
        "parse": ("parse", "Dockerfile"),
        "image text": ("image", f"docker-archive:{archive}", "-f", "Dockerfile", "--no-config"),
        "image json": ("image", f"docker-archive:{archive}", "-f", "Dockerfile", "--no-config",
                       "--format", "json"),
    }  # fmt: skip
    with ThreadPoolExecutor(2) as pool:
        outputs = dict(zip(runs, pool.map(lambda a: run(tmp_path, *a), runs.values()), strict=True))
    leaked = {name: leaks(out + err) for name, (out, err) in outputs.items() if leaks(out + err)}
    assert leaked == {}
    # The reports still say what they found, and JSON stays JSON.
    assert "KH110" in outputs["check --format text"][0]
    for name in ("check --format json", "check --format sarif", "image json", "dump"):
        assert json.loads(outputs[name][0])


def test_the_planted_secrets_are_there_to_find() -> None:
    """Without redaction every planted value would be printed: the test above means something."""
    assert set(leaks(DOCKERFILE + MANIFEST)) == set(SECRETS)


def test_fix_stdin_writes_the_file_unchanged_by_redaction(tmp_path: Path) -> None:
    """``fix -`` prints data, not a report: the fixed file keeps its (secret) values."""
    done = subprocess.run(
        [sys.executable, "-m", "keelhaul", "fix", "-"], cwd=tmp_path, input=DOCKERFILE,
        capture_output=True, text=True, check=False, timeout=60,
    )  # fmt: skip
    assert NPM in done.stdout
    assert NPM not in done.stderr


@pytest.mark.parametrize("kind", sorted(SECRETS))
def test_redactor_hides_each_kind(kind: str) -> None:
    assert SECRETS[kind] not in redact_text(DOCKERFILE + MANIFEST, yaml=True)
    assert SECRETS[kind] not in mask_text(DOCKERFILE + MANIFEST, yaml=True)


def test_masking_keeps_columns() -> None:
    masked = mask_text(DOCKERFILE)
    assert [len(line) for line in masked.splitlines()] == [
        len(line) for line in DOCKERFILE.splitlines()
    ]


def test_stream_redactor_hides_a_key_across_pieces() -> None:
    redact = StreamRedactor()
    pieces = ["+RUN echo \"-----BEGIN RSA PRIVATE KEY-----\\\n", f"+{KEY_BODY}\\\n",
              f"+{KEY_BODY}\" > /k\n", "+USER 1000\n"]  # fmt: skip
    out = "".join(redact(p) for p in pieces)
    assert KEY_BODY not in out
    assert out.endswith("+USER 1000\n")


def test_redaction_is_idempotent_and_leaves_plain_text() -> None:
    once = redact_text(DOCKERFILE)
    assert redact_text(once) == once
    plain = "FROM alpine:3.20\nENV APP_HOME=/srv/app PATH=/usr/bin\nRUN make -j4 install\n"
    assert redact_text(plain) == plain
    assert redact_text("`ENV key value` instead of `ENV key=value`.") == (
        "`ENV key value` instead of `ENV key=value`."
    )


def test_a_finding_headline_is_not_taken_for_a_secret() -> None:
    """`KH430 secret-in-env: container web...` reads like a YAML key named secret-*; the
    output redactor must leave keelhaul's own headline whole."""
    from keelhaul.secrets import redact_text

    line = (
        "deploy.yaml:23:22: error KH430 secret-in-env: container web of Deployment/web: "
        "environment variable DATABASE_PASSWORD holds a secret in plain text"
    )
    assert redact_text(line, yaml=True) == line
    assert "s3cr3t" not in redact_text("  secret-key: s3cr3t-Passw0rd-2024", yaml=True)
