"""Follow-up notices end to end: a paper on a reader's list gets a v2 through an ingest with a ``replace``
entry; the reader's next DM says so, once; several events come capped, the rest summarised."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

from bot.clock import ManualClock
from bot.config import Settings
from bot.followups import PER_DM, changes
from bot.ingest import ingest_latest
from bot.models import Notice
from bot.render import CONTENT_LIMIT, followups_message
from bot.sources.arxiv import ArxivClient
from bot.store import Store
from bot.store.notices import Seen
from tests.delivery.test_dms import command, dms, seed_dm_store
from tests.fakes.discord.server import FakeDiscord
from tests.fakes.upstream import UpstreamServer
from tests.fixtures.arxiv.feeds import Item, rss_feed
from tests.harness import bot_settings, make_paper, running_bot

RSS = "application/rss+xml"
SAVED = "2411.00003"  # "Bandits": on the reader's list, not matching their keyword


def _feed(day: int, items: list[Item]) -> bytes:
    return rss_feed(items, pub=f"{date(2024, 11, day):%a}, {day:02d} Nov 2024 00:00:00 -0500",
                    build=f"{date(2024, 11, day):%a}, {day:02d} Nov 2024 05:00:00 +0000")


async def test_a_v2_after_a_replace_entry_is_told_once_in_the_next_dm(fake_discord: FakeDiscord,
                                                                      upstream: UpstreamServer,
                                                                      tmp_path: Path) -> None:
    db = seed_dm_store(tmp_path / "f.db")
    reader = fake_discord.world.member
    clock = ManualClock(datetime(2024, 11, 6, 10, tzinfo=UTC))
    arxiv_settings = Settings(arxiv_api=upstream.url + "/api/query", arxiv_feeds=upstream.url + "/rss",
                              arxiv_interval=0)
    async with running_bot(fake_discord, bot_settings(fake_discord, db), clock) as bot:
        await command(fake_discord, "subscribe keyword", {"value": "diffusion"}, reader)
        await command(fake_discord, "subscriptions settings", {"time": "14:00"}, reader)
        await bot.store.run(Store.save_paper, reader.user.id, SAVED, clock.now())

        async def day(number: int, items: list[Item]) -> list[str]:
            """Ingest the day's feed, then tick at the reader's time: the DM messages it brought."""
            before = len(dms(fake_discord, reader))
            upstream.clear()  # the fake repeats its last reply: today's feed replaces yesterday's
            upstream.reply("/rss/cs.LG", _feed(number, items), content_type=RSS)
            async with ArxivClient(arxiv_settings) as arxiv:
                await ingest_latest(arxiv, bot.store, ["cs.LG"], now=datetime(2024, 11, number, 2, tzinfo=UTC))
            clock.set(datetime(2024, 11, number, 14, 30, tzinfo=UTC))
            await bot.scheduler.tick_now()
            await bot.scheduler.tick_now()
            return dms(fake_discord, reader)[before:]

        clock.set(datetime(2024, 11, 6, 14, 30, tzinfo=UTC))
        await bot.scheduler.tick_now()
        (first,) = dms(fake_discord, reader)
        assert "Follow-ups" not in first  # what the saved paper already was is not news

        papers, notes = await day(7, [Item(SAVED, "Bandits", announce_type="replace", version=2),
                                      Item("2411.00011", "Diffusion for graphs")])
        assert "Diffusion for graphs" in papers  # the day's DM, then its follow-ups
        assert notes.startswith("**Follow-ups on papers you saved or voted for**")
        assert f"**Bandits** ({SAVED}): v2 is out" in notes and f"arxiv.org/abs/{SAVED}v2" in notes

        (third,) = await day(8, [Item(SAVED, "Bandits", announce_type="replace", version=2),
                                 Item("2411.00012", "Diffusion for audio")])
        assert "Diffusion for audio" in third and "Follow-ups" not in third  # told once


def test_changes_between_two_looks_and_a_storm_capped() -> None:
    paper = make_paper("2411.00005", "Scaling", version=3)
    before = Seen(1, None, None)
    assert changes(before, Seen(3, "https://github.com/a/b", "Nature 1 (2025)"), paper) == [
        ("v3", ""), ("code", "https://github.com/a/b"), ("published", "Nature 1 (2025)")]
    assert changes(Seen(3, "x", "y"), Seen(3, "x", "z"), paper) == []  # already published: no news

    when = datetime(2024, 11, 7, tzinfo=UTC)
    papers = [make_paper(f"2411.{i:05d}", "A long title " * 20) for i in range(40)]
    storm = [(Notice(1, p.id, "v2", "Accepted at a venue; " * 40, when), p) for p in papers]
    message = followups_message(storm, PER_DM)
    assert message.content is not None and len(message.content) <= CONTENT_LIMIT
    assert message.content.count("• ") == PER_DM
    assert message.content.endswith("…and 35 more follow-ups on 35 papers: `/saved list` shows your papers.")
