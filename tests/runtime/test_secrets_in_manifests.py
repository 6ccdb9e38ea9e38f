"""KH432: secrets in ConfigMaps, committed Secrets, Compose env files and ``.env``, through the
one secret detector; the values never appear in any output."""

from __future__ import annotations

import base64
import json
import subprocess
from pathlib import Path

import pytest

from tests.keelhaul_cli import run

TOKEN = "ghp_" + "x1Y2z3" * 6  # a GitHub token's shape, not a real one
PASSPHRASE = "MyStrongLoginPassword"
DB_PASSWORD = "Tr0ub4dor-and-3-horses"
ENCODED = base64.b64encode(DB_PASSWORD.encode()).decode()

MANIFESTS = f"""\
apiVersion: v1
kind: ConfigMap
metadata:
  name: shop-config
data:
  DB_HOST: db.shop.svc
  GITHUB_TOKEN: {TOKEN}
  application.properties: |
    server.port=8080
    spring.datasource.password={PASSPHRASE}
---
apiVersion: v1
kind: Secret
metadata:
  name: shop-db
type: Opaque
data:
  username: {base64.b64encode(b"shop").decode()}
  password: {ENCODED}
stringData:
  PASSWORD: {PASSPHRASE}
---
apiVersion: v1
kind: Secret
metadata:
  name: from-the-cluster
stringData:
  password: "{{{{ .Values.db.password }}}}"
"""

COMPOSE = """\
services:
  app:
    image: registry.example/shop/app:1.4.2
    env_file:
      - app.env
    environment:
      PASSWORD: MyStrongLoginPassword
      DATABASE_URL: postgres://shop:${DB_PASSWORD}@db/shop
"""
APP_ENV = f"# the app's settings\nLOG_LEVEL=debug\nexport STRIPE_KEY={TOKEN}\nEMPTY=\n"
DOTENV = f'DB_PASSWORD="{DB_PASSWORD}"\nTAG=1.4.2\n'
VALUES = (TOKEN, PASSPHRASE, DB_PASSWORD, ENCODED)


def check(folder: Path, name: str, fmt: str = "json") -> subprocess.CompletedProcess[str]:
    return run("check", "--no-config", "--format", fmt, name, cwd=folder)


def kh432(folder: Path, name: str) -> list[tuple[int, str]]:
    done = check(folder, name)
    assert done.returncode == 1, done.stderr
    found = json.loads(done.stdout)["findings"]
    return [(f["line"], f["message"]) for f in found if f["code"] == "KH432"]


def test_configmap_and_secret_entries(tmp_path: Path) -> None:
    (tmp_path / "shop.yaml").write_text(MANIFESTS)
    found = kh432(tmp_path, "shop.yaml")
    assert [line for line, _ in found] == [7, 8, 19, 21]
    messages = dict(found)
    assert messages[7].startswith("ConfigMap/shop-config: GITHUB_TOKEN holds a GitHub token")
    assert "application.properties (line 2 of its value) holds a secret" in messages[8]
    assert messages[19].startswith("Secret/shop-db: password holds a secret committed")
    assert "base64 is no encryption" in messages[19]
    assert messages[21].startswith("Secret/shop-db: PASSWORD holds a secret")  # a passphrase


def test_a_configmap_only_file_is_checked(tmp_path: Path) -> None:
    (tmp_path / "config.yaml").write_text(MANIFESTS.split("---")[0])
    assert [line for line, _ in kh432(tmp_path, "config.yaml")] == [7, 8]


def test_compose_env_files_and_dotenv(tmp_path: Path) -> None:
    (tmp_path / "compose.yaml").write_text(COMPOSE)
    (tmp_path / "app.env").write_text(APP_ENV)
    (tmp_path / ".env").write_text(DOTENV)
    found = kh432(tmp_path, "compose.yaml")
    assert found == [
        (
            5,
            "env_file app.env (app.env:3): STRIPE_KEY holds a GitHub token in plain text; keep "
            "the env file out of version control (.gitignore) or use Compose secrets",
        ),
        (
            8,
            ".env (.env:1): DB_PASSWORD holds a secret in plain text, and the Compose file uses "
            "it here; keep .env out of version control (.gitignore)",
        ),
    ]
    done = check(tmp_path, "compose.yaml")
    env = [f for f in json.loads(done.stdout)["findings"] if f["code"] == "KH430"]
    assert [f["line"] for f in env] == [7]  # PASSWORD=MyStrongLoginPassword counts


def test_env_files_git_ignores_are_not_reported(tmp_path: Path) -> None:
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    (tmp_path / ".gitignore").write_text(".env\n*.env\n")
    (tmp_path / "compose.yaml").write_text(COMPOSE)
    (tmp_path / "app.env").write_text(APP_ENV)
    (tmp_path / ".env").write_text(DOTENV)
    done = check(tmp_path, "compose.yaml")
    assert not [f for f in json.loads(done.stdout)["findings"] if f["code"] == "KH432"]


@pytest.mark.parametrize("fmt", ["text", "json", "sarif", "gitlab", "checkstyle", "junit"])
def test_no_output_shows_a_value(tmp_path: Path, fmt: str) -> None:
    (tmp_path / "shop.yaml").write_text(MANIFESTS)
    (tmp_path / "compose.yaml").write_text(COMPOSE)
    (tmp_path / "app.env").write_text(APP_ENV)
    (tmp_path / ".env").write_text(DOTENV)
    done = run("check", "--no-config", "--format", fmt, "shop.yaml", "compose.yaml", cwd=tmp_path)
    assert done.returncode == 1, done.stderr
    assert "KH432" in done.stdout
    for value in VALUES:
        assert value not in done.stdout
        assert value not in done.stderr


#: A random password holding `$` and `#` (no variable: the `$` is inside letters and digits).
RANDOM = "Xk9#mQ2$vL7pR4wZ"

RANDOM_PLACES = {
    "compose.yaml": (
        "services:\n  db:\n    image: postgres:16.4\n    environment:\n"
        f"      DB_PASSWORD: {RANDOM}\n      REPLICA_PASSWORD: ${{DB_PASSWORD}}\n"
    ),
    "pod.yaml": (
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: db\nspec:\n  containers:\n"
        "    - name: db\n      image: postgres:16.4\n      env:\n"
        f"        - name: DB_PASSWORD\n          value: {RANDOM}\n"
        "        - name: REPLICA_PASSWORD\n          value: $(DB_PASSWORD)\n"
        "        - name: ADMIN_PASSWORD\n          valueFrom:\n"
        "            secretKeyRef: {name: db, key: admin}\n"
    ),
    "secret.yaml": (
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\nstringData:\n"
        f"  DB_PASSWORD: {RANDOM}\n  REPLICA_PASSWORD: xxx\n"
        "  ADMIN_PASSWORD_FILE: /run/secrets/admin\n  EMPTY_PASSWORD: ''\n"
    ),
    # in single quotes the shell expands nothing: the password is the one written
    "run.sh": (
        "#!/bin/sh\ndocker run -d --name db \\\n"
        f"  -e DB_PASSWORD='{RANDOM}' \\\n"
        '  -e REPLICA_PASSWORD="$DB_PASSWORD" -e ADMIN_PASSWORD=$(cat admin.pw) \\\n'
        "  -e 'API_TOKEN=${API_TOKEN}' postgres:16.4\n"
    ),
}


@pytest.mark.parametrize("name", sorted(RANDOM_PLACES))
def test_a_random_password_under_a_password_key_is_a_secret(tmp_path: Path, name: str) -> None:
    (tmp_path / name).write_text(RANDOM_PLACES[name])
    done = check(tmp_path, name)
    assert done.returncode == 1, done.stderr
    found = json.loads(done.stdout)["findings"]
    secrets = [(f["code"], f["line"]) for f in found if f["code"] in ("KH430", "KH432")]
    line = next(i for i, t in enumerate(RANDOM_PLACES[name].splitlines(), 1) if RANDOM in t)
    assert [at for _, at in secrets] == [line], found  # the references and placeholders: none
    assert RANDOM not in done.stdout


def test_a_random_password_in_dotenv_is_a_secret(tmp_path: Path) -> None:
    (tmp_path / "compose.yaml").write_text(
        "services:\n  db:\n    image: postgres:16.4\n    environment:\n"
        "      DB_PASSWORD: ${DB_PASSWORD}\n      REPLICA_PASSWORD: ${REPLICA_PASSWORD}\n"
    )
    (tmp_path / ".env").write_text(f"DB_PASSWORD={RANDOM}\nREPLICA_PASSWORD=changeme\n")
    assert [line for line, _ in kh432(tmp_path, "compose.yaml")] == [5]
