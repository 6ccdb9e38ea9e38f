"""Fleet snapshots in SQLite (the default, a file next to the layer cache) or PostgreSQL
(``postgresql://...``, with psycopg 3): one schema, versioned migrations, plain DB-API with
a small dialect shim (placeholders and the identity column are all that differ).

Each scan is one snapshot written in one transaction, so a report never sees half a scan and
concurrent scans only add rows of their own. Migrations run under a lock (PostgreSQL: an
advisory lock for the transaction; SQLite: ``BEGIN IMMEDIATE``) and are recorded in
``schema_version``; a database newer than this keelhaul is refused.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from keelhaul.errors import KeelhaulError
from keelhaul.image.layer_cache import cache_path

__all__ = ["SCHEMA_VERSION", "Store", "StoreError", "default_database", "open_store"]


class StoreError(KeelhaulError):
    """The database cannot be opened, is newer than this keelhaul, or refused a write."""


_ID = "{ID}"
#: Each migration: the statements that bring the schema from the version before to its own.
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        f"CREATE TABLE snapshots (id {_ID}, started TEXT NOT NULL, finished TEXT NOT NULL,"
        " sources TEXT NOT NULL, analyzers TEXT NOT NULL, layer_tasks INTEGER NOT NULL,"
        " seconds REAL NOT NULL)",
        f"CREATE TABLE images (id {_ID},"
        " snapshot_id BIGINT NOT NULL REFERENCES snapshots(id) ON DELETE CASCADE,"
        " source TEXT NOT NULL, repository TEXT NOT NULL, tag TEXT NOT NULL,"
        " platform TEXT NOT NULL, manifest_digest TEXT, config_digest TEXT NOT NULL,"
        " created TEXT, compressed_size BIGINT NOT NULL, tar_size BIGINT, content_size BIGINT,"
        " waste BIGINT, removable BIGINT, efficiency REAL, os TEXT, end_of_life TEXT,"
        " base_layers INTEGER, base_top TEXT, findings INTEGER, complete INTEGER NOT NULL,"
        " error TEXT)",
        "CREATE INDEX images_snapshot ON images (snapshot_id)",
        "CREATE TABLE image_layers (image_id BIGINT NOT NULL REFERENCES images(id)"
        " ON DELETE CASCADE, position INTEGER NOT NULL, digest TEXT NOT NULL,"
        " diff_id TEXT NOT NULL, compressed_size BIGINT NOT NULL,"
        " PRIMARY KEY (image_id, position))",
        "CREATE TABLE layers (snapshot_id BIGINT NOT NULL REFERENCES snapshots(id)"
        " ON DELETE CASCADE, diff_id TEXT NOT NULL, tar_size BIGINT NOT NULL,"
        " content_size BIGINT NOT NULL, entries INTEGER NOT NULL,"
        " PRIMARY KEY (snapshot_id, diff_id))",
        "CREATE TABLE findings (image_id BIGINT NOT NULL REFERENCES images(id)"
        " ON DELETE CASCADE, code TEXT NOT NULL, severity TEXT NOT NULL,"
        " message TEXT NOT NULL)",
        "CREATE INDEX findings_image ON findings (image_id)",
    ),
    (  # 2: the packages and vulnerabilities of each base image in use, by its top layer
        "CREATE TABLE base_vulnerabilities (snapshot_id BIGINT NOT NULL REFERENCES"
        " snapshots(id) ON DELETE CASCADE, base_top TEXT NOT NULL, packages INTEGER NOT NULL,"
        " level_critical INTEGER NOT NULL, level_high INTEGER NOT NULL,"
        " level_medium INTEGER NOT NULL, level_low INTEGER NOT NULL,"
        " level_none INTEGER NOT NULL, level_unknown INTEGER NOT NULL,"
        " PRIMARY KEY (snapshot_id, base_top))",
        "ALTER TABLE snapshots ADD COLUMN vulnerability_db TEXT",
    ),
)
#: The severity levels of ``base_vulnerabilities``'s columns, worst first.
LEVELS = ("critical", "high", "medium", "low", "none", "unknown")
SCHEMA_VERSION = len(MIGRATIONS)


def default_database() -> Path:
    """``fleet.sqlite3`` beside the layer cache (``$KEELHAUL_CACHE_DIR`` or the user's cache)."""
    return cache_path().parent / "fleet.sqlite3"


@dataclass
class Store:
    """A DB-API connection and the dialect it speaks."""

    connection: Any
    dialect: str
    """``sqlite`` or ``postgresql``."""
    where: str

    def sql(self, text: str) -> str:
        """``text`` (written with ``?`` placeholders) in this dialect."""
        return text.replace("?", "%s") if self.dialect == "postgresql" else text

    def rows(self, text: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        cursor = self.connection.cursor()
        try:
            cursor.execute(self.sql(text), tuple(params))
            return [tuple(row) for row in cursor.fetchall()]
        finally:
            cursor.close()

    def insert(self, text: str, params: Sequence[Any]) -> int:
        """Run an INSERT ... and return the new row's id."""
        cursor = self.connection.cursor()
        try:
            cursor.execute(self.sql(text + " RETURNING id"), tuple(params))
            row = cursor.fetchone()
            return int(row[0])
        finally:
            cursor.close()

    def many(self, text: str, params: Sequence[Sequence[Any]]) -> None:
        if not params:
            return
        cursor = self.connection.cursor()
        try:
            cursor.executemany(self.sql(text), [tuple(p) for p in params])
        finally:
            cursor.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """One transaction (taking the write lock at once on SQLite)."""
        if self.dialect == "sqlite":
            self.connection.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self.connection.rollback()
            raise
        self.connection.commit()

    def close(self) -> None:
        self.connection.close()

    def migrate(self) -> None:
        with self.transaction():
            if self.dialect == "postgresql":
                self.rows("SELECT pg_advisory_xact_lock(4242170021)")
            self.connection.cursor().execute(
                "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)"
            )
            found = self.rows("SELECT MAX(version) FROM schema_version")[0][0] or 0
            if found > SCHEMA_VERSION:
                raise StoreError(
                    f"{self.where}: the fleet database is at schema version {found}; this "
                    f"keelhaul knows up to {SCHEMA_VERSION} (upgrade keelhaul)"
                )
            identity = (
                "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY"
                if self.dialect == "postgresql"
                else "INTEGER PRIMARY KEY"
            )
            for version in range(found + 1, SCHEMA_VERSION + 1):
                cursor = self.connection.cursor()
                for statement in MIGRATIONS[version - 1]:
                    cursor.execute(statement.replace(_ID, identity))
                cursor.execute(self.sql("INSERT INTO schema_version VALUES (?)"), (version,))
                cursor.close()


def open_store(url: str | Path | None) -> Store:
    """The store at ``url``: a ``postgresql://`` URL, a file path, or None for the default
    SQLite file; migrated to this keelhaul's schema."""
    text = str(url) if url is not None else str(default_database())
    if text.startswith(("postgresql://", "postgres://")):
        store = _postgresql(text)
    else:
        path = Path(text.removeprefix("sqlite:///").removeprefix("sqlite://"))
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            connection = sqlite3.connect(path, timeout=30.0, isolation_level=None)
            connection.execute("PRAGMA foreign_keys=ON")
            connection.execute("PRAGMA journal_mode=WAL")
        except (OSError, sqlite3.Error) as err:
            raise StoreError(f"{path}: cannot open the fleet database: {err}") from None
        store = Store(connection, "sqlite", str(path))
    try:
        store.migrate()
    except StoreError:
        store.close()
        raise
    except Exception as err:
        store.close()
        raise StoreError(f"{store.where}: cannot prepare the fleet database: {err}") from None
    return store


def _postgresql(url: str) -> Store:
    try:
        import psycopg
    except ImportError:
        raise StoreError(
            "a PostgreSQL fleet database needs psycopg 3: pip install 'keelhaul[fleet]'"
        ) from None
    shown = _redacted(url)
    try:
        connection = psycopg.connect(url, connect_timeout=30)
    except psycopg.Error as err:
        reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise StoreError(f"{shown}: cannot connect: {reason}") from None
    return Store(connection, "postgresql", shown)


def _redacted(url: str) -> str:
    """``url`` without its password."""
    scheme, sep, rest = url.partition("://")
    credentials, at, host = rest.rpartition("@")
    if not at:
        return url
    user = credentials.partition(":")[0]
    return f"{scheme}{sep}{user}@{host}"
