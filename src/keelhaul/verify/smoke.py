"""The smoke check: does the image still do its job?

One of, in this order of preference:

- ``--smoke 'ARGS...'``: ``docker run IMAGE ARGS...`` (the words replace the image's CMD, its
  ENTRYPOINT stays, as with ``docker run``) must exit 0 within the time allowed;
- ``--smoke-http PORT/PATH``: the container, started as the image says, must answer
  ``GET http://127.0.0.1:PORT/PATH`` with a status below 400 within the time allowed (with
  ``--network host`` the container's port is the host's; otherwise it is published on a free
  loopback port);
- the image's own HEALTHCHECK: the container must become ``healthy`` (the check runs every
  second, whatever interval the image sets, so verify waits seconds, not minutes);
- else: the container, started as the image says, must still run after N seconds
  (``--smoke-seconds``), or have ended with exit code 0.
"""

from __future__ import annotations

import shlex
import time
import urllib.error
import urllib.request
from dataclasses import dataclass

from keelhaul.verify.engine import Engine, EngineError

#: Seconds a smoke check may take (an HTTP answer, a healthy status, a command's exit).
DEFAULT_TIMEOUT = 60.0
DEFAULT_SECONDS = 5.0


@dataclass(frozen=True)
class SmokePlan:
    """Which check to run, as the user asked."""

    command: str | None = None
    http: tuple[int, str] | None = None
    seconds: float = DEFAULT_SECONDS
    timeout: float = DEFAULT_TIMEOUT


@dataclass(frozen=True)
class Smoke:
    passed: bool
    how: str
    """``command``, ``http``, ``healthcheck`` or ``stays-up``."""
    what: str
    """The check in words: ``GET :8080/health``, ``docker run IMAGE true``..."""
    detail: str = ""
    """What happened (the status, the exit code, the last log lines)."""
    seconds: float = 0.0

    def to_json(self) -> dict[str, object]:
        return {"passed": self.passed, "how": self.how, "what": self.what,
                "detail": self.detail, "seconds": round(self.seconds, 2)}  # fmt: skip


def parse_http(text: str) -> tuple[int, str]:
    """``8080/health`` or ``8080`` -> (8080, "/health")."""
    port, _, path = text.partition("/")
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"--smoke-http {text!r}: expected PORT/PATH, e.g. 8080/health")
    return int(port), "/" + path


def check(engine: Engine, image: str, plan: SmokePlan, healthcheck: bool) -> Smoke:
    """Run the smoke check of ``plan`` on ``image``."""
    started = time.monotonic()
    if plan.command is not None:
        result = _command(engine, image, plan)
    elif plan.http is not None:
        result = _http(engine, image, plan, *plan.http)
    elif healthcheck:
        result = _healthcheck(engine, image, plan)
    else:
        result = _stays_up(engine, image, plan)
    return Smoke(result.passed, result.how, result.what, result.detail,
                 time.monotonic() - started)  # fmt: skip


def _command(engine: Engine, image: str, plan: SmokePlan) -> Smoke:
    assert plan.command is not None
    words = shlex.split(plan.command)
    what = f"docker run IMAGE {plan.command}"
    code, output = engine.run_once(image, words, plan.timeout)
    if code is None:
        return Smoke(False, "command", what, output)
    detail = f"exit {code}" + (f": {output}" if output and code else "")
    return Smoke(code == 0, "command", what, detail)


def _started(engine: Engine, image: str, extra: list[str] | None = None) -> str | Smoke:
    try:
        return engine.start(image, extra)
    except EngineError as exc:
        return Smoke(False, "start", "docker run IMAGE", str(exc))


def _http(engine: Engine, image: str, plan: SmokePlan, port: int, path: str) -> Smoke:
    what = f"GET :{port}{path}"
    host_network = engine.network == "host"
    extra = [] if host_network else ["-p", f"127.0.0.1::{port}"]
    container = _started(engine, image, extra)
    if isinstance(container, Smoke):
        return Smoke(False, "http", what, container.detail)
    try:
        host_port = port if host_network else engine.port(container, port)
        if host_port is None:
            return Smoke(False, "http", what, f"port {port} is not published")
        url = f"http://127.0.0.1:{host_port}{path}"
        deadline = time.monotonic() + plan.timeout
        last = "no answer"
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(url, timeout=5) as answer:
                    return Smoke(True, "http", what, f"HTTP {answer.status}")
            except urllib.error.HTTPError as exc:
                last = f"HTTP {exc.code}"
                if exc.code < 500:
                    return Smoke(False, "http", what, last)
            except (urllib.error.URLError, OSError) as exc:
                last = f"no answer ({getattr(exc, 'reason', exc)})"
            state = engine.state(container)
            if state and not state.get("Running"):
                logs = engine.logs(container)
                return Smoke(False, "http", what,
                             f"the container exited ({state.get('ExitCode')}) before answering"
                             + (f": {logs}" if logs else ""))  # fmt: skip
            time.sleep(0.5)
        return Smoke(False, "http", what, f"{last} after {plan.timeout:.0f} s")
    finally:
        engine.remove_container(container)


def _healthcheck(engine: Engine, image: str, plan: SmokePlan) -> Smoke:
    what = "the image's HEALTHCHECK"
    extra = ["--health-interval", "1s", "--health-start-period", "0s"]
    container = _started(engine, image, extra)
    if isinstance(container, Smoke):
        return Smoke(False, "healthcheck", what, container.detail)
    try:
        deadline = time.monotonic() + plan.timeout
        while time.monotonic() < deadline:
            state = engine.state(container)
            health = state.get("Health") or {}
            status = health.get("Status") if isinstance(health, dict) else None
            if status == "healthy":
                return Smoke(True, "healthcheck", what, "healthy")
            if status == "unhealthy":
                log = health.get("Log") or [{}]
                output = str(log[-1].get("Output", "")).strip()[-300:]
                return Smoke(False, "healthcheck", what, f"unhealthy: {output}")
            if state and not state.get("Running"):
                return Smoke(False, "healthcheck", what,
                             f"the container exited ({state.get('ExitCode')}): "
                             f"{engine.logs(container)}")  # fmt: skip
            time.sleep(0.5)
        return Smoke(False, "healthcheck", what, f"not healthy after {plan.timeout:.0f} s")
    finally:
        engine.remove_container(container)


def _stays_up(engine: Engine, image: str, plan: SmokePlan) -> Smoke:
    what = f"the CMD stays up for {plan.seconds:g} s"
    container = _started(engine, image)
    if isinstance(container, Smoke):
        return Smoke(False, "stays-up", what, container.detail)
    try:
        deadline = time.monotonic() + plan.seconds
        while time.monotonic() < deadline:
            state = engine.state(container)
            if state and not state.get("Running") and not state.get("Restarting"):
                code = state.get("ExitCode")
                if code == 0:
                    return Smoke(True, "stays-up", what, "ended with exit code 0")
                return Smoke(False, "stays-up", what,
                             f"exited with code {code}: {engine.logs(container)}")  # fmt: skip
            time.sleep(0.5)
        return Smoke(True, "stays-up", what, f"running after {plan.seconds:g} s")
    finally:
        engine.remove_container(container)
