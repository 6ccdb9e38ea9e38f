"""The one redactor every byte the CLI writes passes through.

:func:`install` replaces ``sys.stdout`` and ``sys.stderr`` (and their ``.buffer``) with writers
that hide every secret :func:`keelhaul.secrets.redact_text` sees, a line at a time: reports,
``-v`` notes, ``--debug`` tracebacks, errors, diffs, ``dump``, ``parse`` and ``image`` output
alike. The formatters redact their reports first (:func:`keelhaul.report.model.redacted`);
this is the net under everything else.

What is data rather than a report (``fix -`` writes the fixed file to stdout) goes to
:func:`data_stdout`, which writes the bytes as they are.
"""

from __future__ import annotations

import codecs
import io
import sys
from typing import BinaryIO, TextIO

from keelhaul.secrets import StreamRedactor

__all__ = ["RedactingWriter", "data_stdout", "install"]

#: Bytes of an unfinished line kept back before it is written anyway (redacted as it stands).
MAX_PENDING = 1 << 20


class RedactingWriter(io.RawIOBase):
    """A binary stream that writes whole lines to ``target``, secrets hidden."""

    def __init__(self, target: BinaryIO, tty: TextIO | None = None) -> None:
        super().__init__()
        self.target = target
        self._tty = tty
        self._pending = bytearray()
        self._redact = StreamRedactor()

    def writable(self) -> bool:
        return True

    def isatty(self) -> bool:
        return (self._tty or self.target).isatty()

    def fileno(self) -> int:
        return self.target.fileno()

    def write(self, data: bytes | bytearray | memoryview) -> int:  # type: ignore[override]
        chunk = bytes(data)
        self._pending += chunk
        cut = self._pending.rfind(b"\n")
        if cut >= 0:
            self._emit(bytes(self._pending[: cut + 1]))
            del self._pending[: cut + 1]
        elif len(self._pending) > MAX_PENDING:
            self._emit(bytes(self._pending))
            self._pending.clear()
        return len(chunk)

    def _emit(self, data: bytes) -> None:
        text = data.decode("utf-8", "surrogateescape")
        self.target.write(self._redact(text).encode("utf-8", "surrogateescape"))

    def flush(self) -> None:
        if self._pending:
            self._emit(bytes(self._pending))
            self._pending.clear()
        if not self.target.closed:
            self.target.flush()


def _never_fail(error: UnicodeError) -> tuple[str | bytes, int]:
    """Whatever the terminal's encoding: undecodable bytes of a file name (lone surrogates) go
    out as the bytes they were, other characters it cannot encode as ``\\u2026``."""
    if not isinstance(error, UnicodeEncodeError):
        raise error
    bad = error.object[error.start : error.end]
    if all("\udc80" <= ch <= "\udcff" for ch in bad):
        return bytes(ord(ch) - 0xDC00 for ch in bad), error.end
    return "".join(f"\\u{ord(ch):04x}" if ord(ch) < 0x10000 else f"\\U{ord(ch):08x}"
                   for ch in bad), error.end  # fmt: skip


codecs.register_error("keelhaul-output", _never_fail)


def _wrap(stream: TextIO) -> TextIO:
    raw = io.BufferedWriter(RedactingWriter(stream.buffer, stream))  # type: ignore[type-var]
    wrapped = io.TextIOWrapper(
        raw,
        encoding=stream.encoding,
        errors="keelhaul-output",
        line_buffering=True,
        write_through=True,
    )
    wrapped.original = stream  # type: ignore[attr-defined]
    return wrapped


def install() -> None:
    """Send ``sys.stdout`` and ``sys.stderr`` through the redactor (once)."""
    for name in ("stdout", "stderr"):
        stream = getattr(sys, name)
        if getattr(stream, "original", None) is None and hasattr(stream, "buffer"):
            setattr(sys, name, _wrap(stream))


def data_stdout() -> BinaryIO:
    """Standard output for data that must reach it unchanged (a fixed file), not a report."""
    original = getattr(sys.stdout, "original", None)
    if original is None:
        return sys.stdout.buffer
    sys.stdout.flush()
    buffer: BinaryIO = original.buffer
    return buffer
