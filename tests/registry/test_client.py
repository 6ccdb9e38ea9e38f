"""The registry client against real servers on loopback (see conftest.py and tokenserver.py)."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import shutil
import socket
import ssl
import stat
import subprocess
import threading
from pathlib import Path

import pytest

from keelhaul.registry import (
    DockerConfig,
    Platform,
    Problem,
    RegistryClient,
    RegistryError,
    parse_reference,
    resolve_digest,
    resolve_digest_from_engine,
)
from keelhaul.registry.client import OCI_INDEX, OCI_MANIFEST, parse_challenges
from tests.registry.conftest import PASSWORD, USER, BearerRegistry, Pushed, Registry, free_port
from tests.registry.tokenserver import TOKEN, TokenRegistry, token_registry


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def config_with(directory: Path, document: object) -> DockerConfig:
    path = directory / "config.json"
    path.write_text(json.dumps(document))
    return DockerConfig.load(path, env={})


def no_credentials(directory: Path) -> DockerConfig:
    return DockerConfig.load(directory / "absent.json", env={})


# -- anonymous registry -----------------------------------------------------------------------


def test_single_platform_manifest_digest(pushed_single: Pushed, tmp_path: Path) -> None:
    resolved = resolve_digest(pushed_single.reference, config=no_credentials(tmp_path))
    assert resolved.digest == pushed_single.digest
    assert resolved.media_type == OCI_MANIFEST
    assert not resolved.is_index
    assert resolved.pinned.familiar() == f"{pushed_single.reference}@{pushed_single.digest}"
    read = resolve_digest(pushed_single.reference, platforms=True)
    assert (read.digest, read.platforms) == (pushed_single.digest, None)


def test_multi_platform_gives_the_index_digest(registry: Registry, pushed_multi: Pushed) -> None:
    raw = registry.raw_manifest(pushed_multi.reference)  # skopeo's view of the same tag
    expected = "sha256:" + hashlib.sha256(raw).hexdigest()
    assert expected == pushed_multi.digest
    with RegistryClient() as client:
        resolved = client.resolve_digest(pushed_multi.reference)
        assert (resolved.digest, resolved.media_type) == (expected, OCI_INDEX)
        assert resolved.is_index
        listed = client.resolve_digest(pushed_multi.reference, platforms=True)
        assert listed.digest == expected
        assert listed.platforms == (Platform("linux", "amd64"), Platform("linux", "arm64", "v8"))
        manifest = client.fetch_manifest(pushed_multi.reference)
        assert manifest.body == raw


def test_resolving_a_digest_reference_checks_it(pushed_single: Pushed) -> None:
    name = pushed_single.reference.rsplit(":", 1)[0]
    resolved = resolve_digest(f"{name}@{pushed_single.digest}")
    assert resolved.digest == pushed_single.digest
    # A pinned reference is refreshed through its tag, whatever the old pin says.
    stale = "sha256:" + "1" * 64
    assert resolve_digest(f"{pushed_single.reference}@{stale}").digest == pushed_single.digest


@pytest.mark.parametrize(
    "suffix", ["kh/single:nope", "kh/nothing:v1", f"kh/single@sha256:{'2' * 64}"]
)
def test_unknown_tag_or_repository(registry: Registry, pushed_single: Pushed, suffix: str) -> None:
    reference = f"{registry.host}/{suffix}"
    with pytest.raises(RegistryError) as caught:
        resolve_digest(reference)
    assert caught.value.problem is Problem.NOT_FOUND
    assert registry.host in str(caught.value)
    assert reference in str(caught.value)


def test_registry_down() -> None:
    host = f"127.0.0.1:{free_port()}"
    with pytest.raises(RegistryError) as caught:
        resolve_digest(f"{host}/kh/app:v1", timeout=5)
    assert caught.value.problem is Problem.UNREACHABLE
    assert f"cannot reach registry {host}" in str(caught.value)


# -- Basic auth (distribution with htpasswd) ----------------------------------------------------


@pytest.mark.parametrize("form", ["auth", "username", "url-key"])
def test_basic_auth_from_config_json(
    auth_registry: Registry,
    pushed_private: Pushed,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    form: str,
) -> None:
    host = auth_registry.host
    entry: dict[str, str] = {"auth": b64(f"{USER}:{PASSWORD}")}
    key = host
    if form == "username":
        entry = {"username": USER, "password": PASSWORD}
    elif form == "url-key":
        key = f"http://{host}/v2/"
    (tmp_path / "config.json").write_text(json.dumps({"auths": {key: entry}}))
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path))  # the default lookup path
    assert resolve_digest(pushed_private.reference).digest == pushed_private.digest


def test_basic_auth_from_a_credential_helper(
    auth_registry: Registry, pushed_private: Pushed, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    helper = tmp_path / "docker-credential-khtest"
    helper.write_text(
        "#!/bin/sh\n"
        "read server\n"
        f'if [ "$server" = "{auth_registry.host}" ]; then\n'
        f'  echo \'{{"ServerURL": "{auth_registry.host}", "Username": "{USER}", "Secret": "{PASSWORD}"}}\'\n'
        "else echo 'credentials not found in native keychain'; exit 1; fi\n"
    )
    helper.chmod(helper.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{tmp_path}:{os.environ['PATH']}")
    config = config_with(tmp_path, {"credHelpers": {auth_registry.host: "khtest"}})
    assert resolve_digest(pushed_private.reference, config=config).digest == pushed_private.digest


def test_wrong_credentials(auth_registry: Registry, pushed_private: Pushed, tmp_path: Path) -> None:
    config = config_with(
        tmp_path, {"auths": {auth_registry.host: {"auth": b64(f"{USER}:not-it-XYZ")}}}
    )
    with pytest.raises(RegistryError) as caught:
        resolve_digest(pushed_private.reference, config=config)
    message = str(caught.value)
    assert caught.value.problem is Problem.UNAUTHORIZED
    assert f"wrong credentials for {auth_registry.host}" in message
    assert "not-it-XYZ" not in message
    assert b64(f"{USER}:not-it-XYZ") not in message


def test_no_credentials_for_a_private_registry(
    auth_registry: Registry, pushed_private: Pushed, tmp_path: Path
) -> None:
    with pytest.raises(RegistryError) as caught:
        resolve_digest(pushed_private.reference, config=no_credentials(tmp_path))
    assert caught.value.problem is Problem.UNAUTHORIZED
    assert f"docker login {auth_registry.host}" in str(caught.value)


def test_missing_credential_helper(
    auth_registry: Registry, pushed_private: Pushed, tmp_path: Path
) -> None:
    config = config_with(tmp_path, {"credsStore": "keelhaul-absent"})
    with pytest.raises(RegistryError) as caught:
        resolve_digest(pushed_private.reference, config=config)
    assert caught.value.problem is Problem.CREDENTIALS
    assert "docker-credential-keelhaul-absent" in str(caught.value)


# -- Bearer tokens (a real HTTP token flow, see tokenserver.py for why not distribution) -------


def test_bearer_anonymous_token(tmp_path: Path) -> None:
    with (
        token_registry(TokenRegistry()) as server,
        RegistryClient(config=no_credentials(tmp_path)) as client,
    ):
        reference = f"{server.host}/kh/app:v1"
        assert client.resolve_digest(reference).digest == server.digest
        assert client.resolve_digest(reference).digest == server.digest
        token_calls = [r for r in server.requests if r[1].startswith("/token")]
        assert len(token_calls) == 1  # the token is reused
        first = server.requests[0]
        assert "Authorization" not in first[2]  # anonymous first
        assert "Authorization" not in token_calls[0][2]


@pytest.mark.parametrize("token_field", ["token", "access_token"])
def test_bearer_token_with_credentials(tmp_path: Path, token_field: str) -> None:
    state = TokenRegistry(login="tokuser:tok-pass", token_field=token_field)
    with token_registry(state) as server:
        config = config_with(tmp_path, {"auths": {server.host: {"auth": b64("tokuser:tok-pass")}}})
        resolved = resolve_digest(f"{server.host}/kh/app:v1", config=config)
        assert resolved.digest == server.digest
        registry_calls = [r for r in server.requests if r[1].startswith("/v2/")]
        assert all(not r[2].get("Authorization", "").startswith("Basic") for r in registry_calls)
        assert registry_calls[-1][2]["Authorization"] == f"Bearer {TOKEN}"


def test_bearer_wrong_credentials(tmp_path: Path) -> None:
    with token_registry(TokenRegistry(login="tokuser:tok-pass")) as server:
        config = config_with(tmp_path, {"auths": {server.host: {"auth": b64("tokuser:bad-PW-9")}}})
        with pytest.raises(RegistryError) as caught:
            resolve_digest(f"{server.host}/kh/app:v1", config=config)
        assert caught.value.problem is Problem.UNAUTHORIZED
        assert f"wrong credentials for {server.host}" in str(caught.value)
        assert "bad-PW-9" not in str(caught.value)


def test_bearer_identity_token_is_a_refresh_grant(tmp_path: Path) -> None:
    with token_registry(TokenRegistry(refresh_token="refresh-abc")) as server:
        config = config_with(tmp_path, {"auths": {server.host: {"identitytoken": "refresh-abc"}}})
        assert resolve_digest(f"{server.host}/kh/app:v1", config=config).digest == server.digest
        posts = [r for r in server.requests if r[0] == "POST"]
        assert len(posts) == 1
        assert b"grant_type=refresh_token" in posts[0][3]


def test_missing_digest_header_falls_back_to_hashing(tmp_path: Path) -> None:
    with token_registry(TokenRegistry(send_digest=False)) as server:
        resolved = resolve_digest(f"{server.host}/kh/app:v1", config=no_credentials(tmp_path))
        assert resolved.digest == server.digest
        assert [r[0] for r in server.requests if r[1].startswith("/v2/")][-1] == "GET"


def test_digest_header_that_disagrees_with_the_body(tmp_path: Path) -> None:
    with token_registry(TokenRegistry(wrong_digest=True)) as server:
        with pytest.raises(RegistryError) as caught:
            resolve_digest(
                f"{server.host}/kh/app:v1", config=no_credentials(tmp_path), platforms=True
            )
        assert caught.value.problem is Problem.MALFORMED
        assert server.digest in str(caught.value)


@pytest.mark.parametrize("platforms", [False, True])
def test_redirect_to_another_host_drops_the_token(tmp_path: Path, platforms: bool) -> None:
    with token_registry(TokenRegistry(redirect=True)) as server:
        resolved = resolve_digest(
            f"{server.host}/kh/app:v1", config=no_credentials(tmp_path), platforms=platforms
        )
        assert resolved.digest == server.digest
        moved = [r for r in server.requests if r[1] == "/elsewhere/manifest"]
        assert moved
        assert all("Authorization" not in r[2] for r in moved)
        assert moved[0][2]["Host"].startswith("localhost:")


def test_oversized_manifest_is_refused(tmp_path: Path) -> None:
    huge = b'{"pad": "' + b"x" * (5 * 1024 * 1024) + b'"}'
    with token_registry(TokenRegistry(manifest=huge, send_digest=False)) as server:
        with pytest.raises(RegistryError) as caught:
            resolve_digest(f"{server.host}/kh/app:v1", config=no_credentials(tmp_path))
        assert caught.value.problem is Problem.MALFORMED
        assert "more than" in str(caught.value)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (
            'Bearer realm="https://auth.example.com/token",service="registry.example.com",'
            'scope="repository:library/python:pull"',
            [
                (
                    "bearer",
                    {
                        "realm": "https://auth.example.com/token",
                        "service": "registry.example.com",
                        "scope": "repository:library/python:pull",
                    },
                )
            ],
        ),
        ('Basic realm="keelhaul-test"', [("basic", {"realm": "keelhaul-test"})]),
        (
            'Basic realm="a \\"quoted\\" realm", Bearer realm=https://t/x',
            [("basic", {"realm": 'a "quoted" realm'}), ("bearer", {"realm": "https://t/x"})],
        ),
    ],
)
def test_parse_challenges(header: str, expected: list[tuple[str, dict[str, str]]]) -> None:
    assert parse_challenges([header]) == expected


# -- the local Docker Engine --------------------------------------------------------------------


@pytest.mark.docker
def test_engine_repo_digest_matches_the_registry(docker_engine: str, registry: Registry) -> None:
    reference = f"{registry.host}/kh/engine:pushed"
    subprocess.run(["docker", "tag", docker_engine, reference], check=True, capture_output=True)
    try:
        subprocess.run(["docker", "push", reference], check=True, capture_output=True, timeout=300)
        from_engine = resolve_digest_from_engine(reference)
        from_registry = resolve_digest(reference)
        assert from_engine.digest == from_registry.digest
        assert from_engine.source == "engine"
        assert from_engine.reference == parse_reference(reference)
    finally:
        subprocess.run(["docker", "rmi", reference], check=False, capture_output=True)


@pytest.mark.docker
def test_engine_without_the_image_or_its_digest(docker_engine: str) -> None:
    with pytest.raises(RegistryError) as caught:
        resolve_digest_from_engine("keelhaul-test/absent-image:nope")
    assert caught.value.problem is Problem.NOT_FOUND
    assert "not in the local Docker Engine" in str(caught.value)
    inspected = subprocess.run(
        ["docker", "image", "inspect", "--format", "{{json .RepoDigests}}", docker_engine],
        capture_output=True,
        text=True,
        check=True,
    )
    if json.loads(inspected.stdout):
        pytest.skip(f"{docker_engine} has registry digests here")
    with pytest.raises(RegistryError) as caught:
        resolve_digest_from_engine(docker_engine)
    assert caught.value.problem is Problem.NOT_FOUND
    assert "no digest" in str(caught.value)


def test_engine_unreachable(tmp_path: Path) -> None:
    with pytest.raises(RegistryError) as caught:
        resolve_digest_from_engine("python:3.12", docker_host=f"unix://{tmp_path}/no.sock")
    assert caught.value.problem is Problem.ENGINE
    assert "no Docker Engine answers" in str(caught.value)


# -- Bearer tokens with a real registry (distribution checking JWTs, see jwtauth.py) -----------


def test_real_bearer_flow_with_credentials(bearer_registry: BearerRegistry, tmp_path: Path) -> None:
    host = bearer_registry.host
    config = config_with(tmp_path, {"auths": {host: {"auth": b64(f"{USER}:{PASSWORD}")}}})
    with RegistryClient(config=config) as client:
        resolved = client.resolve_digest(bearer_registry.pushed.reference)
        assert resolved.digest == bearer_registry.pushed.digest
        listed = client.resolve_digest(bearer_registry.pushed.reference, platforms=True)
        assert listed.digest == bearer_registry.pushed.digest


def test_real_bearer_flow_anonymous(bearer_registry: BearerRegistry, tmp_path: Path) -> None:
    bearer_registry.tokens.login = None  # the token server now serves anyone
    try:
        resolved = resolve_digest(bearer_registry.pushed.reference, config=no_credentials(tmp_path))
    finally:
        bearer_registry.tokens.login = f"{USER}:{PASSWORD}"
    assert resolved.digest == bearer_registry.pushed.digest


def test_real_bearer_flow_wrong_or_no_credentials(
    bearer_registry: BearerRegistry, tmp_path: Path
) -> None:
    host = bearer_registry.host
    config = config_with(tmp_path, {"auths": {host: {"auth": b64(f"{USER}:Wrong-pw-42")}}})
    with pytest.raises(RegistryError) as caught:
        resolve_digest(bearer_registry.pushed.reference, config=config)
    assert caught.value.problem is Problem.UNAUTHORIZED
    assert f"wrong credentials for {host}" in str(caught.value)
    assert "Wrong-pw-42" not in str(caught.value)
    with pytest.raises(RegistryError) as caught:
        resolve_digest(bearer_registry.pushed.reference, config=no_credentials(tmp_path))
    assert f"docker login {host}" in str(caught.value)


# -- TLS ----------------------------------------------------------------------------------------


def test_untrusted_certificate_is_a_tls_error(tmp_path: Path) -> None:
    """A registry on 127.0.0.1 named for HTTPS, with a self-signed certificate."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    key, cert = tmp_path / "tls.key", tmp_path / "tls.crt"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"),
            *("-subj", "/CN=127.0.0.1", "-keyout", str(key), "-out", str(cert)),
        ],
        check=True,
        capture_output=True,
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    server_socket = context.wrap_socket(socket.create_server(("127.0.0.1", 0)), server_side=True)
    host = f"127.0.0.1:{server_socket.getsockname()[1]}"

    def accept_once() -> None:
        with contextlib.suppress(OSError):
            connection, _ = server_socket.accept()  # the handshake fails on the client side
            connection.close()

    thread = threading.Thread(target=accept_once, daemon=True)
    thread.start()
    try:
        with pytest.raises(RegistryError) as caught:
            resolve_digest(f"{host}/kh/app:v1", https_registries={host}, timeout=10)
    finally:
        server_socket.close()
        thread.join(timeout=5)
    assert caught.value.problem is Problem.TLS
    assert f"TLS with registry {host} failed" in str(caught.value)
    assert "CERTIFICATE_VERIFY_FAILED" in str(caught.value) or "certificate" in str(caught.value)
