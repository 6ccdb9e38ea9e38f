"""The build context of a Dockerfile, read from disk once: its ignore file and what it holds.

This is the edge: the only place that opens the context. Rules get the finished
:class:`BuildContext` and never touch the disk.

Which ignore file applies follows BuildKit's Dockerfile frontend: ``<Dockerfile name>.dockerignore``
beside the Dockerfile (``app.Dockerfile.dockerignore``) wins over ``.dockerignore`` at the context
root, even when it is empty. The listing is bounded (depth, number of entries) and walks the
tree the way BuildKit does when it sends it: a folder the ignore file skips is not entered, nor
are ``.git``, ``node_modules`` or a virtualenv, which are only noted.
"""

from __future__ import annotations

import os
from collections import deque
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from keelhaul.context.dockerignore import DockerIgnore, Verdict, relative
from keelhaul.context.notable import (
    OPAQUE_KINDS,
    NotableKind,
    content_confirms,
    kind_by_name,
    needs_content_check,
)
from keelhaul.errors import FileMissing, FileUnreadable
from keelhaul.reading import open_regular

IGNORE_FILE = ".dockerignore"
#: Folder levels listed below the context root.
MAX_DEPTH = 4
#: Entries listed before the reader stops (``complete`` is then False).
MAX_ENTRIES = 20_000
#: Bytes of an ignore file read at most (a real one is a few hundred).
MAX_IGNORE_BYTES = 4 * 1024 * 1024
#: Bytes read from a file whose kind its content settles (a .pem: key or certificate?).
HEAD_BYTES = 16 * 1024
#: Files opened to settle their kind, at most.
MAX_CONTENT_CHECKS = 200


@dataclass(frozen=True, slots=True)
class ContextEntry:
    """One path in the context, relative to its root, ``/``-separated."""

    path: str
    is_dir: bool
    size: int
    """Bytes, for files; 0 for folders."""
    sent: bool
    """The ignore file lets it through (a folder it excludes counts as not sent, even when an
    exception brings something below it back)."""
    kind: NotableKind | None = None

    @property
    def name(self) -> str:
        return self.path.rpartition("/")[2]


@dataclass(frozen=True)
class BuildContext:
    """A build context: the ignore file that applies and a bounded listing of its contents."""

    root: Path
    ignore_file: Path | None
    """The ignore file BuildKit would use, or None when there is none."""
    dockerignore: DockerIgnore | None
    """Its patterns; None when there is no ignore file."""
    entries: tuple[ContextEntry, ...] = ()
    """Shallow levels first, each folder's entries by name."""
    complete: bool = True
    """False when the listing stopped at a bound or an unreadable folder."""
    ignore_text: str | None = None
    """The ignore file as written (for fixes that add lines to it)."""

    @classmethod
    def read(
        cls,
        context_dir: Path,
        dockerfile: Path | None = None,
        *,
        max_depth: int = MAX_DEPTH,
        max_entries: int = MAX_ENTRIES,
    ) -> BuildContext:
        """Read the context at ``context_dir`` for ``dockerfile`` (None: from stdin).

        Raises :class:`~keelhaul.errors.FileMissing` when the folder does not exist and
        :class:`~keelhaul.context.dockerignore.DockerIgnoreError` for an ignore file BuildKit
        would refuse.
        """
        if not context_dir.is_dir():
            raise FileMissing(context_dir)
        ignore_file = find_ignore_file(context_dir, dockerfile)
        text, ignore = (None, None) if ignore_file is None else _read_ignore(ignore_file)
        entries, complete = _list(context_dir, ignore, max_depth, max_entries)
        return cls(context_dir, ignore_file, ignore, entries, complete, text)

    @cached_property
    def _by_path(self) -> dict[str, ContextEntry]:
        return {e.path: e for e in self.entries}

    @property
    def ignore_name(self) -> str:
        """How messages name the ignore file: its file name, or ``.dockerignore`` when absent."""
        return IGNORE_FILE if self.ignore_file is None else self.ignore_file.name

    @property
    def has_patterns(self) -> bool:
        return self.dockerignore is not None and bool(self.dockerignore.patterns)

    def entry(self, path: str) -> ContextEntry | None:
        """The listed entry at ``path`` (relative to the root), if the listing reached it."""
        return self._by_path.get(relative(path))

    def excludes(self, path: str, is_dir: bool = False) -> bool:
        """Whether the ignore file leaves ``path`` out of what BuildKit sends."""
        return self.dockerignore is not None and self.dockerignore.excludes(path, is_dir)

    @property
    def notable(self) -> tuple[ContextEntry, ...]:
        """The entries of a notable kind (VCS data, dependencies, secrets, logs...)."""
        return tuple(e for e in self.entries if e.kind is not None)


def find_ignore_file(context_dir: Path, dockerfile: Path | None) -> Path | None:
    """``<Dockerfile name>.dockerignore`` beside the Dockerfile, else ``<context>/.dockerignore``."""
    if dockerfile is not None:
        specific = dockerfile.parent / f"{dockerfile.name}{IGNORE_FILE}"
        if specific.is_file():
            return specific
    default = context_dir / IGNORE_FILE
    return default if default.is_file() else None


def _read_ignore(path: Path) -> tuple[str, DockerIgnore]:
    try:
        with open_regular(path) as handle:
            data = handle.read(MAX_IGNORE_BYTES + 1)
    except OSError as exc:
        raise FileUnreadable(path, exc.strerror or str(exc)) from None
    if len(data) > MAX_IGNORE_BYTES:
        raise FileUnreadable(path, f"larger than {MAX_IGNORE_BYTES // (1024 * 1024)} MiB")
    return data.decode("utf-8", "surrogateescape"), DockerIgnore.parse(data, str(path))


@dataclass
class _Walk:
    entries: list[ContextEntry] = field(default_factory=list)
    complete: bool = True
    content_checks: int = 0

    def kind(self, entry: os.DirEntry[str], is_dir: bool, size: int) -> NotableKind | None:
        kind = kind_by_name(entry.name, is_dir)
        if is_dir and kind is None and os.path.isfile(os.path.join(entry.path, "pyvenv.cfg")):
            return NotableKind.VIRTUALENV
        if kind is NotableKind.ENV_FILE and size == 0:
            return None  # an empty .env holds nothing
        if kind is not None and needs_content_check(entry.name, kind):
            return kind if self._head_confirms(entry.path, kind) else None
        return kind

    def _head_confirms(self, path: str, kind: NotableKind) -> bool:
        if self.content_checks >= MAX_CONTENT_CHECKS:
            return False  # bounded: past the budget, say nothing rather than guess
        self.content_checks += 1
        try:
            with open_regular(path) as handle:
                head = handle.read(HEAD_BYTES)
        except OSError:
            return False
        return content_confirms(kind, head)


def _list(
    root: Path, ignore: DockerIgnore | None, max_depth: int, max_entries: int
) -> tuple[tuple[ContextEntry, ...], bool]:
    walk = _Walk()
    todo: deque[tuple[str, str, int, Verdict | None]] = deque([("", str(root), 1, None)])
    while todo:
        rel_dir, abs_dir, depth, verdict = todo.popleft()
        try:
            with os.scandir(abs_dir) as scan:
                children = sorted(scan, key=lambda e: e.name)
        except OSError:
            walk.complete = False
            continue
        for child in children:
            if len(walk.entries) >= max_entries:
                return tuple(walk.entries), False
            path = f"{rel_dir}{child.name}"
            try:
                is_dir = child.is_dir(follow_symlinks=False)
                size = 0 if is_dir else child.stat(follow_symlinks=False).st_size
            except OSError:
                walk.complete = False
                continue
            judged = None if ignore is None else ignore.judge(path, is_dir, verdict)
            kind = walk.kind(child, is_dir, size)
            sent = judged is None or not judged.excluded
            walk.entries.append(ContextEntry(path, is_dir, size, sent, kind))
            if not is_dir or kind in OPAQUE_KINDS:
                continue
            if judged is not None and not judged.descend:
                continue  # BuildKit skips it whole
            if depth >= max_depth:
                walk.complete = False
                continue
            todo.append((f"{path}/", child.path, depth + 1, judged))
    return tuple(walk.entries), walk.complete
