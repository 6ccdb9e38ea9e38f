"""Paths in a build context worth a word: VCS data, dependencies, secrets, logs, build output.

Classifying by name is pure (:func:`kind_by_name`); the few kinds a name alone cannot settle
(is this ``.pem`` a private key or a public certificate? is this folder a virtualenv?) are
confirmed by the context reader, which may look inside (:func:`needs_content_check`,
:func:`content_confirms`).
"""

from __future__ import annotations

import re
from enum import StrEnum


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
_KEY_NAMES = re.compile(r"id_(?:rsa|dsa|ecdsa|ed25519)(?:_sk)?\Z")
_KEY_BUNDLES = (".p12", ".pfx")
_MAYBE_KEY = (".pem", ".key")
_CREDENTIAL_FILES = frozenset({".npmrc", ".pypirc", ".netrc", ".git-credentials"})
_ENV_TEMPLATE = re.compile(r"(?i)example|sample|template|dist|default|tpl|schema")
_LOG = re.compile(r".*\.log(?:\.\d+)?\Z|(?:npm-debug|yarn-error|yarn-debug|pnpm-debug)\.log")

#: What a file must contain to count, for names that do not settle it.
_CONTENT_MARKERS: dict[NotableKind, re.Pattern[bytes]] = {
    NotableKind.PRIVATE_KEY: re.compile(
        rb"-----BEGIN [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----|PuTTY-User-Key"
    ),
    NotableKind.CREDENTIALS: re.compile(
        rb"(?i)_authToken\s*=|_auth\s*=|_password\s*=|^\s*password\s*[=:]|\bpassword\s+\S|"
        rb"https?://[^/\s:@]+:[^/\s@]+@",
        re.MULTILINE,
    ),
}


def _is_env_file(name: str) -> bool:
    if name == ".env":
        return True
    if name.startswith(".env."):
        return not _ENV_TEMPLATE.search(name[5:])
    if name.endswith(".env") and len(name) > 4:
        return not _ENV_TEMPLATE.search(name[:-4])
    return False


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
    if _is_env_file(name):
        return NotableKind.ENV_FILE
    if _KEY_NAMES.match(name) or name.endswith(_KEY_BUNDLES + _MAYBE_KEY):
        return NotableKind.PRIVATE_KEY
    if name in _CREDENTIAL_FILES:
        return NotableKind.CREDENTIALS
    if name == ".coverage":
        return NotableKind.COVERAGE
    if _LOG.match(name):
        return NotableKind.LOG
    return None


def needs_content_check(name: str, kind: NotableKind) -> bool:
    """Whether the name alone does not settle the kind (a .pem may be a public certificate)."""
    if kind is NotableKind.PRIVATE_KEY:
        return name.endswith(_MAYBE_KEY)
    return kind is NotableKind.CREDENTIALS


def content_confirms(kind: NotableKind, head: bytes) -> bool:
    """Whether the first bytes of a file confirm ``kind`` (a private key, a stored password)."""
    marker = _CONTENT_MARKERS.get(kind)
    return marker is None or marker.search(head) is not None
