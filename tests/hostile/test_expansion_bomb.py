"""Issue 23 item 2: ARG/ENV expansion that doubles at each line is bounded and located.

630 bytes of ``ARG A{i}=${A{i-1}}${A{i-1}}`` once drove ``check``, ``parse``, ``dump`` and
``fix`` past 16 GB. The bound is proved by size arithmetic on the resolved values (no
gigabytes allocated), and the real CLI runs under an address-space limit it could not
exceed if the values were built.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
from pathlib import Path

import pytest

from keelhaul.dockerfile.lex import (
    MAX_EXPANDED_CHARS,
    ExpansionError,
    Lexer,
    expansion_budget,
    expansion_limit,
)
from keelhaul.dockerfile.stages import resolve
from keelhaul.dockerfile.syntax import parse
from keelhaul.settings import Settings

BOMB_LINES = (
    ["FROM alpine", "ARG A0=aaaaaaaaaaaaaaaa"]
    + [f"ARG A{i}=${{A{i - 1}}}${{A{i - 1}}}" for i in range(1, 30)]
    + ["RUN echo $A29"]
)
BOMB = "\n".join(BOMB_LINES) + "\n"
#: What A29 would be unbounded: 16 * 2**29 characters.
UNBOUNDED = 16 * 2**29


def test_the_bomb_is_small_and_would_be_huge() -> None:
    assert len(BOMB) == 630
    assert UNBOUNDED == 8 * 2**30


def test_resolved_values_stay_within_the_limit_and_the_excess_is_located() -> None:
    build = resolve(parse(BOMB))
    total = sum(len(v) for stage in build.stages for v in stage.args.values())
    # Every value is charged once when it is made; a value is no longer than the budget.
    assert max(len(v) for v in build.stages[0].args.values()) <= MAX_EXPANDED_CHARS
    assert total <= 2 * MAX_EXPANDED_CHARS
    assert MAX_EXPANDED_CHARS < 100 * 10**6 // 4  # < 100 MB even as UCS-4
    located = [p for p in build.problems if "max-expanded-size" in p.message]
    assert located
    # The first line over the budget: 16 * (2**(k+1) - 1) characters made by then.
    first = next(k for k in range(30) if 16 * (2 ** (k + 1) - 1) > MAX_EXPANDED_CHARS)
    assert located[0].line == first + 2  # ARG A{first} is on line first + 2


def test_a_smaller_limit_stops_earlier() -> None:
    with expansion_limit(1000):
        build = resolve(parse(BOMB))
    located = [p.line for p in build.problems if "max-expanded-size" in p.message]
    assert located[0] == 8  # A6: 16 + 32 + ... + 1024 > 1000


def test_pattern_replacement_is_bounded_too() -> None:
    lexer = Lexer()
    env = {"A": "a" * 1000}
    with expansion_limit(10_000), pytest.raises(ExpansionError, match="max-expanded-size"):
        lexer.process_word("${A//a/" + "b" * 100 + "}", env)
    with expansion_limit(10_000), expansion_budget():
        assert lexer.process_word("${A//a/bb}", env) == "bb" * 1000


def test_the_setting_is_declared_with_its_default() -> None:
    assert Settings().max_expanded_size == MAX_EXPANDED_CHARS
    text = (Path(__file__).parents[2] / "docs" / "settings.md").read_text()
    assert "max-expanded-size" in text


def _limit_memory() -> None:
    two_gib = 2 << 30
    resource.setrlimit(resource.RLIMIT_AS, (two_gib, two_gib))


@pytest.mark.parametrize(
    "args",
    [("check", "--format", "json"), ("parse",), ("dump",), ("fix",)],
    ids=["check", "parse", "dump", "fix"],
)
def test_cli_finishes_bounded(tmp_path: Path, args: tuple[str, ...]) -> None:
    (tmp_path / "Dockerfile").write_text(BOMB)
    done = subprocess.run(
        [sys.executable, "-m", "keelhaul", *args, "Dockerfile"], cwd=tmp_path,
        capture_output=True, text=True, check=False, timeout=300, preexec_fn=_limit_memory,
    )  # fmt: skip
    assert done.returncode in (0, 1, 2), done.stderr
    assert len(done.stdout) < 64 * MAX_EXPANDED_CHARS
    if args[0] == "check":
        report = json.loads(done.stdout)
        located = [f["line"] for f in report["findings"] if "max-expanded-size" in f["message"]]
        assert located
