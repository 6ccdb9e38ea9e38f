"""The dependency-first reordering fix of sources-before-install (KH182).

``COPY . .`` then ``RUN npm ci`` becomes ``COPY package.json package-lock.json ./``,
``RUN npm ci``, ``COPY . .``: the manifests are copied on their own right before the source
COPY, the install RUN moves up to just after them, and the source COPY stays where it was.
Editing a source file then no longer re-runs the install.

The fix is unsafe (the install no longer sees the sources) and offered only where the install
needs nothing but the manifests as far as keelhaul can see:

* npm/yarn/pnpm: a bare ``install``/``ci`` (no package operands, no pnpm workspace);
* pip and ``uv pip``: ``install -r`` files (no project, no editable, no local find-links);
* poetry: ``install --no-root``; uv: ``sync --no-install-project`` (or ``--no-install-workspace``);
* go: ``go mod download`` only (not in a go.work workspace);
* bundler: ``bundle install`` without a gemspec beside the Gemfile;
* composer: ``install --no-scripts --no-autoloader`` (scripts and the class map read sources).

Never for cargo: ``cargo fetch`` refuses a Cargo.toml without ``src/main.rs`` or
``src/lib.rs``, so copying the manifests alone is not enough, and the dummy-main workaround is
more than a reordering.

Which manifests are copied: those of the ecosystem the build context holds (and sends past
its ignore file) when the context is known; without it, only the files the install names
(``pip install -r requirements.txt``), or no fix.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from fnmatch import fnmatchcase

from keelhaul.context.build_context import BuildContext
from keelhaul.dockerfile.edits import indentation, line_ending
from keelhaul.dockerfile.operations import PackageOperation
from keelhaul.dockerfile.shell import SimpleCommand
from keelhaul.dockerfile.syntax import Instruction, Line, LineRole
from keelhaul.findings import Edit, Fix, Safety
from keelhaul.rules.dockerfile.build_cache._dependencies import Late, step_of
from keelhaul.rules.dockerfile.shared.layers import (
    Place,
    copied,
    directories,
    inside,
    places,
    resolve_path,
    runs_by_instruction,
    top_level,
)
from keelhaul.rules.dockerfile.shared.packages import shown
from keelhaul.rules.dockerfile.shared.structure import is_remote, transfer
from keelhaul.rules.registry import DockerfileContext, Run, fix_builder

WHY_UNSAFE = (
    "the install now runs before the sources are copied: a postinstall or build step that "
    "reads source files would fail"
)


@dataclass(frozen=True)
class Manifests:
    """The files an ecosystem's install reads, by name in the folder it runs in."""

    required: tuple[str, ...]
    optional: tuple[str, ...] = ()
    folders: tuple[str, ...] = ()
    """Optional folders copied whole (yarn's release, patch-package's patches)."""
    forbidden: tuple[str, ...] = ()
    """Names (globs) whose presence means the install needs more: no fix."""


_NODE_PATCHES = ("patches",)
ECOSYSTEMS: Mapping[str, Manifests] = {
    "npm": Manifests(
        ("package.json",), ("package-lock.json", "npm-shrinkwrap.json", ".npmrc"), _NODE_PATCHES
    ),
    "yarn": Manifests(
        ("package.json",),
        ("yarn.lock", ".yarnrc", ".yarnrc.yml", ".npmrc"),
        (".yarn", *_NODE_PATCHES),
    ),
    "pnpm": Manifests(
        ("package.json",),
        ("pnpm-lock.yaml", ".npmrc", ".pnpmfile.cjs"),
        _NODE_PATCHES,
        ("pnpm-workspace.yaml",),
    ),
    "pip": Manifests(()),
    "poetry": Manifests(("pyproject.toml",), ("poetry.lock", "poetry.toml")),
    "uv": Manifests(("pyproject.toml",), ("uv.lock", "uv.toml", ".python-version")),
    "go": Manifests(("go.mod",), ("go.sum",), (), ("go.work",)),
    "bundle": Manifests(
        ("Gemfile",), ("Gemfile.lock", ".ruby-version"), (".bundle",), ("*.gemspec",)
    ),
    "composer": Manifests(("composer.json",), ("composer.lock", "auth.json")),
}
#: Siblings of a named requirements file that it may include with ``-r``.
_PIP_SIBLINGS = ("requirements*.txt", "constraints*.txt", "requirements*.in")
#: A path keelhaul writes into a COPY without quoting.
_PLAIN_PATH = re.compile(r"[\w.@+-][\w.@+/-]*\Z")
#: Instructions between the source COPY and the install that stay where they are.
_STAY = frozenset({"LABEL", "EXPOSE", "STOPSIGNAL", "HEALTHCHECK", "CMD", "ENTRYPOINT",
                   "MAINTAINER"})  # fmt: skip
#: ... and those that move up with the install (it may need them): a RUN among them only
#: when it installs tools that need nothing from the context.
_MOVE = frozenset({"ENV", "ARG", "WORKDIR", "RUN"})
#: Commands an install RUN may hold besides package operations.
_HARMLESS = frozenset({"true", ":", "set", "echo", "export", "cd", "rm", "mkdir"})
_PATH_COMMANDS = frozenset({"rm", "mkdir"})
#: Package operations that read nothing from the context.
_HOUSEKEEPING = frozenset({"update", "remove", "clean"})
_REDIRECT_OK = frozenset({"/dev/null", "/dev/stdout", "/dev/stderr", "-"})


# --------------------------------------------------------------------------------------------
# which installs qualify


def ecosystem(op: PackageOperation) -> str | None:
    """The ecosystem whose manifests alone ``op`` needs, or None when it reads more."""
    m = op.manager
    if m in ("npm", "yarn", "pnpm"):
        ok = op.action in ("install", "ci") and not op.packages and not op.global_install
        return m if ok else None
    if m == "pip" or (m == "uv" and op.subcommand.startswith("pip")):
        return "pip" if _pip_from_files(op) else None
    if m == "uv":
        wanted = op.subcommand == "sync" and op.has(
            "--no-install-project", "--no-install-workspace"
        )
        return "uv" if wanted else None
    if m == "poetry":
        ok = op.action == "install" and op.has("--no-root") and not op.has("--only-root")
        return "poetry" if ok else None
    if m == "go":
        return "go" if op.subcommand == "mod download" and not op.operands else None
    if m == "bundle":
        return "bundle" if op.action == "install" and not op.packages else None
    if m == "composer":
        ok = op.action == "install" and op.has("--no-scripts") and op.has("--no-autoloader")
        return "composer" if ok and not op.packages else None
    return None


def _pip_from_files(op: PackageOperation) -> bool:
    if op.action != "install" or not op.requirement_files or op.editable:
        return False
    if any(p.kind not in ("name", "url") for p in op.packages):
        return False  # `-r requirements.txt .` installs the project too
    links = op.values("-f", "--find-links")
    return all("://" in link for link in links)  # a local wheel folder is a source too


def _explicit(op: PackageOperation) -> tuple[str, ...]:
    """The manifests an install names itself."""
    if ecosystem(op) != "pip":
        return ()
    return (*op.requirement_files, *op.values("-c", "--constraint"))


# --------------------------------------------------------------------------------------------
# the plan


@dataclass
class _Wanted:
    """A manifest the install reads, at its path in the image."""

    path: str
    folder: bool
    required: bool
    forbidden: bool = False
    """Its presence (a glob's match) means the install reads more: no fix."""
    explicit: bool = False
    """Named by the install itself (``-r requirements.txt``)."""


@dataclass
class _Plan:
    copies: dict[str, list[str]] = field(default_factory=dict)
    """Destination (as written) -> context paths of the files copied there."""
    folders: list[tuple[str, str]] = field(default_factory=list)
    """(context folder, destination as written), one COPY each."""


@fix_builder
def reorder_fix(ctx: DockerfileContext, late: Late) -> Fix | None:
    """The fix for a KH182 finding about ``late``, or None when reordering is not proven."""
    if late.step.kind != "manifest":
        return None
    run, copy = late.run, late.copy
    inst = run.instruction
    if inst.sub is not None or copy.sub is not None or inst.heredocs or copy.heredocs:
        return None
    if not _mounts_ok(inst) or not _copy_ok(copy):
        return None
    where = places(ctx)
    place = where.at(copy)
    between = _between(ctx, copy, inst)
    if between is None or not _installs_alone(run, where.at(inst), place, copy, True):
        return None
    wanted = _wanted(run, where.at(inst), ctx.build_context)
    if wanted is None:
        return None
    plan = _plan(ctx, copy, place, wanted)
    if plan is None:
        return None
    stays = [i for i in between if i.name not in _MOVE]
    moved = [i for i in between if i.name in _MOVE]
    if moved and any("$" in i.text for i in stays):
        return None  # an instruction left behind could read a moved ENV or ARG
    if not _between_copies_ok(ctx, stays, place, wanted):
        return None
    if not _moves_ok(ctx, moved, copy, stays):
        return None
    return _edits(ctx, copy, inst, moved, plan, late)


def _moves_ok(
    ctx: DockerfileContext, moved: list[Instruction], copy: Instruction, stays: list[Instruction]
) -> bool:
    """A RUN moved along installs tools only; a WORKDIR moved along must not change where the
    COPYs it passes write (their destinations are absolute)."""
    where = places(ctx)
    runs = runs_by_instruction(ctx)
    for inst in moved:
        if inst.name == "WORKDIR":
            copies = [copy, *(i for i in stays if i.name in ("COPY", "ADD"))]
            if not all((m := transfer(c)) is not None and m.dest.startswith("/") for c in copies):
                return False
        if inst.name != "RUN":
            continue
        found = runs.get(id(inst), [])
        if not found or inst.heredocs or not _mounts_ok(inst):
            return False
        at = where.at(inst)
        if not all(_installs_alone(r, at, where.at(copy), copy, False) for r in found):
            return False
    return True


def _mounts_ok(inst: Instruction) -> bool:
    """No bind mount of the build context (it would read the sources)."""
    for flag in inst.flags:
        key, _, value = flag[2:].partition("=")
        if key != "mount":
            continue
        parts = dict(p.partition("=")[::2] for p in value.split(","))
        kind = parts.get("type", "bind")
        if kind == "bind" and "from" not in parts:
            return False
    return True


def _copy_ok(copy: Instruction) -> bool:
    move = transfer(copy)
    if move is None or "$" in copy.text or copy.flag("from") is not None:
        return False
    if not _PLAIN_PATH.match(move.dest.lstrip("/") or "."):
        return False  # a destination with spaces or quotes: not rewritten blindly
    return all(f.split("=", 1)[0] in ("--chown", "--chmod", "--link") for f in copy.flags)


def _between(
    ctx: DockerfileContext, copy: Instruction, inst: Instruction
) -> list[Instruction] | None:
    """The instructions between the source COPY and the install, or None when one forbids
    moving it (a USER, SHELL or VOLUME, a COPY from another stage)."""
    out: list[Instruction] = []
    started = False
    for item in ctx.tree.instructions:
        if item is copy:
            started = True
            continue
        if item is inst:
            return out if started else None
        if not started:
            continue
        from_context = item.name in ("COPY", "ADD") and item.flag("from") is None
        if not (item.name in _STAY or item.name in _MOVE or from_context):
            return None
        out.append(item)
    return None


def _installs_alone(
    run: Run, at_run: Place, at_copy: Place, copy: Instruction, manifests: bool
) -> bool:
    """Every command of the RUN is an install that reads only manifests (when ``manifests``),
    a tool install or housekeeping that touches nothing the source COPY writes."""
    move = transfer(copy)
    if move is None:
        return False
    dest = resolve_path(move.dest, at_copy.cwd, at_copy.env, None)
    if dest is None:
        return False
    ops = {id(op.command): op for op in run.operations.packages}
    for cmd, cwd in directories(run, at_run.cwd):
        if not top_level(cmd) or cmd.negated or not _redirects_ok(cmd):
            return False
        op = ops.get(id(cmd))
        if op is not None:
            if not _op_ok(op, manifests):
                return False
            continue
        if not cmd.argv:
            continue  # NAME=value
        if cmd.name not in _HARMLESS:
            return False
        if cmd.name in _PATH_COMMANDS:
            for word in (w for w in cmd.argv[1:] if not w.startswith("-")):
                path = resolve_path(word, cwd or "%unknown", at_run.env, at_run.user)
                if cwd is None or path is None or _overlaps(path, dest):
                    return False
    return True


def _redirects_ok(cmd: SimpleCommand) -> bool:
    return all(t in _REDIRECT_OK or t.isdigit() for _, t in cmd.redirects)


def _op_ok(op: PackageOperation, manifests: bool) -> bool:
    step = step_of(op)
    if step is None:
        return op.action in _HOUSEKEEPING and not any(p.kind == "path" for p in op.packages)
    if step.kind == "tool":
        return True
    return manifests and step.kind == "manifest" and ecosystem(op) is not None


def _overlaps(path: str, folder: str) -> bool:
    return path == folder or inside(path, folder) or inside(folder, path)


def _wanted(run: Run, at_run: Place, context: BuildContext | None) -> list[_Wanted] | None:
    """The manifests (image paths) the RUN's installs read; None when unknown."""
    out: dict[str, _Wanted] = {}
    found = False
    for cmd, cwd in directories(run, at_run.cwd):
        op = next((o for o in run.operations.packages if o.command is cmd), None)
        system = ecosystem(op) if op is not None else None
        if op is None or system is None:
            continue
        if cwd is None:
            return None
        found = True
        for name in _explicit(op):
            path = resolve_path(name, cwd, at_run.env, at_run.user)
            if path is None:
                return None
            _add(out, _Wanted(path, False, True, explicit=True))
        if system == "pip":
            continue
        if context is None:
            return None  # which manifests exist is unknown
        kinds = ECOSYSTEMS[system]
        for name in kinds.required:
            _add(out, _Wanted(posixpath.join(cwd, name), False, True))
        for name in kinds.optional:
            _add(out, _Wanted(posixpath.join(cwd, name), False, False))
        for name in kinds.folders:
            _add(out, _Wanted(posixpath.join(cwd, name), True, False))
        for pattern in kinds.forbidden:
            _add(out, _Wanted(posixpath.join(cwd, pattern), False, False, forbidden=True))
    return list(out.values()) if found else None


def _add(found: dict[str, _Wanted], wanted: _Wanted) -> None:
    old = found.get(wanted.path)
    if old is None or (wanted.required and not old.required):
        found[wanted.path] = wanted


@dataclass(frozen=True)
class _Source:
    """Where one source of the source COPY lands: a context path and its image path."""

    context: str
    image: str
    folder: bool


def _sources(copy: Instruction, place: Place, context: BuildContext | None) -> list[_Source] | None:
    move = transfer(copy)
    if move is None:
        return None
    dest = resolve_path(move.dest, place.cwd, place.env, None)
    if dest is None:
        return None
    into_folder = move.dest.endswith("/") or len(move.sources) > 1 or move.dest in (".", "./")
    out: list[_Source] = []
    for source in move.sources:
        if is_remote(source) or re.search(r"[*?\[]", source):
            return None
        rel = posixpath.normpath("/" + source).lstrip("/")
        entry = context.entry(rel or ".") if context is not None else None
        name = posixpath.basename(rel)
        if not rel or source.endswith("/") or (entry is not None and entry.is_dir):
            folder = True
        elif context is not None:
            folder = False
        else:
            folder = "." not in name
        if folder:
            out.append(_Source(rel, dest, True))
        else:
            out.append(_Source(rel, posixpath.join(dest, name) if into_folder else dest, False))
    return out


def _in_context(path: str, sources: list[_Source]) -> str | None:
    """The context path of what the source COPY writes at image ``path``."""
    for source in sources:
        if source.folder and (path == source.image or inside(path, source.image)):
            rest = posixpath.relpath(path, source.image)
            return posixpath.normpath(posixpath.join(source.context or ".", rest))
        same_name = posixpath.basename(source.context) == posixpath.basename(path)
        if not source.folder and path == source.image and same_name:
            return source.context
    return None


def _already_copied(ctx: DockerfileContext, copy: Instruction) -> set[str]:
    """Image paths of the files COPY and ADD wrote earlier in the stage (before ``copy``)."""
    where = places(ctx)
    stage = next((s for s in ctx.build.stages if any(i is copy for i in s.instructions)), None)
    out: set[str] = set()
    for inst in stage.instructions if stage is not None else ():
        if inst is copy:
            break
        if inst.name in ("COPY", "ADD"):
            for made in copied(inst, where.at(inst), ctx.build_context):
                if not made.tree:
                    out.update(made.paths())
    return out


def _plan(
    ctx: DockerfileContext, copy: Instruction, place: Place, wanted: list[_Wanted]
) -> _Plan | None:
    context = ctx.build_context
    sources = _sources(copy, place, context)
    move = transfer(copy)
    if sources is None or move is None:
        return None
    dest = resolve_path(move.dest, place.cwd, place.env, None)
    assert dest is not None  # _sources resolved it
    done = _already_copied(ctx, copy)
    plan = _Plan()
    named: set[str] = set()  # context paths of the requirements files an install names
    for item in wanted:
        if item.path in done:
            continue
        if item.forbidden:
            if context is not None and _present(context, item.path, sources):
                return None  # a workspace or gemspec: the install reads more
            continue
        where = _in_context(item.path, sources)
        if where is None or not _PLAIN_PATH.match(where):
            if item.required:
                return None
            continue
        if context is not None:
            entry = context.entry(where)
            if entry is None or not entry.sent or entry.is_dir != item.folder:
                if item.required:
                    return None
                continue
        folder_in_image = item.path if item.folder else posixpath.dirname(item.path)
        rel = posixpath.relpath(folder_in_image, dest)
        if rel.startswith(".."):
            return None
        written = _written_dest(move.dest, rel)
        if item.folder:
            plan.folders.append((where, written))
        elif where not in plan.copies.setdefault(written, []):
            plan.copies[written].append(where)
        if item.explicit:
            named.add(where)
    if context is not None:
        _add_pip_siblings(context, plan, named)
    return plan


def _present(context: BuildContext, pattern: str, sources: list[_Source]) -> bool:
    folder = _in_context(posixpath.dirname(pattern), sources)
    if folder is None:
        return False
    prefix = "" if folder == "." else folder + "/"
    name = posixpath.basename(pattern)
    return any(
        e.path.startswith(prefix) and "/" not in e.path[len(prefix) :] and fnmatchcase(e.name, name)
        for e in context.entries
    )


def _add_pip_siblings(context: BuildContext, plan: _Plan, named: set[str]) -> None:
    """A requirements file may include its siblings (``-r base.txt``): copy those too.

    Beside ``requirements.txt``, the other ``requirements*``/``constraints*`` files; in a
    folder of its own (``requirements/prod.txt``), every ``*.txt`` and ``*.in`` there.
    """
    for files in plan.copies.values():
        folders: dict[str, tuple[str, ...]] = {}
        for f in files:
            if f in named:
                own = _is_requirements(f, _PIP_SIBLINGS)
                folders[posixpath.dirname(f)] = _PIP_SIBLINGS if own else ("*.txt", "*.in")
        for entry in context.entries:
            if entry.is_dir or not entry.sent or entry.path in files:
                continue
            patterns = folders.get(posixpath.dirname(entry.path))
            wanted = patterns and _is_requirements(entry.path, patterns)
            if wanted and _PLAIN_PATH.match(entry.path):
                files.append(entry.path)


def _is_requirements(path: str, patterns: tuple[str, ...]) -> bool:
    name = posixpath.basename(path)
    return any(fnmatchcase(name, p) for p in patterns)


def _written_dest(written: str, rel: str) -> str:
    """The destination for a folder ``rel`` below the source COPY's destination, as written."""
    if rel in ("", "."):
        return written
    return posixpath.join(written, rel)


def _between_copies_ok(
    ctx: DockerfileContext, stays: Iterable[Instruction], place: Place, wanted: list[_Wanted]
) -> bool:
    """A COPY left between the source COPY and the install must not bring what it reads."""
    folders = {posixpath.dirname(w.path) for w in wanted}
    paths = {w.path for w in wanted}
    for inst in stays:
        if inst.name not in ("COPY", "ADD"):
            continue
        move = transfer(inst)
        if move is None or inst.heredocs or "$" in inst.text:
            return False
        if any(re.search(r"[*?\[]", s) for s in move.sources):
            return False
        for made in copied(inst, place, ctx.build_context):
            if made.tree and any(f == made.path or inside(f, made.path) for f in folders):
                return False
            if any(p in paths for p in made.paths()):
                return False
    return True


# --------------------------------------------------------------------------------------------
# the edits


def _edits(
    ctx: DockerfileContext,
    copy: Instruction,
    inst: Instruction,
    moved: list[Instruction],
    plan: _Plan,
    late: Late,
) -> Fix:
    lines = list(ctx.tree.lines())
    newline = line_ending(copy) or "\n"
    keyword = "COPY" if copy.keyword.isupper() else "copy"
    indent = indentation(copy)
    flags = "".join(f"{f} " for f in copy.flags)
    text = ""
    names: list[str] = []
    for dest, files in plan.copies.items():
        if not dest.endswith("/") and not (dest == "." and len(files) == 1):
            dest += "/"
        text += f"{indent}{keyword} {flags}{' '.join(files)} {dest}{newline}"
        names += files
    for folder, dest in plan.folders:
        text += f"{indent}{keyword} {flags}{folder} {dest.rstrip('/')}/{newline}"
        names.append(folder + "/")
    deletions: list[Edit] = []
    for each in (*moved, inst):
        first = _comments_above(lines, each.start_line)
        block = "".join(line.text for line in lines[first - 1 : each.end_line])
        text += block if block.endswith("\n") else block + newline
        deletions.append(_deletion(lines, first, each.end_line))
    start = _comments_above(lines, copy.start_line)
    command = shown(late.step.op)
    what = f"copy {', '.join(names)} first, " if names else ""
    return Fix(
        (Edit(start, start - 1, text), *deletions),
        f"{what}run `{command}` before the sources are copied{_then_frozen(late.step.op, names)}",
        Safety.UNSAFE,
        WHY_UNSAFE,
    )


#: The lock file whose copy by name makes lockfile-not-enforced (KH170) turn a bare
#: `npm install` into `npm ci`.
_NPM_LOCKS = ("package-lock.json", "npm-shrinkwrap.json")


def _then_frozen(op: PackageOperation, copied: list[str]) -> str:
    """The words that say KH170 then installs from the lock: a bare `npm install` whose lock
    file the reorder copies by name (KH170 fires on exactly that and writes `npm ci`)."""
    if op.manager != "npm" or op.action != "install" or op.packages or op.frozen_lockfile:
        return ""
    lock = next((name for name in copied if posixpath.basename(name) in _NPM_LOCKS), None)
    if lock is None:
        return ""
    return f" (with {posixpath.basename(lock)} copied by name, KH170 makes it `npm ci`)"


def _comments_above(lines: list[Line], number: int) -> int:
    """The first line of the comment block right above line ``number`` (itself if none)."""
    while number > 1 and lines[number - 2].role is LineRole.COMMENT:
        number -= 1
    return number


def _deletion(lines: list[Line], first: int, last: int) -> Edit:
    """Delete lines ``first``..``last``, and a blank line after them if one is also before."""
    before_blank = first == 1 or lines[first - 2].role is LineRole.BLANK
    if before_blank and last < len(lines) and lines[last].role is LineRole.BLANK:
        last += 1
    return Edit(first, last, "")
