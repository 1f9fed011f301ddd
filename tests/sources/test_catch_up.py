"""arXiv down when the bot first starts: the catch-up ingest tries again with backoff, not tomorrow."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from bot.clock import ManualClock
from bot.store import Store
from tests.fakes.discord import FakeDiscord
from tests.fakes.upstream import UpstreamServer
from tests.fixtures.arxiv.feeds import Item, rss_feed
from tests.harness import bot_settings, running_bot


async def test_arxiv_down_at_first_start_is_tried_again_until_a_mailing_is_stored(
        world: FakeDiscord, tmp_path: Path, upstream: UpstreamServer, caplog: pytest.LogCaptureFixture) -> None:
    for _ in range(4 * 2):  # two whole ingests (four tries each) meet a 503
        upstream.reply("/rss/cs.LG", b"down", status=503)
    upstream.reply("/rss/cs.LG", rss_feed([Item("2611.00001", title="Ingested at last")],
                                          pub="Wed, 25 Nov 2026 00:00:00 -0500"),
                   content_type="application/rss+xml")
    url = upstream.url
    settings = bot_settings(world, tmp_path / "fresh.db", HOTPAPERS_ARXIV_FEEDS=f"{url}/rss",
                            HOTPAPERS_HF_API=f"{url}/hf", HOTPAPERS_HN_API=f"{url}/hn",
                            HOTPAPERS_INGEST_CATEGORIES="cs.LG")
    clock = ManualClock(datetime(2026, 11, 26, 9, 0, tzinfo=UTC))
    caplog.set_level(logging.INFO, logger="bot.scheduler")
    async with running_bot(world, settings, clock) as bot:
        bot.scheduler.catch_up_soon(retry_delays=(0.01, 0.02))
        for _ in range(1000):  # it runs in the background; await its effect
            if await bot.store.run(Store.latest_mailing, ["cs.LG"]) is not None:
                break
            await asyncio.sleep(0.01)
        assert await bot.store.run(Store.latest_mailing, ["cs.LG"]) == date(2026, 11, 25)
    assert len(upstream.requests_to("/rss/cs.LG")) == 9
    retries = [r.getMessage() for r in caplog.records if "catch-up ingest failed" in r.getMessage()]
    assert retries == ["catch-up ingest failed; trying again in 0.01 s",
                       "catch-up ingest failed; trying again in 0.02 s"]
    assert not any(r.exc_info for r in caplog.records if r.name == "bot.scheduler")  # one line, no traceback
