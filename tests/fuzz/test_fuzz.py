"""The fuzzing suite with a short budget (CI): structure-aware mutants of every input kind
(tests/fuzz/targets.py) through the real command line, in this process. ``python
bench/fuzz.py`` runs the same properties with a long budget and reports time and memory."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from tests.fuzz.targets import TARGETS

#: Examples per target in the test suite (bench/fuzz.py takes thousands).
BUDGET = 12


@pytest.mark.parametrize("name", sorted(TARGETS))
def test_mutants_hold(name: str) -> None:
    strategy, holds = TARGETS[name]

    @settings(max_examples=BUDGET, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))  # fmt: skip
    @given(strategy)
    def run(example: Any) -> None:
        holds(example)

    run()
