"""Running the runtime rules over :class:`ContainerRun` objects: what the check pipeline
(:mod:`keelhaul.checking`) calls for a runtime file, whatever reader produced the runs."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping

from keelhaul.findings import Finding, Location, Severity
from keelhaul.rule import Kind, Rule, registered
from keelhaul.runtime.grouping import (
    CAPABILITY_CODES,
    DEPTH,
    DEPTH_CODES,
    DEVELOPMENT,
    GROUP_CODE,
    ITEMS,
    ROOT_CODES,
    defence_in_depth,
    development,
    group,
)
from keelhaul.runtime.model import ContainerRun, StoredValue, Where
from keelhaul.runtime.rules import VALUE_CHECKS, RuntimeHit

__all__ = ["PSS_LEVELS", "Owners", "check_runs", "finding_key", "runtime_rules"]

#: Which containers (the lines of their ``ContainerRun.where``) gave each finding, by
#: :func:`finding_key`: a pod-level finding that every container repeats is reported once
#: and owned by all of them. ``keelhaul fix`` reads it to fix only what was reported.
Owners = dict[tuple[str, int, int, str], set[int]]


def finding_key(finding: Finding) -> tuple[str, int, int, str]:
    """What tells a runtime finding from the others of its file (code, place, message)."""
    loc = finding.location
    return (finding.code, loc.line, loc.column, finding.message)


#: The Pod Security Standards levels ``--pss`` takes.
PSS_LEVELS = ("baseline", "restricted")


def runtime_rules() -> list[Rule]:
    """Every runtime rule, by code."""
    from keelhaul.runtime import checks, pss  # noqa: F401  (register the rule modules)

    return registered(Kind.RUNTIME)


def check_runs(
    runs: Iterable[ContainerRun],
    settings: Mapping[str, object] | None = None,
    pss: str | None = None,
    *,
    rules: Iterable[Rule] | None = None,
    owners: Owners | None = None,
    values: Iterable[StoredValue] = (),
) -> list[Finding]:
    """Every finding of the runtime rules on ``runs``, sorted by place.

    ``rules`` defaults to the rules on by default; ``pss`` (``baseline`` or ``restricted``) adds
    the Pod Security Standards findings of that level (KH445, and KH446 for restricted) for the
    Kubernetes pods among the runs. A finding the same rule makes twice at the same place (a
    pod-level setting every container inherits) is kept once. ``owners``, when given, is
    filled with the containers each finding came from (see :data:`Owners`). ``values``
    are the file's stored values (ConfigMaps, Secrets, env files: :func:`read_stored`), read
    by the rules that check them (:data:`VALUE_CHECKS`). With KH409 among the rules, each
    container's hardening checklist is one finding (:mod:`keelhaul.runtime.grouping`). On a
    development Compose stack (``compose-stack``) the checklist items are info
    (:func:`keelhaul.runtime.grouping.development`); on a container that runs as non-root or
    without the default capabilities the security items are info, defence in depth there
    (:func:`keelhaul.runtime.grouping.defence_in_depth`).
    """
    from keelhaul.runtime import pss as pss_checks

    if pss is not None and pss not in PSS_LEVELS:
        raise ValueError(f"unknown Pod Security Standards level {pss!r}")
    opts: Mapping[str, object] = settings or {}
    chosen = [
        r
        for r in (rules if rules is not None else runtime_rules())
        if r.default_on or rules is not None
    ]
    chosen = [r for r in chosen if r.code not in pss_checks.PSS_CODES]
    runs = list(runs)
    grouping = any(r.code == GROUP_CODE for r in chosen)
    by_key: dict[tuple[str, str, int, int, str], Finding] = {}
    out: list[Finding] = []
    #: with KH409: the member findings of each container (by its index in ``runs``)
    checklist: dict[int, list[Finding]] = {}

    def add(rule: Rule, hit: RuntimeHit, index: int | None, depth: bool = False) -> None:
        key = _key(rule, hit)
        found = by_key.get(key)
        if found is None:
            found = finding(rule, hit.where, hit.message, hit)
            if index is not None and rule.code in ITEMS and development(runs[index], opts):
                found = dataclasses.replace(found, severity=Severity.INFO, properties=DEVELOPMENT)
            elif depth and rule.code in DEPTH_CODES and found.severity is Severity.WARNING:
                found = dataclasses.replace(found, severity=Severity.INFO, properties=DEPTH)
            by_key[key] = found
            out.append(found)
        if index is None:
            return
        if grouping and rule.code in ITEMS:
            checklist.setdefault(index, []).append(found)
        if owners is not None:
            owners.setdefault(
                (rule.code, hit.where.line, hit.where.column, hit.message), set()
            ).add(runs[index].where.line)

    # whether a container runs as root with the default capabilities is read whatever rules
    # were chosen: the checklist's severity follows it (grouping.defence_in_depth)
    chosen_codes = {r.code for r in chosen}
    risk_rules = [
        r for r in runtime_rules() if r.code in (CAPABILITY_CODES | ROOT_CODES) - chosen_codes
    ]
    gathered: list[tuple[Rule, RuntimeHit, int, bool]] = []
    for index, run in enumerate(runs):
        hits = [(rule, list(rule.check(run, opts))) for rule in chosen if rule.check is not None]
        fired = {rule.code for rule, each in hits if each}
        fired.update(
            r.code for r in risk_rules if r.check and any(True for _ in r.check(run, opts))
        )
        depth = defence_in_depth(fired)
        gathered.extend((rule, hit, index, depth) for rule, each in hits for hit in each)
    # a pod-level item shared with a container that runs as root with the default
    # capabilities keeps its severity: the risk is that container's
    risky = {_key(rule, hit) for rule, hit, _, depth in gathered if not depth}
    for rule, hit, index, depth in gathered:
        add(rule, hit, index, depth and _key(rule, hit) not in risky)
    stored = list(values)
    for rule in chosen:
        check_value = VALUE_CHECKS.get(rule.code)
        if check_value is not None:
            for value in stored:
                for hit in check_value(value, opts):
                    add(rule, hit, None)
    if pss is not None:
        for rule, hit in pss_checks.violations(runs, pss):
            add(rule, hit, None)
        out = _once(out, chosen)
    if checklist:
        out = _grouped(out, runs, checklist)
    return sorted(out, key=Finding.sort_key)


def _key(rule: Rule, hit: RuntimeHit) -> tuple[str, str, int, int, str]:
    """A finding made twice at the same place (a pod-level setting every container inherits)
    is one finding."""
    return (rule.code, hit.where.file, hit.where.line, hit.where.column, hit.message)


def _grouped(
    found: list[Finding], runs: list[ContainerRun], checklist: dict[int, list[Finding]]
) -> list[Finding]:
    """The checklist findings of each container as one KH409 finding (see
    :mod:`keelhaul.runtime.grouping`); a member ``--pss`` reported as a PSS finding stays out."""
    from keelhaul.runtime.checks._common import container_label

    kept = {id(f) for f in found}
    members = {id(m) for each in checklist.values() for m in each}
    out = [f for f in found if id(f) not in members]
    placed: set[int] = set()
    for index, each in sorted(checklist.items()):
        run = runs[index]
        where = Location(run.where.file, run.where.line, run.where.column)
        made = group(container_label(run), where, [m for m in each if id(m) in kept])
        if made is not None and id(made) not in placed:  # a pod-level member alone: once
            placed.add(id(made))
            out.append(made)
    return out


def _control(alias: str) -> str:
    """``Capabilities (restricted)`` -> ``capabilities``: a PSS control's name."""
    return alias.split(" (", 1)[0].strip().lower()


def _once(found: list[Finding], rules: Iterable[Rule]) -> list[Finding]:
    """With ``--pss``, a problem a rule reports and a PSS control forbids is reported once:
    as the PSS finding, which names the rule it aliases (``KH416``) so an ignore of either
    code is understood."""
    from keelhaul.runtime import pss as pss_checks

    controls = {r.code: {_control(a) for a in r.related.get("pss", ())} for r in rules}
    by_place: dict[tuple[int, int], list[Finding]] = {}
    for f in found:
        if f.code not in pss_checks.PSS_CODES:
            by_place.setdefault((f.location.line, f.location.column), []).append(f)
    dropped: set[int] = set()
    out: list[Finding] = []
    for f in found:
        if f.code not in pss_checks.PSS_CODES:
            continue
        title = f.message.partition("(")[2].partition(")")[0]
        aliases = [
            g
            for g in by_place.get((f.location.line, f.location.column), [])
            if _control(title) in controls.get(g.code, set())
        ]
        if aliases:
            dropped.update(id(g) for g in aliases)
            codes = ", ".join(sorted({g.code for g in aliases}))
            f = dataclasses.replace(f, message=f"{f.message} (also {codes})")
        out.append(f)
    return [f for f in found if f.code not in pss_checks.PSS_CODES and id(f) not in dropped] + out


def finding(rule: Rule, where: Where, message: str, hit: RuntimeHit | None = None) -> Finding:
    return Finding(
        code=rule.code,
        name=rule.name,
        category=rule.category,
        location=Location(where.file, where.line, where.column),
        message=message,
        fix=hit.fix if hit is not None else None,
        severity=hit.severity if hit is not None and hit.severity is not None else rule.severity,
    )
