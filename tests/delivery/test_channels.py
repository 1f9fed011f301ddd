"""Channel digests as an audience: looked at when due (the due index), never every tick; a mailing that comes
late still posts within the grace window."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from bot.clock import ManualClock
from bot.store import Store
from bot.store.digests import ChannelDigest
from tests.fakes.discord import FakeDiscord
from tests.harness import OBSERVED, Seed, bot_settings, make_paper, running_bot, seed_store

SLOT = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
SET_UP = datetime(2026, 11, 20, tzinfo=UTC)


def _digest(world: FakeDiscord, db: object) -> int:
    w = world.world
    store = Store(db)  # type: ignore[arg-type]
    store.save_channel_digest(ChannelDigest(w.guild.id, w.papers.id, "09:00", "UTC", ("cs.LG",), 3, SET_UP))
    store.close()
    return w.papers.id


async def test_after_posting_a_channel_is_next_due_at_its_next_slot(world: FakeDiscord, seeded: Seed) -> None:
    channel = _digest(world, seeded.db)
    clock = ManualClock(SLOT)
    async with running_bot(world, bot_settings(world, seeded.db), clock) as bot:
        assert len(world.messages(channel)) == 1
        assert await bot.store.run(Store.next_due, "channel") == SLOT + timedelta(days=1)
        assert await bot.store.run(Store.due_channel_digests, SLOT + timedelta(hours=23)) == []
        requests = world.stats.requests
        clock.advance(timedelta(hours=3))
        await bot.scheduler.tick_now()  # nothing due: nothing read, nothing sent
        assert world.stats.requests == requests


async def test_a_mailing_ingested_after_the_slot_posts_at_once_within_the_grace_window(
        world: FakeDiscord, seeded: Seed) -> None:
    channel = _digest(world, seeded.db)
    clock = ManualClock(SLOT)
    async with running_bot(world, bot_settings(world, seeded.db), clock) as bot:
        clock.set(SLOT + timedelta(days=1))  # the 2026-11-26 mailing is due but not in the store yet
        await bot.scheduler.tick_now()
        assert len(world.messages(channel)) == 1
        due = await bot.store.run(Store.next_due, "channel")
        assert due is not None and due <= clock.now() + timedelta(minutes=10)  # it looks again soon
        clock.advance(timedelta(hours=2))
        seed_store(seeded.db, [make_paper("2611.20001", "Late learning", mailing=date(2026, 11, 26))],
                   mailing=date(2026, 11, 26), previous=None, observed=OBSERVED, points=[900])
        await bot.digests.mailing_arrived()  # what the ingestion job does after storing a mailing
        await bot.scheduler.tick_now()
    assert len(world.messages(channel)) == 2
    assert "2026-11-26" in world.messages(channel)[1].content
