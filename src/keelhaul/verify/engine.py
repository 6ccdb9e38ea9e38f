"""The Docker Engine, through the docker command-line client, with BuildKit.

Everything verify does to the engine goes through :class:`Engine`: build (``DOCKER_BUILDKIT=1``,
``--progress=plain``, so each step says whether it came from the cache), run, inspect and
remove. Every image and container it makes carries the label ``keelhaul.verify=<run id>``,
so the run can remove exactly what it made.

The client: ``--docker PATH``, else the first of ``docker`` on PATH and ``/usr/bin/docker``
that builds with BuildKit by itself: a client older than 23 (Debian's docker.io 20.10 talks to
the engine's built-in BuildKit), or a newer one with the buildx plugin.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from keelhaul.errors import KeelhaulError

LABEL = "keelhaul.verify"
#: How long one build may take before verify gives up on it.
BUILD_TIMEOUT = 3600.0


class NoEngine(KeelhaulError):
    """No docker client, or no engine answering it."""


class EngineError(KeelhaulError):
    """The engine refused something verify needed (not a build failing: that is a result)."""


@dataclass(frozen=True)
class Step:
    """One step of a BuildKit build, as ``--progress=plain`` names it."""

    name: str
    """``[build 3/5] RUN npm ci``: the stage, the position, the instruction."""
    cached: bool
    failed: bool = False
    seconds: float | None = None


@dataclass(frozen=True)
class Built:
    """One ``docker build``."""

    ok: bool
    seconds: float
    steps: tuple[Step, ...] = ()
    error: str | None = None
    """The last lines of the build's output when it failed."""

    @property
    def rebuilt(self) -> tuple[Step, ...]:
        """The steps that ran (not taken from the cache); FROM steps left out."""
        return tuple(s for s in self.steps if not s.cached and not _is_from(s.name))

    @property
    def layer_steps(self) -> tuple[Step, ...]:
        """Every step but the FROM lines."""
        return tuple(s for s in self.steps if not _is_from(s.name))


_STEP = re.compile(r"^#(\d+) (\[[^\]]*\d+/\d+\] .*)$")
_CACHED = re.compile(r"^#(\d+) CACHED\s*$")
_DONE = re.compile(r"^#(\d+) DONE (\d+(?:\.\d+)?)s\s*$")
_ERROR = re.compile(r"^#(\d+) ERROR\b")


def _is_from(name: str) -> bool:
    return re.match(r"^\[[^\]]*\] FROM\s", name) is not None


def parse_progress(output: str) -> tuple[Step, ...]:
    """The steps of a ``--progress=plain`` log, in the order they first appear."""
    names: dict[str, str] = {}
    cached: set[str] = set()
    failed: set[str] = set()
    seconds: dict[str, float] = {}
    for line in output.splitlines():
        if (m := _STEP.match(line)) is not None:
            names.setdefault(m.group(1), " ".join(m.group(2).split()))
        elif (m := _CACHED.match(line)) is not None:
            cached.add(m.group(1))
        elif (m := _DONE.match(line)) is not None:
            seconds[m.group(1)] = float(m.group(2))
        elif (m := _ERROR.match(line)) is not None:
            failed.add(m.group(1))
    return tuple(
        Step(name, key in cached, key in failed, seconds.get(key)) for key, name in names.items()
    )


def _tail(text: str, lines: int = 12) -> str:
    kept = [line for line in text.strip().splitlines() if line.strip()]
    return "\n".join(kept[-lines:])


def _major(version: str) -> int | None:
    match = re.match(r"\s*(\d+)\.", version)
    return int(match.group(1)) if match else None


@dataclass
class Engine:
    """A docker client and the engine it talks to, for one verify run."""

    client: str
    run_id: str
    network: str | None = None
    environment: dict[str, str] = field(default_factory=dict)

    @classmethod
    def find(cls, run_id: str, docker: str | None = None, network: str | None = None) -> Engine:
        """The client to use, checked against a running engine; :class:`NoEngine` otherwise."""
        env = {**os.environ, "DOCKER_BUILDKIT": "1"}
        if docker is not None:
            found = shutil.which(docker) or (docker if Path(docker).is_file() else None)
            if found is None:
                raise NoEngine(f"no docker client at {docker}")
            candidates = [found]
        else:
            candidates = list(dict.fromkeys(
                c for c in (shutil.which("docker"), "/usr/bin/docker") if c and Path(c).is_file()
            ))  # fmt: skip
            if not candidates:
                raise NoEngine(
                    "no Docker Engine: no docker client found (install one, or --docker PATH)"
                )
        reason = ""
        for client in candidates:
            try:
                done = subprocess.run(
                    [client, "version", "--format", "{{.Client.Version}} {{.Server.Version}}"],
                    capture_output=True, text=True, env=env, timeout=30, check=False,
                )  # fmt: skip
            except (OSError, subprocess.TimeoutExpired) as exc:
                reason = f"{client}: {exc}"
                continue
            words = done.stdout.split()
            if done.returncode != 0 or len(words) < 2:
                message = _tail(done.stderr, 1) or "the engine does not answer"
                reason = f"{client}: {message}"
                continue
            major = _major(words[0])
            if (
                docker is None
                and major is not None
                and major >= 23
                and not _has_buildx(client, env)
            ):
                reason = f"{client} {words[0]} needs the buildx plugin for BuildKit"
                continue
            return cls(client, run_id, network, env)
        raise NoEngine(f"no Docker Engine: {reason}")

    # -- running the client -----------------------------------------------------------------

    def _run(
        self, *args: str, timeout: float = 600.0, input_text: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        try:
            return subprocess.run(
                [self.client, *args], capture_output=True, text=True, env=self.environment,
                timeout=timeout, check=False, input=input_text,
            )  # fmt: skip
        except subprocess.TimeoutExpired as exc:
            raise EngineError(f"docker {args[0]}: no answer in {timeout:.0f} s") from exc
        except OSError as exc:
            raise NoEngine(f"no Docker Engine: {self.client}: {exc.strerror or exc}") from exc

    def _network(self) -> list[str]:
        return ["--network", self.network] if self.network else []

    # -- images -----------------------------------------------------------------------------

    def build(
        self,
        context: Path,
        dockerfile: Path,
        tag: str,
        build_args: dict[str, str] | None = None,
        target: str | None = None,
    ) -> Built:
        """Build ``dockerfile`` in ``context`` as ``tag``; a failed build is a result."""
        command = ["build", "--progress=plain", "-f", str(dockerfile), "-t", tag,
                   "--label", f"{LABEL}={self.run_id}", *self._network()]  # fmt: skip
        for name, value in (build_args or {}).items():
            command += ["--build-arg", f"{name}={value}"]
        if target:
            command += ["--target", target]
        started = time.monotonic()
        done = self._run(*command, str(context), timeout=BUILD_TIMEOUT)
        seconds = time.monotonic() - started
        output = done.stdout + done.stderr
        steps = parse_progress(output)
        if done.returncode != 0:
            return Built(False, seconds, steps, _tail(output))
        return Built(True, seconds, steps)

    def inspect(self, name: str) -> dict[str, Any]:
        """``docker image inspect``'s object for ``name``."""
        import json

        done = self._run("image", "inspect", name)
        if done.returncode != 0:
            raise EngineError(f"docker image inspect {name}: {_tail(done.stderr, 1)}")
        found = json.loads(done.stdout)
        return dict(found[0]) if found else {}

    def has_image(self, name: str) -> bool:
        return self._run("image", "inspect", name).returncode == 0

    # -- containers -------------------------------------------------------------------------

    def start(
        self, image: str, extra: list[str] | None = None, args: list[str] | None = None
    ) -> str:
        """Start a detached container of ``image``; its id."""
        done = self._run("run", "-d", "--label", f"{LABEL}={self.run_id}", *self._network(),
                         *(extra or []), image, *(args or []))  # fmt: skip
        if done.returncode != 0:
            raise EngineError(f"docker run {image}: {_tail(done.stderr, 2)}")
        return done.stdout.strip()

    def run_once(self, image: str, args: list[str], timeout: float) -> tuple[int | None, str]:
        """Run ``image`` with ``args`` to its end: (exit code or None on timeout, output)."""
        name = f"{self.run_id}-once-{int(time.monotonic() * 1000)}"
        try:
            done = self._run("run", "--name", name, "--label", f"{LABEL}={self.run_id}",
                             *self._network(), image, *args, timeout=timeout)  # fmt: skip
        except EngineError:
            return None, f"still running after {timeout:.0f} s"
        finally:
            self._run("rm", "-f", name)
        return done.returncode, _tail(done.stdout + done.stderr, 6)

    def state(self, container: str) -> dict[str, Any]:
        import json

        done = self._run("container", "inspect", "--format", "{{json .State}}", container)
        if done.returncode != 0:
            return {}
        found = json.loads(done.stdout)
        return dict(found) if isinstance(found, dict) else {}

    def logs(self, container: str) -> str:
        done = self._run("logs", "--tail", "20", container)
        return _tail(done.stdout + done.stderr, 6)

    def port(self, container: str, port: int) -> int | None:
        """The host port a published container port landed on."""
        done = self._run("port", container, f"{port}/tcp")
        for line in done.stdout.splitlines():
            tail = line.rpartition(":")[2].strip()
            if tail.isdigit():
                return int(tail)
        return None

    def remove_container(self, container: str) -> None:
        self._run("rm", "-f", "-v", container)

    # -- cleaning up ------------------------------------------------------------------------

    def clean(self) -> None:
        """Remove every container and image this run made (by its label)."""
        listed = self._run("ps", "-aq", "--filter", f"label={LABEL}={self.run_id}")
        ids = listed.stdout.split()
        if ids:
            self._run("rm", "-f", "-v", *ids)
        listed = self._run("images", "-q", "--filter", f"label={LABEL}={self.run_id}")
        images = list(dict.fromkeys(listed.stdout.split()))
        if images:
            self._run("rmi", "-f", *images)


def _has_buildx(client: str, env: dict[str, str]) -> bool:
    try:
        done = subprocess.run([client, "buildx", "version"], capture_output=True, env=env,
                              timeout=30, check=False)  # fmt: skip
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0
