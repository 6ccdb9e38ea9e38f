"""Replay 500 commits of a mid-sized repository through ``keelhaul cache --git``.

    python bench/cache_replay.py [--commits 500] [--files 3000] [--docker-sample 3] [--keep DIR]

Builds, in a temporary folder, a monorepo (``services/web`` is a Node app with its Dockerfile
and .dockerignore; ``services/api``, ``docs``, ``tools`` sit beside it) of about ``--files``
files, then ``--commits`` commits with a realistic mix of changes (one git fast-import, so the
set-up takes seconds): mostly source edits of 1-6 files, some dependency bumps, docs (ignored),
changes outside the context, a few Dockerfile and .dockerignore edits. Then times, as a user
runs it, ``keelhaul cache services/web --git HEAD~N..HEAD --format markdown``.

Target (issue 5): well under a minute for 500 commits.

The only other way to get these numbers is to rebuild: with a Docker Engine up, the script also
builds ``--docker-sample`` consecutive commits with BuildKit (the same Dockerfile with offline
stand-ins for ``npm ci``/``npm run build``, so no network: a lower bound on real builds),
extrapolates the time to all commits, and checks keelhaul's predicted rebuilds against the
steps BuildKit reports as not CACHED.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from io import BytesIO
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET_SECONDS = 60.0
CONTEXT = "services/web"
DOCKERFILE = """\
FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY . .
RUN npm ci
RUN npm run build
EXPOSE 8080
CMD ["node", "dist/server.js"]
"""
#: The same cache structure, runnable offline on the engine's test image.
OFFLINE = {
    "FROM node:20-bookworm-slim": "FROM keelhaul-test/debian:bookworm",
    "RUN npm ci": "RUN cat package.json package-lock.json | wc -c > /deps.txt",
    "RUN npm run build": "RUN find src -type f | wc -l > /build.txt",
}
IGNORE = "node_modules\n*.md\ndocs/\n.git\n"
BASE_IMAGE = "keelhaul-test/debian:bookworm"
TAG = "keelhaul-test/cache-bench:latest"


def _tree(files: int, rng: random.Random) -> dict[str, str]:
    """A monorepo of about ``files`` files; a third of them in the web context."""
    tree: dict[str, str] = {
        f"{CONTEXT}/Dockerfile": DOCKERFILE,
        f"{CONTEXT}/.dockerignore": IGNORE,
        f"{CONTEXT}/package.json": '{"name": "web", "version": "1.0.0"}\n',
        f"{CONTEXT}/package-lock.json": '{"lockfileVersion": 3}\n',
        f"{CONTEXT}/README.md": "# web\n",
        # unique per run, so an engine's build cache from an earlier run cannot answer
        f"{CONTEXT}/src/build-id.ts": f"// {time.time_ns()}\n",
    }
    areas = [
        (f"{CONTEXT}/src", ".ts", 0.30),
        (f"{CONTEXT}/test", ".ts", 0.05),
        (f"{CONTEXT}/docs", ".md", 0.03),
        ("services/api/internal", ".go", 0.30),
        ("docs", ".md", 0.12),
        ("tools", ".py", 0.10),
        ("infra", ".tf", 0.10),
    ]
    for area, ext, share in areas:
        for i in range(int(files * share)):
            folder = f"{area}/m{i % 37:02d}/p{i % 5}"
            tree[f"{folder}/f{i:05d}{ext}"] = f"// {rng.random()}\n" * 5
    return tree


def _pick(paths: list[str], prefix: str, rng: random.Random, n: int) -> list[str]:
    chosen = [p for p in paths if p.startswith(prefix)]
    return rng.sample(chosen, min(n, len(chosen)))


def _history(tree: dict[str, str], commits: int, rng: random.Random) -> list[dict[str, str]]:
    """Each commit's changed files (path -> new content)."""
    paths = sorted(tree)
    out: list[dict[str, str]] = []
    for n in range(commits):
        roll = rng.random()
        if roll < 0.45:  # web source edits
            changed = _pick(paths, f"{CONTEXT}/src/", rng, rng.randint(1, 6))
            changed += _pick(paths, f"{CONTEXT}/test/", rng, rng.randint(0, 2))
        elif roll < 0.52:  # a dependency bump
            changed = [f"{CONTEXT}/package.json", f"{CONTEXT}/package-lock.json"]
        elif roll < 0.60:  # docs in the context (ignored)
            changed = [f"{CONTEXT}/README.md", *_pick(paths, f"{CONTEXT}/docs/", rng, 2)]
        elif roll < 0.97:  # another service, the docs site, tools, infra
            area = rng.choice(["services/api/", "docs/", "tools/", "infra/"])
            changed = _pick(paths, area, rng, rng.randint(1, 8))
        elif roll < 0.99:  # a Dockerfile edit
            changed = [f"{CONTEXT}/Dockerfile"]
        else:  # an ignore file edit
            changed = [f"{CONTEXT}/.dockerignore"]
        edit: dict[str, str] = {}
        for path in changed:
            if path.endswith("Dockerfile"):
                tree[path] = tree[path].replace("EXPOSE 8080", f"EXPOSE 8080\nLABEL build={n}", 1)
            elif path.endswith(".dockerignore"):
                tree[path] = tree[path] + f"tmp{n}/\n"
            else:
                tree[path] = tree[path] + f"// change {n}\n"
            edit[path] = tree[path]
        out.append(edit)
    return out


def _fast_import(repo: Path, first: dict[str, str], commits: list[dict[str, str]]) -> None:
    """Write the whole history with one ``git fast-import``."""
    stream = BytesIO()
    when = 1_700_000_000

    def commit(files: dict[str, str], message: str, number: int) -> None:
        # consecutive commits to one branch chain on their own: no ``from`` needed
        stream.write(b"commit refs/heads/main\n")
        stream.write(f"committer Bench <bench@example.com> {when + number * 600} +0000\n".encode())
        data = message.encode()
        stream.write(f"data {len(data)}\n".encode() + data + b"\n")
        for path, text in files.items():
            body = text.encode()
            stream.write(f"M 100644 inline {path}\ndata {len(body)}\n".encode() + body + b"\n")
        stream.write(b"\n")

    commit(first, "initial import", 0)
    for number, files in enumerate(commits, start=1):
        commit(files, f"change {number}", number)
    subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True)
    subprocess.run(
        ["git", "-C", str(repo), "fast-import", "--quiet"], input=stream.getvalue(), check=True
    )
    subprocess.run(["git", "-C", str(repo), "checkout", "-q", "main"], check=True)


def _keelhaul() -> list[str]:
    """How to run keelhaul: ``python -m keelhaul``, registering ``cache`` if the CLI lacks it."""
    shim = (
        "import sys\n"
        "from keelhaul.cli.app import cli, main\n"
        "from keelhaul.cli import cache\n"
        "if 'cache' not in cli.commands: cli.add_command(cache.command)\n"
        "main(sys.argv[1:])\n"
    )
    return [sys.executable, "-c", shim]


def _per_commit(repo: Path, rev_range: str) -> list[dict[str, object]]:
    done = subprocess.run(
        [*_keelhaul(), "cache", CONTEXT, "--git", rev_range, "--format", "json"],
        cwd=repo, capture_output=True, text=True, check=True,
    )  # fmt: skip
    commits: list[dict[str, object]] = json.loads(done.stdout)["per_commit"]
    return commits


def _sample(
    repo: Path, count: int, total: int
) -> tuple[list[tuple[str, list[int]]], dict[tuple[int, ...], int]]:
    """Recent commits with different predicted rebuilds (a full one, an empty one...), and how
    many commits of the range fall in each kind (to extrapolate the build times)."""
    chosen: dict[tuple[int, ...], tuple[str, list[int]]] = {}
    kinds: dict[tuple[int, ...], int] = {}
    for commit in reversed(_per_commit(repo, f"HEAD~{total}..HEAD")):
        lines = commit["rebuilt_lines"]
        assert isinstance(lines, list)
        chosen.setdefault(tuple(lines), (str(commit["commit"]), lines))
        kinds[tuple(lines)] = kinds.get(tuple(lines), 0) + 1
    return list(chosen.values())[:count], kinds


def _steps(repo: Path, rev: str, lines: list[int]) -> list[str]:
    """The offline names of the RUN/COPY steps on ``lines`` of the Dockerfile at ``rev``."""
    text = subprocess.run(
        ["git", "-C", str(repo), "show", f"{rev}:{CONTEXT}/Dockerfile"],
        capture_output=True, text=True, check=True,
    ).stdout.splitlines()  # fmt: skip
    found = [OFFLINE.get(text[line - 1], text[line - 1]) for line in lines]
    return sorted(step for step in found if step.startswith(("RUN", "COPY")))


def _build(repo: Path, rev: str, work: Path) -> tuple[float, list[str]]:
    """Build ``rev`` with BuildKit: (seconds, the RUN/COPY steps not CACHED)."""
    archive = subprocess.run(
        ["git", "-C", str(repo), "archive", rev, CONTEXT], capture_output=True, check=True
    ).stdout
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(work, filter="data")
    context = work / CONTEXT
    text = (context / "Dockerfile").read_text()
    for real, offline in OFFLINE.items():
        text = text.replace(real, offline)
    (context / "Dockerfile").write_text(text)
    client = "/usr/bin/docker" if Path("/usr/bin/docker").exists() else "docker"
    started = time.perf_counter()
    done = subprocess.run(
        [client, "build", "--network", "host", "--progress=plain", "-t", TAG, str(context)],
        capture_output=True, text=True, env={**os.environ, "DOCKER_BUILDKIT": "1"},
    )  # fmt: skip
    elapsed = time.perf_counter() - started
    if done.returncode:
        raise RuntimeError(f"docker build failed: {done.stderr.strip().splitlines()[-1:]}")
    steps = dict(re.findall(r"^#(\d+) \[\d+/\d+\] ((?:RUN|COPY) .+)$", done.stderr, re.M))
    cached = set(re.findall(r"^#(\d+) CACHED$", done.stderr, re.M))
    return elapsed, sorted(text for vertex, text in steps.items() if vertex not in cached)


def _docker_sample(repo: Path, count: int, total: int) -> str:
    if (
        shutil.which("docker") is None
        or subprocess.run(["docker", "info"], capture_output=True).returncode
    ):
        return "docker: no engine up, no rebuild sample"
    if subprocess.run(["docker", "image", "inspect", BASE_IMAGE], capture_output=True).returncode:
        return f"docker: {BASE_IMAGE} missing, no rebuild sample"
    lines: list[str] = []
    seconds: list[float] = []
    agree = 0
    sample, kinds = _sample(repo, count, total)
    by_kind: dict[tuple[int, ...], float] = {}
    try:
        with tempfile.TemporaryDirectory(prefix="keelhaul-cache-bench-docker-") as tmp:
            for i, (rev, predicted_lines) in enumerate(sample):
                _build(repo, f"{rev}~1", Path(tmp) / f"p{i}")  # the parent fills the cache
                elapsed, ran = _build(repo, rev, Path(tmp) / f"c{i}")
                seconds.append(elapsed)
                by_kind[tuple(predicted_lines)] = elapsed
                predicted = _steps(repo, rev, predicted_lines)
                agree += predicted == ran
                lines.append(f"  commit {rev[:10]}: {elapsed:.2f} s; BuildKit ran {ran or 'nothing'}; "
                             f"keelhaul predicted {predicted or 'nothing'}")  # fmt: skip
    except RuntimeError as exc:
        return str(exc)
    finally:
        subprocess.run(["docker", "rmi", "-f", TAG], capture_output=True)
    per = sum(seconds) / len(seconds)
    # each kind of commit (what it rebuilds) at the time its sampled build took
    whole = sum(by_kind.get(kind, per) * n for kind, n in kinds.items())
    lines.append(
        f"keelhaul's prediction matched BuildKit on {agree} of {len(sample)} sampled commits"
    )
    lines.append(
        f"docker build (BuildKit, offline stand-in steps): ~{whole:.0f} s to rebuild all {total} "
        "commits (each kind of commit at its sampled build time), before any real `npm ci` time"
    )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--commits", type=int, default=500)
    parser.add_argument("--files", type=int, default=3000)
    parser.add_argument("--docker-sample", type=int, default=3, help="0: no docker comparison")
    parser.add_argument("--keep", type=Path, help="Build the repository here and keep it.")
    parser.add_argument("--seed", type=int, default=5)
    opts = parser.parse_args()
    rng = random.Random(opts.seed)
    tmp = None
    if opts.keep is not None:
        repo = opts.keep
    else:
        tmp = tempfile.TemporaryDirectory(prefix="keelhaul-cache-bench-")
        repo = Path(tmp.name) / "repo"
    try:
        started = time.perf_counter()
        tree = _tree(opts.files, rng)
        first = dict(tree)
        history = _history(tree, opts.commits, rng)
        _fast_import(repo, first, history)
        print(
            f"repository: {len(first)} files, {opts.commits + 1} commits, made in {time.perf_counter() - started:.1f} s"
        )
        command = [
            *_keelhaul(),
            "cache",
            CONTEXT,
            "--git",
            f"HEAD~{opts.commits}..HEAD",
            "--format",
            "markdown",
        ]
        started = time.perf_counter()
        done = subprocess.run(command, cwd=repo, capture_output=True, text=True)
        elapsed = time.perf_counter() - started
        if done.returncode:
            print(done.stderr, file=sys.stderr)
            return 1
        print(done.stdout)
        verdict = "within" if elapsed < TARGET_SECONDS else "OVER"
        print(f"keelhaul cache --git over {opts.commits} commits: {elapsed:.2f} s "
              f"({verdict} the {TARGET_SECONDS:.0f} s target; python start-up included)")  # fmt: skip
        if opts.docker_sample:
            print(_docker_sample(repo, opts.docker_sample, opts.commits))
    finally:
        if tmp is not None:
            tmp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
