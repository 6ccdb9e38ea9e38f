from __future__ import annotations

import os
from collections import Counter

import pytest

#: Counters that corpus tests fill, printed at the end of the run ("compared N files").
CORPUS_STATS: dict[str, Counter[str]] = {}


def corpus_stats(name: str) -> Counter[str]:
    return CORPUS_STATS.setdefault(name, Counter())


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    for name, counts in sorted(CORPUS_STATS.items()):
        parts = ", ".join(f"{k}: {v}" for k, v in sorted(counts.items()))
        terminalreporter.write_line(f"corpus {name}: {parts}")


def docker_required() -> bool:
    return os.environ.get("KEELHAUL_REQUIRE_DOCKER") == "1"
