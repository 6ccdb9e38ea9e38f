"""Installed packages against the advisories: which are affected, and what fixes them.

Distribution packages match by their *source* package in the release's ecosystem
(``Debian:12`` from os-release: Debian's advisories are per source package), language
packages by ecosystem and normalised name. No CPE guessing: a package the advisories do not
name is not matched.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from keelhaul.vulns.database import Database
from keelhaul.vulns.osv import Severity, affects, aliases, severity

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

    @property
    def cve(self) -> str | None:
        return next((a for a in (self.id, *self.aliases) if a.startswith("CVE-")), None)


def match(db: Database, installed: Iterable[InstalledPackage]) -> list[Vulnerability]:
    """Every advisory that affects one of ``installed``, most severe first."""
    found: list[Vulnerability] = []
    for package in installed:
        ecosystems = package.ecosystems or (package.ecosystem,)
        names = (package.name, *(n for n in package.names if n != package.name))
        for advisory_id, ecosystem, name in db.hits(ecosystems, names):
            record = db.record(advisory_id)
            hit = affects(record, ecosystem, name, package.version)
            if hit is None:
                continue
            found.append(Vulnerability(
                str(record["id"]), aliases(record),
                str(record.get("summary") or record.get("details") or "")[:200].strip(),
                severity(record), package, hit.fixed,
            ))  # fmt: skip
    found.sort(key=lambda v: (-LEVELS.index(v.severity.level), -(v.severity.score or 0),
                              v.package.name, v.id))  # fmt: skip
    return found


def at_least(level: str, threshold: str) -> bool:
    """``level`` is ``threshold`` or more severe (unknown counts as the least)."""
    return LEVELS.index(level) >= LEVELS.index(threshold)
