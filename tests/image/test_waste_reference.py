"""Random images checked against slow, obviously-right references: the merged filesystem
(replayed with plain dicts and prefix scans) and dive's efficiency (its algorithm restated:
every leaf of every layer, whiteouts of folders sized from the layers below)."""

from __future__ import annotations

import random

import pytest

from keelhaul.image.analysis import Options, analyse
from tests.image.synthetic import F, file, folder, image, whiteout

NAMES = ["a", "b", "c"]


def random_layers(rng: random.Random) -> list[list[F]]:
    layers: list[list[F]] = []
    for _ in range(rng.randint(1, 5)):
        members: list[F] = []
        used: set[str] = set()
        for _ in range(rng.randint(1, 8)):
            depth = rng.randint(1, 3)
            path = "/".join(rng.choice(NAMES) for _ in range(depth))
            if any(path == u or path.startswith(u + "/") or u.startswith(path + "/") for u in used):
                continue  # one change per path (and its folders) per layer keeps tar order moot
            used.add(path)
            roll = rng.random()
            if layers and roll < 0.3:
                members.append(whiteout(path))
            elif roll < 0.4:
                members.append(folder(path))
            else:
                members.append(file(path, rng.randint(1, 50) * 100))
        layers.append(members)
    return layers


def reference_merge(layers: list[list[F]]) -> dict[str, tuple[str, int]]:
    fs: dict[str, tuple[str, int]] = {}
    for members in layers:
        for m in members:
            name = m.path.rpartition("/")[2]
            if name.startswith(".wh."):
                parent = m.path.rpartition("/")[0]
                target = f"{parent}/{name[4:]}" if parent else name[4:]
                for p in [p for p in fs if p == target or p.startswith(target + "/")]:
                    del fs[p]
        for m in members:
            if m.path.rpartition("/")[2].startswith(".wh."):
                continue
            if m.kind != "dir":
                for p in [p for p in fs if p.startswith(m.path + "/")]:
                    del fs[p]
            parts = m.path.split("/")
            for i in range(1, len(parts)):  # a file in the way of a folder is replaced by it
                prefix = "/".join(parts[:i])
                if prefix in fs and fs[prefix][0] != "dir":
                    del fs[prefix]
            fs[m.path] = (m.kind, len(m.data))
    return fs


def reference_dive(layers: list[list[F]]) -> tuple[float, int]:
    data: dict[str, list[int]] = {}
    for index, members in enumerate(layers):
        below = reference_merge(layers[:index])
        explicit = {m.path for m in members}
        for m in members:
            name = m.path.rpartition("/")[2]
            if name.startswith(".wh."):
                parent = m.path.rpartition("/")[0]
                path = f"{parent}/{name[4:]}" if parent else name[4:]
                if path not in below and not any(p.startswith(path + "/") for p in below):
                    continue  # dive fails on a whiteout of nothing; keelhaul skips it
                is_dir = below.get(path, ("dir", 0))[0] == "dir"
                size = (
                    sum(s for p, (k, s) in below.items() if p.startswith(path + "/"))
                    if is_dir
                    else 0
                )
            elif m.kind == "dir":
                if any(p.startswith(m.path + "/") for p in explicit):
                    continue  # not a leaf
                path, size = m.path, 0
            else:
                path, size = m.path, len(m.data)
            entry = data.setdefault(path, [0, -1, 0])
            entry[0] += size
            entry[1] = size if entry[1] < 0 else min(entry[1], size)
            entry[2] += 1
    cumulative = sum(e[0] for e in data.values())
    minimum = sum(e[1] for e in data.values())
    wasted = sum(e[0] for e in data.values() if e[2] >= 2)
    return (minimum / cumulative if cumulative else 1.0), wasted


@pytest.mark.parametrize("seed", range(150))
def test_merge_and_waste_match_the_reference(seed: int) -> None:
    rng = random.Random(seed)
    layers = random_layers(rng)
    report = analyse(image(layers), Options(workers=1))
    expected = reference_merge(layers)
    live = sum(size for kind, size in expected.values() if kind == "file")
    stored = sum(len(m.data) for members in layers for m in members if m.kind == "file")
    assert report.content_size == live
    assert report.files == sum(1 for kind, _ in expected.values() if kind == "file")
    assert report.waste.overwritten + report.waste.deleted == stored - live
    assert sum(layer.hides_size for layer in report.layers) == stored - live
    assert sum(layer.shadowed_size for layer in report.layers) == stored - live


@pytest.mark.parametrize("seed", range(150))
def test_dive_metrics_match_dive(seed: int) -> None:
    rng = random.Random(seed)
    layers = random_layers(rng)
    report = analyse(image(layers), Options(workers=1))
    efficiency, wasted = reference_dive(layers)
    assert report.waste.dive.wasted_bytes == wasted
    assert report.waste.dive.efficiency == pytest.approx(efficiency)
