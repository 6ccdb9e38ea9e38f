"""The build a Dockerfile describes: its stages, their bases, ARG scoping and the stage graph.

Follows BuildKit's Dockerfile frontend: ARGs before the first FROM are global ("meta") args
that only FROM lines see, unless a stage redeclares them; build args override defaults of
declared ARGs only; ``FROM ${BASE}:${TAG}`` expands with those; stage names are
case-insensitive; ``COPY --from`` and ``RUN --mount=from=`` name a stage (by name or index),
or else an image.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from functools import cached_property

from immutables import Map

from keelhaul.dockerfile.lex import ExpansionError, Lexer, expansion_budget
from keelhaul.dockerfile.syntax import Dockerfile, Instruction
from keelhaul.dockerfile.validate import instruction_problems

_LEXER = Lexer()
_STAGE_NAME = re.compile(r"[a-z][a-z0-9\-_.]*")

#: Build args BuildKit defines without an ARG line in the global scope.
DEFAULT_PLATFORM = "linux/amd64"


def platform_args(build: str = DEFAULT_PLATFORM, target: str | None = None) -> dict[str, str]:
    """The automatic platform ARGs (BUILDPLATFORM, TARGETARCH...) for a build and target."""
    args: dict[str, str] = {}
    for prefix, platform in (("BUILD", build), ("TARGET", target or build)):
        os_, _, rest = platform.partition("/")
        arch, _, variant = rest.partition("/")
        args[f"{prefix}PLATFORM"] = platform
        args[f"{prefix}OS"] = os_
        args[f"{prefix}OSVERSION"] = ""  # only Windows platforms carry one
        args[f"{prefix}ARCH"] = arch
        args[f"{prefix}VARIANT"] = variant
    return args


class DependencyKind(Enum):
    STAGE = "stage"
    IMAGE = "image"


class DependencyVia(Enum):
    FROM = "from"
    COPY = "copy-from"
    MOUNT = "mount-from"


@dataclass(frozen=True, slots=True)
class Dependency:
    """Something a stage reads from: an earlier stage or an image."""

    kind: DependencyKind
    via: DependencyVia
    reference: str  # as expanded
    stage: int | None  # index, when kind is STAGE
    instruction: Instruction


@dataclass(frozen=True, slots=True)
class Problem:
    """Something in the build graph BuildKit would reject or warn about."""

    message: str
    line: int
    fatal: bool = True


@dataclass(frozen=True)
class Stage:
    index: int
    name: str | None
    from_instruction: Instruction
    base_raw: str
    base: str  # expanded with global args and build args
    base_stage: int | None
    platform: str | None
    instructions: tuple[Instruction, ...]
    dependencies: tuple[Dependency, ...]
    args: Mapping[str, str] = field(default_factory=dict)  # ARG values in scope at stage end
    env: Mapping[str, str] = field(default_factory=dict)  # ENV at its end, inherited included

    @property
    def label(self) -> str:
        return self.name if self.name is not None else str(self.index)

    @property
    def is_scratch(self) -> bool:
        return self.base_stage is None and self.base.lower() == "scratch"


@dataclass(frozen=True)
class Build:
    """The stages of a Dockerfile, resolved for a set of build args and a target."""

    dockerfile: Dockerfile
    global_args: Mapping[str, str | None]  # declared before the first FROM, with defaults
    resolved_global_args: Mapping[str, str]  # as FROM lines see them
    stages: tuple[Stage, ...]
    target: int | None  # index of the target stage (the last one unless asked)
    problems: tuple[Problem, ...]

    def stage_by_name(self, name: str) -> Stage | None:
        lowered = name.lower()
        for stage in self.stages:
            if stage.name == lowered:
                return stage
        return None

    def needed_stages(self, target: int | None = None) -> list[int]:
        """Indexes of the stages the target needs (itself included), in file order."""
        start = self.target if target is None else target
        if start is None:
            return []
        seen: set[int] = set()
        todo = [start]
        while todo:
            index = todo.pop()
            if index in seen:
                continue
            seen.add(index)
            todo.extend(d.stage for d in self.stages[index].dependencies if d.stage is not None)
        return sorted(seen)

    def unused_stages(self) -> list[int]:
        needed = set(self.needed_stages())
        return [s.index for s in self.stages if s.index not in needed]

    def root(self, stage: Stage) -> Stage:
        """The first stage of ``stage``'s chain (``FROM`` an image, not an earlier stage):
        the last of ``chain(build, stage)``, found in constant time however deep the chain."""
        return self.stages[self._roots[stage.index]]

    def chain_flags(self, key: str, own: Callable[[Stage], bool]) -> tuple[bool, ...]:
        """Per stage index: whether ``own`` holds for the stage or any stage of its chain (the
        stages it is built FROM), computed once per ``key`` in one pass in file order, so a
        Dockerfile of thousands of stages each built FROM the one before stays linear (no
        walk back the chain from every stage)."""
        found = self._chain_flags.get(key)
        if found is None:
            flags: list[bool] = []
            for stage in self.stages:
                base = stage.base_stage
                inherited = base is not None and base < stage.index and flags[base]
                flags.append(inherited or own(stage))
            found = self._chain_flags[key] = tuple(flags)
        return found

    @cached_property
    def _chain_flags(self) -> dict[str, tuple[bool, ...]]:
        return {}

    @cached_property
    def _roots(self) -> tuple[int, ...]:
        """Per stage, its root's index: one pass in file order (a base is always earlier)."""
        roots: list[int] = []
        for stage in self.stages:
            base = stage.base_stage
            roots.append(roots[base] if base is not None and base < stage.index else stage.index)
        return tuple(roots)


def _expand(
    text: str, env: Mapping[str, str], problems: list[Problem], line: int
) -> tuple[str, set[str]]:
    try:
        result, _, unmatched = _LEXER.process_word_with_matches(text, env)
    except ExpansionError as exc:
        problems.append(Problem(str(exc), line))
        return text, set()
    return result, unmatched


def _arg_declarations(inst: Instruction) -> list[tuple[str, str | None]]:
    out: list[tuple[str, str | None]] = []
    for word in inst.values:
        key, sep, value = word.partition("=")
        out.append((key, value if sep else None))
    return out


def _mount_froms(inst: Instruction) -> list[str]:
    froms: list[str] = []
    for flag in inst.flags:
        key, _, value = flag[2:].partition("=")
        if key != "mount":
            continue
        for part in value.split(","):
            k, _, v = part.partition("=")
            if k.strip().lower() == "from" and v:
                froms.append(v)
    return froms


def resolve(
    dockerfile: Dockerfile,
    build_args: Mapping[str, str] | None = None,
    target: str | None = None,
    platform: str = DEFAULT_PLATFORM,
) -> Build:
    """Resolve a parsed Dockerfile's stages for ``build_args`` and ``target``.

    Every expansion shares one budget (``max-expanded-size``): past it, an expansion is a
    located problem and the value stays as written.
    """
    with expansion_budget():
        return _resolve(dockerfile, build_args, target, platform)


def _resolve(
    dockerfile: Dockerfile,
    build_args: Mapping[str, str] | None,
    target: str | None,
    platform: str,
) -> Build:
    given = dict(build_args or {})
    problems: list[Problem] = [Problem(p.message, p.line) for p in instruction_problems(dockerfile)]
    global_args: dict[str, str | None] = {}
    meta_env: dict[str, str] = platform_args(platform)

    froms: list[tuple[Instruction, list[Instruction]]] = []
    for inst in dockerfile.instructions:
        name = inst.name
        if name == "FROM":
            froms.append((inst, []))
        elif froms:
            froms[-1][1].append(inst)
        elif name == "ARG":
            for key, default in _arg_declarations(inst):
                global_args[key] = default
                if key in given:
                    meta_env[key] = given[key]
                elif default is not None:
                    meta_env[key], _ = _expand(default, meta_env, problems, inst.start_line)
        else:
            problems.append(
                Problem(f"{name} is not allowed before the first FROM", inst.start_line)
            )

    if not froms:
        problems.append(Problem("no FROM instruction: a Dockerfile needs at least one stage", 1))

    # FROM sees the stages named before it (so `FROM golang AS golang` is the image); COPY
    # --from and RUN --mount=from= see every stage, a repeated name meaning the last one.
    names: dict[str, int] = {}
    defined_at: dict[str, list[int]] = {}  # name -> the stages that took it, in file order
    headers: list[tuple[str, str | None, str | None]] = []
    for index, (inst, _) in enumerate(froms):
        values = inst.values
        stage_name: str | None = None
        if len(values) == 3 and values[1].lower() == "as":
            stage_name = values[2].lower()
            if not _STAGE_NAME.fullmatch(stage_name):
                problems.append(
                    Problem(f"invalid name for build stage: {values[2]!r}", inst.start_line)
                )
            else:
                if stage_name in names:  # BuildKit warns (DuplicateStageName) and goes on
                    problems.append(
                        Problem(
                            f"duplicate stage name {stage_name!r}", inst.start_line, fatal=False
                        )
                    )
                names[stage_name] = index
                defined_at.setdefault(stage_name, []).append(index)
        if stage_name is None and len(values) != 1:
            problems.append(Problem("FROM requires either one or three arguments", inst.start_line))
        platform_flag = inst.flag("platform")
        headers.append((values[0] if values else "", stage_name, platform_flag))

    def named_before(name: str, index: int) -> int | None:
        """The last stage named ``name`` before stage ``index`` (what its FROM sees)."""
        found = defined_at.get(name, ())
        at = bisect_left(found, index)
        return found[at - 1] if at else None

    def stage_ref(ref: str) -> int | None:
        lowered = ref.lower()
        if lowered in names:
            return names[lowered]
        if ref.isdigit() and int(ref) < len(froms):
            return int(ref)
        return None

    stages: list[Stage] = []
    platform_scope: Map[str, str] = Map(platform_args(platform))
    # per stage, at its end: its ENV, and the platform args with its ENV over them
    ends: list[tuple[Map[str, str], Map[str, str]]] = []
    for index, ((inst, body), (base_raw, stage_name, platform_flag)) in enumerate(
        zip(froms, headers, strict=True)
    ):
        base, unmatched = _expand(base_raw, meta_env, problems, inst.start_line)
        for var in sorted(unmatched):
            problems.append(
                Problem(f"FROM uses undefined variable {var!r}", inst.start_line, fatal=False)
            )
        if base_raw and not base:
            # docker build fails unless the build arg is given; a linter cannot know it is.
            problems.append(
                Problem(
                    f"base name ({base_raw}) is blank unless a build arg sets it",
                    inst.start_line,
                    fatal=False,
                )
            )
        platform_value = None
        if platform_flag is not None:
            platform_value, _ = _expand(platform_flag, meta_env, problems, inst.start_line)
        base_stage = named_before(base.lower(), index) if base else None
        deps: list[Dependency] = []
        if base_stage is not None:
            deps.append(
                Dependency(DependencyKind.STAGE, DependencyVia.FROM, base, base_stage, inst)
            )
        elif base and base.lower() != "scratch":
            deps.append(Dependency(DependencyKind.IMAGE, DependencyVia.FROM, base, None, inst))

        # Variables in scope inside the stage: platform args, then ARG/ENV as declared. The
        # ENV a stage inherits is its base's persistent map, shared, not copied: a chain of
        # thousands of stages each built FROM the one before costs linear time and memory.
        args: dict[str, str] = {}
        env: Map[str, str] = Map()
        env_scope = platform_scope
        if base_stage is not None and base_stage < len(stages):
            env, env_scope = ends[base_stage]
        scope = env_scope
        for step in body:
            step_name = step.effective.name
            if step.name == "ARG":
                for key, default in _arg_declarations(step):
                    if key in given:
                        value = given[key]
                    elif default is not None:
                        value, _ = _expand(default, scope, problems, step.start_line)
                    elif key in meta_env and key in global_args:
                        value = meta_env[key]
                    else:
                        continue
                    args[key] = value
                    if key not in env:
                        scope = scope.set(key, value)
            elif step.name == "ENV":
                for key, raw in step.pairs():
                    value, _ = _expand(raw, scope, problems, step.start_line)
                    env = env.set(key, value)
                    env_scope = env_scope.set(key, value)
                    scope = scope.set(key, value)
            if step.name == "ONBUILD":
                continue
            refs: list[tuple[DependencyVia, str]] = []
            if step_name in ("COPY", "ADD"):
                copy_from = step.flag("from")
                if copy_from:
                    refs.append((DependencyVia.COPY, copy_from))
            if step_name == "RUN":
                refs.extend((DependencyVia.MOUNT, ref) for ref in _mount_froms(step))
            for via, ref in refs:
                if "$" in ref:
                    problems.append(
                        Problem(
                            f"variable expansion is not supported for --from ({ref}); define a "
                            "stage with FROM using a global ARG instead",
                            step.start_line,
                        )
                    )
                    continue
                if ref.isdigit() and int(ref) >= len(froms):
                    problems.append(Problem(f"invalid stage index {ref}", step.start_line))
                    continue
                dep_index = stage_ref(ref)
                if dep_index == index:
                    problems.append(
                        Problem(
                            f"stage {stage_name or index} cannot copy from itself", step.start_line
                        )
                    )
                elif dep_index is not None:
                    deps.append(Dependency(DependencyKind.STAGE, via, ref, dep_index, step))
                else:
                    deps.append(Dependency(DependencyKind.IMAGE, via, ref, None, step))
        stages.append(
            Stage(
                index=index,
                name=stage_name,
                from_instruction=inst,
                base_raw=base_raw,
                base=base,
                base_stage=base_stage,
                platform=platform_value,
                instructions=tuple(body),
                dependencies=tuple(deps),
                args=args,
                env=env,
            )
        )
        ends.append((env, env_scope))

    target_index: int | None = len(stages) - 1 if stages else None
    if target is not None:
        found = names.get(target.lower())
        if found is None:
            problems.append(Problem(f"target stage {target!r} could not be found", 1))
        else:
            target_index = found

    _check_cycles(stages, problems)
    return Build(
        dockerfile=dockerfile,
        global_args=global_args,
        resolved_global_args=meta_env,
        stages=tuple(stages),
        target=target_index,
        problems=tuple(problems),
    )


def _check_cycles(stages: list[Stage], problems: list[Problem]) -> None:
    """Iterative depth-first search (a hostile file may chain thousands of stages)."""
    state = [0] * len(stages)  # 0 new, 1 on the path, 2 done
    for root in range(len(stages)):
        if state[root]:
            continue
        path: list[tuple[int, int]] = [(root, 0)]
        state[root] = 1
        while path:
            index, next_dep = path[-1]
            deps = stages[index].dependencies
            if next_dep == len(deps):
                state[index] = 2
                path.pop()
                continue
            path[-1] = (index, next_dep + 1)
            child = deps[next_dep].stage
            if child is None or child >= len(stages) or state[child] == 2:
                continue
            if state[child] == 1:
                line = stages[index].from_instruction.start_line
                problems.append(Problem("circular dependency between build stages", line))
                return
            state[child] = 1
            path.append((child, 0))
