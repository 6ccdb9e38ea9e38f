"""Benchmark: ``keelhaul context`` on a 100,000-file context with a 50-pattern .dockerignore.

Compared with what a user would run instead to learn the same: ``docker build`` of a trivial
Dockerfile, which sends the same context (legacy builder: a tar; BuildKit: its file sync).
Without a Docker Engine those columns say so.

    .venv/bin/python bench/context_walk.py [--files 100000] [--keep DIR]

The tree goes to a temporary folder (or --keep DIR) and is deleted afterwards.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

#: 50 patterns of the kinds real .dockerignore files hold (see ../shared/corpus/dockerignore).
PATTERNS = [
    ".git", "**/node_modules", "**/*.log", "coverage", "dist", "build", ".env*", "**/.DS_Store",
    "**/__pycache__", "*.pyc", ".venv", "target", "tmp", ".idea", ".vscode", "docs/**/*.pdf",
    "**/*.tmp", "*.swp", "npm-debug.log*", "yarn-error.log", ".cache", ".next", "out",
    "**/test-results", "**/*.orig", "vendor/**/testdata", "**/.pytest_cache", "*.tar.gz",
    "data/*.csv", "!data/keep.csv", "logs/", "**/fixtures/large", "bin", "obj", "*.bak",
    "assets/raw", "**/[Tt]humbs.db", "*.iml", ".terraform", "**/*.map", "!src/**/*.map",
    "reports", "**/.mypy_cache", "**/.ruff_cache", ".tox", "*.egg-info", "htmlcov",
    "notebooks/**/*.ipynb", "scratch", "**/snapshots/*.snap",
]  # fmt: skip
assert len(PATTERNS) == 50

_TOPS = ["src", "lib", "docs", "data", "assets", "tests", "node_modules", "tools", "vendor",
         "logs", "build", ".git", "packages", "examples", "scripts"]  # fmt: skip
_NAMES = ["index.js", "main.py", "util.go", "README.md", "app.log", "x.map", "data.csv",
          "image.png", "notes.tmp", "module.pyc", "style.css", "thumbs.db", "test.snap"]  # fmt: skip


def make_tree(root: Path, count: int) -> int:
    """``count`` files spread over nested folders; returns their total bytes."""
    rng = random.Random(1)
    total = 0
    folders = [root / top for top in _TOPS]
    for i in range(count):
        if i % 40 == 0:
            parent = rng.choice(folders)
            depth_ok = len(parent.relative_to(root).parts) < 7
            if depth_ok:
                folders.append(parent / f"d{i // 40}")
        folder = folders[-1] if rng.random() < 0.7 else rng.choice(folders)
        folder.mkdir(parents=True, exist_ok=True)
        size = rng.choice((0, 50, 200, 1_000, 4_000))
        (folder / f"{i}-{rng.choice(_NAMES)}").write_bytes(b"x" * size)
        total += size
    (root / ".dockerignore").write_text("\n".join(PATTERNS) + "\n", encoding="utf-8")
    (root / "Dockerfile").write_text("FROM scratch\nCOPY Dockerfile /\n", encoding="utf-8")
    return total


def time_keelhaul(root: Path) -> tuple[float, str]:
    code = (
        "import sys\nfrom keelhaul.cli import app, context\n"
        "if 'context' not in app.cli.commands: app.cli.add_command(context.command)\n"
        "app.main(sys.argv[1:])\n"
    )
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", code, "context", str(root), "--format", "json"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    elapsed = time.perf_counter() - start
    import json

    if done.returncode not in (0, 1):
        return elapsed, f"failed: {done.stderr.strip()[:200]}"
    sent = json.loads(done.stdout)["sent"]
    return elapsed, f"{sent['files']:,} files, {sent['bytes']:,} bytes sent"


def time_docker(root: Path, buildkit: bool, copy_all: bool) -> tuple[float | None, str]:
    client = "/usr/bin/docker" if buildkit else shutil.which("docker")
    if client is None or not os.path.exists(client):
        return None, "no docker client"
    if subprocess.run([client, "info"], capture_output=True, check=False).returncode != 0:
        return None, "no Docker Engine"
    tag = f"keelhaul-test/bench-context:{'bk' if buildkit else 'legacy'}"
    env = {**os.environ, "DOCKER_BUILDKIT": "1" if buildkit else "0"}
    dockerfile = root.parent / ("all.Dockerfile" if copy_all else "one.Dockerfile")
    source = "." if copy_all else "Dockerfile"
    dockerfile.write_text(f"FROM scratch\nCOPY {source} /ctx/\n", encoding="utf-8")
    start = time.perf_counter()
    done = subprocess.run(
        [client, "build", "--network", "host", "-q", "-t", tag, "-f", str(dockerfile), str(root)],
        capture_output=True, text=True, env=env, check=False,
    )  # fmt: skip
    elapsed = time.perf_counter() - start
    subprocess.run([client, "rmi", "-f", tag], capture_output=True, check=False)
    if done.returncode != 0:
        return elapsed, f"failed: {done.stderr.strip()[-200:]}"
    return elapsed, "built (context sent)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=100_000)
    parser.add_argument("--keep", type=Path, help="build the tree here (deleted afterwards)")
    args = parser.parse_args()
    base = args.keep or Path(tempfile.mkdtemp(prefix="kh-bench-context-"))
    root = base / "context"
    try:
        start = time.perf_counter()
        total = make_tree(root, args.files)
        made = time.perf_counter() - start
        print(f"tree: {args.files:,} files, {total:,} bytes, {len(PATTERNS)} patterns "
              f"(made in {made:.1f} s)")  # fmt: skip
        rows: list[tuple[str, float | None, str]] = [("keelhaul context", *time_keelhaul(root))]
        for name, buildkit, copy_all in (
            ("docker build, legacy builder (tar)", False, False),
            ("docker build, BuildKit, COPY .", True, True),
            ("docker build, BuildKit, COPY Dockerfile", True, False),
        ):
            rows.append((name, *time_docker(root, buildkit, copy_all)))
        print(f"{'what':<40} {'seconds':>8}  result")
        for name, seconds, note in rows:
            shown = "-" if seconds is None else f"{seconds:.2f}"
            print(f"{name:<40} {shown:>8}  {note}")
    finally:
        shutil.rmtree(root, ignore_errors=True)
        if args.keep is None:
            shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
