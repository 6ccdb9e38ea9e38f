"""Cost, --compare and the HTML report of `keelhaul image`, and `keelhaul sbom`/`vulns` on
images: docker-archives written here, read through the real sources."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.chromium import screenshot
from tests.image.source_images import image, write_legacy_archive

OS_RELEASE = b'ID=debian\nVERSION_ID="9"\nPRETTY_NAME="Debian GNU/Linux 9 (stretch)"\n'
STATUS = (b"Package: libssl1.1\nStatus: install ok installed\nVersion: 1.1.0l-1~deb9u5\n"
          b"Source: openssl\nArchitecture: amd64\n\n")  # fmt: skip
OSV = Path(__file__).resolve().parents[2].parent / "shared" / "osv"


def keelhaul(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "keelhaul", *args], capture_output=True,
                          text=True, check=False,
                          env={**os.environ, "NO_COLOR": "1", **(env or {})})  # fmt: skip


@pytest.fixture
def archives(tmp_path: Path) -> tuple[Path, Path]:
    """A wasteful image (an apt cache, a big file deleted a layer later) and a lean one."""
    cache = b"x" * 3_000_000
    fat = image([
        {"etc/os-release": OS_RELEASE, "var/lib/dpkg/status": STATUS,
         "var/cache/apt/archives/big.deb": cache, "tmp/blob": b"y" * 2_000_000},
        {"tmp/.wh.blob": b"", "app/run.sh": b"#!/bin/sh\necho hi\n"},
    ], "tar")  # fmt: skip
    lean = image([{"etc/os-release": OS_RELEASE, "var/lib/dpkg/status": STATUS,
                   "app/run.sh": b"#!/bin/sh\necho hi\n"}], "tar")  # fmt: skip
    return (write_legacy_archive(tmp_path / "fat.tar", fat),
            write_legacy_archive(tmp_path / "lean.tar", lean))  # fmt: skip


def test_cost_in_json_and_text(archives: tuple[Path, Path], tmp_path: Path) -> None:
    fat, _ = archives
    done = keelhaul("image", f"docker-archive:{fat}", "--format", "json", "--no-config",
                    "--nodes", "100", "--pulls-per-day", "2", "--transfer-price", "0.1",
                    env={"KEELHAUL_CACHE_DIR": str(tmp_path)})  # fmt: skip
    assert done.returncode in (0, 1), done.stderr
    cost = json.loads(done.stdout)["cost"]
    assert cost["settings"]["nodes"] == 100
    assert cost["now"]["pulls_month"] == 6000
    # the deleted 2 MB and the 3 MB apt cache are what a fix removes
    assert cost["removable_bytes"] >= 5_000_000
    assert cost["saving_month"] > 0
    assert cost["after_fixes"]["compressed_bytes"] < cost["now"]["compressed_bytes"]
    text = keelhaul("image", f"docker-archive:{fat}", "--no-config",
                    env={"KEELHAUL_CACHE_DIR": str(tmp_path)})  # fmt: skip
    assert "a month" in text.stdout
    assert "without the waste and caches" in text.stdout


def test_compare(archives: tuple[Path, Path], tmp_path: Path) -> None:
    fat, lean = archives
    done = keelhaul("image", f"docker-archive:{fat}", "--compare", f"docker-archive:{lean}",
                    "--format", "json", "--no-config", env={"KEELHAUL_CACHE_DIR": str(tmp_path)})  # fmt: skip
    assert done.returncode == 0, done.stderr
    rows = {r["what"]: r for r in json.loads(done.stdout)["rows"]}
    assert rows["layers"]["change"] == "-1"
    assert rows["packages"]["a"] == rows["packages"]["b"] == "1"
    assert rows["compressed"]["change"].startswith("-")
    markdown = keelhaul("image", f"docker-archive:{fat}", "--compare", f"docker-archive:{lean}",
                        "--format", "markdown", "--no-config",
                        env={"KEELHAUL_CACHE_DIR": str(tmp_path)})  # fmt: skip
    assert markdown.stdout.startswith("| | `docker-archive:")


def test_html_renders_in_chromium(archives: tuple[Path, Path], tmp_path: Path) -> None:
    fat, _ = archives
    done = keelhaul("image", f"docker-archive:{fat}", "--format", "html", "--no-config",
                    env={"KEELHAUL_CACHE_DIR": str(tmp_path)})  # fmt: skip
    page = done.stdout
    assert page.startswith("<!DOCTYPE html>")
    assert "<svg" in page
    assert "<script" not in page  # self-contained and inert
    assert "Cost" in page
    assert "package manager caches" in page
    shot = screenshot(page, tmp_path)
    assert shot.stat().st_size > 20_000  # a page with a chart, not a blank one


def test_sbom_and_vulns_of_an_image(archives: tuple[Path, Path], tmp_path: Path) -> None:
    fat, _ = archives
    env = {"KEELHAUL_CACHE_DIR": str(tmp_path / "cache")}
    sbom = keelhaul("sbom", f"docker-archive:{fat}", "--format", "json", env=env)
    assert sbom.returncode == 0, sbom.stderr
    packages = json.loads(sbom.stdout)["packages"]
    assert [(p["name"], p["source_name"]) for p in packages] == [("libssl1.1", "openssl")]
    assert packages[0]["layer"].startswith("sha256:")
    if not OSV.is_dir():
        pytest.skip("../shared/osv is absent")
    db = tmp_path / "osv.sqlite3"
    assert keelhaul("db", "import", "--db", str(db), str(OSV / "Debian")).returncode == 0
    found = keelhaul("vulns", f"docker-archive:{fat}", "--db", str(db), "--format", "json",
                     env=env)  # fmt: skip
    assert found.returncode == 1, found.stderr
    ids = {v["id"] for v in json.loads(found.stdout)["vulnerabilities"]}
    assert "DLA-3008-1" in ids
    bad = keelhaul("sbom", "docker-archive:/nonexistent.tar", env=env)
    assert bad.returncode == 2
    assert bad.stderr.count("\n") == 1


def test_image_summarises_vulnerabilities_when_a_database_is_there(
    archives: tuple[Path, Path], tmp_path: Path
) -> None:
    if not OSV.is_dir():
        pytest.skip("../shared/osv is absent")
    fat, _ = archives
    env = {"KEELHAUL_CACHE_DIR": str(tmp_path / "cache"), "KEELHAUL_DB": str(tmp_path / "none")}
    without = keelhaul("image", f"docker-archive:{fat}", "--format", "json", "--no-config", env=env)
    assert json.loads(without.stdout)["vulnerabilities"] is None
    db = tmp_path / "osv.sqlite3"
    assert keelhaul("db", "import", "--db", str(db), str(OSV / "Debian")).returncode == 0
    done = keelhaul("image", f"docker-archive:{fat}", "--format", "json", "--no-config", "--db",
                    str(db), env=env)  # fmt: skip
    summary = json.loads(done.stdout)["vulnerabilities"]
    assert summary["packages"] == 1
    assert summary["total"] >= 1
    assert summary["worst"][0]["package"] == "libssl1.1"
    text = keelhaul("image", f"docker-archive:{fat}", "--no-config", "--db", str(db), env=env)
    assert "Vulnerabilities in 1 packages" in text.stdout


def test_the_configuration_selects_image_findings(
    archives: tuple[Path, Path], tmp_path: Path
) -> None:
    fat, _ = archives
    env = {"KEELHAUL_CACHE_DIR": str(tmp_path / "cache"), "KEELHAUL_DB": str(tmp_path / "none")}
    everything = keelhaul("image", f"docker-archive:{fat}", "--format", "json", "--no-config",
                          env=env)  # fmt: skip
    codes = {f["code"] for f in json.loads(everything.stdout)["findings"]}
    assert {"KH303", "KH320"} <= codes
    config = tmp_path / "keelhaul.toml"
    config.write_text('ignore = ["KH303", "image-runs-as-root"]\n')
    ignored = keelhaul("image", f"docker-archive:{fat}", "--format", "json", "--config",
                       str(config), env=env)  # fmt: skip
    assert ignored.returncode in (0, 1), ignored.stderr
    left = {f["code"] for f in json.loads(ignored.stdout)["findings"]}
    assert not left & {"KH303", "KH320"}
    assert left == codes - {"KH303", "KH320"}
