"""The bot in-process on the local Discord: /digest commands, scheduled posts, failures, what gets pinged."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.clock import ManualClock
from bot.store import Store
from tests.fakes.discord import FakeDiscord, P
from tests.harness import Seed, bot_settings, running_bot, seed_store, seeded, slash_reply, world  # noqa: F401

SETUP = {"time": "09:00", "timezone": "Europe/Paris", "categories": "cs.LG, cs.CV", "size": 5}


async def test_setup_then_scheduled_post_at_the_channels_local_time(world: FakeDiscord, seeded: Seed) -> None:
    w = world.world
    clock = ManualClock(datetime(2026, 11, 25, 12, tzinfo=UTC))  # Wednesday noon: 25th mailing not 12 h old
    async with running_bot(world, bot_settings(world, seeded.db), clock) as bot:
        text, ephemeral, _ = await slash_reply(world, "digest setup", {"channel": w.papers, **SETUP},
                                               user=w.admin)
        assert ephemeral
        assert "Digest set up" in text and "top 5 papers" in text and "Thu 2026-11-26 09:00" in text

        await bot.scheduler.tick_now()
        assert world.messages(w.papers) == []  # set up after today's 09:00: nothing until tomorrow

        clock.set(datetime(2026, 11, 26, 7, 59, tzinfo=UTC))  # 08:59 in Paris
        await bot.scheduler.tick_now()
        assert world.messages(w.papers) == []

        clock.set(datetime(2026, 11, 26, 8, 0, tzinfo=UTC))  # 09:00 in Paris
        await bot.scheduler.tick_now()
        (message,) = world.messages(w.papers)
        assert message.content == "**Hot Papers 2026-11-25 · cs.LG, cs.CV**"
        assert [e["title"] for e in message.embeds] == [
            f"{i}. Paper number {i} on learning" for i in range(1, 6)]
        assert message.embeds[0]["url"] == f"https://arxiv.org/abs/{seeded.paper_ids[0]}"
        assert "[Hacker News](https://news.ycombinator.com/item?id=1): 1,000 points" in \
            message.embeds[0]["description"]
        assert message.allowed_mentions == {"parse": []}

        # Later ticks the same day, and the next day without a new mailing (Thanksgiving), post nothing.
        for hours in (1, 5, 24, 30):
            clock.set(datetime(2026, 11, 26, 8, tzinfo=UTC) + timedelta(hours=hours))
            await bot.scheduler.tick_now()
        assert len(world.messages(w.papers)) == 1
