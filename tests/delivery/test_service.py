"""The digest service: ledger retention (the tick itself is exercised through its audiences: test_channels,
test_dms, test_rest)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.clock import ManualClock
from bot.store import Store
from bot.store.digests import PlannedMessage
from tests.fakes.discord import FakeDiscord
from tests.harness import Seed, bot_settings, running_bot

SLOT = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize("retention_days", [None, "40"])
async def test_the_ledger_forgets_finished_entries_after_the_retention_days(
        world: FakeDiscord, seeded: Seed, retention_days: str | None) -> None:
    now = SLOT
    store = Store(seeded.db)
    for target, age, finish in ((1, 31, True), (2, 29, True), (3, 31, False)):
        when = now - timedelta(days=age)
        store.begin_delivery("channel", target, "p", [PlannedMessage(0, {"content": "x"}, "n", "m")], when)
        if finish:
            store.finish_delivery("channel", target, "p", when)
    store.record_skip("dm", 4, "p", "nothing matched", now - timedelta(days=31))
    store.close()
    env = {"HOTPAPERS_DELIVERY_RETENTION_DAYS": retention_days} if retention_days else {}
    async with running_bot(world, bot_settings(world, seeded.db, **env), ManualClock(now)):
        pass
    store = Store(seeded.db)
    try:
        entries = {("channel", 1), ("channel", 2), ("channel", 3), ("dm", 4)}
        kept = {(kind, target) for kind, target in entries
                if store.delivery(kind, target, "p") is not None}  # type: ignore[arg-type]
        payloads = store.db.execute("SELECT count(*) FROM delivery_messages WHERE target_id = 1").fetchone()[0]
    finally:
        store.close()
    if retention_days is None:  # 30 days by default; an unfinished entry is never forgotten
        assert kept == {("channel", 2), ("channel", 3)} and payloads == 0
    else:
        assert kept == {("channel", 1), ("channel", 2), ("channel", 3), ("dm", 4)} and payloads == 1
