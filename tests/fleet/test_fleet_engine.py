"""``keelhaul fleet scan docker:``: the local Docker Engine's images as a fleet source, read
from one save of the engine (each shared layer once) by a Dask cluster on this host.

Three small images built FROM scratch here: a base (an os-release and a library, ending in a
CMD as official bases do) and two applications on it. Marked ``docker`` and ``fleet``."""

from __future__ import annotations

import random
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from keelhaul.fleet.report import build_report
from keelhaul.fleet.scan import ScanError, ScanSettings, scan
from keelhaul.fleet.sources import Selection, SourceError, expand
from keelhaul.fleet.store import open_store
from keelhaul.image import cost as cost_model
from keelhaul.image.analysis import analyse
from keelhaul.image.sources import open_image
from keelhaul.registry import RegistryClient

pytestmark = [pytest.mark.docker, pytest.mark.fleet]

REPO = "keelhaul-fleet-test"
BASE = f"{REPO}/base:1"
APPS = [f"{REPO}/app:1", f"{REPO}/app:2"]
OS_RELEASE = 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\nVERSION_ID="12"\n'


def _build(tag: str, dockerfile: str, context: Path) -> None:
    done = subprocess.run(["docker", "build", "-q", "--network", "host", "-t", tag, "-f", "-",
                           str(context)], input=dockerfile, capture_output=True, text=True,
                          check=False, timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stderr


@pytest.fixture(scope="module")
def engine_fleet(docker_engine: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    context = tmp_path_factory.mktemp("engine-fleet")
    (context / "etc").mkdir()
    (context / "etc" / "os-release").write_text(OS_RELEASE)
    (context / "lib").mkdir()
    (context / "lib" / "libbase.so").write_bytes(random.Random(1).randbytes(300_000))
    for number in (1, 2):
        (context / f"app{number}").write_bytes(random.Random(10 + number).randbytes(50_000))
    try:
        _build(BASE, 'FROM scratch\nCOPY etc /etc\nCOPY lib /usr/lib\nCMD ["/app"]\n', context)
        for number, tag in enumerate(APPS, 1):
            _build(tag, f"FROM {BASE}\nCOPY app{number} /app\n", context)
        yield
    finally:
        subprocess.run(["docker", "rmi", "-f", *APPS, BASE], capture_output=True, check=False)


@pytest.fixture(scope="module")
def local_scheduler() -> Iterator[str]:
    from distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                      dashboard_address=None, silence_logs=50) as cluster:  # fmt: skip
        yield cluster.scheduler_address


def test_docker_sources_name_the_engines_images(engine_fleet: None) -> None:
    with RegistryClient() as client:
        every = expand(client, "docker:", Selection())
        repository = expand(client, f"docker:{REPO}/app", Selection())
        one = expand(client, f"docker:{BASE}", Selection())
        no_v2 = expand(client, "docker:", Selection(include=(f"{REPO}/*",), exclude=("*:2",)))
        with pytest.raises(SourceError, match="holds no image"):
            expand(client, f"docker:{REPO}/app:9", Selection())
    assert {f"docker:{name}" for name in (BASE, *APPS)} <= set(every)
    assert repository == [f"docker:{name}" for name in APPS]
    assert one == [f"docker:{BASE}"]
    assert no_v2 == [f"docker:{APPS[0]}", f"docker:{BASE}"]


def test_a_scan_of_the_engine_reads_each_layer_once(
    engine_fleet: None, local_scheduler: str, tmp_path: Path
) -> None:
    store = open_store(tmp_path / "fleet.sqlite3")
    try:
        result = scan([f"docker:{REPO}/app", f"docker:{BASE}"], Selection(), store,
                      ScanSettings(scheduler=local_scheduler))  # fmt: skip
        report = build_report(store, cost_model.CostSettings())
    finally:
        store.close()
    # the base's two layers, then one layer of each application: 4 tasks for 8 references
    assert (result.images, result.incomplete) == (3, 0)
    assert (result.layer_tasks, result.layer_references) == (4, 8)
    compressed = tar = waste = 0
    unique: dict[str, int] = {}
    for name in (*APPS, BASE):
        with open_image(f"docker:{name}") as image:
            own = analyse(image)  # what `keelhaul image docker:NAME` reports
        compressed += own.compressed_size
        tar += own.tar_size
        waste += own.waste.total
        unique.update((layer.diff_id, layer.tar_size) for layer in own.layers)
    t = report.totals
    assert (t.images, t.layers) == (3, 4)
    assert t.stored_unshared == compressed
    assert t.uncompressed_unshared == tar
    assert t.uncompressed_shared == sum(unique.values()) < tar
    assert t.waste == waste
    # the applications are told to share the base (its history ends in its CMD); the base
    # image itself has no base of its own that its history tells
    with open_image(f"docker:{APPS[0]}") as image:
        base_top = image.layers[1].diff_id
    assert sorted((b.os, b.images, b.base_top) for b in report.bases) == [
        ("Debian GNU/Linux 12 (bookworm)", 1, None),
        ("Debian GNU/Linux 12 (bookworm)", 2, base_top),
    ]
    assert sorted(line.source for line in report.top_cost) == sorted(
        f"docker:{name}" for name in (*APPS, BASE)
    )


def test_the_engine_needs_workers_on_this_host(engine_fleet: None, tmp_path: Path) -> None:
    store = open_store(tmp_path / "fleet.sqlite3")
    try:
        with pytest.raises(ScanError, match="workers must run here"):
            scan([f"docker:{BASE}"], Selection(), store,
                 ScanSettings(scheduler="tcp://192.0.2.1:8786"))  # fmt: skip
    finally:
        store.close()
