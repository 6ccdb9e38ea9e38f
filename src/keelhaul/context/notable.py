"""Paths in a build context worth a word: VCS data, dependencies, secrets, logs, build output.

Classifying by name is pure (:func:`kind_by_name`); the few kinds a name alone cannot settle
(is this ``.pem`` a private key or a public certificate? is this folder a virtualenv?) are
confirmed by the context reader, which may look inside (:func:`needs_content_check`,
:func:`content_confirms`).
"""

from __future__ import annotations

import re
from enum import StrEnum

from keelhaul.secrets import SecretFileKind, content_shows_secret, secret_file


class NotableKind(StrEnum):
    VCS = "vcs"  # .git (folder, or the file a worktree or submodule has), .hg, .svn
    NODE_MODULES = "node-modules"
    VIRTUALENV = "virtualenv"  # a folder holding pyvenv.cfg
    ENV_FILE = "env-file"  # .env, .env.production, prod.env (not .env.example)
    PRIVATE_KEY = "private-key"  # id_rsa, *.pem/*.key holding a private key, *.p12/*.pfx
    CREDENTIALS = "credentials"  # .npmrc/.pypirc/.netrc/.git-credentials holding a secret
    LOG = "log"  # *.log, npm-debug.log*
    COVERAGE = "coverage"  # coverage/, htmlcov/, .nyc_output/, .coverage
    BUILD_OUTPUT = "build-output"  # dist/, build/, target/, out/, .next/, obj/

    @property
    def is_secret(self) -> bool:
        return self in SECRET_KINDS


SECRET_KINDS = frozenset({NotableKind.ENV_FILE, NotableKind.PRIVATE_KEY, NotableKind.CREDENTIALS})
#: Folders the context reader lists but does not walk into: big, and their contents add nothing.
OPAQUE_KINDS = frozenset({NotableKind.VCS, NotableKind.NODE_MODULES, NotableKind.VIRTUALENV})

_VCS = frozenset({".git", ".hg", ".svn"})
_COVERAGE_DIRS = frozenset({"coverage", "htmlcov", ".nyc_output"})
_BUILD_DIRS = frozenset({"dist", "build", "target", "out", ".next", ".nuxt", "obj"})
_LOG = re.compile(r".*\.log(?:\.\d+)?\Z|(?:npm-debug|yarn-error|yarn-debug|pnpm-debug)\.log")

_SECRET_KINDS_BY_FILE = {
    SecretFileKind.ENV_FILE: NotableKind.ENV_FILE,
    SecretFileKind.PRIVATE_KEY: NotableKind.PRIVATE_KEY,
    SecretFileKind.CREDENTIALS: NotableKind.CREDENTIALS,
}
_FILE_KINDS = {v: k for k, v in _SECRET_KINDS_BY_FILE.items()}


def kind_by_name(name: str, is_dir: bool) -> NotableKind | None:
    """The kind a path's last component suggests (some need :func:`content_confirms`)."""
    if name in _VCS:
        return NotableKind.VCS  # .git is a file in a worktree or submodule
    if is_dir:
        if name == "node_modules":
            return NotableKind.NODE_MODULES
        if name in _COVERAGE_DIRS:
            return NotableKind.COVERAGE
        if name in _BUILD_DIRS:
            return NotableKind.BUILD_OUTPUT
        return None
    secret = secret_file(name)  # the one secret detector decides what a secret file is
    if secret is not None:
        return _SECRET_KINDS_BY_FILE[secret.kind]
    if name == ".coverage":
        return NotableKind.COVERAGE
    if _LOG.match(name):
        return NotableKind.LOG
    return None


def needs_content_check(name: str, kind: NotableKind) -> bool:
    """Whether the name alone does not settle the kind (a .pem may be a public certificate)."""
    if kind not in _FILE_KINDS:
        return False
    secret = secret_file(name)
    if kind is NotableKind.ENV_FILE or name.lower().endswith((".pem", ".key")):
        return True  # an empty .env holds nothing; a .pem or .key may be public
    return secret is None or not secret.likely


def content_confirms(kind: NotableKind, head: bytes) -> bool:
    """Whether the first bytes of a file confirm ``kind`` (a private key, a stored password)."""
    file_kind = _FILE_KINDS.get(kind)
    return file_kind is None or content_shows_secret(file_kind, head)
