"""Papers, their announcements per mailing, and full-text search."""

from __future__ import annotations

from collections.abc import Sequence

import sqlite_utils

from bot.store.base import Migration


def _create_papers(db: sqlite_utils.Database) -> None:
    raise NotImplementedError  # owned by the store engineer


class PaperStore:
    db: sqlite_utils.Database
    PAPER_MIGRATIONS: Sequence[Migration] = (_create_papers,)
