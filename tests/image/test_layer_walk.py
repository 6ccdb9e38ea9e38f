"""The one layer walk: every analyzer fed in one read of each layer, whiteouts told apart once,
and the per-layer cache keyed by the layer's DiffID and each analyzer's name and version."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from keelhaul.image.layer_cache import LayerCache
from keelhaul.image.layer_walk import (
    Analyzer,
    LayerAnalysis,
    LayerRead,
    Member,
    walk_layer,
    walk_layers,
)
from keelhaul.image.model import Layer, LayerError
from keelhaul.sbom import image_files
from keelhaul.sbom.image_files import PACKAGE_FACTS
from tests.image.synthetic import Spec, counted, file, folder, image, opaque, whiteout


class Paths(Analyzer[list[str]]):
    """A cached analyzer that keeps every path, whiteout and opaque folder it is shown."""

    cached = True

    def __init__(self, name: str = "paths", version: str = "1") -> None:
        self.name = name
        self.version = version

    def start(self, layer: Layer) -> LayerAnalysis[list[str]]:
        return _PathsOfLayer()

    def encode(self, result: list[str]) -> bytes:
        return "\n".join(result).encode()

    def decode(self, data: bytes) -> list[str]:
        return data.decode().split("\n") if data else []


class _PathsOfLayer(LayerAnalysis[list[str]]):
    def __init__(self) -> None:
        self.seen: list[str] = []

    def member(self, member: Member) -> None:
        self.seen.append(member.path)

    def whiteout(self, member: Member, target: str) -> None:
        self.seen.append(f"-{target}")

    def opaque(self, member: Member, folder: str) -> None:
        self.seen.append(f"opaque {folder}")

    def finish(self, read: LayerRead) -> list[str]:
        return self.seen


class Heads(Analyzer[dict[str, bytes]]):
    """An uncached analyzer that keeps the first 4 bytes of every file, and no more."""

    name = "heads"
    version = "1"

    def start(self, layer: Layer) -> LayerAnalysis[dict[str, bytes]]:
        return _HeadsOfLayer()


class _Head:
    def __init__(self, into: dict[str, bytes], path: str) -> None:
        self.into, self.path, self.data = into, path, b""

    def add(self, chunk: memoryview) -> bool:
        self.data += bytes(chunk[: 4 - len(self.data)])
        return len(self.data) < 4

    def end(self) -> None:
        self.into[self.path] = self.data


class _HeadsOfLayer(LayerAnalysis[dict[str, bytes]]):
    def __init__(self) -> None:
        self.heads: dict[str, bytes] = {}

    def member(self, member: Member) -> _Head | None:
        return _Head(self.heads, member.path) if member.entry.kind == "file" else None

    def finish(self, read: LayerRead) -> dict[str, bytes]:
        return self.heads


def layers() -> list[Spec]:
    return [
        Spec([folder("etc"), file("etc/passwd", b"root:x:0:0::/root:/bin/sh\n"),
              file("srv/a", b"aaaa-more"), file("srv/b", b"bb")]),
        Spec([whiteout("srv/a"), opaque("etc"), file("etc/group", b"root:x:0:\n"),
              file("../y", b"climbs")]),
    ]  # fmt: skip


def test_every_analyzer_is_fed_in_one_read_of_each_layer() -> None:
    img, opens = counted(image(layers()))
    walked = list(walk_layers(img, [Paths(), Heads()], workers=1))
    assert opens == [1, 1]
    assert walked[0].results["paths"] == ["etc", "etc/passwd", "srv/a", "srv/b"]
    assert walked[1].results["paths"] == ["-srv/a", "opaque etc", "etc/group", "y"]
    assert walked[0].results["heads"] == {"etc/passwd": b"root", "srv/a": b"aaaa", "srv/b": b"bb"}


def test_a_member_that_climbs_is_marked_and_reported() -> None:
    layer = image(layers()).layers[1]
    seen: list[bool] = []

    class Climbs(Paths):
        def start(self, layer: Layer) -> LayerAnalysis[list[str]]:
            analysis = super().start(layer)
            member = analysis.member

            def spy(m: Member) -> None:
                seen.append(m.climbs)
                member(m)

            analysis.member = spy  # type: ignore[method-assign]
            return analysis

    class Problems(Analyzer[list[tuple[str, str]]]):
        name = "problems"

        def start(self, layer: Layer) -> LayerAnalysis[list[tuple[str, str]]]:
            class Of(LayerAnalysis[list[tuple[str, str]]]):
                def finish(self, read: LayerRead) -> list[tuple[str, str]]:
                    return read.problems

            return Of()

    _, problems = walk_layer(layer, [Climbs(), Problems()])
    assert seen == [False, True]
    assert [name for name, _ in problems] == ["../y"]


def test_each_analyzers_cache_entry_is_keyed_by_diff_id_and_version(tmp_path: Path) -> None:
    with LayerCache(tmp_path / "layers.sqlite3") as cache:
        img, opens = counted(image(layers()))
        first = [w.read for w in walk_layers(img, [Paths()], cache, workers=1)]
        again = list(walk_layers(img, [Paths()], cache, workers=1))
        assert (first, [w.read for w in again], opens) == ([True, True], [False, False], [1, 1])
        assert again[1].results["paths"] == ["-srv/a", "opaque etc", "etc/group", "y"]
        diff_id = img.layers[0].diff_id
        assert cache.lookup(diff_id, Paths()) == ["etc", "etc/passwd", "srv/a", "srv/b"]
        # a new version of the analyzer misses every entry of the old one
        assert cache.lookup(diff_id, Paths(version="2")) is None
        bumped = [w.read for w in walk_layers(img, [Paths(version="2")], cache, workers=1)]
        assert bumped == [True, True]
        assert opens == [2, 2]
        # another analyzer, even of the same version, has entries of its own
        assert cache.lookup(diff_id, Paths(name="other")) is None
        # another layer (another DiffID) misses; the shared base is found
        other, other_opens = counted(image([layers()[0], Spec([file("z", b"z")])]))
        assert [w.read for w in walk_layers(other, [Paths()], cache, workers=1)] == [False, True]
        assert other_opens == [0, 1]
        # an uncached analyzer beside a cached one: the layer is read once, for it alone
        img2, opens2 = counted(image(layers()))
        mixed = list(walk_layers(img2, [Paths(), Heads()], cache, workers=1))
        assert opens2 == [1, 1]
        assert mixed[0].results["paths"] == ["etc", "etc/passwd", "srv/a", "srv/b"]
        assert "srv/b" in mixed[0].results["heads"]


def test_the_package_facts_entry_misses_when_its_version_is_bumped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with image_files.LayerCache(tmp_path / "layers.sqlite3") as cache:
        img = image(layers())
        assert image_files.image_files(img, cache)[1] == 2
        assert image_files.image_files(img, cache)[1] == 0
        monkeypatch.setattr(PACKAGE_FACTS, "version", "next")
        assert cache.get(img.layers[0].diff_id) is None
        assert image_files.image_files(img, cache)[1] == 2
        assert image_files.image_files(img, cache)[1] == 0


def test_a_damaged_cache_entry_is_read_again(tmp_path: Path) -> None:
    with LayerCache(tmp_path / "layers.sqlite3") as cache:
        img = image(layers())
        cache.store(img.layers[0].diff_id, PACKAGE_FACTS, image_files.LayerFacts(["/a"]))
        cache._db.execute("UPDATE analyses SET result = x'00'")
        assert cache.lookup(img.layers[0].diff_id, PACKAGE_FACTS) is None


def test_a_failing_layer_is_one_error_naming_it() -> None:
    img = image([Spec(b"not a tar" * 100)])
    with pytest.raises(LayerError, match=r"^layer 1 \("):
        list(walk_layers(img, [Paths()], workers=1))


def test_walks_in_threads_keep_the_order() -> None:
    img = image([Spec([file(f"f{k}", b"x")]) for k in range(6)])
    walked: list[Any] = list(walk_layers(img, [Paths()], workers=3))
    assert [w.results["paths"] for w in walked] == [[f"f{k}"] for k in range(6)]


def test_one_bomb_guard_for_the_stream_and_the_walk() -> None:
    from keelhaul.image.analysis import Options
    from keelhaul.image.bomb_guard import MAX_RATIO, RATIO_FLOOR, BombGuard
    from keelhaul.image.sources.streams import SourceLimits

    limits, options = SourceLimits(), Options()
    assert (limits.max_ratio, limits.ratio_floor) == (MAX_RATIO, RATIO_FLOOR)
    assert (options.max_ratio, options.ratio_floor) == (MAX_RATIO, RATIO_FLOOR)
    guard = BombGuard(max_ratio=10, ratio_floor=100)
    assert not guard.exceeded(100, 1)  # under the floor
    assert not guard.exceeded(1000, 100)
    assert guard.exceeded(1001, 100)
    with pytest.raises(LayerError, match=r"^layer 2 \(x\): decompression bomb: 1001 bytes"):
        guard.check(1001, 100, "layer 2 (x)")
