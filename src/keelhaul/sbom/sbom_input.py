"""SBOMs read back into an inventory, so that ``keelhaul vulns sbom.cdx.json`` matches what
syft, Trivy or keelhaul itself already listed: CycloneDX 1.4-1.6 (JSON and XML) and SPDX
2.2-2.3 (JSON and tag-value).

Packages come from their package URLs (``pkg:deb/ubuntu/libc6@2.35-0ubuntu3.1?distro=...``);
the source package from the purl's ``upstream`` (syft) or ``source`` (keelhaul) qualifier, or
Trivy's ``aquasecurity:trivy:SrcName`` property; the release from the operating-system
component or package (syft, Trivy), else from the packages' ``distro`` qualifier.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from packageurl import PackageURL

from keelhaul.errors import FileUnreadable
from keelhaul.reading import open_regular, read_limited
from keelhaul.sbom.catalog import Inventory
from keelhaul.sbom.model import Package
from keelhaul.sbom.os_packages import Release

#: Bytes of an SBOM read (the largest real ones, of big images, are tens of MB).
MAX_SBOM_BYTES = 512 * 1024 * 1024
_SOURCE_RPM = re.compile(r"(.+)-[^-]+-[^-]+\.(?:no)?src\.rpm")
#: Trivy's and syft's names of distributions -> os-release ``ID``.
_DISTRO_IDS = {"redhat": "rhel", "alma": "almalinux", "opensuse.leap": "opensuse-leap",
               "opensuse.tumbleweed": "opensuse-tumbleweed", "suse linux enterprise server":
               "sles", "sle": "sles", "sle_micro": "sle-micro", "chainguard": "chainguard"}  # fmt: skip
_OS_TYPES = ("deb", "apk", "rpm")


def sniff(path: Path) -> str | None:
    """``cyclonedx``, ``cyclonedx-xml``, ``spdx-json`` or ``spdx-tag`` when ``path`` is such
    an SBOM."""
    try:
        with open_regular(path) as handle:
            head = handle.read(4096)
    except OSError:
        return None
    text = head.decode("utf-8", "replace").lstrip("\ufeff \t\r\n")
    if text.startswith("<"):
        return "cyclonedx-xml" if "cyclonedx.org/schema/bom" in text else None
    if text.startswith("{"):
        if '"bomFormat"' in text or '"CycloneDX"' in text:
            return "cyclonedx"
        if '"spdxVersion"' in text:
            return "spdx-json"
        return None
    if re.search(r"^SPDXVersion:\s*SPDX-2", text, re.MULTILINE):
        return "spdx-tag"
    return None


def read_sbom(path: Path) -> Inventory:
    kind = sniff(path)
    try:
        data = read_limited(path, MAX_SBOM_BYTES)[:MAX_SBOM_BYTES]
    except OSError as exc:
        raise FileUnreadable(path, exc.strerror or str(exc)) from None
    where = str(path)
    if kind == "spdx-tag":
        return _inventory(_spdx_tag(data.decode("utf-8", "replace")), where)
    if kind == "cyclonedx-xml":
        return _inventory(_cyclonedx(_cyclonedx_xml(data, path)), where)
    try:
        document = json.loads(data)
    except ValueError as exc:
        raise FileUnreadable(path, f"not JSON: {exc}") from None
    if not isinstance(document, dict):
        raise FileUnreadable(path, "not an SBOM (a JSON object was expected)")
    if kind == "cyclonedx" or document.get("bomFormat") == "CycloneDX":
        return _inventory(_cyclonedx(document), where)
    if kind == "spdx-json" or "spdxVersion" in document:
        return _inventory(_spdx_json(document), where)
    raise FileUnreadable(path, "neither CycloneDX nor SPDX")


# --------------------------------------------------------------------------------------------
# the formats, as (purl, properties) and operating systems (id, version)

Entry = tuple[str, dict[str, str]]


def _cyclonedx(document: Mapping[str, Any]) -> tuple[list[Entry], list[tuple[str, str]]]:
    entries: list[Entry] = []
    systems: list[tuple[str, str]] = []

    def walk(components: object) -> None:
        for c in components if isinstance(components, list) else ():
            if not isinstance(c, dict):
                continue
            if c.get("type") == "operating-system" and c.get("name"):
                systems.append((str(c["name"]), str(c.get("version") or "")))
            props = {str(p.get("name")): str(p.get("value", ""))
                     for p in c.get("properties") or () if isinstance(p, dict)}  # fmt: skip
            if c.get("purl"):
                entries.append((str(c["purl"]), props))
            elif props.get("syft:package:type") in _OS_TYPES and c.get("name"):
                # syft leaves the purl out when the os-release lacks what it wants: its
                # properties still say the kind and the source package
                source = props.get("syft:metadata:source") or props.get("syft:metadata:sourceRpm")
                purl = PackageURL(type=props["syft:package:type"], name=str(c["name"]),
                                  version=str(c.get("version") or "") or None,
                                  qualifiers={"upstream": source} if source else None)  # fmt: skip
                entries.append((purl.to_string(), props))
            walk(c.get("components"))

    metadata = document.get("metadata") or {}
    walk([metadata.get("component")] if isinstance(metadata, dict) else [])
    walk(document.get("components"))
    return entries, systems


def _cyclonedx_xml(data: bytes, path: Path) -> dict[str, Any]:
    """A CycloneDX XML document in the JSON form's shape (components, their purl, version,
    properties and nested components; the metadata's component)."""
    from xml.etree import ElementTree

    try:
        # ElementTree loads no external entities, and expat (2.4.1 and later) bounds entity
        # expansion
        root = ElementTree.fromstring(data)
    except ElementTree.ParseError as exc:
        raise FileUnreadable(path, f"not XML: {exc}") from None

    def local(tag: str) -> str:
        return tag.rpartition("}")[2]

    def child(node: ElementTree.Element, name: str) -> ElementTree.Element | None:
        return next((c for c in node if local(c.tag) == name), None)

    def component(node: ElementTree.Element) -> dict[str, Any]:
        out: dict[str, Any] = {"type": node.get("type", "")}
        for name in ("name", "version", "purl"):
            found = child(node, name)
            if found is not None and found.text:
                out[name] = found.text.strip()
        props = child(node, "properties")
        if props is not None:
            out["properties"] = [{"name": p.get("name", ""), "value": (p.text or "").strip()}
                                 for p in props if local(p.tag) == "property"]  # fmt: skip
        nested = child(node, "components")
        if nested is not None:
            out["components"] = [component(c) for c in nested if local(c.tag) == "component"]
        return out

    document: dict[str, Any] = {"bomFormat": "CycloneDX", "components": []}
    metadata = child(root, "metadata")
    if metadata is not None:
        subject = child(metadata, "component")
        if subject is not None:
            document["metadata"] = {"component": component(subject)}
    components = child(root, "components")
    if components is not None:
        document["components"] = [component(c) for c in components
                                  if local(c.tag) == "component"]  # fmt: skip
    return document


def _spdx_json(document: Mapping[str, Any]) -> tuple[list[Entry], list[tuple[str, str]]]:
    entries: list[Entry] = []
    systems: list[tuple[str, str]] = []
    for p in document.get("packages") or ():
        if not isinstance(p, dict):
            continue
        if p.get("primaryPackagePurpose") == "OPERATING-SYSTEM" and p.get("name"):
            systems.append((str(p["name"]), str(p.get("versionInfo") or "")))
        for ref in p.get("externalRefs") or ():
            if isinstance(ref, dict) and ref.get("referenceType") == "purl":
                entries.append((str(ref.get("referenceLocator", "")), {}))
    return entries, systems


def _spdx_tag(text: str) -> tuple[list[Entry], list[tuple[str, str]]]:
    entries: list[Entry] = []
    systems: list[tuple[str, str]] = []
    name = version = ""
    for line in text.splitlines():
        key, _, value = line.partition(":")
        value = value.strip()
        if key == "PackageName":
            name, version = value, ""
        elif key == "PackageVersion":
            version = value
        elif key == "PrimaryPackagePurpose" and value == "OPERATING-SYSTEM" and name:
            systems.append((name, version))
        elif key == "ExternalRef":
            parts = value.split(None, 2)
            if len(parts) == 3 and parts[1] == "purl":
                entries.append((parts[2], {}))
    return entries, systems


# --------------------------------------------------------------------------------------------
# into packages


def _release(systems: Iterable[tuple[str, str]], packages: Iterable[Package]) -> Release | None:
    for name, version in systems:
        rid = _DISTRO_IDS.get(name.lower(), name.lower())
        if rid:
            return Release(rid, version, "")
    for p in packages:
        if p.type in _OS_TYPES and p.distro:
            match = re.fullmatch(r"(.+?)-(\d[\w.]*)", p.distro)
            rid, version = (match.group(1), match.group(2)) if match else (p.distro, "")
            return Release(_DISTRO_IDS.get(rid, rid), version, "")
    return None


def _package(purl: PackageURL, props: Mapping[str, str], where: str) -> Package | None:
    if not purl.name:
        return None
    q = {k: str(v) for k, v in (purl.qualifiers or {}).items()} if isinstance(
        purl.qualifiers, dict) else {}  # fmt: skip
    version = str(purl.version or "")
    kind = purl.type
    name, namespace = purl.name, purl.namespace
    source_name: str | None = None
    source_version: str | None = None
    if kind in _OS_TYPES:
        if kind == "rpm" and q.get("epoch") and q["epoch"] != "0" and ":" not in version:
            version = f"{q['epoch']}:{version}"
        upstream = q.get("upstream") or q.get("source") or props.get("keelhaul:source-package")
        trivy = props.get("aquasecurity:trivy:SrcName")
        if trivy:
            source_name = trivy
            src_version = props.get("aquasecurity:trivy:SrcVersion")
            if src_version:
                release = props.get("aquasecurity:trivy:SrcRelease")
                source_version = f"{src_version}-{release}" if release else src_version
                epoch = props.get("aquasecurity:trivy:SrcEpoch")
                if epoch and epoch != "0":
                    source_version = f"{epoch}:{source_version}"
        elif upstream:
            rpm = _SOURCE_RPM.fullmatch(upstream)
            if rpm:
                source_name = rpm.group(1)
            else:
                source_name, at, up_version = upstream.partition("@")
                source_version = up_version if at else None
        source_name = source_name or name
        source_version = source_version or version
        return Package(name, version, kind, "sbom", where, namespace=namespace,
                       arch=q.get("arch"), source_name=source_name,
                       source_version=source_version, distro=q.get("distro"))  # fmt: skip
    if kind in ("golang", "npm") and namespace:
        name, namespace = f"{namespace}/{name}", None
    return Package(name, version, kind, "sbom", where, namespace=namespace)


def _packages(entries: Iterable[Entry], where: str) -> Iterator[Package]:
    for text, props in entries:
        try:
            purl = PackageURL.from_string(text)
        except ValueError:
            continue
        found = _package(purl, props, where)
        if found is not None:
            yield found


def _inventory(parsed: tuple[list[Entry], list[tuple[str, str]]], where: str) -> Inventory:
    entries, systems = parsed
    packages = list(_packages(entries, where))
    unique = {(p.type, p.namespace, p.name, p.version, p.source_name): p for p in packages}
    ordered = sorted(unique.values(), key=lambda p: (p.type, p.name.lower(), p.version))
    return Inventory(_release(systems, ordered), tuple(ordered))
