"""Secrets in an image: files that are keys or credentials, tokens in text files, and values in
the config (Env, Labels) and history (build args and commands in ``created_by``).

Everything goes through :mod:`keelhaul.secrets`, the one detector; this module only decides
which files deserve a look. Files are judged from the bounded head the layer pass keeps
(:data:`HEAD_BYTES`), binaries (a NUL byte in the head) and known-harmless trees (system
libraries, package databases, installed packages' own files) are skipped, and a bytes-level
keyword test runs before any regular expression. Only redacted forms are kept.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from ahocorasick_rs import BytesAhoCorasick

from keelhaul import secrets
from keelhaul.image.layer_walk import Analyzer, LayerAnalysis, LayerRead, Member
from keelhaul.image.model import Layer
from keelhaul.image.tarstream import FILE

#: Bytes of a file's start kept for the secret scan.
HEAD_BYTES = 64 << 10
#: Files larger than this are not scanned for tokens (data, not configuration).
MAX_SCANNED_FILE = 1 << 20

_HARMLESS = re.compile(
    r"^(?:usr/(?:share|lib|lib32|lib64|libexec|include|bin|sbin|src)/|lib/|lib32/|lib64/|bin/"
    r"|sbin/|var/lib/(?:dpkg|apt|rpm|dnf|yum|apk)/|var/cache/|var/log/|proc/|sys/|dev/"
    r"|etc/ssl/|etc/ca-certificates|usr/local/(?:go|lib/python[^/]*|share)/)"
    r"|(?:^|/)(?:node_modules|site-packages|dist-packages|\.git|__pycache__|go/pkg/mod)/"
)
_BINARY_SUFFIXES = (
    ".so", ".a", ".o", ".pyc", ".jar", ".zip", ".gz", ".xz", ".bz2", ".zst", ".png", ".jpg",
    ".jpeg", ".gif", ".ico", ".woff", ".woff2", ".ttf", ".otf", ".mo", ".wasm", ".whl",
    ".class", ".pdf", ".db", ".sqlite", ".svg", ".map", ".min.js",
)  # fmt: skip
#: A secret of any format holds one of these (cheap, on bytes): most files hold none. The
#: keyword test is one Aho-Corasick pass (ahocorasick-rs) over the head and one over its ASCII
#: lower case, ten times faster than a regular expression of alternatives, which Python's
#: engine tries one by one at every position.
_KEYWORDS = BytesAhoCorasick(
    [b"AKIA", b"ASIA", b"ABIA", b"ACCA", b"ghp_", b"gho_", b"ghu_", b"ghs_", b"ghr_",
     b"github_pat_", b"glpat-", b"gldt-", b"glrt-", b"glptt-", b"glcbt-", b"gloas-", b"glft-",
     b"xox", b"hooks.slack", b"_live_", b"AIza", b"npm_", b"pypi-", b"dckr_pat_", b"sk-", b"hf_",
     b"SG.", b"PRIVATE KEY", b"eyJ"]
)  # fmt: skip
_KEYWORDS_ANY_CASE = BytesAhoCorasick(
    [b"secret", b"authorization", b"token", b"api-key", b"_auth", b"_password", b"machine",
     b"accountkey"]
)  # fmt: skip
_URL_CREDENTIALS = re.compile(rb"://[^/\s]+@")


def has_keyword(head: bytes) -> bool:
    """Whether ``head`` holds anything a secret of a known format starts with."""
    if _KEYWORDS.find_matches_as_indexes(head):
        return True
    if _KEYWORDS_ANY_CASE.find_matches_as_indexes(head.lower()):
        return True
    return b"@" in head and _URL_CREDENTIALS.search(head) is not None


_ASSIGNMENT = re.compile(r"(?:^|\s)([A-Za-z_][A-Za-z0-9_]*)=(\"[^\"]*\"|'[^']*'|\S+)")
#: A RUN's build args as the builders record them: ``|2 A=1 B=2 /bin/sh -c ...``.
_CONFIG_ENTRY = re.compile(r"^(?:/bin/sh -c #\(nop\)\s+)?(?:ENV|LABEL)\s")
_BUILD_ARGS = re.compile(r"^(?:RUN\s+)?\|\d+\s+(.*?)(?:\s/bin/sh -c|\s/bin/bash -c|\s\[|$)", re.S)


@dataclass(frozen=True)
class SecretHit:
    where: str
    """``file``, ``content``, ``env``, ``label`` or ``history``."""
    path: str
    """The file (absolute), ``Env NAME``, ``Label NAME`` or ``history #N``."""
    layer: int | None
    label: str
    redacted: str


def wants_head(path: str, size: int) -> bool:
    """Whether the layer pass should keep this file's head for :func:`scan_file`."""
    if size == 0 or _HARMLESS.search(path) is not None:
        return False  # a key under /usr/share or in site-packages is a test fixture
    if secrets.secret_file(path) is not None:
        return True
    return size <= MAX_SCANNED_FILE and not path.endswith(_BINARY_SUFFIXES)


def scan_file(path: str, head: bytes, layer: int) -> Iterator[SecretHit]:
    """Secrets in one file, from its head (the path is root-relative)."""
    shown = "/" + path
    named = secrets.secret_file(path)
    if b"\0" in head[:8192]:
        if named is not None and named.likely and named.kind != secrets.SecretFileKind.ENV_FILE:
            yield SecretHit("file", shown, layer, named.label, "(binary)")
        return
    if named is not None and secrets.content_shows_secret(named.kind, head):
        found = secrets.find_secrets_in_bytes(head, limit=1)
        yield SecretHit("file", shown, layer, named.label, found[0].redacted if found else "…")
        return
    if not has_keyword(head):
        return
    for secret in secrets.find_secrets_in_bytes(head, limit=4):
        yield SecretHit("content", shown, layer, secret.label, secret.redacted)


class SecretsInFiles(Analyzer[list[SecretHit]]):
    """The layer walk's analyzer for secrets in files: each file :func:`wants_head` picks
    has its head kept as it passes, scanned at the file's end (:func:`scan_file`) and
    dropped; only the redacted hits stay."""

    name = "secrets"
    version = "1"

    def start(self, layer: Layer) -> LayerAnalysis[list[SecretHit]]:
        return _SecretsOfLayer(layer.index)


SECRETS_IN_FILES = SecretsInFiles()


class _SecretsOfLayer(LayerAnalysis[list[SecretHit]]):
    def __init__(self, index: int) -> None:
        self.index = index
        self.hits: list[SecretHit] = []

    def member(self, member: Member) -> _Head | None:
        entry = member.entry
        if entry.kind != FILE or not wants_head(member.path, entry.size):
            return None
        return _Head(self, member.path)

    def finish(self, read: LayerRead) -> list[SecretHit]:
        return self.hits


class _Head:
    """The first :data:`HEAD_BYTES` of one file, scanned when the file ends."""

    def __init__(self, layer: _SecretsOfLayer, path: str) -> None:
        self.layer = layer
        self.path = path
        self.head = bytearray()

    def add(self, chunk: memoryview) -> bool:
        self.head += chunk[: HEAD_BYTES - len(self.head)]
        return len(self.head) < HEAD_BYTES

    def end(self) -> None:
        self.layer.hits.extend(scan_file(self.path, bytes(self.head), self.layer.index))


def scan_config(config: Mapping[str, Any]) -> Iterator[SecretHit]:
    """Secrets in the config's Env and Labels."""
    inner = config.get("config") or {}
    if not isinstance(inner, Mapping):
        return
    for item in inner.get("Env") or ():
        if not isinstance(item, str):
            continue
        name, _, value = item.partition("=")
        label = secrets.assignment_secret(name, value)
        if label is not None:
            yield SecretHit("env", f"Env {name}", None, label, secrets.redact(value))
    labels = inner.get("Labels") or {}
    if isinstance(labels, Mapping):
        for name, value in labels.items():
            if isinstance(name, str) and isinstance(value, str):
                label = secrets.assignment_secret(name, value)
                if label is not None:
                    yield SecretHit("label", f"Label {name}", None, label, secrets.redact(value))


def scan_history(entries: list[tuple[int, str, int | None]]) -> Iterator[SecretHit]:
    """Secrets in history ``(index, created_by, layer)``: build args (``|2 TOKEN=...``),
    ``ARG NAME=value`` entries and tokens of a known format anywhere in the command."""
    for index, created_by, layer in entries:
        where = f"history #{index + 1}"
        seen: set[str] = set()
        assignments = ""
        match = _BUILD_ARGS.match(created_by.strip())
        if match is not None:
            assignments = match.group(1)
        elif re.match(r"^(?:/bin/sh -c #\(nop\)\s+)?ARG\s", created_by):
            assignments = created_by
        for name, value in _ASSIGNMENT.findall(assignments):
            value = value.strip("'\"")
            label = secrets.assignment_secret(name, value)
            if label is not None:
                seen.add(value)
                yield SecretHit("history", f"{where} {name}", layer, label, secrets.redact(value))
        if _CONFIG_ENTRY.match(created_by):
            continue  # ENV and LABEL values are in the config: reported there, once
        for secret in secrets.find_secrets(created_by, limit=4):
            if created_by[secret.start : secret.end] in seen:
                continue
            yield SecretHit("history", where, layer, secret.label, secret.redacted)


def redact_command(text: str) -> str:
    """A history command as a report may show it."""
    text = secrets.redact_text(text)
    return _ASSIGNMENT.sub(_redact_assignment, text)


def _redact_assignment(match: re.Match[str]) -> str:
    name, value = match.group(1), match.group(2)
    if secrets.assignment_secret(name, value.strip("'\"")) is None:
        return match.group(0)
    lead = match.group(0)[: match.start(1) - match.start(0)]
    return f"{lead}{name}={secrets.redact(value.strip(chr(39) + chr(34)))}"
