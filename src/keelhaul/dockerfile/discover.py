"""Finding Dockerfiles under the paths a user names.

A file named on the command line is always taken. A folder is walked recursively for files
named like Dockerfiles (``Dockerfile``, ``Containerfile``, ``Dockerfile.*``, ``*.Dockerfile``,
``*.dockerfile``... in any case), skipping:

- what git ignores: every ``.gitignore`` from the repository root down (a deeper file
  overrides a shallower one, ``!pattern`` re-includes, a folder that is ignored is not
  entered) and ``.git/info/exclude``. Outside a git repository the ``.gitignore`` files in
  the walked folder still count. The user's global excludes file is not read, so that a
  check gives the same answer on every machine.
- version-control metadata and dependency or tool caches (:data:`SKIPPED_DIRS`), ignored or
  not, and symlinked folders;
- files that only look like Dockerfiles by name: ``Dockerfile.dockerignore``, templates
  (``Dockerfile.j2``, ``Dockerfile.tmpl``), documents and source code (``dockerfile_test.go``).

A folder the user names is walked even when git ignores it.
"""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from keelhaul.errors import FileMissing

if TYPE_CHECKING:  # imported by the first ignore file read: a named file needs none
    import pathspec

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
    {
        ".git",
        ".hg",
        ".svn",
        ".jj",
        "node_modules",
        ".venv",
        "venv",
        "__pycache__",
        ".tox",
        ".nox",
        ".mypy_cache",
        ".ruff_cache",
        ".pytest_cache",
    }
)
#: Endings of names that match :data:`DOCKERFILE_GLOBS` but are not Dockerfiles: ignore
#: files, templates, documents, source code, editor and merge leftovers.
_NOT_DOCKERFILES = (
    ".dockerignore",
    ".j2",
    ".jinja",
    ".jinja2",
    ".tmpl",
    ".tpl",
    ".template",
    ".mustache",
    ".hbs",
    ".erb",
    ".md",
    ".rst",
    ".txt",
    ".html",
    ".json",
    ".yaml",
    ".yml",
    ".toml",
    ".xml",
    ".go",
    ".py",
    ".js",
    ".ts",
    ".rs",
    ".java",
    ".rb",
    ".sh",
    ".orig",
    ".rej",
    ".bak",
    ".swp",
    ".patch",
    ".diff",
    "~",
)
GITIGNORE = ".gitignore"


def is_dockerfile_name(name: str) -> bool:
    lowered = name.lower()
    if lowered.endswith(_NOT_DOCKERFILES):
        return False
    return any(fnmatch.fnmatchcase(lowered, pattern) for pattern in DOCKERFILE_GLOBS)


@dataclass(frozen=True, slots=True)
class Found:
    """A Dockerfile to check; ``named`` when the user named it rather than a walk found it."""

    path: Path
    named: bool


@dataclass(frozen=True, slots=True)
class _Rules:
    """One ignore file's patterns and the folder they are relative to."""

    base: str
    spec: pathspec.GitIgnoreSpec


def _read_rules(file: str, base: str) -> _Rules | None:
    try:
        with open(file, encoding="utf-8", errors="surrogateescape") as handle:
            lines = handle.read().splitlines()
    except OSError:
        return None
    import pathspec

    try:
        spec = pathspec.GitIgnoreSpec.from_lines(lines)
    except (ValueError, TypeError):
        return None  # git skips a pattern it cannot read; keelhaul skips the file
    return _Rules(base, spec) if spec.patterns else None


def _below(path: str, base: str) -> str:
    """``path`` relative to ``base`` (an absolute folder above it), with ``/`` separators."""
    rel = path[len(base) :] if base.endswith(os.sep) else path[len(base) + 1 :]
    return rel.replace(os.sep, "/") if os.sep != "/" else rel


def _ignored(path: str, is_dir: bool, rules: tuple[_Rules, ...]) -> bool:
    """Whether git would ignore ``path``: the deepest ignore file that has a say decides."""
    for each in reversed(rules):
        rel = _below(path, each.base)
        result = each.spec.check_file(rel + "/" if is_dir else rel)
        if result.include is not None:
            return result.include
    return False


def _git_root(folder: str) -> str | None:
    current = folder
    while True:
        if os.path.exists(os.path.join(current, ".git")):
            return current
        parent = os.path.dirname(current)
        if parent == current:
            return None
        current = parent


def _inherited(folder: str) -> tuple[_Rules, ...]:
    """The ignore rules of ``folder``'s repository that apply in it (its own excluded)."""
    root = _git_root(folder)
    if root is None:
        return ()
    files = [(os.path.join(root, ".git", "info", "exclude"), root)]
    if root != folder:
        current = root
        files.append((os.path.join(root, GITIGNORE), root))
        for part in os.path.relpath(folder, root).split(os.sep)[:-1]:
            current = os.path.join(current, part)
            files.append((os.path.join(current, GITIGNORE), current))
    found = tuple(r for r in (_read_rules(f, base) for f, base in files) if r is not None)
    # A folder the user names is walked even when git ignores it (or a folder above it).
    return () if root != folder and _ignored(folder, True, found) else found


def walk_files(
    folder: str,
    shown: Path,
    rules: tuple[_Rules, ...] | None,
    wanted: Callable[[os.DirEntry[str]], bool],
) -> Iterator[Path]:
    """The files under ``folder`` that ``wanted`` takes, in name order, shown under ``shown``;
    git's ignore files apply (``rules`` None: no ignore files at all) and the usual vendor and
    VCS folders are skipped. Shared by the Dockerfile and the runtime-file discovery."""
    if rules is not None:
        own = _read_rules(os.path.join(folder, GITIGNORE), folder)
        if own is not None:
            rules = (*rules, own)
    try:
        with os.scandir(folder) as scan:
            entries = sorted(scan, key=lambda e: e.name)
    except OSError:
        return
    for entry in entries:
        try:
            if entry.is_dir(follow_symlinks=False):
                if entry.name in SKIPPED_DIRS or (rules and _ignored(entry.path, True, rules)):
                    continue
                yield from walk_files(entry.path, shown / entry.name, rules, wanted)
            elif (
                wanted(entry)
                and entry.is_file()
                and not (rules and _ignored(entry.path, False, rules))
            ):
                yield shown / entry.name
        except OSError:
            continue  # vanished or unreadable while walking: not ours to report


def _is_dockerfile(entry: os.DirEntry[str]) -> bool:
    return is_dockerfile_name(entry.name)


def walk(folder: Path, *, gitignore: bool = True) -> Iterator[Path]:
    """The Dockerfiles under ``folder``, in name order, as paths that start with ``folder``."""
    start = os.path.abspath(folder)
    yield from walk_files(start, folder, _inherited(start) if gitignore else None, _is_dockerfile)


def discover(paths: Iterable[Path], *, gitignore: bool = True) -> list[Found]:
    """Files named are taken as they are; folders are walked. Each file comes once."""
    found: list[Found] = []
    seen: set[str] = set()

    def add(path: Path, named: bool) -> None:
        key = os.path.abspath(path)
        if key not in seen:
            seen.add(key)
            found.append(Found(path, named))

    for path in paths:
        if path.is_dir():
            for each in walk(path, gitignore=gitignore):
                add(each, False)
        elif path.exists():
            add(path, True)
        else:
            raise FileMissing(path)
    return found


def find_dockerfiles(paths: Iterable[Path]) -> list[Path]:
    """The paths of :func:`discover`."""
    return [f.path for f in discover(paths)]
