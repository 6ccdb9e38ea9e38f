"""`keelhaul vulns` on an image of about 2,500 packages, with a warm layer cache.

Building an image of 2,500 packages on this engine (vfs storage: each step copies the whole
filesystem) is too heavy, so the image is written as a docker-archive here, from real package
lists:

- layer 1: a Debian 12 ``/etc/os-release`` and the dpkg status database of the machine the
  bench runs on (``/var/lib/dpkg/status``: a Debian 12 host's real packages and versions);
- layer 2: ``site-packages`` with one ``.dist-info/METADATA`` per PyPI project: ``--affected``
  projects the real PyPI advisories of ../shared/osv name, at a version they list as
  affected; the other projects they name at a version that fixes them (each looked up, none
  matching); the releases in the local PyPI mirror (/opt/pypi/files), until the image holds
  ``--packages`` packages;
- layer 3: the host's real npm packages (``/usr/lib/node_modules/**/package.json``, as they
  are) to make up the rest.

The database is ../shared/osv imported, grown to ``--advisories`` records as
bench/vulns_matching.py does. The command runs twice (the first fills the per-layer cache,
in a temporary ``XDG_CACHE_HOME``); the next ``--runs`` are timed end to end (Python's start
included; wall and CPU time, as the machine may be shared), and the parts in-process (CPU
time): reading the image (warm cache) and matching.

    python bench/vulns_image.py [--packages 2500] [--advisories 200000] [--runs 5]
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from vulns_matching import grow

from keelhaul.vulns import database
from keelhaul.vulns.database import Database
from keelhaul.vulns.scan import scan

OSV = Path(__file__).resolve().parents[1].parent / "shared" / "osv"
DPKG_STATUS = Path("/var/lib/dpkg/status")
WHEELS = (Path("/opt/pypi/files"), Path("/opt/pypi-more/files"))
NODE = Path("/usr/lib/node_modules")
_NODE = re.compile(r"node_modules/(?:@[^/]+/)?[^/@][^/]*/package\.json\Z")


def _tar(files: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as archive:
        for name, content in sorted(files.items()):
            info = tarfile.TarInfo(name)
            info.size = len(content)
            info.mode = 0o644
            info.mtime = 1_700_000_000
            archive.addfile(info, io.BytesIO(content))
    return out.getvalue()


def _wheels() -> dict[str, str]:
    """Project -> version of the wheels and sdists in the local PyPI mirror (real releases,
    current ones: few advisories name them)."""
    found: dict[str, str] = {}
    for path in sorted(p for folder in WHEELS for p in folder.glob("*")):
        stem = path.name.removesuffix(".tar.gz").removesuffix(".zip").removesuffix(".whl")
        name, _, rest = stem.partition("-")
        version = rest.partition("-")[0]
        if name and version and version[0].isdigit():
            found.setdefault(name.replace("_", "-").lower(), version)
    return found


def _advised(affected: int) -> dict[str, str]:
    """Project -> version for the PyPI projects real advisories name: the first ``affected``
    at a version an advisory lists as affected, the others at the latest version any of
    their advisories says fixes it (looked up, not matching)."""
    from packaging.version import InvalidVersion, Version

    listed: dict[str, str] = {}
    fixed: dict[str, Version] = {}
    for path in sorted((OSV / "PyPI").glob("*.json")):
        record = json.loads(path.read_text())
        for entry in record.get("affected") or ():
            name = (entry.get("package") or {}).get("name", "").lower()
            versions = entry.get("versions") or []
            if name and versions and name not in listed:
                listed[name] = versions[len(versions) // 2]
            for r in entry.get("ranges") or ():
                for event in r.get("events", ()) if r.get("type") == "ECOSYSTEM" else ():
                    try:
                        version = Version(event.get("fixed", ""))
                    except InvalidVersion:
                        continue
                    if name not in fixed or fixed[name] < version:
                        fixed[name] = version
    chosen = dict(list(listed.items())[:affected])
    for name, version in fixed.items():
        chosen.setdefault(name, str(version))
    return chosen


def write_archive(path: Path, packages: int, affected: int) -> tuple[int, int, int]:
    status = DPKG_STATUS.read_bytes()
    debs = status.count(b"\nPackage: ") + status.startswith(b"Package: ")
    os_release = b'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\nVERSION_ID="12"\n'
    base = _tar({"etc/os-release": os_release, "var/lib/dpkg/status": status})
    site = "usr/local/lib/python3.11/site-packages"
    projects = _advised(affected)
    for name, version in _wheels().items():
        projects.setdefault(name, version)
    projects = dict(list(projects.items())[: max(packages - debs, 0)])
    python = _tar({f"{site}/{name.replace('-', '_')}-{version}.dist-info/METADATA":
                   f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n".encode()
                   for name, version in projects.items()})  # fmt: skip
    node = {}
    for manifest in sorted(NODE.rglob("package.json")):  # the host's real npm packages
        if len(node) >= packages - debs - len(projects):
            break
        where = f"usr/lib/node_modules/{manifest.relative_to(NODE)}"
        if _NODE.search(where):
            node[where] = manifest.read_bytes()
    layers = [base, python, _tar(node)]
    diff_ids = ["sha256:" + hashlib.sha256(layer).hexdigest() for layer in layers]
    config = json.dumps({"architecture": "amd64", "os": "linux", "config": {},
                         "rootfs": {"type": "layers", "diff_ids": diff_ids}}).encode()  # fmt: skip
    config_name = hashlib.sha256(config).hexdigest() + ".json"
    members = {config_name: config}
    names = []
    for digest, layer in zip(diff_ids, layers, strict=True):
        name = f"{digest.removeprefix('sha256:')}/layer.tar"
        members[name] = layer
        names.append(name)
    members["manifest.json"] = json.dumps([{"Config": config_name, "Layers": names,
                                            "RepoTags": ["bench/vulns:2500"]}]).encode()  # fmt: skip
    path.write_bytes(_tar(members))
    return debs, len(projects), len(node)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--packages", type=int, default=2500)
    parser.add_argument("--advisories", type=int, default=200_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument(
        "--affected",
        type=int,
        default=50,
        help="PyPI projects installed at a version an advisory says is affected",
    )
    args = parser.parse_args()
    if not OSV.is_dir() or not DPKG_STATUS.is_file():
        raise SystemExit("needs ../shared/osv and a Debian host's /var/lib/dpkg/status")
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        archive = work / "image.tar"
        debs, wheels, npm = write_archive(archive, args.packages, args.affected)
        db = work / "osv.sqlite3"
        database.import_paths(db, [OSV])
        total = grow(db, args.advisories)
        env = {**os.environ, "XDG_CACHE_HOME": str(work / "cache"), "NO_COLOR": "1"}
        env.pop("PYTHONDONTWRITEBYTECODE", None)  # as installed: compiled modules are cached
        command = [sys.executable, "-m", "keelhaul", "vulns", f"docker-archive:{archive}",
                   "--db", str(db), "--format", "json", "--fail-on", "never"]  # fmt: skip
        cold = time.perf_counter()
        first = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
        cold = time.perf_counter() - cold
        walls, cpus = [], []
        for _ in range(args.runs):
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            started = time.perf_counter()
            subprocess.run(command, env=env, capture_output=True, check=True)
            walls.append(time.perf_counter() - started)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpus.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
        found = json.loads(first.stdout)["vulnerabilities"]

        os.environ["XDG_CACHE_HOME"] = env["XDG_CACHE_HOME"]
        from keelhaul.sbom.targets import read_target

        reads, matches = [], []
        for _ in range(args.runs):
            started = time.process_time()
            inventory = read_target(f"docker-archive:{archive}").inventory
            reads.append(time.process_time() - started)
            started = time.process_time()
            with Database(db) as opened:
                scan(opened, inventory)
            matches.append(time.process_time() - started)
        startup = []
        for _ in range(args.runs):
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            subprocess.run([sys.executable, "-m", "keelhaul", "--version"], env=env,
                           capture_output=True, check=True)  # fmt: skip
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            startup.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
    print(f"image: {debs} deb + {wheels} PyPI + {npm} npm = {len(inventory.packages)} packages "
          f"(docker-archive, 3 layers); database: {total} advisories")  # fmt: skip
    print(f"`keelhaul vulns` first run (cold layer cache): {cold:.2f} s; "
          f"{len(found)} vulnerabilities")  # fmt: skip
    print(f"`keelhaul vulns` warm, median of {args.runs}: {statistics.median(walls):.2f} s "
          f"wall (min {min(walls):.2f}), {statistics.median(cpus):.2f} s CPU "
          f"(min {min(cpus):.2f}); load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")  # fmt: skip
    print(
        f"  CPU of its parts: reading the image (warm cache) {statistics.median(reads):.3f} s, "
        f"matching {statistics.median(matches):.3f} s, "
        f"Python + keelhaul start (`keelhaul --version`) {statistics.median(startup):.2f} s"
    )


if __name__ == "__main__":
    main()
