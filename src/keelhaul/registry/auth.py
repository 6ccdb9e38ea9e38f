"""Registry credentials, found where and how the Docker CLI finds them.

The configuration is ``$DOCKER_CONFIG/config.json`` (default ``~/.docker/config.json``); a JSON
document in ``$DOCKER_AUTH_CONFIG`` is consulted first, as recent Docker CLIs do. For a registry
key (``https://index.docker.io/v1/`` for Docker Hub, else ``host[:port]``):

1. a credential helper named in ``credHelpers[key]``, else the one in ``credsStore``, is the
   only source: ``docker-credential-<name> get`` with the key on stdin prints
   ``{"Username": ..., "Secret": ...}`` (a Username of ``<token>`` means an identity token);
   "credentials not found" means anonymous;
2. otherwise ``auths``: the entry under the exact key, else the first whose key reduces to the
   same host (``https://host:5000/v2/`` matches ``host:5000``), giving ``auth``
   (base64 of ``user:password``), ``username``/``password`` or ``identitytoken``.

Secrets never appear in a ``repr`` or an error message.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from keelhaul.reading import read_limited
from keelhaul.registry.errors import Problem, RegistryError

__all__ = ["Credentials", "DockerConfig", "config_path", "host_of_key"]

HELPER_TIMEOUT = 30.0
CONFIG_MAX_BYTES = 4 * 1024 * 1024
HELPER_OUTPUT_MAX = 1024 * 1024
_NOT_FOUND = "credentials not found"
_TOKEN_USERNAME = "<token>"


@dataclass(frozen=True)
class Credentials:
    """What to log in with. ``source`` says where it came from, for messages."""

    username: str = ""
    password: str = field(default="", repr=False)
    identity_token: str = field(default="", repr=False)
    source: str = ""

    @property
    def has_password(self) -> bool:
        return bool(self.username or self.password)


def config_path(env: Mapping[str, str] | None = None) -> Path:
    env = os.environ if env is None else env
    directory = env.get("DOCKER_CONFIG")
    if directory:
        return Path(directory) / "config.json"
    return Path(env.get("HOME") or Path.home()) / ".docker" / "config.json"


def host_of_key(key: str) -> str:
    """A config key reduced to host[:port], as Docker's legacy-key matching does."""
    for scheme in ("http://", "https://"):
        if key.startswith(scheme):
            key = key[len(scheme) :]
            break
    return key.partition("/")[0]


@dataclass(frozen=True)
class _Entry:
    username: str
    password: str = field(repr=False)
    identity_token: str = field(repr=False)


@dataclass(frozen=True)
class DockerConfig:
    """The credential part of a Docker CLI configuration."""

    path: Path | None = None
    auths: Mapping[str, _Entry] = field(default_factory=dict, repr=False)
    env_auths: Mapping[str, _Entry] = field(default_factory=dict, repr=False)
    creds_store: str = ""
    cred_helpers: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path | None = None, env: Mapping[str, str] | None = None) -> DockerConfig:
        """Read the configuration; a missing file means no credentials."""
        env = os.environ if env is None else env
        path = config_path(env) if path is None else path
        data: dict[str, Any] = {}
        try:
            raw = read_limited(path, CONFIG_MAX_BYTES, pipes=True)
        except FileNotFoundError:
            raw = b""
        except OSError as err:
            raise RegistryError(
                Problem.CREDENTIALS, f"{path}: cannot read: {err.strerror or err}"
            ) from None
        if len(raw) > CONFIG_MAX_BYTES:
            raise RegistryError(
                Problem.CREDENTIALS, f"{path}: larger than {CONFIG_MAX_BYTES} bytes"
            )
        if raw.strip():
            data = _json_object(raw, str(path))
        env_auths: dict[str, _Entry] = {}
        env_text = env.get("DOCKER_AUTH_CONFIG")
        if env_text:
            env_auths = _auths(
                _json_object(env_text.encode(), "$DOCKER_AUTH_CONFIG"), "$DOCKER_AUTH_CONFIG"
            )
        helpers = data.get("credHelpers") or {}
        store = data.get("credsStore") or ""
        if not isinstance(helpers, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in helpers.items()
        ):
            raise RegistryError(Problem.CREDENTIALS, f"{path}: credHelpers must map hosts to names")
        if not isinstance(store, str):
            raise RegistryError(Problem.CREDENTIALS, f"{path}: credsStore must be a name")
        return cls(
            path=path,
            auths=_auths(data, str(path)),
            env_auths=env_auths,
            creds_store=store,
            cred_helpers=dict(helpers),
        )

    def helper_for(self, key: str) -> str:
        """The credential helper Docker would ask for ``key`` ('' when none)."""
        return self.cred_helpers.get(key) or self.creds_store

    def credentials(self, key: str) -> Credentials | None:
        """Credentials for a registry key (see :attr:`Reference.auth_key`), or None."""
        found = _lookup(self.env_auths, key, "$DOCKER_AUTH_CONFIG")
        if found is not None:
            return found
        helper = self.helper_for(key)
        if helper:
            return run_helper(helper, key)
        return _lookup(self.auths, key, str(self.path))


def run_helper(helper: str, key: str) -> Credentials | None:
    """``docker-credential-<helper> get`` for ``key``; None when it has nothing stored."""
    program = f"docker-credential-{helper}"
    try:
        done = subprocess.run(
            [program, "get"],
            input=key.encode(),
            capture_output=True,
            timeout=HELPER_TIMEOUT,
            check=False,
        )
    except FileNotFoundError:
        raise RegistryError(
            Problem.CREDENTIALS,
            f"credential helper {program} (configured for {key}) is not installed or not on PATH",
        ) from None
    except subprocess.TimeoutExpired:
        raise RegistryError(
            Problem.CREDENTIALS, f"credential helper {program} did not answer for {key} in time"
        ) from None
    except OSError as err:
        raise RegistryError(
            Problem.CREDENTIALS, f"credential helper {program} cannot run: {err.strerror or err}"
        ) from None
    output = done.stdout[:HELPER_OUTPUT_MAX].decode("utf-8", "replace").strip()
    if done.returncode != 0:
        if _NOT_FOUND in output.lower():
            return None
        said = output or done.stderr[:500].decode("utf-8", "replace").strip()
        said = said.splitlines()[0][:200] if said else f"exit status {done.returncode}"
        raise RegistryError(
            Problem.CREDENTIALS, f"credential helper {program} failed for {key}: {said}"
        )
    try:
        answer = json.loads(output)
    except ValueError:
        answer = None
    if not isinstance(answer, dict):
        raise RegistryError(
            Problem.CREDENTIALS, f"credential helper {program} gave no JSON object for {key}"
        )
    username, secret = answer.get("Username", ""), answer.get("Secret", "")
    if not isinstance(username, str) or not isinstance(secret, str):
        raise RegistryError(
            Problem.CREDENTIALS, f"credential helper {program} gave malformed credentials for {key}"
        )
    if not username and not secret:
        return None
    source = f"credential helper {program}"
    if username == _TOKEN_USERNAME:
        return Credentials(identity_token=secret, source=source)
    return Credentials(username=username, password=secret, source=source)


def _json_object(raw: bytes, where: str) -> dict[str, Any]:
    try:
        data = json.loads(raw)
    except ValueError as err:
        raise RegistryError(Problem.CREDENTIALS, f"{where}: not valid JSON ({err})") from None
    if not isinstance(data, dict):
        raise RegistryError(Problem.CREDENTIALS, f"{where}: not a JSON object")
    return data


def _auths(data: Mapping[str, Any], where: str) -> dict[str, _Entry]:
    auths = data.get("auths")
    if auths is None:
        auths = {}
    if not isinstance(auths, dict):
        raise RegistryError(Problem.CREDENTIALS, f"{where}: 'auths' must be an object")
    entries: dict[str, _Entry] = {}
    for key, value in auths.items():
        if not isinstance(value, dict):
            raise RegistryError(Problem.CREDENTIALS, f"{where}: auths[{key!r}] must be an object")
        entries[key] = _entry(value, f"{where}: auths[{key!r}]")
    return entries


def _entry(value: Mapping[str, Any], where: str) -> _Entry:
    def text(name: str) -> str:
        found = value.get(name) or ""
        if not isinstance(found, str):
            raise RegistryError(Problem.CREDENTIALS, f"{where}: {name} must be a string")
        return found

    username, password = text("username"), text("password")
    encoded = text("auth")
    if encoded:
        try:
            decoded = base64.b64decode(encoded, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise RegistryError(
                Problem.CREDENTIALS, f"{where}: 'auth' is not base64 of user:password"
            ) from None
        username, colon, password = decoded.partition(":")
        if not colon or not username:
            raise RegistryError(
                Problem.CREDENTIALS, f"{where}: 'auth' is not base64 of user:password"
            )
        password = password.strip("\x00")
    return _Entry(username=username, password=password, identity_token=text("identitytoken"))


def _lookup(entries: Mapping[str, _Entry], key: str, where: str) -> Credentials | None:
    found_key = key if key in entries else None
    if found_key is None:
        found_key = next((k for k in entries if host_of_key(k) == key), None)
    if found_key is None:
        return None
    entry = entries[found_key]
    if not (entry.username or entry.password or entry.identity_token):
        return None
    return Credentials(
        username=entry.username,
        password=entry.password,
        identity_token=entry.identity_token,
        source=f"{where} (auths[{found_key!r}])",
    )
