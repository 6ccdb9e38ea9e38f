"""The per-layer cache: an analyzer's result for a layer, keyed by the layer's DiffID and the
analyzer's name and version (the shape of Trivy's analyzer cache and go-containerregistry's
layer caching).

A DiffID names the uncompressed content, so a base layer that a hundred images share is read
once; an analyzer whose :attr:`~keelhaul.image.layer_walk.Analyzer.version` changes misses
every older entry and reads the layer again. The store is one SQLite file shared by parallel
runs (WAL, a busy timeout), under ``$KEELHAUL_CACHE_DIR`` or the user's cache folder.

A result is only as good as the blob it was read from: a layer whose blob is a local file
(an OCI layout, a docker-archive) is taken from the cache only while that file is unchanged
since a read that verified its digest and DiffID (its :attr:`~keelhaul.image.model.Layer.stamp`:
path, size, modification and change times, inode, the way git's index trusts a work-tree
file). A blob overwritten or touched since is read again, and so verified: a tampered blob
fails here as ``keelhaul image`` fails on it (issue 23 item 14).
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from keelhaul.image.layer_walk import Analyzer
    from keelhaul.image.model import Layer

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
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS verified (stamp TEXT NOT NULL, digest TEXT NOT NULL,"
            " diff_id TEXT NOT NULL, PRIMARY KEY (stamp, digest, diff_id))"
        )

    def trusted(self, layer: Layer) -> bool:
        """Whether cached results may stand for ``layer``: always for a blob that is not a
        local file (a registry's or the engine's, verified when fetched), and for a local
        one only while its file is as it was when a read verified it."""
        if layer.stamp is None:
            return True
        stamp = layer.stamp()
        if stamp is None:
            return False
        row = self._db.execute(
            "SELECT 1 FROM verified WHERE stamp = ? AND digest = ? AND diff_id = ?",
            (stamp, layer.digest, layer.diff_id),
        ).fetchone()
        return row is not None

    def verified(self, layer: Layer, stamp: str | None) -> None:
        """``layer`` was read to its end and its digests matched, its file then ``stamp``
        (taken before the read)."""
        if stamp is not None:
            self._db.execute(
                "INSERT OR REPLACE INTO verified VALUES (?, ?, ?)",
                (stamp, layer.digest, layer.diff_id),
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
