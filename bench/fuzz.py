"""Long fuzzing runs: every target of tests/fuzz/targets.py (Dockerfiles, Kubernetes and
Compose files, configurations, OSV records, OCI layouts) with many more examples than the
test suite gives them, through the real command line in this process.

    python bench/fuzz.py --examples 500            # every target
    python bench/fuzz.py --examples 2000 dockerfile osv

For each target: examples run, failures (exit 3, a hang past the harness's time limit, a
secret printed, a write outside the project, a fix that is not idempotent; hypothesis shrinks
the first one and it is printed), seconds, and the process's peak memory after the target.
Exits 1 when any target failed.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
import traceback
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hypothesis import HealthCheck, given, seed, settings
from tests.fuzz.targets import TARGETS


def run_target(name: str, examples: int, seed_value: int) -> tuple[int, str | None, float]:
    strategy, holds = TARGETS[name]
    count = 0

    @seed(seed_value)
    @settings(max_examples=examples, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))  # fmt: skip
    @given(strategy)
    def run(example: Any) -> None:
        nonlocal count
        count += 1
        holds(example)

    started = time.monotonic()
    failure = None
    try:
        run()
    except Exception:  # a failed property: hypothesis re-raises the shrunk example's error
        failure = traceback.format_exc(limit=3)
    return count, failure, time.monotonic() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("targets", nargs="*", choices=[*sorted(TARGETS), []], default=[])
    parser.add_argument("--examples", type=int, default=500, help="examples per target")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    failed = False
    print("| target | examples | failures | seconds | peak RSS (MiB) |")
    print("|---|---|---|---|---|")
    for name in args.targets or sorted(TARGETS):
        count, failure, took = run_target(name, args.examples, args.seed)
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
        print(f"| {name} | {count} | {0 if failure is None else 1} | {took:.0f} | {peak} |",
              flush=True)  # fmt: skip
        if failure is not None:
            failed = True
            print(failure, file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
