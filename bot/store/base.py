"""The connection and the versioned migrations every part of the store builds on."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from pathlib import Path

import sqlite_utils

Migration = Callable[[sqlite_utils.Database], None]


class StoreBase:
    """Owns one SQLite connection (WAL). Use it from one thread only: :class:`bot.store.AsyncStore` does that."""

    # Each part of the store contributes (domain, migrations); a domain's list only ever grows at its end.
    MIGRATIONS: Sequence[tuple[str, Sequence[Migration]]] = ()

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path) if path != ":memory:" else None
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(str(path) if self.path is not None else ":memory:")
        self.db = sqlite_utils.Database(connection)
        if self.path is not None:
            self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.execute("PRAGMA foreign_keys=ON")
        self.db.execute("PRAGMA busy_timeout=5000")
        self.migrate()

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
