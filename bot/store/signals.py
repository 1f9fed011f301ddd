"""Store part: signals (SQL for this domain lives here)."""

from __future__ import annotations

from collections.abc import Sequence

import sqlite_utils

from bot.store.base import Migration


class SignalsStore:
    db: sqlite_utils.Database
    SIGNALS_MIGRATIONS: Sequence[Migration] = ()
