"""Installed packages against the advisories: which are affected, and what fixes them.

Distribution packages match by their *source* package in the release's ecosystem
(``Debian:12`` from os-release: Debian's advisories are per source package), language
packages by ecosystem and normalised name. No CPE guessing: a package the advisories do not
name is not matched.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from keelhaul.vulns.database import Database
from keelhaul.vulns.exploits import KnownExploited, Likelihood
from keelhaul.vulns.osv import (
    UNKNOWN,
    Severity,
    affects,
    aliases,
    cve_ids,
    flaw_ids,
    neutral_severity,
    record_severity,
)
from keelhaul.vulns.versions import BadVersion, Comparator, order_for

LEVELS = ("unknown", "none", "low", "medium", "high", "critical")


@dataclass(frozen=True)
class InstalledPackage:
    """A package found in an image or a source tree, as advisories name it."""

    ecosystem: str
    """The OSV ecosystem, with the release for distributions (``Debian:12``, ``Alpine:v3.20``)."""
    name: str
    """The name advisories use: the source package for distributions."""
    version: str
    binary: str | None = None
    """The installed (binary) package when it differs from ``name`` (``libssl3`` of openssl)."""
    layer: str | None = None
    path: str | None = None
    ecosystems: tuple[str, ...] = ()
    """Every ecosystem whose advisories apply (``ecosystem`` first; ``*`` patterns allowed:
    ``Red Hat:enterprise_linux:9::*``); empty: ``ecosystem`` alone."""
    names: tuple[str, ...] = ()
    """Other names advisories may use for it (rpm advisories name binary packages)."""


@dataclass(frozen=True)
class Vulnerability:
    id: str
    aliases: tuple[str, ...]
    summary: str
    severity: Severity
    package: InstalledPackage
    fixed: str | None
    """The first version that fixes it, when the advisory names one."""
    also: tuple[str, ...] = ()
    """Other advisories about the same flaw of the same package, merged into this finding
    (:func:`merge`)."""
    exploited: KnownExploited | None = None
    """CISA's KEV entry for its CVE, when a catalogue was imported (``db import``)."""
    likelihood: Likelihood | None = None
    """FIRST's EPSS score for its CVE, when scores were imported."""

    @property
    def ids(self) -> tuple[str, ...]:
        """Every id this finding answers to: its advisories' and their aliases."""
        return tuple(dict.fromkeys((self.id, *self.also, *self.aliases)))

    @property
    def cve(self) -> str | None:
        return next((a for a in self.ids if a.startswith("CVE-")), None)


def _rank(severity: Severity) -> tuple[int, float]:
    return LEVELS.index(severity.level), severity.score or 0.0


def lent_severity(db: Database, record: Mapping[str, Any],
                  cache: dict[str, Severity | None] | None = None) -> Severity | None:  # fmt: skip
    """A severity for a record that has none, from the other records in the database about
    the same CVE (``DSA-5514-1`` from ``UBUNTU-CVE-2023-4911``'s CVSS vector): CVSS vectors
    first (the highest base score), else the most severe level word."""
    cache = {} if cache is None else cache
    own = str(record.get("id", ""))
    keys = cve_ids(record) or flaw_ids(record)
    scored: Severity | None = None
    worded: Severity | None = None
    for key in keys:
        for other_id in db.same_flaw(key):
            if other_id == own:
                continue
            if other_id not in cache:
                other = db.record(other_id)
                found = None if other.get("withdrawn") else neutral_severity(other)
                cache[other_id] = found.borrowed(other_id) if found else None
            lent = cache[other_id]
            if lent is None:
                continue
            if lent.score is not None:
                if scored is None or _rank(scored) < _rank(lent):
                    scored = lent
            elif worded is None or _rank(worded) < _rank(lent):
                worded = lent
    return scored or worded


def match(db: Database, installed: Iterable[InstalledPackage]) -> list[Vulnerability]:
    """Every advisory that affects one of ``installed``, one finding per flaw of a package
    (:func:`merge`), most severe first."""
    found: list[Vulnerability] = []
    lent: dict[str, Severity | None] = {}
    borrowed: dict[str, Severity | None] = {}
    known: dict[str, tuple[tuple[str, ...], str]] = {}
    for package in installed:
        ecosystems = package.ecosystems or (package.ecosystem,)
        names = (package.name, *(n for n in package.names if n != package.name))
        hits: list[Vulnerability] = []
        for advisory_id, ecosystem, name, small in db.candidates(ecosystems, names):
            if small is not None and affects(small, ecosystem, name, package.version) is None:
                continue  # decided on the package's entries: the whole record is not read
            record = db.record(advisory_id)
            hit = affects(record, ecosystem, name, package.version)
            if hit is None:
                continue
            rated = record_severity(record, hit.affected)
            if rated is None:
                if advisory_id not in borrowed:
                    borrowed[advisory_id] = lent_severity(db, record, lent)
                rated = borrowed[advisory_id] or UNKNOWN
            if advisory_id not in known:
                known[advisory_id] = (aliases(record), str(record.get("summary") or
                                      record.get("details") or "")[:200].strip())  # fmt: skip
            also_known, summary = known[advisory_id]
            hits.append(Vulnerability(str(record["id"]), also_known, summary, rated, package,
                                      hit.fixed))  # fmt: skip
        found.extend(merge(hits, order_for(package.ecosystem)))
    found.sort(key=lambda v: (-LEVELS.index(v.severity.level), -(v.severity.score or 0),
                              v.package.name, v.package.binary or "", v.id))  # fmt: skip
    return found


def merge(vulns: Sequence[Vulnerability], order: Comparator | None = None) -> list[Vulnerability]:
    """One finding per flaw: the advisories of one package that share an id (an alias, an
    upstream CVE: PYSEC-2023-62 and GHSA-m2qf-hxjv-5gpq, both CVE-2023-30861) become one
    finding listing every id, rated by its most severe member, fixed by the earliest fix any
    of them names. An advisory about several CVEs at once (a DSA, a USN) joins the findings
    of each of its CVEs, and stands alone only when none is found."""
    if len(vulns) < 2:
        return list(vulns)

    def keys(v: Vulnerability) -> set[str]:
        return {v.id, *v.aliases}

    def cves(v: Vulnerability) -> set[str]:
        return {k for k in keys(v) if k.startswith("CVE-")}

    singles = [v for v in vulns if len(cves(v)) <= 1]
    bundles = [v for v in vulns if len(cves(v)) > 1]
    # union-find over the singles, joined by any id they share
    parent = list(range(len(singles)))

    def root(k: int) -> int:
        while parent[k] != k:
            parent[k] = parent[parent[k]]
            k = parent[k]
        return k

    owner: dict[str, int] = {}
    for k, v in enumerate(singles):
        for key in keys(v):
            if key in owner:
                parent[root(k)] = root(owner[key])
            else:
                owner[key] = k
    by_root: dict[int, int] = {}
    groups: list[list[Vulnerability]] = []
    for k, v in enumerate(singles):
        at = by_root.setdefault(root(k), len(groups))
        if at == len(groups):
            groups.append([])
        groups[at].append(v)
    attached: list[list[Vulnerability]] = [[] for _ in groups]
    for b in bundles:
        joined = sorted({by_root[root(owner[c])] for c in cves(b) if c in owner})
        for at in joined:
            attached[at].append(b)
        if not joined:
            groups.append([b])
            attached.append([])
    return [_merged(g, extra, order) for g, extra in zip(groups, attached, strict=True)]


def _merged(group: list[Vulnerability], extra: list[Vulnerability],
            order: Comparator | None) -> Vulnerability:  # fmt: skip
    if len(group) == 1 and not extra:
        return group[0]
    primary = max(group, key=lambda v: _rank(v.severity))  # the first of the most severe
    members = [*group, *extra]
    ids = [v.id for v in members if v.id != primary.id]
    also = tuple(dict.fromkeys(ids))
    seen = {primary.id, *also}
    # a bundle's other CVEs are other flaws: only the group's own aliases are listed
    names = tuple(dict.fromkeys(a for v in group for a in v.aliases if a not in seen))
    fixes = [v.fixed for v in members if v.fixed]
    fixed = primary.fixed
    if fixes:
        fixed = fixes[0]
        for candidate in fixes[1:]:
            try:
                if order is not None and order(candidate, fixed) < 0:
                    fixed = candidate
            except BadVersion:
                continue
    summary = primary.summary or next((v.summary for v in members if v.summary), "")
    return Vulnerability(primary.id, names, summary, primary.severity, primary.package, fixed,
                         also)  # fmt: skip


def at_least(level: str, threshold: str) -> bool:
    """``level`` is ``threshold`` or more severe (unknown counts as the least)."""
    return LEVELS.index(level) >= LEVELS.index(threshold)
