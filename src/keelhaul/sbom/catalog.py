"""Every cataloger over one filesystem, OS packages first so that the files they own are
not reported again as language packages."""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from keelhaul.errors import FileMissing
from keelhaul.reading import open_regular
from keelhaul.sbom.language_packages import (
    composer_packages,
    gem_packages,
    go_packages,
    java_packages,
    node_packages,
    python_packages,
    rust_packages,
)
from keelhaul.sbom.lockfiles import lock_packages
from keelhaul.sbom.model import Files, Package
from keelhaul.sbom.os_packages import Release, os_packages

#: Folders a source-tree walk does not enter.
_SKIPPED = frozenset({".git", ".hg", ".svn", "__pycache__", ".tox", ".mypy_cache"})


class FolderFiles:
    """A folder read as a filesystem: a root filesystem (``/`` is the folder) or a source
    tree. Symbolic links are not followed."""

    def __init__(self, root: Path) -> None:
        if not root.is_dir():
            raise FileMissing(root)
        self.root = root
        self._paths: list[str] | None = None

    def paths(self) -> Iterable[str]:
        if self._paths is None:
            found: list[str] = []
            for folder, dirs, names in os.walk(self.root):
                dirs[:] = [d for d in dirs if d not in _SKIPPED]
                rel = os.path.relpath(folder, self.root)
                prefix = "/" if rel == "." else "/" + rel.replace(os.sep, "/") + "/"
                for name in names:
                    full = os.path.join(folder, name)
                    if os.path.isfile(full) and not os.path.islink(full):
                        found.append(prefix + name)
            found.sort()
            self._paths = found
        return self._paths

    def read(self, path: str, limit: int) -> bytes:
        target = self.root / path.lstrip("/")
        if target.is_symlink():
            raise OSError(f"{path}: a symbolic link")
        with open_regular(target) as handle:
            return handle.read(limit)

    def layer_of(self, path: str) -> str | None:
        return None


@dataclass(frozen=True)
class Inventory:
    release: Release | None
    packages: tuple[Package, ...]


def catalog(files: Files, lock_files: bool = True) -> Inventory:
    """What ``files`` holds: OS packages, language packages not owned by them, and (for a
    source tree) what its lock files pin."""
    release, system = os_packages(files)
    owned = frozenset(f for p in system for f in p.files)
    found: list[Package] = list(system)
    for cataloger in (python_packages, node_packages, go_packages, composer_packages,
                      gem_packages, java_packages, rust_packages):  # fmt: skip
        found.extend(cataloger(files, owned))
    if lock_files and not system:
        found.extend(lock_packages(files))
    unique = {(p.type, p.namespace, p.name, p.version, p.path): p for p in found}
    ordered = sorted(unique.values(), key=lambda p: (p.type, p.name.lower(), p.version, p.path))
    return Inventory(release, tuple(ordered))
