"""Helpers of the build-context rules: what each COPY/ADD takes from the context.

Only stages the target needs count (BuildKit builds no other), and only sources that come from
the context: no ``--from``, no heredoc, no URL or git reference, no unexpanded variable.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from keelhaul.context.build_context import BuildContext, ContextEntry
from keelhaul.context.dockerignore import DockerIgnore, DockerIgnoreError, relative
from keelhaul.context.notable import NotableKind
from keelhaul.dockerfile.stages import Stage
from keelhaul.dockerfile.syntax import Instruction
from keelhaul.findings import FileChange, Fix, Safety
from keelhaul.rules.registry import DockerfileContext

_REMOTE = re.compile(r"^(?:[a-zA-Z][a-zA-Z0-9+.-]*://|git@|github\.com/)")
#: Sources that take every top-level entry of the context (``*`` matches dot files in Go).
_WHOLE = frozenset({".", "*"})
_JS = ("npm", "yarn", "pnpm")
_PYTHON = ("pip", "uv", "poetry", "pipenv")
_JS_BUILD_TOOLS = frozenset({"tsc", "webpack", "vite", "next", "nuxt", "ng", "rollup", "esbuild"})


@dataclass(frozen=True, slots=True)
class ContextCopy:
    """A COPY or ADD that reads the build context, with its local sources (cleaned)."""

    instruction: Instruction
    stage: Stage
    sources: tuple[str, ...]
    """Relative to the context root, cleaned (``./src/`` is ``src``, the root is ``.``)."""
    written: tuple[str, ...]
    """The same sources as written in the Dockerfile."""
    exclude: DockerIgnore | None
    """The instruction's own ``--exclude`` patterns."""

    @property
    def whole(self) -> bool:
        """Whether it copies the whole context (``COPY . .``, ``COPY * /app/``)."""
        return any(s in _WHOLE for s in self.sources)

    def written_for(self, source: str) -> str:
        return self.written[self.sources.index(source)]


def _exclude_patterns(inst: Instruction) -> DockerIgnore | None:
    patterns = [f[len("--exclude=") :] for f in inst.flags if f.startswith("--exclude=")]
    if not patterns:
        return None
    try:
        return DockerIgnore.from_patterns(patterns, "--exclude")
    except DockerIgnoreError:
        return None  # BuildKit refuses the instruction; other rules say so


def context_copies(ctx: DockerfileContext) -> Iterator[ContextCopy]:
    """The COPY and ADD instructions, in the stages the build needs, that read the context."""
    for index in ctx.build.needed_stages():
        stage = ctx.build.stages[index]
        for inst in stage.instructions:
            if inst.name not in ("COPY", "ADD") or inst.flag("from") is not None:
                continue
            written = tuple(s for s in inst.values[:-1] if _is_local(s, inst))
            if written:
                cleaned = tuple(relative(s) for s in written)
                yield ContextCopy(inst, stage, cleaned, written, _exclude_patterns(inst))


def _is_local(source: str, inst: Instruction) -> bool:
    if inst.heredocs and source.startswith("<<"):
        return False
    return "$" not in source and _REMOTE.match(source) is None and relative(source) != ".."


def whole_context_copies(ctx: DockerfileContext) -> list[ContextCopy]:
    return [c for c in context_copies(ctx) if c.whole]


def copied(copy: ContextCopy, entry: ContextEntry) -> bool:
    """Whether a whole-context ``copy`` takes ``entry`` (sent, and not ``--exclude``d)."""
    if not entry.sent:
        return False
    return copy.exclude is None or not copy.exclude.excludes(entry.path, entry.is_dir)


def copied_under(copy: ContextCopy, folder: str, entry: ContextEntry) -> bool:
    """Whether copying ``folder`` takes ``entry``, which lies below it."""
    if not entry.sent or not entry.path.startswith(folder + "/"):
        return False
    inner = entry.path[len(folder) + 1 :]
    return copy.exclude is None or not copy.exclude.excludes(inner, entry.is_dir)


def managers_used(ctx: DockerfileContext, action: Iterable[str]) -> set[str]:
    """The package managers whose ``action`` (install, ci, build...) some RUN performs."""
    wanted = set(action)
    return {op.manager for run in ctx.runs for op in run.operations.packages if op.action in wanted}


def installs_js(ctx: DockerfileContext) -> bool:
    return bool(managers_used(ctx, ("install", "ci")) & set(_JS))


def installs_python(ctx: DockerfileContext) -> bool:
    return bool(managers_used(ctx, ("install",)) & set(_PYTHON))


def build_output_dirs(ctx: DockerfileContext) -> set[str]:
    """Folder names the builds run inside the image write to (a local copy of them is stale)."""
    names: set[str] = set()
    for run in ctx.runs:
        for op in run.operations.packages:
            if op.manager in _JS and (op.action == "build" or _runs_build_script(op.operands)):
                names |= {"dist", "build", "out", ".next", ".nuxt"}
            elif op.manager in ("cargo", "mvn") and op.action == "build":
                names.add("target")
            elif op.manager == "gradle" and op.action == "build":
                names.add("build")
            elif op.manager == "dotnet" and op.action in ("build", "publish"):
                names |= {"obj", "out"}
        for command in run.script.commands:
            if command.argv and command.argv[0] in _JS_BUILD_TOOLS:
                names |= {"dist", "build", "out", ".next", ".nuxt"}
    return names


def _runs_build_script(operands: tuple[str, ...]) -> bool:
    return any(o == "build" or o.startswith("build:") for o in operands[:1])


def describe(entries: Iterable[ContextEntry], limit: int = 5) -> str:
    """``.git, node_modules and 3 more`` (folders with a trailing ``/``)."""
    names = [e.path + ("/" if e.is_dir else "") for e in entries]
    if len(names) > limit:
        shown = ", ".join(names[:limit])
        return f"{shown} and {len(names) - limit} more"
    if len(names) > 1:
        return ", ".join(names[:-1]) + " and " + names[-1]
    return names[0] if names else ""


def ignore_line(entry: ContextEntry) -> str:
    """The .dockerignore line that would leave ``entry`` out."""
    nested = "/" in entry.path
    if entry.kind is NotableKind.LOG:
        return "**/*.log" if nested else "*.log"
    if entry.kind is NotableKind.ENV_FILE and entry.name.startswith(".env"):
        return "**/.env*" if nested else ".env*"
    if entry.kind is NotableKind.VCS or entry.kind is NotableKind.NODE_MODULES:
        return f"**/{entry.name}" if nested else entry.name
    return entry.path


def ignore_line_list(entries: Iterable[ContextEntry]) -> list[str]:
    """The lines to add, once each; ``**/x`` makes ``x`` redundant."""
    lines = dict.fromkeys(ignore_line(e) for e in entries)
    return [line for line in lines if f"**/{line}" not in lines]


def ignore_lines(entries: Iterable[ContextEntry]) -> str:
    return ", ".join(ignore_line_list(entries))


def ignore_file_fix(ctx: DockerfileContext, context: BuildContext, lines: list[str]) -> Fix | None:
    """A fix that adds ``lines`` to the context's ignore file (creating ``.dockerignore``).

    A line that would leave out a path some COPY or ADD names, or ``.git`` when a RUN calls
    git (version stamping reads it), is not added: the fix must never break the build.
    """
    named = [s for c in context_copies(ctx) if not c.whole for s in c.sources]
    uses_git = any(cmd.name == "git" for run in ctx.runs for cmd in run.script.commands)
    keep: list[str] = []
    for line in lines:
        if uses_git and line.strip("/*") == ".git":
            continue
        pattern = DockerIgnore.from_patterns([line])
        if any(pattern.excludes(s) or pattern.excludes(s, True) for s in named):
            continue
        keep.append(line)
    if not keep:
        return None
    path = context.ignore_file or context.root / ".dockerignore"
    old = context.ignore_text or ""
    gap = "" if not old or old.endswith("\n") else "\n"
    text = old + gap + "".join(f"{line}\n" for line in keep)
    verb = "create" if context.ignore_file is None else "add to"
    why = _what_may_change(context, keep)
    if why:
        return Fix((), f"{verb} {path.name}: {', '.join(keep)}", Safety.UNSAFE, why,
                   files=(FileChange(str(path), text),))  # fmt: skip
    return Fix((), f"{verb} {path.name}: {', '.join(keep)}", files=(FileChange(str(path), text),))


def _what_may_change(context: BuildContext, lines: list[str]) -> str:
    """What leaving the files of ``lines`` out may change, when some build step or the
    program may read them: version-control data, and .env files, keys and credentials
    (empty when it changes nothing keelhaul cannot see)."""
    patterns = DockerIgnore.from_patterns(lines)
    gone = [e for e in context.notable if patterns.excludes(e.path, e.is_dir)]
    why: list[str] = []
    vcs = sorted({e.name for e in gone if e.kind is NotableKind.VCS})
    if vcs:
        why.append(f"{', '.join(vcs)} leaves the build context: a build step keelhaul cannot "
                   "see into (setuptools-scm, `git describe` in a script or Makefile) or the "
                   "program may read it")  # fmt: skip
    secrets = sorted({e.path for e in gone if e.kind is not None and e.kind.is_secret})
    if secrets:
        shown = ", ".join(secrets[:3]) + (" and more" if len(secrets) > 3 else "")
        why.append(f"{shown} no longer reach the image: a program that loads them at run "
                   "time (dotenv, a key file) stops finding them")  # fmt: skip
    return "; ".join(why)
