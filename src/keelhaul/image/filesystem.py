"""The merged filesystem of an image, built layer by layer as the OCI image spec says.

Each layer's changes are applied over the layers below: a whiteout ``.wh.NAME`` deletes
``NAME`` (and, for a directory, everything under it) from the lower layers; an opaque marker
``.wh..wh..opq`` hides every lower-layer child of its directory; an entry replaces whatever
the lower layers had at its path (a file over a directory hides the directory's contents).
Whiteouts apply to lower layers only, so they are applied before the layer's own entries.

While merging, every byte that stops being visible is counted as waste, against the layer
that stored it (``shadowed``) and the layer that hid it (``hides``). Memory grows with the
number of paths: a node is a small tuple, never file content.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import NamedTuple

from keelhaul.image.tarstream import DIR, FILE, HARDLINK, SYMLINK

WHITEOUT = ".wh."
OPAQUE = ".wh..wh..opq"
#: Symlink hops before a path is declared a loop (Linux's own limit for ELOOP).
MAX_SYMLINK_HOPS = 40


class Node(NamedTuple):
    """One path's current version."""

    layer: int
    kind: str
    size: int
    mode: int
    uid: int
    gid: int
    link: str
    digest: bytes


def clean_path(name: str) -> tuple[str, str | None]:
    """A tar member name as a root-relative path (``etc/passwd``) and what was wrong with it.

    ``..`` that would leave the root is clamped at the root, as container runtimes do, and
    reported; so is an absolute name. The root itself is ``""``.
    """
    if name and name[0] not in "/." and "//" not in name and "/." not in name:
        return name.rstrip("/"), None  # the usual member name: nothing to clean
    problem = None
    if name.startswith("/"):
        problem = "an absolute path"
    parts: list[str] = []
    for part in name.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if parts:
                parts.pop()
            else:
                problem = "a path that climbs out of the root (`..`)"
            continue
        parts.append(part)
    return "/".join(parts), problem


def parent_of(path: str) -> str:
    return path.rpartition("/")[0]


@dataclass
class LayerChanges:
    """What one layer did to the filesystem below it."""

    added: int = 0
    modified: int = 0
    deleted: int = 0
    hides: int = 0
    """Bytes of lower layers' files this layer made invisible."""
    overwritten: int = 0
    deleted_bytes: int = 0


@dataclass
class MergedFilesystem:
    nodes: dict[str, Node] = field(default_factory=dict)
    kids: defaultdict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    shadowed: defaultdict[int, int] = field(default_factory=lambda: defaultdict(int))
    """Layer -> bytes of its files no longer visible."""
    stored: int = 0
    """Bytes of every file version ever added."""
    versions: dict[str, list[tuple[int, int]]] = field(default_factory=dict)
    """Path -> (layer, size) of each regular-file version, for paths written more than once."""
    dive: dict[str, list[int]] = field(default_factory=dict)
    """Path -> [cumulative size, minimum size, count]: dive's efficiency data, for paths seen
    (as a leaf: a file, link or whiteout) more than once; a path seen once adds its size to
    :attr:`dive_single` instead (both its minimum and its cumulative size), which keeps memory
    off the many paths written once."""
    dive_single: int = 0
    gone: dict[str, int] = field(default_factory=dict)
    leaf_dirs: set[str] = field(default_factory=set)
    """Folders seen once, empty (a leaf, size 0), by dive's count."""
    """Paths seen once as a leaf that are no longer there -> that leaf's size (for dive)."""
    problems: list[tuple[int, str, str]] = field(default_factory=list)
    """(layer, path, what is wrong): hardlinks to missing targets and the like."""

    # -- structure ---------------------------------------------------------------------------

    def _attach(self, path: str) -> int:
        """Register ``path`` under its parents (creating implicit parent directories); a
        lower layer's file or link where a parent directory must be is replaced by it, as
        unpacking does. Returns the file bytes so replaced."""
        replaced = 0
        while path:
            parent = parent_of(path)
            if parent:
                blocker = self.nodes.get(parent)
                if blocker is not None and blocker.kind != DIR:
                    del self.nodes[parent]
                    self._gone(parent, blocker)
                    if blocker.kind == FILE and blocker.size:
                        replaced += blocker.size
                        self.shadowed[blocker.layer] += blocker.size
            siblings = self.kids[parent]
            if path in siblings:
                return replaced
            siblings.add(path)
            path = parent
        return replaced

    def _remove(self, path: str, layer: int) -> tuple[int, int]:
        """Remove ``path`` and everything under it; (entries removed, file bytes removed)."""
        count = 0
        size = 0
        stack = [path]
        while stack:
            current = stack.pop()
            node = self.nodes.pop(current, None)
            if node is not None:
                count += 1
                self._gone(current, node)
                if node.kind == FILE and node.size:
                    size += node.size
                    self.shadowed[node.layer] += node.size
            children = self.kids.pop(current, None)
            if children:
                stack.extend(children)
        if path:
            self.kids[parent_of(path)].discard(path)
        return count, size

    def remove(self, path: str, layer: int) -> int:
        """Delete ``path`` and what is under it, as a whiteout in ``layer`` would; the file
        bytes removed."""
        return self._remove(path, layer)[1] if self.exists(path) else 0

    def subtree_size(self, path: str) -> int:
        total = 0
        stack = [path]
        while stack:
            current = stack.pop()
            node = self.nodes.get(current)
            if node is not None and node.kind == FILE:
                total += node.size
            stack.extend(self.kids.get(current, ()))
        return total

    def exists(self, path: str) -> bool:
        return path in self.nodes or bool(self.kids.get(path))

    # -- applying a layer -------------------------------------------------------------------

    def apply(
        self,
        layer: int,
        whiteouts: list[str],
        opaques: list[str],
        entries: list[tuple[str, Node]],
    ) -> LayerChanges:
        changes = LayerChanges()
        for target in whiteouts:
            if not self.exists(target):
                continue  # deleting what no lower layer has: harmless
            was = self.nodes.get(target)
            dive_size = self.subtree_size(target) if was is None or was.kind == DIR else 0
            self._dive(target, dive_size, was, whiteout=True)
            count, size = self._remove(target, layer)
            changes.deleted += count
            changes.deleted_bytes += size
        for folder in opaques:
            for child in list(self.kids.get(folder, ())):
                count, size = self._remove(child, layer)
                changes.deleted += count
                changes.deleted_bytes += size
        # dive counts a folder as a leaf when nothing of this layer lies under it
        inner: set[str] = set()
        for path in (*whiteouts, *(p for p, _ in entries)):
            parent = parent_of(path)
            while parent and parent not in inner:
                inner.add(parent)
                parent = parent_of(parent)
        for path, node in entries:
            self._add(layer, path, node, changes, node.kind == DIR and path not in inner)
        changes.hides = changes.deleted_bytes + changes.overwritten
        return changes

    def _add(
        self, layer: int, path: str, node: Node, changes: LayerChanges, leaf_dir: bool = False
    ) -> None:
        old = self.nodes.get(path)
        if node.kind == HARDLINK:
            target, _ = _clean(node.link)
            linked = self.nodes.get(target)
            if linked is None:
                self.problems.append((layer, path, f"a hardlink to a missing target /{target}"))
        if old is None:
            if path in self.kids and node.kind != DIR:
                # a file over an implicit directory hides what lower layers put under it
                _, size = self._remove(path, layer)
                changes.overwritten += size
                changes.modified += 1
            else:
                changes.added += 1
        else:
            if old.kind == DIR and node.kind == DIR:
                if leaf_dir:
                    self._dive(path, 0, old, folder=True)
                self.nodes[path] = node  # new metadata; the contents stay
                if old.layer != layer:
                    changes.modified += 1
                return
            if old.layer != layer:
                changes.modified += 1
            if node.kind == DIR:
                self._gone(path, old)  # a leaf replaced by a folder
            if old.kind == DIR:
                _, size = self._remove(path, layer)
                changes.overwritten += size
            elif old.kind == FILE and old.size:
                if old.layer != layer:
                    changes.overwritten += old.size
                self.shadowed[old.layer] += old.size
        if node.kind != DIR or leaf_dir:
            self._dive(path, node.size if node.kind == FILE else 0, old, folder=leaf_dir)
        if node.kind == FILE:
            self.stored += node.size
            if old is not None and old.kind == FILE:
                history = self.versions.get(path)
                if history is None:
                    history = self.versions[path] = [(old.layer, old.size)]
                history.append((layer, node.size))
        self.nodes[path] = node
        changes.overwritten += self._attach(path)

    def _dive(
        self, path: str, size: int, old: Node | None, folder: bool = False, whiteout: bool = False
    ) -> None:
        """One sighting of ``path`` as dive counts them (``folder``: an empty folder);
        ``old``: what the path held before."""
        data = self.dive.get(path)
        if data is not None:
            data[0] += size
            data[1] = min(data[1], size)
            data[2] += 1
            return
        before: int | None = None
        if old is not None and old.kind != DIR:  # the second sighting of a leaf
            before = old.size if old.kind == FILE else 0
            self.gone.pop(path, None)
        elif path in self.gone:  # seen before, then deleted or replaced by a folder
            before = self.gone.pop(path)
        elif path in self.leaf_dirs:  # seen before as an empty folder
            self.leaf_dirs.discard(path)
            before = 0
        if before is None:
            if folder:
                self.leaf_dirs.add(path)  # an empty folder's first sighting adds nothing
            elif whiteout:  # rare, and its path is gone from the tree: remember it here
                self.dive[path] = [size, size, 1]
            else:
                self.dive_single += size
        else:
            self.dive_single -= before
            self.dive[path] = [before + size, min(before, size), 2]

    def _gone(self, path: str, node: Node) -> None:
        """A leaf leaves the tree; dive will still count it if the path comes back."""
        if node.kind != DIR and path not in self.dive:
            self.gone[path] = node.size if node.kind == FILE else 0

    def dive_totals(self) -> tuple[int, int, int]:
        """(sum of minimum sizes, sum of cumulative sizes, bytes of paths seen twice or more)."""
        minimum = cumulative = wasted = 0
        for cum, low, count in self.dive.values():
            minimum += low
            cumulative += cum
            if count > 1:
                wasted += cum
        return minimum + self.dive_single, cumulative + self.dive_single, wasted

    # -- reading -----------------------------------------------------------------------------

    def resolve(self, path: str) -> str | None:
        """``path`` with symlinks followed inside the image (never outside its root), or None
        when it does not exist or loops."""
        hops = 0
        parts = path.split("/")
        done: list[str] = []
        while parts:
            part = parts.pop(0)
            current = "/".join([*done, part])
            node = self.nodes.get(current)
            if node is not None and node.kind == SYMLINK:
                hops += 1
                if hops > MAX_SYMLINK_HOPS:
                    return None
                link = node.link
                base = "" if link.startswith("/") else "/".join(done)
                target, _ = _clean(f"{base}/{link}" if base else link)
                parts = [p for p in target.split("/") if p] + parts
                done = []
                continue
            done.append(part)
        resolved = "/".join(done)
        return resolved if self.exists(resolved) else None


def _clean(name: str) -> tuple[str, str | None]:
    return clean_path(name)
