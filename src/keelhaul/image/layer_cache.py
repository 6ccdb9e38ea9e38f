"""The per-layer cache: an analyzer's result for a layer, keyed by the layer's DiffID and the
analyzer's name and version (the shape of Trivy's analyzer cache and go-containerregistry's
layer caching).

A DiffID names the uncompressed content, so a base layer that a hundred images share is read
once; an analyzer whose :attr:`~keelhaul.image.layer_walk.Analyzer.version` changes misses
every older entry and reads the layer again. The store is one SQLite file shared by parallel
runs (WAL, a busy timeout), under ``$KEELHAUL_CACHE_DIR`` or the user's cache folder.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from keelhaul.image.layer_walk import Analyzer

T = TypeVar("T")


def cache_path() -> Path:
    base = os.environ.get("KEELHAUL_CACHE_DIR")
    if base:
        return Path(base) / "layers.sqlite3"
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "keelhaul" / "layers.sqlite3"


class LayerCache:
    """Analyzer results by (DiffID, analyzer name, analyzer version), shared by parallel runs."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or cache_path()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, timeout=30.0, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA busy_timeout=30000")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS analyses (diff_id TEXT NOT NULL, analyzer TEXT NOT NULL,"
            " version TEXT NOT NULL, result BLOB NOT NULL,"
            " PRIMARY KEY (diff_id, analyzer, version))"
        )

    def lookup(self, diff_id: str, analyzer: Analyzer[T]) -> T | None:
        """``analyzer``'s result for the layer ``diff_id``, or None (never stored, stored by
        another version, or damaged)."""
        row = self._db.execute(
            "SELECT result FROM analyses WHERE diff_id = ? AND analyzer = ? AND version = ?",
            (diff_id, analyzer.name, analyzer.version),
        ).fetchone()
        if row is None:
            return None
        try:
            return analyzer.decode(row[0])
        except ValueError:
            return None  # a damaged entry: read the layer again

    def store(self, diff_id: str, analyzer: Analyzer[T], result: T) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO analyses VALUES (?, ?, ?, ?)",
            (diff_id, analyzer.name, analyzer.version, analyzer.encode(result)),
        )

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> LayerCache:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()
