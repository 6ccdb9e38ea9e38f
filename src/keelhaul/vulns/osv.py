"""OSV advisories (https://ossf.github.io/osv-schema/): which versions of a package one
affects, evaluated exactly as the schema's "Evaluation" section says.

For each ``affected`` entry naming the package: the version is affected when it is listed in
``versions``, or when one of the ``ranges`` of type ECOSYSTEM or SEMVER holds it (GIT ranges
name commits, not versions, and are skipped). In a range, the events sorted by version (with
``introduced: "0"`` first) switch the state: ``introduced`` on at or after its version,
``fixed`` off at or after it, ``last_affected`` off after it; ``limit`` events bound the range
from above. A withdrawn advisory affects nothing.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cmp_to_key
from typing import Any

from keelhaul.vulns.versions import BadVersion, Comparator, order_for, semver

_PYPI_NAME = re.compile(r"[-_.]+")


def normalise_name(ecosystem: str, name: str) -> str:
    """A package name as the ecosystem compares them: PyPI's PEP 503 form, lower case where
    the ecosystem ignores case (PyPI, npm, Packagist, NuGet, distributions), as is otherwise."""
    base = ecosystem.partition(":")[0]
    if base == "PyPI":
        return _PYPI_NAME.sub("-", name).lower()
    if base in ("Go", "Maven", "crates.io", "RubyGems", "Hex", "Pub"):
        return name
    return name.lower()


@dataclass(frozen=True)
class Severity:
    """How severe an advisory says it is: a CVSS vector (scored), or a level word a
    distribution or database gave; ``source`` says which."""

    score: float | None
    level: str
    """``critical``, ``high``, ``medium``, ``low``, ``none`` or ``unknown``."""
    vector: str | None = None
    source: str = ""
    """``CVSS 3.1``, ``Ubuntu priority``, ``Debian urgency``, ``Red Hat impact``, ``GHSA``...;
    ``... of <id>`` when taken from another record for the same CVE."""

    def borrowed(self, advisory_id: str) -> Severity:
        return Severity(self.score, self.level, self.vector, f"{self.source} of {advisory_id}")


UNKNOWN = Severity(None, "unknown")


def _level(score: float) -> str:
    if score >= 9.0:
        return "critical"
    if score >= 7.0:
        return "high"
    if score >= 4.0:
        return "medium"
    if score > 0.0:
        return "low"
    return "none"


#: Level words of distributions and databases (Ubuntu's priorities, Debian's urgencies with
#: their ``*`` and ``**`` marks stripped, Red Hat's impacts, GitHub's severities, SUSE's
#: ratings). ``not yet assigned``, ``end-of-life``, ``unknown`` say nothing and are skipped.
_WORDS = {"critical": "critical", "high": "high", "important": "high", "moderate": "medium",
          "medium": "medium", "low": "low", "negligible": "low", "unimportant": "low"}  # fmt: skip
#: RHSA/RLSA/ALSA titles start with the impact: ``Important: glibc security update``.
_IMPACT_TITLE = re.compile(r"\A(Critical|Important|Moderate|Low):")
_VENDOR = {"RHSA": "Red Hat", "RHBA": "Red Hat", "RLSA": "Rocky Linux", "ALSA": "AlmaLinux",
           "ALBA": "AlmaLinux", "RXSA": "Rocky Linux"}  # fmt: skip


def _word(value: object) -> str | None:
    word = str(value or "").strip().lower().rstrip("*").strip()
    return _WORDS.get(word)


def _cvss(entries: object) -> Severity | None:
    best: Severity | None = None
    for entry in entries if isinstance(entries, list) else ():
        if not isinstance(entry, dict):
            continue
        vector = str(entry.get("score", ""))
        score = cvss_score(vector)
        if score is not None and (best is None or (best.score or 0) < score):
            version = (
                vector.split("/")[0].removeprefix("CVSS:") if vector.startswith("CVSS:") else "2.0"
            )
            best = Severity(score, _level(score), vector, f"CVSS {version}")
    return best


def distribution_severity(affected: Mapping[str, Any]) -> Severity | None:
    """The distribution's own rating of its package, from an ``affected`` entry: Ubuntu's
    ``ubuntu_priority``, Debian's ``urgency``, a ``severity`` word some feeds put in
    ``ecosystem_specific`` or ``database_specific``."""
    eco = str((affected.get("package") or {}).get("ecosystem", "")).partition(":")[0]
    for where in ("ecosystem_specific", "database_specific"):
        specific = affected.get(where)
        if not isinstance(specific, dict):
            continue
        for key, source in (("ubuntu_priority", "Ubuntu priority"), ("urgency", f"{eco} urgency"),
                            ("severity", f"{eco} severity")):  # fmt: skip
            level = _word(specific.get(key))
            if level is not None:
                return Severity(None, level, None, source)
    return None


def record_severity(record: Mapping[str, Any], affected: Mapping[str, Any] | None = None
                    ) -> Severity | None:  # fmt: skip
    """What ``record`` itself says, or None: for the ``affected`` entry that matched, the
    distribution's rating first (it rates its own build), then the highest CVSS base score
    of the record's and the entry's vectors, then a level word (Ubuntu's ``severity`` entry,
    GitHub's ``database_specific.severity``, the impact in an RHSA/RLSA/ALSA title)."""
    if affected is not None:
        found = distribution_severity(affected)
        if found is not None:
            return found
    for entry in record.get("severity") or ():
        if isinstance(entry, dict) and str(entry.get("type", "")).lower() == "ubuntu":
            level = _word(entry.get("score"))
            if level is not None:
                return Severity(None, level, None, "Ubuntu priority")
    vectors = list(record.get("severity") or ())
    if affected is not None:
        vectors += list(affected.get("severity") or ())
    best = _cvss(vectors)
    if best is not None:
        return best
    specific = record.get("database_specific")
    if isinstance(specific, dict):
        level = _word(specific.get("severity"))
        if level is not None:
            rid = str(record.get("id", ""))
            return Severity(None, level, None, "GHSA" if rid.startswith("GHSA-") else "database")
    title = _IMPACT_TITLE.match(str(record.get("summary") or ""))
    if title:
        vendor = _VENDOR.get(str(record.get("id", "")).partition("-")[0], "vendor")
        return Severity(None, _WORDS[title.group(1).lower()], None, f"{vendor} impact")
    return None


def severity(record: Mapping[str, Any], affected: Mapping[str, Any] | None = None) -> Severity:
    """:func:`record_severity`, or unknown."""
    return record_severity(record, affected) or UNKNOWN


def neutral_severity(record: Mapping[str, Any]) -> Severity | None:
    """What ``record`` can lend another record for the same CVE: its CVSS vectors first
    (they rate the flaw, not one distribution's build), else its level words."""
    vectors = list(record.get("severity") or ())
    for affected in record.get("affected") or ():
        if isinstance(affected, dict):
            vectors += list(affected.get("severity") or ())
    return _cvss(vectors) or record_severity(record)


_CVE_IN_ID = re.compile(r"(?:\A|-)(CVE-\d{4}-\d{4,})\Z")


def flaw_ids(record: Mapping[str, Any]) -> tuple[str, ...]:
    """The ids naming the flaw(s) ``record`` is about: its aliases and ``upstream`` ids, and
    the CVE inside a distribution's id (``UBUNTU-CVE-2023-4911``, ``DEBIAN-CVE-...``).
    ``related`` ids are left out: OSV means them as related, not the same."""
    out = [str(a) for a in record.get("aliases") or ()]
    out += [str(u) for u in record.get("upstream") or ()]
    inside = _CVE_IN_ID.search(str(record.get("id", "")))
    if inside:
        out.append(inside.group(1))
    own = str(record.get("id", ""))
    return tuple(dict.fromkeys(i for i in out if i and i != own))


def cve_ids(record: Mapping[str, Any]) -> tuple[str, ...]:
    own = str(record.get("id", ""))
    return tuple(i for i in (own, *flaw_ids(record)) if i.startswith("CVE-"))


def cvss_score(vector: str) -> float | None:
    """The base score of a CVSS v2, v3.x or v4.0 vector, or None when it does not parse."""
    from cvss import CVSS2, CVSS3, CVSS4  # a light import, only when a record has a vector
    from cvss.exceptions import CVSSError

    try:
        if vector.startswith("CVSS:4"):
            return float(CVSS4(vector).base_score)
        if vector.startswith("CVSS:3"):
            return float(CVSS3(vector).scores()[0])
        if vector.startswith(("AV:", "(AV:")):
            return float(CVSS2(vector.strip("()")).scores()[0])
    except (CVSSError, ValueError, KeyError, IndexError):
        return None
    return None


@dataclass(frozen=True)
class Hit:
    """The advisory affects the version; ``fixed`` is the first fixed version above it, if
    the advisory names one."""

    fixed: str | None
    affected: Mapping[str, Any] | None = field(default=None, compare=False)
    """The record's ``affected`` entry that matched."""


def _event_version(event: Mapping[str, Any]) -> tuple[str, str] | None:
    for kind in ("introduced", "fixed", "last_affected", "limit"):
        if kind in event:
            return kind, str(event[kind])
    return None


def _in_range(
    version: str, events: list[tuple[str, str]], order: Comparator
) -> tuple[bool, str | None]:
    """(affected, the fixed version that ends the affected interval) for one range."""

    def key(event: tuple[str, str]) -> tuple[int, object]:
        kind, value = event
        if kind == "introduced" and value == "0":
            return (0, "")
        return (1, cmp_to_key(order)(value))

    ordered = sorted((e for e in events if e[0] != "limit"), key=key)
    limits = [v for k, v in events if k == "limit"]
    if limits and "*" not in limits and not any(order(version, v) < 0 for v in limits):
        return False, None
    affected = False
    fixed: str | None = None
    for kind, value in ordered:
        if kind == "introduced" and (value == "0" or order(version, value) >= 0):
            affected, fixed = True, None
        elif kind == "fixed":
            if order(version, value) >= 0:
                affected = False
            elif affected and fixed is None:
                fixed = value
        elif kind == "last_affected" and order(version, value) > 0:
            affected = False
    return affected, fixed if affected else None


def _ranges(affected: Mapping[str, Any]) -> Iterator[tuple[str, list[tuple[str, str]]]]:
    for rng in affected.get("ranges") or ():
        kind = str(rng.get("type", ""))
        if kind not in ("ECOSYSTEM", "SEMVER"):
            continue
        events = [e for e in (_event_version(ev) for ev in rng.get("events") or ()) if e]
        yield kind, events


def affects(record: Mapping[str, Any], ecosystem: str, name: str, version: str) -> Hit | None:
    """Whether ``record`` affects ``name`` at ``version`` in ``ecosystem`` (``Debian:12``:
    the record's ecosystem must be the same release; ``PyPI``: any)."""
    if record.get("withdrawn"):
        return None
    wanted = normalise_name(ecosystem, name)
    for affected in record.get("affected") or ():
        package = affected.get("package") or {}
        if str(package.get("ecosystem", "")) != ecosystem:
            continue
        if normalise_name(ecosystem, str(package.get("name", ""))) != wanted:
            continue
        if version in (affected.get("versions") or ()):
            return Hit(_first_fixed(affected, version, ecosystem), affected)
        for kind, events in _ranges(affected):
            order = semver if kind == "SEMVER" else order_for(ecosystem)
            if order is None or not events:
                continue
            try:
                hit, fixed = _in_range(version, events, order)
            except BadVersion:
                continue  # the installed version or an event cannot be ordered: no claim
            if hit:
                return Hit(fixed, affected)
    return None


def _first_fixed(affected: Mapping[str, Any], version: str, ecosystem: str) -> str | None:
    order = order_for(ecosystem)
    for kind, events in _ranges(affected):
        use = semver if kind == "SEMVER" else order
        if use is None:
            continue
        try:
            hit, fixed = _in_range(version, events, use)
        except BadVersion:
            continue
        if hit and fixed:
            return fixed
    return None


def aliases(record: Mapping[str, Any]) -> tuple[str, ...]:
    """The record's other ids: :func:`flaw_ids`."""
    return flaw_ids(record)


def packages(record: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    """(ecosystem, normalised name) of every package the record names."""
    for affected in record.get("affected") or ():
        package = affected.get("package") or {}
        ecosystem, name = str(package.get("ecosystem", "")), str(package.get("name", ""))
        if ecosystem and name:
            yield ecosystem, normalise_name(ecosystem, name)
