"""Store part: digests (SQL for this domain lives here)."""

from __future__ import annotations

from collections.abc import Sequence

import sqlite_utils

from bot.store.base import Migration


class DigestsStore:
    db: sqlite_utils.Database
    DIGESTS_MIGRATIONS: Sequence[Migration] = ()
