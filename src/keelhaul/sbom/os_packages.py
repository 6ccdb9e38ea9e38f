"""Packages of the operating system: dpkg (``/var/lib/dpkg/status`` and distroless'
``status.d/``), apk (``/lib/apk/db/installed``) and rpm (SQLite, ndb or BerkeleyDB rpmdb), with their source
packages, and the release from ``/etc/os-release``."""

from __future__ import annotations

import re
import struct
from collections.abc import Iterator
from dataclasses import dataclass

from keelhaul.image import os_release
from keelhaul.sbom.model import Files, Package
from keelhaul.sbom.rpm_database import DATABASES

MAX_DB_BYTES = 256 * 1024 * 1024
MAX_TEXT_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True)
class Release:
    """The distribution and version an image is built on."""

    id: str
    """os-release ``ID``: debian, ubuntu, alpine, rhel, rocky, almalinux..."""
    version_id: str
    pretty_name: str
    version_codename: str = ""
    version: str = ""
    """os-release ``VERSION`` (``22.04.3 LTS (Jammy Jellyfish)``)."""

    @property
    def distro(self) -> str:
        """The purl ``distro`` qualifier: ``debian-12``, ``alpine-3.20``."""
        return f"{self.id}-{self.version_id}" if self.version_id else self.id

    @property
    def osv_ecosystem(self) -> str | None:
        """The OSV ecosystem of the release's packages, as OSV names it: ``Debian:12``,
        ``Ubuntu:22.04:LTS``, ``Alpine:v3.20``, ``Red Hat:enterprise_linux:9``..."""
        found = osv_ecosystems(self)
        return found[0].removesuffix("::*") if found else None


#: Debian's testing releases name no VERSION_ID; OSV files them under their number.
_DEBIAN_CODENAMES = {"bookworm": "12", "trixie": "13", "forky": "14", "duke": "15"}


def _ubuntu_lts(release: Release) -> bool:
    if "LTS" in release.version:
        return True
    major, _, minor = release.version_id.partition(".")
    return major.isdigit() and int(major) % 2 == 0 and minor == "04"


def _suse_version(version_id: str) -> str:
    """``15.5`` -> ``15 SP5`` (``15`` and ``15.0`` stay ``15``)."""
    major, _, minor = version_id.partition(".")
    return f"{major} SP{minor}" if minor and minor != "0" else major


def osv_ecosystems(release: Release, fips: bool = False) -> tuple[str, ...]:
    """Every OSV ecosystem whose advisories speak of the release's packages, exactly as OSV
    names them; a name with ``*`` is a pattern (:func:`fnmatch.fnmatchcase`). The first is
    the release's own.

    - Ubuntu: ``Ubuntu:22.04:LTS`` (``Ubuntu:23.10`` for an interim release) and the Ubuntu
      Pro stream of the same release, ``Ubuntu:Pro:22.04:LTS``: Canonical publishes there the
      fixes of Expanded Security Maintenance (universe packages, and every package once
      standard support ends), so an image without Pro is still affected, the fix needing Pro.
      The FIPS streams (``Ubuntu:Pro:FIPS:20.04:LTS``, ``...:FIPS-updates:...``,
      ``...:FIPS-preview:...``) only for an image with FIPS packages installed (``fips``).
    - Red Hat Enterprise Linux: every product stream of the major release
      (``Red Hat:enterprise_linux:9::baseos``, ``::appstream``, ``::crb``...): the rpm
      database does not say which repository a package came from.
    - SUSE: the product and its modules of the same service pack; openSUSE Leap and
      Tumbleweed; Wolfi; Chainguard (whose images also carry Wolfi's packages).
    """
    v = release.version_id
    major = v.split(".")[0]
    major_minor = ".".join(v.split(".")[:2])
    rid = release.id
    if rid == "debian":
        major = major or _DEBIAN_CODENAMES.get(
            release.version_codename, ""
        )  # testing: no VERSION_ID
        return (f"Debian:{major}",) if major else ()
    if rid == "ubuntu":
        if not v:
            return ()
        if not _ubuntu_lts(release):
            return (f"Ubuntu:{v}", f"Ubuntu:Pro:{v}")
        found = [f"Ubuntu:{v}:LTS", f"Ubuntu:Pro:{v}:LTS"]
        if fips:
            found += [f"Ubuntu:Pro:FIPS:{v}:LTS", f"Ubuntu:Pro:FIPS-updates:{v}:LTS",
                      f"Ubuntu:Pro:FIPS-preview:{v}:LTS"]  # fmt: skip
        return tuple(found)
    if rid == "alpine":
        return (f"Alpine:v{major_minor}",) if v else ()
    if rid == "rhel":
        return (
            (f"Red Hat:enterprise_linux:{major}::*", f"Red Hat:enterprise_linux:{major}")
            if major
            else ()
        )
    if rid == "rocky":
        return (f"Rocky Linux:{major}",) if major else ()
    if rid == "almalinux":
        return (f"AlmaLinux:{major}",) if major else ()
    if rid in ("sles", "sled", "sles_sap") and v:
        sp = _suse_version(v)
        product = {"sles": "Server", "sled": "Desktop", "sles_sap": "Server for SAP Applications"}[
            rid
        ]
        return (f"SUSE:Linux Enterprise {product} {sp}", f"SUSE:Linux Enterprise Module for * {sp}")
    if rid == "sle-micro" and v:
        return (f"SUSE:Linux Enterprise Micro {major_minor}",)
    if rid == "opensuse-leap" and v:
        return (f"openSUSE:Leap {major_minor}",)
    if rid == "opensuse-leap-micro" and v:
        return (f"openSUSE:Leap Micro {major_minor}",)
    if rid == "opensuse-tumbleweed":
        return ("openSUSE:Tumbleweed",)
    if rid == "wolfi":
        return ("Wolfi",)
    if rid == "chainguard":
        return ("Chainguard", "Wolfi")
    return ()


def parse_os_release(text: str) -> Release | None:
    """The release ``text`` (an os-release file) names, or None without an ``ID``."""
    return _release(os_release.parse_os_release(text.encode("utf-8", "replace")))


def _release(values: dict[str, str]) -> Release | None:
    if "ID" not in values:
        return None
    return Release(values["ID"].lower(), values.get("VERSION_ID", ""),
                   values.get("PRETTY_NAME", ""), values.get("VERSION_CODENAME", ""),
                   values.get("VERSION", ""))  # fmt: skip


def release(files: Files) -> Release | None:
    for path in os_release.OS_RELEASE_PATHS:
        try:
            data = files.read("/" + path, os_release.MAX_OS_RELEASE_BYTES)
        except OSError:
            continue
        found = _release(os_release.parse_os_release(data))
        if found is not None:
            return found
    return None


# --------------------------------------------------------------------------------------------
# dpkg


def _paragraphs(text: str) -> Iterator[dict[str, str]]:
    """RFC 822-style stanzas (dpkg status, apk installed uses its own form below)."""
    fields: dict[str, str] = {}
    last = ""
    for line in text.splitlines():
        if not line.strip():
            if fields:
                yield fields
            fields, last = {}, ""
        elif line[0] in " \t" and last:
            fields[last] += "\n" + line.strip()
        else:
            key, _, value = line.partition(":")
            last = key.strip()
            fields[last] = value.strip()
    if fields:
        yield fields


def _dpkg_source(fields: dict[str, str]) -> tuple[str, str]:
    """``Source: openssl (3.0.11-1)`` -> (openssl, 3.0.11-1); absent: the package itself."""
    source = fields.get("Source", "")
    if not source:
        return fields.get("Package", ""), fields.get("Version", "")
    name, _, rest = source.partition(" ")
    version = rest.strip().strip("()") or fields.get("Version", "")
    return name, version


def dpkg_packages(files: Files, distro: str | None) -> Iterator[Package]:
    status_d = [p for p in files.paths() if p.startswith("/var/lib/dpkg/status.d/")
                and not p.endswith(".md5sums")]  # fmt: skip
    sources = ["/var/lib/dpkg/status", *sorted(status_d)]
    for path in sources:
        try:
            text = files.read(path, MAX_TEXT_BYTES).decode("utf-8", "replace")
        except OSError:
            continue
        for fields in _paragraphs(text):
            status = fields.get("Status", "install ok installed")
            if not status.endswith(" installed") or "Package" not in fields:
                continue
            name, arch = fields["Package"], fields.get("Architecture")
            source, source_version = _dpkg_source(fields)
            yield Package(
                name, fields.get("Version", ""), "deb", "dpkg", path, namespace=_vendor(distro),
                arch=arch, source_name=source, source_version=source_version,
                layer=files.layer_of(path), files=_dpkg_files(files, name, arch, path),
                distro=distro,
            )  # fmt: skip


def _vendor(distro: str | None) -> str | None:
    return distro.split("-")[0] if distro else None


def _dpkg_files(files: Files, name: str, arch: str | None, status: str) -> tuple[str, ...]:
    if status.startswith("/var/lib/dpkg/status.d/"):
        candidates = [f"{status}.md5sums"]
    else:
        candidates = [f"/var/lib/dpkg/info/{name}.list",
                      f"/var/lib/dpkg/info/{name}:{arch}.list"]  # fmt: skip
    for candidate in candidates:
        try:
            text = files.read(candidate, MAX_TEXT_BYTES).decode("utf-8", "replace")
        except OSError:
            continue
        if candidate.endswith(".md5sums"):  # "<md5>  usr/bin/x"
            return tuple("/" + line.split(None, 1)[1] for line in text.splitlines()
                         if len(line.split(None, 1)) == 2)  # fmt: skip
        return tuple(line for line in text.splitlines() if line.startswith("/"))
    return ()


# --------------------------------------------------------------------------------------------
# apk


def apk_packages(files: Files, distro: str | None) -> Iterator[Package]:
    path = "/lib/apk/db/installed"
    try:
        text = files.read(path, MAX_TEXT_BYTES).decode("utf-8", "replace")
    except OSError:
        return
    for block in text.split("\n\n"):
        fields: dict[str, str] = {}
        owned: list[str] = []
        folder = ""
        for line in block.splitlines():
            key, colon, value = line.partition(":")
            if not colon or len(key) != 1:
                continue
            if key == "F":
                folder = value
            elif key == "R":
                owned.append(f"/{folder}/{value}" if folder else f"/{value}")
            else:
                fields.setdefault(key, value)
        if "P" not in fields:
            continue
        yield Package(
            fields["P"], fields.get("V", ""), "apk", "apk", path, namespace=_vendor(distro),
            arch=fields.get("A"), source_name=fields.get("o") or fields["P"],
            source_version=fields.get("V", ""),
            licenses=tuple(fields["L"].split()) if fields.get("L") else (),
            layer=files.layer_of(path), files=tuple(owned), distro=distro,
        )  # fmt: skip


# --------------------------------------------------------------------------------------------
# rpm (SQLite, ndb and BerkeleyDB databases: keelhaul.sbom.rpm_database)

_TAGS = {1000: "name", 1001: "version", 1002: "release", 1003: "epoch", 1014: "license",
         1022: "arch", 1044: "sourcerpm", 1116: "dirindexes", 1117: "basenames",
         1118: "dirnames"}  # fmt: skip
_SOURCE_RPM = re.compile(r"(.+)-[^-]+-[^-]+\.(?:no)?src\.rpm")


def parse_rpm_header(blob: bytes) -> dict[str, object]:
    """The tags keelhaul needs from one rpmdb header blob (index count, data length, the
    16-byte index entries, then the data store; big-endian)."""
    if len(blob) < 8:
        raise ValueError("rpm header too short")
    count, data_length = struct.unpack(">II", blob[:8])
    store = 8 + count * 16
    if count > 100_000 or store + data_length > len(blob):
        raise ValueError("rpm header sizes out of range")
    data = blob[store : store + data_length]
    out: dict[str, object] = {}
    for k in range(count):
        tag, kind, offset, n = struct.unpack(">IIII", blob[8 + 16 * k : 24 + 16 * k])
        name = _TAGS.get(tag)
        if name is None or offset >= len(data):
            continue
        if kind in (6, 9):  # STRING, I18NSTRING (first)
            out[name] = data[offset:].split(b"\0", 1)[0].decode("utf-8", "replace")
        elif kind == 8:  # STRING_ARRAY
            out[name] = [s.decode("utf-8", "replace")
                         for s in data[offset:].split(b"\0")[:n]]  # fmt: skip
        elif kind == 4:  # INT32
            out[name] = list(struct.unpack(f">{n}i", data[offset : offset + 4 * n]))
    return out


def rpm_packages(files: Files, distro: str | None) -> Iterator[Package]:
    """Packages of the first rpm database found that holds any (SQLite, ndb or BerkeleyDB: a
    leftover file of another format does not hide the one rpm uses)."""
    for path, reader in DATABASES:
        try:
            data = files.read(path, MAX_DB_BYTES)
        except OSError:
            continue
        found = list(_rpm_headers(files, path, reader(data), distro))
        if found:
            yield from found
            return


def _rpm_headers(
    files: Files, path: str, blobs: Iterator[bytes], distro: str | None
) -> Iterator[Package]:
    for blob in blobs:
        try:
            tags = parse_rpm_header(blob)
        except (ValueError, struct.error):
            continue
        name = str(tags.get("name", ""))
        if not name or name == "gpg-pubkey":
            continue
        epoch = tags.get("epoch")
        version = str(tags.get("version", ""))
        release_ = str(tags.get("release", ""))
        full = f"{version}-{release_}" if release_ else version
        if isinstance(epoch, list) and epoch and epoch[0]:
            full = f"{epoch[0]}:{full}"
        source = _SOURCE_RPM.fullmatch(str(tags.get("sourcerpm", "")))
        owned: tuple[str, ...] = ()
        dirs, bases, index = tags.get("dirnames"), tags.get("basenames"), tags.get("dirindexes")
        if isinstance(dirs, list) and isinstance(bases, list) and isinstance(index, list):
            owned = tuple(dirs[i] + b for i, b in zip(index, bases, strict=False) if i < len(dirs))
        yield Package(
            name, full, "rpm", "rpm", path, namespace=_vendor(distro),
            arch=str(tags.get("arch") or "") or None,
            source_name=source.group(1) if source else name, source_version=full,
            licenses=(str(tags["license"]),) if tags.get("license") else (),
            layer=files.layer_of(path), files=owned, distro=distro,
        )  # fmt: skip


def os_packages(files: Files) -> tuple[Release | None, list[Package]]:
    found = release(files)
    distro = found.distro if found else None
    packages = [*dpkg_packages(files, distro), *apk_packages(files, distro),
                *rpm_packages(files, distro)]  # fmt: skip
    return found, packages
