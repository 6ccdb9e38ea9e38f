"""Finding Dockerfiles under the paths a user names."""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Iterator
from pathlib import Path

from keelhaul.errors import FileMissing

#: Names (case-insensitive globs) of files taken for Dockerfiles when walking a directory.
DOCKERFILE_GLOBS = (
    "dockerfile",
    "containerfile",
    "dockerfile.*",
    "containerfile.*",
    "*.dockerfile",
    "*.containerfile",
    "dockerfile[-_]*",
    "*[-_]dockerfile",
)
#: Folders never walked into: VCS metadata and dependency or build caches.
SKIPPED_DIRS = frozenset(
    {".git", ".hg", ".svn", "node_modules", ".venv", "venv", "__pycache__", ".tox", ".mypy_cache"}
)
_NOT_DOCKERFILES = (".dockerignore",)


def is_dockerfile_name(name: str) -> bool:
    lowered = name.lower()
    if lowered.endswith(_NOT_DOCKERFILES):
        return False
    return any(fnmatch.fnmatchcase(lowered, pattern) for pattern in DOCKERFILE_GLOBS)


def _walk(folder: Path) -> Iterator[Path]:
    try:
        entries = sorted(folder.iterdir())
    except OSError:
        return
    for entry in entries:
        if entry.is_dir() and not entry.is_symlink():
            if entry.name not in SKIPPED_DIRS:
                yield from _walk(entry)
        elif entry.is_file() and is_dockerfile_name(entry.name):
            yield entry


def find_dockerfiles(paths: Iterable[Path]) -> list[Path]:
    """Files named explicitly are taken as they are; folders are searched recursively."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(_walk(path))
        elif path.exists():
            found.append(path)
        else:
            raise FileMissing(path)
    return found
