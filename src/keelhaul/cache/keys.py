"""What each instruction's BuildKit cache key depends on.

BuildKit turns a Dockerfile into a chain of LLB operations per stage: FROM, then one operation
for each RUN, COPY, ADD and WORKDIR. An operation's cache key is made of its parent's key and
its own definition, so one miss rebuilds everything after it in the stage. What enters the
definition:

* RUN: the command, and the state it runs in: the environment (ENV, and the values of the
  ARGs declared so far in the stage: BuildKit puts build args in the RUN environment), the
  user, the shell and the working folder; the content of the context files a
  ``--mount=type=bind`` (the default mount type) brings in; the result of the stage a
  ``--mount=from=`` reads;
* COPY and ADD: the content of the context files their sources match, once the .dockerignore
  has left out what it excludes (BuildKit checksums content, not timestamps); with
  ``--from=stage``, that stage's result instead;
* FROM: the base image, or the result of the stage it names.

LABEL, EXPOSE, CMD, ENTRYPOINT and the other configuration-only instructions make no
operation: editing them rebuilds nothing. ENV, ARG, USER, SHELL and WORKDIR change the key of
the RUNs after them (and WORKDIR and variables in COPY/ADD lines those too).

Each step carries a *static key*: a digest of the chain of instruction texts it depends on.
Two revisions of a Dockerfile share a cached step exactly when its static key is in both.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property

from keelhaul.context.dockerignore import DockerIgnore, DockerIgnoreError, go_clean
from keelhaul.context.usage import glob_regex
from keelhaul.dockerfile.lex import ExpansionError, Lexer
from keelhaul.dockerfile.stages import Build, Stage, platform_args, resolve
from keelhaul.dockerfile.syntax import Dockerfile, Instruction

#: Instructions that make an LLB operation (a layer or a filesystem step) in BuildKit.
LLB_INSTRUCTIONS = frozenset({"FROM", "RUN", "COPY", "ADD", "WORKDIR"})
#: Configuration instructions whose state a later RUN's key includes.
_RUN_STATE = frozenset({"ENV", "ARG", "USER", "SHELL", "WORKDIR"})
_REMOTE = re.compile(r"(?:https?|git|ssh)://|git@[^:]+:", re.IGNORECASE)
_GLOB_CHARS = frozenset("*?[\\")
_VARIABLE = re.compile(r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)|([A-Za-z_][A-Za-z0-9_]*))")
_LEXER = Lexer()


def _digest(*parts: str) -> str:
    return hashlib.blake2b(
        "\x00".join(parts).encode("utf-8", "surrogateescape"), digest_size=12
    ).hexdigest()


def instruction_text(inst: Instruction) -> str:
    """The instruction as its key sees it: words as written, white space collapsed, heredocs."""
    words = " ".join(inst.original.split())
    return "\n".join([words, *(h.content for h in inst.heredocs)])


def variables_in(text: str) -> set[str]:
    """Names of the ``$VAR`` and ``${VAR}`` references in ``text``."""
    return {a or b for a, b in _VARIABLE.findall(text)}


# --- sources ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ContextSource:
    """One source of a COPY/ADD or a bind mount, as a context path or pattern."""

    text: str
    """Cleaned, relative to the context root; ``.`` is the whole context."""

    @cached_property
    def _glob(self) -> tuple[re.Pattern[str], int] | None:
        if not any(c in _GLOB_CHARS for c in self.text):
            return None
        try:
            return glob_regex(self.text), self.text.count("/") + 1
        except (ValueError, re.error):
            return None

    def matches(self, path: str) -> bool:
        """Whether the file at ``path`` is copied: the source names it or a folder above it.

        Docker copies a matched folder whole, so a path matches when it or one of its parent
        folders is the source (or matches its wildcard pattern).
        """
        text = self.text
        if text == ".":
            return True
        glob = self._glob
        if glob is None:
            return path == text or path.startswith(text + "/")
        regex, depth = glob
        parts = path.split("/")
        return len(parts) >= depth and regex.fullmatch("/".join(parts[:depth])) is not None


def context_source(word: str) -> ContextSource:
    """A COPY source as Docker resolves it: cleaned, a leading ``/`` meaning the root."""
    cleaned = go_clean(word).lstrip("/")
    while cleaned.startswith("../"):  # Docker keeps sources inside the context
        cleaned = cleaned[3:]
    return ContextSource(cleaned if cleaned not in ("", "..") else ".")


# --- steps ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CacheStep:
    """One instruction of a stage and what its cache key depends on."""

    stage: int
    instruction: Instruction
    static_key: str
    """Digest of the instruction texts its key depends on, through the chain before it."""
    context: tuple[ContextSource, ...] = ()
    """Context sources whose content is in the key (COPY/ADD sources, bind mounts)."""
    excludes: DockerIgnore | None = None
    """``COPY --exclude`` patterns: matching files are not copied."""
    stages: tuple[int, ...] = ()
    """Stages whose result is in the key (``COPY --from``, ``--mount=from=``, FROM a stage)."""
    args: frozenset[str] = frozenset()
    """Build args whose value is in the key."""
    unknowns: tuple[str, ...] = ()
    """What keelhaul cannot see (a URL's content, an unset variable in a source)."""

    @property
    def makes_layer(self) -> bool:
        """The step is an LLB operation: it runs (or copies) again when it misses."""
        return (
            self.instruction.effective.name in LLB_INSTRUCTIONS
            and self.instruction.name != "ONBUILD"
        )

    @property
    def line(self) -> int:
        return self.instruction.start_line

    def reads(self, path: str) -> bool:
        """Whether the content of context file ``path`` is in this step's key."""
        if not any(source.matches(path) for source in self.context):
            return False
        return self.excludes is None or not self.excludes.excludes(path)


@dataclass(frozen=True)
class StageSteps:
    stage: Stage
    steps: tuple[CacheStep, ...]
    """FROM first, then every instruction of the stage."""

    @property
    def label(self) -> str:
        return self.stage.label


@dataclass(frozen=True)
class CacheModel:
    """A Dockerfile's stages as chains of cache keys, for one set of build args and target."""

    build: Build
    stages: tuple[StageSteps, ...]
    needed: tuple[int, ...]
    """The stages a build of the target runs (BuildKit skips the others)."""
    build_args: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def of(
        cls,
        tree: Dockerfile,
        build_args: Mapping[str, str] | None = None,
        target: str | None = None,
    ) -> CacheModel:
        args = dict(build_args or {})
        build = resolve(tree, args, target)
        builder = _Builder(build, args)
        stages = tuple(builder.stage(stage) for stage in build.stages)
        return cls(build, stages, tuple(build.needed_stages()), args)

    @cached_property
    def static_keys(self) -> frozenset[str]:
        return frozenset(step.static_key for s in self.stages for step in s.steps)


@dataclass
class _Builder:
    build: Build
    build_args: Mapping[str, str]
    _results: dict[int, tuple[str, str]] = field(default_factory=dict)

    def stage_ref(self, ref: str) -> int | None:
        found = self.build.stage_by_name(ref)
        if found is not None:
            return found.index
        if ref.isdigit() and int(ref) < len(self.build.stages):
            return int(ref)
        return None

    def base_key(self, stage: Stage) -> tuple[str, str]:
        """(static key of FROM, the RUN state inherited from a base stage)."""
        # Stage names are not in BuildKit's keys: renaming a stage rebuilds nothing.
        if stage.base_stage is not None and stage.base_stage < stage.index:
            parent_key, parent_state = self._results.get(stage.base_stage, ("", ""))
            return _digest("stage", parent_key), parent_state
        return _digest("image", stage.base, stage.platform or ""), ""

    def stage(self, stage: Stage) -> StageSteps:
        from_key, state = self.base_key(stage)
        globals_used = {v for v in variables_in(stage.base_raw) if v in self.build.global_args}
        from_step = CacheStep(
            stage.index,
            stage.from_instruction,
            from_key,
            stages=(stage.base_stage,) if stage.base_stage is not None else (),
            args=frozenset(globals_used),
        )
        steps = [from_step]
        chain = from_key
        state_texts = [state]
        scope: dict[str, str] = dict(platform_args())
        if stage.base_stage is not None and stage.base_stage < len(self.build.stages):
            scope.update(self.build.stages[stage.base_stage].env)
        declared: set[str] = set()
        for inst in stage.instructions:
            eff = inst.effective
            name = eff.name if inst.name != "ONBUILD" else "ONBUILD"
            text = instruction_text(inst)
            if name == "ARG":
                self._declare(inst, scope, declared)
            elif name == "ENV":
                for key, raw in inst.pairs():
                    scope[key] = self._expand(raw, scope)[0]
            if name in _RUN_STATE:
                state_texts.append(text)
            if name not in LLB_INSTRUCTIONS:
                # Configuration only: nothing runs; its key is the chain so far plus its text.
                steps.append(
                    CacheStep(
                        stage.index, inst, _digest(chain, text), args=self._args_in(text, declared)
                    )
                )
                continue
            step = self._llb_step(stage, inst, name, text, chain, state_texts, scope, declared)
            chain = step.static_key
            steps.append(step)
        self._results[stage.index] = (chain, "\n".join(state_texts))
        return StageSteps(stage, tuple(steps))

    def _declare(self, inst: Instruction, scope: dict[str, str], declared: set[str]) -> None:
        for word in inst.values:
            key, sep, default = word.partition("=")
            declared.add(key)
            if key in self.build_args:
                scope[key] = self.build_args[key]
            elif sep:
                scope[key] = self._expand(default, scope)[0]
            elif key in self.build.resolved_global_args and key in self.build.global_args:
                scope[key] = self.build.resolved_global_args[key]

    def _args_in(self, text: str, declared: set[str]) -> frozenset[str]:
        return frozenset(v for v in variables_in(text) if v in declared)

    def _expand(self, word: str, scope: Mapping[str, str]) -> tuple[str, set[str]]:
        if "$" not in word:
            return word, set()
        try:
            result, _, unmatched = _LEXER.process_word_with_matches(word, scope)
        except ExpansionError:
            return word, {word}
        return result, unmatched

    def _llb_step(
        self,
        stage: Stage,
        inst: Instruction,
        name: str,
        text: str,
        chain: str,
        state_texts: list[str],
        scope: Mapping[str, str],
        declared: set[str],
    ) -> CacheStep:
        unknowns: list[str] = []
        sources: list[ContextSource] = []
        stages: list[int] = []
        excludes: DockerIgnore | None = None
        args = set(self._args_in(text, declared))
        if name == "RUN":
            args |= declared  # every declared build arg is in the RUN environment
            key = _digest(chain, text, *state_texts)
            for mount in _mounts(inst):
                self._mount(mount, sources, stages, unknowns, scope)
        elif name in ("COPY", "ADD"):
            key = _digest(
                chain, text, *(t for t in state_texts if "$" in text or t.startswith("WORKDIR"))
            )
            copy_from = inst.flag("from")
            if copy_from:
                ref = self.stage_ref(copy_from)
                if ref is not None:
                    stages.append(ref)
            else:
                sources = self._copy_sources(inst, name, scope, unknowns)
                patterns = [
                    v
                    for f in inst.flags
                    if f.startswith("--exclude=")
                    for v in [f.partition("=")[2]]
                ]
                if patterns:
                    try:
                        excludes = DockerIgnore.from_patterns(patterns)
                    except DockerIgnoreError:
                        unknowns.append("an --exclude pattern BuildKit refuses")
        else:  # WORKDIR
            key = _digest(
                chain, text, *(t for t in state_texts if t.startswith("WORKDIR") or "$" in text)
            )
        return CacheStep(
            stage.index,
            inst,
            key,
            tuple(sources),
            excludes,
            tuple(stages),
            frozenset(args),
            tuple(unknowns),
        )

    def _copy_sources(
        self, inst: Instruction, name: str, scope: Mapping[str, str], unknowns: list[str]
    ) -> list[ContextSource]:
        heredocs = {h.name for h in inst.heredocs}
        out: list[ContextSource] = []
        for word in inst.values[:-1]:
            if word.startswith("<<") and word.lstrip("<-").strip("'\"") in heredocs:
                continue  # a here-document: its text is the instruction's own
            value, unmatched = self._expand(word, scope)
            if unmatched:
                unknowns.append(
                    f"source {word!r} uses unset {', '.join(sorted(unmatched))}: read as {value!r}"
                )
            if name == "ADD" and _REMOTE.match(value):
                unknowns.append(f"ADD {value}: its content is fetched at build time, not seen here")
                continue
            out.append(context_source(value))
        return out

    def _mount(
        self,
        mount: Mapping[str, str],
        sources: list[ContextSource],
        stages: list[int],
        unknowns: list[str],
        scope: Mapping[str, str],
    ) -> None:
        if mount.get("type", "bind") != "bind":
            return  # cache, tmpfs, secret and ssh mounts are not in the key
        source = mount.get("source", mount.get("src", "."))
        ref = mount.get("from")
        if ref:
            found = self.stage_ref(ref)
            if found is not None:
                stages.append(found)
            return
        value, unmatched = self._expand(source, scope)
        if unmatched:
            unknowns.append(
                f"bind mount source {source!r} uses unset {', '.join(sorted(unmatched))}"
            )
        sources.append(context_source(value))


def _mounts(inst: Instruction) -> list[dict[str, str]]:
    """The RUN's ``--mount`` options as key/value maps (keys lower-cased)."""
    out: list[dict[str, str]] = []
    for flag in inst.effective.flags:
        key, _, value = flag[2:].partition("=")
        if key != "mount":
            continue
        fields: dict[str, str] = {}
        for part in value.split(","):
            k, sep, v = part.partition("=")
            fields[k.strip().lower()] = v.strip() if sep else "true"
        out.append(fields)
    return out


def posix_relative(path: str, start: str) -> str | None:
    """``path`` relative to ``start`` (both repository-relative), or None when outside it."""
    if start in ("", "."):
        return path
    return path[len(start) + 1 :] if path.startswith(start + "/") else None
