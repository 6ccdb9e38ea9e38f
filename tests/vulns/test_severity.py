"""Severities users can act on: CVSS v2/v3/v4 base scores, distribution ratings (Ubuntu
priority, Debian urgency, Red Hat impact), GitHub's word, and for a record with none, what
the database's other records for the same CVE say; each with the source that gave it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from keelhaul.vulns import database
from keelhaul.vulns.osv import cvss_score, record_severity, severity
from keelhaul.vulns.scan import scan
from tests.vulns.images import apk_image, deb_image, inventory_of, rpm_image

DATA = Path(__file__).resolve().parents[1] / "data" / "osv"
SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "osv"
GLIBC = [("libc6", "{v}", "glibc"), ("libc-bin", "{v}", "glibc")]


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("db") / "osv.sqlite3"
    database.import_paths(path, [DATA])
    return path


def _rated(db: Path, img: object, advisory: str) -> tuple[str, str]:
    with database.Database(db) as opened:
        result = scan(opened, inventory_of(img))  # type: ignore[arg-type]
    v = next(v for v in result.vulnerabilities if v.id == advisory)
    return v.severity.level, v.severity.source


def _glibc(version: str) -> list[tuple[str, str, str | None]]:
    return [(n, v.format(v=version), s) for n, v, s in GLIBC]


def test_looney_tunables_is_high_on_ubuntu_22_04(db: Path) -> None:
    img = deb_image("ubuntu", "22.04", _glibc("2.35-0ubuntu3.1"), "22.04.3 LTS (Jammy Jellyfish)")
    assert _rated(db, img, "UBUNTU-CVE-2023-4911") == ("high", "Ubuntu priority")


def test_looney_tunables_is_high_on_debian_12(db: Path) -> None:
    # Debian's DSA carries no severity: the CVSS 3.1 vector of Ubuntu's record for the same
    # CVE (7.8) rates it
    img = deb_image("debian", "12", _glibc("2.36-9+deb12u1"))
    assert _rated(db, img, "DSA-5514-1") == ("high", "CVSS 3.1 of UBUNTU-CVE-2023-4911")


def test_red_hat_impact_and_alpine_vector(db: Path) -> None:
    img = rpm_image(
        "rhel", "9.2", [("glibc", "2.34", "60.el9_2.3", "glibc-2.34-60.el9_2.3.src.rpm")]
    )
    assert _rated(db, img, "RHSA-2023:5453") == ("high", "Red Hat impact")
    img = apk_image("alpine", "3.18.4", [("musl", "1.2.4-r2", "musl")])
    assert _rated(db, img, "ALPINE-CVE-2025-26519") == ("high", "CVSS 3.1")


def test_scores_and_words() -> None:
    assert cvss_score("CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H") == 7.8
    assert cvss_score("AV:N/AC:L/Au:N/C:P/I:P/A:P") == 7.5
    v4 = cvss_score("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N")
    assert v4 is not None
    assert v4 >= 9.0
    v4_record = {"severity": [{"type": "CVSS_V4",
                               "score": "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N"}]}  # fmt: skip
    assert (severity(v4_record).level, severity(v4_record).source) == ("critical", "CVSS 4.0")
    debian = {"id": "CVE-2024-3847", "affected": [{"package": {"ecosystem": "Debian:11", "name": "x"},
                                                   "ecosystem_specific": {"urgency": "low**"}}]}  # fmt: skip
    found = record_severity(debian, debian["affected"][0])  # type: ignore[index]
    assert found is not None
    assert (found.level, found.source) == ("low", "Debian urgency")
    unassigned = {"ecosystem_specific": {"urgency": "not yet assigned"}, "package": {}}
    assert record_severity({}, unassigned) is None
    ghsa = {"id": "GHSA-x", "database_specific": {"severity": "MODERATE"}}
    assert (severity(ghsa).level, severity(ghsa).source) == ("medium", "GHSA")
    ubuntu = {"severity": [{"type": "Ubuntu", "score": "medium"},
                           {"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}]}  # fmt: skip
    assert (severity(ubuntu).level, severity(ubuntu).source) == ("medium", "Ubuntu priority")


@pytest.mark.skipif(not (SHARED / "Debian").is_dir(), reason="../shared/osv is absent")
def test_real_debian_urgency() -> None:
    record = json.loads((SHARED / "Debian" / "CVE-2024-3847.json").read_text())
    assert (severity(record, record["affected"][0]).level,
            severity(record, record["affected"][0]).source) == ("low", "Debian urgency")  # fmt: skip


def _root(tmp_path: Path) -> Path:
    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True)
    (root / "etc/os-release").write_text('ID=debian\nVERSION_ID="12"\n')
    (root / "var/lib/dpkg").mkdir(parents=True)
    (root / "var/lib/dpkg/status").write_text(
        "Package: libc6\nStatus: install ok installed\nVersion: 2.36-9+deb12u1\n"
        "Source: glibc\nArchitecture: amd64\n"
    )
    return root


def _vulns(db: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "keelhaul", "vulns", "--db", str(db), *args],
                          capture_output=True, text=True, check=False,
                          env={**os.environ, "NO_COLOR": "1", "COLUMNS": "200"})  # fmt: skip


def test_the_gate_uses_it(db: Path, tmp_path: Path) -> None:
    root = str(_root(tmp_path))
    shown = _vulns(db, root, "--format", "json", "--severity", "high", "--fail-on", "critical")
    assert shown.returncode == 0, shown.stderr  # high, not critical: the gate passes
    (v,) = json.loads(shown.stdout)["vulnerabilities"]
    assert (v["id"], v["severity"], v["score"]) == ("DSA-5514-1", "high", 7.8)
    assert v["severity_source"] == "CVSS 3.1 of UBUNTU-CVE-2023-4911"
    assert json.loads(shown.stdout)["summary"]["high"] == 1
    assert _vulns(db, root, "--format", "json", "--fail-on", "high").returncode == 1
    table = _vulns(db, root)
    assert "CVSS 3.1 of UBUNTU-CVE-2023-4911" in table.stdout
    assert "1 high" in table.stderr + table.stdout


def test_a_schema_1_database_is_read_and_migrated_on_the_next_write(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "osv.sqlite3"
    database.import_paths(path, [DATA / "UBUNTU-CVE-2023-4911.json", DATA / "written"])
    with sqlite3.connect(path) as raw:
        raw.execute("DROP TABLE aliases")
        raw.execute("UPDATE meta SET value = '1' WHERE key = 'schema'")
    img = deb_image("debian", "12", _glibc("2.36-9+deb12u1"))
    assert _rated(path, img, "DSA-5514-1") == ("unknown", "")  # nothing to borrow through
    database.import_paths(path, [DATA / "DLA-3008-1.json"])
    assert _rated(path, img, "DSA-5514-1") == ("high", "CVSS 3.1 of UBUNTU-CVE-2023-4911")
