"""Which fix broke the build: a binary search over the fixes in the order they applied.

The fixes are applied as prefixes of that order (the first k codes, through keelhaul's own fix
loop narrowed to those codes): no fix is green (it is the Dockerfile as it is), all of them
are not; the search halves the gap until two neighbouring prefixes differ, and blames the
code that makes the difference. That takes about log2(n) builds for n fixes. When a failure
needs two fixes together, the one applied later is named, and the report says the earlier
ones were applied with it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Probe:
    codes: tuple[str, ...]
    green: bool
    why: str = ""


@dataclass(frozen=True)
class Blame:
    code: str
    """The fix to blame."""
    with_codes: tuple[str, ...]
    """The fixes applied before it in the failing prefix."""
    probes: tuple[Probe, ...] = field(default=())


def bisect(codes: Sequence[str], test: Callable[[tuple[str, ...]], tuple[bool, str]]) -> Blame:
    """The code whose fix turns ``test`` red; ``test(prefix)`` -> (green, why).

    The empty prefix is taken as green and the whole list as red (the caller saw both).
    """
    if not codes:
        raise ValueError("nothing to bisect")
    good, bad = 0, len(codes)
    probes: list[Probe] = []
    while bad - good > 1:
        middle = (good + bad) // 2
        prefix = tuple(codes[:middle])
        green, why = test(prefix)
        probes.append(Probe(prefix, green, why))
        if green:
            good = middle
        else:
            bad = middle
    return Blame(codes[bad - 1], tuple(codes[: bad - 1]), tuple(probes))
