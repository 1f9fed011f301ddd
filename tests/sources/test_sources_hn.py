"""Hacker News via Algolia: stories linking arXiv papers, paging, URL forms, rate limits."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import pytest

from bot.clock import ManualClock
from bot.sources.hackernews import HackerNewsClient, parse_search
from bot.sources.observations import FormatChanged, JsonClient, SourceError
from tests.fixtures.engagement.recorded import NOW, load


def test_recorded_url_search_envelope_parses_and_links_no_paper(shared_fixtures: Path) -> None:
    payload = json.loads((shared_fixtures / "hn_algolia" /
                          "hn_algolia_search_url_query_shazow_communal.json").read_text())
    page = parse_search(payload, NOW)
    assert (page.observations, page.page, page.pages) == ([], 0, 1)


def test_stories_map_every_url_form_to_canonical_ids() -> None:
    first = parse_search(load("hn_search_by_date_page0.json"), NOW)
    second = parse_search(load("hn_search_by_date_page1.json"), NOW)
    stories = first.observations + second.observations
    found = {o.post_id: (o.paper_ids, dict(o.counts), o.url) for o in stories}
    assert found == {
        "27830001": (("2107.05677",), {"points": 120, "comments": 48},
                     "https://news.ycombinator.com/item?id=27830001"),
        "27830002": (("2107.06263",), {"points": 35, "comments": 7},
                     "https://news.ycombinator.com/item?id=27830002"),
        # An alphaxiv link in the URL and a huggingface.co/papers link in the text: the story counts for both.
        "27840001": (("2107.06277", "2107.05686"), {"points": 22, "comments": 5},
                     "https://news.ycombinator.com/item?id=27840001"),
    }
    assert (first.page, first.pages, second.page) == (0, 2, 1)


def test_a_hit_without_points_is_a_format_change() -> None:
    payload = load("hn_search_by_date_page0.json")
    assert isinstance(payload, dict)
    del payload["hits"][0]["points"]
    with pytest.raises(FormatChanged):
        parse_search(payload, NOW)
    with pytest.raises(FormatChanged):
        parse_search({"results": []}, NOW)


async def test_bulk_query_follows_pages_until_nbpages(upstream) -> None:  # type: ignore[no-untyped-def]
    upstream.reply("/api/v1/search_by_date", load("hn_search_by_date_page0.json"), query={"page": "0"})
    upstream.reply("/api/v1/search_by_date", load("hn_search_by_date_page1.json"), query={"page": "1"})
    async with aiohttp.ClientSession() as session:
        client = JsonClient(session, ManualClock(NOW))
        stories = await HackerNewsClient(client, upstream.url + "/api/v1").stories_since(
            datetime(2021, 7, 13, tzinfo=UTC), NOW)
    assert sorted(o.post_id for o in stories) == ["27830001", "27830002", "27840001"]
    requests = upstream.requests_to("/api/v1/search_by_date")
    assert [r.query["page"] for r in requests] == ["0", "1"]
    assert requests[0].query["restrictSearchableAttributes"] == "url"
    assert requests[0].query["numericFilters"] == "created_at_i>1626134400"


async def test_429_waits_as_long_as_retry_after_says_then_succeeds(upstream) -> None:  # type: ignore[no-untyped-def]
    upstream.reply("/api/v1/search", {"message": "rate limited"}, status=429, headers={"Retry-After": "7"})
    upstream.reply("/api/v1/search", load("hn_search_by_date_page1.json") | {"page": 0, "nbPages": 1})
    waits: list[float] = []

    async def record(seconds: float) -> None:
        waits.append(seconds)

    async with aiohttp.ClientSession() as session:
        client = JsonClient(session, ManualClock(NOW), sleep=record)
        stories = await HackerNewsClient(client, upstream.url + "/api/v1").stories_of("2107.06277", NOW)
    assert waits == [7.0]
    assert [o.post_id for o in stories] == ["27840001"]
    assert upstream.requests_to("/api/v1/search")[0].query["query"] == "2107.06277"


async def test_429_asking_for_too_long_a_wait_is_reported_rate_limited(upstream) -> None:  # type: ignore[no-untyped-def]
    upstream.reply("/api/v1/search", {"message": "slow down"}, status=429, headers={"Retry-After": "3600"})
    waits: list[float] = []

    async def record(seconds: float) -> None:
        waits.append(seconds)

    async with aiohttp.ClientSession() as session:
        client = JsonClient(session, ManualClock(NOW), sleep=record, max_wait=60)
        with pytest.raises(SourceError) as failure:
            await HackerNewsClient(client, upstream.url + "/api/v1").stories_of("2107.06277", NOW)
    assert failure.value.kind == "rate-limited" and "3600" in str(failure.value)
    assert waits == [] and len(upstream.requests_to("/api/v1/search")) == 1


@pytest.mark.parametrize(("url", "paper_id"), [
    ("https://arxiv.org/abs/2107.05677", "2107.05677"),
    ("https://arxiv.org/abs/2107.05677v3", "2107.05677"),
    ("https://arxiv.org/pdf/2107.05677v2.pdf", "2107.05677"),
    ("http://export.arxiv.org/pdf/2107.05677", "2107.05677"),
    ("https://arxiv.org/html/2107.05677v1", "2107.05677"),
    ("https://arxiv.org/abs/hep-th/9901001v2", "hep-th/9901001"),
    ("https://arxiv.org/pdf/math.GT/0309136", "math/0309136"),
    ("https://www.alphaxiv.org/abs/2107.05677", "2107.05677"),
    ("https://huggingface.co/papers/2107.05677", "2107.05677"),
])
def test_a_story_under_any_url_form_counts_for_the_canonical_id(url: str, paper_id: str) -> None:
    payload = {"hits": [{"objectID": "1", "url": url, "points": 10, "num_comments": 2}], "page": 0, "nbPages": 1}
    [story] = parse_search(payload, NOW).observations
    assert story.paper_ids == (paper_id,)
