"""The bot in its own process (``hotpapers run``) on PostgreSQL: digests and DMs go out exactly once, also when
the process is SIGKILLed in the middle of the round and started again."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from bot.store import Store
from tests.fakes.discord import FakeDiscord
from tests.harness import MAILING, BotProcess, seed_store
from tests.process.test_delivery_process import MESSAGES, SLOT, _audience, _received


@pytest.mark.parametrize("engine", ["postgresql"])  # SQLite: tests/process/test_delivery_process.py
async def test_a_bot_on_postgresql_delivers_exactly_once_across_a_sigkill(world: FakeDiscord, db_location: str,
                                                                          tmp_path: Path) -> None:
    seed_store(db_location)  # type: ignore[arg-type]
    channel_ids, user_ids = _audience(world, db_location, channels=20, users=4)  # type: ignore[arg-type]
    unused = tmp_path / "never-created.db"
    bot = BotProcess(world, unused, tmp_path, start_time=SLOT - timedelta(minutes=1),
                     env={"HOTPAPERS_DATABASE_URL": db_location})
    try:
        world.inject_delay(MESSAGES, 0.3, count=20)  # slow answers: the round is in flight at the kill
        await bot.start()
        assert "database postgresql://" in bot.log()
        bot.set_time(SLOT)
        await world.wait_until(lambda: sum(_received(world, channel_ids, user_ids)) >= 3, 30, "three digests")
        bot.kill()
        assert sum(_received(world, channel_ids, user_ids)) < 24
        await bot.start()
        await world.wait_until(lambda: min(_received(world, channel_ids, user_ids)) > 0, 60, "every digest and DM")
        assert await bot.terminate() == 0
    finally:
        bot.close()
    assert _received(world, channel_ids, user_ids) == [1] * 24
    assert not unused.exists()  # SQLite was never touched
    store = Store(db_location, index_dir=tmp_path / "index")
    try:
        assert all(store.handled("channel", c, MAILING.isoformat()) for c in channel_ids)
    finally:
        store.close()
