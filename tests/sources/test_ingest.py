"""Ingesting the latest mailing: feeds from the replay server into a real store."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from bot.config import Settings
from bot.errors import UpstreamError
from bot.ingest import ingest_latest
from bot.sources.arxiv import ArxivClient
from bot.store import AsyncStore, Store
from tests.fakes.upstream import UpstreamServer
from tests.fixtures.arxiv.feeds import Item, big_feed, rss_feed

OWN = Path(__file__).resolve().parents[1] / "fixtures" / "arxiv"
NOW = datetime(2025, 11, 26, 10, 0, tzinfo=UTC)
RSS = "application/rss+xml"


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[AsyncStore]:
    store = AsyncStore(tmp_path / "papers.db")
    await store.open()
    yield store
    await store.close()


def client_for(upstream: UpstreamServer) -> ArxivClient:
    return ArxivClient(Settings(arxiv_api=upstream.url + "/api/query", arxiv_feeds=upstream.url + "/rss",
                                arxiv_interval=0))


async def test_recorded_feed_is_stored_and_a_rerun_changes_nothing(
        upstream: UpstreamServer, store: AsyncStore, shared_fixtures: Path) -> None:
    recorded = (shared_fixtures / "arxiv_rss" / "rss_quant-ph_2025-04-28.xml").read_bytes()
    upstream.reply("/rss/quant-ph", recorded, content_type=RSS)
    async with client_for(upstream) as arxiv:
        first = await ingest_latest(arxiv, store, ["quant-ph"], now=NOW)
        again = await ingest_latest(arxiv, store, ["quant-ph"], now=NOW)

    counts = first.mailings[date(2025, 4, 28)]
    assert (counts.new, counts.cross_listed) == (40, 10)
    assert counts.updated + counts.skipped == 31  # the 31 replacements
    assert first.requests == 1 and first.bad_entries == 0

    rerun = again.mailings[date(2025, 4, 28)]
    assert (rerun.new, rerun.updated, rerun.cross_listed, rerun.skipped) == (0, 0, 0, 81)

    held = await store.run(Store.mailing_papers, date(2025, 4, 28), ["quant-ph"])
    assert len(held) == 50  # the new and the cross-listed, not the replacements
    paper = await store.run(Store.paper, "2504.17830")
    assert paper is not None and paper.title == "Self-Adjoint Time Operator in a Weighted Energy Space"
    assert paper.mailing == date(2025, 4, 28)


async def test_followed_categories_share_one_request(upstream: UpstreamServer, store: AsyncStore) -> None:
    upstream.reply("/rss/cs.LG+cs.CV+cs.CL", rss_feed([
        Item("2511.00001", categories=("cs.LG", "cs.CV")),
        Item("2511.00002", categories=("cs.CL",)),
        Item("2511.00003", announce_type="cross", categories=("stat.ML", "cs.LG")),
    ]), content_type=RSS)
    async with client_for(upstream) as arxiv:
        report = await ingest_latest(arxiv, store, ["cs.LG", "cs.CV", "cs.CL"], now=NOW)
    assert len(upstream.requests) == 1 and report.requests == 1
    counts = report.mailings[date(2025, 11, 26)]
    # Papers, not listings: 2511.00001 (new in cs.LG, listed in cs.CV too) and 2511.00002 are new;
    # 2511.00003 is cross-listed.
    assert (counts.new, counts.cross_listed) == (2, 1)
    in_cv = await store.run(Store.mailing_papers, date(2025, 11, 26), ["cs.CV"])
    assert {p.id for p in in_cv} == {"2511.00001"}


async def test_holiday_feed_reports_no_mailing(upstream: UpstreamServer, store: AsyncStore) -> None:
    upstream.reply("/rss/cs.LG", (OWN / "holiday_empty.rss").read_bytes(), content_type=RSS)
    async with client_for(upstream) as arxiv:
        report = await ingest_latest(arxiv, store, ["cs.LG"], now=NOW)
    assert report.mailings == {} and report.empty_categories == ("cs.LG",)
    assert await store.run(Store.mailings) == []


async def test_bad_entries_are_counted_not_fatal(upstream: UpstreamServer, store: AsyncStore) -> None:
    no_id = "    <item>\n      <title>Lost</title>\n      <category>cs.LG</category>\n    </item>\n"
    upstream.reply("/rss/cs.LG", rss_feed([no_id, Item("2511.00001")]), content_type=RSS)
    async with client_for(upstream) as arxiv:
        report = await ingest_latest(arxiv, store, ["cs.LG"], now=NOW)
    assert report.bad_entries == 1
    assert report.mailings[date(2025, 11, 26)].new == 1


async def test_malformed_feed_stops_with_a_clear_error(upstream: UpstreamServer, store: AsyncStore) -> None:
    upstream.reply("/rss/cs.LG", (OWN / "malformed.rss").read_bytes(), content_type=RSS)
    async with client_for(upstream) as arxiv:
        with pytest.raises(UpstreamError, match="not well-formed XML"):
            await ingest_latest(arxiv, store, ["cs.LG"], now=NOW)
    assert await store.run(Store.mailings) == []


async def test_two_thousand_entries(upstream: UpstreamServer, store: AsyncStore) -> None:
    upstream.reply("/rss/cs.LG+cs.AI", big_feed(2000), content_type=RSS)
    async with client_for(upstream) as arxiv:
        report = await ingest_latest(arxiv, store, ["cs.LG", "cs.AI"], now=NOW)
    assert report.bad_entries == 0
    assert await store.run(Store.paper_count) == 2000
    # Four items in every six are new or cross (the rest are replacements): 4 × 333 + 2 = 1,334 announced.
    assert len(await store.run(Store.mailing_papers, date(2025, 11, 26), ["cs.LG", "cs.AI"])) == 1334
