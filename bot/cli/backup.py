"""``hotpapers backup FILE``: a consistent copy of the database, safe while the bot runs and writes.

SQLite's online backup API copies every committed transaction as of one moment (a file copy of a WAL database
can miss the pages still in ``-wal``). Restoring is a file copy while the bot is stopped (README "Back up and
restore"). :func:`open_for_upgrade` is how ``hotpapers run`` opens the database: when a new version brings
migrations, it first backs the database up beside itself.
"""

from __future__ import annotations

import argparse
import logging
from datetime import UTC, datetime
from pathlib import Path

from bot.clock import clock_from_env
from bot.config import Settings
from bot.errors import HotPapersError
from bot.store import Store
from bot.store.base import StoreBase

log = logging.getLogger(__name__)


def main(args: argparse.Namespace, settings: Settings) -> int:
    if settings.database_url:
        raise HotPapersError(f"the database is PostgreSQL ({settings.database_name}); back it up with pg_dump, "
                             "e.g. pg_dump -Fc -f hotpapers.dump \"$HOTPAPERS_DATABASE_URL\"")
    target = Path(args.file).expanduser().absolute()
    source = settings.db_path
    if not source.is_file():
        raise HotPapersError(f"no database at {source} (HOTPAPERS_DB) to back up")
    if target.resolve() == source.resolve():
        raise HotPapersError("the backup must be another file than the database itself")
    if target.exists():
        raise HotPapersError(f"{target} already exists; give a new file name (a backup never overwrites)")
    if not target.parent.is_dir():
        raise HotPapersError(f"{target.parent} is not a directory")
    store = Store(source)
    try:
        backup(store, target)
        papers = store.paper_count()
    finally:
        store.close()
    print(f"backed up {source} to {target} ({papers} papers, {target.stat().st_size:,} bytes)")
    return 0


def backup(store: StoreBase, target: Path) -> None:
    """Write a consistent copy of ``store``'s database to ``target``; a half-written copy is removed."""
    try:
        store.backup_to(target)
    except Exception as exc:
        target.unlink(missing_ok=True)
        raise HotPapersError(f"could not write the backup {target}: {exc}") from None


def open_for_upgrade(path: Path | str, now: datetime | None = None, store_class: type[Store] = Store) -> list[str]:
    """Open (creating or migrating) the database; before migrating an existing one, back it up beside itself
    as ``NAME.before-upgrade-YYYYMMDD-HHMMSS.db``. Returns the migrations applied. (``store_class``: tests
    pass a store with one more migration, as a newer version would bring.)"""
    stamp = (now or clock_from_env().now()).astimezone(UTC).strftime("%Y%m%d-%H%M%S")
    applied: list[str] = []

    def before_migrating(store: StoreBase, pending: list[str]) -> None:
        applied.extend(pending)
        if store.is_new():
            return
        if not isinstance(path, Path):  # PostgreSQL: the server's backups (pg_dump) are the operator's
            log.warning("upgrading the database (%s); take a pg_dump first if you have none recent",
                        ", ".join(pending))
            return
        target = path.with_name(f"{path.stem}.before-upgrade-{stamp}{path.suffix or '.db'}")
        backup(store, target)
        log.info("upgrading the database (%s): backed it up first to %s", ", ".join(pending), target)

    store_class(path, before_migrating=before_migrating).close()
    return applied
