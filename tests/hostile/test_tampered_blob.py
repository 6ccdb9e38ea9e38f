"""Issue 23 item 14: a warm per-layer cache does not let ``sbom``/``vulns`` accept a blob that
``image`` rejects. A cached result stands for a local blob only while the blob's file is as
it was when a read verified it (path, size, times, inode); a blob overwritten since, even
with the same size and its old modification time, is read again and refused like ``image``
refuses it: exit 2, one line naming the layer."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.image import source_images as si
from tests.keelhaul_cli import run

FILES = [{"etc/os-release": b'ID=debian\nVERSION_ID="12"\n',
          "usr/lib/python3/dist-packages/flask-2.0.0.dist-info/METADATA":
          b"Metadata-Version: 2.1\nName: flask\nVersion: 2.0.0\n"}]  # fmt: skip
ADVISORY = {
    "id": "PYSEC-TEST-1",
    "modified": "2024-01-01T00:00:00Z",
    "affected": [{"package": {"ecosystem": "PyPI", "name": "flask"},
                  "ranges": [{"type": "ECOSYSTEM",
                              "events": [{"introduced": "0"}, {"fixed": "2.3.2"}]}]}],
}  # fmt: skip


def _layout(tmp_path: Path) -> tuple[Path, str]:
    layout = tmp_path / "lay"
    built = si.image(FILES)
    si.write_layout(layout, [built])
    layer = built.manifest["layers"][0]["digest"]
    return layout / "blobs" / "sha256" / layer.removeprefix("sha256:"), layer


def _database(tmp_path: Path) -> Path:
    (tmp_path / "osv").mkdir()
    (tmp_path / "osv" / "a.json").write_text(json.dumps(ADVISORY))
    db = tmp_path / "osv.sqlite3"
    done = run("db", "import", "--db", str(db), str(tmp_path / "osv"), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    return db


def _same_size(blob: Path) -> None:
    before = blob.stat()
    data = bytearray(blob.read_bytes())
    data[len(data) // 2] ^= 0xFF  # inside the deflate stream: other bytes, same size
    blob.write_bytes(bytes(data))
    os.utime(blob, ns=(before.st_atime_ns, before.st_mtime_ns))  # its old mtime back
    assert blob.stat().st_size == before.st_size


def _other_size(blob: Path) -> None:
    blob.write_bytes(blob.read_bytes() + b"\0" * 512)


@pytest.mark.parametrize("tamper", [_same_size, _other_size])
@pytest.mark.parametrize("command", ["sbom", "vulns"])
def test_a_tampered_blob_fails_after_a_warm_run_as_image_fails(
    tmp_path: Path, tamper: object, command: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KEELHAUL_CACHE_DIR", str(tmp_path / "cache"))
    blob, layer = _layout(tmp_path)
    extra = ["--db", str(_database(tmp_path))] if command == "vulns" else []
    warm = run(command, "oci:lay", *extra, cwd=tmp_path)
    assert warm.returncode in (0, 1), warm.stderr
    assert "flask" in warm.stdout
    assert callable(tamper)
    tamper(blob)
    image = run("image", "oci:lay", cwd=tmp_path)
    assert image.returncode == 2, image.stdout + image.stderr
    again = run(command, "oci:lay", *extra, cwd=tmp_path)
    assert again.returncode == 2, again.stdout + again.stderr
    assert layer in again.stderr
    assert "layer 1" in again.stderr
    assert len(again.stderr.strip().splitlines()) == 1, again.stderr
    assert "Traceback" not in again.stderr


def test_an_untouched_blob_is_still_taken_from_the_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from keelhaul.sbom.targets import read_target

    monkeypatch.setenv("KEELHAUL_CACHE_DIR", str(tmp_path / "cache"))
    blob, _ = _layout(tmp_path)
    target = f"oci:{tmp_path / 'lay'}"
    assert read_target(target, None).layers_read == 1
    assert read_target(target, None).layers_read == 0  # warm: not read
    os.utime(blob)  # touched, not changed: read (and verified) again, then trusted
    assert read_target(target, None).layers_read == 1
    assert read_target(target, None).layers_read == 0


def test_a_tampered_docker_archive_fails_after_a_warm_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In a docker-archive the blob is a member of the archive: any change to the archive
    file makes the cached results suspect, and the changed layer is refused."""
    import tarfile

    monkeypatch.setenv("KEELHAUL_CACHE_DIR", str(tmp_path / "cache"))
    built = si.image(FILES, "tar")
    archive = si.write_legacy_archive(tmp_path / "app.tar", built)
    warm = run("sbom", f"docker-archive:{archive}", cwd=tmp_path)
    assert warm.returncode == 0, warm.stderr
    with tarfile.open(archive) as tar:
        layer = next(m for m in tar.getmembers() if m.name.endswith("layer.tar"))
    before = archive.stat()
    data = bytearray(archive.read_bytes())
    at = data.index(b"Version: 2.0.0", layer.offset_data)
    data[at + 9] = ord("3")  # flask 3.0.0: same size, another DiffID
    archive.write_bytes(bytes(data))
    os.utime(archive, ns=(before.st_atime_ns, before.st_mtime_ns))
    image = run("image", f"docker-archive:{archive}", cwd=tmp_path)
    assert image.returncode == 2, image.stdout + image.stderr
    again = run("sbom", f"docker-archive:{archive}", cwd=tmp_path)
    assert again.returncode == 2, again.stdout + again.stderr
    assert "layer 1" in again.stderr
    assert len(again.stderr.strip().splitlines()) == 1, again.stderr
