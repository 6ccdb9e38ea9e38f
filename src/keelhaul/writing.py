"""Writing a user's file all at once: readers see the old file or the new one, never half."""

from __future__ import annotations

import contextlib
import os
import re
import stat
import tempfile
import time
from pathlib import Path

from keelhaul.errors import FileUnwritable


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def check_inside(path: Path, root: Path) -> None:
    """A :class:`FileUnwritable` when ``path``, its symlinks followed, is not inside ``root``.

    A file keelhaul writes on its own account (a build context's ``.dockerignore``) may be a
    symlink planted to point anywhere (``../../.bashrc``): it is written only when it lands
    inside ``root``.
    """
    real_root = os.path.realpath(root)
    real = os.path.realpath(path)
    if os.path.commonpath([real_root, real]) != real_root:
        raise FileUnwritable(
            path,
            f"it is a symlink to {real}, outside {real_root}; keelhaul writes nothing outside "
            "the project (replace the link with a file)",
        )


#: Temporary files are named ``.<name>.keelhaul-<pid>.<random>.tmp``: a later run removes
#: those whose process is gone (killed mid-write), and leaves a live run's alone.
_TEMP = re.compile(r"\.(?P<name>.+)\.keelhaul-(?P<pid>\d+)\.[^.]+\.tmp\Z")
#: Temporary files of earlier versions (``.<name>.<random>.tmp``, no process id) this old
#: are taken as left by a killed run.
STALE_SECONDS = 3600


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # another user's process: alive
    return True


def remove_stale_temps(target: Path) -> list[Path]:
    """Remove the temporary files a killed run left beside ``target``; the ones removed."""
    removed: list[Path] = []
    try:
        entries = list(os.scandir(target.parent))
    except OSError:
        return removed
    prefix = f".{target.name}."
    for entry in entries:
        if not (entry.name.startswith(prefix) and entry.name.endswith(".tmp")):
            continue
        match = _TEMP.fullmatch(entry.name)
        if match is not None and match.group("name") == target.name:
            stale = not _alive(int(match.group("pid")))
        else:
            try:
                stale = time.time() - entry.stat(follow_symlinks=False).st_mtime > STALE_SECONDS
            except OSError:
                continue
        if stale and entry.is_file(follow_symlinks=False):
            with contextlib.suppress(OSError):
                os.unlink(entry.path)
                removed.append(Path(entry.path))
    return removed


def check_replaceable(path: Path) -> os.stat_result | None:
    """The file's status when :func:`write_atomically` may replace it (None: no such file),
    else a :class:`FileUnwritable` saying why not."""
    target = path.resolve() if path.is_symlink() else path
    try:
        info = os.stat(target)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise FileUnwritable(path, str(exc.strerror or exc)) from None
    mode = stat.S_IMODE(info.st_mode)
    if not mode & 0o222 or not os.access(target, os.W_OK):
        raise FileUnwritable(path, f"it is read-only (mode {mode:04o}); not replaced")
    if info.st_nlink > 1:
        raise FileUnwritable(
            path,
            f"it has {info.st_nlink} hard links; replacing it would split them "
            "(fix a copy, or break the links first)",
        )
    return info


def write_atomically(path: Path, data: bytes, *, root: Path | None = None) -> None:
    """Replace ``path`` with ``data`` all at once: readers see the old file or the new one.

    The data goes to a temporary file in the same folder, is flushed to disk, takes the old
    file's permissions and owner (or the umask's), and is renamed over the target. A symlink
    is followed, so the file it points at is the one replaced; with ``root``, only when that
    file is inside ``root`` (:func:`check_inside`).

    Refused with a :class:`FileUnwritable` rather than done behind the owner's back: a
    read-only file (no write bit, or not writable by this user), a file with other hard links
    (a rename would split them), a file whose owner this user cannot give the new one.
    Temporary files that killed runs left beside it are removed first.
    """
    if root is not None:
        check_inside(path, root)
    target = path.resolve() if path.is_symlink() else path
    folder = target.parent
    info = check_replaceable(path)
    mode = stat.S_IMODE(info.st_mode) if info is not None else 0o666 & ~_umask()
    remove_stale_temps(target)
    try:
        fd, tmp = tempfile.mkstemp(
            prefix=f".{target.name}.keelhaul-{os.getpid()}.", suffix=".tmp", dir=folder
        )
    except OSError as exc:
        raise FileUnwritable(path, str(exc.strerror or exc)) from None
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        if info is not None:
            _keep_owner(tmp, info, path)
        os.replace(tmp, target)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(exc, OSError):
            raise FileUnwritable(path, str(exc.strerror or exc)) from None
        raise


def _keep_owner(tmp: str, info: os.stat_result, path: Path) -> None:
    """Give the new file the old one's owner and group, or refuse."""
    made = os.stat(tmp)
    if (made.st_uid, made.st_gid) == (info.st_uid, info.st_gid):
        return
    try:
        os.chown(tmp, info.st_uid, info.st_gid)
    except PermissionError:
        raise FileUnwritable(
            path,
            f"it belongs to uid {info.st_uid} gid {info.st_gid}; replacing it would change "
            "its owner",
        ) from None
