"""Writing a user's file all at once: readers see the old file or the new one, never half."""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
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


def write_atomically(path: Path, data: bytes, *, root: Path | None = None) -> None:
    """Replace ``path`` with ``data`` all at once: readers see the old file or the new one.

    The data goes to a temporary file in the same folder, is flushed to disk, takes the old
    file's permissions (or the umask's), and is renamed over the target. A symlink is
    followed, so the file it points at is the one replaced; with ``root``, only when that file
    is inside ``root`` (:func:`check_inside`).
    """
    if root is not None:
        check_inside(path, root)
    target = path.resolve() if path.is_symlink() else path
    folder = target.parent
    try:
        mode = stat.S_IMODE(os.stat(target).st_mode)
    except FileNotFoundError:
        mode = 0o666 & ~_umask()
    except OSError as exc:
        raise FileUnwritable(path, str(exc.strerror or exc)) from None
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
    except OSError as exc:
        raise FileUnwritable(path, str(exc.strerror or exc)) from None
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(exc, OSError):
            raise FileUnwritable(path, str(exc.strerror or exc)) from None
        raise
