"""What a one-line source change rebuilds: measured, not predicted.

After a version is built (the cache is warm), verify appends one line (a comment, see
:func:`change_line`) to one source file in that version's temporary copy and builds again; BuildKit's plain progress says which
steps came from the cache (``CACHED``) and which ran again. The file is ``--touch PATH``, or
chosen from what the Dockerfile's COPY/ADD instructions bring in, at any depth the listing
reaches (``VERIFY_CONTEXT_DEPTH`` folders, ``VERIFY_CONTEXT_ENTRIES`` entries: Maven's
``src/main/java/...`` is six deep) and outside ``.git``: a source file (by its extension)
rather than a dependency manifest or lock file, the shallowest, then the first by name.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from keelhaul.cache.keys import CacheModel
from keelhaul.context.build_context import BuildContext
from keelhaul.dockerfile.syntax import parse
from keelhaul.limits import VERIFY_CONTEXT_DEPTH, VERIFY_CONTEXT_ENTRIES
from keelhaul.verify.engine import Built, Engine

#: File names that say which dependencies to install, not what the program does.
MANIFESTS = frozenset({
    "package.json", "package-lock.json", "yarn.lock", "pnpm-lock.yaml", "npm-shrinkwrap.json",
    "requirements.txt", "pipfile", "pipfile.lock", "poetry.lock", "pyproject.toml", "setup.py",
    "setup.cfg", "uv.lock", "go.mod", "go.sum", "pom.xml", "build.gradle", "settings.gradle",
    "gradle.properties", "composer.json", "composer.lock", "gemfile", "gemfile.lock",
    "cargo.toml", "cargo.lock", "mix.exs", "mix.lock", "dockerfile", ".dockerignore",
})  # fmt: skip
SOURCE_SUFFIXES = frozenset({
    ".py", ".js", ".jsx", ".ts", ".tsx", ".mjs", ".cjs", ".go", ".java", ".kt", ".scala",
    ".php", ".rb", ".rs", ".c", ".h", ".cc", ".cpp", ".cs", ".html", ".css", ".scss", ".vue",
    ".svelte", ".ex", ".exs", ".sh", ".md", ".txt",
})  # fmt: skip


@dataclass(frozen=True)
class CacheRun:
    """The rebuild after the change."""

    touched: str
    built: Built

    @property
    def rebuilt(self) -> list[str]:
        return [step.name for step in self.built.rebuilt]


def _score(path: str) -> tuple[int, int, str]:
    name = PurePosixPath(path).name.lower()
    suffix = PurePosixPath(name).suffix
    if (
        name in MANIFESTS
        or name.startswith(("requirements", "dockerfile"))
        or name.endswith(".dockerignore")
    ):
        rank = 2
    elif suffix in SOURCE_SUFFIXES and suffix not in (".md", ".txt"):
        rank = 0
    else:
        rank = 1
    return rank, path.count("/"), path


def choose_file(context: Path, dockerfile: Path, build_args: Mapping[str, str] | None = None,
                target: str | None = None) -> str | None:  # fmt: skip
    """A file of ``context`` that the build copies in, to change; None when nothing is."""
    text = dockerfile.read_bytes().decode("utf-8", "surrogateescape")
    tree = parse(text, str(dockerfile))
    if tree.errors:
        return None
    model = CacheModel.of(tree, build_args, target)
    steps = [step for index in model.needed for step in model.stages[index].steps]
    listed = BuildContext.read(context, dockerfile, max_depth=VERIFY_CONTEXT_DEPTH,
                               max_entries=VERIFY_CONTEXT_ENTRIES)  # fmt: skip
    candidates = [
        entry.path
        for entry in listed.entries
        if not entry.is_dir
        and entry.sent
        and not entry.path.startswith(".git/")
        and any(step.reads(entry.path) for step in steps)
    ]
    if not candidates:
        return None
    return min(candidates, key=_score)


#: Comment syntax by file suffix, for the line the change appends.
_COMMENTS = {
    **dict.fromkeys((".py", ".sh", ".rb", ".pl", ".r", ".yaml", ".yml", ".toml", ".ex", ".exs",
                     ".conf", ".cfg", ".ini", ".properties", ".txt", ".env"), ("# ", "")),
    **dict.fromkeys((".js", ".jsx", ".ts", ".tsx", ".mjs", ".cjs", ".go", ".java", ".kt",
                     ".scala", ".c", ".h", ".cc", ".cpp", ".cs", ".rs", ".swift", ".php",
                     ".vue", ".svelte"), ("// ", "")),
    **dict.fromkeys((".css", ".scss", ".less"), ("/* ", " */")),
    **dict.fromkeys((".html", ".htm", ".xml", ".md", ".svg"), ("<!-- ", " -->")),
    ".sql": ("-- ", ""),
}  # fmt: skip


def change_line(relative: str, token: str) -> str:
    """The line appended: a comment naming ``token`` in the file's language; for a file
    whose comments are unknown (JSON...), a line of spaces whose length comes from ``token``.

    The line is new to every run and every version, so BuildKit's cache (shared by both
    versions and kept between runs) cannot already hold the changed file."""
    suffix = PurePosixPath(relative.lower()).suffix
    name = PurePosixPath(relative.lower()).name
    if name in ("makefile", "dockerfile") or name.startswith("."):
        suffix = ".sh"
    comment = _COMMENTS.get(suffix)
    if comment is not None:
        return f"{comment[0]}keelhaul verify {token}{comment[1]}"
    return " " * (1 + sum(token.encode()) % 997)


def touch(context: Path, relative: str, token: str) -> None:
    """The one-line change: :func:`change_line` appended to the file."""
    path = context / relative
    data = path.read_bytes()
    newline = b"\r\n" if b"\r\n" in data else b"\n"
    if data and not data.endswith(newline):
        data += newline
    path.write_bytes(data + change_line(relative, token).encode() + newline)


def rebuild_after_change(
    engine: Engine,
    context: Path,
    dockerfile: Path,
    tag: str,
    relative: str,
    token: str,
    build_args: Mapping[str, str] | None = None,
    target: str | None = None,
) -> CacheRun:
    """Change ``relative`` in the (already built) copy and build it again."""
    touch(context, relative, token)
    started = time.monotonic()
    built = engine.build(context, dockerfile, tag, dict(build_args or {}), target)
    if built.seconds <= 0:
        built = Built(built.ok, time.monotonic() - started, built.steps, built.error)
    return CacheRun(relative, built)
