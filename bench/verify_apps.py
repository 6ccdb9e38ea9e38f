"""`keelhaul verify --unsafe-fixes` on the six realistic apps of tests/engine/apps: each app's
naive Dockerfile built as it is and as `keelhaul fix --unsafe-fixes` leaves it, on the stand-in
base images (tests/engine/standins/build), with its smoke check and a one-line source change.

Each app is verified as a developer's checkout: a copy of its folder made a git repository
(so the build context holds .git, as it does on a laptop or in CI).

Usage: python bench/verify_apps.py [APP...] [--json FILE]
Prints the before/after table for docs/benchmarks.md (markdown).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
APPS = ROOT / "tests" / "engine" / "apps"
STANDINS = ROOT / "tests" / "engine" / "standins" / "build"


def catalogue() -> dict[str, Any]:
    """The apps and the base map, from tests/engine/apps/apps.toml."""
    with (APPS / "apps.toml").open("rb") as file:
        return tomllib.load(file)


def build_standins(apps: list[str], base: str | None = None) -> str | None:
    """Build (or keep, when up to date) the stand-in images ``apps`` need, from ``base``
    (default $KEELHAUL_TEST_BASE_IMAGE, else the Debian test base); None when done, else why
    not (the build script's last lines)."""
    base = base or os.environ.get("KEELHAUL_TEST_BASE_IMAGE", "keelhaul-test/debian:bookworm")
    names = sorted({name for app in apps for name in catalogue()["apps"][app]["standins"]})
    done = subprocess.run([str(STANDINS), base, *names],
                          capture_output=True, text=True, check=False)  # fmt: skip
    if done.returncode == 0:
        return None
    tail = "; ".join((done.stderr or done.stdout).strip().splitlines()[-3:])
    return f"stand-ins {' '.join(names)} not built: {tail}"


#: The first bytes of a generated asset, by suffix: what the real file type starts with.
_MAGIC = {
    ".jpg": b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00",
    ".woff2": b"wOF2\x00\x01\x00\x00",
}


def generate_assets(app: str, folder: Path) -> int:
    """Write the app's generated assets (apps.toml ``[apps.APP.assets]``, path = bytes) into
    ``folder``: the same bytes on every run (a generator seeded by the path), high-entropy
    like the photos and fonts they stand for. Returns the bytes written."""
    written = 0
    for relative, size in catalogue()["apps"][app].get("assets", {}).items():
        path = folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        head = _MAGIC.get(path.suffix, b"")
        body = random.Random(relative).randbytes(size - len(head))
        path.write_bytes(head + body)
        written += size
    return written


def checkout(app: str, into: Path) -> Path:
    """A copy of the app's folder, its generated assets added, as a git repository with one
    commit (the assets committed, as a site's photos are), at ``into/app``."""
    folder = into / app
    shutil.copytree(APPS / app, folder)
    generate_assets(app, folder)
    git = ["git", "-C", str(folder), "-c", "user.name=dev", "-c", "user.email=dev@example.com"]
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "initial"]):
        subprocess.run([*git, *args], check=True, capture_output=True)
    return folder


def verify_command(folder: Path, app: str, *extra: str, config: Path | None = None) -> list[str]:
    """The `keelhaul verify` command line for one app (JSON report on stdout); with
    ``config``, that configuration file instead of none (opt-in rules such as KH184)."""
    table = catalogue()
    settings = ["--config", str(config)] if config is not None else ["--no-config"]
    command = [sys.executable, "-m", "keelhaul", "verify", str(folder), *settings,
               "--unsafe-fixes", "--network", "host", "--format", "json",
               "--smoke-http", table["apps"][app]["smoke_http"]]  # fmt: skip
    for image, local in table["base_map"].items():
        command += ["--base-map", f"{image}={local}"]
    if "touch" in table["apps"][app]:
        command += ["--touch", table["apps"][app]["touch"]]
    return [*command, *extra]


def verify(app: str, *extra: str, config: Path | None = None) -> tuple[dict[str, Any], float]:
    """Verify one app; its JSON report and the wall time in seconds."""
    with tempfile.TemporaryDirectory(prefix=f"keelhaul-apps-{app}-") as tmp:
        folder = checkout(app, Path(tmp))
        started = time.monotonic()
        done = subprocess.run(verify_command(folder, app, *extra, config=config),
                              capture_output=True, text=True, check=False)  # fmt: skip
        seconds = time.monotonic() - started
    if done.returncode == 2 or not done.stdout.strip():
        raise SystemExit(f"verify {app}: exit {done.returncode}: {done.stderr.strip()}")
    report: dict[str, Any] = json.loads(done.stdout)
    return report, seconds


def _mb(size: int | None) -> str:
    if size is None:
        return "-"
    return f"{size / 1e3:,.1f} kB" if size < 1e6 else f"{size / 1e6:,.1f} MB"


def _smoke(side: dict[str, Any]) -> str:
    smoke = side.get("smoke")
    if not smoke:
        return "-"
    return ("passed" if smoke["passed"] else "FAILED") + f" ({smoke['what']})"


def _rebuilt(side: dict[str, Any]) -> str:
    rebuilt, steps = side.get("rebuilt_steps"), side.get("steps")
    if rebuilt is None:
        return "-"
    seconds = side.get("rebuild_seconds")
    timing = "" if seconds is None else f", {seconds:.1f} s"
    runs = sum(1 for step in rebuilt if "] RUN " in step)
    return f"{len(rebuilt)} of {steps} ({runs} RUN){timing}"


def table(rows: list[tuple[str, dict[str, Any], float]]) -> str:
    lines = ["| app | version | built | size | layers | smoke | source change rebuilds "
             "| new layers | verify time |",
             "|---|---|---|---|---|---|---|---|---|"]  # fmt: skip
    for app, report, seconds in rows:
        for key in ("before", "after"):
            side = report[key]
            lines.append(
                f"| {app if key == 'before' else ''} | {key} | "
                f"{'yes' if side['built'] else 'NO'} | {_mb(side.get('size'))} | "
                f"{side.get('layers') if side.get('layers') is not None else '-'} | "
                f"{_smoke(side)} | {_rebuilt(side)} | {_mb(side.get('new_layer_bytes'))} | "
                f"{f'{seconds:.0f} s' if key == 'before' else ''} |"
            )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("apps", nargs="*", help="apps to verify (default: all six)")
    parser.add_argument("--json", type=Path, help="also write the verify reports here")
    parser.add_argument("--config", type=Path,
                        help="verify with this keelhaul configuration (e.g. one that "
                             "extend-selects KH184) instead of none")  # fmt: skip
    args = parser.parse_args()
    names = args.apps or list(catalogue()["apps"])
    problem = build_standins(names)
    if problem:
        raise SystemExit(problem)
    rows = []
    for app in names:
        report, seconds = verify(app, config=args.config)
        rows.append((app, report, seconds))
        print(f"{app}: {report['headline']} ({seconds:.0f} s)", file=sys.stderr)
    if args.json:
        args.json.write_text(json.dumps({app: r for app, r, _ in rows}, indent=2) + "\n")
    print(table(rows))


if __name__ == "__main__":
    main()
