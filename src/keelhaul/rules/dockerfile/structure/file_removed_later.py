import posixpath
from collections.abc import Iterator, Mapping

from keelhaul.dockerfile.operations import deleted_paths
from keelhaul.dockerfile.shell import SimpleCommand
from keelhaul.dockerfile.stages import Stage
from keelhaul.dockerfile.syntax import Instruction
from keelhaul.findings import Category, Severity
from keelhaul.rules.dockerfile.shared.layers import (
    ARCHIVE,
    SHARED_FOLDERS,
    Made,
    Place,
    after_failure,
    copied,
    covers,
    directories,
    has_glob,
    inside,
    places,
    resolve_path,
    runs_by_instruction,
    script_env,
    shipped_chain,
    shown_path,
)
from keelhaul.rules.dockerfile.shared.packages import word_span
from keelhaul.rules.registry import DockerfileContext, Hit, Rule, Run, register

_EXTRACTORS = frozenset({"tar", "gtar", "bsdtar", "unzip", "7z", "7za"})
#: git clone options that take a value as the next word.
_GIT_CLONE_VALUES = frozenset(
    {"-b", "--branch", "--depth", "-o", "--origin", "-c", "--config", "--reference",
     "--separate-git-dir", "-j", "--jobs", "--filter", "--template", "--shallow-since",
     "--shallow-exclude", "-u", "--upload-pack", "--reference-if-able", "--server-option"}
)  # fmt: skip


def _clone_target(cmd: SimpleCommand) -> str | None:
    """The folder ``git clone URL [DIR]`` writes."""
    if cmd.name != "git" or cmd.argv[1:2] != ("clone",):
        return None
    words: list[str] = []
    skip = False
    for word in cmd.argv[2:]:
        if skip:
            skip = False
        elif word.startswith("-"):
            skip = word in _GIT_CLONE_VALUES
        else:
            words.append(word)
    if len(words) >= 2:
        return words[1]
    if len(words) == 1:
        name = words[0].rstrip("/").rsplit("/", 1)[-1].rsplit(":", 1)[-1]
        return name.removesuffix(".git") or None
    return None


def _made_by(run: Run, cmd: SimpleCommand, cwd: str | None, env: Mapping[str, str],
             place: Place) -> Made | None:  # fmt: skip
    """What ``cmd`` writes that a later layer could delete: a download or a clone."""
    written: str | None = None
    how = ""
    tree = False
    for dl in run.operations.downloads:
        if dl.command is cmd and dl.output not in (None, "-"):
            written, how = dl.output, dl.tool
    clone = _clone_target(cmd)
    if clone is not None:
        written, how, tree = clone, "git clone", True
    if written is None or (cwd is None and not written.startswith("/")):
        return None
    path = resolve_path(written, cwd or "/", env, place.user)
    if path is None or has_glob(path):
        return None
    return Made(path, (), run.instruction, how, tree)


def _extracted_here(run: Run, made: Made) -> bool:
    """The RUN unpacks the copied archive it deletes: copied-archive-extracted says it."""
    if made.how != "COPY" or not ARCHIVE.search(made.path):
        return False
    name = posixpath.basename(made.path)
    return any(
        cmd.name in _EXTRACTORS and any(posixpath.basename(a) == name for a in cmd.args)
        for cmd in run.script.commands
    )


class _Layers:
    """Walks the shipped stages in build order, remembering what each layer wrote."""

    def __init__(self, ctx: DockerfileContext) -> None:
        self.ctx = ctx
        self.made: list[Made] = []
        self.hits: list[Hit] = []

    def copy(self, inst: Instruction, place: Place) -> None:
        self.made.extend(copied(inst, place, self.ctx.build_context))

    def run(self, run: Run, place: Place, stage: Stage) -> None:
        env = script_env(run, place.env)
        pending: list[Made] = []
        for cmd, cwd in directories(run, place.cwd):
            if not cmd.argv or cmd.in_substitution:
                continue
            if cmd.name == "rm" and not after_failure(run, cmd):
                self.remove(run, cmd, cwd, env, place, stage, pending)
                continue
            made = _made_by(run, cmd, cwd, env, place)
            if made is not None:
                pending.append(made)
        self.made.extend(pending)

    def remove(self, run: Run, cmd: SimpleCommand, cwd: str | None, env: Mapping[str, str],
               place: Place, stage: Stage, pending: list[Made]) -> None:  # fmt: skip
        for word in deleted_paths(cmd):
            if cwd is None and not word.startswith("/"):
                continue
            pattern = resolve_path(word, cwd or "/", env, place.user)
            if pattern is None:
                continue
            pending[:] = [m for m in pending if not any(covers(pattern, p) for p in m.paths())]
            for made in list(self.made):
                inner = None
                if not any(covers(pattern, p) for p in made.paths()):
                    inner = self.inner_source(made, pattern)
                    if inner is None:
                        continue
                else:
                    self.made.remove(made)  # gone: a later rm of it changes nothing more
                if _extracted_here(run, made):
                    continue
                index = cmd.argv.index(word, 1) if word in cmd.argv[1:] else 0
                message = _message(cmd, word, made, inner)
                self.hits.append(Hit(run.instruction, message, stage, word_span(run, cmd, index)))

    def inner_source(self, made: Made, pattern: str) -> str | None:
        """The context path below a copied folder that ``pattern`` deletes, when the build
        context shows that folder held it (without the context, nobody can tell whether the
        COPY brought it or a later RUN made it)."""
        context = self.ctx.build_context
        if context is None or not made.tree or made.source is None or made.from_stage:
            return None
        if made.path in SHARED_FOLDERS or not inside(pattern, made.path) or has_glob(pattern):
            return None
        below = pattern[len(made.path.rstrip("/")) + 1 :]
        source = posixpath.normpath(posixpath.join(made.source, below))
        entry = context.entry(source)
        return source if entry is not None and entry.sent else None


def _message(cmd: SimpleCommand, word: str, made: Made, inner: str | None) -> str:
    line = made.instruction.start_line
    path = shown_path(made.path)
    shown = " ".join((cmd.name, *(a for a in cmd.args if a.startswith("-")), word))
    if inner is not None:
        return (f"`{shown}` deletes {inner}, which the {made.how} on line {line} brought in "
                f"from the build context: it still ships in that layer; leave it out with "
                f".dockerignore or copy only what the image needs")  # fmt: skip
    head = f"`{shown}` deletes {path}, written by the {made.how} on line {line}"
    if made.how in ("COPY", "ADD") and made.source is not None:
        origin = f"from={made.from_stage}," if made.from_stage else ""
        return (f"{head}: its bytes still ship in that layer; instead of copying it, read it "
                f"where it is used (`RUN --mount=type=bind,{origin}source={made.source},"
                f"target={path} ...`)")  # fmt: skip
    if made.how == "ADD":
        return (
            f"{head}: its bytes still ship in that layer; download, use and delete it in "
            "one RUN, or ADD it in a builder stage and copy out only what the image needs"
        )
    return (f"{head}: its bytes still ship in that layer; {made.how} it, use it and delete it "
            "in the same RUN (or do it in a builder stage)")  # fmt: skip


def check(ctx: DockerfileContext) -> Iterator[Hit]:
    by_inst = runs_by_instruction(ctx)
    where = places(ctx)
    layers = _Layers(ctx)
    for stage in shipped_chain(ctx):
        for inst in stage.instructions:
            name = inst.name
            if name in ("COPY", "ADD"):
                layers.copy(inst, where.at(inst))
            elif name == "RUN":
                for run in by_inst.get(id(inst), []):
                    layers.run(run, where.at(inst), stage)
    yield from layers.hits


register(
    Rule(
        code="KH181",
        name="file-removed-later",
        severity=Severity.WARNING,
        category=Category.SIZE,
        summary="A file written by one layer and deleted by a later RUN: its bytes still ship.",
        explanation=(
            "Layers only add: deleting a file in a later RUN hides it but the earlier layer, "
            "which every pull downloads and every host stores, still holds all of its bytes. "
            "A download (`curl -o`, `wget`), a `git clone`, or a file brought by COPY or ADD "
            "that a later RUN deletes costs its full size for nothing. Download, use and delete "
            "in one RUN; read a file the build needs only once from a bind mount "
            "(`RUN --mount=type=bind,source=app.tgz,target=/tmp/app.tgz ...`) instead of "
            "copying it; or do the work in a builder stage and copy out the result. The "
            "finding names the path and the line that wrote it.\n\n"
            "Paths are compared after expanding ARG and ENV values and the WORKDIR; a path that "
            "depends on a build arg or the base image's environment is left alone, and a glob "
            "only counts when it matches the written name. When the build context is known, "
            "deleting something inside a copied folder (`COPY . /app` then `RUN rm -rf "
            "/app/tests`) is flagged too. Archives that the same RUN unpacks are left to "
            "copied-archive-extracted, package caches to cache-removed-later. Only stages that "
            "ship are checked."
        ),
        bad=(
            "FROM debian:12\nRUN curl -fsSLo /tmp/node.tar.xz "
            "https://nodejs.org/dist/v20.15.0/node-v20.15.0-linux-x64.tar.xz\n"
            "RUN tar -xJf /tmp/node.tar.xz -C /usr/local --strip-components=1\n"
            "RUN rm /tmp/node.tar.xz\n"
        ),
        good=(
            "FROM debian:12\nRUN curl -fsSLo /tmp/node.tar.xz "
            "https://nodejs.org/dist/v20.15.0/node-v20.15.0-linux-x64.tar.xz \\\n"
            "    && tar -xJf /tmp/node.tar.xz -C /usr/local --strip-components=1 \\\n"
            "    && rm /tmp/node.tar.xz\n"
        ),
        check=check,
    )
)
