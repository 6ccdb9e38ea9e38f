"""The temporary copies verify builds: the build context and the Dockerfile, one folder per
version, so the user's files are never touched.

A context is copied from the working tree (what ``.dockerignore`` leaves out is not copied:
BuildKit would not send it anyway), or taken from a git revision (``git archive``).
"""

from __future__ import annotations

import io
import os
import shutil
import tarfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from keelhaul.cache.history import git
from keelhaul.context.build_context import find_ignore_file
from keelhaul.context.dockerignore import DockerIgnore
from keelhaul.errors import FileMissing, KeelhaulError
from keelhaul.verify.base_map import Mapped, map_bases


@dataclass(frozen=True)
class Version:
    """One side of the comparison, ready to build."""

    label: str
    """How the report names it: ``as it is``, ``fixed``, a file, a revision."""
    context: Path
    dockerfile: Path
    text: str
    """The Dockerfile as written (before the base map)."""
    mapped: tuple[Mapped, ...] = ()
    codes: tuple[str, ...] = ()
    """The fixes applied to make it (a fixed version)."""
    descriptions: Mapping[str, str] = field(default_factory=dict)


def _ignore_of(context: Path, dockerfile: Path) -> DockerIgnore | None:
    found = find_ignore_file(context, dockerfile)
    if found is None:
        return None
    try:
        return DockerIgnore.parse(found.read_bytes(), str(found))
    except (OSError, KeelhaulError):
        return None  # BuildKit will say what is wrong with it; copy everything


def copy_context(source: Path, dockerfile: Path, into: Path) -> None:
    """Copy the build context ``source`` to ``into`` (which must not exist)."""
    if not source.is_dir():
        raise FileMissing(source)
    ignore = _ignore_of(source, dockerfile)
    keep_dirs = ignore is None or ignore.has_exceptions

    def skipped(folder: str, names: list[str]) -> set[str]:
        if ignore is None:
            return set()
        base = os.path.relpath(folder, source)
        out: set[str] = set()
        for name in names:
            rel = name if base == "." else f"{base}/{name}".replace(os.sep, "/")
            is_dir = os.path.isdir(os.path.join(folder, name))
            if is_dir and keep_dirs:
                continue
            if ignore.excludes(rel, is_dir) and not _ignore_file_name(name):
                out.add(name)
        return out

    shutil.copytree(source, into, symlinks=True, ignore=skipped)


def _ignore_file_name(name: str) -> bool:
    return name == ".dockerignore" or name.endswith(".dockerignore")


def dockerfile_place(context: Path, dockerfile: Path) -> Path:
    """Where the Dockerfile goes relative to the copy of its context: its own path inside the
    context, or ``Dockerfile.keelhaul`` beside the copy when it lives outside."""
    try:
        return dockerfile.resolve().relative_to(context.resolve())
    except ValueError:
        return Path("..") / f"{dockerfile.name}.outside"


def write_version(
    folder: Path,
    label: str,
    context: Path,
    dockerfile: Path,
    text: str,
    mapping: Mapping[str, str],
    files: Mapping[Path, str] | None = None,
    copied: Path | None = None,
) -> Version:
    """Make ``folder``/context from ``context`` (or from ``copied``, a context already
    extracted) and write the Dockerfile ``text`` at its place, FROM lines mapped."""
    target = folder / "context"
    if copied is None:
        copy_context(context, dockerfile, target)
    else:
        shutil.move(str(copied), target)
    place = dockerfile_place(context, dockerfile)
    written = (target / place).resolve() if place.parts[0] != ".." else folder / place.parts[1]
    written.parent.mkdir(parents=True, exist_ok=True)
    built_text, mapped = map_bases(text, str(dockerfile), mapping)
    written.write_bytes(built_text.encode("utf-8", "surrogateescape"))
    for path, content in (files or {}).items():
        inside = _inside(path, context, dockerfile, target, folder)
        if inside is not None:
            inside.parent.mkdir(parents=True, exist_ok=True)
            inside.write_bytes(content.encode("utf-8", "surrogateescape"))
    return Version(label, target, written, text, tuple(mapped))


def _inside(path: Path, context: Path, dockerfile: Path, target: Path, folder: Path) -> Path | None:
    """Where a file the fixes write (named by its path on disk) lands in the copy."""
    absolute = path.resolve()
    try:
        return target / absolute.relative_to(context.resolve())
    except ValueError:
        pass
    if absolute.parent == dockerfile.resolve().parent:
        return folder / absolute.name
    return None


def extract_revision(repo_path: Path, revision: str, context: Path, into: Path) -> None:
    """The build context as it was at ``revision``: ``git archive`` of its folder."""
    top = Path(git(repo_path, "rev-parse", "--show-toplevel").decode().strip())
    relative = os.path.relpath(context.resolve(), top.resolve())
    spec = "." if relative == "." else relative.replace(os.sep, "/")
    data = git(top, "archive", "--format=tar", revision, "--", spec)
    into.mkdir(parents=True)
    with tarfile.open(fileobj=io.BytesIO(data)) as archive:
        archive.extractall(into, filter="data")
    if spec != ".":
        inner = into / spec
        if inner.is_dir():
            staged = into.parent / f"{into.name}.inner"
            shutil.move(str(inner), staged)
            shutil.rmtree(into)
            staged.rename(into)


def read_at_revision(repo_path: Path, revision: str, path: Path) -> str:
    """The text of ``path`` (on disk) as it was at ``revision``."""
    top = Path(git(repo_path, "rev-parse", "--show-toplevel").decode().strip())
    relative = os.path.relpath(path.resolve(), top.resolve()).replace(os.sep, "/")
    return git(top, "show", f"{revision}:{relative}").decode("utf-8", "surrogateescape")
