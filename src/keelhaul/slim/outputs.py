"""Where a slim image goes: an OCI layout (``oci:DIR[:TAG]``), a tar of one
(``oci-archive:PATH[:TAG]``), a ``docker save`` archive (``docker-archive:PATH[:NAME]``,
written as Docker 25+ writes it: an OCI layout plus ``manifest.json``, which every engine
since 1.10 loads) or the local engine (``docker:NAME``: that archive, in ``$TMPDIR``, loaded
over the engine's API socket and removed).

Nothing is written outside the destination: the image is assembled in a temporary folder
(or file) beside it, named from the destination, every member named by the digest keelhaul
computed, and renamed into place at the end; on an error the temporary is removed and the
destination is as it was. A destination that exists is refused unless ``force``.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import shutil
import tarfile
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from glob import escape as glob_escape
from pathlib import Path
from typing import IO, Any

import zstandard
from isal import isal_zlib

from keelhaul.image.sources.streams import GZIP, PLAIN, ZSTD, detect_compression
from keelhaul.registry.reference import InvalidReference, parse_reference
from keelhaul.slim.consolidate import SlimError

__all__ = ["Destination", "Layout", "parse_destination"]

DOCKER_ARCHIVE = "docker-archive"
OCI = "oci"
OCI_ARCHIVE = "oci-archive"
DOCKER = "docker"
REGISTRY = "registry"
WRITTEN = (DOCKER_ARCHIVE, OCI, OCI_ARCHIVE, DOCKER, REGISTRY)

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
LAYER_TYPES = {
    GZIP: "application/vnd.oci.image.layer.v1.tar+gzip",
    ZSTD: "application/vnd.oci.image.layer.v1.tar+zstd",
    PLAIN: "application/vnd.oci.image.layer.v1.tar",
}
REF_NAME = "org.opencontainers.image.ref.name"
CONTAINERD_NAME = "io.containerd.image.name"
_CHUNK = 1 << 20


@dataclass(frozen=True)
class Destination:
    scheme: str
    path: Path
    name: str | None
    """The tag (``oci``) or the image name (``docker-archive``), when given."""
    text: str


def parse_destination(text: str) -> Destination:
    """``docker-archive:PATH[:NAME]``, ``oci:DIR[:TAG]``, ``oci-archive:PATH[:TAG]``,
    ``docker:NAME``."""
    scheme, colon, rest = text.partition(":")
    if not colon or scheme not in WRITTEN:
        raise SlimError(f"--output {text}: expected docker-archive:PATH, oci:DIR, "
                        "oci-archive:PATH, docker:NAME or registry:NAME")  # fmt: skip
    if scheme in (DOCKER, REGISTRY):
        try:
            ref = parse_reference(rest)
        except InvalidReference as exc:
            raise SlimError(f"--output {text}: {exc}") from None
        if ref.digest is not None:
            raise SlimError(f"--output {text}: name a tag, not a digest")
        return Destination(scheme, Path(), str(ref.familiar() if scheme == DOCKER else ref), text)
    path, _, name = rest.partition(":")
    if not path:
        raise SlimError(f"--output {text}: no path after '{scheme}:'")
    if name:
        try:
            if scheme == DOCKER_ARCHIVE:
                name = str(parse_reference(name).familiar())
            else:
                parse_reference(f"x:{name}")
        except InvalidReference as exc:
            raise SlimError(f"--output {text}: {exc}") from None
    return Destination(scheme, Path(path), name or None, text)


def _sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _json(document: Any) -> bytes:
    return json.dumps(document, sort_keys=True, separators=(",", ":")).encode()


class _Compressor:
    def __init__(self, how: str, level: int | None) -> None:
        self.how = how
        if how == GZIP:
            self._gz = isal_zlib.compressobj(2 if level is None else level, isal_zlib.DEFLATED, 31)
        elif how == ZSTD:
            # one thread: the frames come out the same on every machine
            self._zstd = zstandard.ZstdCompressor(level=3 if level is None else level)
            self._zobj = self._zstd.compressobj()

    def compress(self, data: bytes | memoryview) -> bytes:
        if self.how == GZIP:
            return bytes(self._gz.compress(data))
        if self.how == ZSTD:
            return bytes(self._zobj.compress(data))
        return bytes(data)

    def flush(self) -> bytes:
        if self.how == GZIP:
            return bytes(self._gz.flush())
        if self.how == ZSTD:
            return bytes(self._zobj.flush())
        return b""


class BlobWriter:
    """A layer blob being written: the tar goes in, compressed bytes go to a file; both
    hashed on the way (DiffID and blob digest)."""

    def __init__(self, handle: IO[bytes], how: str, level: int | None) -> None:
        self._handle = handle
        self._compressor = _Compressor(how, level)
        self._tar = hashlib.sha256()
        self._blob = hashlib.sha256()
        self.tar_size = 0
        self.size = 0
        self.digest = ""
        """The blob's digest (once closed)."""
        self.diff_id = ""

    def __call__(self, data: bytes | memoryview) -> None:
        self._tar.update(data)
        self.tar_size += len(data)
        self._out(self._compressor.compress(data))

    def _out(self, data: bytes) -> None:
        if data:
            self._blob.update(data)
            self.size += len(data)
            self._handle.write(data)

    def close(self) -> None:
        self._out(self._compressor.flush())
        self.digest = "sha256:" + self._blob.hexdigest()
        self.diff_id = "sha256:" + self._tar.hexdigest()


@dataclass
class Layout:
    """An OCI layout being assembled in a temporary folder beside the destination."""

    destination: Destination
    force: bool = False
    insecure: tuple[str, ...] = ()
    """Registries (host[:port]) pushed to over plain HTTP besides loopback ones."""
    root: Path = field(init=False)
    manifests: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.destination.scheme in (DOCKER, REGISTRY):
            self.root = Path(tempfile.mkdtemp(prefix="keelhaul-slim-", suffix=".tmp"))
            (self.root / "blobs" / "sha256").mkdir(parents=True)
            return
        dest = self.destination.path
        if (dest.exists() or dest.is_symlink()) and not self.force:
            raise SlimError(f"{self.destination.text}: {dest} exists (--force replaces it)")
        if dest.is_symlink():
            raise SlimError(f"{self.destination.text}: {dest} is a symlink; not replaced")
        parent = dest.absolute().parent
        if not parent.is_dir():
            raise SlimError(f"{self.destination.text}: no folder {parent}")
        _remove_leftovers(parent, dest.name)
        try:
            self.root = Path(tempfile.mkdtemp(prefix=f".{dest.name}.keelhaul-{os.getpid()}.",
                                              suffix=".tmp", dir=parent))  # fmt: skip
        except OSError as exc:
            raise SlimError(f"{self.destination.text}: {exc.strerror or exc}") from None
        (self.root / "blobs" / "sha256").mkdir(parents=True)

    def _blob_path(self, digest: str) -> Path:
        hexdigest = digest.removeprefix("sha256:")
        if len(hexdigest) != 64 or not all(c in "0123456789abcdef" for c in hexdigest):
            raise SlimError(f"not a sha256 digest: {digest[:80]!r}")
        return self.root / "blobs" / "sha256" / hexdigest

    def put(self, data: bytes) -> str:
        digest = _sha(data)
        self._blob_path(digest).write_bytes(data)
        return digest

    @contextlib.contextmanager
    def layer(self, how: str, level: int | None = None) -> Iterator[BlobWriter]:
        """A new layer blob; after the block, :attr:`BlobWriter.digest` names it."""
        fd, name = tempfile.mkstemp(dir=self.root, suffix=".layer")
        with os.fdopen(fd, "wb") as handle:
            writer = BlobWriter(handle, how, level)
            yield writer
            writer.close()
        os.replace(name, self._blob_path(writer.digest))

    def discard(self, digest: str) -> None:
        """Remove a blob written (a squashed layer not worth keeping)."""
        self._blob_path(digest).unlink(missing_ok=True)

    def copy(
        self, chunks: Iterator[bytes], expected: str | None, name: str
    ) -> tuple[str, int, str]:
        """A blob copied byte for byte; (digest, size, compression). ``expected``: the digest
        it must have."""
        fd, temporary = tempfile.mkstemp(dir=self.root, suffix=".blob")
        hasher = hashlib.sha256()
        size = 0
        head = b""
        with os.fdopen(fd, "wb") as handle:
            for chunk in chunks:
                if len(head) < 8:
                    head += chunk[: 8 - len(head)]
                hasher.update(chunk)
                size += len(chunk)
                handle.write(chunk)
        digest = "sha256:" + hasher.hexdigest()
        if expected is not None and expected != digest:
            raise SlimError(f"{name}: the blob is {digest}, its manifest says {expected}")
        os.replace(temporary, self._blob_path(digest))
        return digest, size, detect_compression(head)

    def finish(
        self,
        config: bytes,
        layers: list[dict[str, Any]],
        check: Callable[[Path], None] | None = None,
        check_name: str = "keelhaul-slim-check:latest",
    ) -> str:
        """Write config, manifest and index; move the layout into place; the manifest's
        digest. ``check``: called with a ``docker save`` archive of the result, tagged
        ``check_name``, before anything is placed; what it raises leaves nothing behind."""
        config_digest = self.put(config)
        manifest = _json({
            "schemaVersion": 2, "mediaType": OCI_MANIFEST,
            "config": {"mediaType": OCI_CONFIG, "digest": config_digest, "size": len(config)},
            "layers": layers,
        })  # fmt: skip
        manifest_digest = self.put(manifest)
        dest = self.destination
        entry: dict[str, Any] = {"mediaType": OCI_MANIFEST, "digest": manifest_digest,
                                 "size": len(manifest)}  # fmt: skip
        if dest.name:
            if dest.scheme == DOCKER_ARCHIVE:
                tag = (
                    dest.name.rpartition(":")[2]
                    if ":" in dest.name.rpartition("/")[2]
                    else "latest"
                )
                entry["annotations"] = {CONTAINERD_NAME: dest.name, REF_NAME: tag}
            else:
                entry["annotations"] = {REF_NAME: dest.name}
        (self.root / "oci-layout").write_bytes(_json({"imageLayoutVersion": "1.0.0"}))
        (self.root / "index.json").write_bytes(
            _json({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [entry]})
        )

        def save_manifest(tags: list[str] | None) -> None:
            (self.root / "manifest.json").write_bytes(_json([{
                "Config": f"blobs/sha256/{config_digest[7:]}", "RepoTags": tags,
                "Layers": [f"blobs/sha256/{d['digest'][7:]}" for d in layers],
            }]))  # fmt: skip

        if check is not None:
            save_manifest([check_name])
            folder = Path(tempfile.mkdtemp(prefix="keelhaul-slim-check-"))
            try:
                _write_tar(self.root, folder / "image.tar")
                check(folder / "image.tar")
            finally:
                shutil.rmtree(folder, ignore_errors=True)
            (self.root / "manifest.json").unlink()
        if dest.scheme in (DOCKER_ARCHIVE, DOCKER):
            save_manifest([dest.name] if dest.name else None)
        if dest.scheme == OCI:
            self._place_folder()
        elif dest.scheme == DOCKER:
            self._load()
        elif dest.scheme == REGISTRY:
            self._push(config_digest, layers, manifest_digest)
        else:
            self._place_archive()
        return manifest_digest

    def _push(self, config: str, layers: list[dict[str, Any]], manifest: str) -> None:
        """Layers, then config, then the manifest under the tag (a registry refuses a
        manifest whose blobs it lacks); with the registry client's auth (docker's
        config.json, credential helpers) and its plain-HTTP rule (loopback only)."""
        from keelhaul.registry import RegistryClient, RegistryError

        assert self.destination.name is not None
        try:
            with RegistryClient(insecure_registries=self.insecure) as client:
                for digest in [*(d["digest"] for d in layers), config]:
                    client.push_blob(self.destination.name, digest, self._blob_path(digest))
                client.push_manifest(self.destination.name,
                                     self._blob_path(manifest).read_bytes(), OCI_MANIFEST)  # fmt: skip
        except RegistryError as exc:
            raise SlimError(f"{self.destination.text}: {exc}") from None
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def _load(self) -> None:
        from keelhaul.image.sources.engine import load_archive
        from keelhaul.registry import RegistryError

        try:
            _write_tar(self.root, self.root / "image.tar.tmp")
            load_archive(self.root / "image.tar.tmp")
        except RegistryError as exc:
            raise SlimError(f"{self.destination.text}: {exc}") from None
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def _place_folder(self) -> None:
        """Move the finished layout to the destination folder. A folder cannot replace a
        folder in one rename, so what is there is moved aside first; another slim to the same
        destination may place its own between the two renames, so that is moved aside too,
        and the last one placed stays (each is whole)."""
        dest = self.destination.path
        aside = dest.with_name(f".{dest.name}.keelhaul-{os.getpid()}.old")
        for _ in range(100):
            with contextlib.suppress(FileNotFoundError):
                os.replace(dest, aside)
                _remove(aside)
            try:
                os.replace(self.root, dest)
            except OSError as exc:
                if exc.errno not in (errno.ENOTEMPTY, errno.EEXIST, errno.EISDIR):
                    raise
                continue  # another slim placed its image in between: move it aside as well
            return
        raise SlimError(f"{self.destination.text}: other writers kept replacing it")

    def _place_archive(self) -> None:
        dest = self.destination.path
        fd, name = tempfile.mkstemp(dir=dest.absolute().parent, suffix=".tmp",
                                    prefix=f".{dest.name}.keelhaul-{os.getpid()}.")  # fmt: skip
        try:
            with os.fdopen(fd, "wb") as handle:
                _write_tar(self.root, handle)
                handle.flush()
                os.fsync(handle.fileno())
            if dest.is_dir():
                raise SlimError(f"{self.destination.text}: {dest} is a folder; not replaced")
            os.chmod(name, 0o644)
            os.replace(name, dest)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(name)
            raise
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def abandon(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


def _write_tar(root: Path, out: Path | IO[bytes]) -> None:
    """The layout at ``root`` as a tar: sorted names, no owners, no times."""
    with (
        tarfile.open(out, mode="w", format=tarfile.PAX_FORMAT)
        if isinstance(out, Path)
        else tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT)
    ) as tar:
        for path in sorted(root.rglob("*")):
            if path.suffix in (".layer", ".blob", ".tmp"):
                continue
            info = tar.gettarinfo(str(path), arcname=str(path.relative_to(root)))
            info.mtime, info.uid, info.gid, info.uname, info.gname = 0, 0, 0, "", ""
            info.mode = 0o755 if info.isdir() else 0o644
            if info.isdir():
                tar.addfile(info)
            else:
                with path.open("rb") as data:
                    tar.addfile(info, data)


def _remove_leftovers(parent: Path, name: str) -> None:
    """Temporaries of an earlier slim to the same destination that was killed (``kill -9``
    leaves them): ``.NAME.keelhaul-PID.*``, removed when no process PID runs."""
    prefix = f".{name}.keelhaul-"
    for path in parent.glob(f"{glob_escape(prefix)}*"):
        pid = path.name[len(prefix) :].partition(".")[0]
        if not pid.isdigit() or _running(int(pid)):
            continue
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            with contextlib.suppress(OSError):
                path.unlink()


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


def _remove(path: Path) -> None:
    """Remove a file or a folder tree moved aside."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)
