"""Vulnerabilities in a CycloneDX 1.6 document: the inventory's BOM
(:func:`keelhaul.sbom.formats.cyclonedx_bom`) with its ``vulnerabilities`` section."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from keelhaul.sbom.catalog import Inventory
from keelhaul.sbom.formats import cyclonedx_bom, cyclonedx_text
from keelhaul.vulns.matching import Vulnerability


def cyclonedx_json(
    inventory: Inventory, subject: str, vulnerabilities: Sequence[Vulnerability]
) -> str:
    """The inventory as CycloneDX 1.6 JSON, with a vulnerability entry per match, each
    pointing at the component it affects."""
    bom = cyclonedx_bom(inventory, subject)
    refs = {(p.path, p.name): p.purl for p in inventory.packages}
    for vuln in vulnerabilities:
        _add_vulnerability(bom, vuln, refs)
    return cyclonedx_text(bom)


def _add_vulnerability(bom: Any, vuln: Vulnerability, refs: dict[tuple[str, str], str]) -> None:
    from decimal import Decimal

    from cyclonedx.model.vulnerability import (
        BomTarget,
        VulnerabilityRating,
        VulnerabilityReference,
        VulnerabilityScoreSource,
        VulnerabilitySeverity,
        VulnerabilitySource,
    )
    from cyclonedx.model.vulnerability import (
        Vulnerability as CdxVulnerability,
    )

    pkg = vuln.package
    ref = refs.get((pkg.path or "", pkg.binary or pkg.name))
    rating = VulnerabilityRating(
        severity=VulnerabilitySeverity(vuln.severity.level),
        score=Decimal(str(vuln.severity.score)) if vuln.severity.score is not None else None,
        vector=vuln.severity.vector,
        method=_method(vuln.severity.vector, VulnerabilityScoreSource),
        source=VulnerabilitySource(name=vuln.severity.source) if vuln.severity.source else None,
    )
    others = [VulnerabilityReference(id=other, source=VulnerabilitySource(name="OSV"))
              for other in (*vuln.also, *vuln.aliases)]  # fmt: skip
    bom.vulnerabilities.add(CdxVulnerability(
        bom_ref=f"{vuln.id}:{ref or pkg.name}", id=vuln.id,
        source=VulnerabilitySource(name="OSV"), ratings=[rating], description=vuln.summary or None,
        recommendation=f"upgrade to {vuln.fixed}" if vuln.fixed else None,
        affects=[BomTarget(ref=ref)] if ref else None, references=others or None,
    ))  # fmt: skip


def _method(vector: str | None, kinds: Any) -> Any:
    if not vector:
        return None
    if vector.startswith("CVSS:4"):
        return kinds.CVSS_V4
    if vector.startswith("CVSS:3"):
        return kinds.CVSS_V3_1 if vector.startswith("CVSS:3.1") else kinds.CVSS_V3
    return kinds.CVSS_V2
