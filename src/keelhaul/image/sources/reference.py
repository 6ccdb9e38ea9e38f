"""One reference syntax for every place an image can come from.

``docker-archive:PATH[:NAME]``, ``oci:DIR[:TAG]``, ``oci-archive:PATH[:TAG]``,
``docker:NAME`` (alias ``docker-daemon:``), ``registry:HOST/REPO[:TAG][@DIGEST]`` (alias
``docker://``); a reference without a scheme is tried in the local engine, then in its
registry. A path may itself hold colons: when the whole text names an existing file, it is
the path; otherwise the part after the last colon is the tag.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from keelhaul.image.sources.manifests import ImageSourceError

__all__ = ["SCHEMES", "SourceReference", "parse_source"]

DOCKER_ARCHIVE = "docker-archive"
OCI = "oci"
OCI_ARCHIVE = "oci-archive"
DOCKER = "docker"
REGISTRY = "registry"
BARE = ""

SCHEMES = (DOCKER_ARCHIVE, OCI_ARCHIVE, OCI, DOCKER, REGISTRY)
_ALIASES = {"docker-daemon": DOCKER, "docker-image": DOCKER}
_PATH_SCHEMES = frozenset({DOCKER_ARCHIVE, OCI, OCI_ARCHIVE})


@dataclass(frozen=True)
class SourceReference:
    scheme: str
    """One of :data:`SCHEMES`, or ``""`` for a bare reference."""
    target: str
    """The path, or the image reference (engine or registry)."""
    name: str | None = None
    """For path schemes: the tag or image name after the path, if any."""
    text: str = ""

    @property
    def path(self) -> Path:
        return Path(self.target)


def parse_source(text: str) -> SourceReference:
    text = text.strip()
    if not text:
        raise ImageSourceError("an empty image reference")
    if text.startswith("docker://"):
        return SourceReference(REGISTRY, text.removeprefix("docker://"), text=text)
    scheme, colon, rest = text.partition(":")
    scheme = _ALIASES.get(scheme, scheme)
    if colon and scheme in SCHEMES:
        if not rest:
            raise ImageSourceError(f"{text}: nothing after '{scheme}:'")
        if scheme in _PATH_SCHEMES:
            path, name = _split_path(rest, scheme)
            return SourceReference(scheme, path, name, text)
        return SourceReference(scheme, rest, text=text)
    return SourceReference(BARE, text, text=text)


def _split_path(rest: str, scheme: str) -> tuple[str, str | None]:
    """The longest prefix that exists is the path; what follows its colon is the name
    (which may hold colons itself: ``save.tar:app:1``)."""
    if Path(rest).exists() or ":" not in rest:
        return rest, None
    at = len(rest)
    while (at := rest.rfind(":", 0, at)) > 0:
        if Path(rest[:at]).exists():
            return rest[:at], rest[at + 1 :] or None
    raise ImageSourceError(f"{scheme}:{rest}: no such file or directory")
