"""`keelhaul fix --pin` against a real registry on loopback (anonymous and with Basic auth)."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path

from tests.registry.conftest import PASSWORD, USER, Pushed, Registry, free_port


def fix(folder: Path, *args: str, config: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env["DOCKER_CONFIG"] = str(config or folder / "no-docker-config")
    env["DOCKER_HOST"] = "unix:///nonexistent.sock"  # no engine fallback: the registry decides
    cmd = [sys.executable, "-m", "keelhaul", "-v", "fix", "--no-config", "--select", "KH111"]
    return subprocess.run(
        [*cmd, *args, str(folder)], capture_output=True, text=True, env=env, check=False
    )


def test_pin_single_and_multi_platform(
    tmp_path: Path, pushed_single: Pushed, pushed_multi: Pushed
) -> None:
    src = (
        f"FROM --platform=$BUILDPLATFORM {pushed_multi.reference} AS build\n"
        "RUN true\n"
        f"FROM {pushed_single.reference}\n"
        "COPY --from=build /x /x\n"
    )
    (tmp_path / "Dockerfile").write_text(src)
    assert fix(tmp_path, "--pin", "--check").returncode == 1
    done = fix(tmp_path, "--pin")
    assert done.returncode == 0, done.stderr
    text = (tmp_path / "Dockerfile").read_text()
    assert text == src.replace(
        pushed_multi.reference, f"{pushed_multi.reference}@{pushed_multi.digest}"
    ).replace(
        f"FROM {pushed_single.reference}\n",
        f"FROM {pushed_single.reference}@{pushed_single.digest}\n",
    )
    # Pinned already: nothing to do, unless --update.
    assert fix(tmp_path, "--pin", "--check").returncode == 0
    assert fix(tmp_path, "--pin", "--update", "--check").returncode == 0  # same digests


def test_update_replaces_a_stale_pin(tmp_path: Path, pushed_single: Pushed) -> None:
    stale = "sha256:" + "0" * 64
    (tmp_path / "Dockerfile").write_text(f"FROM {pushed_single.reference}@{stale}\n")
    assert fix(tmp_path, "--pin", "--check").returncode == 0  # pinned: left alone
    done = fix(tmp_path, "--pin", "--update")
    assert done.returncode == 0, done.stderr
    assert (
        tmp_path / "Dockerfile"
    ).read_text() == f"FROM {pushed_single.reference}@{pushed_single.digest}\n"


def test_pin_with_basic_auth(
    tmp_path: Path, pushed_private: Pushed, auth_registry: Registry
) -> None:
    (tmp_path / "Dockerfile").write_text(f"FROM {pushed_private.reference}\n")
    without = fix(tmp_path, "--pin")
    assert without.returncode == 2
    assert "keelhaul: error:" in without.stderr
    assert (tmp_path / "Dockerfile").read_text() == f"FROM {pushed_private.reference}\n"
    config = tmp_path / "docker"
    config.mkdir()
    auth = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    (config / "config.json").write_text(json.dumps({"auths": {auth_registry.host: {"auth": auth}}}))
    done = fix(tmp_path, "--pin", config=config)
    assert done.returncode == 0, done.stderr
    assert (
        tmp_path / "Dockerfile"
    ).read_text() == f"FROM {pushed_private.reference}@{pushed_private.digest}\n"
    assert PASSWORD not in done.stderr + done.stdout


def test_unreachable_registry_is_one_line_and_changes_nothing(tmp_path: Path) -> None:
    src = f"FROM 127.0.0.1:{free_port()}/nothing/here:1\nMAINTAINER x\n"
    (tmp_path / "Dockerfile").write_text(src)
    result = fix(tmp_path, "--pin")
    assert result.returncode == 2
    errors = [line for line in result.stderr.splitlines() if line.startswith("keelhaul: error:")]
    assert len(errors) == 1
    assert "Traceback" not in result.stderr
    # The safe fixes still apply; the FROM line is left as it was.
    assert (tmp_path / "Dockerfile").read_text().splitlines()[0] == src.splitlines()[0]
