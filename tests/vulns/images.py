"""Synthetic images for the vulnerability tests: one layer holding an os-release and a
package database (dpkg status, apk installed, or a SQLite rpmdb as RHEL 9 keeps it)."""

from __future__ import annotations

import hashlib
import io
import sqlite3
import struct
import tarfile
import tempfile
from contextlib import nullcontext
from pathlib import Path

from keelhaul.image.model import Image, Layer
from keelhaul.sbom.catalog import Inventory, catalog
from keelhaul.sbom.image_files import image_files


def tar_layer(files: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as archive:
        for name, content in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            info.mode = 0o644
            archive.addfile(info, io.BytesIO(content))
    return out.getvalue()


def image(*layers: bytes) -> Image:
    made = []
    for k, data in enumerate(layers):
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        made.append(Layer(k, digest, digest, "application/vnd.oci.image.layer.v1.tar", len(data),
                          None, opener=lambda d=data: nullcontext(io.BytesIO(d))))  # fmt: skip
    return Image("test:", None, "sha256:" + "0" * 64, {}, tuple(made), (), "linux/amd64")


def os_release(distro_id: str, version_id: str, version: str = "") -> bytes:
    extra = f'VERSION="{version}"\n' if version else ""
    return f'ID={distro_id}\nVERSION_ID="{version_id}"\n{extra}'.encode()


def dpkg_status(*packages: tuple[str, str, str | None]) -> bytes:
    """(binary, version, source or None) stanzas."""
    out = ""
    for name, version, source in packages:
        out += (f"Package: {name}\nStatus: install ok installed\nVersion: {version}\n"
                "Architecture: amd64\n")  # fmt: skip
        if source:
            out += f"Source: {source}\n"
        out += "\n"
    return out.encode()


def apk_installed(*packages: tuple[str, str, str]) -> bytes:
    """(name, version, origin) blocks."""
    return "".join(f"P:{n}\nV:{v}\nA:x86_64\no:{o}\n\n" for n, v, o in packages).encode()


def rpm_header(tags: list[tuple[int, int, bytes, int]]) -> bytes:
    index, store = b"", b""
    for tag, kind, data, count in tags:
        if kind == 4:
            while len(store) % 4:
                store += b"\0"
        index += struct.pack(">IIII", tag, kind, len(store), count)
        store += data
    return struct.pack(">II", len(tags), len(store)) + index + store


def rpmdb(*packages: tuple[str, str, str, str]) -> bytes:
    """A SQLite rpmdb of (name, version, release, source rpm) headers."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "rpmdb.sqlite"
        db = sqlite3.connect(path)
        db.execute("CREATE TABLE Packages (hnum INTEGER PRIMARY KEY, blob BLOB NOT NULL)")
        for k, (name, version, release, source) in enumerate(packages, 1):
            blob = rpm_header([(1000, 6, name.encode() + b"\0", 1),
                               (1001, 6, version.encode() + b"\0", 1),
                               (1002, 6, release.encode() + b"\0", 1),
                               (1022, 6, b"x86_64\0", 1),
                               (1044, 6, source.encode() + b"\0", 1)])  # fmt: skip
            db.execute("INSERT INTO Packages VALUES (?, ?)", (k, blob))
        db.commit()
        db.close()
        return path.read_bytes()


def deb_image(distro_id: str, version_id: str, packages: list[tuple[str, str, str | None]],
              version: str = "") -> Image:  # fmt: skip
    return image(tar_layer({"etc/os-release": os_release(distro_id, version_id, version),
                            "var/lib/dpkg/status": dpkg_status(*packages)}))  # fmt: skip


def apk_image(distro_id: str, version_id: str, packages: list[tuple[str, str, str]]) -> Image:
    return image(tar_layer({"etc/os-release": os_release(distro_id, version_id),
                            "lib/apk/db/installed": apk_installed(*packages)}))  # fmt: skip


def rpm_image(distro_id: str, version_id: str,
              packages: list[tuple[str, str, str, str]]) -> Image:  # fmt: skip
    return image(tar_layer({"etc/os-release": os_release(distro_id, version_id),
                            "var/lib/rpm/rpmdb.sqlite": rpmdb(*packages)}))  # fmt: skip


def inventory_of(img: Image) -> Inventory:
    files, _ = image_files(img)
    return catalog(files, lock_files=False)
