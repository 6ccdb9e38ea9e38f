"""An image's merged filesystem as the catalogers read it, built from one streaming pass per
layer and cached per layer.

Each layer is read once (its tar streamed, never extracted) into a :class:`LayerFacts`: every
path it adds, its whiteouts and opaque folders, the contents of the few small files the
catalogers parse (package databases, os-release, dist-info METADATA, package.json...), Java
archives up to a size, and, for executables, only what the Go and Rust catalogers need (the
Go build info, cargo-auditable's ``.dep-v0`` section). The facts are stored under the layer's
DiffID and :data:`ANALYZER_VERSION` in a SQLite cache shared by parallel runs (WAL, a busy
timeout), so a base layer that a hundred images share is read once.

The merged view applies the layers in order with the image analysis' own merge
(:class:`keelhaul.image.filesystem.MergedFilesystem`, linear in the number of paths): a later
file replaces an earlier one, a whiteout ``.wh.NAME`` deletes ``NAME`` and what is below it,
``.wh..wh..opq`` hides what earlier layers put in its folder (the OCI image spec's rules).
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from keelhaul.image.filesystem import OPAQUE, WHITEOUT, MergedFilesystem, Node
from keelhaul.image.model import Image, Layer, LayerError
from keelhaul.image.tarstream import FILE, TarError, TarReader
from keelhaul.sbom.language_packages import elf_section, go_build_info

#: Bump when what a layer's facts hold changes: cached facts of older versions are not used.
ANALYZER_VERSION = "1"
#: Files whose content the catalogers read, by path.
_WANTED = re.compile(
    r"\A/(?:etc/os-release|usr/lib/os-release|var/lib/dpkg/status|var/lib/dpkg/status\.d/[^/]+"
    r"|var/lib/dpkg/info/[^/]+\.list|lib/apk/db/installed|var/lib/rpm/rpmdb\.sqlite)\Z"
    r"|/[^/]+\.dist-info/METADATA\Z|/[^/]+\.egg-info(?:/PKG-INFO)?\Z"
    r"|/node_modules/(?:@[^/]+/)?[^/@][^/]*/package\.json\Z"
    r"|/vendor/composer/installed\.json\Z"
)
_ARCHIVE = re.compile(r"\.(?:jar|war|ear)\Z", re.IGNORECASE)
_BINARY_DIRS = re.compile(r"/(?:s?bin|app|opt|srv|usr/local)(?:/|\Z)|\A/[^/]+\Z")
MAX_SMALL = 64 * 1024 * 1024
MAX_ARCHIVE = 256 * 1024 * 1024
MAX_BINARY = 512 * 1024 * 1024
#: Bytes kept from a Go binary, from its build-info magic on.
GO_WINDOW = 256 * 1024


@dataclass
class LayerFacts:
    """What one layer holds, as far as the catalogers care."""

    files: list[str] = field(default_factory=list)
    """Regular files added or replaced (absolute paths)."""
    deleted: list[str] = field(default_factory=list)
    """Paths a whiteout removes (with everything below them)."""
    opaque: list[str] = field(default_factory=list)
    """Folders whose earlier contents are hidden."""
    contents: dict[str, bytes] = field(default_factory=dict)
    go: dict[str, bytes] = field(default_factory=dict)
    """Executable -> its Go build info window."""
    cargo: dict[str, bytes] = field(default_factory=dict)
    """Executable -> its ``.dep-v0`` section."""

    def to_bytes(self) -> bytes:
        def enc(d: dict[str, bytes]) -> dict[str, str]:
            return {k: v.hex() for k, v in d.items()}

        return zlib.compress(json.dumps({
            "files": self.files, "deleted": self.deleted, "opaque": self.opaque,
            "contents": enc(self.contents), "go": enc(self.go), "cargo": enc(self.cargo),
        }).encode())  # fmt: skip

    @classmethod
    def from_bytes(cls, data: bytes) -> LayerFacts:
        raw = json.loads(zlib.decompress(data))

        def dec(d: dict[str, str]) -> dict[str, bytes]:
            return {k: bytes.fromhex(v) for k, v in d.items()}

        return cls(raw["files"], raw["deleted"], raw["opaque"], dec(raw["contents"]),
                   dec(raw["go"]), dec(raw["cargo"]))  # fmt: skip


def _clean(name: str) -> str | None:
    """The member's absolute path, or None for one that climbs out of the root."""
    parts: list[str] = []
    for part in PurePosixPath("/" + name).parts[1:]:
        if part == "..":
            return None
        if part not in ("", "."):
            parts.append(part)
    return "/" + "/".join(parts)


#: What a layer pass keeps of a regular file for the catalogers (see :func:`wanted_kind`).
CONTENTS = "contents"
BINARY = "binary"


def wanted_kind(path: str, size: int) -> str | None:
    """What the catalogers need of the regular file ``path`` (absolute) of ``size`` bytes:
    its bytes (:data:`CONTENTS`: package databases, metadata files, Java archives), what a
    Go or Rust cataloger reads of an executable (:data:`BINARY`), or nothing."""
    base = path.rpartition("/")[2]
    wanted = _WANTED.search(path) is not None
    if wanted and size <= MAX_SMALL:
        return CONTENTS
    if _ARCHIVE.search(base) is not None and size <= MAX_ARCHIVE:
        return CONTENTS
    if not wanted and _BINARY_DIRS.search(path) and "." not in base and 4 < size <= MAX_BINARY:
        return BINARY
    return None


class Collector:
    """The bytes of one file as a layer pass reads them, chunk by chunk, kept only as far as
    ``kind`` needs: a file that is to be read as an executable and does not start like an
    ELF one is dropped at its first bytes."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._parts: list[bytes] = []
        self._size = 0
        self.dropped = False

    def add(self, chunk: bytes | memoryview) -> None:
        if self.dropped:
            return
        self._parts.append(bytes(chunk))
        self._size += len(chunk)
        if self.kind == BINARY and self._size >= 4 and not self._head().startswith(b"\x7fELF"):
            self.dropped = True
            self._parts.clear()

    def _head(self) -> bytes:
        return self._parts[0][:4] if len(self._parts[0]) >= 4 else b"".join(self._parts)[:4]

    def keep(self, facts: LayerFacts, path: str) -> None:
        """Put what was collected of ``path`` in ``facts``."""
        if self.dropped or (self.kind == BINARY and self._size < 4):
            return
        data = b"".join(self._parts)
        if self.kind != BINARY:
            facts.contents[path] = data
            return
        info_at = data.find(b"\xff Go buildinf:")
        if info_at >= 0:
            facts.go[path] = data[info_at : info_at + GO_WINDOW]
        section = elf_section(data, ".dep-v0")
        if section is not None:
            facts.cargo[path] = section


def whiteout_fact(facts: LayerFacts, path: str) -> bool:
    """Record ``path`` (absolute) if it is a whiteout or an opaque marker; whether it was."""
    folder, _, base = path.rpartition("/")
    if base == OPAQUE:
        facts.opaque.append(folder or "/")
        return True
    if base.startswith(WHITEOUT):
        facts.deleted.append(f"{folder}/{base[len(WHITEOUT) :]}")
        return True
    return False


def read_layer(layer: Layer) -> LayerFacts:
    """One streaming pass over the layer's tar (keelhaul's bounded tar reader, as the image
    analysis uses; ``keelhaul image`` gathers the same facts in its own pass)."""
    facts = LayerFacts()
    try:
        with layer.open() as stream:
            reader = TarReader(stream)
            for entry in reader.entries():
                path = _clean(entry.name)
                if path is None or path == "/" or whiteout_fact(facts, path):
                    continue
                if entry.kind != FILE:
                    continue
                facts.files.append(path)
                kind = wanted_kind(path, entry.size)
                if kind is None:
                    continue
                collector = Collector(kind)
                for chunk in reader.chunks():
                    collector.add(chunk)
                    if collector.dropped:
                        break  # the rest is skipped by the reader
                collector.keep(facts, path)
    except (TarError, OSError, EOFError, zlib.error) as exc:
        raise LayerError(f"layer {layer.index + 1} ({layer.digest}): {exc}") from None
    return facts


def _file(layer: int) -> Node:
    """A regular file of ``layer`` as the merge keeps it (the catalogers need no metadata)."""
    return Node(layer, FILE, 0, 0, 0, 0, "", b"")


@dataclass
class ImageFiles:
    """The merged filesystem of an image's layers (see the module docstring)."""

    layers: list[tuple[str, LayerFacts]]
    """(DiffID, facts) from the base up."""
    _paths: dict[str, tuple[int, bytes | None]] = field(default_factory=dict, init=False)
    _go: dict[str, bytes] = field(default_factory=dict, init=False)
    _cargo: dict[str, bytes] = field(default_factory=dict, init=False)
    _layer_of: dict[str, str] = field(default_factory=dict, init=False)

    def __post_init__(self) -> None:
        merged = MergedFilesystem()
        for index, (_diff_id, facts) in enumerate(self.layers):
            merged.apply(
                index,
                [gone[1:] for gone in facts.deleted],
                [folder[1:] for folder in facts.opaque],
                [(path[1:], _file(index)) for path in facts.files],
            )
        for relative, node in merged.nodes.items():
            if node.kind != FILE:
                continue
            path = "/" + relative
            index = node.layer
            facts = self.layers[index][1]
            self._paths[path] = (index, facts.contents.get(path))
            self._layer_of[path] = self.layers[index][0]
            if path in facts.go:
                self._go[path] = facts.go[path]
            if path in facts.cargo:
                self._cargo[path] = facts.cargo[path]

    def paths(self) -> Iterable[str]:
        return sorted(self._paths)

    def read(self, path: str, limit: int) -> bytes:
        found = self._paths.get(path)
        if found is None or found[1] is None:
            if path in self._go or path in self._cargo:
                return b"\x7fELF"[:limit]
            raise FileNotFoundError(path)
        return found[1][:limit]

    def layer_of(self, path: str) -> str | None:
        return self._layer_of.get(path)

    def go_build_info(self, path: str) -> tuple[str, str] | None:
        window = self._go.get(path)
        return None if window is None else go_build_info(window)

    def cargo_section(self, path: str) -> bytes | None:
        return self._cargo.get(path)


# --------------------------------------------------------------------------------------------
# the per-layer cache


def cache_path() -> Path:
    base = os.environ.get("KEELHAUL_CACHE_DIR")
    if base:
        return Path(base) / "layers.sqlite3"
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "keelhaul" / "layers.sqlite3"


class LayerCache:
    """Layer facts by (DiffID, analyzer version), shared by parallel runs."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or cache_path()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, timeout=30.0, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA busy_timeout=30000")
        self._db.execute("CREATE TABLE IF NOT EXISTS layers (diff_id TEXT NOT NULL, version "
                         "TEXT NOT NULL, facts BLOB NOT NULL, PRIMARY KEY (diff_id, version))")  # fmt: skip

    def get(self, diff_id: str) -> LayerFacts | None:
        row = self._db.execute("SELECT facts FROM layers WHERE diff_id = ? AND version = ?",
                               (diff_id, ANALYZER_VERSION)).fetchone()  # fmt: skip
        if row is None:
            return None
        try:
            return LayerFacts.from_bytes(row[0])
        except (ValueError, KeyError, zlib.error):
            return None  # a damaged entry: read the layer again

    def put(self, diff_id: str, facts: LayerFacts) -> None:
        self._db.execute("INSERT OR REPLACE INTO layers VALUES (?, ?, ?)",
                         (diff_id, ANALYZER_VERSION, facts.to_bytes()))  # fmt: skip

    def close(self) -> None:
        self._db.close()


def image_files(image: Image, cache: LayerCache | None = None) -> tuple[ImageFiles, int]:
    """The image's merged filesystem, and how many layers had to be read (not cached)."""
    layers: list[tuple[str, LayerFacts]] = []
    read = 0
    for layer in image.layers:
        facts = cache.get(layer.diff_id) if cache is not None else None
        if facts is None:
            facts = read_layer(layer)
            read += 1
            if cache is not None:
                cache.put(layer.diff_id, facts)
        layers.append((layer.diff_id, facts))
    return ImageFiles(layers), read
