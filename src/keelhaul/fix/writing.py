"""Writing a fixed file: all or nothing, with the file's mode kept."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from keelhaul.errors import FileUnreadable


def write_atomically(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` by a temporary file in the same folder and a rename.

    A crash or a full disk leaves the old file whole; the new one keeps the old one's mode. A
    symlink is followed: its target is replaced and the link stays.
    """
    target = Path(os.path.realpath(path))
    try:
        mode = target.stat().st_mode & 0o7777 if target.exists() else 0o644
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".keelhaul", dir=target.parent)
    except OSError as exc:
        raise FileUnreadable(str(path), exc.strerror or str(exc)) from None
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise FileUnreadable(str(path), f"cannot write: {exc.strerror or exc}") from None
