"""``hotpapers migrate-to URL``: copy the SQLite install at HOTPAPERS_DB into the PostgreSQL database at URL.

Resumable (run it again after an interruption: it continues, adding no row twice) and checked (the row counts
of every table, side by side, at the end). Stop the bot first, so nothing is written meanwhile; then set
``HOTPAPERS_DATABASE_URL=URL``. The copying itself is :mod:`bot.store.transfer`.
"""

from __future__ import annotations

import argparse
import sys
import time

from bot.cli.backup import open_for_upgrade
from bot.config import Settings
from bot.errors import HotPapersError
from bot.store import Store
from bot.store.postgres import redact, validate_url
from bot.store.transfer import copy_install


def main(args: argparse.Namespace, settings: Settings) -> int:
    try:
        url = validate_url(args.url)
    except ValueError as exc:
        raise HotPapersError(f"migrate-to: {exc}") from None
    if not settings.db_path.is_file():
        raise HotPapersError(f"no SQLite database at {settings.db_path} (HOTPAPERS_DB) to copy")
    started = time.monotonic()
    open_for_upgrade(settings.db_path)  # an older install is backed up beside itself, then migrated
    source = Store(settings.db_path)
    try:
        target = Store(url)
        try:
            def progress(table: str, copied: int) -> None:
                print(f"migrate-to: {table}: {copied:,} rows copied ({time.monotonic() - started:.0f} s)",
                      file=sys.stderr, flush=True)

            counts = copy_install(source, target, batch=args.batch, progress=progress)
        finally:
            target.close()
    finally:
        source.close()
    width = max(len(count.table) for count in counts)
    print(f"{'table':<{width}}  {'SQLite':>12}  {'PostgreSQL':>12}")
    for count in counts:
        mark = "" if count.ok else "  MISMATCH"
        print(f"{count.table:<{width}}  {count.source:>12,}  {count.target:>12,}{mark}")
    wrong = [count.table for count in counts if not count.ok]
    if wrong:
        print(f"hotpapers: the counts differ in {', '.join(wrong)}; was the bot still writing? Stop it and run "
              "migrate-to again", file=sys.stderr)
        return 1
    print(f"copied {settings.db_path} into {redact(url)} in {time.monotonic() - started:.0f} s; "
          "now set HOTPAPERS_DATABASE_URL to it")
    return 0
