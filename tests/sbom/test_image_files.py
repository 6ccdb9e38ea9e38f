"""An image's merged filesystem for the catalogers: layers written here with tarfile, whiteouts
and opaque folders as the OCI spec defines them, and the per-layer cache."""

from __future__ import annotations

import hashlib
import io
import multiprocessing
import tarfile
from contextlib import nullcontext
from pathlib import Path

from keelhaul.image.model import Image, Layer
from keelhaul.sbom.catalog import catalog
from keelhaul.sbom.image_files import LayerCache, LayerFacts, image_files

STATUS = ("Package: {name}\nStatus: install ok installed\nVersion: {version}\n"
          "Architecture: amd64\n\n")  # fmt: skip


def tar_layer(files: dict[str, bytes | None]) -> bytes:
    """A layer: path -> content, None for a folder."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as archive:
        for name, content in files.items():
            info = tarfile.TarInfo(name)
            if content is None:
                info.type = tarfile.DIRTYPE
                archive.addfile(info)
            else:
                info.size = len(content)
                archive.addfile(info, io.BytesIO(content))
    return out.getvalue()


def image(*layers: bytes) -> Image:
    made = []
    for k, data in enumerate(layers):
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        made.append(Layer(k, digest, digest, "application/vnd.oci.image.layer.v1.tar", len(data),
                          None, opener=lambda d=data: nullcontext(io.BytesIO(d))))  # fmt: skip
    return Image("test:", None, "sha256:" + "0" * 64, {}, tuple(made), (), "linux/amd64")


BASE = tar_layer({
    "etc/os-release": b'ID=debian\nVERSION_ID="12"\n',
    "var/lib/dpkg/status": (STATUS.format(name="libc6", version="2.36-9")
                            + STATUS.format(name="curl", version="7.88.1-10")).encode(),
    "usr/lib/python3/dist-packages/": None,
    "app/node_modules/left-pad/package.json": b'{"name": "left-pad", "version": "1.0.0"}',
    "app/node_modules/old/package.json": b'{"name": "old", "version": "0.1.0"}',
    "srv/cache/x/package.json": b"{}",
})  # fmt: skip
APP = tar_layer({
    # a later status replaces the earlier one
    "var/lib/dpkg/status": STATUS.format(name="libc6", version="2.36-9+deb12u1").encode(),
    "app/node_modules/.wh.old": b"",  # deletes old/
    "app/node_modules/left-pad/package.json": b'{"name": "left-pad", "version": "1.3.0"}',
    "srv/cache/.wh..wh..opq": b"",  # hides what the base had in srv/cache
    "usr/local/lib/python3.12/site-packages/Flask-3.0.0.dist-info/METADATA":
        b"Name: Flask\nVersion: 3.0.0\n",
})  # fmt: skip


def test_merged_view_and_catalog(tmp_path: Path) -> None:
    files, read = image_files(image(BASE, APP))
    assert read == 2
    assert "/app/node_modules/old/package.json" not in set(files.paths())
    assert "/srv/cache/x/package.json" not in set(files.paths())
    inventory = catalog(files, lock_files=False)
    got = {(p.type, p.name, p.version) for p in inventory.packages}
    assert got == {("deb", "libc6", "2.36-9+deb12u1"), ("npm", "left-pad", "1.3.0"),
                   ("pypi", "Flask", "3.0.0")}  # fmt: skip
    flask = next(p for p in inventory.packages if p.name == "Flask")
    assert flask.layer == image(BASE, APP).layers[1].diff_id


def test_path_traversal_members_are_ignored() -> None:
    hostile = tar_layer({"../../etc/passwd": b"x", "/abs/ok": b"y", "a/../../b": b"z"})
    files, _ = image_files(image(hostile))
    assert set(files.paths()) == {"/abs/ok"}


def test_the_cache_reads_each_layer_once(tmp_path: Path) -> None:
    cache = LayerCache(tmp_path / "layers.sqlite3")
    _, first = image_files(image(BASE, APP), cache)
    _, second = image_files(image(BASE, APP), cache)
    _, shared_base = image_files(image(BASE, tar_layer({"x": b"1"})), cache)
    cache.close()
    assert (first, second, shared_base) == (2, 0, 1)
    facts = LayerFacts(["/a"], ["/b"], ["/c"], {"/a": b"\x00\xff"}, {}, {"/bin/x": b"s"})
    assert LayerFacts.from_bytes(facts.to_bytes()) == facts


def _fill(path: str, start: int) -> int:
    cache = LayerCache(Path(path))
    for k in range(start, start + 40):
        cache.put(f"sha256:{k:064x}", LayerFacts([f"/f{k}"]))
        assert cache.get(f"sha256:{k:064x}") is not None
    cache.close()
    return 40


def test_parallel_runs_share_the_cache(tmp_path: Path) -> None:
    path = str(tmp_path / "layers.sqlite3")
    LayerCache(Path(path)).close()
    with multiprocessing.get_context("spawn").Pool(4) as pool:
        done = pool.starmap(_fill, [(path, 0), (path, 20), (path, 40), (path, 60)])
    assert done == [40, 40, 40, 40]
    cache = LayerCache(Path(path))
    assert all(cache.get(f"sha256:{k:064x}") is not None for k in range(100))
    cache.close()
