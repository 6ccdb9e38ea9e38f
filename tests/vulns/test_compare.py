"""`keelhaul image A --compare B` with a vulnerability database: the vulnerabilities B fixed
and the ones it introduced, by advisory and package."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from keelhaul.vulns import database
from tests.image.source_images import image, write_legacy_archive

DATA = Path(__file__).resolve().parents[1] / "data" / "osv"


def _ubuntu(path: Path, glibc: str) -> Path:
    status = (f"Package: libc6\nStatus: install ok installed\nVersion: {glibc}\nSource: glibc\n"
              "Architecture: amd64\n")  # fmt: skip
    layer = {"etc/os-release": b'ID=ubuntu\nVERSION_ID="22.04"\nVERSION="22.04.3 LTS"\n',
             "var/lib/dpkg/status": status.encode()}  # fmt: skip
    return write_legacy_archive(path, image([layer], "tar"))


def test_compare_lists_fixed_and_introduced(tmp_path: Path) -> None:
    db = tmp_path / "osv.sqlite3"
    database.import_paths(db, [DATA])
    old = _ubuntu(tmp_path / "old.tar", "2.35-0ubuntu3.1")
    new = _ubuntu(tmp_path / "new.tar", "2.35-0ubuntu3.4")
    env = {**os.environ, "NO_COLOR": "1", "KEELHAUL_DB": str(db),
           "KEELHAUL_CACHE_DIR": str(tmp_path / "cache"), "COLUMNS": "200"}  # fmt: skip

    def run(a: Path, b: Path, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "keelhaul", "image", f"docker-archive:{a}",
                               "--compare", f"docker-archive:{b}", "--no-config", *args],
                              capture_output=True, text=True, check=False, env=env)  # fmt: skip

    done = run(old, new, "--format", "json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    rows = {r["what"]: r for r in report["rows"]}
    assert (rows["vulnerabilities"]["a"], rows["vulnerabilities"]["b"]) == ("1", "0")
    assert [(v["id"], v["package"]) for v in report["vulnerabilities"]["fixed"]] == [
        ("UBUNTU-CVE-2023-4911", "libc6")
    ]
    assert report["vulnerabilities"]["introduced"] == []
    back = json.loads(run(new, old, "--format", "json").stdout)
    assert [v["id"] for v in back["vulnerabilities"]["introduced"]] == ["UBUNTU-CVE-2023-4911"]
    text = run(old, new).stdout
    assert "UBUNTU-CVE-2023-4911" in text
    assert "fixed" in text


def test_compare_two_oci_layouts_where_a_later_layer_upgrades_glibc(tmp_path: Path) -> None:
    """Two OCI layouts sharing a base layer; the newer one upgrades libc6 in a layer of its
    own (as `apt-get upgrade` in a Dockerfile does), so the merged dpkg status decides."""
    from tests.image.source_images import write_layout

    def status(version: str) -> bytes:
        return (f"Package: libc6\nStatus: install ok installed\nVersion: {version}\n"
                "Source: glibc\nArchitecture: amd64\n").encode()  # fmt: skip

    base = {"etc/os-release": b'ID=ubuntu\nVERSION_ID="22.04"\nVERSION="22.04.3 LTS"\n',
            "var/lib/dpkg/status": status("2.35-0ubuntu3.1")}  # fmt: skip
    app = {"app/main.py": b"print('hi')\n"}
    write_layout(tmp_path / "old", [image([base, app])])
    write_layout(tmp_path / "new", [image([base, {"var/lib/dpkg/status": status(
        "2.35-0ubuntu3.4")}, app])])  # fmt: skip
    db = tmp_path / "osv.sqlite3"
    database.import_paths(db, [DATA])
    env = {**os.environ, "NO_COLOR": "1", "KEELHAUL_DB": str(db),
           "KEELHAUL_CACHE_DIR": str(tmp_path / "cache"), "COLUMNS": "200"}  # fmt: skip
    done = subprocess.run([sys.executable, "-m", "keelhaul", "image", f"oci:{tmp_path / 'old'}",
                           "--compare", f"oci:{tmp_path / 'new'}", "--no-config", "--format",
                           "json"], capture_output=True, text=True, check=False, env=env)  # fmt: skip
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert [(v["id"], v["package"]) for v in report["vulnerabilities"]["fixed"]] == [
        ("UBUNTU-CVE-2023-4911", "libc6")
    ]
    assert report["vulnerabilities"]["introduced"] == []
