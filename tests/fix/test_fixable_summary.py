"""The check summary's "fixable" line counts the findings ``keelhaul fix`` would really change,
from the fix loop's own planning: a finding whose rule has an unsafe fix that does not apply to
it (a hardened container's KH409 whose missing items no fix sets, KH182 without the manifest
in the context) is not counted."""

from __future__ import annotations

import re
from pathlib import Path

from tests.keelhaul_cli import run

#: db: only read-only root, user and limits are missing, and the image table says postgres
#: can do neither read-only nor another user: no fix applies. web (nginx): capabilities,
#: read-only with nginx's paths, no-new-privileges apply.
COMPOSE = """\
services:
  db:
    image: postgres:16.4
    cap_drop: [ALL]
    cap_add: [CHOWN, DAC_OVERRIDE, FOWNER, SETGID, SETUID]
    security_opt: [no-new-privileges:true]
  web:
    image: nginx:1.27
"""
POD = """\
apiVersion: v1
kind: Pod
metadata:
  name: shop
spec:
  containers:
    - name: db
      image: postgres:16.4
      securityContext:
        allowPrivilegeEscalation: false
        capabilities:
          drop: [ALL]
          add: [CHOWN, DAC_OVERRIDE, FOWNER, SETGID, SETUID]
        seccompProfile:
          type: RuntimeDefault
    - name: web
      image: nginx:1.27
"""
#: KH109 (a user) applies; KH120 and KH182 have unsafe fixes too, which do not apply here
#: (no requirements.txt in the context to copy first).
DOCKERFILE = """\
FROM python:3.12
WORKDIR /app
COPY . .
RUN pip install --no-cache-dir -r requirements.txt
CMD ["python", "app.py"]
"""
_FIXABLE = re.compile(r"fixable: up to (\d+) with `keelhaul fix`(?: \((\d+) more with)?")


def _fixable(tmp_path: Path, *names: str) -> tuple[int, int]:
    done = run("check", "--no-config", *names, cwd=tmp_path)
    assert done.returncode in (0, 1), done.stderr
    match = _FIXABLE.search(done.stdout)
    assert match is not None, done.stdout
    return int(match.group(1)), int(match.group(2) or 0)


def test_only_findings_an_unsafe_fix_changes_are_counted(tmp_path: Path) -> None:
    (tmp_path / "compose.yaml").write_text(COMPOSE)
    (tmp_path / "pod.yaml").write_text(POD)
    (tmp_path / "Dockerfile").write_text(DOCKERFILE)
    # each file: two findings whose rule has an unsafe fix (three in the Dockerfile), one fixed
    assert _fixable(tmp_path, "compose.yaml") == (0, 1)
    assert _fixable(tmp_path, "pod.yaml") == (0, 1)
    assert _fixable(tmp_path, "Dockerfile") == (0, 1)
    assert _fixable(tmp_path, "compose.yaml", "pod.yaml", "Dockerfile") == (0, 3)
    # and the one counted is the one fixed: web's settings, db's lines as they were
    done = run("fix", "--no-config", "--unsafe-fixes", "compose.yaml", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    fixed = (tmp_path / "compose.yaml").read_text()
    head = COMPOSE.split("  web:")[0]
    assert fixed.startswith(head + "  web:")
    assert fixed != COMPOSE


def test_nothing_counted_when_no_fix_applies(tmp_path: Path) -> None:
    (tmp_path / "compose.yaml").write_text(COMPOSE.split("  web:")[0])
    done = run("check", "--no-config", "compose.yaml", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "KH409" in done.stdout
    assert "fixable" not in done.stdout


def test_safe_fixes_are_counted_from_the_built_fixes(tmp_path: Path) -> None:
    # KH105 (apt lists left behind) has a safe fix that applies, KH109 an unsafe one, KH172
    # (an unpinned package) none
    (tmp_path / "Dockerfile").write_text(
        "FROM debian:bookworm-slim\nRUN apt-get update && apt-get install -y "
        '--no-install-recommends curl\nENTRYPOINT ["/usr/local/bin/entrypoint.sh"]\n'
    )
    safe, unsafe = _fixable(tmp_path, "Dockerfile")
    done = run("fix", "--no-config", "--diff", "Dockerfile", cwd=tmp_path)
    fixed = re.search(r"would fix (\d+) finding", done.stderr + done.stdout)
    assert fixed is not None, done.stderr
    assert (safe, unsafe) == (int(fixed.group(1)), 1)
