"""Language packages installed in a filesystem: Python (dist-info, egg-info), Node
(``node_modules/**/package.json``), Go binaries (the build info the Go linker embeds),
PHP Composer (``vendor/composer/installed.json``) and Ruby gems (``specifications/*.gemspec``).

A file an OS package owns is not counted again here (Debian's python3-yaml installs a
dist-info folder: it is a deb, not a PyPI package).
"""

from __future__ import annotations

import json
import re
import zipfile
import zlib
from collections.abc import Iterator
from email.parser import HeaderParser

from keelhaul.sbom.model import Files, Package

MAX_META_BYTES = 4 * 1024 * 1024
MAX_BINARY_BYTES = 512 * 1024 * 1024

_DIST_INFO = re.compile(r"/[^/]+\.dist-info/METADATA\Z|/[^/]+\.egg-info(?:/PKG-INFO)?\Z")
_NODE = re.compile(r"/node_modules/(?:@[^/]+/)?[^/@][^/]*/package\.json\Z")


def python_packages(files: Files, owned: frozenset[str]) -> Iterator[Package]:
    for path in files.paths():
        if not _DIST_INFO.search(path) or path in owned:
            continue
        try:
            head = files.read(path, MAX_META_BYTES).decode("utf-8", "replace")
        except OSError:
            continue
        meta = HeaderParser().parsestr(head)
        name, version = meta.get("Name"), meta.get("Version")
        if not name or not version:
            continue
        license_ = meta.get("License-Expression") or meta.get("License") or ""
        licenses = (license_,) if license_ and "\n" not in license_ and len(license_) < 80 else ()
        yield Package(name, version, "pypi", "python", path, licenses=licenses,
                      layer=files.layer_of(path))  # fmt: skip


def node_packages(files: Files, owned: frozenset[str]) -> Iterator[Package]:
    for path in files.paths():
        if not _NODE.search(path) or path in owned:
            continue
        try:
            data = json.loads(files.read(path, MAX_META_BYTES))
        except (OSError, ValueError):
            continue
        if not isinstance(data, dict):
            continue
        name, version = data.get("name"), data.get("version")
        if not isinstance(name, str) or not isinstance(version, str) or not name:
            continue
        license_ = data.get("license")
        yield Package(name, version, "npm", "node", path,
                      licenses=(license_,) if isinstance(license_, str) else (),
                      layer=files.layer_of(path))  # fmt: skip


def composer_packages(files: Files, owned: frozenset[str]) -> Iterator[Package]:
    for path in files.paths():
        if not path.endswith("/vendor/composer/installed.json") or path in owned:
            continue
        try:
            data = json.loads(files.read(path, MAX_META_BYTES * 4))
        except (OSError, ValueError):
            continue
        entries = data.get("packages", []) if isinstance(data, dict) else data
        for entry in entries if isinstance(entries, list) else ():
            if not isinstance(entry, dict):
                continue
            name, version = entry.get("name"), entry.get("version")
            if isinstance(name, str) and isinstance(version, str) and "/" in name:
                vendor, _, short = name.partition("/")
                yield Package(short, version.removeprefix("v"), "composer", "composer", path,
                              namespace=vendor, layer=files.layer_of(path))  # fmt: skip


_GEMSPEC = re.compile(r"/specifications/([^/]+)-(\d[^/-]*(?:-[^/]+)?)\.gemspec\Z")


def gem_packages(files: Files, owned: frozenset[str]) -> Iterator[Package]:
    for path in files.paths():
        found = _GEMSPEC.search(path)
        if found is None or path in owned:
            continue
        name, version = found.groups()
        yield Package(name, version, "gem", "ruby", path, layer=files.layer_of(path))


# --------------------------------------------------------------------------------------------
# Go binaries

_BUILDINFO_MAGIC = b"\xff Go buildinf:"
_BINARY_DIRS = re.compile(r"/(?:s?bin|app|opt|srv|usr/local)(?:/|\Z)|\A/[^/]+\Z")


def _varint(data: bytes, at: int) -> tuple[int, int]:
    value = shift = 0
    while at < len(data):
        byte = data[at]
        at += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, at
        shift += 7
        if shift > 63:
            break
    raise ValueError("bad varint")


def go_build_info(data: bytes) -> tuple[str, str] | None:
    """(Go version, module info) from a binary built by Go 1.18 or later (the inline
    format); None for other files and older builds."""
    at = data.find(_BUILDINFO_MAGIC)
    if at < 0 or len(data) < at + 32:
        return None
    flags = data[at + 15]
    if not flags & 0x2:
        return None  # before Go 1.18: pointers into the binary, not read here
    length, pos = _varint(data, at + 32)
    version = data[pos : pos + length].decode("utf-8", "replace")
    length, pos = _varint(data, pos + length)
    modinfo = data[pos : pos + length]
    if len(modinfo) >= 33:
        modinfo = modinfo[16:-16]  # sentinels around the text
    return version, modinfo.decode("utf-8", "replace")


def _go_info(files: Files, path: str) -> tuple[str, str] | None:
    prepared = getattr(files, "go_build_info", None)  # an image's files: read while streaming
    if prepared is not None:
        found: tuple[str, str] | None = prepared(path)
        return found
    try:
        if files.read(path, 4) != b"\x7fELF":
            return None
        return go_build_info(files.read(path, MAX_BINARY_BYTES))
    except (OSError, ValueError):
        return None


def go_packages(files: Files, owned: frozenset[str]) -> Iterator[Package]:
    for path in files.paths():
        if path in owned or not _BINARY_DIRS.search(path) or "." in path.rpartition("/")[2]:
            continue
        info = _go_info(files, path)
        if info is None:
            continue
        go_version, modinfo = info
        layer = files.layer_of(path)
        yield Package("stdlib", go_version.removeprefix("go"), "golang", "go-binary", path,
                      layer=layer)  # fmt: skip
        modules: list[list[str]] = []
        for line in modinfo.splitlines():
            parts = line.split("\t")
            if parts[0] in ("mod", "dep") and len(parts) >= 3:
                modules.append([parts[1], parts[2]])
            elif parts[0] == "=>" and len(parts) >= 3 and modules:
                modules[-1][1] = parts[2]  # replaced: the code built is the replacement's
        for module, version in modules:
            if version != "(devel)":
                yield Package(module, version, "golang", "go-binary", path, layer=layer)


# --------------------------------------------------------------------------------------------
# Java archives

_ARCHIVE = re.compile(r"\.(?:jar|war|ear|par|sar|jpi|hpi|kar)\Z", re.IGNORECASE)
MAX_ARCHIVE_BYTES = 512 * 1024 * 1024
MAX_NESTING = 3
#: What the archives nested in one archive may decompress to in all, whatever their ratio:
#: a fat jar stores its libraries uncompressed, so their bytes are about the outer size.
NESTED_FLOOR = 64 * 1024 * 1024


def _manifest(text: str) -> dict[str, str]:
    values: dict[str, str] = {}
    last = ""
    for line in text.splitlines():
        if line.startswith(" ") and last:
            values[last] += line[1:]
            continue
        key, colon, value = line.partition(":")
        if colon:
            last = key.strip()
            values[last] = value.strip()
    return values


class _Budget:
    """The bytes the archives nested in one top-level archive may still decompress to (the
    one bomb guard's ratio, over the outer archive's size); a zip bomb of nested jars stops
    when it is spent instead of filling memory."""

    def __init__(self, outer_bytes: int) -> None:
        from keelhaul.image.bomb_guard import BombGuard

        guard = BombGuard(ratio_floor=NESTED_FLOOR)
        self.left = min(guard.budget(outer_bytes), MAX_ARCHIVE_BYTES)

    def read(self, archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes | None:
        """The member's bytes, or None when they would pass what is left (read at most one
        byte beyond it: the sizes a zip declares are not trusted)."""
        if info.file_size > self.left:
            return None
        with archive.open(info) as member:
            data = member.read(self.left + 1)
        if len(data) > self.left:
            self.left = 0
            return None
        self.left -= len(data)
        return data


def _read_meta(archive: zipfile.ZipFile, name: str) -> str:
    """A small text member, read at most :data:`MAX_META_BYTES` (never whole)."""
    with archive.open(name) as member:
        return member.read(MAX_META_BYTES).decode("utf-8", "replace")


def _jar_packages(
    data: bytes, path: str, depth: int, budget: _Budget | None = None
) -> Iterator[tuple[str, str, str, str]]:
    """(group, artifact, version, where) from pom.properties, else MANIFEST.MF, of one
    archive and the archives nested in it."""
    import io

    budget = budget or _Budget(len(data))
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError):
        return
    with archive:
        names = archive.namelist()
        poms = [n for n in names
                if n.startswith("META-INF/maven/") and n.endswith("/pom.properties")]  # fmt: skip
        found = False
        for name in poms:
            try:
                text = _read_meta(archive, name)
            except (zipfile.BadZipFile, KeyError, OSError, RuntimeError, EOFError, zlib.error):
                continue
            props = dict(line.split("=", 1) for line in text.splitlines()
                         if "=" in line and not line.startswith("#"))  # fmt: skip
            group, artifact = props.get("groupId", "").strip(), props.get("artifactId", "").strip()
            version = props.get("version", "").strip()
            if group and artifact and version:
                found = True
                yield group, artifact, version, f"{path}:{name}"
        if not found and "META-INF/MANIFEST.MF" in names:
            try:
                manifest = _manifest(_read_meta(archive, "META-INF/MANIFEST.MF"))
            except (zipfile.BadZipFile, KeyError, OSError, RuntimeError, EOFError, zlib.error):
                manifest = {}
            title = manifest.get("Implementation-Title") or manifest.get("Bundle-SymbolicName")
            release = manifest.get("Implementation-Version") or manifest.get("Bundle-Version")
            vendor = manifest.get("Implementation-Vendor-Id") or ""
            if title and release:
                yield vendor, title.split(";")[0], release, f"{path}:META-INF/MANIFEST.MF"
        if depth >= MAX_NESTING:
            return
        for info in archive.infolist():
            if not _ARCHIVE.search(info.filename) or budget.left <= 0:
                continue
            try:
                inner = budget.read(archive, info)
            except (zipfile.BadZipFile, OSError, RuntimeError, EOFError, zlib.error):
                continue
            if inner is not None:
                yield from _jar_packages(inner, f"{path}:{info.filename}", depth + 1, budget)


def java_packages(files: Files, owned: frozenset[str]) -> Iterator[Package]:
    for path in files.paths():
        if not _ARCHIVE.search(path) or path in owned:
            continue
        try:
            data = files.read(path, MAX_ARCHIVE_BYTES)
        except OSError:
            continue
        layer = files.layer_of(path)
        for group, artifact, version, where in _jar_packages(data, path, 0):
            yield Package(artifact, version, "maven", "java-archive", where,
                          namespace=group or None, layer=layer)  # fmt: skip


# --------------------------------------------------------------------------------------------
# Rust binaries built with cargo-auditable (a zlib-compressed JSON in an ELF section)


def elf_section(data: bytes, wanted: str) -> bytes | None:
    """The bytes of the ELF section named ``wanted`` (64- and 32-bit, either byte order)."""
    import struct

    if data[:4] != b"\x7fELF" or len(data) < 64:
        return None
    wide, order = data[4] == 2, "<" if data[5] == 1 else ">"
    try:
        if wide:
            (shoff,) = struct.unpack_from(order + "Q", data, 0x28)
            shentsize, shnum, shstrndx = struct.unpack_from(order + "HHH", data, 0x3A)
        else:
            (shoff,) = struct.unpack_from(order + "I", data, 0x20)
            shentsize, shnum, shstrndx = struct.unpack_from(order + "HHH", data, 0x2E)
        if shnum == 0 or shstrndx >= shnum or shoff + shnum * shentsize > len(data):
            return None

        def header(k: int) -> tuple[int, int, int]:
            at = shoff + k * shentsize
            if wide:
                name, _t, _f, _a, offset, size = struct.unpack_from(order + "IIQQQQ", data, at)
            else:
                name, _t, _f, _a, offset, size = struct.unpack_from(order + "IIIIII", data, at)
            return name, offset, size

        _n, str_offset, str_size = header(shstrndx)
        names = data[str_offset : str_offset + str_size]
        for k in range(shnum):
            name, offset, size = header(k)
            if names[name : names.find(b"\0", name)].decode("ascii", "replace") == wanted:
                return data[offset : offset + size] if offset + size <= len(data) else None
    except struct.error:
        return None
    return None


def _cargo_section(files: Files, path: str) -> bytes | None:
    prepared = getattr(files, "cargo_section", None)
    if prepared is not None:
        found: bytes | None = prepared(path)
        return found
    try:
        if files.read(path, 4) != b"\x7fELF":
            return None
        return elf_section(files.read(path, MAX_BINARY_BYTES), ".dep-v0")
    except OSError:
        return None


def rust_packages(files: Files, owned: frozenset[str]) -> Iterator[Package]:
    import zlib

    for path in files.paths():
        if path in owned or not _BINARY_DIRS.search(path) or "." in path.rpartition("/")[2]:
            continue
        section = _cargo_section(files, path)
        if section is None:
            continue
        try:
            data = json.loads(zlib.decompressobj().decompress(section, 64 * 1024 * 1024))
        except (zlib.error, ValueError):
            continue
        for entry in data.get("packages", []) if isinstance(data, dict) else ():
            if entry.get("kind", "runtime") != "runtime" or entry.get("root"):
                continue  # build dependencies are not in the binary; the root is the program
            name, version = entry.get("name"), entry.get("version")
            if isinstance(name, str) and isinstance(version, str):
                yield Package(name, version, "cargo", "rust-binary", path,
                              layer=files.layer_of(path))  # fmt: skip
