"""Scan the test fleet (30 images over three shared bases, ``tests/fleet/fleet_images.py``)
in a real local registry with ``keelhaul fleet``'s scan, on Dask clusters of 1, 2 and 4
worker processes, and extrapolate to a registry of 10,000 images.

    python bench/fleet_scan.py [--workers 1 2 4] [--images 10000] [--layer-mb 20]

Starts CNCF distribution on a free loopback port and pushes the fleet with skopeo. For each
worker count: a fresh local cluster (worker processes, one thread each) and an empty layer
cache, ``keelhaul.fleet.scan.scan(["registry:127.0.0.1:PORT"], ...)`` into a temporary SQLite
database, twice: a first scan warms the workers up (imports, registry connections), the
second is measured, with Dask's task stream recording every task's compute time, both
without the layer cache (every layer fetched and walked); then ``keelhaul fleet report``'s
totals. A last scan on the largest count takes every layer from the layer cache the one
before it filled, as next week's scan would. Last, the command line itself, timed whole
(Python, the cluster's start and the scan): ``keelhaul fleet scan registry:127.0.0.1:PORT
--workers 2 --no-layer-cache --db TMP``.

The model (printed with its numbers, and written up in docs/benchmarks.md "Fleet"):

    unique layers   U = N * o + B * k         (o: layers of an image's own, held by no other
                                               image; B bases in use of k layers each)
    layer work      W_l = U * (a + b * S)     (a: a layer task's fixed cost, b: per MB)
    image work      W_i = N * c               (c: an image task's time)
    client          T_c = N * m               (m: reading one manifest and config, per image)
    scan time       T(w) = T_c + (W_l + W_i) / (w * e_w)

``a`` and ``b`` are fitted (least squares) on the layer tasks' compute times against their
uncompressed sizes; ``c`` and ``m`` are means; ``e_w`` is the parallel efficiency measured
with w workers (the one-worker task time over w times the w-worker time). ``S`` is the mean
unique layer size: the test fleet's, and ``--layer-mb`` for a registry of real layers. The
fleet's layers are 0.05-0.55 MB, too small to pin ``b`` for real layers: for those the model
also takes ``--image-ms-per-mb`` (default 1.87: ``keelhaul image`` on the 1.9 GB gzip OCI
layout of docs/benchmarks.md, 3.55 s).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.fleet import fleet_images
from tests.registry.conftest import _start, _stop

from keelhaul.fleet.report import build_report
from keelhaul.fleet.scan import ScanSettings, scan
from keelhaul.fleet.sources import Selection
from keelhaul.fleet.store import open_store
from keelhaul.fleet.work import Connection
from keelhaul.image import cost as cost_model

MB = 1_000_000


@dataclass
class Run:
    workers: int
    warm: bool
    wall: float
    """The scan, from the catalog to the stored snapshot (the cluster already started)."""
    startup: float
    opening: float
    """Catalog, manifests and configs, read by the client."""
    tasks: float
    """From the first task submitted to the last result."""
    layer_times: list[tuple[int, float]]
    """(uncompressed bytes, compute seconds) of each layer task."""
    image_times: list[float]
    images: int
    references: int
    unique: int
    stored_shared: int
    stored_unshared: int
    dedup_ratio: float
    own_layers: int
    """Unique layers that one image alone holds."""
    shared_layers: int
    """Unique layers that several images hold (the bases')."""


def _one(host: str, workers: int, cache: Path, db: Path, warm: bool) -> Run:
    """``warm``: fill the layer cache with the first scan and measure the second on it;
    otherwise both scans read every layer."""
    from distributed import Client, LocalCluster, get_task_stream

    os.environ["KEELHAUL_CACHE_DIR"] = str(cache)  # the worker processes inherit it
    began = time.monotonic()
    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                      dashboard_address=":0", silence_logs=50) as cluster, \
            Client(cluster) as client:  # fmt: skip
        startup = time.monotonic() - began
        marks: dict[str, float] = {}

        def progress(message: str) -> None:
            if "unique layer(s)" in message:
                marks.setdefault("submitted", time.monotonic())
            if message.startswith("layers ") and "images" in message:
                marks["last"] = time.monotonic()

        settings = ScanSettings(scheduler=cluster.scheduler_address,
                                connection=Connection(layer_cache=warm))  # fmt: skip
        first = open_store(db.with_suffix(".first"))
        try:
            scan([f"registry:{host}"], Selection(), first, settings)
        finally:
            first.close()
        store = open_store(db)
        try:
            with get_task_stream(client) as stream:
                started = time.monotonic()
                result = scan([f"registry:{host}"], Selection(), store, settings, progress)
                wall = time.monotonic() - started
                time.sleep(0.3)  # the last transitions reach the plugin
            report = build_report(store, cost_model.CostSettings())
            sizes = {str(d): int(s) for d, s in store.rows(
                "SELECT diff_id, tar_size FROM layers WHERE snapshot_id = ?", (result.snapshot,))}  # fmt: skip
            holders = [int(n) for (n,) in store.rows(
                "SELECT COUNT(DISTINCT l.image_id) FROM image_layers l JOIN images i"
                " ON l.image_id = i.id WHERE i.snapshot_id = ? GROUP BY l.diff_id",
                (result.snapshot,))]  # fmt: skip
        finally:
            store.close()
    layer_times: list[tuple[int, float]] = []
    image_times: list[float] = []
    for task in stream.data:
        key = str(task["key"])
        compute = sum(s["stop"] - s["start"] for s in task["startstops"]
                      if s["action"] == "compute")  # fmt: skip
        if key.startswith("keelhaul-layer-"):
            layer_times.append((sizes.get(key.rsplit("-", 1)[1], 0), compute))
        elif key.startswith("keelhaul-image-"):
            image_times.append(compute)
    t = report.totals
    return Run(workers, warm, wall, startup, marks.get("submitted", started) - started,
               marks.get("last", started) - marks.get("submitted", started), layer_times,
               image_times, result.images, result.layer_references, result.layer_tasks,
               t.stored_shared, t.stored_unshared, t.dedup_ratio,
               sum(1 for n in holders if n == 1), sum(1 for n in holders if n > 1))  # fmt: skip


def _fit(points: list[tuple[int, float]]) -> tuple[float, float]:
    """Least squares ``seconds = a + b * MB``."""
    xs = [size / MB for size, _ in points]
    ys = [seconds for _, seconds in points]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    sxx = sum((x - mx) ** 2 for x in xs)
    b = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sxx if sxx else 0.0
    return my - b * mx, b


def _model(runs: list[Run], images: int, layer_mb: float, image_b: float, bases: int) -> list[str]:
    cold = [r for r in runs if not r.warm]
    one = next((r for r in cold if r.workers == 1), cold[0])
    a, b = _fit(one.layer_times)
    c = statistics.fmean(one.image_times)
    m = statistics.fmean(r.opening / r.images for r in cold)
    lbar = one.references / one.images
    r_ratio = one.references / one.unique
    mean_size = statistics.fmean(size for size, _ in one.layer_times) / MB
    work_one = sum(s for _, s in one.layer_times) + sum(one.image_times)
    own = one.own_layers / one.images
    per_base = one.shared_layers / len(fleet_images.BASES)
    lines = [
        f"measured on the test fleet ({one.images} images, {one.references} layer references, "
        f"{one.unique} unique layers of {mean_size:.2f} MB mean):",
        f"  Lbar = {lbar:.2f} layers/image, r = {r_ratio:.2f} references/unique layer, "
        f"byte dedup ratio {one.dedup_ratio:.2f}x; o = {own:.2f} own layers/image, "
        f"k = {per_base:.2f} layers/base ({one.shared_layers} shared layers over "
        f"{len(fleet_images.BASES)} bases)",
        f"  a = {a * 1000:.1f} ms/layer task, b = {b * 1000:.1f} ms/MB (fit on "
        f"{len(one.layer_times)} layer tasks), c = {c * 1000:.1f} ms/image task, "
        f"m = {m * 1000:.1f} ms/image on the client",
    ]
    efficiency: dict[int, float] = {}
    for run in cold:
        work = sum(s for _, s in run.layer_times) + sum(run.image_times)
        efficiency[run.workers] = (
            min(1.0, work_one / (run.workers * run.tasks)) if run.tasks else 1.0
        )
        lines.append(f"  e_{run.workers} = {efficiency[run.workers]:.2f} (task time "
                     f"{work:.2f} s, tasks took {run.tasks:.2f} s of wall)")  # fmt: skip
    unique = images * own + bases * per_base
    lines.append(f"extrapolated to {images:,} images on {bases} bases: U = {unique:,.0f} unique "
                 f"layers for {images * lbar:,.0f} references (r = "
                 f"{images * lbar / unique:.2f}; at the fleet's r = {r_ratio:.2f}, "
                 f"{images * lbar / r_ratio:,.0f})")  # fmt: skip
    cases = [(f"the test fleet's layers ({mean_size:.2f} MB), b fitted", mean_size, b),
             (f"{layer_mb:g} MB layers, b fitted", layer_mb, b),
             (f"{layer_mb:g} MB layers, b = {image_b:g} ms/MB (keelhaul image's throughput)",
              layer_mb, image_b / 1000)]  # fmt: skip
    for label, size, per_mb in cases:
        layer_work = unique * (a + per_mb * size)
        image_work = images * c
        lines.append(f"  {label}: layer work {layer_work:,.0f} s, image work "
                     f"{image_work:,.0f} s, client {images * m:,.0f} s")  # fmt: skip
        for workers, e in sorted(efficiency.items()):
            total = images * m + (layer_work + image_work) / (workers * e)
            ideal = images * m + (layer_work + image_work) / (workers * efficiency[1])
            lines.append(f"    {workers} worker(s): {total:,.0f} s ({total / 60:,.1f} min) at "
                         f"e_{workers} measured here; {ideal:,.0f} s ({ideal / 60:,.1f} min) "
                         f"on {workers} dedicated cores (e = e_1)")  # fmt: skip
        naive = images * lbar * (a + per_mb * size) + image_work
        lines.append(f"    without layer dedup (every reference walked): {naive:,.0f} s of "
                     f"work, {naive / (layer_work + image_work):.2f}x the deduplicated")  # fmt: skip
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--images", type=int, default=10_000)
    parser.add_argument("--layer-mb", type=float, default=20.0)
    parser.add_argument("--image-ms-per-mb", type=float, default=1.87)
    parser.add_argument("--bases", type=int, default=30, help="bases in use at --images")
    args = parser.parse_args()
    fleet = fleet_images.make_fleet()
    runs: list[Run] = []
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
            plan = [(w, False) for w in args.workers] + [(args.workers[-1], True)]
            for workers, warm in plan:
                cache = Path(temporary) / f"cache-{workers}"
                db = Path(temporary) / f"fleet-{workers}-{'warm' if warm else 'cold'}.sqlite3"
                run = _one(registry.host, workers, cache, db, warm)
                runs.append(run)
                print(f"workers {workers}{' (warm layer cache)' if warm else ''}: scan "
                      f"{run.wall:.2f} s (cluster start {run.startup:.1f} s; client "
                      f"{run.opening:.2f} s, tasks {run.tasks:.2f} s), {run.images} images, "
                      f"{run.unique} layer tasks for {run.references} references, stored "
                      f"{run.stored_shared:,} B shared / {run.stored_unshared:,} B unshared: "
                      f"dedup ratio {run.dedup_ratio:.2f}x", flush=True)  # fmt: skip
            db = Path(temporary) / "fleet-cli.sqlite3"
            command = [sys.executable, "-m", "keelhaul", "fleet", "scan",
                       f"registry:{registry.host}", "--workers", "2", "--no-layer-cache",
                       "--db", str(db)]  # fmt: skip
            started = time.monotonic()
            subprocess.run(command, check=True, capture_output=True)
            print(f"command line, 2 workers: {time.monotonic() - started:.1f} s wall "
                  f"({' '.join(command[1:4])} {' '.join(command[4:-1])} TMP)")  # fmt: skip
        finally:
            _stop(registry)
    print("\n".join(_model(runs, args.images, args.layer_mb, args.image_ms_per_mb,
                           args.bases)))  # fmt: skip


if __name__ == "__main__":
    main()
