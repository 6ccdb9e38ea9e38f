"""Where the CLI writes: one rich console for results, one for messages, colour as asked."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console

from keelhaul.dockerfile.syntax import Dockerfile, read_dockerfile
from keelhaul.errors import KeelhaulError


@dataclass
class Output:
    """The CLI's settings for output, decided once by the root command."""

    color: bool = True
    verbosity: int = 0  # -1 quiet, 0 normal, 1+ verbose
    debug: bool = False

    def __post_init__(self) -> None:
        # NO_COLOR (any value) or --no-color: no escape sequences at all, not even bold.
        plain = not self.color or "NO_COLOR" in os.environ
        if plain:
            self.out = Console(color_system=None, highlight=False, soft_wrap=True)
            self.err = Console(stderr=True, color_system=None, highlight=False, soft_wrap=True)
        else:
            self.out = Console(highlight=False, soft_wrap=True)
            self.err = Console(stderr=True, highlight=False, soft_wrap=True)

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
