"""`keelhaul vulns`: a root filesystem with old packages against a database of the real
advisories in ../shared/osv, through the command line; filters, ignore file, OpenVEX, exit
codes, and the SARIF and CycloneDX documents validated against their schemas."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from keelhaul.vulns import database

OSV = Path(__file__).resolve().parents[2].parent / "shared" / "osv"
SARIF = json.loads((Path(__file__).parents[1] / "report" / "data" / "sarif-schema-2.1.0.json")
                   .read_text(encoding="utf-8"))  # fmt: skip


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not OSV.is_dir():
        pytest.skip("../shared/osv is absent")
    path = tmp_path_factory.mktemp("db") / "osv.sqlite3"
    database.import_paths(path, [OSV / "PyPI", OSV / "PyPI-GHSA", OSV / "Debian"])
    return path


@pytest.fixture
def root(tmp_path: Path) -> Path:
    r = tmp_path / "root"
    (r / "etc").mkdir(parents=True)
    (r / "etc/os-release").write_text('ID=debian\nVERSION_ID="9"\n')
    (r / "var/lib/dpkg").mkdir(parents=True)
    (r / "var/lib/dpkg/status").write_text(
        "Package: libssl1.1\nStatus: install ok installed\nVersion: 1.1.0l-1~deb9u5\n"
        "Source: openssl\nArchitecture: amd64\n\n"
        "Package: tzdata\nStatus: install ok installed\nVersion: 2021a-0+deb9u4\n"
        "Architecture: all\n"
    )
    meta = r / "usr/local/lib/python3.11/site-packages/Jinja2-2.7.1.dist-info"
    meta.mkdir(parents=True)
    (meta / "METADATA").write_text("Name: Jinja2\nVersion: 2.7.1\n")
    return r


def vulns(db: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "keelhaul", "vulns", "--db", str(db), *args],
                          capture_output=True, text=True, check=False,
                          env={**os.environ, "NO_COLOR": "1"})  # fmt: skip


def ids(done: subprocess.CompletedProcess[str]) -> set[str]:
    return {v["id"] for v in json.loads(done.stdout)["vulnerabilities"]}


def test_finds_the_known_vulnerabilities(db: Path, root: Path) -> None:
    done = vulns(db, str(root), "--format", "json")
    assert done.returncode == 1, done.stderr
    found = ids(done)
    assert {"DLA-3008-1", "PYSEC-2014-8"} <= found
    assert not any(v.startswith("DLA-3051") for v in found)  # tzdata is at the fixed version
    shown = json.loads(done.stdout)["vulnerabilities"]
    openssl = next(v for v in shown if v["id"] == "DLA-3008-1")
    assert (openssl["package"], openssl["source_package"], openssl["fixed"]) == (
        "libssl1.1",
        "openssl",
        "1.1.0l-1~deb9u6",
    )


def test_filters_ignore_file_and_vex(db: Path, root: Path, tmp_path: Path) -> None:
    everything = ids(vulns(db, str(root), "--format", "json"))
    medium = ids(vulns(db, str(root), "--format", "json", "--severity", "medium"))
    assert medium
    assert medium < everything
    ignore = tmp_path / "ignore.yaml"
    ignore.write_text("ignore:\n  - id: CVE-2022-1292\n    reason: not reachable here\n"
                      "    expires: 2999-01-01\n  - id: PYSEC-2014-8\n    reason: old\n"
                      "    expires: 2001-01-01\n")  # fmt: skip
    done = vulns(db, str(root), "--format", "json", "--ignore-file", str(ignore))
    left = ids(done)
    assert "DLA-3008-1" not in left  # by its CVE alias
    assert "PYSEC-2014-8" in left  # the entry expired
    assert "expired on 2001-01-01" in done.stderr
    vex = tmp_path / "vex.json"
    vex.write_text(json.dumps({"@context": "https://openvex.dev/ns/v0.2.0", "statements": [{
        "vulnerability": {"name": "PYSEC-2014-8"}, "status": "not_affected",
        "justification": "vulnerable_code_not_in_execute_path",
        "products": [{"@id": "pkg:pypi/jinja2"}]}]}))  # fmt: skip
    assert "PYSEC-2014-8" not in ids(vulns(db, str(root), "--format", "json", "--vex", str(vex)))
    never = vulns(db, str(root), "--fail-on", "never")
    assert never.returncode == 0
    critical = vulns(db, str(root), "--fail-on", "critical")
    assert critical.returncode == 0  # nothing critical among these records


def test_bad_ignore_file_is_exit_2(db: Path, root: Path, tmp_path: Path) -> None:
    ignore = tmp_path / "ignore.yaml"
    ignore.write_text("ignore:\n  - id: CVE-1\n")
    done = vulns(db, str(root), "--ignore-file", str(ignore))
    assert done.returncode == 2
    assert "entry 1: `id` and `reason` are required" in done.stderr
    missing = vulns(tmp_path / "none.sqlite3", str(root))
    assert missing.returncode == 2
    assert "no vulnerability database" in missing.stderr


def test_sarif_and_cyclonedx_validate(db: Path, root: Path) -> None:
    sarif = json.loads(vulns(db, str(root), "--format", "sarif").stdout)
    from jsonschema import Draft4Validator  # type: ignore[import-untyped]

    assert list(Draft4Validator(SARIF).iter_errors(sarif)) == []
    assert {r["ruleId"] for r in sarif["runs"][0]["results"]} >= {"DLA-3008-1"}
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator

    text = vulns(db, str(root), "--format", "cyclonedx").stdout
    assert JsonStrictValidator(SchemaVersion.V1_6).validate_str(text) is None
    doc = json.loads(text)
    affected = {v["id"]: v["affects"][0]["ref"] for v in doc["vulnerabilities"]}
    assert affected["DLA-3008-1"].startswith("pkg:deb/debian/libssl1.1@")
