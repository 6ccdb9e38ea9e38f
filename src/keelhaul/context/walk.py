"""The whole build context walked as BuildKit sends it: every file, every byte, no bounds.

:class:`~keelhaul.context.build_context.BuildContext` is the bounded listing the ``check`` rules
read; :func:`walk_context` is what ``keelhaul context`` reads: the full walk, made fast by
``os.scandir``, by skipping the folders BuildKit skips (an excluded folder no exception can reach
into), and by a prefilter that leaves a folder's verdict to its children without running
the patterns again when no pattern can change it.

What it gives (:class:`ContextWalk`): the files sent and their sizes, the folders sent, and the
notable paths sent (VCS data, dependency folders, secret files with the matches in them
redacted). Which bytes no COPY/ADD can use is :mod:`keelhaul.context.usage`'s business.
"""

from __future__ import annotations

import os
import stat
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from keelhaul.context.build_context import _read_ignore, find_ignore_file
from keelhaul.context.dockerignore import DockerIgnore, Verdict
from keelhaul.errors import FileMissing
from keelhaul.reading import open_regular
from keelhaul.secrets import (
    SecretFileKind,
    content_shows_secret,
    find_secrets_in_bytes,
    secret_file,
    secret_folder,
)

#: Bytes read from a file that may hold a secret (the name says so; the content confirms).
HEAD_BYTES = 16 * 1024
#: Files opened to confirm a secret, at most (a context full of .pem files stays fast).
MAX_CONTENT_CHECKS = 2_000


class FolderKind(StrEnum):
    """Folders that are never source: version control data and installed dependencies."""

    VCS = "vcs"  # .git, .hg, .svn
    DEPENDENCIES = "dependencies"  # node_modules, vendor, .venv/virtualenvs, bower_components
    BUILD_OUTPUT = "build-output"  # target (cargo, maven), __pycache__


_FOLDER_KINDS = {
    ".git": FolderKind.VCS,
    ".hg": FolderKind.VCS,
    ".svn": FolderKind.VCS,
    "node_modules": FolderKind.DEPENDENCIES,
    "bower_components": FolderKind.DEPENDENCIES,
    "vendor": FolderKind.DEPENDENCIES,
    ".venv": FolderKind.DEPENDENCIES,
    "venv": FolderKind.DEPENDENCIES,
    "target": FolderKind.BUILD_OUTPUT,
    "__pycache__": FolderKind.BUILD_OUTPUT,
}


@dataclass(frozen=True, slots=True)
class SentFile:
    """A file (or symlink) the context sends: its path from the root, ``/``-separated."""

    path: str
    size: int


@dataclass(frozen=True, slots=True)
class SentFolder:
    """A VCS or dependency folder the context sends, with what is sent below it."""

    path: str
    kind: FolderKind
    files: int = 0
    size: int = 0

    @property
    def name(self) -> str:
        return self.path.rpartition("/")[2]


@dataclass(frozen=True, slots=True)
class SentSecret:
    """A file the context sends that holds (or by its name likely holds) a secret."""

    path: str
    kind: str
    """``env-file``, ``private-key``, ``credentials``, or ``secret-in-content``."""
    label: str
    """For people: ``an .env file``, ``an SSH private key``."""
    matches: tuple[str, ...] = ()
    """What was found inside, redacted (``AWS access key id AKIA…``): never the value."""


@dataclass
class ContextWalk:
    """What ``docker build`` sends from a context folder."""

    root: Path
    ignore_file: Path | None
    dockerignore: DockerIgnore | None
    ignore_text: str | None
    files: list[SentFile] = field(default_factory=list)
    """Every file sent, in walk order (each folder's entries by name, depth first)."""
    folders: set[str] = field(default_factory=set)
    """Every folder sent (a folder an exception reaches into is sent when it holds something)."""
    notable_folders: list[SentFolder] = field(default_factory=list)
    secrets: list[SentSecret] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)
    """Folders the walk could not list (BuildKit would fail on them)."""
    skipped_folders: int = 0
    """Excluded folders the walk did not enter, as BuildKit does not."""

    @property
    def total_bytes(self) -> int:
        return sum(f.size for f in self.files)

    def largest_files(self, count: int = 10) -> list[SentFile]:
        return sorted(self.files, key=lambda f: (-f.size, f.path))[:count]

    def folder_sizes(self) -> Counter[str]:
        """Bytes sent below each folder (every level), by path."""
        sizes: Counter[str] = Counter()
        for each in self.files:
            end = each.path.find("/")
            while end >= 0:
                sizes[each.path[:end]] += each.size
                end = each.path.find("/", end + 1)
        return sizes

    def largest_folders(self, count: int = 10) -> list[tuple[str, int]]:
        """The folders holding the most bytes, a folder's parent not repeated after it."""
        ranked = sorted(self.folder_sizes().items(), key=lambda kv: (-kv[1], kv[0]))
        return ranked[:count]

    def top_level(self) -> list[tuple[str, int, int]]:
        """Per top-level entry: name (folders end in ``/``), files sent, bytes sent; largest first."""
        files: Counter[str] = Counter()
        sizes: Counter[str] = Counter()
        for each in self.files:
            head, slash, _ = each.path.partition("/")
            key = head + slash
            files[key] += 1
            sizes[key] += each.size
        return sorted(((k, files[k], sizes[k]) for k in files), key=lambda t: (-t[2], t[0]))


def walk_context(context_dir: Path, dockerfile: Path | None = None) -> ContextWalk:
    """Walk ``context_dir`` through the ignore file BuildKit would use for ``dockerfile``.

    Raises :class:`~keelhaul.errors.FileMissing` when the folder does not exist,
    :class:`~keelhaul.errors.FileUnreadable` when the ignore file cannot be read and
    :class:`~keelhaul.context.dockerignore.DockerIgnoreError` when BuildKit would refuse it.
    """
    if not context_dir.is_dir():
        raise FileMissing(context_dir)
    ignore_file = find_ignore_file(context_dir, dockerfile)
    text, ignore = (None, None) if ignore_file is None else _read_ignore(ignore_file)
    walk = ContextWalk(context_dir, ignore_file, ignore, text)
    _Walker(walk, ignore if ignore is not None and ignore.patterns else None).run()
    return walk


@dataclass
class _Open:
    """A notable folder being walked: its counts fill in as files below it are sent."""

    path: str
    kind: FolderKind
    files: int = 0
    size: int = 0


@dataclass
class _Walker:
    walk: ContextWalk
    ignore: DockerIgnore | None
    content_checks: int = 0

    def run(self) -> None:
        self._folder("", str(self.walk.root), None, [])

    def _folder(self, rel: str, absolute: str, verdict: Verdict | None, open_: list[_Open]) -> None:
        try:
            with os.scandir(absolute) as scan:
                children = sorted(scan, key=lambda e: e.name)
        except OSError:
            self.walk.unreadable.append(rel.rstrip("/") or ".")
            return
        for child in children:
            path = rel + child.name
            try:
                st = child.stat(follow_symlinks=False)
            except OSError:
                self.walk.unreadable.append(path)
                continue
            is_dir = stat.S_ISDIR(st.st_mode)
            judged = None if self.ignore is None else self._judge(path, is_dir, verdict)
            if is_dir:
                self._enter(path, child, judged, open_)
            elif judged is None or not judged.excluded:
                self._send_file(path, child.name, child.path, st.st_size, open_)

    def _judge(self, path: str, is_dir: bool, parent: Verdict | None) -> Verdict:
        assert self.ignore is not None
        return self.ignore.judge(path, is_dir, parent)

    def _enter(
        self, path: str, child: os.DirEntry[str], judged: Verdict | None, open_: list[_Open]
    ) -> None:
        if judged is not None and not judged.descend:
            self.walk.skipped_folders += 1
            return  # BuildKit skips it whole
        sent = judged is None or not judged.excluded
        if sent:
            self._mark_folder(path)
        kind = _FOLDER_KINDS.get(child.name)
        if kind is None and os.path.isfile(os.path.join(child.path, "pyvenv.cfg")):
            kind = FolderKind.DEPENDENCIES
        inner = open_
        opened: _Open | None = None
        if kind is not None and not any(path.startswith(o.path + "/") for o in open_):
            opened = _Open(path, kind)
            inner = [*open_, opened]
        self._folder(path + "/", child.path, judged, inner)
        if opened is not None and (sent or opened.files):
            self.walk.notable_folders.append(
                SentFolder(opened.path, opened.kind, opened.files, opened.size)
            )

    def _mark_folder(self, path: str) -> None:
        folders = self.walk.folders
        while path and path not in folders:
            folders.add(path)
            path = path.rpartition("/")[0]

    def _send_file(
        self, path: str, name: str, absolute: str, size: int, open_: list[_Open]
    ) -> None:
        self.walk.files.append(SentFile(path, size))
        parent = path.rpartition("/")[0]
        if parent:
            self._mark_folder(parent)
        for each in open_:
            each.files += 1
            each.size += size
        secret = self._secret(path, name, absolute, size)
        if secret is not None:
            self.walk.secrets.append(secret)

    def _secret(self, path: str, name: str, absolute: str, size: int) -> SentSecret | None:
        known = secret_file(path)
        if known is None:
            holder = secret_folder(path.rpartition("/")[0]) if "/" in path else None
            if holder is None or size == 0:
                return None
            return SentSecret(path, "credentials", f"a file in {holder}")
        if size == 0:
            return None  # an empty .env or key file holds nothing
        head = self._head(absolute)
        if head is None:
            return SentSecret(path, known.kind.value, known.label) if known.likely else None
        if not known.likely and not content_shows_secret(known.kind, head):
            return None
        if known.kind is SecretFileKind.ENV_FILE and not head.strip():
            return None
        matches = tuple(f"{s.label} {s.redacted}" for s in find_secrets_in_bytes(head)[:5])
        return SentSecret(path, known.kind.value, known.label, matches)

    def _head(self, absolute: str) -> bytes | None:
        if self.content_checks >= MAX_CONTENT_CHECKS:
            return None
        self.content_checks += 1
        try:
            with open_regular(absolute) as handle:
                return handle.read(HEAD_BYTES)
        except OSError:
            return None


def sent_paths(walk: ContextWalk) -> Iterator[str]:
    """Files then folders sent (folders with a trailing ``/``), sorted: the engine's listing."""
    yield from sorted(f.path for f in walk.files)
    yield from sorted(p + "/" for p in walk.folders)


__all__ = [
    "ContextWalk",
    "FolderKind",
    "SentFile",
    "SentFolder",
    "SentSecret",
    "sent_paths",
    "walk_context",
]
