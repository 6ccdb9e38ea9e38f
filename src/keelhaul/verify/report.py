"""The verify report in text (one headline and a table), markdown (for a pull request) and
JSON (``before`` and ``after`` objects: ``built``, ``size``, ``smoke``, ``rebuilt_steps``...).

JSON shape (stable; fields are only ever added)::

    {"version": 1, "passed": bool, "regressed": bool, "mode": "fix"|"files"|"revision",
     "run": str (the value of the keelhaul.verify label on the images and containers made),
     "dockerfile": str, "context": str, "headline": str,
     "before": SIDE, "after": SIDE, "touched": str|null,
     "blame": {"code", "description", "with", "probes": [{"codes", "green", "why"}]}|null,
     "base_map": [{"side", "line", "image", "local"}], "notes": [str]}

    SIDE = {"label", "built": bool, "build_seconds", "build_error": str|null,
            "size": int|null (bytes, uncompressed: the layers' tars),
            "compressed_size": {"bytes", "basis": "measured"|"estimated", "how"}|null,
            "layers", "waste", "efficiency", "user", "exposed_ports", "env", "entrypoint",
            "cmd", "healthcheck", "smoke": {"passed", "how", "what", "detail", "seconds"}|null,
            "steps": int|null, "rebuilt_steps": [str]|null, "rebuilt_runs": int|null,
            "rebuild_seconds": float|null, "new_layer_bytes": int|null,
            "fixes": [{"code", "description"}]}

After the one-line source change: ``rebuilt_steps`` are the steps BuildKit ran again (not
CACHED), ``rebuilt_runs`` how many of them are RUNs (the steps that work: compile, install,
download), ``rebuild_seconds`` the rebuild's wall time, and ``new_layer_bytes`` the bytes of
the layers the rebuilt image has that the first build did not (uncompressed): what a push of
the change sends and a pull fetches. A fix that moves a dependency install out of the way may
leave the step count as it was (a compile must run again, a COPY --from is added) while the
rebuilt layers shrink from the dependencies to the program.
"""

from __future__ import annotations

import json
from typing import Any

from keelhaul.image.checks import human
from keelhaul.verify.verifying import Result, Side

JSON_VERSION = 1
MINUS = "\u2212"
ARROW = "\u2192"


def _change(before: int, after: int) -> str:
    if before <= 0:
        return ""
    percent = (after - before) * 100 / before
    if abs(percent) < 0.5:
        return " (the same)" if after == before else " (about the same)"
    sign = MINUS if percent < 0 else "+"
    return f" ({sign}{abs(percent):.0f}%)"


def _smoke_words(result: Result) -> str:
    after, before = result.after.smoke, result.before.smoke
    if after is None:
        return ""
    like = " like before" if before is not None and before.passed else ""
    if not after.passed:
        was = " (it passed before)" if before is not None and before.passed else ""
        return f"fails its smoke check: {after.what}: {after.detail}{was}"
    if after.how == "http":
        return f"serves {after.what}{like}"
    if after.how == "healthcheck":
        return f"becomes healthy{like}"
    if after.how == "command":
        return f"`{after.what}` passes{like}"
    return f"{after.what.removeprefix('the CMD ')}{like}" if after.detail.startswith("running") \
        else f"runs to exit 0{like}"  # fmt: skip


def _steps(side: Side) -> int | None:
    rebuilt = side.rebuilt_steps
    return None if rebuilt is None else len(rebuilt)


def headline(result: Result) -> str:
    """``builds, serves GET :8080/ like before, 1.1 GB -> 164.0 MB (-85%), a source change
    rebuilds 1 step instead of 6`` (with a real arrow and minus sign)."""
    before, after = result.before, result.after
    if not after.ok:
        words = ["does not build" + ("" if before.ok else " (nor did it before)")]
    else:
        words = ["builds" + ("" if before.ok else " (it did not before)")]
        smoke = _smoke_words(result)
        if smoke:
            words.append(smoke)
        if before.facts is not None and after.facts is not None:
            words.append(f"{human(before.facts.size)} {ARROW} {human(after.facts.size)}"
                         f"{_change(before.facts.size, after.facts.size)}")  # fmt: skip
        now, was = _steps(after), _steps(before)
        if now is not None and was is not None:
            plural = "step" if now == 1 else "steps"
            change = (f"a source change rebuilds {now} {plural} instead of {was}"
                      if now != was else f"a source change rebuilds {now} {plural} like before")  # fmt: skip
            fresh, old = after.new_layer_bytes, before.new_layer_bytes
            if fresh is not None and old is not None:
                change += f" ({human(fresh)} of new layers instead of {human(old)})"
            words.append(change)
    if result.blame is not None:
        words.append(f"to blame: {result.blame.code} ({_description(result, result.blame.code)})")
    return ", ".join(words)


def _description(result: Result, code: str) -> str:
    return result.after.descriptions.get(code, "") or code


def _fmt_seconds(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds:.1f} s"


def _rows(result: Result) -> list[tuple[str, str, str]]:
    b, a = result.before, result.after
    rows: list[tuple[str, str, str]] = []

    def both(name: str, get: Any) -> None:
        rows.append((name, get(b), get(a)))

    both("builds", lambda s: "yes" if s.ok else "no")
    both("build time", lambda s: _fmt_seconds(s.built.seconds if s.built else None))
    both("size (uncompressed)", lambda s: human(s.facts.size) if s.facts else "-")
    known = a.facts or b.facts
    both(f"size (compressed, {known.compressed_basis})" if known else "size (compressed)",
         lambda s: human(s.facts.compressed) if s.facts else "-")  # fmt: skip
    both("layers", lambda s: str(s.facts.layers) if s.facts else "-")
    both("waste", lambda s: human(s.facts.waste) if s.facts else "-")
    both("user", lambda s: (s.facts.user or "root (none set)") if s.facts else "-")
    both("exposed ports", lambda s: ", ".join(s.facts.exposed_ports) or "none" if s.facts else "-")
    both("entrypoint", lambda s: _words(s.facts.entrypoint) if s.facts else "-")
    both("cmd", lambda s: _words(s.facts.cmd) if s.facts else "-")
    both("smoke check", lambda s: _smoke_cell(s))
    if result.touched is not None:
        both(f"rebuilt after changing {result.touched}",
             lambda s: "-" if s.rebuilt_steps is None else
             f"{len(s.rebuilt_steps)} of {len(s.cache.layer_steps) if s.cache else '?'} steps"
             f" ({s.rebuilt_runs} RUN)")  # fmt: skip
        both("rebuild time", lambda s: _fmt_seconds(s.cache.seconds if s.cache else None))
        both(
            "new layers after the change",
            lambda s: "-" if s.new_layer_bytes is None else human(s.new_layer_bytes),
        )
    env_b = set(b.facts.env) if b.facts else set()
    env_a = set(a.facts.env) if a.facts else set()
    if b.facts and a.facts and env_a != env_b:
        rows.append(("env", ", ".join(sorted(env_b - env_a)) or "-",
                     ", ".join(sorted(env_a - env_b)) or "-"))  # fmt: skip
    return rows


def _words(words: tuple[str, ...] | None) -> str:
    return "none" if words is None else json.dumps(list(words))


def _smoke_cell(side: Side) -> str:
    if side.smoke is None:
        return "-"
    mark = "passed" if side.smoke.passed else "FAILED"
    return f"{mark}: {side.smoke.what} ({side.smoke.detail})"


def text(result: Result) -> str:
    b, a = result.before, result.after
    lines = [f"{result.request.dockerfile}: {headline(result)}", ""]
    rows = [("", b.label, a.label), *_rows(result)]
    width = [max(len(r[i]) for r in rows) for i in range(2)]
    for name, left, right in rows:
        lines.append(f"  {name.ljust(width[0])}  {left.ljust(width[1])}  {right}")
    lines += _fix_lines(result, "  ")
    for side in (b, a):
        if side.built is not None and not side.built.ok and side.built.error:
            lines += ["", f"{side.label}: the build failed:"]
            lines += ["  " + line for line in side.built.error.splitlines()]
    for side in (b, a):
        if side.rebuilt_steps:
            lines += ["", f"{side.label}: rebuilt after the change:"]
            lines += [f"  {step}" for step in side.rebuilt_steps]
    lines += [f"note: {note}" for note in result.notes]
    return "\n".join(lines) + "\n"


def _fix_lines(result: Result, indent: str) -> list[str]:
    lines: list[str] = []
    mapped = {
        (m.line, m.image, m.local) for side in (result.before, result.after) for m in side.mapped
    }
    for _line, image, local in sorted(mapped):
        lines.append(f"{indent}FROM {image} built from {local} (--base-map)")
    if result.after.codes:
        lines.append("")
        lines.append("fixes applied: " + ", ".join(
            f"{code} ({result.after.descriptions[code]})" if result.after.descriptions.get(code)
            else code for code in result.after.codes))  # fmt: skip
    if result.blame is not None:
        blame = result.blame
        lines.append(f"to blame: {blame.code}: {_description(result, blame.code)}"
                     + (f" (applied after {', '.join(blame.with_codes)})" if blame.with_codes else ""))  # fmt: skip
        for probe in blame.probes:
            lines.append(f"{indent}with {', '.join(probe.codes) or 'no fix'}: {probe.why}")
    return lines


def markdown(result: Result) -> str:
    b, a = result.before, result.after
    mark = "✅" if result.passed else "❌"
    lines = [f"### {mark} keelhaul verify: `{result.request.dockerfile}`", "",
             headline(result), "",
             f"| | {b.label} | {a.label} |", "|---|---|---|"]  # fmt: skip
    for name, left, right in _rows(result):
        cells = [c.replace("|", "\\|").replace("\n", " ") for c in (name, left, right)]
        lines.append(f"| {cells[0]} | {cells[1]} | {cells[2]} |")
    extra = _fix_lines(result, "- ")
    if extra:
        lines += ["", *[line for line in extra if line]]
    for side in (b, a):
        if side.built is not None and not side.built.ok and side.built.error:
            lines += ["", f"<details><summary>{side.label}: the build failed</summary>", "",
                      "```", side.built.error, "```", "</details>"]  # fmt: skip
    if result.notes:
        lines += ["", *[f"> {note}" for note in result.notes]]
    facts = a.facts or b.facts
    if facts is not None:
        lines += ["", f"<sub>Compressed size: {facts.compressed_how}.</sub>"]
    return "\n".join(lines) + "\n"


def _side_json(side: Side) -> dict[str, Any]:
    facts = side.facts
    data: dict[str, Any] = {
        "label": side.label,
        "built": side.ok,
        "build_seconds": None if side.built is None else round(side.built.seconds, 2),
        "build_error": None if side.built is None else side.built.error,
        "size": facts.size if facts else None,
        "compressed_size": None if facts is None else {
            "bytes": facts.compressed, "basis": facts.compressed_basis,
            "how": facts.compressed_how},
        "layers": facts.layers if facts else None,
        "waste": facts.waste if facts else None,
        "efficiency": round(facts.efficiency, 4) if facts else None,
        "user": facts.user if facts else None,
        "exposed_ports": list(facts.exposed_ports) if facts else None,
        "env": list(facts.env) if facts else None,
        "entrypoint": None if facts is None or facts.entrypoint is None else list(facts.entrypoint),
        "cmd": None if facts is None or facts.cmd is None else list(facts.cmd),
        "healthcheck": None if facts is None or facts.healthcheck is None else list(facts.healthcheck),
        "smoke": None if side.smoke is None else side.smoke.to_json(),
        "steps": None if side.cache is None else len(side.cache.layer_steps),
        "rebuilt_steps": side.rebuilt_steps,
        "rebuilt_runs": side.rebuilt_runs,
        "rebuild_seconds": None if side.cache is None else round(side.cache.seconds, 2),
        "new_layer_bytes": side.new_layer_bytes,
        "fixes": [{"code": c, "description": side.descriptions.get(c, "")} for c in side.codes],
    }  # fmt: skip
    return data


def to_json(result: Result) -> dict[str, Any]:
    blame = result.blame
    return {
        "version": JSON_VERSION,
        "passed": result.passed,
        "regressed": result.regressed,
        "mode": result.request.mode,
        "run": result.run_id,
        "dockerfile": str(result.request.dockerfile),
        "context": str(result.request.context),
        "headline": headline(result),
        "before": _side_json(result.before),
        "after": _side_json(result.after),
        "touched": result.touched,
        "blame": None if blame is None else {
            "code": blame.code, "description": _description(result, blame.code),
            "with": list(blame.with_codes),
            "probes": [{"codes": list(p.codes), "green": p.green, "why": p.why}
                       for p in blame.probes]},
        "base_map": [{"side": side_name, "line": m.line, "image": m.image, "local": m.local}
                     for side_name, side in (("before", result.before), ("after", result.after))
                     for m in side.mapped],
        "notes": list(result.notes),
    }  # fmt: skip


def json_text(result: Result) -> str:
    return json.dumps(to_json(result), indent=2) + "\n"
