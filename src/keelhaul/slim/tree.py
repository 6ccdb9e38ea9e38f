"""The merged file tree of an image, path by path: what a container started from it sees.

Read through the one layer walk (:mod:`keelhaul.image.layer_walk`) and merged by the one
filesystem model (:mod:`keelhaul.image.filesystem`): each path's kind, mode, owner, symlink
target, extended attributes and content hash. A hard link is shown as what it shares an inode
with (the file its target was when the link was made), so two trees that spell the same links
the other way round compare equal. A folder that exists only because something lies below it
(no entry of its own) is what unpacking makes of it: mode 0755, owned by root.

``keelhaul slim`` proves a rewrite with it (the tests compare the trees of the source and the
result); it reads every layer in full, so it is a check, not a step of the rewrite.
"""

from __future__ import annotations

from typing import NamedTuple

import xxhash

from keelhaul.image.filesystem import MergedFilesystem, Node, clean_path
from keelhaul.image.layer_walk import (
    Analyzer,
    Content,
    LayerAnalysis,
    LayerRead,
    Member,
    walk_layers,
)
from keelhaul.image.model import Image, Layer
from keelhaul.image.tarstream import DIR, FILE, HARDLINK, SYMLINK

__all__ = ["TreeEntry", "merged_tree"]

XATTR = "SCHILY.xattr."


class TreeEntry(NamedTuple):
    kind: str
    mode: int
    uid: int
    gid: int
    link: str
    """A symlink's target ("" otherwise)."""
    content: bytes
    """A regular file's content hash (XXH3-128; empty otherwise)."""
    xattrs: tuple[tuple[str, str], ...] = ()


IMPLICIT_FOLDER = TreeEntry(DIR, 0o755, 0, 0, "", b"")


def xattrs_of(member: Member) -> tuple[tuple[str, str], ...]:
    pax = member.entry.pax
    if not pax:
        return ()
    return tuple(sorted((k[len(XATTR) :], v) for k, v in pax.items() if k.startswith(XATTR)))


class _Scan:
    def __init__(self, index: int) -> None:
        self.index = index
        self.entries: list[tuple[str, Node]] = []
        self.whiteouts: list[str] = []
        self.opaques: list[str] = []
        self.xattrs: dict[str, tuple[tuple[str, str], ...]] = {}
        self.latest: dict[str, tuple[Node, tuple[tuple[str, str], ...]]] = {}
        self.lower_links: list[tuple[str, str]] = []


class _Hash:
    def __init__(self, scan: _Scan, member: Member, attrs: tuple[tuple[str, str], ...]) -> None:
        self.scan, self.member, self.attrs = scan, member, attrs
        self.hasher = xxhash.xxh3_128()

    def add(self, chunk: memoryview) -> bool:
        self.hasher.update(chunk)
        return True

    def end(self) -> None:
        e = self.member.entry
        node = Node(self.scan.index, FILE, e.size, e.mode, e.uid, e.gid, "", self.hasher.digest())
        _add(self.scan, self.member.path, node, self.attrs)


def _add(scan: _Scan, path: str, node: Node, attrs: tuple[tuple[str, str], ...]) -> None:
    scan.entries.append((path, node))
    scan.latest[path] = (node, attrs)
    if attrs:
        scan.xattrs[path] = attrs
    else:
        scan.xattrs.pop(path, None)


class _TreeOfLayer(LayerAnalysis[_Scan]):
    def __init__(self, index: int) -> None:
        self.scan = _Scan(index)

    def member(self, member: Member) -> Content | None:
        e = member.entry
        attrs = xattrs_of(member)
        if e.kind == FILE:
            if e.size:
                return _Hash(self.scan, member, attrs)
            node = Node(
                self.scan.index, FILE, 0, e.mode, e.uid, e.gid, "", xxhash.xxh3_128(b"").digest()
            )
        elif e.kind == HARDLINK:
            target, _ = clean_path(e.link)
            found = self.scan.latest.get(target)
            if found is not None:  # a link to a file of this layer: that file's inode
                _add(self.scan, member.path, found[0], found[1])
            else:  # resolved against the lower layers when the layer is merged
                self.scan.lower_links.append((member.path, target))
                self.scan.entries.append(
                    (member.path, Node(self.scan.index, HARDLINK, 0, 0, 0, 0, target, b""))
                )
            return None
        else:
            link = e.link if e.kind == SYMLINK else ""
            node = Node(self.scan.index, e.kind, 0, e.mode, e.uid, e.gid, link, b"")
        _add(self.scan, member.path, node, attrs)
        return None

    def whiteout(self, member: Member, target: str) -> None:
        self.scan.whiteouts.append(target)

    def opaque(self, member: Member, folder: str) -> None:
        self.scan.opaques.append(folder)

    def finish(self, read: LayerRead) -> _Scan:
        self.scan.latest.clear()
        return self.scan


class _TreeAnalyzer(Analyzer[_Scan]):
    name = "merged-tree"
    version = "1"

    def start(self, layer: Layer) -> LayerAnalysis[_Scan]:
        return _TreeOfLayer(layer.index)


def merged_tree(image: Image) -> dict[str, TreeEntry]:
    """Every path of ``image``'s merged filesystem (root-relative) and what is there."""
    fs = MergedFilesystem()
    xattrs: dict[tuple[int, str], tuple[tuple[str, str], ...]] = {}
    analyzer = _TreeAnalyzer()
    for walked in walk_layers(image, [analyzer], workers=1):
        scan: _Scan = walked.results[analyzer.name]
        resolved = {}
        for path, target in scan.lower_links:
            node = fs.nodes.get(target)
            if node is not None and node.kind != HARDLINK:
                resolved[path] = node
                attrs = xattrs.get((node.layer, target))
                if attrs:
                    xattrs[(node.layer, path)] = attrs
        entries = [
            (path, resolved.get(path, node) if node.kind == HARDLINK else node)
            for path, node in scan.entries
        ]
        fs.apply(scan.index, scan.whiteouts, scan.opaques, entries)
        for path, attrs in scan.xattrs.items():
            xattrs[(scan.index, path)] = attrs
    tree: dict[str, TreeEntry] = {}
    paths = {child for kids in fs.kids.values() for child in kids}
    for path in paths:
        node = fs.nodes.get(path)
        if node is None:
            tree[path] = IMPLICIT_FOLDER
            continue
        attrs = xattrs.get((node.layer, path), ())
        tree[path] = TreeEntry(node.kind, node.mode, node.uid, node.gid, node.link,
                               node.digest, attrs)  # fmt: skip
    return tree
