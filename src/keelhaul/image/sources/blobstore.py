"""Where a layout's or an archive's files are read from: a folder, or a tar file read in
place (its members' offsets are indexed once; nothing is extracted).

Paths come from manifests, which come from anywhere: a path that is absolute or climbs out
with ``..`` is refused, and so is a symlink or hardlink inside an archive that leads outside
it or loops.
"""

from __future__ import annotations

import contextlib
import os
import posixpath
import tarfile
from collections.abc import Iterator
from pathlib import Path

from keelhaul.image.sources.manifests import ImageSourceError
from keelhaul.image.sources.streams import SourceLimits, file_chunks
from keelhaul.reading import open_regular

__all__ = ["ArchiveStore", "BlobStore", "DirectoryStore", "safe_path"]

_MAX_LINK_HOPS = 8


def safe_path(path: object, where: str) -> str:
    """``path`` normalised inside the archive or layout; refuses escapes."""
    if not isinstance(path, str) or not path or "\0" in path:
        raise ImageSourceError(f"{where}: invalid path {str(path)[:100]!r}")
    if path.startswith("/"):
        raise ImageSourceError(f"{where}: refusing the path {path[:200]!r} (absolute)")
    if "\\" in path:
        raise ImageSourceError(f"{where}: refusing the path {path[:200]!r} (a backslash)")
    parts = [p for p in path.split("/") if p not in ("", ".")]
    if ".." in parts or not parts:
        raise ImageSourceError(f"{where}: refusing the path {path[:200]!r} (outside the archive)")
    return "/".join(parts)


class BlobStore:
    """Files of a layout or an archive by relative path."""

    label: str

    def exists(self, path: str) -> bool:
        raise NotImplementedError

    def size(self, path: str) -> int:
        raise NotImplementedError

    def read(self, path: str, limit: int, what: str) -> bytes:
        raise NotImplementedError

    def chunks(self, path: str) -> contextlib.AbstractContextManager[Iterator[bytes]]:
        raise NotImplementedError

    def stamp(self, path: str) -> str | None:
        """What the file holding ``path`` looks like on disk now (its real path, size,
        modification and change times, inode), or None when it cannot be looked at: the
        per-layer cache trusts an earlier verification of a blob only while this is
        unchanged (git's index does the same for the work tree)."""
        raise NotImplementedError


def _stamp_of(target: Path, member: str = "") -> str | None:
    try:
        st = target.stat()
    except OSError:
        return None
    parts = (os.path.realpath(target), member, st.st_size, st.st_mtime_ns, st.st_ctime_ns,
             st.st_ino, st.st_dev)  # fmt: skip
    return "\0".join(str(part) for part in parts)


class DirectoryStore(BlobStore):
    def __init__(self, root: Path, label: str) -> None:
        self.root = root
        self.label = label
        if not root.is_dir():
            raise ImageSourceError(f"{label}: no such directory")
        self._real_root = root.resolve()

    def _file(self, path: str) -> Path:
        target = (self.root / safe_path(path, self.label)).resolve()
        # A symlink inside the layout must not lead out of it.
        if not target.is_relative_to(self._real_root):
            raise ImageSourceError(f"{self.label}: {path} leads outside the layout")
        return target

    def exists(self, path: str) -> bool:
        return self._file(path).is_file()

    def size(self, path: str) -> int:
        try:
            return self._file(path).stat().st_size
        except OSError:
            raise ImageSourceError(f"{self.label}: missing {path}") from None

    def read(self, path: str, limit: int, what: str) -> bytes:
        target = self._file(path)
        try:
            with open_regular(target) as handle:
                data = handle.read(limit + 1)
        except FileNotFoundError:
            raise ImageSourceError(f"{self.label}: missing {what} ({path})") from None
        except OSError as err:
            raise ImageSourceError(f"{self.label}: cannot read {path}: {err.strerror}") from None
        if len(data) > limit:
            raise ImageSourceError(f"{self.label}: {what} ({path}) is more than {limit} bytes")
        return data

    @contextlib.contextmanager
    def chunks(self, path: str) -> Iterator[Iterator[bytes]]:
        target = self._file(path)
        try:
            handle = open_regular(target)
        except FileNotFoundError:
            raise ImageSourceError(f"{self.label}: missing blob {path}") from None
        except OSError as err:
            raise ImageSourceError(f"{self.label}: cannot read {path}: {err.strerror}") from None
        with handle:
            yield file_chunks(handle, None)

    def stamp(self, path: str) -> str | None:
        try:
            return _stamp_of(self._file(path))
        except ImageSourceError:
            return None


class ArchiveStore(BlobStore):
    """A tar file (docker save, an oci-archive) read in place."""

    def __init__(self, path: Path, label: str, limits: SourceLimits) -> None:
        self.path = path
        self.label = label
        self._members: dict[str, tarfile.TarInfo] = {}
        try:
            with open_regular(path) as handle:
                magic = handle.read(4)
        except FileNotFoundError:
            raise ImageSourceError(f"{label}: no such file") from None
        except IsADirectoryError:
            raise ImageSourceError(f"{label}: is a directory, not an archive") from None
        except OSError as err:
            raise ImageSourceError(f"{label}: cannot read: {err.strerror}") from None
        if magic.startswith(b"\x1f\x8b") or magic.startswith(b"\x28\xb5\x2f\xfd"):
            raise ImageSourceError(
                f"{label}: the archive itself is compressed; decompress it first "
                "(layers inside may be compressed, the archive may not)"
            )
        try:
            with tarfile.open(path, "r:") as tar:
                while True:
                    member = tar.next()
                    if member is None:
                        break
                    if len(self._members) >= limits.max_archive_members:
                        raise ImageSourceError(
                            f"{label}: more than {limits.max_archive_members} members"
                        )
                    name = _member_name(member.name)
                    if name is not None:
                        self._members[name] = member
        except tarfile.TarError as err:
            raise ImageSourceError(f"{label}: not a readable tar archive ({err})") from None
        except OSError as err:
            raise ImageSourceError(f"{label}: cannot read: {err.strerror or err}") from None
        if not self._members:
            raise ImageSourceError(f"{label}: an empty archive")

    def _resolve(self, path: str, what: str) -> tarfile.TarInfo:
        name = safe_path(path, self.label)
        for _ in range(_MAX_LINK_HOPS):
            member = self._members.get(name)
            if member is None:
                raise _Missing(f"{self.label}: missing {what} ({path})")
            if member.issym():
                target = posixpath.join(posixpath.dirname(name), member.linkname)
                if member.linkname.startswith("/"):
                    raise ImageSourceError(
                        f"{self.label}: {name} links to an absolute path {member.linkname!r}"
                    )
                name = _inside(target, self.label, name)
                continue
            if member.islnk():
                name = _inside(member.linkname, self.label, name)
                continue
            if not member.isfile():
                raise ImageSourceError(f"{self.label}: {what} ({path}) is not a regular file")
            return member
        raise ImageSourceError(f"{self.label}: {path}: too many links (a loop?)")

    def exists(self, path: str) -> bool:
        try:
            self._resolve(path, path)
        except _Missing:
            return False
        return True

    def size(self, path: str) -> int:
        return self._resolve(path, path).size

    def read(self, path: str, limit: int, what: str) -> bytes:
        member = self._resolve(path, what)
        if member.size > limit:
            raise ImageSourceError(
                f"{self.label}: {what} ({path}) is {member.size} bytes, more than {limit}"
            )
        with self.chunks(path) as parts:
            return b"".join(parts)

    @contextlib.contextmanager
    def chunks(self, path: str) -> Iterator[Iterator[bytes]]:
        member = self._resolve(path, f"blob {path}")
        try:
            handle = self.path.open("rb")
        except OSError as err:
            raise ImageSourceError(f"{self.label}: cannot read: {err.strerror}") from None
        with handle:
            handle.seek(member.offset_data, os.SEEK_SET)
            yield file_chunks(handle, member.size)

    def stamp(self, path: str) -> str | None:
        """The archive file's stamp (any change to the archive makes every blob suspect)."""
        try:
            member = self._resolve(path, f"blob {path}")
        except ImageSourceError:
            return None
        return _stamp_of(self.path, f"{member.name}@{member.offset_data}")

    def names(self) -> list[str]:
        return list(self._members)


class _Missing(ImageSourceError):
    """No such member (links that escape or loop are other, louder errors)."""


def _member_name(name: str) -> str | None:
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if not parts or ".." in parts or name.startswith("/"):
        return None  # never addressable: a hostile member cannot shadow a real one
    return "/".join(parts)


def _inside(target: str, label: str, name: str) -> str:
    normal = posixpath.normpath(target)
    if normal.startswith("../") or normal == ".." or normal.startswith("/"):
        raise ImageSourceError(f"{label}: {name} links outside the archive ({target!r})")
    return normal
