"""A paper that rises after its mailing's digest was posted shows in the next digest under "Rising since …",
once; a paper climbing several places too."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

from bot.clock import ManualClock
from bot.sources.observations import Observation
from bot.store import Store
from tests.fakes.discord import FakeDiscord
from tests.harness import bot_settings, make_paper, running_bot, seed_store, slash_reply, text_of

DAY1, DAY2, DAY3 = date(2026, 11, 24), date(2026, 11, 25), date(2026, 11, 26)


def _seed(db: Path, day: date, titles: dict[str, int]) -> None:
    """A mailing of papers named by title, with these Hacker News points."""
    papers = [make_paper(f"2611.{20000 + 100 * day.day + i}", title, mailing=day)
              for i, title in enumerate(titles)]
    seed_store(db, papers=papers, points=list(titles.values()), mailing=day, previous=None,
               observed=datetime.combine(day, datetime.min.time(), tzinfo=UTC).replace(hour=6))


async def test_a_paper_rising_after_its_post_is_shown_once(world: FakeDiscord, tmp_path: Path) -> None:
    w = world.world
    db = tmp_path / "rise.db"
    _seed(db, DAY1, {"Posted first": 300, "Late bloomer": 30, "Never noticed": 10})
    clock = ManualClock(datetime(2026, 11, 24, 12, tzinfo=UTC))
    async with running_bot(world, bot_settings(world, db), clock) as bot:
        setup = {"channel": w.papers, "time": "09:00", "timezone": "UTC", "categories": "cs.LG", "size": 10}
        await slash_reply(world, "digest setup", setup, user=w.admin)

        async def post(day: date) -> str:
            clock.set(datetime.combine(day, datetime.min.time(), tzinfo=UTC).replace(hour=12))
            before = len(world.messages(w.papers))
            await slash_reply(world, "digest now", {"channel": w.papers}, user=w.admin)
            return "\n".join(text_of(m) for m in world.messages(w.papers)[before:])

        first = await post(DAY1)
        assert "Posted first" in first and "Late bloomer" not in first  # 30 points: under the minimum of 50
        late = await bot.store.run(Store.paper, f"2611.{20000 + 100 * DAY1.day + 1}")
        assert late is not None
        await bot.store.run(Store.record_observations, [Observation(
            "hn", "hn-late", (late.id,), {"points": 400}, "https://news.ycombinator.com/item?id=77",
            datetime(2026, 11, 24, 20, tzinfo=UTC))])

        _seed(db, DAY2, {"Tuesday's best": 200, "Tuesday's slow one": 20})
        second = await post(DAY2)
        assert "Tuesday's best" in second
        head, _, rising = second.partition("Rising since 2026-11-24")
        assert "Late bloomer" in rising and "Late bloomer" not in head
        assert "Never noticed" not in second and "Posted first" not in rising  # not risen: not repeated
        last = world.messages(w.papers)[-1]
        assert any(c.get("custom_id") == f"hp:vote:{w.guild.id}" for row in last.components
                   for c in row["components"])  # the rising papers can be voted on too

        slow = await bot.store.run(Store.paper, f"2611.{20000 + 100 * DAY2.day + 1}")
        assert slow is not None
        await bot.store.run(Store.record_observations, [Observation(
            "hn", "hn-slow", (slow.id,), {"points": 90}, "https://news.ycombinator.com/item?id=78",
            datetime(2026, 11, 25, 20, tzinfo=UTC))])
        _seed(db, DAY3, {"Wednesday's best": 200})
        third = await post(DAY3)
        assert "Rising since 2026-11-25" in third and "Tuesday's slow one" in third
        assert "Late bloomer" not in third  # shown once
