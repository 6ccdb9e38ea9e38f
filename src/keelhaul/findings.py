"""The finding: the one currency of keelhaul. Every analyser yields them; every report reads them."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"
    STYLE = "style"

    @property
    def rank(self) -> int:
        """Higher is more severe."""
        return {"error": 3, "warning": 2, "info": 1, "style": 0}[self.value]


class Category(StrEnum):
    SIZE = "size"
    BUILD_CACHE = "build-cache"
    REPRODUCIBILITY = "reproducibility"
    SECURITY = "security"
    CORRECTNESS = "correctness"
    MAINTAINABILITY = "maintainability"


class Origin(StrEnum):
    """Where an image finding comes from: the base image's layers or the image's own."""

    BASE = "base"
    OWN = "own"


@dataclass(frozen=True, slots=True)
class Location:
    """File and range; lines and columns 1-based, end column exclusive.

    In an image (``keelhaul image``) the path is ``<image>!/<file>``, ``line`` and ``column``
    are 1, and ``layer`` is the 1-based number of the layer concerned, when a single one is.
    """

    path: str
    line: int
    column: int = 1
    end_line: int | None = None
    end_column: int | None = None
    layer: int | None = None

    def __str__(self) -> str:
        if self.layer is not None:
            return f"{self.path} (layer {self.layer})"
        return f"{self.path}:{self.line}:{self.column}"


class Safety(StrEnum):
    """As in ruff: a safe fix keeps the meaning; an unsafe one may change behaviour."""

    SAFE = "safe"
    UNSAFE = "unsafe"


@dataclass(frozen=True, slots=True)
class Edit:
    """Replace whole physical lines ``start_line`` to ``end_line`` (1-based, inclusive).

    ``end_line == start_line - 1`` inserts ``text`` before ``start_line`` (or at the end of the
    file when ``start_line`` is one past its last line). ``text`` holds whole lines, each ending
    in a line break, except possibly the last line of the file.
    """

    start_line: int
    end_line: int
    text: str


@dataclass(frozen=True, slots=True)
class FileChange:
    """Another file a fix writes whole, e.g. the build context's ``.dockerignore``."""

    path: str
    """Absolute, or relative to the working directory."""
    text: str
    """The file's complete new content."""


@dataclass(frozen=True, slots=True)
class Fix:
    """What to change so the finding goes away, and how safe that is."""

    edits: tuple[Edit, ...]
    description: str
    safety: Safety = Safety.SAFE
    why_unsafe: str = ""
    """For an unsafe fix: what it may change (shown with ``--unsafe-fixes``)."""
    files: tuple[FileChange, ...] = ()
    """Other files the fix writes (applied once, after the Dockerfile's own edits)."""

    @property
    def lines(self) -> tuple[int, int]:
        """The first and last line the fix touches (an insertion touches the line it precedes)."""
        if not self.edits:
            return (0, -1)
        return (
            min(e.start_line for e in self.edits),
            max(max(e.end_line, e.start_line) for e in self.edits),
        )


@dataclass(frozen=True, slots=True)
class Finding:
    code: str
    name: str
    severity: Severity
    category: Category
    location: Location
    message: str
    stage: str | None = None
    fix: Fix | None = field(default=None, compare=False)
    origin: Origin | None = None
    """For an image finding: from the base image's layers or the image's own; None when
    that cannot be told (or for findings that are not about an image)."""
    properties: Mapping[str, object] | None = field(default=None, compare=False)
    """Facts a format may carry beside the message (SARIF ``properties``): a vulnerability's
    KEV entry and EPSS score."""
    members: tuple[Finding, ...] = field(default=(), compare=False)
    """For a grouped finding (KH409, a container's hardening checklist): the findings of the
    member rules it lists, each with its own code and place. Empty for other findings."""

    def itemised(self) -> tuple[Finding, ...]:
        """The member findings of a grouped finding, else the finding itself."""
        return self.members or (self,)

    def sort_key(self) -> tuple[str, int, int, int, str]:
        loc = self.location
        return (loc.path, loc.line, loc.column, loc.layer or 0, self.code)

    @property
    def fingerprint(self) -> str:
        """Stable across edits elsewhere in the file: code, path, stage and message, no line.

        Two findings with the same fingerprint in one file are told apart by their count, as a
        baseline does.
        """
        key = "\0".join((self.code, self.location.path, self.stage or "", self.message))
        return hashlib.sha256(key.encode("utf-8", "surrogateescape")).hexdigest()[:32]
