"""Real components for the fleet tests: a CNCF distribution registry on loopback holding the
hand-assembled fleet of :mod:`tests.fleet.fleet_images` (pushed with skopeo), and a
PostgreSQL server from Debian's packages started in a temporary folder. Without Dask, the
registry, skopeo or PostgreSQL the tests skip (fail under ``KEELHAUL_REQUIRE_DOCKER=1``)."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.fleet import fleet_images
from tests.registry.conftest import Registry, _start, _stop, free_port, unavailable


@dataclass
class FleetRegistry:
    registry: Registry
    fleet: fleet_images.Fleet

    @property
    def host(self) -> str:
        return self.registry.host

    def references(self) -> list[str]:
        return [f"{self.host}/{m.repository}:{m.tag}" for m in self.fleet.images]


@pytest.fixture(scope="session", autouse=True)
def fleet_layer_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """The layer cache of this session's scans (workers in this process and the command
    lines started from it), never the user's."""
    before = os.environ.get("KEELHAUL_CACHE_DIR")
    os.environ["KEELHAUL_CACHE_DIR"] = str(tmp_path_factory.mktemp("fleet-cache"))
    yield
    if before is None:
        os.environ.pop("KEELHAUL_CACHE_DIR", None)
    else:
        os.environ["KEELHAUL_CACHE_DIR"] = before


@pytest.fixture(scope="session")
def dask_installed() -> None:
    try:
        import distributed  # noqa: F401
    except ImportError:
        unavailable("Dask is not installed (pip install 'keelhaul[fleet]')")


@pytest.fixture(scope="session")
def fleet_registry(
    dask_installed: None, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[FleetRegistry]:
    if shutil.which("skopeo") is None:
        unavailable("skopeo is not installed (apt-get install skopeo)")
    fleet = fleet_images.make_fleet()
    layout = fleet_images.write_layout(fleet, tmp_path_factory.mktemp("fleet-layout"))
    registry = _start(None)
    try:
        pushes = [(fleet_images.layout_tag(m.repository, m.tag), m.repository, m.tag)
                  for m in fleet.images]  # fmt: skip
        pushes.append(("multi-v1", "team/multi", "v1"))

        def push(item: tuple[str, str, str]) -> None:
            source, repository, tag = item
            command = ["skopeo", "copy", "--quiet", "--dest-tls-verify=false", "--all",
                       "--preserve-digests", f"oci:{layout}:{source}",
                       f"docker://{registry.host}/{repository}:{tag}"]  # fmt: skip
            done = subprocess.run(command, capture_output=True, text=True, check=False,
                                  timeout=120)  # fmt: skip
            assert done.returncode == 0, done.stderr

        for item in pushes:  # one at a time: parallel pushes of shared blobs race in distribution
            push(item)
        yield FleetRegistry(registry, fleet)
    finally:
        _stop(registry)


def _as_postgres(command: list[str]) -> list[str]:
    """Run as the postgres account when root (initdb refuses root)."""
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *command]
    return command


@pytest.fixture(scope="session")
def postgresql_url() -> Iterator[str]:
    """A PostgreSQL server on 127.0.0.1 for this session; its URL."""
    try:
        import psycopg  # noqa: F401
    except ImportError:
        unavailable("psycopg is not installed (pip install 'keelhaul[fleet]')")
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    initdb = str(found[-1]) if found else shutil.which("initdb")
    if initdb is None:
        unavailable("PostgreSQL is not installed (apt-get install postgresql)")
    assert initdb is not None
    bin_dir = Path(initdb).parent
    directory = Path(tempfile.mkdtemp(prefix="keelhaul-pg."))
    if os.geteuid() == 0:
        shutil.chown(directory, "postgres", "postgres")
    data = directory / "data"
    port = free_port()
    done = subprocess.run(
        _as_postgres([initdb, "-D", str(data), "-A", "trust", "-U", "keelhaul", "-E", "UTF8"]),
        capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip
    if done.returncode != 0:
        shutil.rmtree(directory, ignore_errors=True)
        unavailable(f"initdb failed: {done.stderr.strip()[-300:]}")
    options = f"-p {port} -k {directory} -c listen_addresses=127.0.0.1 -c fsync=off"
    done = subprocess.run(
        _as_postgres([str(bin_dir / "pg_ctl"), "-D", str(data), "-o", options, "-w",
                      "-l", str(directory / "log"), "start"]),
        capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip
    if done.returncode != 0:
        log = (
            (directory / "log").read_text(errors="replace")[-300:]
            if (directory / "log").exists()
            else ""
        )
        shutil.rmtree(directory, ignore_errors=True)
        unavailable(f"PostgreSQL did not start: {done.stderr.strip()[-200:]} {log}")
    try:
        yield f"postgresql://keelhaul@127.0.0.1:{port}/postgres"
    finally:
        with contextlib.suppress(subprocess.SubprocessError):
            subprocess.run(_as_postgres([str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "fast",
                                         "-w", "stop"]),
                           capture_output=True, check=False, timeout=60)  # fmt: skip
        shutil.rmtree(directory, ignore_errors=True)
