"""The connection and the versioned migrations every part of the store builds on."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from pathlib import Path

import sqlite_utils

from bot.errors import DatabaseUnusable, StoreBusy

Migration = Callable[[sqlite_utils.Database], None]
BUSY_TIMEOUT_MS = 5000  # how long a write waits for another process's write lock


def _unusable(path: Path, problem: str) -> DatabaseUnusable:
    return DatabaseUnusable(f"database {path} (HOTPAPERS_DB): {problem}")


def is_locked(exc: sqlite3.Error) -> bool:
    """True when ``exc`` is SQLite giving up waiting for another connection's lock."""
    return isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc)


class StoreBase:
    """Owns one SQLite connection (WAL). Use it from one thread only: :class:`bot.store.AsyncStore` does that."""

    # Each part of the store contributes (domain, migrations); a domain's list only ever grows at its end.
    MIGRATIONS: Sequence[tuple[str, Sequence[Migration]]] = ()

    def __init__(self, path: Path | str, *, busy_timeout_ms: int = BUSY_TIMEOUT_MS,
                 before_migrating: Callable[[StoreBase, list[str]], None] | None = None) -> None:
        """Open (creating it and its directory if needed) and migrate the database. Raises DatabaseUnusable,
        naming the path, when it cannot be; ``before_migrating(store, pending)`` runs before any migration."""
        self.path = Path(path) if path != ":memory:" else None
        if self.path is not None:
            if self.path.is_dir():
                raise _unusable(self.path, "is a directory; point it at a file such as data/hotpapers.db")
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise _unusable(self.path, f"cannot create the directory {self.path.parent} "
                                           f"({exc.strerror or exc})") from None
        try:
            connection = sqlite3.connect(str(path) if self.path is not None else ":memory:")
        except sqlite3.Error as exc:
            raise _unusable(Path(path), f"cannot be opened ({exc})") from None
        self.db = sqlite_utils.Database(connection)
        try:
            if self.path is not None:
                self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")
            self.db.execute("PRAGMA foreign_keys=ON")
            self.db.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
            pending = self.pending_migrations()
            if pending and before_migrating is not None:
                before_migrating(self, pending)
            self.migrate()
        except sqlite3.DatabaseError as exc:
            connection.close()
            if is_locked(exc):
                raise StoreBusy(f"database {path} is locked by another program; try again shortly") from None
            raise _unusable(Path(path), f"is not a Hot Papers SQLite database ({exc})") from None

    def pending_migrations(self) -> list[str]:
        """The migrations :meth:`migrate` would apply, as ``domain:version``."""
        exists = self.db.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'").fetchone()
        done: set[tuple[str, int]] = set()
        if exists:
            done = {(row["domain"], row["version"]) for row in self.db.query(
                "SELECT domain, version FROM schema_migrations")}
        return [f"{domain}:{version}" for domain, migrations in self.MIGRATIONS
                for version in range(1, len(migrations) + 1) if (domain, version) not in done]

    def is_new(self) -> bool:
        """True when the database holds no table yet (just created)."""
        count: int = self.db.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
        return count == 0

    def backup_to(self, target: Path) -> None:
        """Copy the database to ``target`` with SQLite's online backup: a consistent snapshot of every
        committed transaction, safe while other connections (the running bot) write."""
        destination = sqlite3.connect(str(target))
        try:
            self.db.conn.backup(destination)
            destination.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it
        finally:
            destination.close()

    def migrate(self) -> list[str]:
        """Apply every migration not yet applied, in order; returns the names applied."""
        self.db.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " domain TEXT NOT NULL, version INTEGER NOT NULL, PRIMARY KEY (domain, version))"
        )
        applied: list[str] = []
        for domain, migrations in self.MIGRATIONS:
            done = {row["version"] for row in self.db.query(
                "SELECT version FROM schema_migrations WHERE domain = ?", [domain])}
            for version, migration in enumerate(migrations, start=1):
                if version in done:
                    continue
                with self.db.conn:
                    migration(self.db)
                    self.db.execute(
                        "INSERT INTO schema_migrations (domain, version) VALUES (?, ?)", [domain, version])
                applied.append(f"{domain}:{version}")
        return applied

    def schema_versions(self) -> dict[str, int]:
        return {row["domain"]: row["v"] for row in self.db.query(
            "SELECT domain, max(version) AS v FROM schema_migrations GROUP BY domain")}

    def close(self) -> None:
        self.db.close()
