"""The scheduler: jobs rebuilt from settings at start, ticks driven by the bot's clock, extra ticks."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from bot import scheduler as scheduling
from bot.clock import FileClock, ManualClock
from bot.config import Settings
from bot.store import AsyncStore, Store
from bot.store.digests import ChannelDigest
from tests.fakes.discord import FakeDiscord
from tests.fakes.upstream import UpstreamServer
from tests.fixtures.arxiv.feeds import Item, rss_feed
from tests.harness import Seed, bot_settings, running_bot
from tests.polling import eventually

HOLIDAY_FEED = Path(__file__).resolve().parents[1] / "fixtures" / "arxiv" / "holiday_empty.rss"


async def test_jobs_are_module_functions_with_plain_ids_at_the_configured_times(
    world: FakeDiscord, seeded: Seed
) -> None:
    settings = bot_settings(
        world,
        seeded.db,
        HOTPAPERS_INGEST_TIMES="00:30,02:00",
        HOTPAPERS_INGEST_TIMEZONE="America/New_York",
        HOTPAPERS_SIGNALS_FRESH_INTERVAL_MINUTES="30",
    )
    async with running_bot(world, settings) as bot:
        jobs = {job.id: job for job in bot.scheduler._scheduler.get_jobs()}
        assert set(jobs) == {"tick", "ingest-00:30", "ingest-02:00", "signals", "harvest"}
        for job in jobs.values():
            assert job.func.__module__ == "bot.scheduler" and job.func.__qualname__ == job.func.__name__
            assert job.args == (bot.scheduler.runtime_id,)
        ingest = jobs["ingest-00:30"].trigger
        assert str(ingest.timezone) == "America/New_York"
        assert {f.name: str(f) for f in ingest.fields}["hour"] == "0"
        assert {f.name: str(f) for f in ingest.fields}["minute"] == "30"
        assert jobs["signals"].trigger.interval.total_seconds() == 30 * 60
        harvest = {f.name: str(f) for f in jobs["harvest"].trigger.fields}  # [harvest] time, after the ingests
        assert (harvest["hour"], harvest["minute"]) == ("3", "0")
        assert str(jobs["harvest"].trigger.timezone) == "America/New_York"


async def test_moving_a_file_clock_ticks_at_once(world: FakeDiscord, seeded: Seed, tmp_path: Path) -> None:
    w = world.world
    store = Store(seeded.db)
    store.save_channel_digest(
        ChannelDigest(
            w.guild.id, w.papers.id, "09:00", "UTC", ("cs.LG",), 3, datetime(2026, 11, 20, tzinfo=UTC)
        )
    )
    store.close()
    path = tmp_path / "clock.txt"
    FileClock.write(path, datetime(2026, 11, 26, 8, tzinfo=UTC))
    # The periodic tick is an hour away: only the clock watcher can make this post happen.
    async with running_bot(world, bot_settings(world, seeded.db), FileClock(path)):
        assert world.messages(w.papers) == []
        FileClock.write(path, datetime(2026, 11, 26, 9, tzinfo=UTC))
        message = await world.wait_for_message(w.papers, timeout=5)
    assert message.content == "**Hot Papers 2026-11-25 · cs.LG**"


async def test_registered_ticks_run_after_channel_digests_and_a_failing_one_does_not_stop_others(
    world: FakeDiscord, seeded: Seed
) -> None:
    calls: list[str] = []

    async def broken() -> None:
        calls.append("broken")
        raise RuntimeError("boom")

    async def dms() -> None:
        calls.append("dms")

    async with running_bot(
        world, bot_settings(world, seeded.db), ManualClock(datetime(2026, 11, 26, tzinfo=UTC))
    ) as bot:
        bot.scheduler.register_tick("broken", broken)
        bot.scheduler.register_tick("dms", dms)
        report = await bot.scheduler.tick_now()
        assert report is not None
        assert calls[-2:] == ["broken", "dms"]


async def test_a_tick_before_the_bot_is_ready_does_nothing(world: FakeDiscord, seeded: Seed) -> None:
    async with running_bot(world, bot_settings(world, seeded.db)) as bot:
        runtime = scheduling.runtime(bot.scheduler.runtime_id)
        ready = runtime.ready
        runtime.ready = lambda: False
        assert await bot.scheduler.tick_now() is None
        runtime.ready = ready
        assert await bot.scheduler.tick_now() is not None


async def test_ingestion_failure_is_logged_and_the_bot_keeps_going(
    world: FakeDiscord, seeded: Seed, caplog: object
) -> None:
    import logging

    import pytest

    assert isinstance(caplog, pytest.LogCaptureFixture)
    settings = bot_settings(
        world, seeded.db, HOTPAPERS_ARXIV_FEEDS="http://127.0.0.1:9", HOTPAPERS_ARXIV_INTERVAL="0"
    )
    async with running_bot(world, settings) as bot:
        with caplog.at_level(logging.ERROR, logger="bot.scheduler"):
            await scheduling.ingest_job(bot.scheduler.runtime_id)
        assert "ingestion failed" in caplog.text
        assert await bot.scheduler.tick_now() is not None


async def test_the_ingestion_job_stores_the_mailing_refreshes_engagement_then_posts_what_is_due(
    world: FakeDiscord, tmp_path: Path, upstream: object
) -> None:
    """The scheduled chain on an empty store: the feed's mailing is ingested, its engagement fetched, and the
    channel whose time has come gets the paper Hacker News liked, ranked first; the next day's empty holiday
    feed brings no mailing, so no post."""
    from tests.fakes.upstream import UpstreamServer
    from tests.fixtures.arxiv.feeds import Item, rss_feed

    assert isinstance(upstream, UpstreamServer)
    w = world.world
    upstream.reply("/rss/cs.LG", rss_feed(
        [Item(f"2611.0000{n}", title=f"Ingested paper {n}") for n in (1, 2, 3)],
        pub="Wed, 25 Nov 2026 00:00:00 -0500", build="Wed, 25 Nov 2026 05:00:00 +0000"),
        content_type="application/rss+xml")
    upstream.reply("/hf/daily_papers", [])
    upstream.reply("/hn/search_by_date", {"hits": [{
        "objectID": "4242", "url": "https://arxiv.org/abs/2611.00002", "points": 420, "num_comments": 7,
        "title": "Ingested paper 2", "created_at_i": 1764100000}], "page": 0, "nbPages": 1})
    upstream.reply("/hn/search", {"hits": [], "page": 0, "nbPages": 1})
    db = tmp_path / "empty.db"
    store = Store(db)
    store.save_channel_digest(ChannelDigest(
        w.guild.id, w.papers.id, "09:00", "UTC", ("cs.LG",), 3, datetime(2026, 11, 20, tzinfo=UTC)))
    store.close()
    url = upstream.url
    settings = bot_settings(world, db, HOTPAPERS_ARXIV_FEEDS=f"{url}/rss", HOTPAPERS_HF_API=f"{url}/hf",
                            HOTPAPERS_HN_API=f"{url}/hn", HOTPAPERS_INGEST_CATEGORIES="cs.LG")
    clock = ManualClock(datetime(2026, 11, 26, 9, 0, tzinfo=UTC))
    async with running_bot(world, settings, clock) as bot:
        assert world.messages(w.papers) == []  # nothing stored yet: nothing to post
        await scheduling.ingest_job(bot.scheduler.runtime_id)
        assert upstream.requests_to("/hn/search_by_date")  # the refresh ran after the ingestion
        assert len(world.messages(w.papers)) == 1
        # Thanksgiving: the next day's feed is empty (no mailing), so the next slot posts nothing.
        upstream.clear()
        holiday = HOLIDAY_FEED.read_bytes()
        upstream.reply("/rss/cs.LG", holiday, content_type="application/rss+xml")
        clock.set(datetime(2026, 11, 27, 9, 0, tzinfo=UTC))
        await scheduling.ingest_job(bot.scheduler.runtime_id)
        await bot.scheduler.tick_now()
        assert upstream.requests_to("/rss/cs.LG")
    (message,) = world.messages(w.papers)
    assert message.content == "**Hot Papers 2026-11-25 · cs.LG**"
    assert [e["title"] for e in message.embeds] == ["1. Ingested paper 2"]  # the only one scoring ≥ 50
    assert "[Hacker News](https://news.ycombinator.com/item?id=4242): 420 points" in message.embeds[0][
        "description"]


def fresh_install(world: FakeDiscord, tmp_path: Path, upstream: UpstreamServer, title: str) -> Settings:
    """Settings of a bot with an empty store whose cs.LG feed (after any replies already queued) holds one
    paper of the 2026-11-25 mailing."""
    upstream.reply("/rss/cs.LG", rss_feed([Item("2611.00001", title=title)], pub="Wed, 25 Nov 2026 00:00:00 -0500"),
                   content_type="application/rss+xml")
    url = upstream.url
    return bot_settings(world, tmp_path / "fresh.db", HOTPAPERS_ARXIV_FEEDS=f"{url}/rss", HOTPAPERS_HF_API=f"{url}/hf",
                        HOTPAPERS_HN_API=f"{url}/hn", HOTPAPERS_INGEST_CATEGORIES="cs.LG")


async def mailing_stored(store: AsyncStore) -> bool:
    return await store.run(Store.latest_mailing, ["cs.LG"]) is not None


async def test_a_fresh_install_ingests_at_start_instead_of_waiting_for_the_ingest_time(
    world: FakeDiscord, tmp_path: Path, upstream: object
) -> None:
    assert isinstance(upstream, UpstreamServer)
    settings = fresh_install(world, tmp_path, upstream, "Ingested at start")
    clock = ManualClock(datetime(2026, 11, 26, 9, 0, tzinfo=UTC))
    async with running_bot(world, settings, clock, catch_up=True) as bot:
        await eventually(lambda: mailing_stored(bot.store), 5, "the catch-up ingest to store the mailing")
        assert await bot.store.run(Store.latest_mailing, ["cs.LG"]) == date(2026, 11, 25)
    # A store with a recent mailing is not ingested again at start.
    upstream.clear()
    async with running_bot(world, settings, clock, catch_up=True):
        pass
    assert upstream.requests_to("/rss/cs.LG") == []


async def test_arxiv_down_at_first_start_is_tried_again_until_a_mailing_is_stored(
        world: FakeDiscord, tmp_path: Path, upstream: UpstreamServer, caplog: pytest.LogCaptureFixture) -> None:
    for _ in range(4 * 2):  # two whole ingests (four tries each) meet a 503
        upstream.reply("/rss/cs.LG", b"down", status=503)
    settings = fresh_install(world, tmp_path, upstream, "Ingested at last")
    clock = ManualClock(datetime(2026, 11, 26, 9, 0, tzinfo=UTC))
    caplog.set_level(logging.INFO, logger="bot.scheduler")
    async with running_bot(world, settings, clock) as bot:
        bot.scheduler.catch_up_soon(retry_delays=(0.01, 0.02))
        await eventually(lambda: mailing_stored(bot.store), 10, "the catch-up ingest to store the mailing")
        assert await bot.store.run(Store.latest_mailing, ["cs.LG"]) == date(2026, 11, 25)
    assert len(upstream.requests_to("/rss/cs.LG")) == 9
    retries = [r.getMessage() for r in caplog.records if "catch-up ingest failed" in r.getMessage()]
    assert retries == ["catch-up ingest failed; trying again in 0.01 s",
                       "catch-up ingest failed; trying again in 0.02 s"]
    assert not any(r.exc_info for r in caplog.records if r.name == "bot.scheduler")  # one line, no traceback
