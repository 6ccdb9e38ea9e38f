"""``keelhaul fleet`` end to end against real components: the hand-assembled fleet in a
CNCF distribution registry, a Dask cluster with two workers, SQLite and PostgreSQL."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from keelhaul.fleet.report import FleetReport, build_report, render
from keelhaul.fleet.scan import ScanResult, ScanSettings, scan
from keelhaul.fleet.sources import Selection
from keelhaul.fleet.store import open_store
from keelhaul.fleet.work import Connection
from keelhaul.image import cost as cost_model
from keelhaul.image.analysis import analyse
from keelhaul.image.sources import open_image
from tests.chromium import screenshot
from tests.fleet import fleet_images
from tests.fleet.conftest import FleetRegistry

pytestmark = pytest.mark.fleet

COSTS = cost_model.CostSettings()

#: Advisories written here for the Debian base's packages (``fleet_images.DPKG_STATUS``):
#: openssl 3.0.11-1~deb12u2 is before the first fix, zlib 1:1.2.13.dfsg-1 is the second's
#: fixed version, and the third is for another release.
ADVISORIES = {
    "KEELHAUL-TEST-1": ("Debian:12", "openssl", "3.0.13-1~deb12u1",
                        "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"),
    "KEELHAUL-TEST-2": ("Debian:12", "zlib", "1:1.2.13.dfsg-1", None),
    "KEELHAUL-TEST-3": ("Debian:11", "openssl", "1.1.1w-0+deb11u2", None),
}  # fmt: skip


@pytest.fixture(scope="module")
def vulnerability_db(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A ``keelhaul db`` database of :data:`ADVISORIES` (OSV records written here)."""
    from keelhaul.vulns import database

    folder = tmp_path_factory.mktemp("osv")
    for name, (ecosystem, package, fixed, vector) in ADVISORIES.items():
        record: dict[str, Any] = {
            "schema_version": "1.6.0", "id": name, "modified": "2026-01-01T00:00:00Z",
            "summary": f"{package}: a test advisory",
            "affected": [{"package": {"ecosystem": ecosystem, "name": package},
                          "ranges": [{"type": "ECOSYSTEM",
                                      "events": [{"introduced": "0"}, {"fixed": fixed}]}]}],
        }  # fmt: skip
        if vector:
            record["severity"] = [{"type": "CVSS_V3", "score": vector}]
        (folder / f"{name}.json").write_text(json.dumps(record))
    path = folder / "osv.sqlite3"
    database.import_paths(path, [folder])
    return str(path)


@pytest.fixture(scope="module")
def dask_scheduler(dask_installed: None) -> Iterator[str]:
    """A local Dask cluster with two workers (threads of this process: quick to start; the
    CLI test below runs the default, worker processes)."""
    from distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                      dashboard_address=None, silence_logs=50) as cluster:  # fmt: skip
        yield cluster.scheduler_address


def _scan(
    registry: FleetRegistry,
    scheduler: str,
    db: str,
    selection: Selection | None = None,
    vulnerabilities: str | None = None,
) -> tuple[ScanResult, FleetReport, list[str]]:
    """Scan the whole registry on ``scheduler`` into ``db``; the keys of every task the
    scheduler ran meanwhile."""
    from distributed import Client, get_task_stream

    store = open_store(db)
    try:
        with Client(scheduler) as client, get_task_stream(client) as stream:
            result = scan([f"registry:{registry.host}"], selection or Selection(), store,
                          ScanSettings(scheduler=scheduler,
                                       vulnerability_db=vulnerabilities))  # fmt: skip
            time.sleep(0.2)  # the last transitions reach the plugin
        keys = [str(task["key"]) for task in stream.data]
        return result, build_report(store, COSTS), keys
    finally:
        store.close()


@pytest.fixture(scope="module")
def sqlite_scan(
    fleet_registry: FleetRegistry,
    dask_scheduler: str,
    vulnerability_db: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[ScanResult, FleetReport, list[str]]:
    db = tmp_path_factory.mktemp("fleet-db") / "fleet.sqlite3"
    return _scan(fleet_registry, dask_scheduler, str(db), vulnerabilities=vulnerability_db)


def test_a_layer_shared_by_many_images_is_analysed_once(
    fleet_registry: FleetRegistry, sqlite_scan: tuple[ScanResult, FleetReport, list[str]]
) -> None:
    result, report, keys = sqlite_scan
    fleet = fleet_registry.fleet
    # 30 images, plus the amd64 image of the two-platform index (the host's platform)
    assert result.images == 31
    assert result.incomplete == 0
    diff_ids = {layer.diff_id for made in fleet.images for layer in made.layers}
    debian_root = fleet_images.base_layers("debian")[0].diff_id
    holding = sum(1 for made in fleet.images if made.layers[0].diff_id == debian_root)
    assert holding == 12  # and the multi image's amd64 platform: 13 images share it
    layer_tasks = Counter(k for k in keys if k.startswith("keelhaul-layer-"))
    # every task ran once: one per unique DiffID, none twice, whatever the images sharing it
    assert set(layer_tasks.values()) == {1}
    assert sum(1 for k in layer_tasks if k.endswith(debian_root)) == 1
    multi_only = 1  # the amd64 application layer of team/multi
    assert len(layer_tasks) == len(diff_ids) + multi_only == result.layer_tasks
    assert sum(1 for k in keys if k.startswith("keelhaul-image-")) == 31
    assert report.totals.layers == len(layer_tasks)
    # one vulnerability task per base in use (three), not per image
    base_tasks = Counter(k for k in keys if k.startswith("keelhaul-base-"))
    assert set(base_tasks.values()) == {1}
    tops = {fleet_images.base_layers(name)[-1].diff_id for name in fleet_images.BASES}
    assert {k.rsplit("-", 1)[1] for k in base_tasks} == tops


def test_the_report_totals_are_the_images_own_reports_minus_sharing(
    fleet_registry: FleetRegistry, sqlite_scan: tuple[ScanResult, FleetReport, list[str]]
) -> None:
    _, report, _ = sqlite_scan
    compressed = tar = waste = 0
    cost = saving = 0.0
    blobs: dict[str, int] = {}
    uncompressed_layers: dict[str, int] = {}
    by_source: dict[str, tuple[int, int]] = {}
    for reference in [*fleet_registry.references(), f"{fleet_registry.host}/team/multi:v1"]:
        with open_image(f"registry:{reference}", platform="linux/amd64") as image:
            own = analyse(image)  # what `keelhaul image registry:...` reports
        compressed += own.compressed_size
        tar += own.tar_size
        waste += own.waste.total
        priced = cost_model.saving(own.compressed_size, own.tar_size,
                                   cost_model.removable(own), COSTS)  # fmt: skip
        cost += priced.before.total_month
        saving += priced.month
        by_source[f"registry:{reference}"] = (own.waste.total, own.compressed_size)
        for layer in own.layers:
            blobs[layer.digest] = layer.compressed_size
            uncompressed_layers[layer.diff_id] = layer.tar_size
    t = report.totals
    assert t.stored_unshared == compressed
    assert t.stored_shared == sum(blobs.values()) < compressed
    assert t.uncompressed_unshared == tar
    assert t.uncompressed_shared == sum(uncompressed_layers.values())
    assert t.waste == waste > 0
    assert t.cost_month_unshared == pytest.approx(cost)
    assert t.saving_month == pytest.approx(saving)
    assert t.dedup_ratio == pytest.approx(compressed / sum(blobs.values()))
    for line in report.top_waste:
        assert (line.waste, line.compressed_size) == by_source[line.source]
    # every v3 image hides a base library: they are the top ten by waste
    assert {line.source.rsplit(":", 1)[1] for line in report.top_waste} == {"v3"}
    assert {b.os: b.past_end_of_life for b in report.bases} == {
        "Debian GNU/Linux 12 (bookworm)": False, "Alpine Linux v3.19": True,
        "Ubuntu 20.04.6 LTS": True,
    }  # fmt: skip
    bases = {b.os: b.images for b in report.bases}
    assert bases == {"Debian GNU/Linux 12 (bookworm)": 13, "Alpine Linux v3.19": 9,
                     "Ubuntu 20.04.6 LTS": 9}  # fmt: skip


def test_the_bases_carry_their_vulnerability_counts(
    sqlite_scan: tuple[ScanResult, FleetReport, list[str]],
) -> None:
    """The Debian base's two packages, matched against the test advisories: openssl before
    its fix (critical by its CVSS vector); zlib at its fixed version, and the Debian 11
    advisory, are not counted. The other bases hold no package database."""
    _, report, _ = sqlite_scan
    found = {b.os: (b.packages, b.vulnerability_total, b.vulnerabilities) for b in report.bases}
    debian = found["Debian GNU/Linux 12 (bookworm)"]
    assert debian[:2] == (2, 1)
    assert debian[2] is not None
    assert debian[2]["critical"] == 1
    assert found["Alpine Linux v3.19"][:2] == found["Ubuntu 20.04.6 LTS"][:2] == (0, 0)
    text = render(report, "text")
    assert "1 vulnerability (1 critical) in 2 packages" in text
    assert "| 1 vulnerability (1 critical) in 2 packages |" in render(report, "markdown")


def test_the_html_report_renders_in_chromium(
    sqlite_scan: tuple[ScanResult, FleetReport, list[str]], tmp_path: Path
) -> None:
    _, report, _ = sqlite_scan
    page = render(report, "html")
    assert page.startswith("<!DOCTYPE html>")
    assert "<script" not in page  # inert
    assert "http://" not in page
    assert "https://" not in page  # nothing fetched from elsewhere
    assert "<h2>Base images in use</h2>" in page
    assert "1 vulnerability (1 critical) in 2 packages" in page
    assert f"{report.totals.dedup_ratio:.2f}x" in page
    for line in report.top_waste:
        assert f"<code>{line.source}</code>" in page  # registry names hold nothing to escape
    shot = screenshot(page, tmp_path)
    assert shot.stat().st_size > 20_000  # the cards, bars and tables drawn, not a blank page


def _comparable(report: FleetReport) -> dict[str, Any]:
    data = report.to_json()
    for key in ("snapshot", "finished", "seconds"):
        data.pop(key)
    return data


def test_sqlite_and_postgresql_give_the_same_report(
    fleet_registry: FleetRegistry,
    dask_scheduler: str,
    postgresql_url: str,
    vulnerability_db: str,
    sqlite_scan: tuple[ScanResult, FleetReport, list[str]],
) -> None:
    _, in_sqlite, _ = sqlite_scan
    result, in_postgresql, _ = _scan(fleet_registry, dask_scheduler, postgresql_url,
                                     vulnerabilities=vulnerability_db)  # fmt: skip
    assert result.images == 31
    assert _comparable(in_postgresql) == _comparable(in_sqlite)
    # a second snapshot of fewer images: the change is told, in both stores alike
    fewer = Selection(include=("team/app1", "team/multi"), latest=1)
    _, second, _ = _scan(fleet_registry, dask_scheduler, postgresql_url, fewer)
    assert second.change is not None
    assert second.change.previous == in_postgresql.snapshot
    assert second.totals.images == 2
    assert len(second.change.removed) == 29
    assert second.change.stored_shared < 0


def test_a_layer_that_cannot_be_read_marks_its_image_incomplete(
    fleet_registry: FleetRegistry, dask_scheduler: str, tmp_path: Path
) -> None:
    """A blob deleted from the registry: a scan that must read it (no layer cache) marks the
    image holding it incomplete, with the reason, analyses the other image and goes on; a
    scan with the layer cache takes the layer's scan from it and reads no blob again."""
    fleet = fleet_images.make_fleet()
    broken = next(m for m in fleet.images if m.repository == "team/app2" and m.tag == "v1")
    layout = fleet_images.write_layout(fleet, tmp_path / "layout")
    target = f"{fleet_registry.host}/team/broken:v1"
    source = fleet_images.layout_tag(broken.repository, broken.tag)
    subprocess.run(["skopeo", "copy", "--quiet", "--dest-tls-verify=false",
                    f"oci:{layout}:{source}", f"docker://{target}"], check=True, timeout=120)  # fmt: skip
    sources = [f"registry:{target}", f"registry:{fleet_registry.host}/team/app0:v1"]

    def run(cache: bool) -> tuple[ScanResult, FleetReport]:
        settings = ScanSettings(scheduler=dask_scheduler, retries=1,
                                connection=Connection(layer_cache=cache))  # fmt: skip
        store = open_store(tmp_path / "fleet.sqlite3")
        try:
            return scan(sources, Selection(), store, settings), build_report(store, COSTS)
        finally:
            store.close()

    first, first_report = run(cache=True)  # every layer read, and kept in the layer cache
    assert (first.images, first.incomplete) == (2, 0)
    app_layer = broken.layers[-1].blob.digest
    gone = httpx.delete(f"http://{fleet_registry.host}/v2/team/broken/blobs/{app_layer}")
    assert gone.status_code == 202, gone.text

    cached, from_cache = run(cache=True)
    assert (cached.images, cached.incomplete) == (2, 0)
    assert from_cache.totals == first_report.totals

    result, report = run(cache=False)
    assert (result.images, result.incomplete) == (2, 1)
    [(where, reason)] = report.incomplete
    assert where == f"registry:{target}"
    assert app_layer in reason
    assert "no blob" in reason
    assert report.totals.images == 2
    assert [line.source for line in report.top_cost] == [
        f"registry:{fleet_registry.host}/team/app0:v1"
    ]


def _keelhaul(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "keelhaul", *args], capture_output=True,
                          text=True, check=False, timeout=600)  # fmt: skip


def test_the_command_line_on_a_local_cluster_of_worker_processes(
    fleet_registry: FleetRegistry, tmp_path: Path
) -> None:
    db = str(tmp_path / "fleet.sqlite3")
    started = time.monotonic()
    done = _keelhaul("fleet", "scan", f"registry:{fleet_registry.host}", "--workers", "2",
                     "--exclude", "team/multi", "--exclude", "team/broken",
                     "--db", db)  # fmt: skip
    seconds = time.monotonic() - started
    assert done.returncode == 0, done.stderr
    assert "layers 46/46, images 30/30" in done.stderr  # progress, on stderr
    assert "2 Dask worker(s)" in done.stderr
    assert done.stdout == ""
    shown = _keelhaul("fleet", "report", "--db", db, "--format", "json")
    assert shown.returncode == 0, shown.stderr
    data = json.loads(shown.stdout)
    assert data["totals"]["images"] == 30
    assert data["layer_tasks"] == 46
    print(
        f"fleet scan of 30 images, worker processes: {seconds:.1f} s, dedup ratio "
        f"{data['totals']['dedup_ratio']}"
    )
    markdown = _keelhaul("fleet", "report", "--db", db, "--format", "markdown")
    assert markdown.returncode == 0
    assert "### Top images by waste" in markdown.stdout
    text = _keelhaul("fleet", "report", "--db", db)
    assert "dedup ratio" in text.stdout
    page = _keelhaul("fleet", "report", "--db", db, "--format", "html")
    assert page.returncode == 0, page.stderr
    assert page.stdout.startswith("<!DOCTYPE html>")
    assert "<h2>Base images in use</h2>" in page.stdout


def test_bad_input_is_one_line_and_exit_2(tmp_path: Path) -> None:
    listing = tmp_path / "refs.txt"
    listing.write_text("# the fleet\nregistry:127.0.0.1:1/Bad/Name:v1\n")
    done = _keelhaul("fleet", "scan", str(listing), "--db", str(tmp_path / "f.sqlite3"))
    assert done.returncode == 2
    assert f"{listing}:2" in done.stderr
    done = _keelhaul("fleet", "report", "--db", str(tmp_path / "empty.sqlite3"))
    assert done.returncode == 2
    assert "no snapshot yet" in done.stderr
    missing = tmp_path / "no-osv.sqlite3"
    done = _keelhaul("fleet", "scan", "docker:", "--vulns-db", str(missing), "--db",
                     str(tmp_path / "f.sqlite3"))  # fmt: skip
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        f"keelhaul: error: --vulns-db {missing}: no vulnerability database there (run "
        "`keelhaul db update` or `keelhaul db import PATH`)"
    ]


def test_a_killed_worker_does_not_lose_the_scan(
    fleet_registry: FleetRegistry, dask_installed: None, tmp_path: Path
) -> None:
    """A worker process killed (SIGKILL) once the tasks are submitted: Dask runs its tasks,
    and the results it held, again on the others; every image is still analysed."""
    import os
    import signal

    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=":0", silence_logs=50) as cluster, \
            Client(cluster) as client:  # fmt: skip
        pids = sorted(client.run(os.getpid).values())
        killed: list[int] = []

        def progress(message: str) -> None:
            if not killed and "unique layer(s)" in message:
                os.kill(pids[0], signal.SIGKILL)
                killed.append(pids[0])

        store = open_store(tmp_path / "fleet.sqlite3")
        try:
            result = scan([f"registry:{fleet_registry.host}/team/app1",
                           f"registry:{fleet_registry.host}/team/app4"], Selection(), store,
                          ScanSettings(scheduler=cluster.scheduler_address), progress)  # fmt: skip
            report = build_report(store, COSTS)
        finally:
            store.close()
        assert killed == pids[:1]
        assert (result.images, result.incomplete) == (6, 0)
        assert report.totals.images == 6
        assert report.totals.incomplete == 0


def test_a_manifest_list_is_expanded_to_the_chosen_platforms(
    fleet_registry: FleetRegistry, dask_scheduler: str, tmp_path: Path
) -> None:
    store = open_store(tmp_path / "fleet.sqlite3")
    try:
        both = ScanSettings(platforms=("linux/amd64", "linux/arm64"), scheduler=dask_scheduler)
        result = scan([f"registry:{fleet_registry.host}/team/multi"], Selection(), store, both)
        report = build_report(store, COSTS)
        one = ScanSettings(platforms=("linux/arm64",), scheduler=dask_scheduler)
        only_arm = scan([f"registry:{fleet_registry.host}/team/multi:v1"], Selection(), store,
                        one)  # fmt: skip
    finally:
        store.close()
    assert (result.images, result.incomplete) == (2, 0)
    # the two platforms share the debian base's two layers: 4 layer tasks for 6 layers
    assert (result.layer_tasks, result.layer_references) == (4, 6)
    assert sorted(line.source for line in report.top_cost) == [
        f"registry:{fleet_registry.host}/team/multi:v1 (linux/amd64)",
        f"registry:{fleet_registry.host}/team/multi:v1 (linux/arm64)",
    ]
    assert (only_arm.images, only_arm.layer_tasks) == (1, 3)
