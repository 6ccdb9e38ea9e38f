"""How slow a registry may be: a read timeout alone does not bound a request, since a server
that sends one byte just before each timeout keeps a download alive for ever.

Two bounds, both from the client's one timeout setting:

- a small answer (a manifest, a token, an error body, a config) must be complete within
  :data:`ANSWER_DEADLINE_FACTOR` times the timeout;
- a stream (a blob) must bring at least :data:`MIN_BYTES_PER_WINDOW` bytes in every window of
  one timeout, once the first window has passed: a slow link still works, a trickle does not.

Either way the error is one line naming the host and what it was sending.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator

from keelhaul.registry.errors import Problem, RegistryError

ANSWER_DEADLINE_FACTOR = 4
"""A small answer's whole time, in timeouts."""
MIN_BYTES_PER_WINDOW = 16 * 1024
"""Bytes a stream must bring per timeout (16 KiB per 30 s by default: about 0.5 KiB/s)."""


def answer_within(parts: Iterable[bytes], timeout: float, what: str) -> Iterator[bytes]:
    """``parts``, refused once they take longer than the deadline for a small answer."""
    deadline = time.monotonic() + ANSWER_DEADLINE_FACTOR * timeout
    for part in parts:
        if time.monotonic() > deadline:
            raise RegistryError(
                Problem.UNREACHABLE,
                f"{what} did not complete within {ANSWER_DEADLINE_FACTOR * timeout:g}s",
            )
        yield part


def stream_paced(parts: Iterable[bytes], timeout: float, what: str) -> Iterator[bytes]:
    """``parts``, refused when a window of ``timeout`` seconds brings fewer than
    :data:`MIN_BYTES_PER_WINDOW` bytes (the window in which the stream ends is not judged)."""
    window_start = time.monotonic()
    in_window = 0
    for part in parts:
        now = time.monotonic()
        if now - window_start >= timeout:
            if in_window < MIN_BYTES_PER_WINDOW:
                raise RegistryError(
                    Problem.UNREACHABLE,
                    f"{what} stalled: {in_window} bytes in {now - window_start:.0f}s "
                    f"(less than {MIN_BYTES_PER_WINDOW} bytes per {timeout:g}s)",
                )
            window_start, in_window = now, 0
        in_window += len(part)
        yield part
