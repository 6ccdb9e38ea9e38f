"""One finding per flaw: the records about one vulnerability of one package become one
finding listing every id; ignore files and VEX statements match any of them."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from keelhaul.sbom.catalog import FolderFiles, catalog
from keelhaul.vulns import database
from keelhaul.vulns.scan import IgnoreEntry, VexStatement, scan
from tests.vulns.images import deb_image, inventory_of

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "osv"
FLASK = [SHARED / "PyPI" / "PYSEC-2023-62.json", SHARED / "PyPI-GHSA" / "GHSA-m2qf-hxjv-5gpq.json"]


@pytest.fixture(scope="module")
def flask_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not all(p.is_file() for p in FLASK):
        pytest.skip("../shared/osv is absent")
    path = tmp_path_factory.mktemp("db") / "osv.sqlite3"
    database.import_paths(path, FLASK)
    return path


@pytest.fixture
def app(tmp_path: Path) -> Path:
    meta = tmp_path / "app/usr/local/lib/python3.11/site-packages/Flask-2.2.4.dist-info"
    meta.mkdir(parents=True)
    (meta / "METADATA").write_text("Name: Flask\nVersion: 2.2.4\n")
    return tmp_path / "app"


def test_pysec_and_ghsa_of_flask_are_one_finding(flask_db: Path, app: Path) -> None:
    with database.Database(flask_db) as db:
        result = scan(db, catalog(FolderFiles(app)))
    (v,) = result.vulnerabilities
    assert {v.id, *v.also} == {"PYSEC-2023-62", "GHSA-m2qf-hxjv-5gpq"}
    assert "CVE-2023-30861" in v.ids
    assert v.fixed == "2.2.5"
    assert v.severity.level == "high"  # GHSA's CVSS 3.1 vector, 7.5


@pytest.mark.parametrize("named", ["CVE-2023-30861", "PYSEC-2023-62", "GHSA-m2qf-hxjv-5gpq"])
def test_ignore_and_vex_match_any_id(flask_db: Path, app: Path, named: str) -> None:
    inventory = catalog(FolderFiles(app))
    with database.Database(flask_db) as db:
        ignored = scan(db, inventory, ignore=[IgnoreEntry(named, "behind no caching proxy")],
                       today=date(2026, 1, 1))  # fmt: skip
        assert not ignored.vulnerabilities
        assert len(ignored.ignored) == 1
        vex = scan(db, inventory, vex=[VexStatement(frozenset({named}), ("pkg:pypi/flask",))])
        assert not vex.vulnerabilities


def _record(path: Path, rid: str, upstream: list[str], fixed: str) -> None:
    path.write_text(json.dumps({"id": rid, "upstream": upstream, "affected": [
        {"package": {"ecosystem": "Debian:12", "name": "glibc"},
         "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": fixed}]}]}]}))  # fmt: skip


def test_an_advisory_of_several_cves_joins_each_flaw(tmp_path: Path) -> None:
    records = tmp_path / "records"
    records.mkdir()
    _record(records / "a.json", "DEBIAN-CVE-2023-4911", [], "2.36-9+deb12u3")
    _record(records / "b.json", "DEBIAN-CVE-2023-4806", [], "2.36-9+deb12u4")
    _record(records / "c.json", "DSA-9999-1", ["CVE-2023-4911", "CVE-2023-4806"], "2.36-9+deb12u3")
    _record(records / "d.json", "DSA-9998-1", ["CVE-2023-9999", "CVE-2023-9998"], "2.36-9+deb12u2")
    path = tmp_path / "osv.sqlite3"
    database.import_paths(path, [records])
    img = deb_image("debian", "12", [("libc6", "2.36-9+deb12u1", "glibc")])
    with database.Database(path) as db:
        found = {v.id: v for v in scan(db, inventory_of(img)).vulnerabilities}
    assert set(found) == {"DEBIAN-CVE-2023-4911", "DEBIAN-CVE-2023-4806", "DSA-9998-1"}
    assert found["DEBIAN-CVE-2023-4911"].also == ("DSA-9999-1",)
    assert found["DEBIAN-CVE-2023-4806"].also == ("DSA-9999-1",)
    # the earliest fix any of its advisories names
    assert found["DEBIAN-CVE-2023-4806"].fixed == "2.36-9+deb12u3"
    assert found["DSA-9998-1"].also == ()
