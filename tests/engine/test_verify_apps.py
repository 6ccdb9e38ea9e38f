"""Proof on six realistic apps (tests/engine/apps): `keelhaul verify --unsafe-fixes --format
json` builds each naive Dockerfile as it is and as `keelhaul fix --unsafe-fixes` leaves it, on
the stand-in base images, and must see both build and pass their smoke check, the fixed image
smaller, and a one-line source change re-run no more RUN steps (fewer where the fix moves the
dependency install or a chown out of the way; one more for the Python C extension, whose
runtime stage installs the rebuilt wheel) and make fewer bytes of new layers (what a push of
the change sends). And a fix broken on purpose must be caught and named by bisection.

Each app is verified as a developer's checkout (a git repository: the context holds .git).
Verifying an app builds it four times (before and after, then again after a source change),
which takes minutes on a loaded 2-core machine (the static site, the cheapest, 35 s, the
others 1.5 to 2 minutes in a run at load average 5: more than the engine suite's time budget
allows), so every test here is marked `apps_slow`
and runs only when `-m` names it (`pytest -m apps_slow tests/engine/test_verify_apps.py`;
the timings are in docs/benchmarks.md). The engine tests in tests/verify check the same
mechanics, bisection included, on a 2.4 MB base in every engine run. The stand-in base
images an app needs are built once a session.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from bench.verify_apps import build_standins, catalogue, checkout, verify_command
from click.testing import CliRunner

from keelhaul.cli.app import cli
from keelhaul.dockerfile.edits import replace_instruction
from keelhaul.findings import Category, Fix, Safety, Severity
from keelhaul.rule import REGISTRY
from keelhaul.rules.registry import DockerfileContext, Hit, Rule, register

CATALOGUE = catalogue()


@pytest.fixture(scope="session")
def app_standins(docker_engine: str) -> Callable[[str], None]:
    """``need(app)`` builds the stand-in images the app needs, once a session (the build
    script keeps an image whose Dockerfile did not change); skips (fails under
    KEELHAUL_REQUIRE_DOCKER) when they cannot be built."""
    from tests.conftest import _missing

    ready: set[str] = set()

    def need(app: str) -> None:
        if app in ready:
            return
        problem = build_standins([app], docker_engine)
        if problem:
            _missing(problem)
        ready.add(app)

    return need


def _verify(
    app: str, docker: str, tmp_path: Path, need: Callable[[str], None], *extra: str
) -> dict[str, Any]:
    folder = checkout(app, tmp_path)
    need(app)
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
    [pytest.param(app, marks=pytest.mark.apps_slow) for app in CATALOGUE["apps"]],
)
def test_fixed_app_builds_serves_is_smaller_and_rebuilds_less(
    buildkit_docker: str, app_standins: Callable[[str], None], tmp_path: Path, app: str
) -> None:
    report = _verify(app, buildkit_docker, tmp_path, app_standins, "--no-bisect")
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
    added = CATALOGUE["apps"][app].get("added_rebuilt_runs", 0)
    if CATALOGUE["apps"][app]["fewer_rebuilt_runs"]:
        assert runs_after < runs_before, (before["rebuilt_steps"], after["rebuilt_steps"])
    else:
        assert runs_after <= runs_before + added, (before["rebuilt_steps"], after["rebuilt_steps"])
    # what a push of the change sends: the fixed image's rebuilt layers hold the program, not
    # the dependencies, the compilers' caches or a second copy of the files
    assert 0 < after["new_layer_bytes"] < before["new_layer_bytes"], report["headline"]
    assert report["passed"]
    assert not report["regressed"]


BROKEN = "KH298"


def _drops_a_page(ctx: DockerfileContext) -> Iterator[Hit]:
    if any("tariffs.html" in inst.args for inst in ctx.tree.instructions):
        return  # fixed already
    for inst in ctx.tree.instructions:
        if inst.name == "EXPOSE":
            body = f"RUN rm /usr/share/nginx/html/tariffs.html\nEXPOSE {inst.args}"
            fix = Fix((replace_instruction(inst, body),), "drop a page", Safety.SAFE)
            yield Hit(inst, "a test rule whose fix breaks the site", fix=fix)


@pytest.fixture
def broken_fix() -> Iterator[str]:
    """A "safe" fix that builds but breaks the site, registered for one test."""
    register(Rule(code=BROKEN, name="test-drops-a-page", severity=Severity.WARNING,
                  category=Category.MAINTAINABILITY, summary="Test only.",
                  explanation="A fix that breaks the site, to be caught by verify.",
                  bad="FROM x\n", good="FROM x\n", check=_drops_a_page,
                  fix=Safety.SAFE))  # fmt: skip
    try:
        yield BROKEN
    finally:
        REGISTRY.pop(BROKEN, None)


@pytest.mark.docker
@pytest.mark.apps_slow
def test_verify_catches_a_fix_broken_on_purpose_and_names_it(
    buildkit_docker: str, app_standins: Callable[[str], None], broken_fix: str, tmp_path: Path
) -> None:
    """With a fix that deletes the page the smoke check asks for, the static site's fixed
    image builds but nginx answers 404: verify exits 1 and bisection names that fix, not
    KH191 applied with it."""
    folder = checkout("static-site", tmp_path)
    app_standins("static-site")
    command = verify_command(folder, "static-site", "--docker", buildkit_docker,
                             "--no-cache-check")  # fmt: skip
    arguments = command[command.index("verify") :]  # in this process: the test rule is here
    done = CliRunner().invoke(cli, arguments, standalone_mode=False, obj=None)
    assert done.exception is None, done.output
    assert done.return_value == 1, done.stdout
    report = json.loads(done.stdout)
    before, after = report["before"], report["after"]
    assert before["smoke"]["passed"], before["smoke"]
    assert after["built"], after["build_error"]
    assert not after["smoke"]["passed"]
    assert "HTTP 404" in after["smoke"]["detail"]
    codes = [f["code"] for f in after["fixes"]]
    assert {"KH191", broken_fix} <= set(codes), codes
    assert not report["passed"]
    assert report["blame"]["code"] == broken_fix
    assert report["blame"]["description"] == "drop a page"
    assert 1 <= len(report["blame"]["probes"]) <= 2  # log2 of the fixes applied
