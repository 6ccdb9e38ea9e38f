"""Where the CLI writes: one rich console for results, one for messages, colour as asked."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from keelhaul.dockerfile.syntax import Dockerfile, read_dockerfile
from keelhaul.errors import KeelhaulError

if TYPE_CHECKING:
    from rich.console import Console


@dataclass
class Output:
    """The CLI's settings for output, decided once by the root command."""

    color: bool = True
    verbosity: int = 0  # -1 quiet, 0 normal, 1+ verbose
    debug: bool = False

    def __post_init__(self) -> None:
        # NO_COLOR (any value) or --no-color: no escape sequences at all, not even bold.
        self._plain = not self.color or "NO_COLOR" in os.environ

    # The consoles are made on first use: rich costs ~40 ms to import, and a `check` that
    # finds nothing to say on stderr writes its report without it.
    @cached_property
    def out(self) -> Console:
        """Results (stdout)."""
        return self._console(stderr=False)

    @cached_property
    def err(self) -> Console:
        """Messages (stderr)."""
        return self._console(stderr=True)

    def _console(self, *, stderr: bool) -> Console:
        from rich.console import Console

        if self._plain:
            return Console(stderr=stderr, color_system=None, highlight=False, soft_wrap=True)
        return Console(stderr=stderr, highlight=False, soft_wrap=True)

    def info(self, message: str) -> None:
        """A message for people, not for pipes: goes to stderr, hidden by -q."""
        if self.verbosity >= 0:
            self.err.print(message)

    def detail(self, message: str) -> None:
        """Shown only with -v."""
        if self.verbosity > 0:
            self.err.print(message, style="dim")


def read_each(out: Output, files: Iterable[Path]) -> Iterator[tuple[Path, Dockerfile | None]]:
    """Each Dockerfile parsed, or None (after one error line) when it cannot be read.

    A batch carries on past a file it cannot read; the caller counts the Nones.
    """
    for path in files:
        try:
            yield path, read_dockerfile(path)
        except KeelhaulError as exc:
            out.err.print(f"keelhaul: error: {exc}", markup=False)
            yield path, None
