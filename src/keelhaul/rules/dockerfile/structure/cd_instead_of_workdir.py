import re
from collections.abc import Iterator

from keelhaul.dockerfile.operations import deleted_paths
from keelhaul.dockerfile.shell import SimpleCommand
from keelhaul.findings import Category, Severity
from keelhaul.rules.dockerfile.shared.layers import (
    covers,
    join,
    places,
    resolve_path,
    runs_by_instruction,
    shown_path,
    top_level,
)
from keelhaul.rules.dockerfile.shared.packages import command_span
from keelhaul.rules.registry import DockerfileContext, Hit, Rule, Run, register

_SETUP = frozenset({"set", "shopt", "umask", "trap", "export"})
#: Scratch folders: a RUN that works in one and leaves it is right to use cd.
_SCRATCH = re.compile(r"/(?:tmp|var/tmp|dev/shm)(?:/|\Z)")


def _first_step(run: Run) -> SimpleCommand | None:
    for cmd in run.script.commands:
        if not top_level(cmd):
            return None  # the script starts with a construct
        if cmd.argv and cmd.name not in _SETUP:
            return cmd
    return None


def _scoped(run: Run, cd: SimpleCommand, target: str) -> bool:
    """The RUN treats the folder as temporary: it leaves it again, or deletes it."""
    for cmd in run.script.commands:
        if cmd.start <= cd.start or not cmd.argv:
            continue
        if cmd.name == "cd" and top_level(cmd):
            return True  # `cd /src && make && cd /`: the author scoped it
        if cmd.name == "rm":
            for path in deleted_paths(cmd):
                pattern = resolve_path(path, target, {}, None)
                if pattern is not None and covers(pattern, target):
                    return True
    return False


def check(ctx: DockerfileContext) -> Iterator[Hit]:
    where = places(ctx)
    by_inst = runs_by_instruction(ctx)
    for stage in ctx.build.stages:
        for inst in stage.instructions:
            if inst.name != "RUN" or inst.json:
                continue
            runs = by_inst.get(id(inst), [])
            if len(runs) != 1:
                continue
            run = runs[0]
            cd = _first_step(run)
            if cd is None or cd.name != "cd" or len(cd.argv) != 2 or cd.connector != "&&":
                continue
            word = cd.argv[1]
            if word in ("-", "") or re.search(r"[$`~*?\[]", word):
                continue  # the folder depends on something the WORKDIR line would not know
            cwd = where.at(inst).cwd
            target = join(cwd, word)
            if target == cwd:
                yield Hit(inst, f"`cd {word}` goes to the folder WORKDIR already set; drop it",
                          stage, command_span(run, cd, 1))  # fmt: skip
                continue
            if _SCRATCH.match(target) or _scoped(run, cd, target):
                continue
            yield Hit(inst, f"the RUN starts with `cd {word}`: set `WORKDIR "
                      f"{shown_path(target) if word.startswith('/') else word}` before it "
                      "instead, so that later RUN, COPY and CMD instructions work there too",
                      stage, command_span(run, cd, 1))  # fmt: skip


register(
    Rule(
        code="KH186",
        name="cd-instead-of-workdir",
        severity=Severity.STYLE,
        category=Category.MAINTAINABILITY,
        summary="A RUN that starts with `cd DIR &&` where a WORKDIR fits.",
        explanation=(
            "A `cd` lasts only until the end of its RUN, so a Dockerfile that starts RUN after "
            "RUN with `cd /app &&` repeats itself, and a RUN or COPY that forgets it works in "
            "another folder. `WORKDIR /app` sets the folder once for every later instruction "
            "(and creates it). Flagged: a RUN whose first command is `cd DIR &&`, and a `cd` to "
            "the folder WORKDIR already set.\n\n"
            "Not flagged, unlike hadolint's DL3003: `cd` later in a script (`git clone ... && "
            "cd repo && make`), a `cd` into /tmp or another scratch folder, a RUN that leaves "
            "the folder again (`cd /src && make && cd /`) or deletes it (a build folder that "
            "does not outlive the RUN: a WORKDIR there would), and a folder written with a "
            "variable, a glob or `~`."
        ),
        bad="FROM node:20-slim\nCOPY . /app\nRUN cd /app && npm ci\n",
        good="FROM node:20-slim\nWORKDIR /app\nCOPY . .\nRUN npm ci\n",
        check=check,
        related={"hadolint": ("DL3003",), "trivy": ("DS-0013",)},
    )
)
