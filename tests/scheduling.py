"""How pytest-xdist deals the tests to its workers (``-n auto --dist loadgroup`` in pyproject).

xdist's own ``loadgroup`` reads ``xdist_group`` marks through a node-id suffix that pytest 9.2
no longer carries (pytest-dev/pytest-xdist#1386), so keelhaul decides the groups itself, from
the test modules' source, identically in the controller and in every worker:

- ``engine``: every module with a ``docker`` mark or a test that takes an engine fixture.
  All of them run in one worker, one after another, as without xdist: builds never run side
  by side and ``docker builder prune`` (tests/conftest.py) never runs under a build.
- ``registry``: the modules of tests/registry, whose session fixtures start registries.
- each ``corpus`` test (each parametrisation) alone: they are the long ones.
- every other module whole, so that its module-scoped fixtures are made once.

Workers also put the engine modules first, then the corpus tests, so the long work starts
early and the two workers finish together.
"""

from __future__ import annotations

import ast
import functools
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]

#: Fixtures that talk to a Docker Engine (tests/conftest.py).
ENGINE_FIXTURES = frozenset({"docker_engine", "buildkit_docker", "python_standins"})


def _mark_names(node: ast.expr) -> set[str]:
    """``pytest.mark.NAME`` marks in a decorator or a ``pytestmark`` value."""
    found = set()
    for sub in ast.walk(node):
        if (
            isinstance(sub, ast.Attribute)
            and isinstance(sub.value, ast.Attribute)
            and sub.value.attr == "mark"
        ):
            found.add(sub.attr)
    return found


@functools.cache
def _module(path: str) -> tuple[bool, frozenset[str]]:
    """Whether a test module uses the engine, and which of its test functions are ``corpus``."""
    try:
        tree = ast.parse((ROOT / path).read_text(encoding="utf-8"))
    except (OSError, SyntaxError, ValueError):
        return False, frozenset()
    module_marks: set[str] = set()
    for stmt in tree.body:
        if isinstance(stmt, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "pytestmark" for t in stmt.targets
        ):
            module_marks |= _mark_names(stmt.value)
    engine = "docker" in module_marks
    corpus: set[str] = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        marks = set().union(*(_mark_names(d) for d in node.decorator_list))
        args = {a.arg for a in node.args.args + node.args.kwonlyargs}
        if "docker" in marks or ENGINE_FIXTURES & args:
            engine = True
        if node.name.startswith("test") and ("corpus" in marks or "corpus" in module_marks):
            corpus.add(node.name)
    return engine, frozenset(corpus)


def group_of(nodeid: str) -> str:
    """The work unit a test belongs to (see the module's docstring)."""
    path, _, rest = nodeid.partition("::")
    engine, corpus = _module(path)
    if engine:
        return "engine"
    if path.startswith("tests/registry/"):
        return "registry"
    function = rest.rsplit("::", 1)[-1].split("[", 1)[0]
    if function in corpus:
        return nodeid
    return path


def order(nodeid: str) -> int:
    """Workers run the engine modules first, then the corpus tests, then the rest."""
    group = group_of(nodeid)
    if group == "engine":
        return 0
    return 1 if group == nodeid else 2


def make_scheduler(config: Any, log: Any) -> Any:
    from xdist.scheduler import LoadScopeScheduling

    class Scheduling(LoadScopeScheduling):  # type: ignore[misc]
        def _split_scope(self, nodeid: str) -> str:
            return group_of(nodeid)

    config.option.loadscopereorder = False  # the workers' order stands (see ``order``)
    return Scheduling(config, log)
