"""The cache model over the real Dockerfile corpus with synthetic file sets: it must not crash,
and its answers must hang together."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from keelhaul.cache.expensive import expensive_steps
from keelhaul.cache.keys import CacheModel
from keelhaul.cache.rebuilds import Change, rebuilds
from keelhaul.cache.reorder import reordered
from keelhaul.context.build_context import BuildContext
from keelhaul.dockerfile.syntax import Dockerfile, parse
from tests.corpus import parsed_dockerfiles

#: Paths a typical change touches; the model decides which any COPY reads.
SYNTHETIC = (
    "src/main.go",
    "app/index.js",
    "package.json",
    "requirements.txt",
    "README.md",
    "Dockerfile",
    "config/settings.yaml",
)
UNUSED = "zz-keelhaul-never-copied/file.bin"


pytestmark = pytest.mark.corpus


def _trees() -> list[Dockerfile]:
    return [f.tree for f in parsed_dockerfiles() if not f.tree.errors]


def test_model_answers_are_consistent_on_the_corpus() -> None:
    trees = _trees()
    started = time.process_time()
    checked = 0
    for tree in trees:
        model = CacheModel.of(tree)
        needed = set(model.needed)
        layered = {s.stage.index: [st for st in s.steps if st.makes_layer] for s in model.stages}
        # nothing changed: nothing rebuilds
        assert rebuilds(model, Change()).rebuilt_steps == [], tree.path
        # cold cache: every layer of every needed stage runs, unused stages do not
        cold = rebuilds(model, Change(cached_keys=frozenset()))
        for s in cold.stages:
            expected = layered[s.stage.stage.index] if s.stage.stage.index in needed else []
            assert list(s.rebuilt) == expected, tree.path
        # a file no step reads rebuilds nothing
        steps = [st for s in model.stages for st in s.steps]
        if not any(st.reads(UNUSED) for st in steps):
            assert rebuilds(model, Change(frozenset({UNUSED}))).rebuilt_steps == [], tree.path
        for name in SYNTHETIC:
            result = rebuilds(model, Change(frozenset({name})))
            for s in result.stages:
                if not s.built:
                    assert not s.rebuilt, tree.path
                    continue
                # what rebuilds is the tail of the stage from the first miss
                layers = layered[s.stage.stage.index]
                if s.first_miss is not None:
                    assert list(s.rebuilt) == layers[layers.index(s.first_miss) :], tree.path
                    direct = s.first_miss.reads(name) or bool(s.first_miss.stages)
                    assert direct, (tree.path, s.first_miss.line)
                else:
                    assert not s.rebuilt
        checked += 1
    elapsed = time.process_time() - started
    assert checked > 100
    assert elapsed < 30, f"{elapsed:.1f}s for {checked} Dockerfiles"


def test_copy_everything_rebuilds_on_any_sent_file() -> None:
    hits = 0
    for tree in _trees():
        model = CacheModel.of(tree)
        needed = set(model.needed)
        whole = [
            st
            for s in model.stages
            if s.stage.index in needed
            for st in s.steps
            if st.context and any(c.text == "." for c in st.context) and st.excludes is None
        ]
        if not whole:
            continue
        hits += 1
        result = rebuilds(model, Change(frozenset({"some/new/file.txt"})))
        rebuilt = {id(st) for st in result.rebuilt_steps}
        assert all(id(st) in rebuilt for st in whole), tree.path
    assert hits > 20


MANIFESTS = ("package.json", "package-lock.json", "requirements.txt", "go.mod", "go.sum",
             "Gemfile", "Gemfile.lock", "composer.json", "composer.lock", "src/main.c")  # fmt: skip


def test_reorder_never_rebuilds_more_expensive_steps_for_a_source_change(tmp_path: Path) -> None:
    for name in MANIFESTS:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("{}\n")
    context = BuildContext.read(tmp_path, tmp_path / "Dockerfile")
    changed = 0
    for tree in _trees():
        text = tree.render()
        fixed_text = reordered(text, context, name=tree.path)
        if fixed_text is None:
            continue
        changed += 1
        fixed_tree = parse(fixed_text, tree.path)
        assert not fixed_tree.errors, tree.path
        before, after = CacheModel.of(tree), CacheModel.of(fixed_tree)
        source = Change(frozenset({"src/app/main.py", "src/index.js", "main.go"}))
        costly_before = expensive_steps(tree)
        costly_after = expensive_steps(fixed_tree)
        n_before = sum(st.line in costly_before for st in rebuilds(before, source).rebuilt_steps)
        n_after = sum(st.line in costly_after for st in rebuilds(after, source).rebuilt_steps)
        assert n_after <= n_before, tree.path
    assert changed >= 5
