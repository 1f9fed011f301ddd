"""``hotpapers reindex``: rebuild the search index (``<db>.index/``) from the papers the store holds."""

from __future__ import annotations

import argparse
import sys
import time

from bot.config import Settings
from bot.errors import HotPapersError
from bot.search.index import IndexBusy
from bot.store import Store

PROGRESS_EVERY = 100_000


def main(args: argparse.Namespace, settings: Settings) -> int:
    if not settings.database_exists():
        raise HotPapersError(f"no database at {settings.db_path}; nothing to index (or set HOTPAPERS_DB)")
    store = Store(settings.database)
    started = time.monotonic()
    shown = 0

    def progress(done: int) -> None:
        nonlocal shown
        if done - shown >= PROGRESS_EVERY:
            shown = done
            print(f"reindex: {done:,} papers, {time.monotonic() - started:.0f} s", file=sys.stderr, flush=True)

    try:
        count = store.reindex(progress)
    except IndexBusy:
        raise HotPapersError("another hotpapers process is writing the search index right now; "
                             "try again when it is done") from None
    finally:
        store.close()
    directory = store.search_index().directory
    print(f"indexed {count:,} papers in {time.monotonic() - started:.0f} s into {directory}")
    return 0
