"""Language packages installed in a filesystem: Python (dist-info, egg-info), Node
(``node_modules/**/package.json``), Go binaries (the build info the Go linker embeds),
PHP Composer (``vendor/composer/installed.json``) and Ruby gems (``specifications/*.gemspec``).

A file an OS package owns is not counted again here (Debian's python3-yaml installs a
dist-info folder: it is a deb, not a PyPI package).
"""

from __future__ import annotations

import json
import re
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


def go_packages(files: Files, owned: frozenset[str]) -> Iterator[Package]:
    for path in files.paths():
        if path in owned or not _BINARY_DIRS.search(path) or "." in path.rpartition("/")[2]:
            continue
        try:
            if files.read(path, 4) != b"\x7fELF":
                continue
            data = files.read(path, MAX_BINARY_BYTES)
        except OSError:
            continue
        try:
            info = go_build_info(data)
        except ValueError:
            continue
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
