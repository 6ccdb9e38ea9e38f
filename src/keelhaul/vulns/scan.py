"""A scan: the packages of an inventory matched against the database, then what the user
set aside (an ignore file with reasons and expiry dates, OpenVEX "not_affected" statements,
``--ignore-unfixed``, ``--severity``) taken out, and the rest turned into findings.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import yaml

from keelhaul.errors import ConfigError, FileMissing, FileUnreadable
from keelhaul.findings import Category, Finding, Location, Severity
from keelhaul.rule import Kind, Rule
from keelhaul.sbom.catalog import Inventory
from keelhaul.sbom.model import Package
from keelhaul.sbom.os_packages import osv_ecosystems
from keelhaul.vulns.database import Database
from keelhaul.vulns.matching import LEVELS, InstalledPackage, Vulnerability, at_least, match

#: package URL type -> OSV ecosystem (distributions take their release from os-release).
_ECOSYSTEMS = {"pypi": "PyPI", "npm": "npm", "golang": "Go", "cargo": "crates.io",
               "gem": "RubyGems", "composer": "Packagist", "maven": "Maven", "nuget": "NuGet"}  # fmt: skip


def installed(inventory: Inventory) -> list[InstalledPackage]:
    """The inventory's packages as advisories name them: distribution packages by source
    package in the release's ecosystems (:func:`osv_ecosystems`), language packages by
    ecosystem and name."""
    release = inventory.release
    fips = any(p.type == "deb" and "fips" in p.version for p in inventory.packages)
    streams = osv_ecosystems(release, fips=fips) if release else ()
    out: list[InstalledPackage] = []
    for p in inventory.packages:
        if p.type in ("deb", "apk", "rpm"):
            if not streams:
                continue  # no os-release: the release, hence the advisories, unknown
            version = p.source_version or p.version if p.type == "deb" else p.version
            also = (p.name,) if p.type == "rpm" and p.source_name else ()
            mine = streams
            if fips and "fips" in version:  # a FIPS build: its own streams' advisories first
                mine = (*(e for e in streams if ":FIPS" in e),
                        *(e for e in streams if ":FIPS" not in e))  # fmt: skip
            out.append(InstalledPackage(streams[0].removesuffix("::*"), p.source_name or p.name,
                                        version, p.name, p.layer, p.path, mine, also))  # fmt: skip
            continue
        ecosystem = _ECOSYSTEMS.get(p.type)
        if ecosystem is None:
            continue
        name = f"{p.namespace}/{p.name}" if p.type == "composer" and p.namespace else p.name
        if p.type == "maven" and p.namespace:
            name = f"{p.namespace}:{p.name}"
        version = p.version
        if p.type == "golang":
            name = "stdlib" if p.name == "stdlib" else name
            version = version.removeprefix("v")
        out.append(InstalledPackage(ecosystem, name, version, None, p.layer, p.path))
    return out


# --------------------------------------------------------------------------------------------
# what the user set aside


@dataclass(frozen=True)
class IgnoreEntry:
    id: str
    reason: str
    expires: date | None = None
    package: str | None = None

    def covers(self, vuln: Vulnerability, today: date) -> bool:
        if self.expires is not None and self.expires < today:
            return False
        if self.package and self.package not in (vuln.package.name, vuln.package.binary):
            return False
        return self.id in vuln.ids


def read_ignore_file(path: Path) -> list[IgnoreEntry]:
    """``ignore: [{id, reason, expires?, package?}]``; every entry needs a reason."""
    if not path.is_file():
        raise FileMissing(path)
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise FileUnreadable(path, str(exc).splitlines()[0]) from None
    except (ValueError, RecursionError) as exc:  # `expires: 2024-02-30`: YAML reads a date
        raise ConfigError(f"{path}: {exc or 'nested too deeply'}") from None
    entries = (data or {}).get("ignore") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        raise ConfigError(f"{path}: expected `ignore:` with a list of entries")
    out: list[IgnoreEntry] = []
    for k, entry in enumerate(entries, 1):
        if not isinstance(entry, dict) or not entry.get("id") or not entry.get("reason"):
            raise ConfigError(f"{path}: entry {k}: `id` and `reason` are required")
        expires = entry.get("expires")
        if isinstance(expires, datetime):  # `expires: 2024-01-01T10:00:00Z`: its day
            expires = expires.date()
        if expires is not None and not isinstance(expires, date):
            try:
                expires = date.fromisoformat(str(expires))
            except ValueError:
                raise ConfigError(
                    f"{path}: entry {k}: `expires` is not a date (YYYY-MM-DD)"
                ) from None
        out.append(IgnoreEntry(str(entry["id"]), str(entry["reason"]), expires,
                               str(entry["package"]) if entry.get("package") else None))  # fmt: skip
    return out


@dataclass(frozen=True)
class VexStatement:
    ids: frozenset[str]
    products: tuple[str, ...]
    """purls; a product without version or qualifiers covers every version."""


def read_openvex(path: Path) -> list[VexStatement]:
    """The ``not_affected`` (and ``fixed``) statements of an OpenVEX document."""
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise FileMissing(path) from None
    except (OSError, ValueError) as exc:
        raise FileUnreadable(path, f"not OpenVEX JSON: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("statements"), list):
        raise FileUnreadable(path, "not an OpenVEX document (no `statements` list)")
    out: list[VexStatement] = []
    for statement in data["statements"]:
        if not isinstance(statement, dict) or statement.get("status") not in ("not_affected",
                                                                             "fixed"):  # fmt: skip
            continue
        vuln = statement.get("vulnerability") or {}
        ids = {str(vuln.get("name") or vuln.get("@id") or "")} | {
            str(a) for a in vuln.get("aliases") or ()
        }
        products = tuple(str(p.get("@id") if isinstance(p, dict) else p)
                         for p in statement.get("products") or ())  # fmt: skip
        out.append(VexStatement(frozenset(i for i in ids if i), products))
    return out


def _purl_covers(product: str, purl: str) -> bool:
    if product == purl:
        return True
    base = purl.split("?")[0]
    return product.split("?")[0] in (base, base.rpartition("@")[0])


@dataclass
class ScanResult:
    vulnerabilities: list[Vulnerability]
    ignored: list[tuple[Vulnerability, str]] = field(default_factory=list)
    """Set aside, with why (the ignore file's reason, ``VEX not_affected``...)."""
    expired: list[IgnoreEntry] = field(default_factory=list)


def scan(
    db: Database, inventory: Inventory, *, ignore: Sequence[IgnoreEntry] = (),
    vex: Sequence[VexStatement] = (), ignore_unfixed: bool = False, severity: str = "unknown",
    today: date | None = None,
) -> ScanResult:  # fmt: skip
    today = today or date.today()
    # package URLs only for VEX statements to name (computing one costs as much as a match)
    by_path_purl = {(p.path, p.name): p.purl for p in inventory.packages} if vex else {}
    result = ScanResult([])
    result.expired = [e for e in ignore if e.expires is not None and e.expires < today]
    for vuln in with_exploits(db, match(db, installed(inventory))):
        pkg = vuln.package
        purl = by_path_purl.get((pkg.path or "", pkg.binary or pkg.name), "")
        entry = next((e for e in ignore if e.covers(vuln, today)), None)
        if entry is not None:
            result.ignored.append((vuln, f"ignored: {entry.reason}"))
        elif any(set(vuln.ids) & s.ids and any(_purl_covers(p, purl)
                 for p in s.products) for s in vex):  # fmt: skip
            result.ignored.append((vuln, "VEX: not affected"))
        elif ignore_unfixed and vuln.fixed is None:
            result.ignored.append((vuln, "no fix yet (--ignore-unfixed)"))
        elif not at_least(vuln.severity.level, severity):
            result.ignored.append((vuln, f"below --severity {severity}"))
        else:
            result.vulnerabilities.append(vuln)
    return result


def with_exploits(db: Database, vulns: Iterable[Vulnerability]) -> list[Vulnerability]:
    """Each finding with CISA's KEV entry and FIRST's EPSS score of its CVEs, when the
    database holds them (the first of its CVE ids listed; the highest score)."""
    out = []
    for v in vulns:
        cves = [i for i in v.ids if i.startswith("CVE-")]
        kev = next((k for k in map(db.known_exploited, cves) if k is not None), None)
        scores = [s for s in map(db.likelihood, cves) if s is not None]
        epss = max(scores, key=lambda s: s.score) if scores else None
        out.append(replace(v, exploited=kev, likelihood=epss) if kev or epss else v)
    return out


def exploit_note(v: Vulnerability) -> str:
    """``known exploited (CISA KEV, added 2023-11-21); EPSS 0.44 (98th percentile)``, or ""."""
    parts = []
    if v.exploited is not None:
        ransomware = ", used by ransomware" if v.exploited.ransomware == "Known" else ""
        parts.append(f"known exploited (CISA KEV, added {v.exploited.date_added}{ransomware})")
    if v.likelihood is not None:
        parts.append(f"EPSS {v.likelihood.score:.3f} ({v.likelihood.percentile * 100:.0f}th "
                     "percentile)")  # fmt: skip
    return "; ".join(parts)


def exploit_properties(v: Vulnerability) -> dict[str, object]:
    """The KEV and EPSS facts of a finding, as JSON and SARIF properties."""
    found: dict[str, object] = {}
    if v.exploited is not None:
        found["kev"] = {"date_added": v.exploited.date_added, "due_date": v.exploited.due_date,
                        "ransomware": v.exploited.ransomware}  # fmt: skip
    if v.likelihood is not None:
        found["epss"] = {"cve": v.likelihood.cve, "score": v.likelihood.score,
                         "percentile": v.likelihood.percentile}  # fmt: skip
    return found


# --------------------------------------------------------------------------------------------
# as findings, for every format `check` writes

_SEVERITY = {"critical": Severity.ERROR, "high": Severity.ERROR, "medium": Severity.WARNING,
             "low": Severity.INFO, "none": Severity.INFO, "unknown": Severity.INFO}  # fmt: skip


def findings(vulns: Iterable[Vulnerability]) -> tuple[list[Finding], dict[str, Rule]]:
    out: list[Finding] = []
    rules: dict[str, Rule] = {}
    for v in vulns:
        pkg = v.package
        shown = pkg.binary or pkg.name
        fix = f"fixed in {v.fixed}" if v.fixed else "no fixed version yet"
        level = v.severity.level + (f" {v.severity.score}" if v.severity.score else "")
        if v.severity.source:
            level += f" ({v.severity.source})"
        others = [*v.also, *v.aliases]
        also = f" ({', '.join(others[:4])}{', ...' if len(others) > 4 else ''})" if others else ""
        exploits = exploit_note(v)
        out.append(Finding(
            v.id, v.cve or v.id, _SEVERITY[v.severity.level], Category.SECURITY,
            Location(pkg.path or "(image)", 1),
            f"{shown} {pkg.version}: {v.id}{also}, {level}; {fix}"
            + (f" (source package {pkg.name})" if pkg.binary and pkg.binary != pkg.name else "")
            + (f"; {exploits}" if exploits else ""),
            properties=exploit_properties(v) or None,
        ))  # fmt: skip
        rules[v.id] = Rule(v.id, v.cve or v.id, _SEVERITY[v.severity.level], Category.SECURITY,
                           v.summary or v.id, "", kind=Kind.VULNERABILITY, example_format="",
                           help_uri=f"https://osv.dev/vulnerability/{quote(v.id, safe='')}")  # fmt: skip
    return out, rules


def summary(vulns: Iterable[Vulnerability]) -> dict[str, int]:
    counts = dict.fromkeys(reversed(LEVELS), 0)
    for v in vulns:
        counts[v.severity.level] += 1
    return counts


def as_json(result: ScanResult) -> dict[str, Any]:
    def one(v: Vulnerability) -> dict[str, Any]:
        return {"id": v.id, "also": list(v.also), "aliases": list(v.aliases), "ids": list(v.ids),
                "summary": v.summary, "severity": v.severity.level, "score": v.severity.score,
                "vector": v.severity.vector, "severity_source": v.severity.source or None, "package": v.package.binary or v.package.name,
                "source_package": v.package.name, "version": v.package.version,
                "ecosystem": v.package.ecosystem, "fixed": v.fixed, "path": v.package.path,
                "layer": v.package.layer, "kev": None, "epss": None,
                **exploit_properties(v)}  # fmt: skip

    return {
        "summary": summary(result.vulnerabilities),
        "vulnerabilities": [one(v) for v in result.vulnerabilities],
        "ignored": [{**one(v), "why": why} for v, why in result.ignored],
    }


def package_of(inventory: Inventory, vuln: Vulnerability) -> Package | None:
    pkg = vuln.package
    return next((p for p in inventory.packages if p.path == pkg.path
                 and p.name == (pkg.binary or pkg.name) and p.version == pkg.version), None)  # fmt: skip
