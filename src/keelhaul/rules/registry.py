"""What a Dockerfile rule's check reads and reports: the context, its RUN scripts, hits.

The rule type and the registry are :mod:`keelhaul.rule`'s (one for every kind);
``Rule`` and ``register`` are re-exported here for the rule modules.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from functools import cached_property
from typing import ParamSpec, TypeVar, cast

from keelhaul import limits
from keelhaul.context.build_context import BuildContext
from keelhaul.dockerfile.operations import Operations, find_operations
from keelhaul.dockerfile.scripts import script_texts
from keelhaul.dockerfile.shell import ShellScript, TextMemo, parse_shell
from keelhaul.dockerfile.stages import Build, Stage, resolve
from keelhaul.dockerfile.syntax import Dockerfile, Instruction, Span
from keelhaul.findings import Finding, Fix, Location, Severity
from keelhaul.rule import Rule, register
from keelhaul.settings import Settings

__all__ = [
    "Check",
    "DockerfileContext",
    "Hit",
    "Rule",
    "Run",
    "findings_of",
    "fix_builder",
    "fixes_wanted",
    "read_script",
    "register",
]


@dataclass(frozen=True, slots=True)
class Run:
    """A shell-form RUN (or one of its sh heredocs) as commands and operations."""

    instruction: Instruction
    stage: Stage
    script: ShellScript
    operations: Operations

    def cache_mount_targets(self) -> list[str]:
        """Targets of the RUN's ``--mount=type=cache`` and ``tmpfs`` mounts, as written.

        What such a mount holds never reaches the layer.
        """
        out: list[str] = []
        for flag in self.instruction.effective.flags:
            key, _, value = flag[2:].partition("=")
            if key != "mount":
                continue
            parts = dict(p.partition("=")[::2] for p in value.split(","))
            if parts.get("type") not in ("cache", "tmpfs"):
                continue
            target = parts.get("target") or parts.get("dst") or parts.get("destination") or ""
            if target:
                out.append(target)
        return out

    def has_cache_mount(self, *paths: str) -> bool:
        """A ``--mount=type=cache`` (or tmpfs) at one of ``paths`` or at a folder above it."""
        for target in self.cache_mount_targets():
            mount = target.rstrip("/") + "/"
            if any((p.rstrip("/") + "/").startswith(mount) for p in paths):
                return True
        return False


T = TypeVar("T")
P = ParamSpec("P")
_MISSING = object()


_FIXES: ContextVar[bool] = ContextVar("keelhaul_fixes", default=True)


def fix_builder(build: Callable[P, Fix | None]) -> Callable[P, Fix | None]:
    """Marks a function that builds a fix: it returns None without running while fixes are
    not wanted (``keelhaul check`` in a format that does not show them), since proving a fix
    (editing, reparsing, comparing) costs more than finding the problem."""

    @functools.wraps(build)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> Fix | None:
        return build(*args, **kwargs) if _FIXES.get() else None

    return wrapper


@contextmanager
def fixes_wanted(wanted: bool) -> Iterator[None]:
    """Within the block, fix builders run (True) or are skipped (False)."""
    token = _FIXES.set(wanted)
    try:
        yield
    finally:
        _FIXES.reset(token)


def _read_script(text: str) -> tuple[ShellScript, Operations]:
    script = parse_shell(text)
    return script, find_operations(script)


#: A RUN script's commands and package operations, cached by text (both are immutable), as
#: much as :func:`keelhaul.dockerfile.shell.parse_shell` keeps.
read_script: TextMemo[tuple[ShellScript, Operations]] = TextMemo(
    _read_script, limits.PARSE_CACHE_ENTRIES, limits.PARSE_CACHE_CHARS
)


@dataclass
class DockerfileContext:
    """What a Dockerfile rule looks at: the tree, its resolved build, its RUN scripts."""

    tree: Dockerfile
    build: Build
    settings: Settings = field(default_factory=Settings)
    """Rule options from the configuration (``ctx.settings.trusted_registries``: typed, with
    the schema's defaults)."""
    build_context: BuildContext | None = None
    """The build context (its .dockerignore, what it holds); None when unknown, and then rules
    about the context stay quiet."""
    _memo: dict[str, object] = field(default_factory=dict, init=False, repr=False, compare=False)

    @classmethod
    def of(
        cls,
        tree: Dockerfile,
        build_args: Mapping[str, str] | None = None,
        settings: Mapping[str, object] | None = None,
        build_context: BuildContext | None = None,
    ) -> DockerfileContext:
        return cls(tree, resolve(tree, build_args), Settings.of(settings), build_context)

    def memo(self, key: str, make: Callable[[DockerfileContext], T]) -> T:
        """What ``make(self)`` returns, computed once per Dockerfile however many rules ask."""
        found = self._memo.get(key, _MISSING)
        if found is _MISSING:
            found = self._memo[key] = make(self)
        return cast(T, found)

    @property
    def final_stage(self) -> Stage | None:
        if self.build.target is None:
            return None
        return self.build.stages[self.build.target]

    @cached_property
    def runs(self) -> list[Run]:
        out: list[Run] = []
        for stage in self.build.stages:
            for inst in stage.instructions:
                eff = inst.effective
                if inst.name == "ONBUILD" or eff.name != "RUN" or eff.json:
                    continue
                for text in script_texts(inst):
                    script, operations = read_script(text)
                    out.append(Run(inst, stage, script, operations))
        return out


@dataclass(frozen=True, slots=True)
class Hit:
    """What a rule's check reports; the engine adds the rule's metadata."""

    instruction: Instruction
    message: str
    stage: Stage | None = None
    span: Span | None = None
    fix: Fix | None = None
    severity: Severity | None = None
    """Lower than the rule's when what the check knows is weaker (a stage whose role is
    assumed); None: the rule's."""


Check = Callable[[DockerfileContext], Iterable[Hit]]
"""The signature of a Dockerfile rule's ``check`` (see :class:`keelhaul.rule.Rule`)."""


def findings_of(rule: Rule, ctx: DockerfileContext) -> Iterator[Finding]:
    """The findings of a Dockerfile rule's check on ``ctx``, with the rule's metadata."""
    check = cast(Check | None, rule.check)
    if check is None:
        return
    for hit in check(ctx):
        span = hit.span or hit.instruction.span
        yield Finding(
            code=rule.code,
            name=rule.name,
            severity=hit.severity or rule.severity,
            category=rule.category,
            location=Location(
                ctx.tree.path, span.line, span.column, span.end_line, span.end_column
            ),
            message=hit.message,
            stage=hit.stage.label if hit.stage is not None else None,
            fix=hit.fix,
        )
