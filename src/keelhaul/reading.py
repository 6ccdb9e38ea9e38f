"""Reading a file keelhaul did not make, without hanging on it.

``open()`` on a named pipe waits for a writer for ever, and a read from a device may never
end. Two kinds of file are read:

- a file **inside an untrusted folder** (an OCI layout, a build context, a source tree, the
  files a folder scan finds): it must be a regular file; anything else (a FIFO, a socket, a
  device) is refused with an ``OSError`` whose ``strerror`` says what it is;
- a file the **user named** on the command line (``--config``, ``--baseline``): a pipe is
  allowed, since ``--config <(make-config)`` is how shells pass generated files, but it is
  opened without waiting for a writer and must deliver its bytes, and its end, within
  :data:`PIPE_WAIT_SECONDS`; a named pipe nobody writes to is an error after that time.

Either way at most ``limit + 1`` bytes are read, so the caller can tell "too big".
"""

from __future__ import annotations

import errno
import os
import select
import stat
import time
from pathlib import Path
from typing import BinaryIO

__all__ = ["PIPE_WAIT_SECONDS", "open_regular", "read_limited"]

PIPE_WAIT_SECONDS = 10.0
"""How long a pipe the user named may take to deliver its bytes."""

_KINDS = {
    stat.S_IFIFO: "a named pipe (FIFO)",
    stat.S_IFSOCK: "a socket",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
}


def _not_regular(mode: int, path: str | os.PathLike[str]) -> OSError:
    if stat.S_ISDIR(mode):
        return IsADirectoryError(errno.EISDIR, "is a directory", str(path))
    kind = _KINDS.get(stat.S_IFMT(mode), "not a regular file")
    return OSError(errno.EINVAL, f"is {kind}, not a regular file", str(path))


def _open_nonblocking(path: str | os.PathLike[str]) -> tuple[int, os.stat_result]:
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        return fd, os.fstat(fd)
    except BaseException:
        os.close(fd)
        raise


def _blocking(fd: int) -> BinaryIO:
    os.set_blocking(fd, True)
    return os.fdopen(fd, "rb")


def open_regular(path: str | os.PathLike[str]) -> BinaryIO:
    """``path`` opened for reading when it is a regular file (links followed); an ``OSError``
    naming what it is otherwise. Never waits on a pipe."""
    fd, info = _open_nonblocking(path)
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        raise _not_regular(info.st_mode, path)
    return _blocking(fd)


def read_limited(path: Path, limit: int, *, pipes: bool = False) -> bytes:
    """At most ``limit + 1`` bytes of ``path``. With ``pipes`` (a file the user named), a
    pipe or character device is read too, within :data:`PIPE_WAIT_SECONDS`."""
    fd, info = _open_nonblocking(path)
    if stat.S_ISREG(info.st_mode):
        with _blocking(fd) as handle:
            return handle.read(limit + 1)
    if not pipes or not (stat.S_ISFIFO(info.st_mode) or stat.S_ISCHR(info.st_mode)):
        os.close(fd)
        raise _not_regular(info.st_mode, path)
    try:
        return _read_pipe(fd, limit, path)
    finally:
        os.close(fd)


def _read_pipe(fd: int, limit: int, path: Path) -> bytes:
    deadline = time.monotonic() + PIPE_WAIT_SECONDS
    parts: list[bytes] = []
    size = 0
    while size <= limit:
        left = deadline - time.monotonic()
        if left <= 0:
            raise OSError(errno.ETIMEDOUT, f"sent no end within {PIPE_WAIT_SECONDS:g}s", str(path))
        ready, _, _ = select.select([fd], [], [], left)
        if not ready:
            continue
        try:
            part = os.read(fd, min(1 << 16, limit + 1 - size))
        except BlockingIOError:
            continue
        if not part:
            break
        parts.append(part)
        size += len(part)
    return b"".join(parts)
