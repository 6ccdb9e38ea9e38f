"""The user-facing errors: each prints as one clear line and makes the CLI exit 2.

Anything raised that is not a :class:`KeelhaulError` is a bug in keelhaul and is reported
as such (with the traceback only under ``--debug``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


class KeelhaulError(Exception):
    """Base of every error meant for the user. ``str(err)`` is the one line to print."""

    exit_code = 2


class InputError(KeelhaulError):
    """A file or stream the user gave cannot be read."""


class FileMissing(InputError):
    def __init__(self, path: Path | str) -> None:
        super().__init__(f"{path}: no such file or directory")
        self.path = Path(path)


class FileUnreadable(InputError):
    def __init__(self, path: Path | str, reason: str) -> None:
        super().__init__(f"{path}: cannot read: {reason}")
        self.path = Path(path)


class FileUnwritable(InputError):
    def __init__(self, path: Path | str, reason: str) -> None:
        super().__init__(f"{path}: cannot write: {reason}")
        self.path = Path(path)


class ConfigError(KeelhaulError):
    """keelhaul's own configuration is wrong."""


class ReferenceError_(KeelhaulError):
    """An image or registry reference is malformed or cannot be resolved."""


@dataclass(frozen=True)
class SourcePosition:
    """Where in a file something is: 1-based line, optional 1-based column."""

    path: str
    line: int
    column: int | None = None

    def __str__(self) -> str:
        if self.column is None:
            return f"{self.path}:{self.line}"
        return f"{self.path}:{self.line}:{self.column}"


class SyntaxProblem(KeelhaulError):
    """Input that does not parse; names the file and the line."""

    def __init__(self, message: str, position: SourcePosition, end_line: int | None = None) -> None:
        self.message = message
        self.position = position
        self.end_line = end_line
        super().__init__(f"{position}: {message}")


class DockerfileSyntaxError(SyntaxProblem):
    """A Dockerfile that BuildKit would refuse to parse."""
