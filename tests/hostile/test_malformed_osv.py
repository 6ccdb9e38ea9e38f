"""Issue 23 item 11: malformed OSV records (``affected: [1]``, ``package: "x"``,
``ranges: ["x"]``, ``versions: 5``, ``events: [1]``, ``severity: ["x"]``, ``aliases: 7``) used
to crash ``db import`` (exit 3) or import fine and then crash every later ``vulns``. They are
skipped at import with a notice naming each, and a database imported before that check reads
them as matching nothing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from keelhaul.sbom.model import Package
from keelhaul.vulns import database, record_shape
from keelhaul.vulns.record_shape import problem
from keelhaul.vulns.scan import scan
from tests.keelhaul_cli import run

GOOD: dict[str, Any] = {
    "id": "PYSEC-TEST-1",
    "modified": "2024-01-01T00:00:00Z",
    "aliases": ["CVE-2099-0001"],
    "affected": [{"package": {"ecosystem": "PyPI", "name": "flask"},
                  "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "2.3.2"}]}],
                  "versions": None}],
}  # fmt: skip
FLASK = GOOD["affected"][0]
BAD = {
    "affected-int": {"affected": [1]},
    "package-str": {"affected": [{"package": "x"}]},
    "ranges-str": {"affected": [{**FLASK, "ranges": ["x"]}]},
    "versions-int": {"affected": [{**FLASK, "versions": 5}]},
    "events-int": {"affected": [{**FLASK, "ranges": [{"type": "ECOSYSTEM", "events": [1]}]}]},
    "severity-str": {"severity": ["x"]},
    "aliases-int": {"aliases": 7},
}


#: What the old import let through (the others crashed it).
IMPORTED_BEFORE = ("ranges-str", "versions-int", "events-int", "severity-str")


def _records(folder: Path, names: tuple[str, ...] = tuple(BAD)) -> None:
    folder.mkdir()
    (folder / "good.json").write_text(json.dumps(GOOD))
    for n, (name, change) in enumerate(BAD.items()):
        if name not in names:
            continue
        (folder / f"{name}.json").write_text(
            json.dumps({**GOOD, **change, "id": f"BAD-{n}-{name}"})
        )


def test_real_shapes_pass() -> None:
    assert problem(GOOD) is None  # `versions: null` is what real Alpine records say


@pytest.mark.parametrize("name", sorted(BAD))
def test_each_malformed_shape_is_named(name: str) -> None:
    assert problem({**GOOD, **BAD[name]}) is not None


def test_import_skips_malformed_records_and_says_which(tmp_path: Path) -> None:
    _records(tmp_path / "osv")
    db = tmp_path / "osv.sqlite3"
    done = run("db", "import", "--db", str(db), str(tmp_path / "osv"), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "imported 1 advisories" in done.stdout
    notice = [line for line in done.stderr.splitlines() if "notice" in line]
    assert len(notice) == 1
    assert "skipped 7 malformed record(s)" in notice[0]
    lone = tmp_path / "lone.json"
    lone.write_text(json.dumps({**GOOD, "aliases": 7}))
    refused = run("db", "import", "--db", str(tmp_path / "other.sqlite3"), str(lone), cwd=tmp_path)
    assert refused.returncode == 2  # nothing imported: the one record was unreadable


def test_a_database_imported_before_the_check_still_scans(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _records(tmp_path / "osv", IMPORTED_BEFORE)
    db = tmp_path / "osv.sqlite3"
    with monkeypatch.context() as patched:  # an import from before record shapes were checked
        patched.setattr(record_shape, "problem", lambda record: None)
        database.import_paths(db, [tmp_path / "osv"])
    inventory = _inventory()
    with database.Database(db) as opened:
        found = scan(opened, inventory)
    assert {v.id for v in found.vulnerabilities} >= {"PYSEC-TEST-1"}
    assert not {v.id for v in found.vulnerabilities} & {
        f"BAD-{n}-{name}" for n, name in enumerate(BAD)
    }


def _inventory() -> Any:
    from keelhaul.sbom.catalog import Inventory

    flask = Package("flask", "2.0.0", "pypi", "python-package", "/app/flask.dist-info")
    return Inventory(release=None, packages=(flask,))
