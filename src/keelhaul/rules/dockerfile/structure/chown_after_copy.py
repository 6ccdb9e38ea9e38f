import posixpath
import re
from collections.abc import Iterator

from keelhaul.dockerfile.edits import indentation
from keelhaul.dockerfile.shell import SimpleCommand
from keelhaul.dockerfile.syntax import Instruction
from keelhaul.findings import Category, Edit, Fix, Safety, Severity
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
from keelhaul.rules.registry import DockerfileContext, Hit, Rule, Run, fix_builder, register

_TOOLS = frozenset({"chown", "chmod", "chgrp"})
#: A file copied from the context below this size is not worth a finding (`chmod +x run.sh`).
_SMALL = 1_000_000
#: An owner the fix may move onto the COPY: names or numbers, no variables.
_OWNER = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*(?::[A-Za-z0-9_][A-Za-z0-9_.-]*)?\Z")
#: What may stand between the COPY and the chown: instructions that write no files.
_QUIET = frozenset({"ENV", "ARG", "LABEL", "EXPOSE", "STOPSIGNAL"})
_WHY_UNSAFE = (
    "`chown -R` also changed the folder itself and any file already in it before the COPY "
    "(from the base image or an earlier instruction); `COPY --chown` sets the owner of what "
    "it copies only, and of the folders it creates"
)
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


@fix_builder
def _copy_chown_fix(
    run: Run, cmd: SimpleCommand, owner: str | None, pattern: str, made: Made, recursive: bool
) -> Fix | None:
    """``COPY . /app`` then ``RUN chown -R app:app /app`` -> ``COPY --chown=app:app . /app``.

    Only when the RUN is that one chown (nothing else, no RUN flags), of exactly the folder
    (recursively) or file the COPY wrote, by an owner without variables, run as root, with
    only instructions that write no files between the two, and the COPY has no --chown.
    """
    copy = made.instruction
    inst = run.instruction
    if (cmd.name != "chown" or owner is None or not _OWNER.match(owner) or len(run.script) != 1
            or inst.effective.flags or inst.heredocs or inst.sub is not None
            or copy.sub is not None or copy.heredocs or pattern != made.path
            or recursive != made.tree
            or any(f.startswith("--chown") for f in copy.effective.flags)):  # fmt: skip
        return None
    body = run.stage.instructions
    if copy not in body or inst not in body:
        return None
    between = body[body.index(copy) + 1 : body.index(inst)]
    if any(i.effective.name not in _QUIET for i in between) or _user_before(body, inst):
        return None
    first = copy.lines[0]
    indent = indentation(copy)
    rest = first.text[len(indent) :]
    keyword = rest.split(maxsplit=1)[0] if rest.strip() else ""
    if keyword.upper() not in ("COPY", "ADD"):
        return None
    text = f"{indent}{keyword} --chown={owner}{rest[len(keyword) :]}"
    edits = (Edit(copy.start_line, copy.start_line, text), Edit(inst.start_line, inst.end_line, ""))
    return Fix(edits, f"`{copy.effective.name} --chown={owner}` instead of a later `chown`",
               Safety.UNSAFE, _WHY_UNSAFE)  # fmt: skip


def _user_before(body: tuple[Instruction, ...], inst: Instruction) -> bool:
    """A USER other than root set before ``inst`` in the stage (the chown then ran as it)."""
    users = [i for i in body[: body.index(inst)] if i.effective.name == "USER"]
    return bool(users) and users[-1].args.strip().split(":")[0] not in ("root", "0")


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
                fix = None if len(paths) != 1 or pattern is None else _copy_chown_fix(
                    run, cmd, what, pattern, found, recursive)  # fmt: skip
                yield Hit(run.instruction, _message(cmd, what, path, found), run.stage,
                          word_span(run, cmd, index), fix)  # fmt: skip
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
            "checked.\n\n"
            "Unsafe fix, for `RUN chown [-R] OWNER PATH` alone in its RUN, run as root, right "
            "after the COPY or ADD (only ENV, ARG, LABEL, EXPOSE or STOPSIGNAL between) that "
            "wrote exactly PATH (the folder, with -R, or the file): the RUN goes and the COPY "
            "gets `--chown=OWNER`. Unsafe because `chown -R` also changed the folder itself and "
            "any file already in it before the COPY, which `COPY --chown` leaves as they were. "
            "chmod and chgrp are not fixed (`COPY --chmod` needs BuildKit)."
        ),
        bad="FROM node:20-slim\nWORKDIR /app\nCOPY . .\nRUN chown -R node:node /app\nUSER node\n",
        good="FROM node:20-slim\nWORKDIR /app\nCOPY --chown=node:node . .\nUSER node\n",
        check=check,
        fix=Safety.UNSAFE,
        fix_reason=(
            "Moves the ownership into the COPY (`COPY --chown`) and drops the later `chown -R`: "
            + _WHY_UNSAFE
            + ", so a program that writes to those may fail."
        ),
    )
)
