"""Store part: subscriptions (SQL for this domain lives here)."""

from __future__ import annotations

from collections.abc import Sequence

import sqlite_utils

from bot.store.base import Migration


class SubscriptionsStore:
    db: sqlite_utils.Database
    SUBSCRIPTIONS_MIGRATIONS: Sequence[Migration] = ()
