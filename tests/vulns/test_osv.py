"""OSV range evaluation, as the schema's Evaluation section defines it, on records written
here and on the real advisories in ../shared/osv."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from keelhaul.vulns.osv import affects, aliases, normalise_name, severity

OSV = Path(__file__).resolve().parents[2].parent / "shared" / "osv"


def record(*ranges: dict[str, Any], versions: list[str] | None = None,
           ecosystem: str = "PyPI", name: str = "pkg", **extra: Any) -> dict[str, Any]:  # fmt: skip
    affected: dict[str, Any] = {"package": {"ecosystem": ecosystem, "name": name},
                                "ranges": list(ranges)}  # fmt: skip
    if versions is not None:
        affected["versions"] = versions
    return {"id": "TEST-1", "affected": [affected], **extra}


def eco(*events: dict[str, str], kind: str = "ECOSYSTEM") -> dict[str, Any]:
    return {"type": kind, "events": list(events)}


@pytest.mark.parametrize(
    ("events", "version", "hit", "fixed"),
    [
        ([{"introduced": "0"}, {"fixed": "1.5"}], "1.4", True, "1.5"),
        ([{"introduced": "0"}, {"fixed": "1.5"}], "1.5", False, None),
        ([{"introduced": "1.0"}, {"fixed": "1.5"}], "0.9", False, None),
        ([{"introduced": "1.0"}, {"last_affected": "1.5"}], "1.5", True, None),
        ([{"introduced": "1.0"}, {"last_affected": "1.5"}], "1.5.1", False, None),
        # two intervals, in any order in the record
        ([{"fixed": "2.5"}, {"introduced": "2.0"}, {"fixed": "1.5"}, {"introduced": "1.0"}],
         "1.7", False, None),
        ([{"fixed": "2.5"}, {"introduced": "2.0"}, {"fixed": "1.5"}, {"introduced": "1.0"}],
         "2.1", True, "2.5"),
        ([{"introduced": "0"}, {"limit": "2.0"}], "2.1", False, None),
        ([{"introduced": "0"}, {"limit": "2.0"}], "1.9", True, None),
        ([{"introduced": "0"}, {"limit": "*"}], "9.0", True, None),
        ([{"introduced": "1.0rc1"}, {"fixed": "1.0"}], "1.0rc2", True, "1.0"),
    ],
)  # fmt: skip
def test_ranges(events: list[dict[str, str]], version: str, hit: bool, fixed: str | None) -> None:
    found = affects(record(eco(*events)), "PyPI", "pkg", version)
    assert (found is not None) == hit
    if found is not None:
        assert found.fixed == fixed


def test_versions_list_git_ranges_and_withdrawn() -> None:
    git = {"type": "GIT", "repo": "https://x", "events": [{"introduced": "0"}, {"fixed": "ab12"}]}
    assert affects(record(git, versions=["1.0"]), "PyPI", "pkg", "1.0") is not None
    assert affects(record(git), "PyPI", "pkg", "1.0") is None
    withdrawn = record(eco({"introduced": "0"}), withdrawn="2024-01-01T00:00:00Z")
    assert affects(withdrawn, "PyPI", "pkg", "1.0") is None


def test_names_and_ecosystems() -> None:
    r = record(eco({"introduced": "0"}), name="Foo_Bar.baz")
    assert affects(r, "PyPI", "foo-bar-baz", "1.0") is not None
    assert normalise_name("PyPI", "Foo__Bar") == "foo-bar"
    deb = record(eco({"introduced": "0"}, {"fixed": "1.2-1"}), ecosystem="Debian:12", name="x")
    assert affects(deb, "Debian:12", "x", "1.1-1") is not None
    assert affects(deb, "Debian:11", "x", "1.1-1") is None  # another release
    semver = record(eco({"introduced": "0"}, {"fixed": "1.2.0"}, kind="SEMVER"),
                    ecosystem="Go", name="example.com/m")  # fmt: skip
    assert affects(semver, "Go", "example.com/m", "v1.1.9") is not None


def test_an_unreadable_version_claims_nothing() -> None:
    r = record(eco({"introduced": "0"}, {"fixed": "1.0"}), ecosystem="Debian:12")
    assert affects(r, "Debian:12", "pkg", "not a version!") is None


def test_severity() -> None:
    vector = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"
    s = severity({"severity": [{"type": "CVSS_V3", "score": vector}]})
    assert (s.score, s.level) == (9.8, "critical")
    assert severity({"database_specific": {"severity": "MODERATE"}}).level == "medium"
    assert severity({}).level == "unknown"
    assert severity({"severity": [{"type": "CVSS_V3", "score": "garbage"}]}).level == "unknown"


def _real(folder: str, name: str) -> dict[str, Any]:
    path = OSV / folder / name
    if not path.is_file():
        pytest.skip("../shared/osv is absent")
    loaded: dict[str, Any] = json.loads(path.read_text())
    return loaded


def test_real_pypi_record() -> None:
    r = _real("PyPI", "PYSEC-2014-8.json")  # jinja2 < 2.7.2, CVE-2014-1402
    assert affects(r, "PyPI", "Jinja2", "2.7.1") is not None
    assert affects(r, "PyPI", "jinja2", "2.7.1").fixed == "2.7.2"  # type: ignore[union-attr]
    assert affects(r, "PyPI", "jinja2", "2.7.2") is None
    assert "CVE-2014-1402" in aliases(r)


def test_real_debian_and_alpine_records() -> None:
    dla = _real("Debian", "DLA-3008-1.json")  # openssl fixed in 1.1.0l-1~deb9u6 on Debian 9
    assert affects(dla, "Debian:9", "openssl", "1.1.0l-1~deb9u5") is not None
    assert affects(dla, "Debian:9", "openssl", "1.1.0l-1~deb9u6") is None
    assert affects(dla, "Debian:9", "openssl", "1.1.0l-1") is None  # ~deb9u6 < -1
    assert "CVE-2022-1292" in aliases(dla)  # distributions put the CVE in `upstream`
    mariadb = _real("Alpine", "CVE-2022-27449.json")
    assert affects(mariadb, "Alpine:v3.12", "mariadb", "10.4.24-r0") is not None
    assert affects(mariadb, "Alpine:v3.12", "mariadb", "10.4.25-r0") is None
