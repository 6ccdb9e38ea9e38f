"""What ``keelhaul slim --remove`` takes out, by category: the kinds of files ``keelhaul image``
reports as not worth shipping (:mod:`keelhaul.image.unwanted`), so the report and the removal
name the same files.

Only files the image's own layers ship are removed (a file of a kept base layer stays: a
whiteout over it would make the image no smaller). Package databases are not edited: a
package whose docs are removed still lists them, as Debian's ``path-exclude`` leaves them
(the report says so).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from keelhaul.image import unwanted
from keelhaul.slim.consolidate import SlimError

__all__ = ["CATEGORIES", "chooser"]

#: Category -> what it is (``--remove`` takes these names).
CATEGORIES: dict[str, str] = {kind.name: kind.label for kind in unwanted.KINDS}

#: Removing these leaves files a package database still lists.
LISTED_BY_PACKAGES = frozenset({"docs", "toolchain", "tests", "sources"})


def chooser(names: Iterable[str]) -> Callable[[str], str | None] | None:
    """A path (root-relative) -> its category when it is one of ``names`` (None: keep it);
    None when nothing is to be removed."""
    chosen = set()
    for name in names:
        if name not in CATEGORIES:
            raise SlimError(f"--remove {name}: not a category ({', '.join(CATEGORIES)})")
        chosen.add(name)
    if not chosen:
        return None

    def category(path: str) -> str | None:
        kind = unwanted.classify(path)
        return kind.name if kind is not None and kind.name in chosen else None

    return category
