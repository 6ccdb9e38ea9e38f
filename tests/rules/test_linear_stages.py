"""A Dockerfile's check costs time and memory linear in its stages and its ARG/ENV lines
(issue 23: a rule that walked every stage or every RUN for each stage, and a copy of the
stage names for each FROM, made 8,000 stages take 22 s and 935 MiB; a copy of the variables
for each ARG and ENV line made 1,000 of each take 135 MiB).

Counted, not timed: the Python calls (built-in ones too) and the peak of traced memory for
N, 2N and 4N stages. The constant part (imports, rule set-up) cancels out of the increments,
so the second increment is about twice the first when the cost is linear and four times
when it is quadratic."""

from __future__ import annotations

import gc
import sys
import tracemalloc
from collections.abc import Callable
from types import FrameType
from typing import Any

import pytest

from keelhaul.dockerfile.syntax import parse
from keelhaul.rules.engine import check_context, check_dockerfile
from keelhaul.rules.registry import DockerfileContext
from keelhaul.rules.shellcheck import scripts_of


def stages(n: int) -> str:
    """``n`` stages, each copying from the one before (the benchmark's shape, plus COPY)."""
    return "".join(
        f"FROM alpine:3.20 AS s{i}\nRUN echo {i} | tee /x\n"
        + (f"COPY --from=s{i - 1} /x /x\n" if i else "")
        for i in range(n)
    )


def builder_chains(n: int) -> str:
    """Stages built FROM earlier ones in chains of three, with ARG, ENV, WORKDIR and USER."""
    return "ARG BASE=debian:12.5\n" + "".join(
        (f"FROM ${{BASE}} AS s{i}\n" if i % 3 == 0 else f"FROM s{i - 1} AS s{i}\n")
        + f"ARG V{i}=x{i}\nENV E{i}=${{V{i}}}\nWORKDIR /w{i}\n"
        + f"RUN apt-get install -y curl && curl -o /x http://example.com/{i} | sh\n"
        + (f"COPY --from=s{i // 2} /x /x\n" if i else "")
        + (f"USER u{i}\n" if i % 5 == 0 else "")
        for i in range(n)
    )


def deep_chain(n: int) -> str:
    """Each stage built FROM the one before, so the last one's chain is ``n`` stages deep, each
    adding ARG, ENV, a piped download and a CMD (rules that walked back the chain from every
    stage, or copied the variables it inherits, made 2,000 stages take 4.6 s)."""
    return "FROM debian:12.5 AS s0\nRUN echo 0\n" + "".join(
        f"FROM s{i - 1} AS s{i}\nARG V{i}=x{i}\nENV E{i}=${{V{i}}}\n"
        f"RUN apt-get install -y curl && wget http://example.com/{i}.tgz | tee /x && echo $E{i}\n"
        f"CMD echo {i}\n"
        for i in range(1, n)
    )


def args_envs(n: int) -> str:
    """One stage with ``n`` ARG and ``n`` ENV lines (the benchmark's shape)."""
    lines = [f"ARG A{i}=v{i}\nENV E{i}=${{A{i}}}\n" for i in range(n)]
    return "FROM debian:12.5\n" + "".join(lines) + "RUN echo $E0\n"


def check(text: str) -> None:
    """The rules and the scripts gathered for ShellCheck (not run: its cost is its own)."""
    ctx = DockerfileContext.of(parse(text))
    check_context(ctx)
    list(scripts_of(ctx))


def calls(text: str) -> int:
    """Python and built-in calls made by checking ``text``."""
    count = 0

    def profile(frame: FrameType, event: str, arg: Any) -> None:
        nonlocal count
        if event in ("call", "c_call"):
            count += 1

    sys.setprofile(profile)
    try:
        check(text)
    finally:
        sys.setprofile(None)
    return count


def peak_memory(text: str) -> int:
    """The peak of traced memory while checking ``text``, in bytes (after a collection, so
    when the collector runs during the check does not depend on the tests run before)."""
    gc.collect()
    tracemalloc.start()
    try:
        check(text)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def increment_ratio(measure: Callable[[str], int], make: Callable[[int], str], n: int) -> float:
    check(make(4 * n))  # fill the caches (imports, patterns, memoised words) first
    small, middle, large = (measure(make(size)) for size in (n, 2 * n, 4 * n))
    return (large - middle) / (middle - small)


SHAPES = [pytest.param(stages, 100, id="stages"),
          pytest.param(builder_chains, 50, id="builder-chains"),
          pytest.param(deep_chain, 100, id="deep-chain"),
          pytest.param(args_envs, 200, id="arg-env")]  # fmt: skip


@pytest.mark.parametrize(("make", "n"), SHAPES)
def test_calls_grow_linearly(make: Callable[[int], str], n: int) -> None:
    ratio = increment_ratio(calls, make, n)
    assert ratio < 2.3, f"calls grow {ratio:.2f}x per doubling (2 is linear, 4 quadratic)"


@pytest.mark.parametrize(("make", "n"), SHAPES)
def test_memory_grows_linearly(make: Callable[[int], str], n: int) -> None:
    ratio = increment_ratio(peak_memory, make, n)
    assert ratio < 2.3, f"peak memory grows {ratio:.2f}x per doubling (2 is linear, 4 quadratic)"


def test_a_scope_keeps_its_values_after_thousands_of_changes() -> None:
    """Scopes used to share one dictionary past 2,000 ARG/ENV changes in a stage, so an early
    instruction saw a variable set only later, and its use before the ENV went unreported."""
    text = ("FROM debian:12.5\n" + "".join(f"ENV E{i}=v{i}\n" for i in range(2_100))
            + "WORKDIR /$LATE\nENV LATE=1\n")  # fmt: skip
    found = [f for f in check_dockerfile(parse(text)) if f.code == "KH144"]
    assert [(f.location.line, f.message) for f in found] == [
        (2_102, "$LATE is used before the ENV on line 2103 defines it, so it is empty here")
    ]
