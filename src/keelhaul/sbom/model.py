"""A package found installed or pinned, and the files it was read from."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Protocol

from packageurl import PackageURL


@dataclass(frozen=True)
class Package:
    """One installed or pinned package."""

    name: str
    version: str
    type: str
    """The package URL type: ``deb``, ``apk``, ``rpm``, ``pypi``, ``npm``, ``golang``,
    ``maven``, ``gem``, ``composer``, ``cargo``."""
    found_by: str
    """What read it: ``dpkg``, ``apk``, ``rpm``, ``python``, ``node``, ``go-binary``,
    ``poetry.lock``..."""
    path: str
    """The file it was read from (in the image or tree)."""
    namespace: str | None = None
    """Distribution (``debian``), Maven group, Go module path prefix..."""
    arch: str | None = None
    source_name: str | None = None
    """The source package (distributions: advisories are per source package)."""
    source_version: str | None = None
    licenses: tuple[str, ...] = ()
    layer: str | None = None
    """The layer's DiffID, for packages found in an image."""
    files: tuple[str, ...] = field(default=(), compare=False, repr=False)
    """Files the package owns (OS packages), so language packages among them are not
    counted twice."""
    distro: str | None = None
    """``debian-12``: the release, in the purl's ``distro`` qualifier."""

    @property
    def purl(self) -> str:
        qualifiers: dict[str, str] = {}
        if self.arch:
            qualifiers["arch"] = self.arch
        if self.distro:
            qualifiers["distro"] = self.distro
        if self.source_name and self.source_name != self.name and self.type in ("deb", "rpm"):
            qualifiers["upstream" if self.type == "rpm" else "source"] = self.source_name
        name, namespace = self.name, self.namespace
        if self.type == "golang" and "/" in name:
            namespace, _, name = name.rpartition("/")
        if self.type == "npm" and name.startswith("@"):
            namespace, _, name = name.partition("/")
        return PackageURL(type=self.type, namespace=namespace, name=name,
                          version=self.version or None,
                          qualifiers=qualifiers or None).to_string()  # fmt: skip


class Files(Protocol):
    """Where catalogers read from: a root filesystem folder, an image's merged layers, a
    source tree. Paths are ``/``-separated and absolute (``/var/lib/dpkg/status``)."""

    def paths(self) -> Iterable[str]:
        """Every regular file."""
        ...

    def read(self, path: str, limit: int) -> bytes:
        """At most ``limit`` bytes of the file (raises OSError when it is gone)."""
        ...

    def layer_of(self, path: str) -> str | None:
        """The layer that last wrote the file (None outside images)."""
        ...


def matching(files: Files, suffixes: tuple[str, ...]) -> Iterator[str]:
    for path in files.paths():
        if path.endswith(suffixes):
            yield path
