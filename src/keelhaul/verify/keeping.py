"""``keelhaul fix --verify``: keep only the fixes that verify keeps green.

Verify the fixes; when the fixed version regresses (does not build, or fails the smoke check
the Dockerfile as it is passes), drop the fix the bisection blames and verify again, until
the rest is green or nothing is left.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

from keelhaul.verify.engine import Engine
from keelhaul.verify.verifying import FIX, Request, Result, verify


@dataclass(frozen=True)
class Dropped:
    code: str
    description: str
    why: str


@dataclass
class Kept:
    codes: tuple[str, ...]
    """The fixes that stay (all of them when nothing failed)."""
    dropped: list[Dropped] = field(default_factory=list)
    last: Result | None = None
    """The last verify run, on the fixes kept."""


def keep_green(request: Request, engine: Engine, say: Callable[[str], None] | None = None) -> Kept:
    """The fixes of ``request``'s Dockerfile that verify keeps green."""
    asked = replace(request, mode=FIX, cache=False, bisect=True)
    dropped: list[Dropped] = []
    while True:
        result = verify(asked, engine, say)
        codes = result.after.codes
        if not result.regressed or not codes:
            return Kept(codes, dropped, result)
        blame = result.blame
        if blame is None:  # cannot happen: a regressed fix run is bisected
            return Kept((), dropped, result)
        why = ("does not build" if not result.after.ok
               else f"fails the smoke check ({result.after.smoke.detail if result.after.smoke else ''})")  # fmt: skip
        dropped.append(Dropped(blame.code, result.after.descriptions.get(blame.code, ""), why))
        left = tuple(c for c in codes if c != blame.code)
        if not left:
            return Kept((), dropped, None)
        asked = replace(asked, codes=left)
