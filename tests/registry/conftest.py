"""Real registries on loopback for the registry client's tests.

``registry`` and ``auth_registry`` are CNCF distribution (Debian's docker-registry) started by
``../shared/tools/registry-up``, the second with Basic auth from an htpasswd file;
``bearer_registry`` is distribution checking JWTs from an in-test token server; images are
written as OCI layouts by :mod:`tests.registry.images` and pushed with skopeo. Without
docker-registry or skopeo these tests skip, except under ``KEELHAUL_REQUIRE_DOCKER=1`` (CI),
where they fail.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import docker_required
from tests.corpus import SHARED
from tests.registry import images
from tests.registry.jwtauth import Signer, TokenServer, token_server
from tests.registry.jwtauth import token_registry as jwt_registry

REGISTRY_UP = SHARED / "tools" / "registry-up"
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


def _start(htpasswd: Path | None) -> Registry:
    if not REGISTRY_UP.is_file():
        unavailable(f"no {REGISTRY_UP}")
    port = free_port()
    args = [str(REGISTRY_UP), str(port)] + ([str(htpasswd)] if htpasswd else [])
    try:
        done = subprocess.run(args, capture_output=True, text=True, check=False, timeout=300)
    except subprocess.TimeoutExpired:
        unavailable("registry-up did not finish in 300s")
        raise
    found = re.search(r"registry dir: (\S+) \(pid (\d+)\)", done.stderr)
    if done.returncode != 0 or found is None:
        unavailable(f"registry-up failed: {done.stderr.strip()[-300:]}")
    assert found is not None
    return Registry(f"127.0.0.1:{port}", int(found.group(2)), Path(found.group(1)))


def _stop(registry: Registry) -> None:
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
