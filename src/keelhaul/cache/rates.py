"""Rebuild rates per instruction over a replayed history, before and after the reorder."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from keelhaul.cache.history import Replay
from keelhaul.cache.keys import CacheModel, CacheStep, instruction_text
from keelhaul.cache.rebuilds import Rebuild

RowKey = tuple[str, str, int]
"""(stage label, instruction text, occurrence of that text in the stage)."""


@dataclass
class Count:
    rebuilt: int = 0
    present: int = 0
    """Commits whose build ran this instruction (it existed in a stage the target needs)."""


@dataclass
class Row:
    key: RowKey
    line: int | None
    """Line in the Dockerfile at the end of the range (None: only in earlier revisions)."""
    now: Count = field(default_factory=Count)
    after: Count = field(default_factory=Count)
    after_line: int | None = None
    added: bool = False
    """Only in the reordered Dockerfile (the manifests COPY the reorder adds)."""
    expensive: str | None = None

    @property
    def stage(self) -> str:
        return self.key[0]

    @property
    def text(self) -> str:
        return self.key[1].split("\n", 1)[0]


def step_keys(model: CacheModel) -> Iterable[tuple[RowKey, CacheStep]]:
    """Each layer-making step of the stages the target builds, with its row key."""
    needed = set(model.needed)
    for stage in model.stages:
        if stage.stage.index not in needed:
            continue
        seen: dict[str, int] = {}
        for step in stage.steps:
            if not step.makes_layer:
                continue
            text = instruction_text(step.instruction)
            seen[text] = seen.get(text, 0) + 1
            yield (stage.label, text, seen[text]), step


@dataclass
class Rates:
    rows: list[Row]
    commits: int
    """Commits of the range from the Dockerfile's first one on (those before it are left out)."""
    replayed: int
    """Commits with a Dockerfile that parses (the others are skipped)."""
    reorder: bool
    """The reorder changes the Dockerfile."""
    predating: int = 0
    """Commits of the range from before the Dockerfile existed: in no count."""


def _count(rebuild: Rebuild, rows: dict[RowKey, Row], after: bool) -> None:
    rebuilt = {id(step) for s in rebuild.stages for step in s.rebuilt}
    for key, step in step_keys(rebuild.model):
        row = rows.get(key)
        if row is None:  # an instruction of an earlier revision only
            row = rows[key] = Row(key, None)
        count = row.after if after else row.now
        count.present += 1
        count.rebuilt += id(step) in rebuilt


def rates(
    replay: Replay, final: CacheModel | None, fixed: CacheModel | None, expensive: Mapping[int, str]
) -> Rates:
    """The rows in the order of the final Dockerfile, each reorder-added row placed before the
    instruction that follows it in the reordered file, then rows of earlier revisions only."""
    rows: dict[RowKey, Row] = {}
    if final is not None:
        for key, step in step_keys(final):
            rows[key] = Row(key, step.line, expensive=expensive.get(step.line))
    final_keys = list(rows)
    fixed_keys: list[RowKey] = []
    if fixed is not None:
        for key, step in step_keys(fixed):
            fixed_keys.append(key)
            row = rows.get(key)
            if row is None:
                row = rows[key] = Row(key, None, added=True)
            row.after_line = step.line
    replayed = 0
    for each in replay.commits:
        if each.now is None:
            continue
        replayed += 1
        _count(each.now, rows, after=False)
        if each.reordered is not None:
            _count(each.reordered, rows, after=True)
    ordered = [rows[k] for k in final_keys]
    for position, key in enumerate(fixed_keys):
        if not rows[key].added:
            continue
        follower = next((k for k in fixed_keys[position + 1 :] if not rows[k].added), None)
        at = next((i for i, r in enumerate(ordered) if r.key == follower), len(ordered))
        ordered.insert(at, rows[key])
    placed = {id(r) for r in ordered}
    ordered += [r for r in rows.values() if id(r) not in placed]
    moved = [line for k in final_keys if (line := rows[k].after_line) is not None]
    changed = any(rows[k].added for k in fixed_keys) or moved != sorted(moved)
    predating = sum(1 for c in replay.commits if c.predates)
    return Rates(ordered, len(replay.commits) - predating, replayed, changed, predating)
