"""Replaying git history through the cache model: which steps each commit would rebuild.

Each commit is compared with its first parent (the build before it filled the cache, as on a
main branch's CI). Three git processes in all, however many commits: one ``git log
--name-only`` for the changed files, one ``git cat-file --batch`` for the Dockerfile and ignore
file at each revision that changed them, and ``git ls-tree`` only for the (rare) commits that
change the ignore file, to see which files it lets in or out.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from keelhaul.cache.keys import CacheModel, posix_relative
from keelhaul.cache.rebuilds import Change, Rebuild, rebuilds
from keelhaul.context.dockerignore import DockerIgnore, DockerIgnoreError, Verdict
from keelhaul.dockerfile.syntax import parse
from keelhaul.errors import KeelhaulError

IGNORE_FILE = ".dockerignore"
#: The note of a commit from before the Dockerfile was added.
PREDATES = "predates the Dockerfile"
#: Commits replayed at most (a bound on untrusted input: a range can be the whole history).
MAX_COMMITS = 20_000


class GitError(KeelhaulError):
    """git refused: not a repository, an unknown revision, git missing."""


def git(repo: Path, *args: str, stdin: bytes | None = None) -> bytes:
    try:
        done = subprocess.run(
            ["git", "-C", str(repo), "-c", "core.quotePath=false", *args],
            input=stdin,
            capture_output=True,
            check=False,
        )
    except FileNotFoundError:
        raise GitError("git: not found on PATH") from None
    if done.returncode != 0:
        message = done.stderr.decode("utf-8", "replace").strip().splitlines()
        first = next(
            (line for line in message if line.startswith("fatal:")), message[0] if message else ""
        )
        raise GitError(f"git {args[0]}: {first.removeprefix('fatal: ') or 'failed'}")
    return done.stdout


@dataclass(frozen=True)
class Commit:
    sha: str
    parent: str | None
    subject: str
    files: tuple[str, ...]
    """Paths changed against the first parent, relative to the repository root."""


def read_log(repo: Path, rev_range: str, last: int | None) -> list[Commit]:
    """The commits of ``rev_range`` along first parents, oldest first."""
    args = [
        "log",
        "--first-parent",
        "--diff-merges=first-parent",
        "--no-renames",
        "--name-only",
        "-z",
    ]
    args += ["--format=%x1e%H%x1f%P%x1f%s", f"-n{min(last or MAX_COMMITS, MAX_COMMITS)}"]
    if rev_range.startswith("-"):
        raise GitError(f"{rev_range!r}: not a revision range")
    out = git(repo, *args, rev_range, "--").decode("utf-8", "surrogateescape")
    commits: list[Commit] = []
    for chunk in out.split("\x1e")[1:]:
        header, _, rest = chunk.partition("\x00")
        sha, parents, subject = ([*header.split("\x1f"), "", ""])[:3]
        files = tuple(f for f in rest.lstrip("\n").split("\x00") if f)
        commits.append(Commit(sha, parents.split()[0] if parents.strip() else None, subject, files))
    commits.reverse()
    return commits


def read_blobs(repo: Path, specs: Iterable[str]) -> dict[str, str | None]:
    """``rev:path`` -> the file's text (None when absent), in one ``git cat-file --batch``."""
    wanted = list(dict.fromkeys(specs))
    if not wanted:
        return {}
    out = git(
        repo,
        "cat-file",
        "--batch",
        stdin="".join(f"{s}\n" for s in wanted).encode("utf-8", "surrogateescape"),
    )
    found: dict[str, str | None] = {}
    pos = 0
    for spec in wanted:
        end = out.index(b"\n", pos)
        header = out[pos:end].split()
        pos = end + 1
        if len(header) == 3 and header[1] == b"blob":
            size = int(header[2])
            found[spec] = out[pos : pos + size].decode("utf-8", "surrogateescape")
            pos += size + 1
        else:
            if len(header) == 3:  # a tree or another object: skip its body
                pos += int(header[2]) + 1
            found[spec] = None
    return found


@dataclass(frozen=True)
class Layout:
    """Where the build lives in the repository (``/``-separated, relative to its root)."""

    root: Path
    context: str
    dockerfile: str | None
    """None when the Dockerfile is outside the repository: then it is the same for every commit."""

    @property
    def ignore_files(self) -> tuple[str, ...]:
        """The Dockerfile's own ignore file first (it wins when present), then the context's."""
        own = (f"{self.dockerfile}{IGNORE_FILE}",) if self.dockerfile else ()
        default = IGNORE_FILE if self.context == "." else f"{self.context}/{IGNORE_FILE}"
        return (*own, default)

    def in_context(self, path: str) -> str | None:
        return posix_relative(path, self.context)


def layout(context_dir: Path, dockerfile: Path) -> Layout:
    top = Path(git(context_dir, "rev-parse", "--show-toplevel").decode().strip())
    context = (
        context_dir.resolve().relative_to(top).as_posix() if context_dir.resolve() != top else "."
    )
    try:
        df: str | None = dockerfile.resolve().relative_to(top).as_posix()
    except ValueError:
        df = None
    return Layout(top, context or ".", df)


@dataclass
class CommitReplay:
    """One commit's rebuilds, with and without the reorder."""

    commit: Commit
    context_files: tuple[str, ...]
    now: Rebuild | None
    reordered: Rebuild | None
    note: str = ""
    """Why the commit was not replayed, or what was assumed for it."""
    predates: bool = False
    """The Dockerfile does not exist yet at this commit (it appears later in the range): the
    commit is no build of this Dockerfile and counts in no rate."""


@dataclass
class Replay:
    layout: Layout
    rev_range: str
    commits: list[CommitReplay] = field(default_factory=list)
    final_text: str | None = None
    final_reordered: str | None = None


@dataclass
class _Models:
    build_args: Mapping[str, str]
    target: str | None
    reorder: Callable[[str], str | None]
    _models: dict[str, CacheModel | None] = field(default_factory=dict)
    _reordered: dict[str, str] = field(default_factory=dict)

    def model(self, text: str | None) -> CacheModel | None:
        if text is None:
            return None
        if text not in self._models:
            tree = parse(text, "Dockerfile")
            self._models[text] = (
                None if tree.errors else CacheModel.of(tree, self.build_args, self.target)
            )
        return self._models[text]

    def reordered_text(self, text: str | None) -> str | None:
        if text is None:
            return None
        if text not in self._reordered:
            self._reordered[text] = self.reorder(text) or text
        return self._reordered[text]


def _ignore(texts: Mapping[str, str | None], files: tuple[str, ...]) -> DockerIgnore | None:
    for name in files:
        text = texts.get(name)
        if text is not None:
            try:
                return DockerIgnore.parse(text, name)
            except DockerIgnoreError:
                return None
    return None


class _Sent:
    """Whether the context sends a file, folder verdicts judged once for all files below."""

    def __init__(self, ignore: DockerIgnore | None) -> None:
        self.ignore = ignore
        self.folders: dict[str, Verdict] = {}

    def _folder(self, path: str) -> Verdict | None:
        if not path or self.ignore is None:
            return None
        found = self.folders.get(path)
        if found is None:
            parent = self._folder(path.rpartition("/")[0])
            if parent is not None and not parent.descend:
                found = parent  # a folder the walk skips: everything below is left out
            else:
                found = self.ignore.judge(path, True, parent)
            self.folders[path] = found
        return found

    def __call__(self, path: str) -> bool:
        if self.ignore is None:
            return True
        parent = self._folder(path.rpartition("/")[0])
        if parent is not None and not parent.descend:
            return False
        return not self.ignore.judge(path, False, parent).excluded


def replay(
    place: Layout,
    rev_range: str,
    last: int | None,
    build_args: Mapping[str, str],
    target: str | None,
    reorder: Callable[[str], str | None],
    fixed_dockerfile: str | None = None,
) -> Replay:
    """Replay ``rev_range``; ``reorder(text)`` gives the reordered Dockerfile (or None).

    ``fixed_dockerfile`` is the Dockerfile's text when it lives outside the repository.
    """
    commits = read_log(place.root, rev_range, last)
    result = Replay(place, rev_range)
    if not commits:
        return result
    tracked = ([place.dockerfile] if place.dockerfile else []) + list(place.ignore_files)
    first = commits[0]
    specs = [f"{first.parent}:{p}" for p in tracked] if first.parent else []
    specs += [f"{c.sha}:{p}" for c in commits for p in tracked if p in c.files]
    blobs = read_blobs(place.root, specs)
    current: dict[str, str | None] = {
        p: blobs.get(f"{first.parent}:{p}") if first.parent else None for p in tracked
    }
    if place.dockerfile is None:
        current["<dockerfile>"] = fixed_dockerfile
    df_key = place.dockerfile or "<dockerfile>"
    models = _Models(build_args, target, reorder)
    seen = current.get(df_key) is not None
    for commit in commits:
        before = dict(current)
        for p in tracked:
            if p in commit.files:
                current[p] = blobs.get(f"{commit.sha}:{p}")
        one = _replay_one(place, commit, before, current, df_key, models)
        if not seen and current.get(df_key) is None:
            one.note, one.predates = PREDATES, True
        seen = seen or current.get(df_key) is not None
        result.commits.append(one)
    result.final_text = current.get(df_key)
    result.final_reordered = models.reordered_text(result.final_text)
    return result


def _replay_one(
    place: Layout,
    commit: Commit,
    before: Mapping[str, str | None],
    after: Mapping[str, str | None],
    df_key: str,
    models: _Models,
) -> CommitReplay:
    context_files = tuple(r for r in (place.in_context(f) for f in commit.files) if r is not None)
    text, old_text = after.get(df_key), before.get(df_key)
    model = models.model(text)
    if model is None:
        why = (
            "no Dockerfile at this commit"
            if text is None
            else "the Dockerfile does not parse at this commit"
        )
        return CommitReplay(commit, context_files, None, None, why)
    ignore_files = place.ignore_files
    ignore = _ignore(after, ignore_files)
    files = set(context_files)
    note = ""
    if any(before.get(p) != after.get(p) for p in ignore_files):
        files |= _flipped(place, commit, _ignore(before, ignore_files), ignore)
        note = "the ignore file changed"
    sent = _Sent(ignore)
    changed = frozenset(files)
    dockerfile_changed = text != old_text
    old_model = models.model(old_text) if dockerfile_changed else None
    cached = (old_model.static_keys if old_model else frozenset()) if dockerfile_changed else None
    now = rebuilds(model, Change(changed, frozenset(), cached, sent))
    fixed = models.model(models.reordered_text(text))
    reordered: Rebuild | None = None
    if fixed is not None:
        old_fixed = models.model(models.reordered_text(old_text)) if dockerfile_changed else None
        cached_fixed = (
            (old_fixed.static_keys if old_fixed else frozenset()) if dockerfile_changed else None
        )
        reordered = rebuilds(fixed, Change(changed, frozenset(), cached_fixed, sent))
    if dockerfile_changed:
        note = ", ".join(filter(None, ["the Dockerfile changed", note]))
    return CommitReplay(commit, context_files, now, reordered, note)


def _flipped(
    place: Layout, commit: Commit, old: DockerIgnore | None, new: DockerIgnore | None
) -> set[str]:
    """Context files the ignore change lets in or leaves out (both change what COPY sees)."""
    listing = git(place.root, "ls-tree", "-r", "-z", "--name-only", commit.sha, "--", place.context)
    flipped: set[str] = set()
    was, now = _Sent(old), _Sent(new)
    for path in listing.decode("utf-8", "surrogateescape").split("\x00"):
        rel = place.in_context(path) if path else None
        if rel is not None and was(rel) != now(rel):
            flipped.add(rel)
    return flipped
