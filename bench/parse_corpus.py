"""Parse every Dockerfile of the shared corpus in one process, side by side with the others.

    python bench/parse_corpus.py [--repeat N] [--corpus DIR]

Measures, over the same files in the same run:
- keelhaul: the lossless syntax tree alone; plus the stage model; plus the shell reading of
  every RUN (commands and package operations);
- BuildKit's own Go parser, through the PyPI package ``dockerfile`` (if installed);
- hadolint (parse and lint; the tool people run on Dockerfiles today), one process for all
  files (if installed).
Target: keelhaul's full model well under one second per hundred files.
"""

from __future__ import annotations

import argparse
import contextlib
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from keelhaul.dockerfile.operations import find_operations
from keelhaul.dockerfile.shell import parse_shell
from keelhaul.dockerfile.stages import resolve
from keelhaul.dockerfile.syntax import parse

ROOT = Path(__file__).resolve().parents[1]
TARGET_SECONDS_PER_100 = 1.0


def _best(fn: Callable[[], object], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--repeat", type=int, default=5, help="runs per measurement (best is kept)")
    ap.add_argument("--corpus", type=Path, default=ROOT.parent / "shared/corpus/dockerfiles")
    opts = ap.parse_args()

    files = sorted(p for p in opts.corpus.rglob("*") if p.is_file())
    if not files:
        print(f"no Dockerfiles under {opts.corpus}", file=sys.stderr)
        return 2
    blobs = [(str(p), p.read_bytes()) for p in files]
    texts = [data.decode("utf-8", "replace") for _, data in blobs]
    total_bytes = sum(len(d) for _, d in blobs)

    def syntax_only() -> None:
        for path, data in blobs:
            parse(data, path)

    def with_stages() -> None:
        for path, data in blobs:
            resolve(parse(data, path))

    def full_model() -> None:
        for path, data in blobs:
            tree = parse(data, path)
            resolve(tree)
            for inst in tree.instructions:
                eff = inst.effective
                if eff.name == "RUN" and not eff.json:
                    scripts = [h.content for h in eff.heredocs] or list(eff.values[:1])
                    for script in scripts:
                        find_operations(parse_shell(script))

    rows: list[tuple[str, float]] = [
        ("keelhaul: syntax tree", _best(syntax_only, opts.repeat)),
        ("keelhaul: + stage model", _best(with_stages, opts.repeat)),
        ("keelhaul: + shell commands and package operations", _best(full_model, opts.repeat)),
    ]
    try:
        import dockerfile

        def buildkit() -> None:
            for text in texts:
                with contextlib.suppress(dockerfile.GoParseError):
                    dockerfile.parse_string(text)

        rows.append(("BuildKit's Go parser (dockerfile package)", _best(buildkit, opts.repeat)))
    except ImportError:
        print("(dockerfile package not installed: no BuildKit comparison)")

    hadolint = shutil.which("hadolint") or str(Path(sys.executable).parent / "hadolint")
    if Path(hadolint).exists():

        def run_hadolint() -> None:
            subprocess.run(
                [hadolint, "--no-fail", "--format", "json", *[p for p, _ in blobs]],
                capture_output=True,
                check=False,
            )

        rows.append(("hadolint 2.x (parse + lint, one process)", _best(run_hadolint, 1)))
    else:
        print("(hadolint not installed: no hadolint comparison)")

    print(f"{len(files)} Dockerfiles, {total_bytes / 1024:.0f} KiB, best of {opts.repeat} runs\n")
    print(f"{'what':55} {'total s':>9} {'s/100 files':>12}")
    for name, seconds in rows:
        print(f"{name:55} {seconds:9.3f} {seconds * 100 / len(files):12.4f}")
    full = rows[2][1] * 100 / len(files)
    verdict = "meets" if full < TARGET_SECONDS_PER_100 else "MISSES"
    print(
        f"\nkeelhaul full model: {full:.4f} s/100 files, {verdict} the target of "
        f"{TARGET_SECONDS_PER_100:.1f} s/100 files"
    )
    return 0 if full < TARGET_SECONDS_PER_100 else 1


if __name__ == "__main__":
    sys.exit(main())
