"""Which sent files a Dockerfile can use, and the .dockerignore lines that would cut the rest.

A file of the context reaches a build only through a COPY or ADD without ``--from`` (in any
stage: keelhaul does not guess the target), or a ``RUN --mount=type=bind`` without ``from``.
Sources are matched as Docker matches them: a plain path takes itself and everything below it;
a source with wildcards is Go's ``filepath.Match`` against each path of the context (``*`` does
not cross ``/``), and a folder it matches is taken whole. A source holding a variable could be
anything: then nothing is counted as unused, and :attr:`ContextUse.unknown` says why.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from keelhaul.context.dockerignore import relative
from keelhaul.context.walk import ContextWalk, FolderKind, SentFile, SentSecret
from keelhaul.dockerfile.stages import Build

_REMOTE = re.compile(r"^(?:[a-zA-Z][a-zA-Z0-9+.-]*://|git@|github\.com/)")
_GLOB = frozenset("*?[\\")
_LOG = re.compile(r"\.log(?:\.\d+)?\Z")


@dataclass(frozen=True, slots=True)
class Source:
    """One context source of a COPY, ADD or bind mount."""

    stage: str
    instruction: str
    """``COPY``, ``ADD`` or ``RUN --mount``."""
    line: int
    written: str
    path: str
    """Cleaned, relative to the context root (``.`` is all of it)."""


@dataclass
class ContextUse:
    """The context sources of every stage of a Dockerfile."""

    sources: list[Source] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)
    """Why some source could be anything (``COPY $SRC /app`` in stage build, line 4)."""

    @property
    def whole(self) -> bool:
        """Some source takes the whole context (``COPY . .``)."""
        return any(s.path in (".", "*") for s in self.sources)

    def used(self, path: str) -> bool:
        """Whether some source takes the file at ``path``."""
        return self._matcher(path)

    @property
    def _matcher(self) -> _Matcher:
        return _Matcher.of(self.sources)


def context_use(build: Build) -> ContextUse:
    """What every stage of ``build`` takes from the context."""
    use = ContextUse()
    for stage in build.stages:
        for outer in stage.instructions:
            inst, line = outer.effective, outer.start_line
            if inst.name in ("COPY", "ADD") and inst.flag("from") is None:
                for written in inst.values[:-1]:
                    _add(use, stage.label, inst.name, line, written, inst)
            elif inst.name == "RUN":
                for source in _bind_sources(inst.flags):
                    _add(use, stage.label, "RUN --mount", line, source, inst)
    return use


def _add(use: ContextUse, stage: str, name: str, line: int, written: str, inst: object) -> None:
    heredocs = getattr(inst, "heredocs", ())
    if heredocs and written.startswith("<<"):
        return
    if _REMOTE.match(written):
        return
    if "$" in written:
        use.unknown.append(f"{name} {written} (stage {stage}, line {line}) names a variable")
        return
    use.sources.append(Source(stage, name, line, written, relative(written)))


def _bind_sources(flags: Iterable[str]) -> list[str]:
    found: list[str] = []
    for flag in flags:
        if not flag.startswith("--mount="):
            continue
        fields = dict(
            part.partition("=")[::2] for part in flag[len("--mount=") :].split(",") if part
        )
        if fields.get("type") != "bind" or "from" in fields:
            continue
        found.append(fields.get("source") or fields.get("src") or ".")
    return found


def glob_regex(pattern: str) -> re.Pattern[str]:
    """Go's ``filepath.Match`` as a regular expression (``*``, ``?``, ``[...]``, ``\\``)."""
    out: list[str] = []
    i, n = 0, len(pattern)
    while i < n:
        c = pattern[i]
        i += 1
        if c == "*":
            out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
        elif c == "\\" and i < n:
            out.append(re.escape(pattern[i]))
            i += 1
        elif c == "[":
            end = pattern.find("]", i + 1)
            if end < 0:
                out.append(re.escape(c))
                continue
            body = pattern[i:end]
            negate = body.startswith("^")
            body = body[1:] if negate else body
            body = body.replace("\\", "\\\\").replace("[", "\\[")
            out.append(f"[^/{body}]" if negate else f"[{body}]")
            i = end + 1
        else:
            out.append(re.escape(c))
    return re.compile("".join(out) + r"\Z")


@dataclass(frozen=True)
class _Matcher:
    everything: bool
    plain: frozenset[str]
    globs: tuple[re.Pattern[str], ...]

    @classmethod
    def of(cls, sources: Iterable[Source]) -> _Matcher:
        paths = {s.path for s in sources}
        everything = bool(paths & {".", "*"})
        globs = tuple(glob_regex(p) for p in paths if not _GLOB.isdisjoint(p))
        return cls(everything, frozenset(p for p in paths if _GLOB.isdisjoint(p)), globs)

    def __call__(self, path: str) -> bool:
        if self.everything:
            return True
        # the file itself or a folder above it is named, or matched by a wildcard source
        end = len(path)
        while end > 0:
            prefix = path[:end]
            if prefix in self.plain or any(g.match(prefix) for g in self.globs):
                return True
            end = path.rfind("/", 0, end)
        return False


def unused_files(
    walk: ContextWalk, use: ContextUse, build_files: Iterable[str] = ()
) -> list[SentFile] | None:
    """The sent files no source takes; None when a variable source makes that unknowable.

    ``build_files`` (the Dockerfile and its ignore file, relative to the context) are read by
    the build itself, so they are never unused.
    """
    if use.unknown:
        return None
    matcher = _Matcher.of(use.sources)
    if matcher.everything:
        return []
    own = set(build_files)
    return [f for f in walk.files if f.path not in own and not matcher(f.path)]


@dataclass(frozen=True, slots=True)
class Suggestion:
    """A .dockerignore line, why, and the bytes it keeps out of the context."""

    line: str
    reason: str
    saves: int
    files: int


def suggest_lines(
    walk: ContextWalk, use: ContextUse, unused: list[SentFile] | None
) -> list[Suggestion]:
    """Lines that cut the context: VCS/dependency folders, secrets, logs, unused top entries.

    Largest savings first; the fix that writes them still drops any line a COPY names
    (``ignore_file_fix``).
    """
    found: dict[str, Suggestion] = {}
    covered: set[str] = set()

    def add(line: str, reason: str, files: Iterable[SentFile]) -> None:
        chosen = [f for f in files if f.path not in covered]
        covered.update(f.path for f in chosen)
        old = found.get(line)
        saves = sum(f.size for f in chosen) + (old.saves if old else 0)
        count = len(chosen) + (old.files if old else 0)
        found[line] = Suggestion(line, old.reason if old else reason, saves, count)

    by_folder = _files_by_top_folder(walk.files)
    under = _files_under(walk.files, [f.path for f in walk.notable_folders])
    nested_names = {f.name for f in walk.notable_folders if "/" in f.path}
    for folder in walk.notable_folders:
        line = f"**/{folder.name}" if folder.name in nested_names else folder.name
        if folder.kind is FolderKind.VCS and _uses_folder(use, folder.path):
            continue
        add(line, _FOLDER_REASONS[folder.kind], under[folder.path])
    # a secret a COPY names gets no line (it would break the build: see copied_secrets);
    # every other .env file one line, `**/.env*` matching at the top too
    named = {secret.path for secret, _ in copied_secrets(walk, use)}
    envs = [s.path for s in walk.secrets if _is_env(s.path)]
    env_line = "**/.env*" if any("/" in p for p in envs) else ".env*"
    for secret in walk.secrets:
        if secret.path in named:
            continue
        envs_line = env_line if not named.intersection(envs) else secret.path
        line = envs_line if _is_env(secret.path) else secret.path
        add(line, f"secret: {secret.label}", [f for f in walk.files if f.path == secret.path])
    logs = [f for f in walk.files if _LOG.search(f.path)]
    if logs:
        line = "**/*.log" if any("/" in f.path for f in logs) else "*.log"
        add(line, "log files", logs)
    if unused:
        # the build's own files: tiny, and an ignore file that hides itself never settles
        covered.update(f.path for f in walk.files if f.path.rpartition("/")[2] in _BUILD_FILES
                       or f.path.endswith((".dockerignore", "Dockerfile")))  # fmt: skip
        unused_set = {f.path for f in unused}
        for top, files in by_folder.items():
            if all(f.path in unused_set and f.path not in covered for f in files):
                add(top, "no COPY or ADD uses it", files)
    ranked = sorted(found.values(), key=lambda s: (-s.saves, s.line))
    return [s for s in ranked if s.files]


_BUILD_FILES = frozenset({".dockerignore", "Dockerfile", "Containerfile"})
_FOLDER_REASONS = {
    FolderKind.VCS: "version control data",
    FolderKind.DEPENDENCIES: "installed dependencies",
    FolderKind.BUILD_OUTPUT: "build output",
}


def _is_env(path: str) -> bool:
    return path.rpartition("/")[2].startswith(".env")


def copied_secrets(walk: ContextWalk, use: ContextUse) -> list[tuple[SentSecret, Source]]:
    """Each secret of the context a COPY, ADD or bind mount names (itself, or by a wildcard;
    not through a folder or the whole context), with the first source that does.

    A .dockerignore line cannot help there (the build would fail without the file): the
    secret must not be copied at all.
    """
    found: list[tuple[SentSecret, Source]] = []
    for secret in walk.secrets:
        for source in use.sources:
            globbed = not _GLOB.isdisjoint(source.path) and source.path not in (".", "*")
            if source.path == secret.path or (
                globbed and glob_regex(source.path).match(secret.path)
            ):
                found.append((secret, source))
                break
    return found


def _uses_folder(use: ContextUse, path: str) -> bool:
    return any(s.path == path or s.path.startswith(path + "/") for s in use.sources)


def _files_by_top_folder(files: Iterable[SentFile]) -> dict[str, list[SentFile]]:
    by_top: dict[str, list[SentFile]] = defaultdict(list)
    for each in files:
        by_top[each.path.partition("/")[0]].append(each)
    return by_top


def _files_under(files: list[SentFile], folders: list[str]) -> dict[str, list[SentFile]]:
    wanted = set(folders)
    found: dict[str, list[SentFile]] = {f: [] for f in folders}
    for each in files:
        end = each.path.find("/")
        while end >= 0:
            prefix = each.path[:end]
            if prefix in wanted:
                found[prefix].append(each)
                break
            end = each.path.find("/", end + 1)
    return found


__all__ = [
    "ContextUse",
    "Source",
    "Suggestion",
    "context_use",
    "copied_secrets",
    "glob_regex",
    "suggest_lines",
    "unused_files",
]
