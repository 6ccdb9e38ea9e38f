"""keelhaul's own image: the repository's Dockerfile passes `keelhaul check` with every rule
selected, builds with the real Docker Engine (offline: the Python packages come from a local
wheelhouse served on 127.0.0.1), runs as a non-root user, and checks a mounted project."""

from __future__ import annotations

import functools
import http.server
import json
import os
import shutil
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import docker_required

ROOT = Path(__file__).resolve().parents[2]
WHEELHOUSE = ROOT / ".ci" / "wheelhouse"


def test_the_dockerfile_passes_every_rule() -> None:
    done = subprocess.run([sys.executable, "-m", "keelhaul", "check", "--no-config", "--select",
                           "ALL", str(ROOT / "Dockerfile")], capture_output=True, text=True,
                          check=False)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "no findings" in done.stdout


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def wheelhouse() -> Iterator[str]:
    if not any(WHEELHOUSE.glob("*.whl")):
        reason = ("no wheelhouse for an offline build: `pip download --dest .ci/wheelhouse "
                  "'.[sbom]' hatchling` (.ci/run does it)")  # fmt: skip
        if docker_required():
            pytest.fail(reason)
        pytest.skip(reason)
    handler = functools.partial(_QuietHandler, directory=str(WHEELHOUSE))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()


@pytest.mark.docker
def test_build_and_run(buildkit_docker: str, python_standins: tuple[str, str], wheelhouse: str,
                       tmp_path: Path) -> None:  # fmt: skip
    context = tmp_path / "context"
    context.mkdir()
    for name in ("Dockerfile", ".dockerignore", "pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, context / name)
    shutil.copytree(ROOT / "src", context / "src",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))  # fmt: skip
    _full, slim = python_standins
    tag = f"keelhaul-test/keelhaul:{uuid.uuid4().hex[:12]}"
    env = {**os.environ, "DOCKER_BUILDKIT": "1"}
    try:
        built = subprocess.run(
            [buildkit_docker, "build", "--network", "host", "--build-arg", f"PYTHON={slim}",
             "--build-arg", "PIP_NO_INDEX=1", "--build-arg", f"PIP_FIND_LINKS={wheelhouse}",
             "-t", tag, str(context)], capture_output=True, text=True, check=False, env=env,
        )  # fmt: skip
        assert built.returncode == 0, built.stdout + built.stderr
        user = subprocess.run(["docker", "image", "inspect", "--format", "{{.Config.User}}", tag],
                              capture_output=True, text=True, check=True)  # fmt: skip
        assert user.stdout.strip() == "65532:65532"
        examples = ROOT / "examples"
        bad = subprocess.run(["docker", "run", "--rm", "--network", "none", "-v",
                              f"{examples}:/work:ro", tag, "check", "/work"],
                             capture_output=True, text=True, check=False)  # fmt: skip
        assert bad.returncode == 1, bad.stdout + bad.stderr
        assert "KH109" in bad.stdout
        good = subprocess.run(["docker", "run", "--rm", "--network", "none", "-v",
                               f"{examples / 'good'}:/work:ro", tag, "check", "/work"],
                              capture_output=True, text=True, check=False)  # fmt: skip
        assert good.returncode == 0, good.stdout + good.stderr
        # nothing of the build in the runtime: no wheels (BuildKit leaves the empty mount
        # point), no pip cache, no sources
        leftovers = subprocess.run(
            ["docker", "run", "--rm", "--network", "none", "--entrypoint", "sh", tag, "-c",
             "find /wheels /src /root/.cache/pip -type f 2>/dev/null | wc -l"],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        assert leftovers.stdout.strip() == "0"
        # and keelhaul's own image analysis finds no waste and nothing to harden
        archive = tmp_path / "keelhaul.tar"
        subprocess.run(["docker", "save", "-o", str(archive), tag], check=True)
        analysed = subprocess.run(
            [sys.executable, "-m", "keelhaul", "image", f"docker-archive:{archive}", "--format",
             "json", "--no-config", "--db", str(tmp_path / "no-db")],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        assert analysed.returncode == 0, analysed.stderr
        codes = {f["code"] for f in json.loads(analysed.stdout)["findings"]}
        waste = {"KH300", "KH301", "KH302", "KH303", "KH309"}
        hardening = {f"KH{n}" for n in range(320, 328)}
        assert not codes & (waste | hardening), codes
    finally:
        subprocess.run(["docker", "rmi", "-f", tag], capture_output=True, check=False)
