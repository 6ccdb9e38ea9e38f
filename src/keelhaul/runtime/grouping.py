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
Severity follows risk (:func:`defence_in_depth`): a container that may run as root with the
default capabilities keeps every item at its own severity (warning); one that runs as
non-root, or drops its capabilities, has the other security items (writable root
filesystem, privilege escalation, seccomp...) as info: they are defence in depth there, and
its message says so and how to make them gate. Resource limits keep their severity.
On a Compose service of a development stack (the setting ``compose-stack``; by default every
Compose file but one named for production) every member is info (:func:`development`): the checklist is advice there, the
risks below still gate; the group's message says so and how to make it gate.
What stays out of the group are the findings of real risk, each its own error or warning:
privileged, host namespaces, host paths (the Docker socket), dangerous capabilities,
secrets, an explicit root user.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from keelhaul.findings import Category, Finding, Location, Severity
from keelhaul.runtime.model import ContainerRun, Source

__all__ = [
    "CAPABILITY_CODES",
    "DEPTH",
    "DEPTH_CODES",
    "DEPTH_NOTE",
    "DEPTH_TEXT",
    "DEVELOPMENT",
    "DEVELOPMENT_NOTE",
    "DEVELOPMENT_TEXT",
    "GROUP_CODE",
    "GROUP_NAME",
    "ITEMS",
    "ROOT_CODES",
    "defence_in_depth",
    "development",
    "group",
    "regroup",
]

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

#: The ``properties`` of a member made info because its Compose stack is a development one.
DEVELOPMENT: Mapping[str, object] = {"compose-stack": "development"}
#: What a group of such members says after its list.
DEVELOPMENT_NOTE = (
    '; info on a development Compose stack, set compose-stack = "production" to make these gate'
)

#: What each member rule's explanation says about it.
DEVELOPMENT_TEXT = (
    " On a Compose service this is info unless the setting `compose-stack` says `production` "
    "(by default a file whose name says `prod` or `production`, like `compose.production.yaml`, "
    "is production, any other development): a Compose file mostly describes a stack run on a "
    "developer's machine, where this item is advice, not a risk to gate on; with "
    '`compose-stack = "production"` it has its own severity again. Kubernetes and docker run '
    "keep it."
)


#: The findings that, together, are the risk the checklist is about: a container that may
#: run as root (KH410; KH411 when the root user is explicit) with the default capabilities
#: (KH400) or more (KH402 a dangerous one added, KH415 privileged), so a compromised process
#: is root with CAP_DAC_OVERRIDE, CAP_CHOWN, CAP_SETUID, CAP_NET_RAW... in the container.
ROOT_CODES = frozenset({"KH410", "KH411"})
CAPABILITY_CODES = frozenset({"KH400", "KH402", "KH415"})
#: The security items that are defence in depth once the container runs as non-root or
#: without capabilities (resource limits are not among them: they keep their severity).
DEPTH_CODES = frozenset({"KH400", "KH405", "KH410", "KH416", "KH418"})
#: The ``properties`` of a member made info because it is defence in depth on its container.
DEPTH: Mapping[str, object] = {"hardening": "defence-in-depth"}
#: What a group of such members says after its list.
DEPTH_NOTE = (
    "; info: it runs as non-root or without the default capabilities, so these are defence "
    "in depth (--pss restricted or a severity override of their codes makes them gate)"
)
#: What each member rule's explanation says about it.
DEPTH_TEXT = (
    " Its severity follows the container's risk: where the container may run as root with the "
    "default capabilities (KH410 or KH411 with KH400, KH402 or KH415) it is a warning; where it runs as "
    "non-root or drops its capabilities it is info, defence in depth there; `--pss "
    "restricted`, or a severity override of the code in `.keelhaul.toml`, makes it gate "
    "anyway."
)


def defence_in_depth(codes: set[str]) -> bool:
    """Whether the checklist items of a container whose rules fired ``codes`` (every runtime
    rule's code that reported on it) are defence in depth: it does not both run as root and
    keep the default capabilities (or more)."""
    return ROOT_CODES.isdisjoint(codes) or CAPABILITY_CODES.isdisjoint(codes)


#: Words of a Compose file's name that say it describes production (Docker's documentation
#: names the production file ``compose.production.yaml``; ``docker-compose.prod.yml`` is common).
_PRODUCTION_WORDS = frozenset({"prod", "production"})


def development(run: ContainerRun, settings: Mapping[str, object]) -> bool:
    """Whether ``run`` is a service of a development Compose stack, where the checklist items
    are info: the setting ``compose-stack`` says so, or (``auto``, the default) the file's
    name does not say ``prod`` or ``production``."""
    if run.source is not Source.COMPOSE:
        return False
    stack = getattr(settings, "compose_stack", None) or settings.get("compose-stack")
    if stack in ("development", "production"):
        return stack == "development"
    name = run.file.replace("\\", "/").rsplit("/", 1)[-1].lower()
    return _PRODUCTION_WORDS.isdisjoint(re.split(r"[._\-]", name))


def _items(members: Sequence[Finding]) -> str:
    return ", ".join(f"{ITEMS.get(m.code, m.name)} ({m.code})" for m in members)


def group(
    subject: str,
    where: Location,
    members: Sequence[Finding],
    severity: Severity | None = None,
) -> Finding | None:
    """The finding for ``subject`` (``container app of Deployment/web``) missing ``members``:
    None for none, the member itself for one, else a KH409 finding at ``where`` (at
    ``severity``, KH409's override, when given; else the most severe member's)."""
    ordered = sorted(set(members), key=lambda m: (m.code, m.location.line, m.message))
    if not ordered:
        return None
    if len(ordered) == 1:
        return ordered[0]
    if severity is None:
        severity = max((m.severity for m in ordered), key=lambda s: s.rank)
    note = ""
    if severity is Severity.INFO and any(m.properties == DEVELOPMENT for m in ordered):
        note = DEVELOPMENT_NOTE
    elif severity is Severity.INFO and any(m.properties == DEPTH for m in ordered):
        note = DEPTH_NOTE
    return Finding(
        code=GROUP_CODE,
        name=GROUP_NAME,
        severity=severity,
        category=Category.SECURITY,
        location=where,
        message=f"{subject}{_SEPARATOR}{_items(ordered)}{note}",
        members=tuple(ordered),
    )


def regroup(
    grouped: Finding, members: Sequence[Finding], severity: Severity | None = None
) -> Finding | None:
    """``grouped`` with only ``members`` left (after suppressions, severity overrides or a
    baseline): None, the one member, or the group again (``severity``: KH409's override)."""
    subject = grouped.message.partition(_SEPARATOR)[0]
    return group(subject, grouped.location, members, severity)
