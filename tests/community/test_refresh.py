"""A posted digest's counts refreshed in place: for 48 hours, every 6 hours, its messages are edited (never a new
message), within Discord's limits; after that they are left alone."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from bot.clock import ManualClock
from bot.sources.observations import Observation
from bot.store import Store
from tests.fakes.discord import FakeDiscord
from tests.harness import bot_settings, make_paper, running_bot, seed_store, slash_reply, text_of

POSTED = datetime(2026, 11, 25, 12, tzinfo=UTC)


def _edits(fake: FakeDiscord) -> list[str]:
    return [r.path for r in fake.requests if r.method == "PATCH" and "/messages/" in r.path]


async def test_counts_are_edited_in_place_for_48_hours(world: FakeDiscord, tmp_path: Path) -> None:
    w = world.world
    papers = [make_paper(f"2611.{10000 + i}", f"Paper {i} on long abstracts", abstract="We study. " * 300)
              for i in range(10)]
    seed = seed_store(tmp_path / "r.db", papers=papers, points=[100 + i for i in range(10)])
    clock = ManualClock(POSTED)
    async with running_bot(world, bot_settings(world, seed.db), clock) as bot:
        setup = {"channel": w.papers, "time": "09:00", "timezone": "UTC", "categories": "cs.LG", "size": 10}
        await slash_reply(world, "digest setup", setup, user=w.admin)
        await slash_reply(world, "digest now", {"channel": w.papers}, user=w.admin)
        posted = world.messages(w.papers)
        assert "987,654" not in "".join(text_of(m) for m in posted)
        last = seed.paper_ids[-1]

        async def observe(points: int, at: datetime) -> None:
            await bot.store.run(Store.record_observations, [Observation(
                "hn", f"hn-{last}", (last,), {"points": points, "comments": 3},
                "https://news.ycombinator.com/item?id=10", at)])

        await observe(987654, datetime(2026, 11, 25, 13, tzinfo=UTC))
        clock.set(datetime(2026, 11, 25, 17, 59, tzinfo=UTC))
        await bot.scheduler.tick_now()
        assert _edits(world) == []  # not 6 hours yet

        clock.set(datetime(2026, 11, 25, 18, 9, tzinfo=UTC))  # the tick looks every 10 minutes
        await bot.scheduler.tick_now()
        assert len(_edits(world)) == len(posted)  # each message once
        now_shown = world.messages(w.papers)
        assert [m.id for m in now_shown] == [m.id for m in posted]  # edited, no new message
        assert "987,654" in text_of(now_shown[-1]) or "987.7K" in text_of(now_shown[-1])
        assert all(m.edits == 1 for m in now_shown)  # the fake accepted each edit: within Discord's limits
        clock.set(datetime(2026, 11, 25, 18, 30, tzinfo=UTC))  # looked again: 6 h not over
        await bot.scheduler.tick_now()
        assert len(_edits(world)) == len(posted)  # refreshed at most every 6 hours

        await observe(999999, datetime(2026, 11, 27, 12, tzinfo=UTC))
        clock.set(datetime(2026, 11, 27, 12, 30, tzinfo=UTC))  # 48.5 hours after posting
        await bot.scheduler.tick_now()
        assert len(_edits(world)) == len(posted)
        assert len(world.messages(w.papers)) == len(posted)
