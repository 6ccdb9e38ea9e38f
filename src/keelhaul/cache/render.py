"""``keelhaul cache`` reports: what a change rebuilds, and rebuild rates over history, as text,
Markdown (for a pull request) and JSON."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from keelhaul.cache.history import Replay
from keelhaul.cache.keys import CacheModel, CacheStep
from keelhaul.cache.rates import Count, Rates, Row
from keelhaul.cache.rebuilds import Rebuild

#: What keelhaul assumes about every build, said once under each report.
ASSUMPTIONS = (
    "base images are taken as unchanged (no --pull, no new push to their tag)",
    "a stage that rebuilds is taken to produce different files for the stages that copy from it",
)
_WIDTH = 60


def shorten(text: str, width: int = _WIDTH) -> str:
    first = " ".join(text.split("\n", 1)[0].split())
    return first if len(first) <= width else first[: width - 1] + "…"


def model_notes(model: CacheModel) -> list[str]:
    """What keelhaul could not see in the steps the target builds (URLs, unset variables)."""
    needed = set(model.needed)
    notes: list[str] = []
    for stage in model.stages:
        if stage.stage.index in needed:
            for step in stage.steps:
                notes += [f"line {step.line}: {u}" for u in step.unknowns]
    return list(dict.fromkeys(notes))


# --- one change -------------------------------------------------------------------------------


def _step_json(step: CacheStep, expensive: Mapping[int, str]) -> dict[str, object]:
    return {
        "line": step.line,
        "end_line": step.instruction.end_line,
        "instruction": shorten(step.instruction.original, 200),
        "expensive": expensive.get(step.line),
    }


def change_json(rebuild: Rebuild, expensive: Mapping[int, str], ignored: Sequence[str]) -> str:
    """JSON of one change (the shape is documented in ``keelhaul cache --help``)."""
    stages = []
    for s in rebuild.stages:
        first = s.first_miss
        stages.append(
            {
                "stage": s.stage.label,
                "built": s.built,
                "first_miss": None
                if first is None
                else {**_step_json(first, expensive), "reason": s.reason},
                "rebuilds": [_step_json(step, expensive) for step in s.rebuilt],
            }
        )
    data = {
        "changed": sorted(rebuild.change.files),
        "ignored": list(ignored),
        "changed_build_args": sorted(rebuild.change.args),
        "stages": stages,
        "expensive_rebuilds": sum(1 for st in rebuild.rebuilt_steps if st.line in expensive),
        "notes": model_notes(rebuild.model) + list(ASSUMPTIONS),
    }
    return json.dumps(data, indent=2) + "\n"


def change_text(
    rebuild: Rebuild, expensive: Mapping[int, str], ignored: Sequence[str], name: str
) -> str:
    files = sorted(rebuild.change.files)
    lines = [
        f"{name}: {len(files)} changed file(s)"
        + (f", {len(ignored)} left out by the ignore file" if ignored else "")
    ]
    for s in rebuild.stages:
        head = f"stage {s.stage.label}"
        if not s.built:
            lines.append(f"{head}: not built (the target does not need it)")
            continue
        first = s.first_miss
        if first is None:
            lines.append(f"{head}: fully cached")
            continue
        lines.append(f"{head}: rebuilds from line {first.line} ({s.reason})")
        for step in s.rebuilt:
            mark = f"   EXPENSIVE: {expensive[step.line]}" if step.line in expensive else ""
            lines.append(f"  {step.line:>4}  {shorten(step.instruction.original)}{mark}")
    costly = [st for st in rebuild.rebuilt_steps if st.line in expensive]
    if costly:
        lines.append(
            f"{len(costly)} expensive step(s) rebuild: lines {', '.join(str(st.line) for st in costly)}"
        )
    elif rebuild.rebuilt_steps:
        lines.append("no expensive step rebuilds")
    else:
        lines.append("nothing rebuilds: every step is cached")
    lines += [f"note: {n}" for n in model_notes(rebuild.model)]
    return "\n".join(lines) + "\n"


# --- history ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Estimate:
    """Rebuild time from per-step seconds the user gave (``--step-seconds LINE=SECONDS``)."""

    seconds: Mapping[int, float]
    now: float
    after: float


def estimate(rates: Rates, seconds: Mapping[int, float]) -> Estimate | None:
    if not seconds:
        return None
    rows = {r.line: r for r in rates.rows if r.line is not None}
    now = sum(rows[line].now.rebuilt * s for line, s in seconds.items() if line in rows)
    after = sum(rows[line].after.rebuilt * s for line, s in seconds.items() if line in rows)
    return Estimate(dict(seconds), now, after)


def _duration(seconds: float) -> str:
    minutes, sec = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return (
        f"{hours}h {minutes:02d}m" if hours else f"{minutes}m {sec:02d}s" if minutes else f"{sec}s"
    )


def _rate(count: Count) -> str:
    if not count.present:
        return "—"
    percent = round(100 * count.rebuilt / count.present)
    return f"{count.rebuilt} of {count.present} ({percent}%)"


def _why_listed(row: Row) -> str:
    if row.added:
        return " (added by the reorder)"
    return " (earlier revisions only)" if row.line is None else ""


def _label(row: Row) -> str:
    return shorten(row.text) + _why_listed(row)


def _line(row: Row) -> str:
    if row.line is None:
        return "—" if row.after_line is None else f"→{row.after_line}"
    if row.after_line is not None and row.after_line != row.line:
        return f"{row.line}→{row.after_line}"
    return str(row.line)


def _headline(replay: Replay, rates: Rates, name: str) -> str:
    skipped = rates.commits - rates.replayed
    parts = []
    if rates.predating:
        parts.append(f"{rates.predating} earlier commit(s) predate the Dockerfile: left out")
    if skipped:
        parts.append(f"{skipped} skipped: the Dockerfile is missing or does not parse there")
    extra = f" ({'; '.join(parts)})" if parts else ""
    return f"{name}: {rates.replayed} commit(s) of `{replay.rev_range}` replayed{extra}"


#: Rows named at most in the note on counts below the replayed commits.
_FEWER_SHOWN = 5


def _fewer_note(rates: Rates) -> str | None:
    """Why some rows count fewer commits than were replayed (``of 22`` beside ``of 31``)."""
    fewer = []
    for row in rates.rows:
        count = row.after if row.added else row.now
        if 0 < count.present < rates.replayed:
            where = f"line {row.line}" if row.line is not None else "an earlier line"
            fewer.append(f"{where} {shorten(row.text, 40)}, {count.present} commit(s)")
    if not fewer:
        return None
    more = f"; and {len(fewer) - _FEWER_SHOWN} more" if len(fewer) > _FEWER_SHOWN else ""
    return (f"each rate counts the commits whose build ran that instruction, so some are out of "
            f"fewer than the {rates.replayed} replayed (it was added, changed or moved in the "
            f"range, or its stage was not built): {'; '.join(fewer[:_FEWER_SHOWN])}{more}")  # fmt: skip


def _notes(
    replay: Replay, rates: Rates, final: CacheModel | None, est: Estimate | None
) -> list[str]:
    notes: list[str] = []
    if not rates.reorder:
        notes.append(
            "the dependency-first reorder (KH182) changes nothing here: both columns are the same"
        )
    df_changes = sum(1 for c in replay.commits if "Dockerfile changed" in c.note)
    ignore_changes = sum(1 for c in replay.commits if "ignore file changed" in c.note)
    if df_changes:
        notes.append(
            f"{df_changes} commit(s) change the Dockerfile: each rebuilds from its first changed instruction"
        )
    if ignore_changes:
        notes.append(
            f"{ignore_changes} commit(s) change the ignore file: files it lets in or out count as changed"
        )
    fewer = _fewer_note(rates)
    if fewer is not None:
        notes.append(fewer)
    if final is not None:
        notes += model_notes(final)
    if est is not None:
        given = ", ".join(f"line {line} = {s:g} s" for line, s in sorted(est.seconds.items()))
        notes.append(f"estimate from the step times given ({given}); other steps counted as free")
    return notes + list(ASSUMPTIONS)


def replay_markdown(
    replay: Replay, rates: Rates, final: CacheModel | None, est: Estimate | None, name: str
) -> str:
    out = [f"### Build cache over history: {_headline(replay, rates, name)}", ""]
    out += [
        "| Line | Stage | Instruction | Rebuilt now | After dependency-first reorder |",
        "|---:|---|---|---:|---:|",
    ]
    for row in rates.rows:
        code = shorten(row.text).replace("|", "\\|").replace("`", "'")
        mark = f" **{row.expensive}**" if row.expensive else ""
        cell = f"`{code}`{_why_listed(row)}{mark}"
        out.append(
            f"| {_line(row)} | {row.stage} | {cell} | {_rate(row.now)} | {_rate(row.after)} |"
        )
    out.append("")
    if est is not None:
        out += [f"Estimated rebuild time over these commits: **{_duration(est.now)}** now, "
                f"**{_duration(est.after)}** after the reorder.", ""]  # fmt: skip
    out += [f"- {n}" for n in _notes(replay, rates, final, est)]
    out.append("")
    out.append(
        "_Generated by `keelhaul cache --git`; the reorder is `keelhaul fix --unsafe-fixes --select KH182`._"
    )
    return "\n".join(out) + "\n"


def replay_text(
    replay: Replay, rates: Rates, final: CacheModel | None, est: Estimate | None, name: str
) -> str:
    table = [("line", "stage", "instruction", "rebuilt now", "after reorder")]
    for row in rates.rows:
        mark = f"  [{row.expensive}]" if row.expensive else ""
        table.append((_line(row), row.stage, _label(row) + mark, _rate(row.now), _rate(row.after)))
    widths = [max(len(r[i]) for r in table) for i in range(5)]
    out = [_headline(replay, rates, name).replace("`", ""), ""]
    for r in table:
        out.append(
            "  ".join(
                cell.rjust(w) if i in (0, 3, 4) else cell.ljust(w)
                for i, (cell, w) in enumerate(zip(r, widths, strict=True))
            ).rstrip()
        )
    out.append("")
    if est is not None:
        out.append(
            f"estimated rebuild time: {_duration(est.now)} now, {_duration(est.after)} after the reorder"
        )
    out += [f"note: {n}" for n in _notes(replay, rates, final, est)]
    return "\n".join(out) + "\n"


def replay_json(
    replay: Replay,
    rates: Rates,
    final: CacheModel | None,
    est: Estimate | None,
    expensive: Mapping[int, str],
) -> str:
    rows = [
        {
            "stage": r.stage,
            "line": r.line,
            "line_after_reorder": r.after_line,
            "instruction": shorten(r.text, 200),
            "expensive": r.expensive,
            "added_by_reorder": r.added,
            "rebuilt": r.now.rebuilt,
            "of": r.now.present,
            "rebuilt_after_reorder": r.after.rebuilt,
            "of_after_reorder": r.after.present,
        }
        for r in rates.rows
    ]
    commits = []
    for c in replay.commits:
        commits.append(
            {
                "commit": c.commit.sha,
                "subject": c.commit.subject,
                "context_files_changed": len(c.context_files),
                "rebuilt_lines": None if c.now is None else [s.line for s in c.now.rebuilt_steps],
                "rebuilt_lines_after_reorder": None
                if c.reordered is None
                else [s.line for s in c.reordered.rebuilt_steps],
                "note": c.note or None,
            }
        )
    data = {
        "range": replay.rev_range,
        "commits": rates.commits,
        "replayed": rates.replayed,
        "predate_dockerfile": rates.predating,
        "reorder_changes_dockerfile": rates.reorder,
        "reordered_dockerfile": replay.final_reordered if rates.reorder else None,
        "instructions": rows,
        "per_commit": commits,
        "estimate_seconds": None if est is None else {"now": est.now, "after_reorder": est.after},
        "notes": _notes(replay, rates, final, est),
    }
    return json.dumps(data, indent=2) + "\n"
