"""Scan the test fleet (30 images over three shared bases, ``tests/fleet/fleet_images.py``)
in a real local registry with ``keelhaul fleet scan``, on 1, 2 and 4 worker processes.

    python bench/fleet_scan.py [--workers 1 2 4]

Starts CNCF distribution on a free loopback port, pushes the fleet with skopeo, then runs, for
each worker count, ``keelhaul fleet scan registry:127.0.0.1:PORT --workers N --exclude
team/multi --db TMP`` and ``keelhaul fleet report --format json``; prints the wall time of
each scan (start-up of the Dask cluster included), the layer tasks, and the dedup ratio.
Each worker count starts with an empty layer cache (``KEELHAUL_CACHE_DIR`` in the temporary
folder); a last scan on the largest count reuses its cache, as next week's scan would.
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

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.fleet import fleet_images
from tests.registry.conftest import _start, _stop


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    args = parser.parse_args()
    fleet = fleet_images.make_fleet()
    with tempfile.TemporaryDirectory() as temporary:
        layout = fleet_images.write_layout(fleet, Path(temporary) / "layout")
        registry = _start(None)
        try:
            for made in fleet.images:
                tag = fleet_images.layout_tag(made.repository, made.tag)
                subprocess.run(["skopeo", "copy", "--quiet", "--dest-tls-verify=false",
                                f"oci:{layout}:{tag}",
                                f"docker://{registry.host}/{made.repository}:{made.tag}"],
                               check=True)  # fmt: skip
            runs = [(w, f"cold-{w}") for w in args.workers]
            runs.append((args.workers[-1], f"cold-{args.workers[-1]}"))  # warm: same cache
            for at, (workers, cache) in enumerate(runs):
                warm = at == len(runs) - 1
                os.environ["KEELHAUL_CACHE_DIR"] = str(Path(temporary) / cache)
                db = Path(temporary) / f"fleet-{workers}.sqlite3"
                command = [sys.executable, "-m", "keelhaul", "fleet", "scan",
                           f"registry:{registry.host}", "--workers", str(workers),
                           "--db", str(db)]  # fmt: skip
                started = time.monotonic()
                done = subprocess.run(command, capture_output=True, text=True, check=False)
                seconds = time.monotonic() - started
                if done.returncode != 0:
                    sys.exit(done.stderr)
                report = json.loads(subprocess.run(
                    [sys.executable, "-m", "keelhaul", "fleet", "report", "--db", str(db),
                     "--format", "json"], capture_output=True, text=True, check=True).stdout)  # fmt: skip
                totals = report["totals"]
                print(f"workers {workers}{' (warm layer cache)' if warm else ''}: {seconds:.1f} s wall ({report['seconds']:.1f} s in "
                      f"the scan), {totals['images']} images, {report['layer_tasks']} layer "
                      f"tasks, stored {totals['stored_shared']:,} B shared / "
                      f"{totals['stored_unshared']:,} B unshared: dedup ratio "
                      f"{totals['dedup_ratio']:.2f}x")  # fmt: skip
        finally:
            _stop(registry)


if __name__ == "__main__":
    main()
