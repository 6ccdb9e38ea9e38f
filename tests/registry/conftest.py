"""Real registries on loopback for the registry client's tests.

``registry`` and ``auth_registry`` are CNCF distribution (Debian's ``docker-registry`` package)
started here on a free loopback port, the second with Basic auth from an htpasswd file;
``bearer_registry`` is distribution checking JWTs from an in-test token server; images are
written as OCI layouts by :mod:`tests.registry.images` and pushed with skopeo. Without
docker-registry or skopeo these tests skip, except under ``KEELHAUL_REQUIRE_DOCKER=1`` (CI),
where they fail.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import docker_required
from tests.registry import images
from tests.registry.jwtauth import Signer, TokenServer, token_server
from tests.registry.jwtauth import token_registry as jwt_registry

USER, PASSWORD = "keel", "haul-S3cret-pw"


def unavailable(reason: str) -> None:
    if docker_required():
        pytest.fail(f"KEELHAUL_REQUIRE_DOCKER=1 but {reason}")
    pytest.skip(reason)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass(frozen=True)
class Pushed:
    reference: str  # 127.0.0.1:PORT/name:tag
    digest: str  # what the test wrote (sha256 of the top manifest or index)


@dataclass
class Registry:
    host: str  # 127.0.0.1:PORT
    pid: int
    directory: Path
    creds: str | None = None  # user:password for skopeo
    process: subprocess.Popen[bytes] | None = None  # when started here

    def push(self, layout: Path, tag: str, name: str, *, all_images: bool = False) -> str:
        reference = f"{self.host}/{name}:{tag}"
        command = ["skopeo", "copy", "--quiet", "--dest-tls-verify=false"]
        if all_images:
            command += ["--all", "--preserve-digests"]
        if self.creds:
            command += ["--dest-creds", self.creds]
        command += [f"oci:{layout}:{tag}", f"docker://{reference}"]
        done = subprocess.run(command, capture_output=True, text=True, check=False, timeout=120)
        assert done.returncode == 0, done.stderr
        return reference

    def raw_manifest(self, reference: str) -> bytes:
        command = ["skopeo", "inspect", "--raw", "--tls-verify=false"]
        if self.creds:
            command += ["--creds", self.creds]
        done = subprocess.run(
            [*command, f"docker://{reference}"], capture_output=True, check=False, timeout=60
        )
        assert done.returncode == 0, done.stderr
        return done.stdout


@pytest.fixture(scope="session")
def skopeo() -> str:
    path = shutil.which("skopeo")
    if path is None:
        unavailable("skopeo is not installed (apt-get install skopeo)")
    assert path is not None
    return path


#: What to install when no registry binary is found.
NO_REGISTRY = ("no registry: these tests need CNCF distribution's registry "
               "(Debian/Ubuntu: apt-get install docker-registry)")  # fmt: skip


def _start(htpasswd: Path | None) -> Registry:
    binary = shutil.which("docker-registry") or shutil.which("registry")
    if binary is None:
        unavailable(NO_REGISTRY)
    assert binary is not None
    port = free_port()
    directory = Path(tempfile.mkdtemp(prefix="keelhaul-registry."))
    config = [
        "version: 0.1",
        "log: {level: warn}",
        f"storage: {{filesystem: {{rootdirectory: {directory / 'data'}}}, delete: {{enabled: true}}}}",
        f"http: {{addr: 127.0.0.1:{port}}}",
    ]
    if htpasswd is not None:
        config.append(f"auth: {{htpasswd: {{realm: keelhaul-test, path: {htpasswd}}}}}")
    (directory / "config.yml").write_text("\n".join(config) + "\n", encoding="utf-8")
    with (directory / "log").open("wb") as log:
        process = subprocess.Popen([binary, "serve", str(directory / "config.yml")],
                                   stdout=log, stderr=log, start_new_session=True)  # fmt: skip
    registry = Registry(f"127.0.0.1:{port}", process.pid, directory, process=process)
    for _ in range(120):
        if process.poll() is not None:
            break
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/v2/", timeout=2).close()
            return registry
        except urllib.error.HTTPError as exc:
            if exc.code == 401:
                return registry
        except OSError:
            pass
        time.sleep(0.25)
    log_tail = (directory / "log").read_text(encoding="utf-8", errors="replace")[-300:]
    _stop(registry)
    unavailable(f"{binary} did not start: {log_tail.strip()}")
    raise AssertionError("unreachable")


def _stop(registry: Registry) -> None:
    if registry.process is not None:
        registry.process.terminate()
        try:
            registry.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            registry.process.kill()
            registry.process.wait()
        shutil.rmtree(registry.directory, ignore_errors=True)
        return
    with contextlib.suppress(ProcessLookupError):
        os.kill(registry.pid, signal.SIGTERM)
        for _ in range(50):  # not our child (registry-up detaches it): poll until it is gone
            os.kill(registry.pid, 0)
            time.sleep(0.1)
    shutil.rmtree(registry.directory, ignore_errors=True)


def bcrypt_line(user: str, password: str) -> str:
    """An htpasswd line with a bcrypt hash (the only kind distribution accepts)."""
    if shutil.which("htpasswd"):
        done = subprocess.run(
            ["htpasswd", "-Bbn", user, password], capture_output=True, text=True, check=True
        )
        return done.stdout.strip()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            import crypt  # removed in Python 3.13; glibc's crypt(3) does bcrypt

            hashed = crypt.crypt(password, crypt.mksalt(crypt.METHOD_BLOWFISH))
    except (ImportError, AttributeError):
        hashed = None
    if not hashed or not hashed.startswith("$2"):
        unavailable("cannot make a bcrypt hash (apt-get install apache2-utils for htpasswd)")
    return f"{user}:{hashed}"


@pytest.fixture(scope="session")
def registry(skopeo: str) -> Iterator[Registry]:
    started = _start(None)
    yield started
    _stop(started)


@pytest.fixture(scope="session")
def auth_registry(skopeo: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    htpasswd = tmp_path_factory.mktemp("htpasswd") / "htpasswd"
    htpasswd.write_text(bcrypt_line(USER, PASSWORD) + "\n")
    started = _start(htpasswd)
    started.creds = f"{USER}:{PASSWORD}"
    yield started
    _stop(started)


@pytest.fixture(scope="session")
def pushed_single(registry: Registry, tmp_path_factory: pytest.TempPathFactory) -> Pushed:
    layout, manifest = images.single_platform(tmp_path_factory.mktemp("single"), tag="v1")
    return Pushed(registry.push(layout, "v1", "kh/single"), manifest.digest)


@pytest.fixture(scope="session")
def pushed_multi(registry: Registry, tmp_path_factory: pytest.TempPathFactory) -> Pushed:
    layout, index = images.multi_platform(tmp_path_factory.mktemp("multi"), tag="multi")
    return Pushed(registry.push(layout, "multi", "kh/multi", all_images=True), index.digest)


@pytest.fixture(scope="session")
def pushed_private(auth_registry: Registry, tmp_path_factory: pytest.TempPathFactory) -> Pushed:
    layout, manifest = images.single_platform(
        tmp_path_factory.mktemp("private"), tag="v2", text="private\n"
    )
    return Pushed(auth_registry.push(layout, "v2", "kh/private"), manifest.digest)


@dataclass
class BearerRegistry:
    host: str
    pushed: Pushed
    tokens: TokenServer


@pytest.fixture(scope="session")
def bearer_registry(
    registry: Registry, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[BearerRegistry]:
    """distribution with ``auth: token``, trusting JWTs from an in-test token server."""
    if shutil.which("openssl") is None:
        unavailable("openssl is not installed (needed to sign test tokens)")
    directory = tmp_path_factory.mktemp("bearer")
    tokens = TokenServer(Signer.create(directory), login=f"{USER}:{PASSWORD}")
    with token_server(tokens), jwt_registry(directory, free_port(), tokens) as host:
        layout, manifest = images.single_platform(directory / "layout", tag="b1", text="bearer\n")
        pusher = Registry(host, pid=0, directory=directory, creds=f"{USER}:{PASSWORD}")
        pushed = Pushed(pusher.push(layout, "b1", "kh/bearer"), manifest.digest)
        yield BearerRegistry(host, pushed, tokens)
