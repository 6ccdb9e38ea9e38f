"""Which steps a change rebuilds: the first cache miss of each stage and everything after it.

A change is a set of context files whose content changed, build args whose value changed, and
optionally the static keys of the Dockerfile revision the cache was filled with (when the
Dockerfile itself changed). The stages the target needs are evaluated in dependency order; a
stage that rebuilt counts as a changed result for the stages that build FROM it or copy or
mount from it (BuildKit compares the copied files' content, and a rebuilt stage is assumed to
produce different files: keelhaul cannot tell a reproducible rebuild).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from keelhaul.cache.keys import CacheModel, CacheStep, StageSteps


@dataclass(frozen=True)
class Change:
    """What differs from the build that filled the cache."""

    files: frozenset[str] = frozenset()
    """Context-relative paths whose content changed (added and deleted files included)."""
    args: frozenset[str] = frozenset()
    """Build args given a different value."""
    cached_keys: frozenset[str] | None = None
    """Static keys of the Dockerfile the cache was built from; None: the Dockerfile is the same."""
    sent: Callable[[str], bool] = field(default=lambda path: True, compare=False)
    """Whether the build context sends the file (its .dockerignore lets it through)."""


@dataclass(frozen=True)
class StageRebuild:
    """One stage of the build under a change."""

    stage: StageSteps
    built: bool
    """The target needs the stage (BuildKit skips the others)."""
    first_miss: CacheStep | None = None
    reason: str = ""
    """Why the first miss misses, in words (``src/app.js changed``)."""
    rebuilt: tuple[CacheStep, ...] = ()
    """The steps that run again: the first miss and every later operation."""

    @property
    def changed(self) -> bool:
        return self.first_miss is not None


@dataclass(frozen=True)
class Rebuild:
    model: CacheModel
    change: Change
    stages: tuple[StageRebuild, ...]

    @property
    def rebuilt_steps(self) -> list[CacheStep]:
        return [step for s in self.stages for step in s.rebuilt]


def _why(
    step: CacheStep, change: Change, rebuilt_stages: set[int], labels: list[str]
) -> str | None:
    """Why ``step`` misses by itself (its parent hit), or None when it hits."""
    if change.cached_keys is not None and step.static_key not in change.cached_keys:
        return "the instruction changed"
    for index in step.stages:
        if index in rebuilt_stages:
            return f"stage {labels[index]} rebuilt"
    changed_args = step.args & change.args
    if changed_args:
        return f"build arg {', '.join(sorted(changed_args))} changed"
    if step.context:
        read = [path for path in sorted(change.files) if step.reads(path) and change.sent(path)]
        if read:
            more = f" and {len(read) - 1} more" if len(read) > 1 else ""
            return f"{read[0]} changed{more}"
    return None


def rebuilds(model: CacheModel, change: Change) -> Rebuild:
    """What a build of ``model``'s target re-runs after ``change``."""
    labels = [s.label for s in model.stages]
    needed = set(model.needed)
    rebuilt_stages: set[int] = set()
    results: dict[int, StageRebuild] = {}
    for index in _order(model, needed):
        steps = model.stages[index]
        first: CacheStep | None = None
        reason = ""
        rebuilt: list[CacheStep] = []
        for step in steps.steps:
            if first is None:
                why = _why(step, change, rebuilt_stages, labels)
                if why is None or not step.makes_layer:
                    # An edited LABEL or ENV rebuilds nothing by itself; the RUNs it feeds
                    # see it through their own keys.
                    continue
                first, reason = step, why
            if step.makes_layer:
                rebuilt.append(step)
        if first is not None:
            rebuilt_stages.add(index)
        results[index] = StageRebuild(steps, True, first, reason, tuple(rebuilt))
    stages = tuple(results.get(s.stage.index, StageRebuild(s, False)) for s in model.stages)
    return Rebuild(model, change, stages)


def _order(model: CacheModel, needed: Iterable[int]) -> list[int]:
    """The needed stages, each after the stages it reads (file order where free)."""
    done: list[int] = []
    seen: set[int] = set()
    wanted = set(needed)

    def visit(index: int, path: set[int]) -> None:
        if index in seen or index in path or index not in wanted:
            return
        path.add(index)
        for step in model.stages[index].steps:
            for dep in step.stages:
                visit(dep, path)
        path.discard(index)
        seen.add(index)
        done.append(index)

    for index in sorted(wanted):
        visit(index, set())
    return done
