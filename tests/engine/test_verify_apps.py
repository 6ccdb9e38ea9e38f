"""Proof on six realistic apps (tests/engine/apps): `keelhaul verify --unsafe-fixes --format
json` builds each naive Dockerfile as it is and as `keelhaul fix --unsafe-fixes` leaves it, on
the stand-in base images, and must see both build and pass their smoke check, the fixed image
smaller, and a one-line source change re-run no more RUN steps (fewer where the fix moves the
dependency install or a chown out of the way). And a fix broken on purpose must be caught.

Each app is verified as a developer's checkout (a git repository: the context holds .git).
Verifying an app builds it four times (before and after, then again after a source change),
which takes minutes on a loaded 2-core machine: the apps marked `apps_slow` (their builds
compile or install toolchains' worth of files) run only with `-m apps_slow` (see
docs/benchmarks.md for the timings).
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from bench.verify_apps import catalogue, checkout, verify_command

CATALOGUE = catalogue()
#: The cheapest apps run in every engine run; the others with `-m apps_slow`.
CHEAP = {"static-site"}


def _needs_standins(app: str, folder: Path) -> None:
    """Skip (fail under KEELHAUL_REQUIRE_DOCKER) when a stand-in the app needs is missing."""
    from tests.conftest import _missing

    text = (folder / "Dockerfile").read_text()
    for image, local in CATALOGUE["base_map"].items():
        wanted = image in text or (app, image) in _FIX_BASES
        probe = subprocess.run(["docker", "image", "inspect", local], capture_output=True,
                               check=False)  # fmt: skip
        if wanted and probe.returncode != 0:
            _missing(f"the engine has no {local} (run tests/engine/standins/build)")


#: Base images the fixed Dockerfiles name (not in the naive ones).
_FIX_BASES = {
    ("react-frontend", "nginxinc/nginx-unprivileged:1.27-alpine"),
    ("go-service", "gcr.io/distroless/static-debian12:nonroot"),
    ("java-service", "eclipse-temurin:17-jre"),
}


def _verify(app: str, docker: str, tmp_path: Path, *extra: str) -> dict[str, Any]:
    folder = checkout(app, tmp_path)
    _needs_standins(app, folder)
    done = subprocess.run(verify_command(folder, app, "--docker", docker, *extra),
                          capture_output=True, text=True, check=False)  # fmt: skip
    assert done.returncode in (0, 1), done.stderr
    report: dict[str, Any] = json.loads(done.stdout)
    return report


def _runs(steps: list[str]) -> int:
    return sum(1 for step in steps if "] RUN " in step)


@pytest.mark.docker
@pytest.mark.parametrize(
    "app",
    [a if a in CHEAP else pytest.param(a, marks=pytest.mark.apps_slow) for a in CATALOGUE["apps"]],
)
def test_fixed_app_builds_serves_is_smaller_and_rebuilds_less(
    buildkit_docker: str, tmp_path: Path, app: str
) -> None:
    report = _verify(app, buildkit_docker, tmp_path, "--no-bisect")
    before, after = report["before"], report["after"]
    assert after["fixes"], "no fix applied: the test proves nothing"
    assert before["built"], before["build_error"]
    assert after["built"], after["build_error"]
    assert before["smoke"]["passed"], before["smoke"]
    assert after["smoke"]["passed"], after["smoke"]
    assert before["smoke"]["how"] == after["smoke"]["how"] == "http"
    assert after["size"] < before["size"], report["headline"]
    assert before["rebuilt_steps"] is not None
    assert after["rebuilt_steps"] is not None
    runs_before, runs_after = _runs(before["rebuilt_steps"]), _runs(after["rebuilt_steps"])
    assert runs_before >= 1, before["rebuilt_steps"]  # the source change did rebuild something
    if CATALOGUE["apps"][app]["fewer_rebuilt_runs"]:
        assert runs_after < runs_before, (before["rebuilt_steps"], after["rebuilt_steps"])
    else:
        assert runs_after <= runs_before, (before["rebuilt_steps"], after["rebuilt_steps"])
    assert report["passed"]
    assert not report["regressed"]


@pytest.mark.docker
def test_verify_catches_a_fix_broken_on_purpose(buildkit_docker: str, tmp_path: Path) -> None:
    """The static site's "fixed" Dockerfile copies the pages to the wrong folder: it builds,
    but nginx answers 404, and verify must say so (exit 1, after smoke failed)."""
    folder = checkout("static-site", tmp_path)
    _needs_standins("static-site", folder)
    broken = folder / "Dockerfile.broken"
    broken.write_text(
        (folder / "Dockerfile").read_text().replace("/usr/share/nginx/html", "/usr/share/nginx/htm")
    )
    command = verify_command(folder, "static-site", "--docker", buildkit_docker,
                             "--before", str(folder / "Dockerfile"), "--after", str(broken),
                             "--no-cache-check")  # fmt: skip
    command.remove("--unsafe-fixes")
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    assert done.returncode == 1, done.stdout + done.stderr
    report = json.loads(done.stdout)
    assert report["before"]["smoke"]["passed"]
    assert report["after"]["built"]
    assert not report["after"]["smoke"]["passed"]
    assert not report["passed"]
