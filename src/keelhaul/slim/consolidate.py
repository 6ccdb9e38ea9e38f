"""Squash an image's own layers into one, keeping the base image's layers as they are.

Two passes over the layers, both through the one layer walk (:mod:`keelhaul.image.layer_walk`)
and the one merge (:mod:`keelhaul.image.filesystem`); memory grows with the number of paths,
never with bytes.

1. **Plan** (:func:`plan`): every layer's entries (metadata only, no content) are merged in
   order. After the kept layers the merged tree is the *base*; after the last layer it is the
   *final* tree. Each path of the final tree that the own layers wrote is to be copied from
   the one tar entry that made it: ``(layer, path, occurrence)``. A hard link points at the
   entry its target was when the link was made; when that entry no longer ships under its
   own name, the first of the paths that share it takes its content and the others link to
   it. A whiteout is planned only where a path of the base is gone from the final tree (at
   the topmost such path); a folder the final tree only implies, where the base has an entry,
   is written as unpacking would make it (0755, root).
2. **Copy** (:func:`write_squashed`): the own layers are read again and the planned entries
   copied, content and all, into one new tar, in the order the source holds them (layer by
   layer, each in its tar order: deterministic, and every hard link after its target).
   Everything else (overwritten files, deleted files and folders, what opaque folders hid,
   what the user asked to remove) is not copied.
"""

from __future__ import annotations

import tarfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from keelhaul.errors import KeelhaulError
from keelhaul.image.filesystem import MergedFilesystem, Node, clean_path, parent_of
from keelhaul.image.layer_walk import (
    Analyzer,
    Content,
    LayerAnalysis,
    LayerRead,
    Member,
    layer_name,
    walk_layer,
)
from keelhaul.image.model import Image, Layer
from keelhaul.image.tarstream import (
    BLOCKDEV,
    CHAR,
    DIR,
    FIFO,
    FILE,
    HARDLINK,
    OTHER,
    SYMLINK,
    TarEntry,
    TarLimits,
)
from keelhaul.slim.tree import XATTR

__all__ = ["Plan", "SlimError", "contained_link", "plan", "write_squashed"]

#: One tar entry of a layer: (layer index, path, its occurrence in that layer, from 1).
Ident = tuple[int, str, int]


class SlimError(KeelhaulError):
    """The image cannot be slimmed as asked (the message says why)."""


@dataclass
class _LayerScan:
    index: int
    entries: list[tuple[str, Node]] = field(default_factory=list)
    whiteouts: list[str] = field(default_factory=list)
    opaques: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    links: dict[Ident, Ident | str] = field(default_factory=dict)
    """A hard link's entry -> the entry of this layer it shares, or the path it names in the
    layers below."""
    tar_size: int = 0
    content_size: int = 0
    problems: list[tuple[str, str]] = field(default_factory=list)


class _PlanOfLayer(LayerAnalysis[_LayerScan]):
    def __init__(self, index: int, own: bool, name: str) -> None:
        self.scan = _LayerScan(index)
        self.own = own
        self.name = name

    def member(self, member: Member) -> Content | None:
        e = member.entry
        scan = self.scan
        if self.own and (e.sparse or e.kind == OTHER):
            what = "a sparse file" if e.sparse else "an entry of an unknown type"
            raise SlimError(f"{self.name}: /{member.path} is {what}; keelhaul slim cannot copy it")
        occurrence = scan.counts[member.path] = scan.counts.get(member.path, 0) + 1
        scan.content_size += e.size if e.kind == FILE else 0
        node = Node(scan.index, e.kind, e.size, e.mode, e.uid, e.gid, e.link, b"")
        if e.kind == HARDLINK:
            target, _ = clean_path(e.link)
            if not target:
                raise SlimError(f"{self.name}: /{member.path} is a hard link to the root")
            seen = scan.counts.get(target)
            source: Ident | str = (scan.index, target, seen) if seen else target
            if isinstance(source, tuple):
                source = scan.links.get(source, source)
            scan.links[(scan.index, member.path, occurrence)] = source
            node = node._replace(link=target)
        scan.entries.append((member.path, node))
        return None

    def whiteout(self, member: Member, target: str) -> None:
        self.scan.whiteouts.append(target)

    def opaque(self, member: Member, folder: str) -> None:
        self.scan.opaques.append(folder)

    def finish(self, read: LayerRead) -> _LayerScan:
        self.scan.tar_size = read.tar_size
        self.scan.problems = read.problems
        return self.scan


class _PlanAnalyzer(Analyzer[_LayerScan]):
    name = "slim-plan"
    version = "1"

    def __init__(self, keep: int) -> None:
        self.keep = keep

    def start(self, layer: Layer) -> LayerAnalysis[_LayerScan]:
        return _PlanOfLayer(layer.index, layer.index >= self.keep, layer_name(layer))


@dataclass
class Plan:
    """What the squashed layer holds, decided before a byte of it is copied."""

    keep: int
    """Bottom layers kept as they are."""
    emit: dict[Ident, str] = field(default_factory=dict)
    """Entry to copy -> the path it ships at (its own, or a hard link's that takes its place)."""
    link: dict[Ident, str] = field(default_factory=dict)
    """Hard link entry -> the path it links to in the result."""
    whiteouts: list[str] = field(default_factory=list)
    folders: list[str] = field(default_factory=list)
    """Folders written as unpacking makes them (the final tree implies them; the base has one)."""
    removed: dict[str, list[tuple[str, int]]] = field(default_factory=dict)
    """Category -> (path, bytes) the user asked to remove."""
    tar_sizes: list[int] = field(default_factory=list)
    """Each source layer's uncompressed tar size."""
    own_content: int = 0
    """Bytes of file content the own layers store (every version)."""


def plan(
    image: Image,
    keep: int,
    remove: Callable[[str], str | None] | None = None,
    limits: TarLimits | None = None,
) -> Plan:
    """Pass 1: read every layer's entries (no content) and decide the squashed layer.

    ``remove``: a path (root-relative) of a regular file the own layers ship -> the removal
    category it falls in, or None to keep it."""
    layers = image.layers
    fs = MergedFilesystem()
    dups: dict[tuple[int, str], int] = {}
    link_source: dict[Ident, Ident] = {}
    base_nodes: dict[str, Node] = {}
    base_paths: set[str] = set()
    result = Plan(keep)
    analyzer = _PlanAnalyzer(keep)

    def ident_of(path: str, node: Node) -> Ident:
        own = (node.layer, path, dups.get((node.layer, path), 1))
        return link_source.get(own, own)

    for layer in layers:
        if layer.index == keep:
            base_nodes = dict(fs.nodes)
            base_paths = {child for kids in fs.kids.values() for child in kids}
        (scan,) = walk_layer(layer, [analyzer], limits)
        if scan.problems and layer.index < keep:
            name, what = scan.problems[0]
            raise SlimError(
                f"{layer_name(layer)} holds {name!r} ({what}): a hostile layer is not kept "
                "as it is; squash it too (--keep-layers with fewer layers, or --squash all)"
            )
        result.tar_sizes.append(scan.tar_size)
        if layer.index >= keep:
            result.own_content += scan.content_size
        for path, count in scan.counts.items():
            if count > 1:
                dups[(scan.index, path)] = count
        for entry, source in scan.links.items():
            if isinstance(source, str):  # a file of a lower layer
                below = fs.nodes.get(source)
                if below is None or below.kind in (DIR, HARDLINK):
                    raise SlimError(
                        f"{layer_name(layer)}: /{entry[1]} is a hard link to /{source}, "
                        "which is not a file there"
                    )
                link_source[entry] = ident_of(source, below)
            else:
                link_source[entry] = source
        fs.apply(scan.index, scan.whiteouts, scan.opaques, scan.entries)
    if keep >= len(layers):
        base_nodes = dict(fs.nodes)
        base_paths = {child for kids in fs.kids.values() for child in kids}

    # what the user asked to remove (files the own layers ship)
    if remove is not None:
        last = len(layers) - 1
        for path, node in list(fs.nodes.items()):
            if node.layer < keep or node.kind not in (FILE, HARDLINK):
                continue
            category = remove(path)
            if category is not None:
                size = node.size if node.kind == FILE else 0
                fs.remove(path, last)
                result.removed.setdefault(category, []).append((path, size))

    # the entries to copy, hard links grouped by the entry they share
    groups: dict[Ident, list[tuple[str, Ident]]] = {}
    for path, node in fs.nodes.items():
        if node.layer < keep:
            continue
        own = (node.layer, path, dups.get((node.layer, path), 1))
        groups.setdefault(link_source.get(own, own), []).append((path, own))
    for source, members in groups.items():
        if source[0] < keep:  # links to a file of a kept layer
            target = source[1]
            there = fs.nodes.get(target)
            if there is None or there.layer >= keep or ident_of(target, there) != source:
                raise SlimError(
                    f"/{members[0][0]} is a hard link to /{target} of a kept layer, which "
                    "a later layer changed; squash more layers (--squash all)"
                )
            for _path, own in members:
                result.link[own] = target
            continue
        paths = [path for path, _ in members]
        primary = source[1] if (source[1], source) in members else min(paths)
        result.emit[source] = primary
        for path, own in members:
            if path != primary:
                result.link[own] = primary

    # what the base has that the final tree has not: whiteouts, at the topmost such path
    for path in sorted(base_paths):
        if fs.exists(path):
            if path not in fs.nodes and path in base_nodes:
                result.folders.append(path)  # implied now, an entry of its own in the base
            continue
        parent = parent_of(path)
        if parent:
            above = fs.nodes.get(parent)
            if not fs.exists(parent) or (above is not None and above.kind != DIR):
                continue  # hidden with its parent
        result.whiteouts.append(path)
    return result


# -- pass 2 ----------------------------------------------------------------------------------

_TYPES = {
    FILE: tarfile.REGTYPE, DIR: tarfile.DIRTYPE, SYMLINK: tarfile.SYMTYPE,
    HARDLINK: tarfile.LNKTYPE, CHAR: tarfile.CHRTYPE, BLOCKDEV: tarfile.BLKTYPE,
    FIFO: tarfile.FIFOTYPE,
}  # fmt: skip
_ZERO = bytes(512)


def _mtime(entry: TarEntry, clamp: int | None) -> int:
    value = 0
    if entry.pax and "mtime" in entry.pax:
        try:
            value = int(float(entry.pax["mtime"]))
        except ValueError:
            value = 0
    elif entry.header:
        field_ = entry.header[136:148]
        if field_[0] & 0x80:
            value = int.from_bytes(field_[1:], "big")
        else:
            text = field_.split(b"\0", 1)[0].strip(b" ")
            value = int(text, 8) if text.isdigit() and b"8" not in text and b"9" not in text else 0
    value = max(value, 0)
    return min(value, clamp) if clamp is not None else value


def _device(entry: TarEntry) -> tuple[int, int]:
    header = entry.header
    if not header or entry.kind not in (CHAR, BLOCKDEV):
        return 0, 0
    numbers = []
    for field_ in (header[329:337], header[337:345]):
        text = field_.split(b"\0", 1)[0].strip(b" ")
        numbers.append(int(text, 8) if text.isdigit() and not set(text) & set(b"89") else 0)
    return numbers[0], numbers[1]


def contained_link(path: str, target: str) -> str:
    """The target of the symlink at ``path`` without the ``..`` that would climb above the
    root (where a container runtime stops them: ``app/up -> ../../../etc/shadow`` becomes
    ``../etc/shadow``), so that no tool unpacking the layer follows it outside; a target that
    stays inside is returned as it is."""
    level = (
        0 if target.startswith("/") else len(parent_of(path).split("/")) if parent_of(path) else 0
    )
    kept: list[str] = []
    dropped = False
    for part in target.split("/"):
        if part == "..":
            if level == 0:
                dropped = True
                continue
            level -= 1
        elif part not in ("", "."):
            level += 1
        kept.append(part)
    if not dropped:
        return target
    text = "/".join(kept)
    return text or "."


class TarOut:
    """A tar stream written entry by entry into ``sink`` (pax headers where needed)."""

    def __init__(self, sink: Callable[[bytes | memoryview], object], mtime: int | None) -> None:
        self._write = sink
        self.mtime = mtime
        self.size = 0
        self.clamped = 0
        """Symlinks whose target climbed above the root, written without the excess ``..``."""

    def write(self, data: bytes | memoryview) -> None:
        self._write(data)
        self.size += len(data)

    def header(self, info: tarfile.TarInfo) -> None:
        info.uname = info.gname = ""
        self.write(info.tobuf(tarfile.PAX_FORMAT, "utf-8", "surrogateescape"))

    def pad(self, size: int) -> None:
        if size % 512:
            self.write(_ZERO[: 512 - size % 512])

    def entry(
        self, path: str, entry: TarEntry, kind: str | None = None, link: str = ""
    ) -> tarfile.TarInfo:
        kind = kind or entry.kind
        info = tarfile.TarInfo(path)
        info.type = _TYPES[kind]
        info.mode = entry.mode
        info.uid, info.gid = entry.uid, entry.gid
        info.mtime = _mtime(entry, self.mtime)
        info.size = entry.size if kind == FILE else 0
        if kind == HARDLINK:
            info.linkname = link or entry.link
        elif kind == SYMLINK:
            info.linkname = contained_link(path, link or entry.link)
            if info.linkname != (link or entry.link):
                self.clamped += 1
        info.devmajor, info.devminor = _device(entry)
        if entry.pax and kind != HARDLINK:
            info.pax_headers = {k: v for k, v in sorted(entry.pax.items()) if k.startswith(XATTR)}
        return info

    def folder(self, path: str) -> None:
        info = tarfile.TarInfo(path)
        info.type = tarfile.DIRTYPE
        info.mode = 0o755
        info.mtime = self.mtime or 0
        self.header(info)

    def whiteout(self, path: str, name: str) -> None:
        parent = parent_of(path)
        info = tarfile.TarInfo(f"{parent}/{name}" if parent else name)
        info.mode = 0o644
        info.mtime = self.mtime or 0
        self.header(info)

    def close(self) -> None:
        self.write(_ZERO * 2)


class _Copy:
    """One file's content, copied chunk by chunk into the new tar."""

    def __init__(self, out: TarOut, size: int) -> None:
        self.out = out
        self.size = size
        self.left = size

    def add(self, chunk: memoryview) -> bool:
        self.out.write(chunk)
        self.left -= len(chunk)
        return True

    def end(self) -> None:
        if self.left:  # the walk stops early only on an error; never leave a short entry
            raise SlimError("a file's content ended early")
        self.out.pad(self.size)


class _CopyOfLayer(LayerAnalysis[int]):
    def __init__(self, index: int, the_plan: Plan, out: TarOut) -> None:
        self.index = index
        self.plan = the_plan
        self.out = out
        self.counts: dict[str, int] = {}
        self.copied = 0

    def member(self, member: Member) -> Content | None:
        path = member.path
        occurrence = self.counts[path] = self.counts.get(path, 0) + 1
        ident = (self.index, path, occurrence)
        target = self.plan.link.get(ident)
        if target is not None:
            self.out.header(self.out.entry(path, member.entry, HARDLINK, target))
            return None
        name = self.plan.emit.get(ident)
        if name is None:
            return None
        entry = member.entry
        self.out.header(self.out.entry(name, entry))
        if entry.kind == FILE and entry.size:
            self.copied += entry.size
            return _Copy(self.out, entry.size)
        return None

    def finish(self, read: LayerRead) -> int:
        return self.copied


class _CopyAnalyzer(Analyzer[int]):
    name = "slim-copy"
    version = "1"

    def __init__(self, the_plan: Plan, out: TarOut) -> None:
        self.plan = the_plan
        self.out = out

    def start(self, layer: Layer) -> LayerAnalysis[int]:
        return _CopyOfLayer(layer.index, self.plan, self.out)


def write_squashed(
    layers: Sequence[Layer], the_plan: Plan, out: TarOut, limits: TarLimits | None = None
) -> int:
    """Pass 2: the squashed layer's tar into ``out``; the file bytes copied."""
    for path in the_plan.folders:
        out.folder(path)
    for path in the_plan.whiteouts:
        out.whiteout(path, ".wh." + path.rpartition("/")[2])
    copied = 0
    analyzer = _CopyAnalyzer(the_plan, out)
    for layer in layers:
        if layer.index < the_plan.keep:
            continue
        (done,) = walk_layer(layer, [analyzer], limits)
        copied += done
    out.close()
    return copied
