from collections.abc import Iterator

from keelhaul.dockerfile.stages import Stage
from keelhaul.dockerfile.syntax import Instruction
from keelhaul.findings import Category, Safety, Severity
from keelhaul.rules.dockerfile.shared.layers import runs_by_instruction, shipped_chain, top_level
from keelhaul.rules.dockerfile.shared.structure import first_line_of
from keelhaul.rules.dockerfile.structure._fixes import merge_fix
from keelhaul.rules.registry import DockerfileContext, Hit, Rule, Run, register

#: Instructions that only set image metadata: a RUN after them sees what the RUN before saw.
_METADATA = frozenset({"LABEL", "EXPOSE", "MAINTAINER", "STOPSIGNAL", "HEALTHCHECK", "CMD",
                       "ENTRYPOINT"})  # fmt: skip
#: Commands that set up the shell rather than do a step of the build.
_SETUP = frozenset({"set", "shopt", "export", "umask", "trap"})


def _steps(runs: list[Run]) -> int | None:
    """How many top-level steps (a pipeline counts once) the RUN has; None if not shell."""
    if not runs:
        return None
    steps = 0
    piped = False
    for run in runs:
        for cmd in run.script.commands:
            if not top_level(cmd):
                if cmd.context and not cmd.parent and not piped:
                    steps += 2  # an if/for/while block: a step of its own, and not a small one
                continue
            if cmd.name in _SETUP or not cmd.argv:
                continue
            if not piped:
                steps += 1
            piped = cmd.connector in ("|", "|&")
    return steps


def _mergeable(first: Instruction, second: Instruction, steps: dict[int, int | None]) -> bool:
    """Same flags (mounts, network, security), both shell scripts, one of them a single step.

    Two RUNs that each already chain several commands were most likely split on purpose (a
    slow, stable step kept apart so that editing the next one does not re-run it).
    """
    a, b = steps.get(id(first)), steps.get(id(second))
    if a is None or b is None:
        return False
    return sorted(first.flags) == sorted(second.flags) and min(a, b) <= 1


def check(ctx: DockerfileContext) -> Iterator[Hit]:
    by_inst = runs_by_instruction(ctx)
    for stage in shipped_chain(ctx):
        steps: dict[int, int | None] = {}
        for inst in stage.instructions:
            if inst.name == "RUN" and not inst.json:
                steps[id(inst)] = _steps(by_inst.get(id(inst), []))
        group: list[Instruction] = []
        between: list[Instruction] = []
        for inst in stage.instructions:
            if group and inst.name in _METADATA:
                between.append(inst)
                continue
            if group and _mergeable(group[-1], inst, steps):
                group.append(inst)
                continue
            if len(group) > 1:
                yield _hit(group, between, stage, ctx)
            group = [inst] if id(inst) in steps else []
            between = []
        if len(group) > 1:
            yield _hit(group, between, stage, ctx)


def _hit(
    group: list[Instruction], between: list[Instruction], stage: Stage, ctx: DockerfileContext
) -> Hit:
    lines = [i.start_line for i in group]
    listed = ", ".join(map(str, lines[:-1])) + f" and {lines[-1]}"
    fewer = len(group) - 1
    inside = [i for i in between if group[0].start_line < i.start_line < group[-1].start_line]
    moved = ""
    first, last = group[0].start_line, group[-1].end_line
    region = [line for line in ctx.tree.lines() if first <= line.number <= last]
    if inside:
        names = sorted({i.name for i in inside})
        moved = f" (the {' and '.join(names)} between them can move after it)"
    return Hit(
        group[1],
        f"the RUN instructions on lines {listed} can be one RUN: join their commands with "
        f"`&&` ({'one layer' if fewer == 1 else f'{fewer} layers'} fewer){moved}",
        stage,
        first_line_of(group[1]),
        merge_fix(group, inside, region, ctx.tree.escape),
    )


register(
    Rule(
        code="KH180",
        name="mergeable-runs",
        severity=Severity.STYLE,
        category=Category.SIZE,
        summary="Consecutive RUN instructions that could be one.",
        explanation=(
            "Each RUN adds a layer: more layers to store, push and pull, and any file two RUNs "
            "both touch (the dpkg database, a site-packages RECORD, ldconfig's cache) is "
            "stored once per layer. RUNs that follow each other with nothing between them but "
            "comments, or metadata a RUN does not see (LABEL, EXPOSE, CMD, ENTRYPOINT, "
            "HEALTHCHECK, STOPSIGNAL), can usually be one RUN, joined with `&&` (comment "
            "lines may stay inside a continued RUN). The finding is on the second RUN of each "
            "group and names every line of it.\n\n"
            "Not flagged: RUNs with different `--mount`, `--network` or `--security` options "
            "(they cannot simply merge), exec-form RUNs and heredocs run by another program, "
            "RUNs separated by an instruction that changes what the next RUN sees (ENV, ARG, "
            "WORKDIR, USER, SHELL, VOLUME, COPY, ADD, ONBUILD), and two RUNs that each already chain several commands: "
            "such a split is usually on purpose, to keep a slow, stable step (installing "
            "packages) cached while the step after it is edited. Only stages that ship are "
            "checked; in a builder stage extra layers cost nothing in the image and help the "
            "build cache. Merging can change meaning when the first RUN changes directory or "
            "exports variables; wrap it in `( ... )` then.\n\n"
            "Fix: one RUN, each RUN's text kept and joined with `&&` at the end of a line (or "
            "at the start of the next, when the RUNs already continue that way); comments "
            "stay inside the continued RUN, metadata between the RUNs moves after it. No fix "
            "when a RUN but the last changes the shell's state (`cd`, `export`, `set -u`, a "
            "background `&`, `exit`) or when a later RUN is more than an `&&` chain."
        ),
        bad="FROM debian:12\nRUN mkdir -p /srv/app\n# then the owner\nRUN chown 10001 /srv/app\n",
        good="FROM debian:12\nRUN mkdir -p /srv/app \\\n    && chown 10001 /srv/app\n",
        check=check,
        fix=Safety.SAFE,
        fix_reason=(
            "Joins consecutive RUNs with `&&` only when no command of the first leaves "
            "state (cd, set, export, traps...) that would reach the second, and the flags "
            "and shell match: the same commands run in the same order and the build fails "
            "where it failed; only the layering changes."
        ),
        related={"hadolint": ("DL3059",)},
    )
)
