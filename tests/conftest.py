from __future__ import annotations

import os
import tempfile
from collections import Counter
from collections.abc import Iterator

import pytest
from hypothesis import settings

from tests import scheduling

# keelhaul's caches (the layer cache, ShellCheck's results) go to a folder of this test run,
# not the user's: no test reads what an earlier run left, none writes into $HOME
if "KEELHAUL_CACHE_DIR" not in os.environ:
    os.environ["KEELHAUL_CACHE_DIR"] = tempfile.mkdtemp(prefix="keelhaul-test-cache-")

#: Hypothesis without its per-example deadline (200 ms by default): on a loaded machine (two
#: cores shared with other work, or pytest-xdist's workers) a plain example can take longer,
#: and a deadline failure there says nothing about keelhaul. Every other setting keeps
#: Hypothesis' default unless a test sets it. ``HYPOTHESIS_PROFILE=default`` brings the
#: deadline back, to look for slow examples on purpose.
settings.register_profile("keelhaul", deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "keelhaul"))

#: Counters that corpus tests fill, printed at the end of the run ("compared N files").
CORPUS_STATS: dict[str, Counter[str]] = {}


def corpus_stats(name: str) -> Counter[str]:
    return CORPUS_STATS.setdefault(name, Counter())


def pytest_sessionfinish(session: pytest.Session) -> None:
    """A pytest-xdist worker hands its corpus counters to the controller."""
    output = getattr(session.config, "workeroutput", None)
    if output is not None:
        output["corpus_stats"] = {k: dict(v) for k, v in CORPUS_STATS.items()}


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: object, error: object) -> None:
    """The controller adds up what each pytest-xdist worker counted."""
    for name, counts in getattr(node, "workeroutput", {}).get("corpus_stats", {}).items():
        corpus_stats(name).update(counts)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    for name, counts in sorted(CORPUS_STATS.items()):
        parts = ", ".join(f"{k}: {v}" for k, v in sorted(counts.items()))
        terminalreporter.write_line(f"corpus {name}: {parts}")


#: What the tests marked ``docker`` need, for their skip messages.
NEEDS_ENGINE = ("these tests need a Docker Engine (Debian/Ubuntu: apt-get install docker.io) "
                "answering on /var/run/docker.sock (or DOCKER_HOST)")  # fmt: skip


def base_image_advice(image: str) -> str:
    """How to make the local Debian base image the engine tests build on (no registry is
    needed): a debootstrap root filesystem imported under ``image``."""
    return (f"make it with `debootstrap --variant=minbase bookworm ROOT && chmod 755 ROOT && "
            f"tar -C ROOT -c . | docker import - {image}`, or name a local Debian image in "
            f"KEELHAUL_TEST_BASE_IMAGE")  # fmt: skip


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> object:
    """``--dist loadgroup`` deals tests as tests/scheduling.py says (engine tests together)."""
    if config.getvalue("dist") != "loadgroup":
        return None
    return scheduling.make_scheduler(config, log)


#: Marks whose tests a plain ``pytest`` leaves out, and when it runs them anyway:
#: ``apps_slow`` (the six-app verify runs, many minutes) only when ``-m`` names it;
#: ``fleet`` (a registry, a Dask cluster, PostgreSQL) and ``faults`` (kill -9 at seeded points,
#: concurrent writers) also in CI, where KEELHAUL_REQUIRE_DOCKER=1 says every real component
#: is there, so the README's command stays quick on a developer's machine. Naming test files
#: or folders on the command line (``pytest tests/fleet``) runs what they hold.
_LEFT_OUT = {"apps_slow": False, "fleet": True, "faults": True, "corpus_fixes": True}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    asked = config.getoption("markexpr") or ""
    named = config.args_source != pytest.Config.ArgsSource.TESTPATHS
    for mark, in_ci in _LEFT_OUT.items():
        if mark in asked or (in_ci and (docker_required() or named)):
            continue
        out = [item for item in items if item.get_closest_marker(mark) is not None]
        if out:
            config.hook.pytest_deselected(items=out)
            items[:] = [item for item in items if item.get_closest_marker(mark) is None]
    if hasattr(config, "workerinput"):  # a pytest-xdist worker: the long work first
        items.sort(key=lambda item: scheduling.order(item.nodeid))


def docker_required() -> bool:
    return os.environ.get("KEELHAUL_REQUIRE_DOCKER") == "1"


@pytest.fixture(scope="session")
def docker_engine() -> str:
    """The base image name of a running Docker Engine; skips (or fails in CI) without one."""
    import shutil
    import subprocess

    def unavailable(reason: str) -> str:
        if docker_required():
            pytest.fail(f"KEELHAUL_REQUIRE_DOCKER=1 but {reason}")
        pytest.skip(reason)

    if shutil.which("docker") is None:
        return unavailable(f"no docker client: {NEEDS_ENGINE}")
    if subprocess.run(["docker", "info"], capture_output=True, check=False).returncode != 0:
        return unavailable(f"no Docker Engine answers `docker info`: {NEEDS_ENGINE}")
    image = os.environ.get("KEELHAUL_TEST_BASE_IMAGE", "keelhaul-test/debian:bookworm")
    probe = subprocess.run(["docker", "image", "inspect", image], capture_output=True, check=False)
    if probe.returncode != 0:
        return unavailable(f"the engine has no base image {image}: {base_image_advice(image)}")
    return image


def _missing(reason: str) -> None:
    if docker_required():
        pytest.fail(f"KEELHAUL_REQUIRE_DOCKER=1 but {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def buildkit_docker(docker_engine: str) -> str:
    """A docker client that builds with BuildKit (``DOCKER_BUILDKIT=1``) against the engine.

    Newer clients need the buildx plugin for that; the engine's own 20.10 client (Debian's
    docker.io, /usr/bin/docker) talks to the engine's built-in BuildKit directly.
    """
    import shutil
    import subprocess
    import tempfile

    candidates = [c for c in (shutil.which("docker"), "/usr/bin/docker") if c]
    probe = f"FROM {docker_engine}\nRUN --mount=type=tmpfs,target=/probe true\n"
    with tempfile.TemporaryDirectory() as folder:
        for client in dict.fromkeys(candidates):
            done = subprocess.run(
                [client, "build", "-q", "--network", "none", "-f", "-", folder], input=probe, text=True,
                capture_output=True, check=False, env={**os.environ, "DOCKER_BUILDKIT": "1"},
            )  # fmt: skip
            if done.returncode == 0:
                subprocess.run([client, "rmi", "-f", done.stdout.strip()], capture_output=True,
                               check=False)  # fmt: skip
                return client
    _missing("no docker client here builds with BuildKit")
    raise AssertionError("unreachable")


#: Stand-ins for official images this machine cannot pull, made by tests/engine/standins/build.
PYTHON_FULL = "keelhaul-test/python:3.11-bookworm"
PYTHON_SLIM = "keelhaul-test/python:3.11-slim-bookworm"


@pytest.fixture(scope="session")
def python_standins(docker_engine: str) -> tuple[str, str]:
    """The stand-in python:3.11-bookworm and python:3.11-slim-bookworm images."""
    import subprocess

    for image in (PYTHON_FULL, PYTHON_SLIM):
        probe = subprocess.run(["docker", "image", "inspect", image], capture_output=True,
                               check=False)  # fmt: skip
        if probe.returncode != 0:
            _missing(f"the engine has no {image} (run tests/engine/standins/build)")
    return PYTHON_FULL, PYTHON_SLIM


#: The modules whose ``docker`` tests this process started (with pytest-xdist, each worker
#: knows only its own).
_ENGINE_MODULES: set[str] = set()


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("docker") is not None:
        _ENGINE_MODULES.add(item.nodeid.split("::", 1)[0])


@pytest.fixture(scope="module", autouse=True)
def _prune_build_cache(request: pytest.FixtureRequest) -> Iterator[None]:
    """After a module that built with the engine, BuildKit's cache goes: with the vfs storage
    driver every cached step is a whole copy of its filesystem, and one test run builds
    dozens of images (70 GB once, before this).

    Only the process that ran the module's engine tests prunes: with pytest-xdist all of
    them run in one worker (the ``engine`` group), and the other worker must not prune
    images under a build that is still going on."""
    yield
    if request.node.nodeid in _ENGINE_MODULES:
        import subprocess

        subprocess.run(["docker", "builder", "prune", "-af"], capture_output=True, check=False)
        subprocess.run(["docker", "image", "prune", "-f"], capture_output=True, check=False)
