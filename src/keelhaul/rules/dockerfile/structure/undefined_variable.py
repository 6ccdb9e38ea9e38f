import re
from collections.abc import Iterator

from keelhaul.dockerfile.lex import ExpansionError
from keelhaul.dockerfile.stages import Stage
from keelhaul.dockerfile.syntax import Instruction
from keelhaul.findings import Category, Severity
from keelhaul.rules.dockerfile.shared.structure import (
    Scope,
    arg_words,
    chain,
    expand,
    locate_variable,
    meta_declared,
    raw_lexer,
    scopes,
    suggest,
    transfer,
)
from keelhaul.rules.registry import DockerfileContext, Hit, Rule, register

#: Variables a shell sets in RUN but the builder does not, so WORKDIR $HOME is "/".
SHELL_ONLY = frozenset({"HOME", "USER", "PWD", "UID", "HOSTNAME", "SHELL", "LOGNAME"})
#: Names official images commonly set with ENV (GOPATH, JAVA_HOME, NODE_VERSION...): in a
#: stage built on an image, a near miss or a namesake in another stage proves nothing.
IMAGE_ENV = re.compile(
    r"[A-Z0-9_]*_(?:VERSION|HOME|DIR|ROOT|PATH|SHA256|SHA|URL|KEY|OPTS|ENV)|GO[A-Z]+|LANG|"
    r"LANGUAGE|LC_[A-Z]+|PATH|[A-Z]+PATH|(?:PIP|NPM_CONFIG|BUNDLE|CARGO|RUSTUP|DOTNET)_[A-Z_]+"
)
#: Flags whose values BuildKit expands, by instruction.
_EXPANDED_FLAGS = {"COPY": ("chown", "chmod"), "ADD": ("chown", "chmod", "checksum")}


def expanded_words(inst: Instruction) -> list[str]:
    """The words of ``inst`` BuildKit expands with ARG and ENV values (not RUN/CMD commands)."""
    name = inst.name
    if name == "LABEL":
        return [w for pair in inst.pairs() for w in pair]
    if name in ("WORKDIR", "USER", "STOPSIGNAL"):
        return list(inst.values[:1])
    if name == "VOLUME":
        return list(inst.values)
    if name == "RUN":
        return [f[len("--mount=") :] for f in inst.flags if f.startswith("--mount=")]
    move = transfer(inst)
    if move is None:
        return []
    flags = [v for f in _EXPANDED_FLAGS[name] if (v := inst.flag(f))]
    return [*flags, *move.sources, move.dest]


def used_names(ctx: DockerfileContext, inst: Instruction, scope: Scope) -> dict[str, str]:
    """Undefined names the instruction uses -> "" (or the ENV/ARG key whose value uses them)."""
    out: dict[str, str] = {}
    escape = ctx.tree.escape
    if inst.name == "ENV":
        same: set[str] = set()
        for key, value in inst.pairs():
            for word in (key, value):
                done = expand(word, scope.env, escape)
                # Names set earlier in the same ENV are KH149's business.
                for n in (done[1] if done else set()) - same:
                    out.setdefault(n, key)
            same.add(key)
    elif inst.name == "ARG":
        # Unlike ENV, one ARG line defines its names one after the other: B=$A sees A.
        before: set[str] = set()
        for key, default in arg_words(inst):
            done = expand(default, scope.env, escape) if default is not None else None
            for n in (done[1] if done else set()) - before:
                out.setdefault(n, key)
            before.add(key)
    else:
        for word in expanded_words(inst):
            done = expand(word, scope.env, escape)
            for n in done[1] if done else set():
                out.setdefault(n, "")
        if inst.name in ("COPY", "ADD"):
            for doc in inst.heredocs:
                if doc.expand:
                    try:
                        _, _, missing = raw_lexer().process_word_with_matches(
                            doc.content, scope.env
                        )
                    except ExpansionError:
                        continue
                    for n in missing:
                        out.setdefault(n, "")
    return {n: k for n, k in out.items() if not scope.defines(n)}


#: Suggestions cost an edit distance per candidate: a hostile file gets a bounded number.
_MAX_DISTANCES = 20_000


class Evidence:
    """Where else a name is defined, to tell a real mistake from an unknown base image ENV."""

    def __init__(self, ctx: DockerfileContext) -> None:
        self.ctx = ctx
        self.globals = meta_declared(ctx.tree)
        self.defined_in: dict[str, list[tuple[Stage, Instruction]]] = {}
        self.distances = 0
        self._lineage: dict[int, set[int]] = {}
        self._declared: dict[int, list[str]] = {}
        for stage in ctx.build.stages:
            for inst in stage.instructions:
                keys: list[str] = []
                if inst.name == "ARG":
                    keys = [k for k, _ in arg_words(inst)]
                elif inst.name == "ENV":
                    keys = [k for k, _ in inst.pairs()]
                for key in keys:
                    self.defined_in.setdefault(key, []).append((stage, inst))

    def lineage(self, stage: Stage) -> set[int]:
        if stage.index not in self._lineage:
            self._lineage[stage.index] = {s.index for s in chain(self.ctx.build, stage)}
        return self._lineage[stage.index]

    def declared(self, stage: Stage) -> list[str]:
        """Names the ARG/ENV lines of this stage and its bases define (anywhere in them)."""
        if stage.index not in self._declared:
            lineage = self.lineage(stage)
            self._declared[stage.index] = sorted(
                n
                for n, found in self.defined_in.items()
                if any(s.index in lineage for s, _ in found)
            )
        return self._declared[stage.index]

    def _suggest(self, name: str, stage: Stage) -> str | None:
        candidates = [*self.declared(stage), "PATH"]
        self.distances += len(candidates)
        if self.distances > _MAX_DISTANCES:
            return None
        return suggest(name, candidates)

    def explain(
        self, name: str, stage: Stage, inst: Instruction, scope: Scope, setting: str = ""
    ) -> str | None:
        lineage = self.lineage(stage)
        places = self.defined_in.get(name, [])
        later = [i for s, i in places if s.index == stage.index and i.start_line > inst.start_line]
        near = self._suggest(name, stage)
        hint = f"; did you mean ${near}?" if near else ""
        # In a stage built on an image, its ENV may define the name: only report with proof.
        proof = scope.complete or not IMAGE_ENV.fullmatch(name)
        if inst.name == "ARG" and setting == name:
            return (f"ARG {name}=${{{name}}} refers to itself: the default is {name}'s value "
                    "before this line, empty unless the base image sets it; write `ARG "
                    f"{name}` or give a real default")  # fmt: skip
        if later:
            return (f"${name} is used before the {later[0].name} on line "
                    f"{later[0].start_line} defines it, so it is empty here{hint}")  # fmt: skip
        if name in self.globals and (scope.complete or not self._names_base(stage, name)):
            return (f"${name} is a global ARG (line {self.globals[name].start_line}), which only "
                    f"FROM lines see: add `ARG {name}` in this stage{hint}")  # fmt: skip
        others = sorted({s.label for s, _ in places if s.index not in lineage})
        if others and proof:
            return (f"${name} is set in stage {', '.join(others)} but not in this one (stages "
                    f"do not share ARG or ENV){hint}")  # fmt: skip
        if name in SHELL_ONLY and not scope.complete:
            return (f"${name} is set by the shell in RUN, not by the builder: here it is "
                    f"empty unless the base image sets ENV {name}")  # fmt: skip
        # A near miss of a name this Dockerfile defines, or `ENV PATH=$PAHT:/x` (a typo of the
        # very variable being extended).
        typo = near is not None and proof and (near == setting or near != "PATH")
        if scope.complete or typo:
            return f"${name} is not defined in this stage, so it is empty{hint}"
        return None  # may come from the base image's ENV, which keelhaul cannot see

    def _names_base(self, stage: Stage, name: str) -> bool:
        """``FROM node:${NODE_VERSION}``: official images set ENV of the same name."""
        return any(name in s.base_raw for s in chain(self.ctx.build, stage))


def check(ctx: DockerfileContext) -> Iterator[Hit]:
    known = scopes(ctx)
    evidence: Evidence | None = None
    for stage in ctx.build.stages:
        for inst in stage.instructions:
            scope = known.at(inst)
            if scope is None or inst.name == "ONBUILD":
                continue
            missing = used_names(ctx, inst, scope)
            if not missing:
                continue
            evidence = evidence or Evidence(ctx)
            for name in sorted(missing):
                message = evidence.explain(name, stage, inst, scope, missing[name])
                if message is not None:
                    yield Hit(inst, message, stage, locate_variable(inst, name))


register(
    Rule(
        code="KH144",
        name="undefined-variable",
        severity=Severity.WARNING,
        category=Category.CORRECTNESS,
        summary="A variable used in ENV, COPY, WORKDIR... before any ARG or ENV defines it.",
        explanation=(
            "The builder expands `$NAME` in ENV, LABEL, COPY, ADD, WORKDIR, USER, VOLUME and "
            "ARG defaults with ARG and ENV values of the stage (and its base image's ENV); an "
            "unknown name becomes an empty string, so `COPY app-$VERSION.jar /app/` copies "
            "`app-.jar` and `WORKDIR $HOME/app` is `/app`. The usual causes: an ARG declared "
            "before the first FROM, which stages do not see until they repeat `ARG NAME`; a "
            "variable defined in another stage; a typo; a use before the ARG line. Because the "
            "base image's ENV is unknown to keelhaul, a name with none of these explanations is "
            "only reported in stages built from scratch. RUN, CMD and ENTRYPOINT are left to "
            "the shell, as in BuildKit."
        ),
        bad="ARG VERSION=1.4.2\nFROM eclipse-temurin:21-jre\nCOPY app-${VERSION}.jar /app/\n",
        good=(
            "ARG VERSION=1.4.2\nFROM eclipse-temurin:21-jre\nARG VERSION\n"
            "COPY app-${VERSION}.jar /app/\n"
        ),
        check=check,
        related={"buildkit": ("UndefinedVar",)},
    )
)
