"""Every distribution OSV covers, on real records (tests/data/osv, see its README) and on
synthetic images whose package databases say the versions: an affected version matches, the
fixed one does not."""

from __future__ import annotations

from pathlib import Path

import pytest

from keelhaul.image.model import Image
from keelhaul.sbom.os_packages import Release, osv_ecosystems
from keelhaul.vulns import database
from keelhaul.vulns.scan import installed, scan
from tests.vulns.images import apk_image, deb_image, inventory_of, rpm_image

DATA = Path(__file__).resolve().parents[1] / "data" / "osv"


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("db") / "osv.sqlite3"
    database.import_paths(path, [DATA])
    return path


def found(db: Path, img: Image) -> dict[str, tuple[str, str | None]]:
    """advisory id -> (installed package, fixed version)."""
    with database.Database(db) as opened:
        result = scan(opened, inventory_of(img))
    return {v.id: (v.package.binary or v.package.name, v.fixed) for v in result.vulnerabilities}


UBUNTU = [("libc6", "{v}", "glibc"), ("libc-bin", "{v}", "glibc")]


def _debs(template: list[tuple[str, str, str]], version: str) -> list[tuple[str, str, str | None]]:
    return [(n, v.format(v=version), s) for n, v, s in template]


# (image, advisory id, affected version, fixed version)
PAIRS = [
    ("ubuntu 22.04", "UBUNTU-CVE-2023-4911", "2.35-0ubuntu3.1", "2.35-0ubuntu3.4"),
    ("debian 12", "DSA-5514-1", "2.36-9+deb12u1", "2.36-9+deb12u3"),
    ("debian 9", "DLA-3008-1", "1.1.0l-1~deb9u5", "1.1.0l-1~deb9u6"),
    ("debian 7", "DSA-3029-1", "1.2.1-2.2+wheezy2", "1.2.1-2.2+wheezy3"),
    ("alpine 3.18", "ALPINE-CVE-2025-26519", "1.2.4-r2", "1.2.4-r3"),
    ("rhel 9.2", "RHSA-2023:5453", "2.34-60.el9_2.3", "2.34-60.el9_2.7"),
    ("wolfi", "CVE-2023-25139", "2.36-r6", "2.37-r1"),
]


def _image(which: str, version: str) -> Image:
    if which == "ubuntu 22.04":
        return deb_image("ubuntu", "22.04", _debs(UBUNTU, version), "22.04.3 LTS (Jammy Jellyfish)")
    if which == "debian 12":
        return deb_image("debian", "12", _debs(UBUNTU, version))
    if which == "debian 9":
        return deb_image("debian", "9", [("libssl1.1", version, "openssl")])
    if which == "debian 7":
        return deb_image("debian", "7", [("nginx-light", version, "nginx")])
    if which == "alpine 3.18":
        return apk_image("alpine", "3.18.4", [("musl", version, "musl")])
    if which == "rhel 9.2":
        v, _, r = version.partition("-")
        return rpm_image("rhel", "9.2", [("glibc-common", v, r, f"glibc-{version}.src.rpm")])
    if which == "wolfi":
        return apk_image("wolfi", "20230201", [("glibc", version, "glibc")])
    raise AssertionError(which)


@pytest.mark.parametrize(("which", "advisory", "affected", "fixed"), PAIRS)
def test_affected_matches_and_fixed_does_not(db: Path, which: str, advisory: str,
                                             affected: str, fixed: str) -> None:  # fmt: skip
    hit = found(db, _image(which, affected))
    assert advisory in hit, hit
    assert (hit[advisory][1] or "").removeprefix("0:") == fixed  # RHSA writes the epoch
    assert advisory not in found(db, _image(which, fixed))


def test_ubuntu_binary_packages_report_under_their_own_name(db: Path) -> None:
    with database.Database(db) as opened:
        result = scan(opened, inventory_of(_image("ubuntu 22.04", "2.35-0ubuntu3.1")))
    binaries = {v.package.binary for v in result.vulnerabilities if v.id == "UBUNTU-CVE-2023-4911"}
    assert binaries == {"libc6", "libc-bin"}


def test_a_neighbouring_release_does_not_match(db: Path) -> None:
    # the record's Ubuntu 24.04 entry is fixed in 2.38-1ubuntu6; a 20.04 image is not named
    img = deb_image(
        "ubuntu", "20.04", _debs(UBUNTU, "2.31-0ubuntu9.9"), "20.04.6 LTS (Focal Fossa)"
    )
    assert "UBUNTU-CVE-2023-4911" not in found(db, img)
    # and Alpine 3.18's fix is not applied to 3.19's package
    assert "ALPINE-CVE-2025-26519" in found(db, apk_image("alpine", "3.19.1",
                                                          [("musl", "1.2.4_git20230717-r4", "musl")]))  # fmt: skip


def _release(rid: str, version_id: str, version: str = "") -> Release:
    return Release(rid, version_id, "", "", version)


def test_ecosystem_names_as_osv_writes_them() -> None:
    assert osv_ecosystems(_release("ubuntu", "22.04", "22.04.3 LTS (Jammy Jellyfish)")) == (
        "Ubuntu:22.04:LTS",
        "Ubuntu:Pro:22.04:LTS",
    )
    assert osv_ecosystems(_release("ubuntu", "20.04"), fips=True) == (
        "Ubuntu:20.04:LTS",
        "Ubuntu:Pro:20.04:LTS",
        "Ubuntu:Pro:FIPS:20.04:LTS",
        "Ubuntu:Pro:FIPS-updates:20.04:LTS",
        "Ubuntu:Pro:FIPS-preview:20.04:LTS",
    )
    assert (
        osv_ecosystems(_release("ubuntu", "23.10", "23.10 (Mantic Minotaur)"))[0] == "Ubuntu:23.10"
    )
    assert osv_ecosystems(_release("debian", "12")) == ("Debian:12",)
    assert osv_ecosystems(Release("debian", "", "", "trixie")) == ("Debian:13",)
    assert osv_ecosystems(_release("alpine", "3.20.3")) == ("Alpine:v3.20",)
    assert osv_ecosystems(_release("rhel", "9.4"))[0] == "Red Hat:enterprise_linux:9::*"
    assert osv_ecosystems(_release("rocky", "9.4")) == ("Rocky Linux:9",)
    assert osv_ecosystems(_release("almalinux", "8.10")) == ("AlmaLinux:8",)
    assert osv_ecosystems(_release("sles", "15.5"))[0] == "SUSE:Linux Enterprise Server 15 SP5"
    assert osv_ecosystems(_release("opensuse-leap", "15.6")) == ("openSUSE:Leap 15.6",)
    assert osv_ecosystems(_release("opensuse-tumbleweed", "20240101")) == ("openSUSE:Tumbleweed",)
    assert osv_ecosystems(_release("wolfi", "20230201")) == ("Wolfi",)
    assert osv_ecosystems(_release("chainguard", "20230214")) == ("Chainguard", "Wolfi")


def test_fips_streams_only_with_fips_packages(tmp_path: Path) -> None:
    plain = inventory_of(
        deb_image("ubuntu", "20.04", [("libssl1.1", "1.1.1f-1ubuntu2.19", "openssl")])
    )
    fips = inventory_of(deb_image("ubuntu", "20.04",
                                  [("libssl1.1", "1.1.1f-1ubuntu2.fips.2.8", "openssl")]))  # fmt: skip
    assert "Ubuntu:Pro:FIPS-updates:20.04:LTS" not in installed(plain)[0].ecosystems
    assert "Ubuntu:Pro:FIPS-updates:20.04:LTS" in installed(fips)[0].ecosystems
    assert installed(fips)[0].ecosystems[0] == "Ubuntu:Pro:FIPS:20.04:LTS"  # its own first


def test_a_fips_build_is_matched_in_its_stream(tmp_path: Path) -> None:
    # one record naming openssl in the standard stream (fixed there in ubuntu2.20, which a
    # FIPS build's version sorts above) and in FIPS-updates (fixed in fips.2.9)
    import json

    record = {"id": "UBUNTU-CVE-2099-0001", "affected": [
        {"package": {"ecosystem": eco, "name": "openssl"},
         "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": fixed}]}]}
        for eco, fixed in (("Ubuntu:20.04:LTS", "1.1.1f-1ubuntu2.20"),
                           ("Ubuntu:Pro:FIPS-updates:20.04:LTS", "1.1.1f-1ubuntu2.fips.2.9"))]}  # fmt: skip
    (tmp_path / "r.json").write_text(json.dumps(record))
    path = tmp_path / "osv.sqlite3"
    database.import_paths(path, [tmp_path / "r.json"])
    fips = deb_image("ubuntu", "20.04", [("libssl1.1", "1.1.1f-1ubuntu2.fips.2.8", "openssl")])
    assert found(path, fips) == {"UBUNTU-CVE-2099-0001": ("libssl1.1", "1.1.1f-1ubuntu2.fips.2.9")}
    plain = deb_image("ubuntu", "20.04", [("libssl1.1", "1.1.1f-1ubuntu2.20", "openssl")])
    assert found(path, plain) == {}


def test_red_hat_streams_of_the_major_release(tmp_path: Path) -> None:
    path = tmp_path / "osv.sqlite3"
    streams = ["Red Hat:enterprise_linux:9::baseos", "Red Hat:enterprise_linux:9::appstream",
               "Red Hat:enterprise_linux:8::baseos", "Red Hat:rhel_eus:9.2::baseos"]  # fmt: skip
    records = tmp_path / "records"
    records.mkdir()
    import json

    for k, stream in enumerate(streams):
        (records / f"R-{k}.json").write_text(json.dumps({"id": f"R-{k}", "affected": [
            {"package": {"ecosystem": stream, "name": "openssl-libs"},
             "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"},
                                                         {"fixed": "1:3.0.7-27.el9"}]}]}]}))  # fmt: skip
    database.import_paths(path, [records])
    img = rpm_image("rhel", "9.2", [("openssl-libs", "3.0.7", "16.el9_2",
                                     "openssl-3.0.7-16.el9_2.src.rpm")])  # fmt: skip
    # rpm's epoch: an installed package without one is epoch 0, below the fix's 1:
    assert set(found(path, img)) == {"R-0", "R-1"}
