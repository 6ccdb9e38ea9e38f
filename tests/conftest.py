from __future__ import annotations

import os
from collections import Counter

import pytest

#: Counters that corpus tests fill, printed at the end of the run ("compared N files").
CORPUS_STATS: dict[str, Counter[str]] = {}


def corpus_stats(name: str) -> Counter[str]:
    return CORPUS_STATS.setdefault(name, Counter())


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    for name, counts in sorted(CORPUS_STATS.items()):
        parts = ", ".join(f"{k}: {v}" for k, v in sorted(counts.items()))
        terminalreporter.write_line(f"corpus {name}: {parts}")


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
        return unavailable("no docker client")
    if subprocess.run(["docker", "info"], capture_output=True, check=False).returncode != 0:
        return unavailable("no Docker Engine answers (run ../shared/tools/docker-engine-up)")
    image = os.environ.get("KEELHAUL_TEST_BASE_IMAGE", "keelhaul-test/debian:bookworm")
    probe = subprocess.run(["docker", "image", "inspect", image], capture_output=True, check=False)
    if probe.returncode != 0:
        return unavailable(f"the engine has no base image {image}")
    return image
