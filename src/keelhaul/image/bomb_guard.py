"""The decompression-bomb guard: how many uncompressed bytes a layer may hold per compressed
byte.

A gzip or zstd stream can inflate a thousandfold; a layer that does is refused rather than
read on. The one rule, used wherever a layer's bytes are counted: the source's stream (bytes
out against the compressed bytes read so far) and the tar walk (tar bytes against the size
the manifest declares). Below a floor nothing is checked: tiny layers compress very well.
"""

from __future__ import annotations

from dataclasses import dataclass

from keelhaul import limits
from keelhaul.image.model import LayerError

MAX_RATIO = limits.DECOMPRESSION_RATIO
"""Uncompressed bytes a layer may hold per compressed byte (``image-max-ratio``)."""
RATIO_FLOOR = 256 << 20
"""Below this many uncompressed bytes the ratio is not checked."""


@dataclass(frozen=True)
class BombGuard:
    """The ratio rule, with its two settings."""

    max_ratio: float = MAX_RATIO
    ratio_floor: int = RATIO_FLOOR

    def budget(self, compressed: int) -> int:
        """The most uncompressed bytes ``compressed`` bytes may give."""
        return max(self.ratio_floor, int(self.max_ratio * max(compressed, 1)))

    def exceeded(self, uncompressed: int, compressed: int) -> bool:
        return uncompressed > self.budget(compressed)

    def check(self, uncompressed: int, compressed: int, name: str) -> None:
        """Raise :class:`LayerError` naming the layer (``name``) when the ratio is passed."""
        if self.exceeded(uncompressed, compressed):
            raise LayerError(f"{name}: {self.message(uncompressed, compressed)}")

    def message(self, uncompressed: int, compressed: int) -> str:
        return (
            f"decompression bomb: {uncompressed} bytes out of {compressed} "
            f"(more than {self.max_ratio:g}x)"
        )
