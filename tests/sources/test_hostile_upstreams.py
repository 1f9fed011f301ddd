"""Hostile upstreams: impossible counts, deep JSON, credential-carrying redirects, huge bodies, throttling.

Every source answers from the local replay server; the hostile payloads are written here, in the sources'
formats, with one value or one shape changed.
"""

from __future__ import annotations

import gzip
import json
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import aiohttp
import pytest

from bot.clock import ManualClock
from bot.config import Settings, SettingsError, load_settings
from bot.engagement import announced_at, refresh_mailings
from bot.errors import UpstreamError
from bot.models import Announcement
from bot.sources.arxiv import ArxivClient
from bot.sources.http import Pacer, PoliteHttp, RetryPolicy, Unavailable, for_a_person
from bot.sources.observations import MAX_COUNT, ImplausibleCount, count
from bot.store import Store
from tests.clocks import SteppedClock
from tests.fakes.upstream import Reply, UpstreamServer
from tests.sources import test_engagement
from tests.sources.test_engagement import IDS, MAILING, NOW, load, paper, script_all_sources, settings_for

store = test_engagement.store  # the fixture: a store holding the mailing's papers

MARK = "__HOSTILE__"
DEEP = b"[" * 200_000 + b"]" * 200_000


def _hf(payload: Any) -> None:
    for item in payload:
        if item["paper"]["id"] == "2107.05677":
            item["paper"]["upvotes"] = MARK


def _hn(payload: Any) -> None:
    for hit in payload["hits"]:
        if hit["objectID"] == "27830001":  # the story linking 2107.05677
            hit["points"] = MARK


def _bluesky(payload: Any) -> None:
    for post in payload["posts"]:
        if post["uri"].endswith("3k2aaaaaaaa2a"):  # the post linking 2107.05677
            post["likeCount"] = MARK


def _x(payload: Any) -> None:
    for tweet in [*payload.get("data", []), *payload.get("includes", {}).get("tweets", [])]:
        if tweet["id"] == "1415105016138846208":  # the original tweet linking 2107.05677
            tweet["public_metrics"]["like_count"] = MARK


# (source, the fixtures it answers with and their paths, the mutation that plants MARK)
HOSTILE_SOURCES: dict[str, tuple[list[tuple[str, str, dict[str, str] | None]], Callable[[Any], None]]] = {
    "hf": ([("/hf/daily_papers", "hf_daily_papers_2021-07-15.json", {"date": "2021-07-15"}),
            ("/hf/daily_papers", "", {"date": "2021-07-14"})], _hf),
    "hn": ([("/hn/search_by_date", "hn_search_by_date_page0.json", {"page": "0"}),
            ("/hn/search_by_date", "hn_search_by_date_page1.json", {"page": "1"})], _hn),
    "bluesky": ([("/xrpc/app.bsky.feed.searchPosts", "bluesky_search_page2.json", {"cursor": "c2"}),
                 ("/xrpc/app.bsky.feed.searchPosts", "bluesky_search_page1.json", None)], _bluesky),
    "x": ([("/x/tweets/search/recent", "x_search_page2.json", {"next_token": "b26v89c19zqg8o3fpds"}),
           ("/x/tweets/search/recent", "x_search_page1.json", None)], _x),
}
IMPLAUSIBLE = ["Infinity", "-Infinity", "NaN", "1e400", "1" + "0" * 30, "10000001", "-5"]


def plant(upstream: UpstreamServer, source: str, literal: str) -> None:
    """Script every source from its fixtures, ``source`` with ``literal`` in place of one post's count."""
    routes, mutate = HOSTILE_SOURCES[source]
    script_all_sources(upstream, skip=routes[0][0])
    for path, name, query in routes:
        payload = load(name) if name else []
        mutate(payload)
        upstream.reply(path, json.dumps(payload).replace(f'"{MARK}"', literal).encode(), query=query,
                       content_type="application/json")


async def no_wait(seconds: float) -> None:
    return None


@pytest.mark.parametrize("literal", IMPLAUSIBLE)
@pytest.mark.parametrize("source", list(HOSTILE_SOURCES))
async def test_an_implausible_count_leaves_that_post_out_and_the_rest_is_stored(
        upstream: UpstreamServer, store: Store, source: str, literal: str) -> None:
    plant(upstream, source, literal)
    refresh = await refresh_mailings(store, [MAILING], settings_for(upstream.url), ManualClock(NOW),
                                     sleep=no_wait)

    assert {s: r.status for s, r in refresh.reports.items()} == dict.fromkeys(HOSTILE_SOURCES, "ok")
    [note] = refresh.reports[source].errors
    assert "implausible count" in note
    signals = store.latest_signals(IDS, NOW)
    # The hostile post is not stored (so never ranked); the source's other posts and the other sources are.
    assert source not in signals["2107.05677"]
    assert set(signals["2107.05677"]) == set(HOSTILE_SOURCES) - {source}
    assert any(source in by_source for by_source in signals.values())
    assert all(0 <= value <= MAX_COUNT for by_source in signals.values() for signal in by_source.values()
               for value in signal.counts.values())
    stored = {r.source: r.errors for r in store.latest_signal_refreshes()}
    assert "implausible count" in stored[source][0]  # what `doctor` shows


@pytest.mark.parametrize(("body", "words"), [
    (DEEP, "nested too deeply"),
    (b'{"hits": [], "page": ' + b"9" * 5000 + b"}", "did not return JSON"),  # past Python's int digit limit
    (b"\xff\xfe not json", "did not return JSON"),
])
@pytest.mark.parametrize("source", list(HOSTILE_SOURCES))
async def test_unreadable_json_fails_that_source_alone(upstream: UpstreamServer, store: Store, source: str,
                                                       body: bytes, words: str) -> None:
    routes, _ = HOSTILE_SOURCES[source]
    script_all_sources(upstream, skip=routes[0][0])
    for path, _, query in routes:
        upstream.reply(path, body, query=query, content_type="application/json")
    refresh = await refresh_mailings(store, [MAILING], settings_for(upstream.url), ManualClock(NOW),
                                     sleep=no_wait)

    failed = refresh.reports[source]
    assert failed.status == "failed" and failed.errors[0].startswith("changed:") and words in failed.errors[0]
    assert all(r.status == "ok" for s, r in refresh.reports.items() if s != source)
    assert set(store.latest_signals(IDS, NOW)["2107.05677"]) == set(HOSTILE_SOURCES) - {source}


async def test_the_scheduled_refresh_stores_the_healthy_sources_every_time(upstream: UpstreamServer,
                                                                           tmp_path: Any) -> None:
    from bot import scheduler
    from bot.store import AsyncStore

    db = tmp_path / "bot.db"
    seeded = Store(db)
    seeded.record_announcements(Announcement(paper(i), MAILING, "new", "cs.LG") for i in IDS)
    seeded.close()
    plant(upstream, "hf", "Infinity")

    async def deep(request: Any) -> Reply:
        return Reply(body=DEEP)

    upstream.handle("/hn/search_by_date", deep, query={"page": "0"})  # Hacker News answers 200,000 deep
    store_ = AsyncStore(db)
    await store_.open()
    clock = ManualClock(announced_at(MAILING) + timedelta(hours=1))
    runtime = scheduler.Runtime(settings_for(upstream.url), clock, store_, digests=None)  # type: ignore[arg-type]
    scheduler._RUNTIMES["hostile-test"] = runtime
    try:
        for hours in (37, 43):  # a day and more after: Hugging Face featured the papers on 07-15
            clock.set(announced_at(MAILING) + timedelta(hours=hours))
            await scheduler.signals_job("hostile-test")
            records = await store_.run(Store.latest_signal_refreshes)
            assert [(r.source, r.status) for r in records] == [
                ("bluesky", "ok"), ("hf", "ok"), ("hn", "failed"), ("x", "ok")]
        signals = await store_.run(Store.latest_signals, IDS, clock.now())
        assert set(signals["2107.05677"]) == {"bluesky", "x"}
        assert "hf" in signals["2107.06263"]  # Hugging Face's healthy papers are stored
    finally:
        scheduler._RUNTIMES.pop("hostile-test", None)
        await store_.close()


@pytest.mark.parametrize("value", [float("inf"), float("nan"), -1, 10**30, MAX_COUNT + 1])
def test_count_refuses_what_cannot_be_engagement(value: float) -> None:
    with pytest.raises(ImplausibleCount):
        count(value)


def test_count_keeps_plausible_numbers_and_reads_odd_fields_as_zero() -> None:
    assert [count(v) for v in (0, 41, 12.0, MAX_COUNT, None, "12", True)] == [0, 41, 12, MAX_COUNT, 0, 0, 0]


# ---- redirects: credentials never go to another host


@pytest.fixture
async def elsewhere():  # type: ignore[no-untyped-def]
    """Another local server (another port): a host credentials must never reach."""
    async with UpstreamServer() as server:
        yield server


async def test_bluesky_login_is_not_reposted_to_another_host(upstream: UpstreamServer, elsewhere: UpstreamServer,
                                                             store: Store) -> None:
    script_all_sources(upstream)

    async def moved(request: Any) -> Reply:
        return Reply(307, headers={"Location": elsewhere.url + "/xrpc/com.atproto.server.createSession"})

    upstream.handle("/xrpc/com.atproto.server.createSession", moved, method="POST")
    elsewhere.reply("/xrpc/com.atproto.server.createSession", load("bluesky_session.json"), method="POST")
    refresh = await refresh_mailings(store, [MAILING], settings_for(upstream.url), ManualClock(NOW),
                                     sleep=no_wait)

    assert elsewhere.requests == []  # the app password went nowhere else
    report = refresh.reports["bluesky"]
    assert report.status == "failed" and report.errors[0].startswith("refused: refused a redirect to")
    assert len(upstream.requests_to("/xrpc/com.atproto.server.createSession")) == 1  # not retried
    assert all(r.status == "ok" for s, r in refresh.reports.items() if s != "bluesky")


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
async def test_the_x_bearer_is_not_sent_to_another_host(upstream: UpstreamServer, elsewhere: UpstreamServer,
                                                        store: Store, status: int) -> None:
    script_all_sources(upstream, skip="/x/tweets/search/recent")
    upstream.reply("/x/tweets/search/recent", b"", status=status,
                   headers={"Location": elsewhere.url + "/x/tweets/search/recent"})
    elsewhere.reply("/x/tweets/search/recent", load("x_search_page2.json"))
    refresh = await refresh_mailings(store, [MAILING], settings_for(upstream.url), ManualClock(NOW),
                                     sleep=no_wait)
    assert elsewhere.requests == []
    assert refresh.reports["x"].status == "failed"


async def test_a_same_host_redirect_is_followed_with_credentials(upstream: UpstreamServer,
                                                                 store: Store) -> None:
    script_all_sources(upstream, skip="/x/tweets/search/recent")
    upstream.reply("/x/tweets/search/recent", b"", status=307, headers={"Location": "/x/moved"})
    upstream.reply("/x/moved", load("x_search_page2.json"))
    refresh = await refresh_mailings(store, [MAILING], settings_for(upstream.url), ManualClock(NOW),
                                     sleep=no_wait)
    assert refresh.reports["x"].status == "ok"
    assert upstream.requests_to("/x/moved")[0].headers["Authorization"] == "Bearer bearer"


async def test_a_request_without_credentials_may_follow_a_redirect_elsewhere(
        upstream: UpstreamServer, elsewhere: UpstreamServer) -> None:
    upstream.reply("/feed", b"", status=301, headers={"Location": elsewhere.url + "/feed"})
    elsewhere.reply("/feed", b"moved here")
    async with aiohttp.ClientSession() as session:
        response = await PoliteHttp(session, service="Example", pacer=Pacer()).get(upstream.url + "/feed")
    assert response.body == b"moved here"
    assert "Authorization" not in elsewhere.requests[0].headers


async def test_a_redirect_loop_is_refused(upstream: UpstreamServer) -> None:
    upstream.reply("/loop", b"", status=302, headers={"Location": "/loop"})
    async with aiohttp.ClientSession() as session:
        with pytest.raises(Unavailable, match="more than 5 redirects"):
            await PoliteHttp(session, service="Example", pacer=Pacer()).get(upstream.url + "/loop")


# ---- the body cap


@pytest.mark.parametrize("headers", [{}, {"Content-Encoding": "gzip"}])
async def test_a_body_over_the_cap_is_refused_at_once(upstream: UpstreamServer, headers: dict[str, str]) -> None:
    big = b"<rss>" + b" " * (3 * 2**20) + b"</rss>"
    # Plain: refused by its Content-Length. Gzip: 3 KB on the wire, refused while it inflates.
    upstream.reply("/rss/cs.LG", gzip.compress(big) if headers else big, headers=headers,
                   content_type="application/rss+xml")
    async with aiohttp.ClientSession() as session:
        http = PoliteHttp(session, service="arXiv", pacer=Pacer(), max_body=2**20)
        with pytest.raises(Unavailable) as failure:
            await http.get(upstream.url + "/rss/cs.LG")
    assert failure.value.kind == "refused"
    assert str(failure.value).startswith("arXiv is unavailable: a response")
    assert "over the 1 MB cap on a response ([http] max_body_mb); refused" in str(failure.value)
    assert len(upstream.requests_to("/rss/cs.LG")) == 1  # a refusal is not retried


async def test_an_engagement_body_over_the_cap_fails_that_source(upstream: UpstreamServer, store: Store) -> None:
    script_all_sources(upstream, skip="/hn/search_by_date")
    upstream.reply("/hn/search_by_date", b'{"hits": [], "pad": "' + b"x" * (2 * 2**20) + b'"}')
    settings = load_settings(env={"HOTPAPERS_HTTP_MAX_BODY_MB": "1"}, dotenv=None)
    refresh = await refresh_mailings(store, [MAILING], settings_for(upstream.url, http=settings.http),
                                     ManualClock(NOW), sleep=no_wait)
    assert refresh.reports["hn"].status == "failed"
    assert refresh.reports["hn"].errors[0].startswith("refused: a response of 2 MB is over the 1 MB cap")


def test_max_body_mb_is_a_setting_refused_when_absurd() -> None:
    assert load_settings(env={}, dotenv=None).http.max_body == 32 * 2**20
    for bad in ("0", "inf", "nan", "-3", "lots"):
        with pytest.raises(SettingsError, match=r"^setting HOTPAPERS_HTTP_MAX_BODY_MB: "):
            load_settings(env={"HOTPAPERS_HTTP_MAX_BODY_MB": bad}, dotenv=None)


# ---- bounded waits


@pytest.mark.parametrize("value", ["inf", "-inf", "nan", "NaN", "-1", "1e400"])
def test_a_non_finite_or_negative_arxiv_interval_is_a_bad_setting(value: str) -> None:
    with pytest.raises(SettingsError) as failure:
        load_settings(env={"HOTPAPERS_ARXIV_INTERVAL": value}, dotenv=None)
    assert str(failure.value).startswith("setting HOTPAPERS_ARXIV_INTERVAL: ") and "\n" not in str(failure.value)


PERSON = for_a_person(RetryPolicy(attempts=4, backoff=3.0, max_backoff=60.0, max_retry_after=120.0,
                                  timeout=30.0))


@pytest.mark.parametrize(("retry_after", "waits", "tries", "says"), [
    ("10", [10.0, 10.0], 3, "try again in 10 s"),  # three tries, 20 s of waiting: inside 25 s
    ("12.5", [12.5], 2, "try again in 13 s"),  # a second 12.5 s wait would pass the 25 s bound
    ("300", [], 1, "try again in 5 min"),  # longer than a person should wait: say so at once
    ("", [3.0, 6.0], 3, "try again in 1 min"),  # no hint: back off 3 s, 6 s, then say when
])
async def test_a_person_waits_at_most_the_deadline_then_hears_when_to_retry(
        upstream: UpstreamServer, retry_after: str, waits: list[float], tries: int, says: str) -> None:
    upstream.reply("/api/query", b"slow down", status=429,
                   headers={"Retry-After": retry_after} if retry_after else {})
    clock = SteppedClock()
    async with aiohttp.ClientSession() as session:
        http = PoliteHttp(session, service="arXiv", retry=PERSON,
                          pacer=Pacer(monotonic=clock.monotonic, sleep=clock.sleep))
        with pytest.raises(Unavailable) as failure:
            await http.get(upstream.url + "/api/query")
    assert clock.waits == pytest.approx(waits) and sum(clock.waits) <= PERSON.deadline  # type: ignore[operator]
    assert len(upstream.requests_to("/api/query")) == tries
    assert str(failure.value).endswith(says)


async def test_a_silent_server_is_given_up_on_within_the_deadline(upstream: UpstreamServer) -> None:
    upstream.reply("/api/query", b"late", delay=10.0)
    retry = for_a_person(RetryPolicy(attempts=4, backoff=0.01), deadline=1.0)
    started = time.monotonic()
    async with aiohttp.ClientSession() as session:
        with pytest.raises(Unavailable, match=r"no answer within 0.5 s after 1 try; try again in 1 min$"):
            await PoliteHttp(session, service="arXiv", retry=retry, pacer=Pacer()).get(upstream.url + "/api/query")
    assert time.monotonic() - started < 8.0  # long before the server's 10 s answer


async def test_the_bots_patient_policy_still_waits_out_a_throttle(upstream: UpstreamServer,
                                                                  shared_fixtures: Any) -> None:
    upstream.reply("/rss/cs.LG", b"slow down", status=429, headers={"Retry-After": "90"})
    upstream.reply("/rss/cs.LG", b"Rate exceeded.", content_type="text/plain")
    upstream.reply("/rss/cs.LG", (shared_fixtures / "arxiv_rss" / "rss_quant-ph_2025-04-28.xml").read_bytes(),
                   content_type="application/rss+xml")
    clock = SteppedClock()
    settings = Settings(arxiv_feeds=upstream.url + "/rss", arxiv_interval=3.0)
    async with ArxivClient(settings, pacer=Pacer(monotonic=clock.monotonic, sleep=clock.sleep)) as arxiv:
        await arxiv.announcements(["cs.LG"])
    assert clock.waits == pytest.approx([90.0, 6.0])  # the server's 90 s, then backoff: beyond a person's 30 s


def test_unavailable_is_an_upstream_error_naming_the_service() -> None:
    failure = Unavailable("arXiv", "rate-limited", "HTTP 429", tries=2, retry_in=3600)
    assert isinstance(failure, UpstreamError)
    assert str(failure) == "arXiv is unavailable: HTTP 429 after 2 tries; try again in 1 h"
