"""Running the runtime rules over :class:`ContainerRun` objects: the entry point the
``keelhaul check`` integration calls, whatever reader produced the runs."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from keelhaul.findings import Finding, Location
from keelhaul.runtime.model import ContainerRun, Where
from keelhaul.runtime.rules import RuntimeHit, RuntimeRule, all_runtime_rules

__all__ = ["PSS_LEVELS", "check_runs"]

#: The Pod Security Standards levels ``--pss`` takes.
PSS_LEVELS = ("baseline", "restricted")


def check_runs(
    runs: Iterable[ContainerRun],
    settings: Mapping[str, object] | None = None,
    pss: str | None = None,
    *,
    rules: Iterable[RuntimeRule] | None = None,
) -> list[Finding]:
    """Every finding of the runtime rules on ``runs``, sorted by place.

    ``rules`` defaults to the rules on by default; ``pss`` (``baseline`` or ``restricted``) adds
    the Pod Security Standards findings of that level (KH445, and KH446 for restricted) for the
    Kubernetes pods among the runs. A finding the same rule makes twice at the same place (a
    pod-level setting every container inherits) is kept once.
    """
    from keelhaul.runtime import pss as pss_checks

    if pss is not None and pss not in PSS_LEVELS:
        raise ValueError(f"unknown Pod Security Standards level {pss!r}")
    opts: Mapping[str, object] = settings or {}
    chosen = [
        r
        for r in (rules if rules is not None else all_runtime_rules())
        if r.default_on or rules is not None
    ]
    chosen = [r for r in chosen if r.code not in pss_checks.PSS_CODES]
    runs = list(runs)
    seen: set[tuple[str, str, int, int, str]] = set()
    out: list[Finding] = []

    def add(rule: RuntimeRule, hit: RuntimeHit) -> None:
        key = (rule.code, hit.where.file, hit.where.line, hit.where.column, hit.message)
        if key not in seen:
            seen.add(key)
            out.append(finding(rule, hit.where, hit.message, hit))

    for run in runs:
        for rule in chosen:
            for hit in rule.check(run, opts):
                add(rule, hit)
    if pss is not None:
        for rule, hit in pss_checks.violations(runs, pss):
            add(rule, hit)
    return sorted(out, key=Finding.sort_key)


def finding(
    rule: RuntimeRule, where: Where, message: str, hit: RuntimeHit | None = None
) -> Finding:
    return Finding(
        code=rule.code,
        name=rule.name,
        severity=rule.severity,
        category=rule.category,
        location=Location(where.file, where.line, where.column),
        message=message,
        fix=hit.fix if hit is not None else None,
    )
