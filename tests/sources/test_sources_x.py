"""X recent search: retweets stand for their original once, multi-paper posts, paging, query batching."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import aiohttp

from bot.clock import ManualClock
from bot.sources.observations import JsonClient
from bot.sources.x import MAX_QUERY_LENGTH, XClient, build_queries, parse_recent_search
from tests.fixtures.engagement.recorded import NOW, load

ORIGINAL = "1415105016138846208"



def test_a_retweet_counts_as_its_original_and_never_again() -> None:
    page = parse_recent_search(load("x_search_page1.json"), NOW)
    by_id = {o.post_id: o for o in page.observations}
    assert ORIGINAL in by_id and "1415200000000000001" not in by_id
    assert dict(by_id[ORIGINAL].counts) == {"retweets": 2826, "likes": 217}
    assert by_id[ORIGINAL].url == f"https://x.com/chrisdonahuey/status/{ORIGINAL}"
    assert page.next_token == "b26v89c19zqg8o3fpds"


def test_a_tweet_linking_three_papers_counts_for_each() -> None:
    page = parse_recent_search(load("x_search_page1.json"), NOW)
    three = next(o for o in page.observations if o.post_id == "1415108414699618305")
    assert three.paper_ids == ("2107.06263", "2107.06278", "2107.06277")


def test_a_quote_tweet_without_a_paper_link_counts_for_nothing() -> None:
    page = parse_recent_search(load("x_search_page1.json"), NOW)
    assert "1415300000000000003" not in {o.post_id for o in page.observations}


def test_an_empty_result_has_no_data_key() -> None:
    page = parse_recent_search({"meta": {"result_count": 0}}, NOW)
    assert (page.observations, page.next_token) == ([], None)


def test_queries_cover_every_paper_within_the_length_limit() -> None:
    ids = [f"2107.{n:05d}" for n in range(1, 1501)]
    queries = build_queries(ids)
    assert all(len(query) <= MAX_QUERY_LENGTH for _, query in queries)
    assert [i for covered, _ in queries for i in covered] == ids
    assert re.findall(r'url:"([\d.]+)"', queries[0][1]) == queries[0][0]
    assert all(query.endswith("-is:retweet") for _, query in queries)
    assert len(queries) <= 75


async def test_next_token_paging_with_the_bearer(upstream) -> None:  # type: ignore[no-untyped-def]
    upstream.reply("/2/tweets/search/recent", load("x_search_page2.json"),
                   query={"next_token": "b26v89c19zqg8o3fpds"})
    upstream.reply("/2/tweets/search/recent", load("x_search_page1.json"))
    async with aiohttp.ClientSession() as session:
        client = JsonClient(session, ManualClock(NOW))
        x = XClient(client, upstream.url + "/2", "bearer-for-tests")
        posts = await x.search('(url:"2107.05677") -is:retweet', datetime(2021, 7, 13, tzinfo=UTC), NOW,
                               max_requests=5)
    requests = upstream.requests_to("/2/tweets/search/recent")
    assert [r.query.get("next_token") for r in requests] == [None, "b26v89c19zqg8o3fpds"]
    assert requests[0].headers["Authorization"] == "Bearer bearer-for-tests"
    assert requests[0].query["start_time"] == "2021-07-13T00:00:00Z"
    # The original arrives three times (twice as retweets, once itself); the refresh keeps one per post.
    assert {o.post_id for o in posts} == {ORIGINAL, "1415108414699618305"}
