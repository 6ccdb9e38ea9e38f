"""Credential lookup as the Docker CLI does it: config.json, credsStore, credHelpers."""

from __future__ import annotations

import base64
import json
import stat
from pathlib import Path

import pytest

from keelhaul.registry.auth import Credentials, DockerConfig, config_path, host_of_key
from keelhaul.registry.errors import Problem, RegistryError

HUB = "https://index.docker.io/v1/"


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def write_config(directory: Path, document: object) -> Path:
    path = directory / "config.json"
    path.write_text(json.dumps(document))
    return path


def write_helper(directory: Path, name: str, store: dict[str, tuple[str, str]]) -> Path:
    """A real ``docker-credential-<name>`` program answering ``get`` from ``store``."""
    program = directory / f"docker-credential-{name}"
    table = {k: {"ServerURL": k, "Username": u, "Secret": s} for k, (u, s) in store.items()}
    program.write_text(
        "#!/usr/bin/env python3\n"
        "import json, sys\n"
        f"table = {json.dumps(table)!r}\n"
        "assert sys.argv[1:] == ['get'], sys.argv\n"
        "key = sys.stdin.read().strip()\n"
        "found = json.loads(table).get(key)\n"
        "if found is None:\n"
        "    print('credentials not found in native keychain'); sys.exit(1)\n"
        "if found['Username'] == 'broken':\n"
        "    print('the keychain is locked'); sys.exit(1)\n"
        "print(json.dumps(found))\n"
    )
    program.chmod(program.stat().st_mode | stat.S_IEXEC)
    return program


def test_config_path_follows_docker_config(tmp_path: Path) -> None:
    assert config_path({"DOCKER_CONFIG": str(tmp_path)}) == tmp_path / "config.json"
    assert config_path({"HOME": "/home/u"}) == Path("/home/u/.docker/config.json")


@pytest.mark.parametrize(
    ("key", "host"),
    [
        ("https://index.docker.io/v1/", "index.docker.io"),
        ("http://r.example.com:5000/v2/", "r.example.com:5000"),
        ("r.example.com", "r.example.com"),
        ("127.0.0.1:5001", "127.0.0.1:5001"),
    ],
)
def test_host_of_key(key: str, host: str) -> None:
    assert host_of_key(key) == host


def test_missing_config_means_no_credentials(tmp_path: Path) -> None:
    config = DockerConfig.load(tmp_path / "config.json", env={})
    assert config.credentials("127.0.0.1:5001") is None


def test_auths_forms_and_key_matching(tmp_path: Path) -> None:
    path = write_config(
        tmp_path,
        {
            "auths": {
                HUB: {"auth": b64("hubuser:hub:pass")},
                "https://r.example.com:5000/v2/": {"username": "u", "password": "p"},
                "tok.example.com": {"identitytoken": "refresh-me"},
                "empty.example.com": {},
            }
        },
    )
    config = DockerConfig.load(path, env={})
    hub = config.credentials(HUB)
    assert hub is not None
    assert (hub.username, hub.password) == ("hubuser", "hub:pass")  # only the first ':' splits
    legacy = config.credentials("r.example.com:5000")  # a URL key reduced to its host
    assert legacy is not None
    assert (legacy.username, legacy.password) == ("u", "p")
    token = config.credentials("tok.example.com")
    assert token is not None
    assert token.identity_token == "refresh-me"
    assert not token.has_password
    assert config.credentials("empty.example.com") is None
    # Docker Hub's credentials live under its URL key; a bare host key is not it (Docker CLI).
    bare = DockerConfig.load(
        write_config(tmp_path, {"auths": {"docker.io": {"auth": b64("u:p")}}}), env={}
    )
    assert bare.credentials(HUB) is None


def test_secrets_stay_out_of_repr(tmp_path: Path) -> None:
    path = write_config(tmp_path, {"auths": {"h": {"auth": b64("u:SECRET-PW")}}})
    config = DockerConfig.load(path, env={})
    assert "SECRET-PW" not in repr(config)
    assert "SECRET-PW" not in repr(config.credentials("h"))
    assert "SECRET-TOK" not in repr(Credentials(identity_token="SECRET-TOK"))


@pytest.mark.parametrize(
    ("document", "says"),
    [
        ("{not json", "not valid JSON"),
        ([], "not a JSON object"),
        ({"auths": []}, "'auths' must be an object"),
        ({"auths": {"h": {"auth": "%%%"}}}, "not base64"),
        ({"auths": {"h": {"auth": b64("no-colon")}}}, "not base64 of user:password"),
        ({"credHelpers": {"h": 1}}, "credHelpers"),
    ],
)
def test_broken_config_is_a_clear_error(tmp_path: Path, document: object, says: str) -> None:
    path = tmp_path / "config.json"
    path.write_text(document if isinstance(document, str) else json.dumps(document))
    with pytest.raises(RegistryError) as caught:
        DockerConfig.load(path, env={}).credentials("h")
    assert caught.value.problem is Problem.CREDENTIALS
    assert str(path) in str(caught.value)
    assert says in str(caught.value)


def test_docker_auth_config_env_comes_first(tmp_path: Path) -> None:
    path = write_config(tmp_path, {"auths": {"h": {"auth": b64("file:pw")}}})
    env = {"DOCKER_AUTH_CONFIG": json.dumps({"auths": {"h": {"auth": b64("env:pw")}}})}
    found = DockerConfig.load(path, env=env).credentials("h")
    assert found is not None
    assert found.username == "env"


def test_cred_helpers_and_creds_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    write_helper(bin_dir, "test", {"127.0.0.1:5001": ("helperuser", "helper-pw")})
    write_helper(bin_dir, "store", {HUB: ("<token>", "identity-xyz"), "locked.io": ("broken", "")})
    monkeypatch.setenv("PATH", f"{bin_dir}:{__import__('os').environ['PATH']}")
    path = write_config(
        tmp_path,
        {
            # With a helper configured, auths entries are not used (Docker's native store).
            "auths": {"127.0.0.1:5001": {"auth": b64("ignored:ignored")}},
            "credHelpers": {"127.0.0.1:5001": "test", "gone.io": "missing"},
            "credsStore": "store",
        },
    )
    config = DockerConfig.load(path, env={})
    found = config.credentials("127.0.0.1:5001")
    assert found is not None
    assert (found.username, found.password) == ("helperuser", "helper-pw")
    assert "docker-credential-test" in found.source
    hub = config.credentials(HUB)  # from credsStore; "<token>" means an identity token
    assert hub is not None
    assert (hub.username, hub.identity_token) == ("", "identity-xyz")
    assert config.credentials("unknown.io") is None  # "credentials not found": anonymous
    with pytest.raises(RegistryError, match=r"docker-credential-missing .*not installed"):
        config.credentials("gone.io")
    with pytest.raises(
        RegistryError, match=r"docker-credential-store failed for locked.io: the keychain is locked"
    ):
        config.credentials("locked.io")
