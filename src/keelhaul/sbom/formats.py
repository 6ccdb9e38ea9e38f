"""An inventory written as CycloneDX 1.6 JSON (cyclonedx-python-lib) or SPDX 2.3 JSON
(spdx-tools), both with package URLs; the libraries come with the ``sbom`` extra."""

from __future__ import annotations

import io
import uuid
from datetime import UTC, datetime
from typing import Any

from keelhaul import __version__
from keelhaul.errors import ConfigError
from keelhaul.sbom.catalog import Inventory

_EXTRA = "install keelhaul[sbom] for CycloneDX and SPDX output"


def cyclonedx_json(inventory: Inventory, subject: str) -> str:
    """CycloneDX 1.6 JSON: one component per package, its purl as bom-ref, the layer and
    the file it was found in as properties."""
    return cyclonedx_text(cyclonedx_bom(inventory, subject))


def cyclonedx_text(bom: Any) -> str:
    """A CycloneDX BOM (cyclonedx-python-lib's ``Bom``) as 1.6 JSON."""
    from cyclonedx.output.json import JsonV1Dot6

    return str(JsonV1Dot6(bom).output_as_string(indent=2))


def cyclonedx_bom(inventory: Inventory, subject: str) -> Any:
    """The CycloneDX BOM of :func:`cyclonedx_json`, for callers that add to it (the
    vulnerabilities of ``keelhaul vulns``)."""
    try:
        from cyclonedx.model import Property
        from cyclonedx.model.bom import Bom
        from cyclonedx.model.component import Component, ComponentType
        from cyclonedx.model.license import LicenseExpression
        from cyclonedx.output.json import JsonV1Dot6  # noqa: F401  (the extra is whole)
        from packageurl import PackageURL
    except ImportError:
        raise ConfigError(_EXTRA) from None

    bom = Bom()
    root = Component(name=subject, bom_ref="subject", type=ComponentType.CONTAINER
                     if ":" in subject else ComponentType.APPLICATION)  # fmt: skip
    bom.metadata.component = root
    seen: set[str] = set()
    for package in inventory.packages:
        ref = package.purl
        if ref in seen:
            ref = f"{ref}#{package.path}"
        seen.add(ref)
        properties = [Property(name="keelhaul:found-by", value=package.found_by),
                      Property(name="keelhaul:path", value=package.path)]  # fmt: skip
        if package.layer:
            properties.append(Property(name="keelhaul:layer", value=package.layer))
        if package.source_name and package.source_name != package.name:
            properties.append(Property(name="keelhaul:source-package",
                                       value=package.source_name))  # fmt: skip
        licenses = [LicenseExpression(value=lic) for lic in package.licenses[:1]]
        component = Component(
            name=package.name, version=package.version or None, type=ComponentType.LIBRARY,
            purl=PackageURL.from_string(package.purl), bom_ref=ref, group=package.namespace
            if package.type in ("maven", "composer") else None, properties=properties,
            licenses=licenses,
        )  # fmt: skip
        bom.components.add(component)
    bom.register_dependency(root, list(bom.components))
    return bom


def spdx_json(inventory: Inventory, subject: str) -> str:
    """SPDX 2.3 JSON: a document DESCRIBING the subject, which CONTAINS every package."""
    try:
        from spdx_tools.spdx.model.actor import Actor, ActorType
        from spdx_tools.spdx.model.document import CreationInfo, Document
        from spdx_tools.spdx.model.package import (
            ExternalPackageRef,
            ExternalPackageRefCategory,
            Package,
        )
        from spdx_tools.spdx.model.relationship import Relationship, RelationshipType
        from spdx_tools.spdx.model.spdx_no_assertion import SpdxNoAssertion
        from spdx_tools.spdx.writer.json.json_writer import write_document_to_stream
    except ImportError:
        raise ConfigError(_EXTRA) from None

    info = CreationInfo(
        spdx_version="SPDX-2.3", spdx_id="SPDXRef-DOCUMENT", name=subject,
        document_namespace=f"https://keelhaul.dev/spdx/{uuid.uuid4()}",
        creators=[Actor(ActorType.TOOL, f"keelhaul-{__version__}")],
        created=datetime.now(UTC).replace(microsecond=0, tzinfo=None),
    )  # fmt: skip
    root = Package(spdx_id="SPDXRef-subject", name=subject,
                   download_location=SpdxNoAssertion(), files_analyzed=False)  # fmt: skip
    packages = [root]
    relationships = [Relationship("SPDXRef-DOCUMENT", RelationshipType.DESCRIBES,
                                  "SPDXRef-subject")]  # fmt: skip
    for k, package in enumerate(inventory.packages):
        spdx_id = f"SPDXRef-package-{k}"
        packages.append(Package(
            spdx_id=spdx_id, name=package.name, version=package.version or None,
            download_location=SpdxNoAssertion(), files_analyzed=False,
            source_info=f"found by keelhaul's {package.found_by} cataloger in {package.path}",
            external_references=[ExternalPackageRef(
                ExternalPackageRefCategory.PACKAGE_MANAGER, "purl", package.purl)],
        ))  # fmt: skip
        relationships.append(Relationship("SPDXRef-subject", RelationshipType.CONTAINS, spdx_id))
    document = Document(info, packages=packages, relationships=relationships)
    out = io.StringIO()
    write_document_to_stream(document, out, validate=True)
    return out.getvalue()
