"""Read and check every Kubernetes manifest (and, once its reader exists, every Compose file)
of the shared corpus; print files, workloads, containers, findings by code and time taken.

    python bench/runtime_corpus.py [--pss baseline|restricted] [--corpus DIR] [--kind KIND ...]

A format is one row of :data:`READERS`: the corpus folder it reads and a function
``(text, name) -> list[ContainerRun]``. To add Compose: a ``("compose", "compose",
_compose_reader)`` row whose reader imports ``keelhaul.runtime.compose`` (it is picked up
automatically below when that module has ``read_compose``). A file a reader refuses with a
:class:`keelhaul.errors.KeelhaulError` (malformed YAML) is counted as refused, not a crash;
any other exception is a crash and makes the script exit 1.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from keelhaul.errors import KeelhaulError
from keelhaul.runtime.checking import check_runs
from keelhaul.runtime.kubernetes import read_kubernetes
from keelhaul.runtime.model import ContainerRun

ROOT = Path(__file__).resolve().parents[1]
Reader = Callable[[str, str], list[ContainerRun]]


def _optional_reader(module: str, function: str) -> Reader | None:
    try:
        found = getattr(importlib.import_module(module), function, None)
    except ImportError:
        return None
    return found if callable(found) else None


#: (label, corpus folder, reader); a reader that does not exist yet is left out.
READERS: list[tuple[str, str, Reader | None]] = [
    ("kubernetes", "k8s", read_kubernetes),
    ("compose", "compose", _optional_reader("keelhaul.runtime.compose", "read_compose")),
]


def bench(label: str, folder: Path, reader: Reader, pss: str | None) -> bool:
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    codes: Counter[str] = Counter()
    severities: Counter[str] = Counter()
    refused: list[str] = []
    crashed: list[str] = []
    runs_total = 0
    workloads: set[tuple[str, str]] = set()
    read_time = check_time = 0.0
    for path in files:
        text = path.read_text(encoding="utf-8", errors="replace")
        start = time.perf_counter()
        try:
            runs = reader(text, str(path))
        except KeelhaulError as err:
            refused.append(str(err))
            continue
        except Exception as err:
            crashed.append(f"{path}: {type(err).__name__}: {err}")
            continue
        middle = time.perf_counter()
        findings = check_runs(runs, pss=pss)
        check_time += time.perf_counter() - middle
        read_time += middle - start
        runs_total += len(runs)
        workloads.update((r.file, r.workload) for r in runs)
        codes.update(f.code for f in findings)
        severities.update(f.severity.value for f in findings)
    print(f"== {label}: {folder}")
    print(f"files {len(files)}  refused {len(refused)}  crashed {len(crashed)}")
    print(f"workloads {len(workloads)}  containers {runs_total}  findings {sum(codes.values())}")
    total = sum(codes.values())
    print(
        f"findings per container {total / max(runs_total, 1):.2f}  by severity "
        + "  ".join(f"{k} {v}" for k, v in sorted(severities.items()))
    )
    print(f"time: read {read_time:.2f}s  check {check_time:.2f}s")
    for code, count in sorted(codes.items()):
        print(f"  {code} {count}")
    for line in refused[:10]:
        print(f"  refused: {line}")
    for line in crashed:
        print(f"  CRASH: {line}")
    return not crashed


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--corpus", type=Path, default=ROOT.parent / "shared/corpus")
    ap.add_argument("--pss", choices=("baseline", "restricted"), default=None)
    ap.add_argument("--kind", action="append", help="only these formats (kubernetes, compose)")
    opts = ap.parse_args()
    ok = True
    for label, folder, reader in READERS:
        if opts.kind and label not in opts.kind:
            continue
        if reader is None:
            print(f"== {label}: no reader yet, skipped")
            continue
        ok = bench(label, opts.corpus / folder, reader, opts.pss) and ok
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
