"""The engine-neutral connection and the versioned migrations every part of the store builds on.

``self.db`` is SQLite (sqlite-utils' ``Database`` on a WAL file, the default) or PostgreSQL
(:class:`bot.store.postgres.PgDatabase`, when the store is opened with a ``postgresql://`` URL). Both offer the
surface store code uses: ``db.query(sql, params)`` → dict rows, ``db.execute(sql, params)`` → a cursor,
``db.conn.execute``/``executemany``, ``with db.conn:`` as one transaction, ``?`` placeholders, and
``db.engine`` ("sqlite" or "postgresql") for the few migrations that differ.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, Protocol

import psycopg
import sqlite_utils

from bot.errors import DatabaseUnusable, HotPapersError, StoreBusy
from bot.store import postgres

BUSY_TIMEOUT_MS = 5000  # how long a write waits for another process's write lock


class Database(Protocol):
    """What store code may use of ``self.db`` (the same on both engines)."""

    engine: str
    conn: Any  # sqlite3.Connection, or bot.store.postgres.PgConnection (execute, executemany, with: a transaction)

    def query(self, sql: str, params: Sequence[Any] | None = None) -> Iterable[dict[str, Any]]: ...
    def execute(self, sql: str, params: Sequence[Any] | None = None) -> Any: ...
    def table_names(self) -> list[str]: ...
    def close(self) -> None: ...


class SqliteDatabase(sqlite_utils.Database):
    """sqlite-utils' Database, telling migrations which engine they run on."""

    engine = "sqlite"


Migration = Callable[[Database], None]


def unusable(path: Path | str, problem: str) -> DatabaseUnusable:
    if isinstance(path, str) and postgres.is_database_url(path):
        return DatabaseUnusable(f"database {postgres.redact(path)} (HOTPAPERS_DATABASE_URL): "
                                f"{postgres.scrub(problem, path)}")
    return DatabaseUnusable(f"database {path} (HOTPAPERS_DB): {problem}")


def is_locked(exc: BaseException) -> bool:
    """True when ``exc`` is the database giving up waiting for another connection's lock."""
    if isinstance(exc, sqlite3.OperationalError):
        return "locked" in str(exc)
    return postgres.is_busy(exc)


def json_values(db: Database) -> str:
    """A subquery of the values of the JSON array bound to its one ``?`` (``paper_id IN {json_values(db)}``): a
    list of any length as one parameter, on either engine."""
    if db.engine == "postgresql":
        return "(SELECT json_array_elements_text(CAST(? AS json)))"
    return "(SELECT value FROM json_each(?))"


class StoreBase:
    """Owns one connection: a SQLite file (WAL) or a PostgreSQL database. Use it from one thread only:
    :class:`bot.store.AsyncStore` does that."""

    # Each part of the store contributes (domain, migrations); a domain's list only ever grows at its end.
    MIGRATIONS: Sequence[tuple[str, Sequence[Migration]]] = ()
    db: Database

    def __init__(self, path: Path | str, *, busy_timeout_ms: int = BUSY_TIMEOUT_MS,
                 before_migrating: Callable[[StoreBase, list[str]], None] | None = None,
                 index_dir: Path | None = None) -> None:
        """Open (creating it and its directory if needed) and migrate the database: a SQLite file, or a
        ``postgresql://`` URL. Raises DatabaseUnusable, naming the path (or the URL without its password),
        when it cannot be; ``before_migrating(store, pending)`` runs before any migration. ``index_dir``: where
        the search index lives (default: beside a SQLite file; under HOTPAPERS_HOME for PostgreSQL)."""
        self.url: str | None = None
        self.index_dir = index_dir
        if isinstance(path, str) and postgres.is_database_url(path):
            self.path = None
            self.url = path
            self._open_postgresql(path, busy_timeout_ms, before_migrating)
            return
        self.path = Path(path) if path != ":memory:" else None
        if self.path is not None:
            if self.path.is_dir():
                raise unusable(self.path, "is a directory; point it at a file such as data/hotpapers.db")
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise unusable(self.path, f"cannot create the directory {self.path.parent} "
                                           f"({exc.strerror or exc})") from None
        try:
            connection = sqlite3.connect(str(path) if self.path is not None else ":memory:")
        except sqlite3.Error as exc:
            raise unusable(Path(path), f"cannot be opened ({exc})") from None
        self.db = SqliteDatabase(connection)
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
            raise unusable(Path(path), f"is not a Hot Papers SQLite database ({exc})") from None

    def _open_postgresql(self, url: str, busy_timeout_ms: int,
                         before_migrating: Callable[[StoreBase, list[str]], None] | None) -> None:
        try:
            self.db = postgres.PgDatabase(url, busy_timeout_ms=busy_timeout_ms)
        except psycopg.Error as exc:
            raise unusable(url, f"cannot connect ({error_line(exc)})") from None
        try:
            pending = self.pending_migrations()
            if pending and before_migrating is not None:
                before_migrating(self, pending)
            self.migrate()
        except psycopg.Error as exc:
            self.db.close()
            if is_locked(exc):
                raise StoreBusy(f"database {postgres.redact(url)} is locked by another program; "
                                "try again shortly") from None
            raise unusable(url, f"cannot be migrated ({error_line(exc)})") from None

    @property
    def engine(self) -> str:
        """"sqlite" or "postgresql"."""
        return self.db.engine

    @property
    def location(self) -> str:
        """The database for messages: the SQLite path, or the PostgreSQL URL without its password."""
        if self.url is not None:
            return postgres.redact(self.url)
        return str(self.path) if self.path is not None else ":memory:"

    def _table_exists(self, name: str) -> bool:
        if self.db.engine == "postgresql":
            return bool(self.db.execute("SELECT to_regclass(?) IS NOT NULL", [name]).fetchone()[0])
        return self.db.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", [name]).fetchone() is not None

    def pending_migrations(self) -> list[str]:
        """The migrations :meth:`migrate` would apply, as ``domain:version``."""
        exists = self._table_exists("schema_migrations")
        done: set[tuple[str, int]] = set()
        if exists:
            done = {(row["domain"], row["version"]) for row in self.db.query(
                "SELECT domain, version FROM schema_migrations")}
        return [f"{domain}:{version}" for domain, migrations in self.MIGRATIONS
                for version in range(1, len(migrations) + 1) if (domain, version) not in done]

    def is_new(self) -> bool:
        """True when the database holds no table yet (just created)."""
        return not self.db.table_names()

    def backup_to(self, target: Path) -> None:
        """Copy the database to ``target`` with SQLite's online backup: a consistent snapshot of every
        committed transaction, safe while other connections (the running bot) write. On PostgreSQL a backup
        is the server's business: raises HotPapersError saying to use pg_dump."""
        if self.db.engine == "postgresql":
            raise HotPapersError(f"the database is PostgreSQL ({self.location}); back it up with pg_dump "
                                 "(pg_dump -Fc -f FILE DATABASE_URL) instead")
        destination = sqlite3.connect(str(target))
        try:
            self.db.conn.backup(destination)
            destination.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it
        finally:
            destination.close()

    def migrate(self) -> list[str]:
        """Apply every migration not yet applied, in order; returns the names applied."""
        applied: list[str] = []
        if self.db.engine == "postgresql":  # processes starting together migrate one after the other
            self.db.execute("SELECT pg_advisory_lock(?)", [postgres.MIGRATION_LOCK])
        try:
            self.db.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                " domain TEXT NOT NULL, version INTEGER NOT NULL, PRIMARY KEY (domain, version))"
            )
            self._apply_migrations(applied)
        finally:
            if self.db.engine == "postgresql":
                self.db.execute("SELECT pg_advisory_unlock(?)", [postgres.MIGRATION_LOCK])
        return applied

    def _apply_migrations(self, applied: list[str]) -> None:
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

    def schema_versions(self) -> dict[str, int]:
        return {row["domain"]: row["v"] for row in self.db.query(
            "SELECT domain, max(version) AS v FROM schema_migrations GROUP BY domain")}

    def bulk_load_settings(self, on: bool) -> None:
        """A bigger page cache while loading many papers, or the default again (SQLite; PostgreSQL's cache
        is the server's)."""
        if self.db.engine == "sqlite":
            self.db.execute(f"PRAGMA cache_size = {-262144 if on else -2000}")  # KiB: 256 MiB, or the default

    def lock_change_cursor(self) -> None:
        """Inside a transaction about to write papers: on PostgreSQL, wait for other papers writers, so change
        sequences commit in order (a reader of the cursor never skips one). SQLite has one writer anyway."""
        if self.db.engine == "postgresql":
            self.db.execute("SELECT pg_advisory_xact_lock(?)", [postgres.CHANGE_LOCK])

    @contextlib.contextmanager
    def together(self) -> Iterator[None]:
        """Several store methods as one transaction on PostgreSQL (one commit, their own transaction blocks
        joining it); on SQLite each still commits by itself, as SQLite commits cost next to nothing."""
        if self.db.engine == "postgresql":
            with self.db.conn.joined():
                yield
        else:
            yield

    def close(self) -> None:
        self.db.close()


def error_line(exc: BaseException) -> str:
    """The first line of an error message (a driver's can run to several)."""
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]
