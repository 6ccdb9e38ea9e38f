"""`keelhaul vulns` on an image the engine holds (the shared Debian 12 base, read through the
engine), against the records of tests/data/osv: the glibc bookworm ships is past the fix
Looney Tunables' DSA names, so it is not reported, while the same record does match the
vulnerable version (tests/vulns/test_distributions.py). Cheap: no build, one image read."""

from __future__ import annotations

from pathlib import Path

import pytest

from keelhaul.sbom.targets import read_target
from keelhaul.vulns import database
from keelhaul.vulns.scan import scan

DATA = Path(__file__).resolve().parents[1] / "data" / "osv"


@pytest.mark.docker
def test_the_bookworm_base_has_the_looney_tunables_fix(docker_engine: str, tmp_path: Path) -> None:
    db = tmp_path / "osv.sqlite3"
    database.import_paths(db, [DATA])
    inventory = read_target(f"docker:{docker_engine}").inventory
    with database.Database(db) as opened:
        result = scan(opened, inventory)
    assert "DSA-5514-1" not in {v.id for v in result.vulnerabilities}
    libc6 = next(p for p in inventory.packages if p.name == "libc6")
    # what makes it fixed: the DSA's fix is 2.36-9+deb12u3; bookworm ships a later revision
    assert libc6.source_name == "glibc"
    assert libc6.version.startswith("2.36-9+deb12u")
    assert int(libc6.version.rpartition("deb12u")[2]) >= 3
