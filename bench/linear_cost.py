"""Benchmark: does keelhaul's cost grow linearly with its input? (issue 23, linear-cost evidence)

Each shape of input is doubled a few times and run through the real command line (the
fastest of ``--repeat`` runs counts: the machine may be shared); the table gives, per size,
the wall time (``--cpu``: the CPU time) net of the start-up (a one-line file's run, the median of
three), the peak memory (the child's max RSS) and the ratio of the net time to the previous
size's: about 2 is linear, 4 quadratic. Ratios over 2.5 are flagged (``!``).

    .venv/bin/python bench/linear_cost.py [--steps 4] [--only lines,stages] [--cpu]

Shapes: Dockerfile lines, stages, a chain of stages each built FROM the previous one, RUN continuation lines, ARG/ENV count (``check`` and
``fix``); Kubernetes documents in one file (``check`` and ``fix``); image layers and files in
one layer (``image`` on an OCI layout). ShellCheck is left out (``--no-shellcheck``): its cost
is its own (bounded separately, see ``keelhaul.dockerfile.shell``).
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import json
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

FLAG = 2.5


def dockerfile_lines(n: int) -> str:
    return "FROM debian:12.5\n" + "".join(f"RUN echo {i}\n" for i in range(n))


def dockerfile_stages(n: int) -> str:
    return "".join(f"FROM debian:12.5 AS s{i}\nRUN echo {i}\n" for i in range(n))


def stage_chain(n: int) -> str:
    """Each stage built FROM the one before: stage n's chain is n stages deep."""
    more = "".join(f"FROM s{i - 1} AS s{i}\nRUN echo {i}\n" for i in range(1, n))
    return "FROM debian:12.5 AS s0\nRUN echo 0\n" + more


def continuations(n: int) -> str:
    body = " \\\n".join(f"    && echo {i}" for i in range(n))
    return f"FROM debian:12.5\nRUN true \\\n{body}\n"


def args_envs(n: int) -> str:
    lines = [f"ARG A{i}=v{i}\nENV E{i}=${{A{i}}}\n" for i in range(n)]
    return "FROM debian:12.5\n" + "".join(lines) + "RUN echo $E0\n"


def manifests(n: int) -> str:
    pod = ("apiVersion: v1\nkind: Pod\nmetadata:\n  name: p{i}\nspec:\n  containers:\n"
           "    - name: a\n      image: nginx:1.25\n")  # fmt: skip
    return "---\n".join(pod.format(i=i) for i in range(n))


def _tar(files: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


def _layout(folder: Path, layers: list[dict[str, bytes]]) -> None:
    blobs: dict[str, bytes] = {}

    def add(data: bytes) -> str:
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        blobs[digest] = data
        return digest

    descriptors, diff_ids = [], []
    for files in layers:
        tar = _tar(files)
        blob = gzip.compress(tar, mtime=0)
        descriptors.append({"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                            "digest": add(blob), "size": len(blob)})  # fmt: skip
        diff_ids.append("sha256:" + hashlib.sha256(tar).hexdigest())
    config = json.dumps({"architecture": "amd64", "os": "linux",
                         "rootfs": {"type": "layers", "diff_ids": diff_ids}}).encode()  # fmt: skip
    manifest = json.dumps({"schemaVersion": 2,
                           "mediaType": "application/vnd.oci.image.manifest.v1+json",
                           "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                                      "digest": add(config), "size": len(config)},
                           "layers": descriptors}).encode()  # fmt: skip
    entry = {
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "digest": add(manifest),
        "size": len(manifest),
        "annotations": {"org.opencontainers.image.ref.name": "v1"},
    }
    folder.mkdir(parents=True)
    (folder / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')
    (folder / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": [entry]}))
    for digest, data in blobs.items():
        path = folder / "blobs" / "sha256" / digest.removeprefix("sha256:")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def image_layers(n: int, folder: Path) -> None:
    _layout(folder, [{f"layer{i}/file": b"x" * 64} for i in range(n)])


def image_files(n: int, folder: Path) -> None:
    _layout(folder, [{f"d{i // 100}/f{i}": b"x" * 64 for i in range(n)}])


#: (name, file name or None for a layout, generator, first size, commands)
SHAPES: list[tuple[str, str | None, Callable[..., object], int, tuple[str, ...]]] = [
    ("lines", "Dockerfile", dockerfile_lines, 4_000, ("check", "fix")),
    ("stages", "Dockerfile", dockerfile_stages, 1_000, ("check", "fix")),
    ("chain", "Dockerfile", stage_chain, 500, ("check", "fix")),
    ("continuations", "Dockerfile", continuations, 4_000, ("check", "fix")),
    ("arg-env", "Dockerfile", args_envs, 1_000, ("check", "fix")),
    ("k8s-documents", "pod.yaml", manifests, 125, ("check", "fix")),
    ("layers", None, image_layers, 100, ("image",)),
    ("files", None, image_files, 10_000, ("image",)),
]


#: Count the child's CPU seconds (user + system) instead of wall seconds (``--cpu``).
CPU = False


def _run(args: list[str], cwd: Path) -> tuple[float, int]:
    """Wall (or, with ``--cpu``, CPU) seconds and peak RSS (KiB) of ``keelhaul ARGS``."""
    started = time.monotonic()
    child = subprocess.Popen([sys.executable, "-m", "keelhaul", *args], cwd=cwd,
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)  # fmt: skip
    _, status, usage = os.wait4(child.pid, 0)
    elapsed = time.monotonic() - started
    stderr = child.stderr.read().decode() if child.stderr else ""
    if child.stderr:
        child.stderr.close()
    code = os.waitstatus_to_exitcode(status)
    if code not in (0, 1):
        raise SystemExit(f"keelhaul {' '.join(args)} exited {code}: {stderr[-500:]}")
    if CPU:
        elapsed = usage.ru_utime + usage.ru_stime
    return elapsed, usage.ru_maxrss


def _args(command: str, target: str) -> list[str]:
    if command == "image":
        return ["image", f"oci:{target}"]
    extra = ["--no-shellcheck"] if command == "check" else ["--unsafe-fixes"]
    return [command, *extra, target]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=4, help="sizes per shape (doublings + 1)")
    parser.add_argument("--only", default="", help="comma-separated shape names")
    parser.add_argument("--repeat", type=int, default=2, help="runs per size (the fastest counts)")
    parser.add_argument("--cpu", action="store_true",
                        help="CPU seconds (user + system) instead of wall seconds: steadier "
                        "on a loaded machine")  # fmt: skip
    options = parser.parse_args()
    global CPU
    CPU = options.cpu
    only = {s for s in options.only.split(",") if s}
    env_cache = tempfile.mkdtemp(prefix="keelhaul-bench-cache-")
    os.environ["KEELHAUL_CACHE_DIR"] = env_cache  # no warm caches between sizes
    flagged = []
    with tempfile.TemporaryDirectory(prefix="keelhaul-linear-") as tmp:
        root = Path(tmp)
        (root / "Dockerfile").write_text("FROM debian:12.5\n")
        empty = [_run(["check", "--no-shellcheck", "Dockerfile"], root) for _ in range(3)]
        startup = statistics.median(seconds for seconds, _ in empty)
        base_rss = min(rss for _, rss in empty)
        print(f"start-up (a one-line Dockerfile, median of 3): {startup:.2f} s, "
              f"{base_rss / 1024:.0f} MiB\n")  # fmt: skip
        print(
            "| shape | command | size | seconds | net seconds | time ratio | peak MiB "
            "| memory ratio |"
        )
        print("|---|---|---:|---:|---:|---:|---:|---:|")
        for name, filename, make, first, commands in SHAPES:
            if only and name not in only:
                continue
            for command in commands:
                previous: float | None = None
                previous_rss = 0
                for step in range(options.steps):
                    size = first << step
                    work = root / f"{name}-{command}-{size}"
                    work.mkdir()
                    if filename is None:
                        make(size, work / "layout")
                        target = "layout"
                    else:
                        text = str(make(size))
                        target = filename
                    runs = []
                    for _ in range(options.repeat):
                        if filename is not None:  # fix rewrote it: each run starts afresh
                            (work / filename).write_text(text)
                        runs.append(_run(_args(command, target), work))
                    seconds, rss = min(runs)
                    net = max(seconds - startup, 0.01)
                    grown = max(rss - base_rss, 1024)  # over the start-up's, at least 1 MiB
                    ratio = memory = ""
                    if previous is not None:
                        ratio = f"{net / previous:.2f}" + (" !" if net / previous > FLAG else "")
                        memory = f"{grown / previous_rss:.2f}"
                        memory += " !" if grown / previous_rss > FLAG else ""
                        if "!" in ratio + memory:
                            flagged.append(f"{name} {command} {size:,}")
                    print(f"| {name} | {command} | {size:,} | {seconds:.2f} | {net:.2f} | "
                          f"{ratio} | {rss / 1024:.0f} | {memory} |", flush=True)  # fmt: skip
                    previous, previous_rss = net, grown
    print(f"\nratios over {FLAG}: {', '.join(flagged) if flagged else 'none'}")


if __name__ == "__main__":
    main()
