"""rpm databases in the BerkeleyDB (CentOS/RHEL 7 ``Packages``) and ndb (SUSE ``Packages.db``)
formats, read by keelhaul's own readers and the shared header parser.

``tests/data/rpmdb/Packages*`` were made with Debian's rpm and db5.3_load from two packages
rpmbuild built (``make_bdb.py``; README.md there); rpm's own BerkeleyDB reader (``bdb_ro``)
is asked for the same list when the ``rpm`` command is here. ``../shared/rpmdb`` holds real
databases from knqyf263/go-rpmdb's test data (skipped when absent)."""

from __future__ import annotations

import shutil
import struct
import subprocess
from pathlib import Path

import pytest

from keelhaul.sbom.catalog import FolderFiles, catalog
from keelhaul.sbom.os_packages import parse_rpm_header
from keelhaul.sbom.rpm_database import bdb_values, ndb_blobs
from tests.vulns.images import image, inventory_of, os_release, tar_layer

DATA = Path(__file__).resolve().parents[1] / "data" / "rpmdb"
SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "rpmdb"
CENTOS7 = b'NAME="CentOS Linux"\nVERSION="7 (Core)"\nID="centos"\nVERSION_ID="7"\n'
EXPECTED = [("bash", "1:4.2.46-34.el7", "bash", 1), ("glibc", "2.17-317.el7", "glibc", 151)]


def _root(tmp_path: Path, files: dict[str, bytes]) -> Path:
    for name, content in files.items():
        path = tmp_path / name.lstrip("/")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
    return tmp_path


@pytest.mark.parametrize("name", ["Packages", "Packages-bigendian-64k"])
def test_berkeleydb_packages(tmp_path: Path, name: str) -> None:
    """Little-endian with 4 KiB pages (headers on overflow pages, the glibc one on six) and
    big-endian with 64 KiB pages (the small header on the hash page itself)."""
    root = _root(tmp_path, {"/etc/os-release": CENTOS7,
                            "/var/lib/rpm/Packages": (DATA / name).read_bytes()})  # fmt: skip
    inventory = catalog(FolderFiles(root))
    found = sorted((p.name, p.version, p.source_name, len(p.files)) for p in inventory.packages)
    assert found == EXPECTED
    assert {p.purl for p in inventory.packages} == {
        "pkg:rpm/centos/bash@1:4.2.46-34.el7?arch=x86_64&distro=centos-7",
        "pkg:rpm/centos/glibc@2.17-317.el7?arch=x86_64&distro=centos-7",
    }


def test_rpm_itself_reads_the_same_berkeleydb(tmp_path: Path) -> None:
    rpm = shutil.which("rpm")
    if rpm is None:
        pytest.skip("no rpm command on this machine")
    for name in ("Packages", "Packages-bigendian-64k"):
        folder = tmp_path / name
        folder.mkdir()
        shutil.copy(DATA / name, folder / "Packages")
        done = subprocess.run(
            [rpm, "--dbpath", str(folder), "--define", "_db_backend bdb_ro", "-qa", "--qf",
             "%{NAME} %|EPOCH?{%{EPOCH}:}|%{VERSION}-%{RELEASE} %{SOURCERPM}\n"],
            capture_output=True, text=True, check=False)  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert sorted(done.stdout.splitlines()) == [
            "bash 1:4.2.46-34.el7 bash-4.2.46-34.el7.src.rpm",
            "glibc 2.17-317.el7 glibc-2.17-317.el7.src.rpm",
        ]


def test_berkeleydb_in_an_image_layer() -> None:
    img = image(tar_layer({"etc/os-release": CENTOS7,
                           "var/lib/rpm/Packages": (DATA / "Packages").read_bytes()}))  # fmt: skip
    inventory = inventory_of(img)
    assert sorted((p.name, p.version) for p in inventory.packages) == [
        ("bash", "1:4.2.46-34.el7"), ("glibc", "2.17-317.el7")]  # fmt: skip


def test_damaged_berkeleydb_gives_what_it_can() -> None:
    data = (DATA / "Packages").read_bytes()
    assert list(bdb_values(b"")) == []
    assert list(bdb_values(b"\0" * 4096)) == []
    assert list(bdb_values(data[:4096])) == []  # the metadata page alone
    # Cut after the first hash page: the pairs whose values are on it come out, those on
    # overflow pages that are gone are skipped, nothing raises.
    short = [v for v in bdb_values(data[: 2 * 4096]) if len(v) > 8]
    assert all(parse_rpm_header(v)["name"] for v in short)
    assert len(short) < 2


def test_ndb_a_real_sles_15_database(tmp_path: Path) -> None:
    path = SHARED / "sle15-bci" / "Packages.db"
    if not path.is_file():
        pytest.skip("../shared/rpmdb is absent")
    release = b'NAME="SLES"\nVERSION="15-SP3"\nVERSION_ID="15.3"\nID="sles"\n'
    root = _root(tmp_path, {"/etc/os-release": release,
                            "/usr/lib/sysimage/rpm/Packages.db": path.read_bytes()})  # fmt: skip
    inventory = catalog(FolderFiles(root))
    by_name = {p.name: p for p in inventory.packages}
    assert len(by_name) == 35  # go-rpmdb's own test expects these 35
    assert (by_name["glibc"].version, by_name["glibc"].source_name) == ("2.31-9.3.2", "glibc")
    assert (by_name["libpcre1"].version, by_name["libpcre1"].source_name) == (
        "8.45-20.10.1", "pcre")  # fmt: skip
    assert by_name["rpm-ndb"].version == "4.14.3-40.1"
    assert inventory.release is not None
    assert inventory.release.osv_ecosystem is not None
    assert inventory.release.osv_ecosystem.startswith("SUSE")


def test_damaged_ndb_gives_nothing_or_what_it_can() -> None:
    assert list(ndb_blobs(b"RpmP" + b"\0" * 28)) == []  # no slot pages
    assert list(ndb_blobs(b"NotNDB" * 100)) == []
    path = SHARED / "sle15-bci" / "Packages.db"
    if not path.is_file():
        return
    data = path.read_bytes()
    whole = list(ndb_blobs(data))
    cut = list(ndb_blobs(data[: len(data) // 2]))
    assert 0 < len(cut) < len(whole)
    bad_slot = bytearray(data)
    bad_slot[32 + 16 * 3 : 32 + 16 * 3 + 4] = b"XXXX"  # the fourth slot
    assert len(list(ndb_blobs(bytes(bad_slot)))) <= 3


def test_real_berkeleydb_from_rhel_8(tmp_path: Path) -> None:
    path = SHARED / "libuuid" / "Packages"
    if not path.is_file():
        pytest.skip("../shared/rpmdb is absent")
    root = _root(tmp_path, {"/etc/os-release": os_release("rhel", "8.8"),
                            "/var/lib/rpm/Packages": path.read_bytes()})  # fmt: skip
    found = [(p.name, p.version, p.source_name) for p in catalog(FolderFiles(root)).packages]
    assert found == [("libuuid", "2.32.1-42.el8_8", "util-linux")]


def test_the_instance_counter_record_is_not_a_package() -> None:
    """Key 0 of rpm's Packages holds the highest header instance (4 bytes), not a header."""
    values = list(bdb_values((DATA / "Packages").read_bytes()))
    assert struct.pack("<I", 2) in values
    assert len(values) == 3


def test_an_empty_leftover_database_does_not_hide_the_real_one(tmp_path: Path) -> None:
    root = _root(tmp_path, {"/etc/os-release": CENTOS7, "/var/lib/rpm/rpmdb.sqlite": b"",
                            "/var/lib/rpm/Packages": (DATA / "Packages").read_bytes()})  # fmt: skip
    assert sorted(p.name for p in catalog(FolderFiles(root)).packages) == ["bash", "glibc"]
