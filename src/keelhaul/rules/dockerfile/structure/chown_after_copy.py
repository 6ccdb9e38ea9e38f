import posixpath
import re
from collections.abc import Iterator

from keelhaul.dockerfile.shell import SimpleCommand
from keelhaul.findings import Category, Severity
from keelhaul.rules.dockerfile.shared.layers import (
    SHARED_FOLDERS,
    Made,
    after_failure,
    copied,
    covers,
    directories,
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

_TOOLS = frozenset({"chown", "chmod", "chgrp"})
#: A file copied from the context below this size is not worth a finding (`chmod +x run.sh`).
_SMALL = 1_000_000
_MODE = re.compile(r"[0-7]{3,4}\Z|[ugoa]*[-+=][rwxXstugo]*(?:,[ugoa]*[-+=][rwxXstugo]*)*\Z")


def _operands(cmd: SimpleCommand) -> tuple[bool, str | None, list[str]]:
    """(recursive, owner or mode, paths) of chown/chmod/chgrp."""
    recursive = False
    reference = False
    words: list[str] = []
    for arg in cmd.args:
        if arg.startswith("--"):
            recursive = recursive or arg == "--recursive"
            reference = reference or arg.startswith("--reference")
        elif (
            arg.startswith("-") and len(arg) > 1 and not (cmd.name == "chmod" and _MODE.match(arg))
        ):
            recursive = recursive or "R" in arg
        else:
            words.append(arg)
    if reference:
        return recursive, None, words
    return recursive, (words[0] if words else None), words[1:]


def _matches(made: Made, pattern: str, recursive: bool, ctx: DockerfileContext) -> bool:
    if made.tree:
        if not recursive:
            return False
        # below a shared folder (`COPY --from=x /target/ /`), who wrote what is unknown
        shared = made.path in SHARED_FOLDERS
        return covers(pattern, made.path) or (not shared and inside(pattern, made.path))
    if not any(covers(pattern, p) for p in made.paths()):
        return False
    if made.from_stage is not None:
        return True  # a binary or bundle from a builder stage
    entry = ctx.build_context.entry(made.source) if ctx.build_context and made.source else None
    if entry is not None:
        return entry.is_dir or entry.size >= _SMALL
    # without the context: `COPY etc /etc/nginx` then `chown -R` is most likely a folder
    name = posixpath.basename(made.source or "")
    return recursive and bool(name) and "." not in name


def _message(cmd: SimpleCommand, what: str | None, path: str, made: Made) -> str:
    flag = {"chown": "--chown", "chgrp": "--chown", "chmod": "--chmod"}[cmd.name]
    value = what or "..."
    if cmd.name == "chgrp":
        value = f":{value}"
    if cmd.name == "chmod" and not re.fullmatch(r"[0-7]{3,4}", value):
        value = "<octal mode>"
    shown = " ".join((cmd.name, *(a for a in cmd.args if a.startswith("-")), what or "", path))
    line = made.instruction.start_line
    return (f"`{shown}` changes what the {made.how} on line {line} wrote to "
            f"{shown_path(made.path)}, so this layer stores a second copy of it; set it while "
            f"copying: `{made.how} {flag}={value}`")  # fmt: skip


def _check_run(ctx: DockerfileContext, run: Run, made: list[Made]) -> Iterator[Hit]:
    place = places(ctx).at(run.instruction)
    env = script_env(run, place.env)
    for cmd, cwd in directories(run, place.cwd):
        if cmd.name not in _TOOLS or cmd.in_substitution or after_failure(run, cmd):
            continue
        recursive, what, paths = _operands(cmd)
        for path in paths:
            if cwd is None and not path.startswith("/"):
                continue
            pattern = resolve_path(path, cwd or "/", env, place.user)
            found = None if pattern is None else next(
                (m for m in made if _matches(m, pattern, recursive, ctx)), None
            )  # fmt: skip
            if found is not None:
                index = cmd.argv.index(path, 1) if path in cmd.argv[1:] else 0
                yield Hit(run.instruction, _message(cmd, what, path, found), run.stage,
                          word_span(run, cmd, index))  # fmt: skip
                break


def check(ctx: DockerfileContext) -> Iterator[Hit]:
    by_inst = runs_by_instruction(ctx)
    where = places(ctx)
    made: list[Made] = []
    for stage in shipped_chain(ctx):
        for inst in stage.instructions:
            if inst.name in ("COPY", "ADD"):
                made.extend(copied(inst, where.at(inst), ctx.build_context))
            elif inst.name == "RUN":
                for run in by_inst.get(id(inst), []):
                    yield from _check_run(ctx, run, made)


register(
    Rule(
        code="KH191",
        name="chown-after-copy",
        severity=Severity.WARNING,
        category=Category.SIZE,
        summary="chown or chmod in a RUN of files an earlier COPY wrote: they are stored twice.",
        explanation=(
            "Changing a file's owner or mode in a later layer copies the whole file into that "
            "layer (overlay filesystems copy a file up before changing it, and a layer stores "
            "whole files). `COPY . /app` followed by `RUN chown -R app:app /app` ships the "
            "application twice, and with node_modules or a virtualenv in /app by then, those "
            "too. Set owner and mode as the files are copied: `COPY --chown=app:app . /app`, "
            "`COPY --chmod=755 entrypoint.sh /` (BuildKit), or create what the RUN makes as the "
            "right user.\n\n"
            "Flagged: a recursive chown/chmod/chgrp of a folder a COPY or ADD filled (or of "
            "something below it; a source without an extension counts as a folder when the "
            "build context is unknown), and of a file a COPY brought from another stage or, "
            "when the build context is known, a context file of 1 MB or more. A `chmod +x` "
            "of a small copied script is left alone, and so is anything below a folder such "
            "as / or /usr/local that many instructions write to. Only stages that ship are "
            "checked."
        ),
        bad="FROM node:20-slim\nWORKDIR /app\nCOPY . .\nRUN chown -R node:node /app\nUSER node\n",
        good="FROM node:20-slim\nWORKDIR /app\nCOPY --chown=node:node . .\nUSER node\n",
        check=check,
    )
)
