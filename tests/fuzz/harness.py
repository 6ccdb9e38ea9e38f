"""Running keelhaul in this process, as its command line does, for the fuzzing properties.

``keelhaul(args, cwd)`` calls the real entry point (``keelhaul.cli.app.main``) with its output
captured and a time limit; it returns the exit code and both streams. Exit code 3 is what the
entry point gives for an exception it did not expect (a keelhaul bug): every property asserts
it never happens. A run that passes the time limit is a hang.
"""

from __future__ import annotations

import contextlib
import io
import os
import signal
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

#: Seconds one command may take before the property calls it a hang.
TIME_LIMIT = 20
#: A token that is a real secret's shape (npm): planted in inputs, it must never be printed.
PLANTED = "npm_UdRPPgdzUvZ3gpmmICiBlrDp37eCZ32JgdPI"


class Hang(BaseException):
    """Raised in the main thread when a command passes :data:`TIME_LIMIT` (a BaseException,
    so keelhaul's own handlers do not turn it into an exit code)."""


@dataclass(frozen=True)
class Ran:
    code: int
    out: str
    err: str

    @property
    def crashed(self) -> bool:
        return self.code == 3


@contextlib.contextmanager
def _captured() -> Iterator[tuple[io.TextIOWrapper, io.TextIOWrapper]]:
    saved = sys.stdout, sys.stderr
    out = io.TextIOWrapper(io.BytesIO(), encoding="utf-8", errors="surrogateescape")
    err = io.TextIOWrapper(io.BytesIO(), encoding="utf-8", errors="surrogateescape")
    sys.stdout, sys.stderr = out, err
    try:
        yield out, err
    finally:
        sys.stdout, sys.stderr = saved


def _text(stream: io.TextIOWrapper) -> str:
    stream.flush()
    raw = stream.buffer
    assert isinstance(raw, io.BytesIO)
    return raw.getvalue().decode("utf-8", "replace")


def _alarm(signum: int, frame: object) -> None:
    raise Hang(f"keelhaul ran longer than {TIME_LIMIT}s")


def keelhaul(args: list[str], cwd: Path, stdin: bytes | None = None) -> Ran:
    """``keelhaul ARGS`` in ``cwd``, in this process."""
    from keelhaul.cli.app import main

    old_cwd = os.getcwd()
    old_handler = signal.signal(signal.SIGALRM, _alarm)
    old_stdin = sys.stdin
    code = 0
    with _captured() as (out, err):
        os.chdir(cwd)
        if stdin is not None:
            sys.stdin = io.TextIOWrapper(io.BytesIO(stdin), encoding="utf-8",
                                         errors="surrogateescape")  # fmt: skip
        signal.alarm(TIME_LIMIT)
        try:
            main(["--no-color", *args])
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        finally:
            signal.alarm(0)
            signal.signal(signal.SIGALRM, old_handler)
            os.chdir(old_cwd)
            sys.stdin = old_stdin
        # the entry point wraps the streams in the redactor: read what reached ours
        sys.stdout.flush()
        sys.stderr.flush()
        return Ran(code, _text(out), _text(err))


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` (links as their target text), to see what a run changed."""
    found: dict[str, bytes] = {}
    for path in sorted(folder.rglob("*")):
        rel = str(path.relative_to(folder))
        if path.is_symlink():
            found[rel] = b"->" + os.readlink(path).encode()
        elif path.is_file():
            found[rel] = path.read_bytes()
    return found
