"""An image's merged filesystem as the catalogers read it: the package-facts analyzer of the one
layer walk, cached per layer.

Each layer is read once by the layer walk (:mod:`keelhaul.image.layer_walk`; ``keelhaul image``
runs this analyzer in its own pass beside the report's) into a :class:`LayerFacts`: every
path it adds, its whiteouts and opaque folders, the contents of the few small files the
catalogers parse (package databases, os-release, dist-info METADATA, package.json...), Java
archives up to a size, and, for executables, only what the Go and Rust catalogers need (the
Go build info, cargo-auditable's ``.dep-v0`` section). The facts are stored in the per-layer
cache (:mod:`keelhaul.image.layer_cache`) under the layer's DiffID and
:data:`ANALYZER_VERSION`, so a base layer that a hundred images share is read once.

The merged view applies the layers in order with the image analysis' own merge
(:class:`keelhaul.image.filesystem.MergedFilesystem`, linear in the number of paths): a later
file replaces an earlier one, a whiteout ``.wh.NAME`` deletes ``NAME`` and what is below it,
``.wh..wh..opq`` hides what earlier layers put in its folder (the OCI image spec's rules).
"""

from __future__ import annotations

import json
import re
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from keelhaul.image import layer_cache
from keelhaul.image.filesystem import MergedFilesystem, Node
from keelhaul.image.layer_walk import (
    Analyzer,
    LayerAnalysis,
    LayerRead,
    Member,
    walk_layer,
    walk_layers,
)
from keelhaul.image.model import Image, Layer
from keelhaul.image.tarstream import FILE
from keelhaul.sbom.language_packages import elf_section, go_build_info

#: Bump when what a layer's facts hold changes: cached facts of older versions are not used.
ANALYZER_VERSION = "2"
#: Files whose content the catalogers read, by path.
_WANTED = re.compile(
    r"\A/(?:etc/os-release|usr/lib/os-release|var/lib/dpkg/status|var/lib/dpkg/status\.d/[^/]+"
    r"|var/lib/dpkg/info/[^/]+\.list|lib/apk/db/installed"
    r"|(?:var/lib/rpm|usr/lib/sysimage/rpm)/(?:rpmdb\.sqlite|Packages\.db|Packages))\Z"
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
        """The facts :meth:`to_bytes` wrote; ValueError when ``data`` is damaged."""

        def dec(d: dict[str, str]) -> dict[str, bytes]:
            return {k: bytes.fromhex(v) for k, v in d.items()}

        try:
            raw = json.loads(zlib.decompress(data))
            return cls(raw["files"], raw["deleted"], raw["opaque"], dec(raw["contents"]),
                       dec(raw["go"]), dec(raw["cargo"]))  # fmt: skip
        except (KeyError, TypeError, AttributeError, zlib.error) as exc:
            raise ValueError(f"damaged layer facts: {exc}") from None


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
    """The bytes of the file ``path`` (absolute) as the walk reads them, chunk by chunk, kept
    only as far as ``kind`` needs: a file that is to be read as an executable and does not
    start like an ELF one is dropped at its first bytes (and the rest of it is not wanted).
    At its end, what was collected goes into ``facts``."""

    def __init__(self, kind: str, facts: LayerFacts, path: str) -> None:
        self.kind = kind
        self.facts = facts
        self.path = path
        self._parts: list[bytes] = []
        self._size = 0
        self.dropped = False

    def add(self, chunk: memoryview) -> bool:
        if self.dropped:
            return False
        self._parts.append(bytes(chunk))
        self._size += len(chunk)
        if self.kind == BINARY and self._size >= 4 and not self._head().startswith(b"\x7fELF"):
            self.dropped = True
            self._parts.clear()
        return not self.dropped

    def _head(self) -> bytes:
        return self._parts[0][:4] if len(self._parts[0]) >= 4 else b"".join(self._parts)[:4]

    def end(self) -> None:
        if self.dropped or (self.kind == BINARY and self._size < 4):
            return
        data = b"".join(self._parts)
        self._parts.clear()
        if self.kind != BINARY:
            self.facts.contents[self.path] = data
            return
        info_at = data.find(b"\xff Go buildinf:")
        if info_at >= 0:
            self.facts.go[self.path] = data[info_at : info_at + GO_WINDOW]
        section = elf_section(data, ".dep-v0")
        if section is not None:
            self.facts.cargo[self.path] = section


class PackageFacts(Analyzer[LayerFacts]):
    """The layer walk's analyzer for the catalogers: each layer's :class:`LayerFacts`.

    Members whose name has a ``..`` part are left out (a cataloger never reads them), and so
    are the root and everything but regular files, whiteouts and opaque markers."""

    name = "packages"
    version = ANALYZER_VERSION
    cached = True

    def start(self, layer: Layer) -> LayerAnalysis[LayerFacts]:
        return _FactsOfLayer()

    def encode(self, result: LayerFacts) -> bytes:
        return result.to_bytes()

    def decode(self, data: bytes) -> LayerFacts:
        return LayerFacts.from_bytes(data)


#: The one instance the image analysis, `sbom` and `vulns` use.
PACKAGE_FACTS = PackageFacts()


class _FactsOfLayer(LayerAnalysis[LayerFacts]):
    def __init__(self) -> None:
        self.facts = LayerFacts()

    def member(self, member: Member) -> Collector | None:
        if member.entry.kind != FILE or member.climbs:
            return None
        path = "/" + member.path
        self.facts.files.append(path)
        kind = wanted_kind(path, member.entry.size)
        return Collector(kind, self.facts, path) if kind is not None else None

    def whiteout(self, member: Member, target: str) -> None:
        if not member.climbs:
            self.facts.deleted.append("/" + target)

    def opaque(self, member: Member, folder: str) -> None:
        if not member.climbs:
            self.facts.opaque.append("/" + folder)

    def finish(self, read: LayerRead) -> LayerFacts:
        return self.facts


def read_layer(layer: Layer) -> LayerFacts:
    """One walk over the layer for its facts alone (``keelhaul image`` gathers the same facts
    in its own walk, beside the report's analyzers)."""
    facts: LayerFacts = walk_layer(layer, [PACKAGE_FACTS])[0]
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
# the per-layer cache, as the catalogers read it


class LayerCache(layer_cache.LayerCache):
    """The per-layer cache (:class:`keelhaul.image.layer_cache.LayerCache`), with the package
    facts' entries at hand: :meth:`get` and :meth:`put` take and give :class:`LayerFacts`."""

    def get(self, diff_id: str) -> LayerFacts | None:
        return self.lookup(diff_id, PACKAGE_FACTS)

    def put(self, diff_id: str, facts: LayerFacts) -> None:
        self.store(diff_id, PACKAGE_FACTS, facts)


def image_files(
    image: Image,
    cache: layer_cache.LayerCache | None = None,
    gathered: Sequence[LayerFacts] | None = None,
) -> tuple[ImageFiles, int]:
    """The image's merged filesystem, and how many layers had to be read (not cached).

    ``gathered``: the facts of every layer, already read by another walk (``keelhaul image``
    runs this analyzer beside its own); they go into ``cache`` and no layer is read."""
    if gathered is not None and len(gathered) == len(image.layers):
        if cache is not None:
            for layer, facts in zip(image.layers, gathered, strict=True):
                if layer.diff_id and cache.lookup(layer.diff_id, PACKAGE_FACTS) is None:
                    cache.store(layer.diff_id, PACKAGE_FACTS, facts)
        pairs = [(layer.diff_id, facts) for layer, facts in zip(image.layers, gathered,
                                                                 strict=True)]  # fmt: skip
        return ImageFiles(pairs), 0
    layers: list[tuple[str, LayerFacts]] = []
    read = 0
    # one layer at a time, in order (a spilled `docker:` save is read front to back)
    for walked in walk_layers(image, [PACKAGE_FACTS], cache, workers=1):
        layers.append((walked.layer.diff_id, walked.results[PACKAGE_FACTS.name]))
        read += walked.read
    return ImageFiles(layers), read
