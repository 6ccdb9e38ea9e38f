"""Data flow from COPY to RUN: whether a RUN executes or reads a path that a COPY or ADD of its
stage wrote since the first source COPY.

Such a RUN depends on the copy: an install in it cannot move above the COPY without the rest of
the RUN (the docker-library ``php`` images copy ``docker-php-source`` into /usr/local/bin, then
one RUN installs the -dev packages, calls ``docker-php-source extract``, compiles and purges the
-dev packages again: moving the install out of that RUN would ship them).

A path counts when a word of the RUN names it: the same path, a path inside a folder the COPY
filled (not a shared folder such as ``/`` or ``/usr/local/bin``, where only a program the RUN
executes counts), or a command found on the PATH under the name the COPY gave it.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from keelhaul.dockerfile.stages import Stage
from keelhaul.dockerfile.syntax import Instruction
from keelhaul.rules.dockerfile.shared.layers import (
    SHARED_FOLDERS,
    Place,
    directories,
    inside,
    join,
    places,
    resolve_path,
    script_env,
)
from keelhaul.rules.dockerfile.shared.structure import is_remote, transfer
from keelhaul.rules.registry import DockerfileContext, Run

#: Folders on the default PATH: a file copied there runs by its name alone.
_PATH_FOLDERS = frozenset(
    {"/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"}
)
#: Programs whose first operand is a script they run (``node x.js``, ``sh ./build.sh``).
_RUNNERS = frozenset(
    {"sh", "bash", "ash", "dash", "zsh", "source", ".", "node", "python", "python3", "perl",
     "ruby", "php", "deno", "bun", "java", "lua", "Rscript"}
)  # fmt: skip
_UNRESOLVED = re.compile(r"[$`]")


@dataclass(frozen=True, slots=True)
class _Written:
    path: str
    """Absolute (or under a placeholder working directory)."""
    folder: bool
    """A folder the copy filled (or may have filled: a source written without an extension)."""


def _written(inst: Instruction, place: Place) -> Iterator[_Written]:
    """What a COPY or ADD writes, as far as the Dockerfile tells (no build context needed)."""
    move = transfer(inst)
    if move is None:
        return
    dest = resolve_path(move.dest, place.cwd, place.env, None)
    if dest is None:
        return
    into_folder = move.dest.endswith("/") or move.dest in (".", "./") or len(move.sources) > 1
    for source in move.sources:
        name = posixpath.basename(source.rstrip("/").split("?", 1)[0])
        whole = name in ("", ".", "..", "*")
        if whole or source.endswith("/") or _UNRESOLVED.search(name) or "*" in name:
            yield _Written(dest, True)  # the folder's (or the glob's) content lands in dest
            continue
        if is_remote(source):
            yield _Written(posixpath.join(dest, name) if into_folder else dest, False)
            continue
        maybe_folder = "." not in name
        if into_folder:
            yield _Written(posixpath.join(dest, name), maybe_folder)
            if maybe_folder:
                yield _Written(dest, True)
        else:
            yield _Written(dest, maybe_folder)


def _copies_since(stage: Stage, first: Instruction, run: Instruction) -> list[Instruction]:
    out: list[Instruction] = []
    started = False
    for inst in stage.instructions:
        if inst is first:
            started = True
        if inst is run:
            break
        if started and inst.name in ("COPY", "ADD"):
            out.append(inst)
    return out


def reads_copies(ctx: DockerfileContext, run: Run, first: Instruction) -> bool:
    """Whether ``run`` executes or reads a path written by ``first`` (a COPY or ADD of its
    stage) or by a later COPY or ADD before it."""
    where = places(ctx)
    written = [
        w
        for inst in _copies_since(run.stage, first, run.instruction)
        for w in _written(inst, where.at(inst))
    ]
    if not written:
        return False
    at = where.at(run.instruction)
    env = script_env(run, at.env)
    installs = {id(op.command) for op in run.operations.packages}
    for cmd, cwd in directories(run, at.cwd):
        if id(cmd) in installs:
            continue  # package names (`@vue/cli`) are no paths; local installs are no tools
        argv = cmd.argv
        for n, word in enumerate(argv):
            if n and word.startswith("-"):
                continue
            executed = n == 0 or (n == 1 and posixpath.basename(argv[0]) in _RUNNERS)
            if _names_written(word, cwd, env, written, executed):
                return True
    return False


def _names_written(
    word: str, cwd: str | None, env: Mapping[str, str], written: list[_Written], executed: bool
) -> bool:
    if "/" not in word:
        # a bare name: a program copied onto the PATH, or a file in the working directory
        if executed and any(
            posixpath.dirname(w.path) in _PATH_FOLDERS and posixpath.basename(w.path) == word
            for w in written
        ):
            return True
        if cwd is None or "." not in word:
            return False
    path = resolve_path(word, cwd or "%unknown", env, None)
    if path is None:
        # `/modules/$module`: the part before the first variable still says where it reads
        head = _UNRESOLVED.split(word, 1)[0]
        if not head.startswith("/") or head == "/":
            return False
        path = join("/", head)
    for w in written:
        if path == w.path:
            return True
        if w.folder and inside(path, w.path) and (executed or w.path not in SHARED_FOLDERS):
            return True
    return False
