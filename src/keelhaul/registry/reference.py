"""Image references, parsed and normalised the way the Docker CLI and Engine read them.

``python:3.12`` means ``docker.io/library/python:3.12``; ``user/app`` means
``docker.io/user/app``; ``index.docker.io/x`` is ``docker.io/library/x``; a first path element
is a registry only when it has a ``.`` or a ``:``, is ``localhost``, or has an upper-case letter
(``localhost:5000/app``, ``ghcr.io/o/app``, ``[::1]:5000/app``). The grammar and the normalising
steps follow the reference specification of the CNCF distribution project; the code is ours.

Docker Hub is *named* ``docker.io`` but *served* from ``registry-1.docker.io``, and its
credentials are stored under ``https://index.docker.io/v1/``: :attr:`Reference.api_host` and
:attr:`Reference.auth_key` give those.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from keelhaul.errors import ReferenceError_

__all__ = [
    "CHANNEL_TAGS",
    "DOCKER_HUB",
    "DOCKER_HUB_API_HOST",
    "DOCKER_HUB_AUTH_KEY",
    "OFFICIAL_PREFIX",
    "InvalidReference",
    "Reference",
    "is_loopback",
    "moving_tag",
    "parse_digest",
    "parse_reference",
]

DOCKER_HUB = "docker.io"
DOCKER_HUB_LEGACY = "index.docker.io"
DOCKER_HUB_API_HOST = "registry-1.docker.io"
DOCKER_HUB_AUTH_KEY = "https://index.docker.io/v1/"
OFFICIAL_PREFIX = "library/"
DEFAULT_TAG = "latest"
NAME_MAX = 255
#: Tags that name a branch or a release channel rather than a release: what they point to
#: moves with every push (``master``, ``main``, ``nightly``) or release (``stable``, ``lts``).
CHANNEL_TAGS = frozenset(
    {"main", "master", "develop", "dev", "devel", "trunk", "next", "head", "nightly", "edge",
     "canary", "unstable", "testing", "snapshot", "stable", "lts", "current", "rolling"}
)  # fmt: skip


def moving_tag(tag: str | None) -> bool:
    """Whether an image tag moves by design: none (``latest``), ``latest``, or a branch or
    channel name (:data:`CHANNEL_TAGS`)."""
    return tag is None or tag.lower() == DEFAULT_TAG or tag.lower() in CHANNEL_TAGS


# The grammar of distribution's reference specification, transcribed. Python's ``re`` is
# leftmost-first like Go's, so the alternations choose the same way.
_ALNUM = r"[a-z0-9]+"
_SEPARATOR = r"(?:[._]|__|[-]+)"
_PATH_COMPONENT = rf"{_ALNUM}(?:{_SEPARATOR}{_ALNUM})*"
_REMOTE_NAME = rf"{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*"
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN_NAME = rf"{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*"
_IPV6 = r"\[(?:[a-fA-F0-9:]+)\]"
_DOMAIN = rf"(?:{_DOMAIN_NAME}|{_IPV6})(?::[0-9]+)?"
_TAG = r"[\w][\w.-]{0,127}"
_DIGEST = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}"

_REFERENCE_RE = re.compile(
    rf"((?:{_DOMAIN}/)?{_REMOTE_NAME})(?::({_TAG}))?(?:@({_DIGEST}))?", re.ASCII
)
_NAME_RE = re.compile(rf"(?:({_DOMAIN})/)?({_REMOTE_NAME})", re.ASCII)
_IDENTIFIER_RE = re.compile(r"[a-f0-9]{64}")
_DIGEST_RE = re.compile(_DIGEST, re.ASCII)

#: Digest algorithms a registry may use, with the length of their lower-case hex encoding.
DIGEST_HEX_LENGTHS = {"sha256": 64, "sha384": 96, "sha512": 128}


class InvalidReference(ReferenceError_):
    """An image reference that Docker would refuse; names the reference and why."""

    def __init__(self, text: str, reason: str) -> None:
        super().__init__(f"invalid image reference {text!r}: {reason}")
        self.text = text
        self.reason = reason


@dataclass(frozen=True)
class Reference:
    """A normalised image reference: ``registry/repository[:tag][@digest]``.

    ``registry`` is the name as Docker writes it (``docker.io``, ``localhost:5000``,
    ``[::1]:5000``); ``repository`` the path on it (``library/python``). A reference with
    both a tag and a digest keeps both, as a pinned ``FROM`` line does.
    """

    registry: str
    repository: str
    tag: str | None = None
    digest: str | None = None

    @property
    def name(self) -> str:
        """The canonical repository name: ``docker.io/library/python``."""
        return f"{self.registry}/{self.repository}"

    @property
    def familiar_name(self) -> str:
        """The name as people write it: ``python``, ``user/app``, ``localhost:5000/app``.

        Unlike Docker's, it always parses back to the same name: ``docker.io/a.b/c`` keeps its
        registry, since ``a.b/c`` would name the registry ``a.b``.
        """
        if self.registry != DOCKER_HUB:
            return self.name
        short = self.repository.removeprefix(OFFICIAL_PREFIX)
        if "/" in short:
            short = self.repository
        first = short.partition("/")[0]
        if "/" in short and (first == "localhost" or "." in first):
            return self.name
        return short

    @property
    def api_host(self) -> str:
        """The host[:port] that serves the distribution API (Docker Hub's differs from its name)."""
        return DOCKER_HUB_API_HOST if self.registry == DOCKER_HUB else self.registry

    @property
    def auth_key(self) -> str:
        """The key Docker files this registry's credentials under in config.json."""
        return DOCKER_HUB_AUTH_KEY if self.registry == DOCKER_HUB else self.registry

    @property
    def host(self) -> str:
        """The registry's host without its port (``[::1]`` keeps its brackets)."""
        if self.registry.startswith("["):
            return self.registry[: self.registry.index("]") + 1]
        return self.registry.partition(":")[0]

    @property
    def manifest_reference(self) -> str:
        """What to ask the registry for: the tag when there is one, else the digest, else latest.

        The tag wins over a digest because resolving a pinned reference means refreshing
        its pin.
        """
        return self.tag or self.digest or DEFAULT_TAG

    def with_digest(self, digest: str) -> Reference:
        return replace(self, digest=parse_digest(digest))

    def with_tag(self, tag: str | None) -> Reference:
        if tag is not None and not re.fullmatch(_TAG, tag, re.ASCII):
            raise InvalidReference(f"{self.name}:{tag}", f"invalid tag {tag!r}")
        return replace(self, tag=tag)

    def familiar(self) -> str:
        """The whole reference in its familiar form: ``python:3.12@sha256:...``."""
        return self._suffixed(self.familiar_name)

    def __str__(self) -> str:
        return self._suffixed(self.name)

    def _suffixed(self, name: str) -> str:
        text = name
        if self.tag is not None:
            text += f":{self.tag}"
        if self.digest is not None:
            text += f"@{self.digest}"
        return text


def parse_reference(text: str) -> Reference:
    """Parse ``text`` as ``docker pull`` would, or raise :class:`InvalidReference`."""
    if not text:
        raise InvalidReference(text, "empty reference")
    if _IDENTIFIER_RE.fullmatch(text):
        raise InvalidReference(text, "a 64-character hexadecimal string is an image ID, not a name")
    domain, remainder = _split_domain(text)
    remote = remainder.partition(":")[0]
    if remote.lower() != remote:
        raise InvalidReference(text, f"repository name {remote!r} must be lowercase")
    full = f"{domain}/{remainder}"
    match = _REFERENCE_RE.fullmatch(full)
    if match is None:
        if _REFERENCE_RE.fullmatch(full.lower()) is not None:
            raise InvalidReference(text, "repository name must be lowercase")
        raise InvalidReference(text, _format_problem(remainder))
    name, tag, digest = match.group(1), match.group(2), match.group(3)
    if len(name) > NAME_MAX:
        raise InvalidReference(text, f"repository name longer than {NAME_MAX} characters")
    name_match = _NAME_RE.fullmatch(name)
    if name_match is None or name_match.group(1) != domain:
        raise InvalidReference(text, f"invalid registry host {domain!r}")
    if digest is not None:
        try:
            digest = parse_digest(digest)
        except InvalidReference as err:
            raise InvalidReference(text, err.reason) from None
    return Reference(registry=domain, repository=name_match.group(2), tag=tag, digest=digest)


def parse_digest(text: str) -> str:
    """Check a digest as the OCI go-digest rules do (known algorithm, exact hex length)."""
    if not _DIGEST_RE.fullmatch(text):
        raise InvalidReference(text, "invalid digest format (want sha256:<64 hex digits>)")
    algorithm, _, encoded = text.partition(":")
    length = DIGEST_HEX_LENGTHS.get(algorithm)
    if length is None:
        raise InvalidReference(text, f"unsupported digest algorithm {algorithm!r}")
    if len(encoded) != length or not re.fullmatch(r"[a-f0-9]+", encoded):
        raise InvalidReference(
            text, f"a {algorithm} digest has {length} lower-case hexadecimal digits"
        )
    return text


def is_loopback(registry: str) -> bool:
    """Whether a registry host[:port] is this machine (``localhost``, ``127.0.0.0/8``, ``[::1]``)."""
    if registry.startswith("["):
        return registry[1 : registry.find("]")] in {"::1", "0:0:0:0:0:0:0:1"}
    host = registry.partition(":")[0]
    if host == "localhost":
        return True
    parts = host.split(".")
    return len(parts) == 4 and parts[0] == "127" and all(p.isdigit() for p in parts)


def _split_domain(text: str) -> tuple[str, str]:
    first, slash, rest = text.partition("/")
    if not slash:
        return DOCKER_HUB, OFFICIAL_PREFIX + text
    if first == "localhost" or any(c in first for c in ".:") or first.lower() != first:
        domain, remainder = first, rest
    else:
        domain, remainder = DOCKER_HUB, text
    if domain == DOCKER_HUB_LEGACY:
        domain = DOCKER_HUB
    if domain == DOCKER_HUB and "/" not in remainder:
        remainder = OFFICIAL_PREFIX + remainder
    return domain, remainder


def _format_problem(remainder: str) -> str:
    """A more useful reason than "invalid format" for the common mistakes."""
    name, at, digest = remainder.partition("@")
    if at and not _DIGEST_RE.fullmatch(digest):
        return f"invalid digest {digest!r}"
    if name.split("/")[-1].count(":") > 1:
        return "a digest follows '@', not ':' (name[:tag]@sha256:...)"
    path, colon, tag = name.rpartition(":") if ":" in name.split("/")[-1] else (name, "", "")
    if colon and not re.fullmatch(_TAG, tag, re.ASCII):
        return f"invalid tag {tag!r} (letters, digits, '_', '.', '-'; at most 128)"
    if not re.fullmatch(_REMOTE_NAME, path, re.ASCII):
        return (
            f"invalid repository name {path!r} (lower-case letters and digits, separated by "
            "'.', '_', '__' or '-', in '/'-separated parts)"
        )
    return "invalid reference format"
