"""``keelhaul slim`` (gzip out) against ``docker save | gzip`` of the same image, side by side.

    python bench/slim_vs_save.py [--image NAME] [--keep] [--runs 1]

Without ``--image`` it builds ``slim-bench:1`` (``--network host``) from the local stand-in
``keelhaul-test/python:3.11-slim-bookworm`` with waste in several layers (a build tree later
deleted, a data file rewritten, an apt list, docs), a few hundred MB. Then, for each run:

- ``docker save IMAGE | gzip -6 > save.tar.gz`` (what a user does to ship an image by hand);
- ``keelhaul slim docker:IMAGE --output docker-archive:slim.tar --compression gzip``.

Both read the image from the engine and write one file; it prints the wall times, the
ratio, the sizes and slim's own report (size, pull time and monthly cost before and after).
Target (issue 20): slim takes at most 2x the ``docker save | gzip``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH_IMAGE = "slim-bench:1"
DOCKERFILE = """\
FROM keelhaul-test/python:3.11-slim-bookworm
RUN mkdir -p /build /data /usr/share/doc/bench \\
 && cp -r /usr/local/lib/python3.11 /build/python-copy \\
 && head -c 60000000 /dev/urandom > /build/objects.bin \\
 && head -c 40000000 /dev/urandom > /data/model.bin \\
 && seq 1 3000000 > /usr/share/doc/bench/changelog
RUN rm -rf /build && head -c 40000000 /dev/urandom > /data/model.bin \\
 && seq 1 2000000 > /var/log/bench.log
RUN cp -r /usr/local/lib/python3.11 /opt/app && rm /var/log/bench.log
CMD ["python3", "-c", "print('ok')"]
"""


def _run(command: str) -> float:
    started = time.perf_counter()
    subprocess.run(command, shell=True, check=True)
    return time.perf_counter() - started


def _slim(arguments: list[str], report: Path) -> tuple[float, int]:
    """Wall seconds and peak RSS (KiB) of one ``keelhaul slim``."""
    started = time.perf_counter()
    with report.open("wb") as out:
        process = subprocess.Popen([sys.executable, "-m", "keelhaul", "slim", *arguments],
                                   stdout=out)  # fmt: skip
        _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode:
        raise SystemExit(f"keelhaul slim failed ({process.returncode})")
    return time.perf_counter() - started, usage.ru_maxrss


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--image", default=None, help="an image in the engine (default: build one)")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--keep", action="store_true", help="keep the built image")
    parser.add_argument("--keep-layers", type=int, default=None,
                        help="passed to slim (the built image: 1, its base's one layer, whose "
                        "history ends in no CMD for keelhaul to tell the base by)")  # fmt: skip
    args = parser.parse_args()
    image = args.image or BENCH_IMAGE
    keep = args.keep_layers if args.keep_layers is not None or args.image else 1
    options = "" if keep is None else f" --keep-layers {keep}"
    if args.image is None:
        with tempfile.TemporaryDirectory() as folder:
            Path(folder, "Dockerfile").write_text(DOCKERFILE)
            subprocess.run(["docker", "build", "-q", "--network", "host", "-t", image, folder],
                           check=True, stdout=subprocess.DEVNULL)  # fmt: skip
    keelhaul = f"{sys.executable} -m keelhaul"
    try:
        with tempfile.TemporaryDirectory(dir=os.environ.get("BENCH_DIR")) as folder:
            save, out = Path(folder, "save.tar.gz"), Path(folder, "slim.tar")
            for run in range(args.runs):
                for path in (save, out):
                    path.unlink(missing_ok=True)
                saving = _run(f"docker save {image} | gzip -6 > {save}")
                slimming, peak = _slim([f"docker:{image}", "--output", f"docker-archive:{out}",
                                        "--compression", "gzip", *options.split(),
                                        "--format", "json"], Path(folder, "report.json"))  # fmt: skip
                report = json.loads(Path(folder, "report.json").read_text())
                print(f"run {run + 1}: docker save | gzip -6: {saving:.1f} s "
                      f"({save.stat().st_size / 1e6:.1f} MB); keelhaul slim: {slimming:.1f} s "
                      f"({out.stat().st_size / 1e6:.1f} MB, peak RSS {peak / 1024:.0f} MB); "
                      f"ratio {slimming / saving:.2f}")  # fmt: skip
            subprocess.run(f"{keelhaul} slim docker:{image} --output docker-archive:{out}{options} --force",
                           shell=True, check=True)  # fmt: skip
            print(json.dumps({k: report[k] for k in ("layers", "uncompressed", "stored",
                                                     "pull_seconds", "cost_month")}))  # fmt: skip
    finally:
        if args.image is None and not args.keep:
            subprocess.run(["docker", "rmi", image], capture_output=True, check=False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
