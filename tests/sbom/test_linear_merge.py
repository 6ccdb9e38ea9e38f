"""The SBOM's file view merges layers in linear time: a whiteout deletes a path and what is
below it through the one merge's path tree (:class:`keelhaul.image.filesystem.MergedFilesystem`),
never by scanning every path. Counted in dictionary operations, not in seconds."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from keelhaul.image import filesystem
from keelhaul.sbom import image_files
from keelhaul.sbom.image_files import ImageFiles, LayerFacts


class Counter:
    ops = 0


class CountingDict(dict[Any, Any]):
    """A dict that counts lookups, writes and every element an iteration visits."""

    def __getitem__(self, key: Any) -> Any:
        Counter.ops += 1
        return super().__getitem__(key)

    def __setitem__(self, key: Any, value: Any) -> None:
        Counter.ops += 1
        super().__setitem__(key, value)

    def __delitem__(self, key: Any) -> None:
        Counter.ops += 1
        super().__delitem__(key)

    def __contains__(self, key: object) -> bool:
        Counter.ops += 1
        return super().__contains__(key)

    def get(self, key: Any, default: Any = None) -> Any:
        Counter.ops += 1
        return super().get(key, default)

    def pop(self, key: Any, *default: Any) -> Any:
        Counter.ops += 1
        return super().pop(key, *default)

    def __iter__(self) -> Iterator[Any]:
        Counter.ops += len(self)
        return super().__iter__()

    def items(self) -> Any:
        Counter.ops += len(self)
        return super().items()

    def keys(self) -> Any:
        Counter.ops += len(self)
        return super().keys()

    def values(self) -> Any:
        Counter.ops += len(self)
        return super().values()


class CountingKids(CountingDict):
    """The merge's folder -> children map (a ``defaultdict(set)``), counted."""

    def __missing__(self, key: Any) -> set[str]:
        made: set[str] = set()
        super().__setitem__(key, made)
        return made


def counted_merge() -> filesystem.MergedFilesystem:
    return filesystem.MergedFilesystem(nodes=CountingDict(), kids=CountingKids())  # type: ignore[arg-type]


def layer_set(n: int) -> list[tuple[str, LayerFacts]]:
    """``n`` files, then ``n`` whiteouts: half delete single files of one big folder, half
    delete a folder each (with the file below it)."""
    half = n // 2
    base = LayerFacts(
        files=[f"/flat/f{k}" for k in range(half)] + [f"/d{k}/f" for k in range(n - half)]
    )
    top = LayerFacts(
        files=["/kept"],
        deleted=[f"/flat/f{k}" for k in range(half)] + [f"/d{k}" for k in range(n - half)],
    )
    return [("sha256:base", base), ("sha256:top", top)]


def operations(n: int, monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setattr(image_files, "MergedFilesystem", counted_merge)
    Counter.ops = 0
    files = ImageFiles(layer_set(n))
    assert list(files.paths()) == ["/kept"]
    return Counter.ops


def test_twenty_thousand_whiteouts_merge_in_linear_time(monkeypatch: pytest.MonkeyPatch) -> None:
    small = operations(10_000, monkeypatch)
    large = operations(20_000, monkeypatch)
    # a scan of every path per whiteout would be 20k x 20k = 4e8 operations, and 4x the
    # smaller set's; the one merge does a bounded number per path and per whiteout
    assert large <= 20 * 40_000
    assert large / small < 2.2


def test_whiteouts_and_opaque_folders_in_the_merged_view() -> None:
    base = LayerFacts(files=["/a/b/c", "/a/d", "/e", "/o/x", "/o/y/z"])
    top = LayerFacts(files=["/o/new", "/e/f"], deleted=["/a/b"], opaque=["/o"])
    files = ImageFiles([("sha256:1", base), ("sha256:2", top)])
    # /e was a file: a file below it replaces it, as unpacking does
    assert list(files.paths()) == ["/a/d", "/e/f", "/o/new"]
    assert files.layer_of("/a/d") == "sha256:1"
    assert files.layer_of("/o/new") == "sha256:2"
