"""The scheduler: jobs rebuilt from settings at start, ticks driven by the bot's clock, extra ticks."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from bot import scheduler as scheduling
from bot.clock import FileClock, ManualClock
from bot.store import Store
from bot.store.digests import ChannelDigest
from tests.fakes.discord import FakeDiscord
from tests.harness import Seed, bot_settings, running_bot


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
        assert set(jobs) == {"tick", "ingest-00:30", "ingest-02:00", "signals"}
        for job in jobs.values():
            assert job.func.__module__ == "bot.scheduler" and job.func.__qualname__ == job.func.__name__
            assert job.args == (bot.scheduler.runtime_id,)
        ingest = jobs["ingest-00:30"].trigger
        assert str(ingest.timezone) == "America/New_York"
        assert {f.name: str(f) for f in ingest.fields}["hour"] == "0"
        assert {f.name: str(f) for f in ingest.fields}["minute"] == "30"
        assert jobs["signals"].trigger.interval.total_seconds() == 30 * 60


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
