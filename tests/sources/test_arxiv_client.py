"""The arXiv client against a local server replaying recorded arXiv responses and scripted failures."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from bot.clock import ManualClock
from bot.config import Settings
from bot.errors import InvalidPaperId, NotFound, UpstreamError
from bot.sources.arxiv import ArxivClient, feed_groups
from bot.sources.arxiv_parse import ArxivApiError
from bot.sources.http import Pacer, PoliteHttp, RetryPolicy, retry_after_seconds
from tests.clocks import SteppedClock
from tests.fakes.upstream import Reply, UpstreamServer
from tests.fixtures.arxiv.feeds import Item, rss_feed

OWN = Path(__file__).resolve().parents[1] / "fixtures" / "arxiv"
ATOM = "application/atom+xml"
SINGLE = "single_newstyle_1605.08386.xml"
FAST = RetryPolicy(attempts=3, backoff=0.01, max_backoff=0.05, max_retry_after=30.0, timeout=2.0)


def settings_for(upstream: UpstreamServer, interval: float = 0.0) -> Settings:
    return Settings(arxiv_api=upstream.url + "/api/query", arxiv_feeds=upstream.url + "/rss",
                    arxiv_interval=interval)


def recorded(shared: Path, name: str) -> bytes:
    return (shared / "arxiv_api" / name).read_bytes()


def cassette(shared: Path, name: str) -> bytes:
    return str(json.loads((shared / "arxiv_api" / "arxivpy_cassettes_2026" / name).read_text())["body"]
               ).encode("latin-1")


class RecordingSleep:
    """Stands in for asyncio.sleep in a Pacer: remembers each wait and yields at once."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        await asyncio.sleep(0)


# ---- the query API


async def test_paper_by_id(upstream: UpstreamServer, shared_fixtures: Path) -> None:
    upstream.reply("/api/query", recorded(shared_fixtures, SINGLE), content_type=ATOM,
                   query={"id_list": "1605.08386"})
    async with ArxivClient(settings_for(upstream)) as arxiv:
        paper = await arxiv.paper("https://arxiv.org/abs/1605.08386")
    assert (paper.id, paper.title) == ("1605.08386", "Heat-bath random walks with Markov bases")
    assert paper.authors == ("Caprice Stanley", "Tobias Windisch")
    [request] = upstream.requests_to("/api/query")
    assert request.query["id_list"] == "1605.08386"
    assert "hotpapers" in request.headers["User-Agent"]


async def test_paper_from_the_2016_format(upstream: UpstreamServer, shared_fixtures: Path) -> None:
    upstream.reply("/api/query", recorded(shared_fixtures, "arxivpy_2016/id_list_1111.2011v2.xml"),
                   content_type=ATOM)
    async with ArxivClient(settings_for(upstream)) as arxiv:
        paper = await arxiv.paper("1111.2011v2")
    assert (paper.id, paper.version, paper.primary_category) == ("1111.2011", 2, "cond-mat.str-el")
    assert upstream.requests_to("/api/query")[0].query["id_list"] == "1111.2011v2"


async def test_error_feed_becomes_a_clear_error(upstream: UpstreamServer, shared_fixtures: Path) -> None:
    upstream.reply("/api/query", recorded(shared_fixtures, "error_malformed_id_abc_http400.xml"), status=400,
                   content_type=ATOM)
    async with ArxivClient(settings_for(upstream), retry=FAST) as arxiv:
        with pytest.raises(ArxivApiError, match="incorrect id format for abc"):
            await arxiv.query(id_list=["abc"])
        with pytest.raises(InvalidPaperId, match=r"arXiv does not accept '2107\.05677'.*incorrect id format"):
            await arxiv.paper("2107.05677")
    assert len(upstream.requests_to("/api/query")) == 2  # a 400 is an answer, not worth a retry


async def test_unknown_id_is_not_found(upstream: UpstreamServer, shared_fixtures: Path) -> None:
    upstream.reply("/api/query", recorded(shared_fixtures, "empty_nonexistent_id_0000.0000.xml"),
                   content_type=ATOM)
    async with ArxivClient(settings_for(upstream)) as arxiv:
        with pytest.raises(NotFound, match=r"2501\.99999"):
            await arxiv.paper("2501.99999")


async def test_id_list_with_a_bad_id_returns_the_good_one(upstream: UpstreamServer,
                                                          shared_fixtures: Path) -> None:
    upstream.reply("/api/query", recorded(shared_fixtures, "idlist_two_ids_one_invalid.xml"),
                   content_type=ATOM)
    async with ArxivClient(settings_for(upstream)) as arxiv:
        papers = await arxiv.papers(["2501.99999", "1707.08567", "0808.05394"])
    assert [p.id for p in papers] == ["1707.08567"]
    # 0808.05394 cannot exist (five digits before 1501): it is left out before asking.
    assert upstream.requests_to("/api/query")[0].query["id_list"] == "2501.99999,1707.08567"


async def test_many_ids_are_fetched_in_chunks(upstream: UpstreamServer, shared_fixtures: Path) -> None:
    upstream.reply("/api/query", recorded(shared_fixtures, "empty_nonexistent_id_0000.0000.xml"),
                   content_type=ATOM)
    ids = [f"2501.{n:05d}" for n in range(1, 251)]
    async with ArxivClient(settings_for(upstream)) as arxiv:
        await arxiv.papers(ids, chunk=100)
    sent = [r.query["id_list"].split(",") for r in upstream.requests_to("/api/query")]
    assert [len(part) for part in sent] == [100, 100, 50]
    assert [i for part in sent for i in part] == ids


async def test_search_pages_through_results(upstream: UpstreamServer, shared_fixtures: Path) -> None:
    for start, name in ((0, "q_testing_s0_m10_bc5a6c384fe9.json"),
                        (10, "q_testing_s10_m10_34e56e15aaac.json"),
                        (20, "q_testing_s20_m10_348a237fecab.json")):
        upstream.reply("/api/query", cassette(shared_fixtures, name), content_type=ATOM,
                       query={"start": str(start)})
    async with ArxivClient(settings_for(upstream)) as arxiv:
        papers = await arxiv.search("all:testing", limit=25, page_size=10)
    assert len(papers) == 25
    first_of_second_page = (await _page(shared_fixtures, "q_testing_s10_m10_34e56e15aaac.json"))[0]
    assert papers[10].id == first_of_second_page
    sent = [(r.query["start"], r.query["max_results"], r.query["search_query"])
            for r in upstream.requests_to("/api/query")]
    assert sent == [("0", "10", "all:testing"), ("10", "10", "all:testing"), ("20", "5", "all:testing")]


async def _page(shared: Path, name: str) -> list[str]:
    from bot.sources.arxiv_parse import parse_api_feed

    return [p.id for p in parse_api_feed(cassette(shared, name)).papers]


async def test_search_stops_at_the_total(upstream: UpstreamServer, shared_fixtures: Path) -> None:
    upstream.reply("/api/query", recorded(shared_fixtures, "arxivpy_2016/search_query_au_del_maestro.xml"),
                   content_type=ATOM)
    async with ArxivClient(settings_for(upstream)) as arxiv:
        papers = await arxiv.search("au:del_maestro", limit=10)
    assert len(papers) == 10 and len(upstream.requests_to("/api/query")) == 1


async def test_page_size_above_the_api_limit_is_refused(upstream: UpstreamServer) -> None:
    async with ArxivClient(settings_for(upstream)) as arxiv:
        with pytest.raises(ValueError, match="2000"):
            await arxiv.query(search_query="all:x", max_results=2001)


# ---- politeness: retries


async def test_503_with_retry_after_is_honoured(upstream: UpstreamServer, shared_fixtures: Path) -> None:
    upstream.reply("/api/query", b"busy", status=503, headers={"Retry-After": "7"})
    upstream.reply("/api/query", recorded(shared_fixtures, SINGLE), content_type=ATOM)
    sleep = RecordingSleep()
    async with ArxivClient(settings_for(upstream), retry=FAST, pacer=Pacer(sleep=sleep)) as arxiv:
        paper = await arxiv.paper("1605.08386")
    assert paper.id == "1605.08386"
    assert len(upstream.requests_to("/api/query")) == 2
    assert len(sleep.waits) == 1 and 6.5 < sleep.waits[0] <= 7.0


async def test_a_retry_after_longer_than_the_policy_allows_gives_up_at_once_saying_when(
        upstream: UpstreamServer, shared_fixtures: Path) -> None:
    upstream.reply("/api/query", b"slow down", status=429, headers={"Retry-After": "86400"})
    upstream.reply("/api/query", recorded(shared_fixtures, SINGLE), content_type=ATOM)
    sleep = RecordingSleep()
    async with ArxivClient(settings_for(upstream), retry=FAST, pacer=Pacer(sleep=sleep)) as arxiv:
        with pytest.raises(UpstreamError, match=r"HTTP 429, Retry-After 86400 s after 1 try; try again in 24 h$"):
            await arxiv.paper("1605.08386")
    # Waiting less than the server asked would only earn another 429.
    assert sleep.waits == [] and len(upstream.requests_to("/api/query")) == 1


async def test_rate_exceeded_body_is_retried(upstream: UpstreamServer, shared_fixtures: Path) -> None:
    upstream.reply("/api/query", (OWN / "rate_exceeded.txt").read_bytes(), content_type="text/plain")
    upstream.reply("/api/query", recorded(shared_fixtures, SINGLE), content_type=ATOM)
    async with ArxivClient(settings_for(upstream), retry=FAST) as arxiv:
        paper = await arxiv.paper("1605.08386")
    assert paper.id == "1605.08386" and len(upstream.requests_to("/api/query")) == 2


async def test_connection_reset_and_timeout_are_retried(upstream: UpstreamServer,
                                                        shared_fixtures: Path) -> None:
    upstream.reply("/api/query", drop=True)
    upstream.reply("/api/query", b"late", delay=1.0)
    upstream.reply("/api/query", recorded(shared_fixtures, SINGLE), content_type=ATOM)
    retry = RetryPolicy(attempts=3, backoff=0.01, timeout=0.3)
    async with ArxivClient(settings_for(upstream), retry=retry) as arxiv:
        paper = await arxiv.paper("1605.08386")
    assert paper.id == "1605.08386" and len(upstream.requests_to("/api/query")) == 3


async def test_gives_up_after_the_last_try_naming_arxiv(upstream: UpstreamServer) -> None:
    upstream.reply("/api/query", b"down", status=503)
    async with ArxivClient(settings_for(upstream), retry=FAST) as arxiv:
        with pytest.raises(UpstreamError, match=r"^arXiv is unavailable: HTTP 503 after 3 tries; try again in 1 min$"):
            await arxiv.paper("1605.08386")
    assert len(upstream.requests_to("/api/query")) == 3


async def test_persistent_rate_exceeded_gives_up(upstream: UpstreamServer) -> None:
    upstream.reply("/rss/cs.LG", b"Rate exceeded.", content_type="text/plain")
    async with ArxivClient(settings_for(upstream), retry=FAST) as arxiv:
        with pytest.raises(UpstreamError, match="arXiv is unavailable: rate limited"):
            await arxiv.announcements(["cs.LG"])


async def test_unreachable_server_is_an_upstream_error() -> None:
    settings = Settings(arxiv_api="http://127.0.0.1:9/api/query", arxiv_interval=0)
    async with ArxivClient(settings, retry=FAST) as arxiv:
        with pytest.raises(UpstreamError, match="arXiv is unavailable: connection failed"):
            await arxiv.paper("1605.08386")


def test_retry_after_as_seconds_or_http_date() -> None:
    now = datetime(2025, 11, 26, 12, 0, tzinfo=UTC)
    assert retry_after_seconds("120", now) == 120.0
    assert retry_after_seconds(format_datetime(now + timedelta(seconds=90), usegmt=True), now) == 90.0
    assert retry_after_seconds(format_datetime(now - timedelta(hours=1), usegmt=True), now) == 0.0
    assert retry_after_seconds("soon", now) is None
    assert retry_after_seconds(None, now) is None


async def test_retry_after_http_date_is_waited_from_the_clock(upstream: UpstreamServer) -> None:
    clock = ManualClock(datetime(2025, 11, 26, 12, 0, tzinfo=UTC))
    later = format_datetime(clock.now() + timedelta(seconds=12), usegmt=True)
    upstream.reply("/x", b"busy", status=503, headers={"Retry-After": later})
    upstream.reply("/x", b"fine")
    sleep = RecordingSleep()
    async with aiohttp.ClientSession() as session:
        http = PoliteHttp(session, service="Example", retry=FAST, pacer=Pacer(sleep=sleep), clock=clock)
        response = await http.get(upstream.url + "/x")
    assert response.body == b"fine"
    assert len(sleep.waits) == 1 and 11.5 < sleep.waits[0] <= 12.0


# ---- politeness: pacing


async def test_api_and_feed_requests_of_separate_clients_are_the_interval_apart(
        upstream: UpstreamServer, shared_fixtures: Path) -> None:
    upstream.reply("/api/query", recorded(shared_fixtures, SINGLE), content_type=ATOM)
    upstream.reply("/rss/cs.LG", rss_feed([Item("2511.00001")]), content_type="application/rss+xml")
    settings = settings_for(upstream, interval=3.0)
    clock = SteppedClock()
    async with (ArxivClient(settings, monotonic=clock.monotonic, sleep=clock.sleep) as lookups,
                ArxivClient(settings, monotonic=clock.monotonic, sleep=clock.sleep) as ingest):
        await lookups.paper("1605.08386")
        await ingest.announcements(["cs.LG"])
        await lookups.paper("1605.08386")
        await ingest.announcements(["cs.LG"])
    # No pacer was handed in: both clients found the process's one arXiv pacer, and each request after the
    # first waited the whole interval (the clock only moves when the pacer sleeps).
    assert [r.path for r in upstream.requests] == ["/api/query", "/rss/cs.LG"] * 2
    assert clock.waits == pytest.approx([3.0, 3.0, 3.0])


async def test_a_retry_after_delays_the_other_clients_requests_too(
        upstream: UpstreamServer, shared_fixtures: Path) -> None:
    upstream.reply("/api/query", b"busy", status=503, headers={"Retry-After": "20"})
    upstream.reply("/api/query", recorded(shared_fixtures, SINGLE), content_type=ATOM)
    upstream.reply("/rss/cs.LG", rss_feed([Item("2511.00001")]), content_type="application/rss+xml")
    settings = settings_for(upstream, interval=3.0)
    clock = SteppedClock()
    async with (ArxivClient(settings, retry=FAST, monotonic=clock.monotonic, sleep=clock.sleep) as lookups,
                ArxivClient(settings, monotonic=clock.monotonic, sleep=clock.sleep) as ingest):
        await asyncio.gather(lookups.paper("1605.08386"), ingest.announcements(["cs.LG"]))
    # The 503 came first; whichever request went next waited the server's 20 s, not just the interval.
    assert upstream.requests[0].path == "/api/query"
    assert len(upstream.requests) == 3
    assert clock.waits[0] == pytest.approx(20.0) and all(w >= 3.0 for w in clock.waits)


async def test_the_shared_pacer_keeps_the_clock_of_its_first_user(upstream: UpstreamServer,
                                                                  shared_fixtures: Path) -> None:
    upstream.reply("/api/query", recorded(shared_fixtures, SINGLE), content_type=ATOM)
    settings = settings_for(upstream)
    clock = SteppedClock()
    async with (ArxivClient(settings, monotonic=clock.monotonic, sleep=clock.sleep) as first,
                ArxivClient(settings) as second):
        await first.paper("1605.08386")
        with pytest.raises(ValueError, match="the shared arXiv pacer already runs on another clock"):
            await second.paper("1605.08386")
    assert len(upstream.requests) == 1


async def test_one_request_at_a_time_across_clients_api_and_feeds(upstream: UpstreamServer,
                                                                 shared_fixtures: Path) -> None:
    in_flight = 0
    most = 0
    api_body = recorded(shared_fixtures, SINGLE)
    feed_body = rss_feed([Item("2511.00001")])

    async def hold(answer: Reply) -> Reply:
        nonlocal in_flight, most
        in_flight += 1
        most = max(most, in_flight)
        await asyncio.sleep(0.02)  # long enough for an impolite client to start another request meanwhile
        in_flight -= 1
        return answer

    async def api(request: web.Request) -> Reply:
        return await hold(Reply(body=api_body, content_type=ATOM))

    async def feed(request: web.Request) -> Reply:
        return await hold(Reply(body=feed_body, content_type="application/rss+xml"))

    upstream.handle("/api/query", api)
    upstream.handle("/rss/cs.LG", feed)
    settings = settings_for(upstream)
    async with ArxivClient(settings) as first, ArxivClient(settings) as second:
        await asyncio.gather(first.announcements(["cs.LG"]), second.paper("1605.08386"),
                             first.paper("1605.08386"), second.announcements(["cs.LG"]))
    assert len(upstream.requests) == 4
    assert most == 1


# ---- feeds


async def test_announcements_of_several_categories_in_one_request(upstream: UpstreamServer) -> None:
    upstream.reply("/rss/cs.LG+cs.AI", rss_feed([Item("2511.00001", categories=("cs.AI", "cs.LG"))]),
                   content_type="application/rss+xml")
    async with ArxivClient(settings_for(upstream)) as arxiv:
        feed = await arxiv.announcements(["cs.LG", "cs.AI"])
    assert {(a.feed_category, a.announce_type) for a in feed.announcements} == {("cs.AI", "new"),
                                                                              ("cs.LG", "cross")}
    assert len(upstream.requests) == 1


async def test_missing_feed_is_an_upstream_error(upstream: UpstreamServer) -> None:
    upstream.reply("/rss/cs.XX", b"no such feed", status=404)
    async with ArxivClient(settings_for(upstream)) as arxiv:
        with pytest.raises(UpstreamError, match=r"no announcement feed for cs\.XX"):
            await arxiv.announcements(["cs.XX"])


def test_feed_groups_pack_categories_under_the_length_cap() -> None:
    assert feed_groups(["cs.LG", "cs.CV", "cs.CL"]) == [("cs.LG", "cs.CV", "cs.CL")]
    groups = feed_groups([f"math.C{n}" for n in range(10)], max_path=30)
    assert all(len("+".join(g)) <= 30 for g in groups)
    assert [c for g in groups for c in g] == [f"math.C{n}" for n in range(10)]
    assert len(groups) == 4  # 3 codes of 7 characters fit in 23 ≤ 30; 4 would need 31
