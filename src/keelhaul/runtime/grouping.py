"""A container's hardening checklist as one finding (KH409, ``container-not-hardened``).

Ten runtime rules check settings nearly every container lacks (capabilities not dropped, a
writable root filesystem, no seccomp profile, no limits...). Reported one by one they drown
the findings that matter, so when KH409 runs, the findings of these member rules for one
container become one KH409 finding at the container, whose message lists what is missing
and whose :attr:`~keelhaul.findings.Finding.members` are the member findings themselves,
each with its own code, severity, place and message.

The member codes keep working everywhere:

- selection and configuration: a member code that is not selected (or is ignored) is not in
  the list; selecting one member code without KH409 reports that code's findings alone;
  ignoring KH409 reports the members one by one;
- severity overrides and inline pragmas (``# keelhaul: ignore=KH405``) apply to each member
  at its own place before the group is made; a group left with one member is reported as
  that member's own finding;
- the baseline records the members, so a new missing item is new and old ones stay known;
- ``keelhaul fix`` fixes each member that was reported (:meth:`Finding.itemised`).

The group's severity is its most severe member's (a ``severity`` override of KH409 wins).
What stays out of the group are the findings of real risk, each its own error or warning:
privileged, host namespaces, host paths (the Docker socket), dangerous capabilities,
secrets, an explicit root user.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from keelhaul.findings import Category, Finding, Location, Severity

__all__ = ["GROUP_CODE", "GROUP_NAME", "ITEMS", "group", "regroup"]

GROUP_CODE = "KH409"
GROUP_NAME = "container-not-hardened"

#: Member code -> how the group's message names what is missing.
ITEMS: dict[str, str] = {
    "KH400": "capabilities not dropped",
    "KH405": "root filesystem writable",
    "KH410": "may run as root",
    "KH412": "low UID/GID",
    "KH416": "privilege escalation allowed",
    "KH418": "no seccomp profile",
    "KH440": "no memory limit",
    "KH441": "no CPU limit",
    "KH442": "no pids limit",
}

_SEPARATOR = " is not hardened: "


def _items(members: Sequence[Finding]) -> str:
    return ", ".join(f"{ITEMS.get(m.code, m.name)} ({m.code})" for m in members)


def group(subject: str, where: Location, members: Sequence[Finding]) -> Finding | None:
    """The finding for ``subject`` (``container app of Deployment/web``) missing ``members``:
    None for none, the member itself for one, else a KH409 finding at ``where``."""
    ordered = sorted(set(members), key=lambda m: (m.code, m.location.line, m.message))
    if not ordered:
        return None
    if len(ordered) == 1:
        return ordered[0]
    return Finding(
        code=GROUP_CODE,
        name=GROUP_NAME,
        severity=max((m.severity for m in ordered), key=lambda s: s.rank),
        category=Category.SECURITY,
        location=where,
        message=f"{subject}{_SEPARATOR}{_items(ordered)}",
        members=tuple(ordered),
    )


def regroup(
    grouped: Finding, members: Sequence[Finding], severity: Severity | None = None
) -> Finding | None:
    """``grouped`` with only ``members`` left (after suppressions, severity overrides or a
    baseline): None, the one member, or the group again (``severity``: KH409's override)."""
    subject = grouped.message.partition(_SEPARATOR)[0]
    found = group(subject, grouped.location, members)
    if found is not None and found.code == GROUP_CODE and severity is not None:
        found = replace(found, severity=severity)
    return found
