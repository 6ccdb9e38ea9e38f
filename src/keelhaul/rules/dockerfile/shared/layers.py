"""Shared by the layer and build-cache rules (KH180-KH199).

Every RUN, COPY and ADD is a layer, and a layer is immutable: what one layer writes, a later
layer can only hide. These helpers say which layers ship (the target stage and the stages it is
built FROM, in build order), the working directory, shell and user in force before each
instruction, and how a path written in a RUN or a COPY reads as an absolute path, without
guessing: a path whose variables are unknown is None.

A working directory the Dockerfile does not set (a base image may set one) is a placeholder
such as ``%wd0``, so that two relative paths under the same unknown directory still compare
equal while a relative and an absolute path never do.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from fnmatch import fnmatchcase

from keelhaul.context.build_context import BuildContext
from keelhaul.dockerfile.shell import SimpleCommand
from keelhaul.dockerfile.stages import Stage
from keelhaul.dockerfile.syntax import Instruction
from keelhaul.rules.dockerfile.shared.packages import analysis
from keelhaul.rules.dockerfile.shared.structure import (
    Overlay,
    chain,
    expand,
    is_remote,
    scopes,
    transfer,
)
from keelhaul.rules.registry import DockerfileContext, Run

# --------------------------------------------------------------------------------------------
# stages and runs


def shipped_chain(ctx: DockerfileContext) -> list[Stage]:
    """The stages whose layers end up in the image, first base first.

    Only the target and the stages it is built FROM: ``COPY --from`` takes a snapshot of the
    files it names, never the layers (nor what they deleted) of the stage it reads.
    """
    final = ctx.final_stage
    return [] if final is None else chain(ctx.build, final)[::-1]


def runs_by_instruction(ctx: DockerfileContext) -> Mapping[int, list[Run]]:
    """id(instruction) -> its RUN scripts, read as BuildKit runs them (ONBUILD ones too).

    Built once per Dockerfile (rules ask for it inside loops over stages); read-only.
    """
    return ctx.memo("layers.runs_by_instruction", _runs_by_instruction)


def _runs_by_instruction(ctx: DockerfileContext) -> dict[int, list[Run]]:
    out: dict[int, list[Run]] = {}
    for run in analysis(ctx).runs:
        out.setdefault(id(run.instruction), []).append(run)
    return out


# --------------------------------------------------------------------------------------------
# what holds before each instruction


@dataclass(frozen=True, slots=True)
class Place:
    """The working directory, SHELL and USER in force before an instruction."""

    cwd: str
    """Absolute, or under a placeholder (``%wd0/app``) when the base image decides it."""
    shell: tuple[str, ...] | None
    """The SHELL instruction's words; None when no SHELL in the stage chain set one."""
    user: str | None
    """The USER as written; None when no USER in the stage chain set one."""
    env: Mapping[str, str]
    """ARG and ENV values known before the instruction."""


class Places:
    """:class:`Place` before every instruction of every stage, computed in one pass."""

    def __init__(self, ctx: DockerfileContext) -> None:
        self.before: dict[int, Place] = {}
        self._ends: dict[int, tuple[str, tuple[str, ...] | None, str | None]] = {}
        found = scopes(ctx)
        escape = ctx.tree.escape
        for stage in ctx.build.stages:
            base = stage.base_stage
            if base is not None and base < stage.index and base in self._ends:
                cwd, shell, user = self._ends[base]
            else:
                cwd, shell, user = ("/" if stage.is_scratch else f"%wd{stage.index}"), None, None
            for inst in stage.instructions:
                scope = found.at(inst)
                env: Mapping[str, str] = scope.env if scope is not None else {}
                self.before[id(inst)] = Place(cwd, shell, user, env)
                if inst.name == "WORKDIR" and inst.values:
                    done = expand(inst.values[0], env, escape)
                    if done is None or done[1]:
                        cwd = f"%wd{stage.index}-{inst.start_line}"  # unknown from here on
                    else:
                        cwd = join(cwd, done[0])
                elif inst.name == "SHELL" and inst.json:
                    shell = inst.values
                elif inst.name == "USER" and inst.values:
                    user = inst.values[0]
            self._ends[stage.index] = (cwd, shell, user)

    def at(self, inst: Instruction) -> Place:
        return self.before.get(id(inst)) or Place("%wd", None, None, {})


def places(ctx: DockerfileContext) -> Places:
    """The places of ``ctx``, computed once however many rules ask."""
    return ctx.memo("layers.places", Places)


# --------------------------------------------------------------------------------------------
# paths

_GLOB = re.compile(r"[*?\[]")
_UNRESOLVED = re.compile(r"[$`]")


def join(cwd: str, path: str) -> str:
    """``path`` made absolute against ``cwd`` and normalised (``..`` and ``.`` folded)."""
    if path.startswith("/"):
        return posixpath.normpath(path).replace("//", "/")
    return posixpath.normpath(posixpath.join(cwd, path))


def is_root_user(user: str | None) -> bool:
    return user is None or user.split(":", 1)[0] in ("root", "0", "")


def resolve_path(word: str, cwd: str, env: Mapping[str, str], user: str | None) -> str | None:
    """A path of a command or instruction as an absolute path; None when unknown.

    Variables are expanded from ``env``; any left (a build arg, the base image's ENV, a
    command substitution) make the path unknown. ``~`` is /root for root only.
    """
    if not word or word == "-" or word.startswith("/dev/"):
        return None
    if "$" in word or "`" in word:
        done = expand(word, env)
        if done is None or done[1] or _UNRESOLVED.search(done[0]):
            return None
        word = done[0]
    if word.startswith("~"):
        if not is_root_user(user) or not (word == "~" or word.startswith("~/")):
            return None
        word = "/root" + word[1:]
    return join(cwd, word)


def has_glob(path: str) -> bool:
    return _GLOB.search(path) is not None


def covers(pattern: str, path: str) -> bool:
    """Whether deleting ``pattern`` (an absolute path, maybe with globs) takes ``path``.

    Component by component, as the shell expands a glob: ``*`` does not match a leading dot.
    """
    outer = [p for p in pattern.split("/") if p]
    inner = [p for p in path.split("/") if p]
    if not outer or len(outer) > len(inner):
        return False
    for pat, part in zip(outer, inner, strict=False):
        if pat == part:
            continue
        if not has_glob(pat) or (part.startswith(".") and not pat.startswith(".")):
            return False
        if not fnmatchcase(part, pat):
            return False
    return True


def inside(path: str, folder: str) -> bool:
    """``path`` is strictly below ``folder``."""
    return path.startswith(folder.rstrip("/") + "/")


# --------------------------------------------------------------------------------------------
# commands of a RUN


def top_level(cmd: SimpleCommand) -> bool:
    """Run by the RUN's own shell, not inside a construct, a substitution or an ``sh -c``."""
    return not cmd.context and not cmd.parent


def after_failure(run: Run, cmd: SimpleCommand) -> bool:
    """``a || b``: ``b`` runs only when ``a`` fails (so it changes nothing in a good build)."""
    previous: SimpleCommand | None = None
    for other in run.script.commands:
        if other is cmd:
            return previous is not None and previous.connector == "||"
        if other.context == cmd.context and other.parent == cmd.parent:
            previous = other
    return False


def script_env(run: Run, env: Mapping[str, str]) -> Mapping[str, str]:
    """The variables in force, with the script's own ``NAME=value`` and ``export`` added."""
    out: dict[str, str] = {}  # over ``env``, not a copy of it: deep scopes stay linear
    for cmd in run.script.commands:
        if not top_level(cmd):
            continue
        if not cmd.argv:
            out.update(cmd.env)
        elif cmd.name in ("export", "readonly"):
            for word in cmd.argv[1:]:
                name, sep, value = word.partition("=")
                if sep and "$" not in value:
                    out[name] = value
    return Overlay(out, env)


def directories(run: Run, start_cwd: str) -> Iterator[tuple[SimpleCommand, str | None]]:
    """Each command with the directory it runs in; None once a ``cd`` went somewhere unknown.

    Only top-level ``cd`` is followed; a command after a ``cd`` inside a construct or subshell
    gets None (the shell may or may not have changed directory).
    """
    cwd: str | None = start_cwd
    for cmd in run.script.commands:
        yield cmd, cwd
        if cmd.name != "cd":
            continue
        if not top_level(cmd):
            cwd = None
            continue
        target = cmd.argv[1] if len(cmd.argv) > 1 else None
        if cwd is None or target is None or target == "-" or _UNRESOLVED.search(target):
            cwd = None
        else:
            cwd = join(cwd, target)


def shown_path(path: str) -> str:
    """A path for a message: a placeholder working directory reads as ``./``."""
    if path.startswith("%wd"):
        rest = path.split("/", 1)
        return "./" + rest[1] if len(rest) > 1 else "."
    return path


# --------------------------------------------------------------------------------------------
# what COPY and ADD write

#: Folders a COPY or ADD may write into without owning them: deleting something below one
#: says nothing about what that COPY brought.
SHARED_FOLDERS = frozenset(
    {"/", "/usr", "/usr/local", "/usr/local/bin", "/usr/bin", "/bin", "/etc", "/opt", "/var",
     "/tmp", "/root", "/home", "/srv", "/lib", "/usr/lib", "/usr/share", "/var/lib"}
)  # fmt: skip
#: Archive names (what ADD unpacks, what a RUN extracts).
ARCHIVE = re.compile(r"\.(?:tar|tgz|tbz2?|txz|tzst|zip|tar\.(?:gz|bz2|xz|zst|lz|lzma))$", re.I)


@dataclass
class Made:
    """Something a layer wrote, at an absolute (or placeholder-relative) path."""

    path: str
    aliases: tuple[str, ...]
    instruction: Instruction
    how: str
    """``curl``, ``COPY``, ``ADD``, ``git clone``: what a message names."""
    tree: bool
    """A folder whose whole content came with it (a clone, a context folder)."""
    source: str | None = None
    """For COPY and ADD: the source as written (None for a URL)."""
    from_stage: str | None = None

    def paths(self) -> tuple[str, ...]:
        return (self.path, *self.aliases)


def copied(inst: Instruction, place: Place, context: BuildContext | None) -> list[Made]:
    """What a COPY or ADD writes, one entry per source whose name is known.

    A folder's *contents* land in the destination (``COPY src/ /app/`` fills /app); a file
    lands in a destination folder under its own name, or is renamed to a destination that
    does not end in ``/`` (or lands inside it, when that is a folder already: both names are
    kept). Without the build context, a source is a folder only when written as one (``.``,
    ``src/``).
    """
    move = transfer(inst)
    if move is None:
        return []
    eff = inst.effective
    dest = resolve_path(move.dest, place.cwd, place.env, None)
    if dest is None:
        return []
    from_stage = eff.flag("from")
    into_folder = move.dest.endswith("/") or len(move.sources) + move.heredocs > 1
    into_folder = into_folder or move.dest in (".", "./")
    out: list[Made] = []
    for source in move.sources:
        remote = is_remote(source)
        if "$" in source or (has_glob(source) and not remote):
            continue  # which names a glob or a build arg brings is not ours to guess
        name = posixpath.basename(source.rstrip("/").split("?", 1)[0])
        if eff.name == "ADD" and not remote and from_stage is None and ARCHIVE.search(name):
            continue  # ADD unpacks a local archive: the archive itself is never written
        how = "ADD" if eff.name == "ADD" else "COPY"
        origin = None if remote else source
        entry = context.entry(source) if context is not None and not from_stage else None
        folder = name in ("", ".", "..") or source.endswith("/")
        folder = folder or (entry is not None and entry.is_dir)
        if folder:
            out.append(Made(dest, (), inst, how, True, origin, from_stage))
        elif into_folder:
            out.append(Made(posixpath.join(dest, name), (), inst, how, False, origin, from_stage))
        else:  # `COPY x /opt/x`: the file renamed, or x inside /opt/x if that is a folder
            aliases = (posixpath.join(dest, name),) if entry is None else ()
            out.append(Made(dest, aliases, inst, how, False, origin, from_stage))
    return out
