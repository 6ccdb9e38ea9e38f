"""KH103's fix, proved with the real engine and Debian's packages: `--no-install-recommends`
keeps ca-certificates (curl and wget recommend it; without it every HTTPS download fails),
and what apt leaves out is what keelhaul's table says (measured on Debian 12).

One build, one `apt-get update`: the RUN keelhaul fixed also records, before its install,
what apt would install with and without recommends (`apt-get install -s`, a simulation).
"""

from __future__ import annotations

import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from keelhaul.rules.dockerfile.packages_and_caches._recommends import DROPPED

PACKAGES = "curl wget"
NAIVE = (
    "FROM {base}\n"
    f"RUN apt-get update && apt-get install -y {PACKAGES} && rm -rf /var/lib/apt/lists/*\n"
)
#: Written into the fixed RUN right after the update: the simulations keelhaul's table is about.
PROBE = (
    f"apt-get install -s -qq --no-install-recommends {PACKAGES} > /naive.txt && "
    f"apt-get install -s -qq {PACKAGES} > /full.txt && "
)


def _docker(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["docker", *args], capture_output=True, text=True, check=False)


def _installed(listing: str) -> set[str]:
    return {line.split()[1] for line in listing.splitlines() if line.startswith("Inst ")}


@pytest.mark.docker
def test_no_install_recommends_keeps_ca_certificates(docker_engine: str, tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text(NAIVE.format(base=docker_engine))
    fixed = subprocess.run(
        [sys.executable, "-m", "keelhaul", "fix", "--no-config", "--select", "KH103",
         str(tmp_path)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert fixed.returncode == 0, fixed.stderr
    after = (tmp_path / "Dockerfile").read_text()
    assert f"--no-install-recommends ca-certificates {PACKAGES}" in after  # a safe fix
    (tmp_path / "Dockerfile").write_text(
        after.replace("apt-get update && ", f"apt-get update && {PROBE}", 1)
    )
    tag = f"keelhaul-test/safety-recommends:{uuid.uuid4().hex[:12]}"
    built = _docker("build", "--network", "host", "-t", tag, str(tmp_path))
    assert built.returncode == 0, built.stdout + built.stderr
    try:
        ran = _docker(
            "run", "--rm", "--network", "none", tag, "sh", "-c",
            "dpkg -s ca-certificates >/dev/null && echo KEPT && cat /naive.txt && "
            "echo ---- && cat /full.txt",
        )  # fmt: skip
        assert ran.returncode == 0, ran.stderr  # dpkg -s fails when it is not installed
        _head, rest = ran.stdout.split("KEPT\n", 1)
        naive, full = rest.split("----\n", 1)
    finally:
        _docker("rmi", "-f", tag)
    left_out = _installed(full) - _installed(naive)
    # the naive fix (--no-install-recommends alone) loses ca-certificates
    assert "ca-certificates" in left_out
    assert "ca-certificates" not in _installed(naive)
    # keelhaul's table knows everything apt leaves out (a package it missed could matter)
    known = {d for p in PACKAGES.split() for d in DROPPED[p]}
    assert left_out <= known, sorted(left_out - known)
