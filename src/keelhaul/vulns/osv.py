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
from dataclasses import dataclass
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
    """The advisory's own severity: a CVSS vector (scored) and/or a level word."""

    score: float | None
    level: str
    """``critical``, ``high``, ``medium``, ``low``, ``none`` or ``unknown``."""
    vector: str | None = None


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


_WORDS = {"critical": "critical", "high": "high", "important": "high", "moderate": "medium",
          "medium": "medium", "low": "low", "negligible": "low", "unimportant": "low"}  # fmt: skip


def severity(record: Mapping[str, Any]) -> Severity:
    """The highest CVSS base score among the record's vectors, else a level word from
    ``database_specific`` (GitHub's ``severity``, Debian's urgency), else unknown."""
    best: Severity | None = None
    for entry in record.get("severity") or ():
        vector = str(entry.get("score", ""))
        score = cvss_score(vector)
        if score is not None and (best is None or (best.score or 0) < score):
            best = Severity(score, _level(score), vector)
    if best is not None:
        return best
    specific = record.get("database_specific") or {}
    word = str(specific.get("severity", "")).lower() if isinstance(specific, dict) else ""
    return Severity(None, _WORDS.get(word, "unknown"))


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
            return Hit(_first_fixed(affected, version, ecosystem))
        for kind, events in _ranges(affected):
            order = semver if kind == "SEMVER" else order_for(ecosystem)
            if order is None or not events:
                continue
            try:
                hit, fixed = _in_range(version, events, order)
            except BadVersion:
                continue  # the installed version or an event cannot be ordered: no claim
            if hit:
                return Hit(fixed)
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
    """The record's aliases, with the ``upstream`` ids distribution records use for CVEs."""
    found = [str(a) for a in record.get("aliases") or ()]
    found += [str(u) for u in record.get("upstream") or () if str(u) not in found]
    return tuple(found)


def packages(record: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    """(ecosystem, normalised name) of every package the record names."""
    for affected in record.get("affected") or ():
        package = affected.get("package") or {}
        ecosystem, name = str(package.get("ecosystem", "")), str(package.get("name", ""))
        if ecosystem and name:
            yield ecosystem, normalise_name(ecosystem, name)
