"""``keelhaul slim --verify``: does the slim image still do its job? It is loaded into the
local engine under a temporary name and checked, and so is the original when the engine
holds it (``docker:`` sources); a slim image that fails is never written.

The check, in this order of preference (as ``keelhaul verify``'s smoke check, on branch
``verify``; the two should become one module when both are in main):

- ``--smoke 'ARGS...'``: ``docker run IMAGE ARGS...`` (the words replace the CMD; the
  ENTRYPOINT stays) must exit 0 within the time allowed;
- the image's own HEALTHCHECK: the container must become ``healthy`` (checked every second);
- else the container, started as the image says, must still run after ``seconds`` or have
  ended with exit code 0.

Containers run with ``--network none`` and are removed afterwards; the docker client runs
them (``docker`` on ``PATH``, the engine of ``DOCKER_HOST``).
"""

from __future__ import annotations

import shlex
import subprocess
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from keelhaul.slim.consolidate import SlimError

__all__ = ["Smoke", "SmokePlan", "check", "checker"]

DEFAULT_TIMEOUT = 60.0
DEFAULT_SECONDS = 3.0


@dataclass(frozen=True)
class SmokePlan:
    command: str | None = None
    seconds: float = DEFAULT_SECONDS
    timeout: float = DEFAULT_TIMEOUT


@dataclass(frozen=True)
class Smoke:
    image: str
    passed: bool
    how: str
    """``command``, ``healthcheck`` or ``stays-up``."""
    detail: str

    def line(self) -> str:
        verdict = "passed" if self.passed else "FAILED"
        return f"smoke check ({self.how}) on {self.image}: {verdict}; {self.detail}"


def _docker(*args: str, timeout: float = DEFAULT_TIMEOUT) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(["docker", *args], capture_output=True, text=True, check=False,
                              timeout=timeout)  # fmt: skip
    except FileNotFoundError:
        raise SlimError("--verify: no docker client on PATH") from None
    except subprocess.TimeoutExpired:
        return subprocess.CompletedProcess(
            ["docker", *args], 124, "", f"timed out after {timeout:.0f} s"
        )


def _tail(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return " | ".join(lines[-3:])[:300]


def _has_healthcheck(config: Mapping[str, Any]) -> bool:
    health = (config.get("config") or {}).get("Healthcheck") or {}
    test = health.get("Test") if isinstance(health, dict) else None
    return isinstance(test, list) and bool(test) and test[0] != "NONE"


def check(image: str, plan: SmokePlan, config: Mapping[str, Any]) -> Smoke:
    """Run the smoke check of ``plan`` on ``image`` (its ``config``: the image config)."""
    if plan.command is not None:
        done = _docker("run", "--rm", "--network", "none", image, *shlex.split(plan.command),
                       timeout=plan.timeout)  # fmt: skip
        detail = f"docker run {image} {plan.command}: exit {done.returncode}"
        if done.returncode:
            detail += f" ({_tail(done.stderr or done.stdout)})"
        return Smoke(image, done.returncode == 0, "command", detail)
    health = _has_healthcheck(config)
    extra = ["--health-interval", "1s", "--health-start-period", "0s"] if health else []
    name = f"keelhaul-slim-smoke-{uuid.uuid4().hex[:12]}"
    started = _docker("run", "-d", "--name", name, "--network", "none", *extra, image)
    try:
        if started.returncode:
            return Smoke(image, False, "healthcheck" if health else "stays-up",
                         f"docker run failed: {_tail(started.stderr)}")  # fmt: skip
        deadline = time.monotonic() + (plan.timeout if health else plan.seconds)
        while True:
            state = _docker("inspect", "-f",
                            "{{.State.Running}} {{.State.ExitCode}} "
                            "{{if .State.Health}}{{.State.Health.Status}}{{end}}", name)  # fmt: skip
            running, code, status = ([*state.stdout.split(), "", "", ""])[:3]
            if health and status in ("healthy", "unhealthy"):
                return Smoke(
                    image, status == "healthy", "healthcheck", f"the container is {status}"
                )
            if running != "true":
                logs = _docker("logs", "--tail", "5", name)
                passed = code == "0" and not health
                return Smoke(image, passed, "healthcheck" if health else "stays-up",
                             f"the container ended with exit code {code or '?'}"
                             + ("" if passed else f" ({_tail(logs.stderr + logs.stdout)})"))  # fmt: skip
            if time.monotonic() >= deadline:
                if health:
                    return Smoke(image, False, "healthcheck",
                                 f"not healthy after {plan.timeout:.0f} s (status {status})")  # fmt: skip
                return Smoke(image, True, "stays-up", f"still running after {plan.seconds:g} s")
            time.sleep(0.25)
    finally:
        _docker("rm", "-f", "-v", name)


def checker(
    plan: SmokePlan, config: Mapping[str, Any], found: list[Smoke]
) -> Callable[[Path], None]:
    """For :meth:`keelhaul.slim.outputs.Layout.finish`: load the archive, check the image it
    holds, untag it; raise :class:`SlimError` when the check fails (nothing is written)."""
    from keelhaul.image.sources.engine import load_archive
    from keelhaul.registry import RegistryError

    def run(archive: Path) -> None:
        try:
            loaded = load_archive(archive)
        except RegistryError as exc:
            raise SlimError(f"--verify: {exc}") from None
        if not loaded:
            raise SlimError("--verify: the engine loaded no image from the slim archive")
        try:
            smoke = check(loaded[0], plan, config)
        finally:
            _docker("rmi", loaded[0])
        found.append(smoke)
        if not smoke.passed:
            raise SlimError(f"--verify: the slim image fails its smoke check, not written: "
                            f"{smoke.line()}")  # fmt: skip

    return run
