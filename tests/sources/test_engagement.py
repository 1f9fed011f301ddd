"""The refresh: schedule, every source against a local upstream, failing soft, snapshots as of a moment."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from bot.clock import ManualClock
from bot.config import Settings
from bot.engagement import announced_at, mailings_due, plan_refresh, refresh_mailings
from bot.models import Announcement, Paper
from bot.ranking import rank
from bot.sources.observations import Observation
from bot.store import Store

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "engagement"
MAILING = date(2021, 7, 14)
NOW = datetime(2021, 7, 15, 12, 0, tzinfo=UTC)
IDS = ["2107.05677", "2107.06263", "2107.06278", "2107.06277", "2107.05768", "2107.05686", "2107.05944"]


def load(name: str) -> object:
    return json.loads((FIXTURES / name).read_text())


def paper(paper_id: str) -> Paper:
    return Paper(paper_id, 1, f"Paper {paper_id}", ("A. Author",), "Abstract.", "cs.LG", ("cs.LG", "stat.ML"))


@pytest.fixture
def store(tmp_path: Path):  # type: ignore[no-untyped-def]
    store = Store(tmp_path / "hotpapers.db")
    store.record_announcements(Announcement(paper(i), MAILING, "new", "cs.LG") for i in IDS)
    yield store
    store.close()


def settings_for(url: str, **changes: object) -> Settings:
    base = Settings(hf_api=url + "/hf", hn_api=url + "/hn", bluesky_api=url + "/xrpc", x_api=url + "/x",
                    bluesky_handle="hotpapers.bsky.social", bluesky_password="app-password",
                    x_bearer="bearer")
    return replace(base, signals=replace(base.signals, hf_days=2), **changes)  # type: ignore[arg-type]


def script_all_sources(upstream, *, skip: str | None = None) -> None:  # type: ignore[no-untyped-def]
    """Every source answering from its fixtures (except the path ``skip``, which a test scripts itself)."""
    replies = [
        ("/hf/daily_papers", load("hf_daily_papers_2021-07-15.json"), {"date": "2021-07-15"}),
        ("/hf/daily_papers", [], {"date": "2021-07-14"}),
        ("/hn/search_by_date", load("hn_search_by_date_page0.json"), {"page": "0"}),
        ("/hn/search_by_date", load("hn_search_by_date_page1.json"), {"page": "1"}),
        ("/xrpc/app.bsky.feed.searchPosts", load("bluesky_search_page2.json"), {"cursor": "c2"}),
        ("/xrpc/app.bsky.feed.searchPosts", load("bluesky_search_page1.json"), None),
        ("/x/tweets/search/recent", load("x_search_page2.json"), {"next_token": "b26v89c19zqg8o3fpds"}),
        ("/x/tweets/search/recent", load("x_search_page1.json"), None),
    ]
    for path, body, query in replies:
        if path != skip:
            upstream.reply(path, body, query=query)
    upstream.reply("/xrpc/com.atproto.server.createSession", load("bluesky_session.json"), method="POST")


# ---- schedule


def test_a_mailing_is_announced_at_8pm_eastern_the_evening_before() -> None:
    assert announced_at(date(2021, 7, 14)) == datetime(2021, 7, 14, 0, 0, tzinfo=UTC)  # EDT
    assert announced_at(date(2021, 12, 15)) == datetime(2021, 12, 15, 1, 0, tzinfo=UTC)  # EST


def test_refreshes_are_hourly_while_fresh_then_six_hourly_then_stop() -> None:
    settings = Settings()
    announced = announced_at(MAILING)

    def due(hours_after: float, minutes_since_last: float | None) -> bool:
        now = announced + timedelta(hours=hours_after)
        last = {} if minutes_since_last is None else {MAILING: now - timedelta(minutes=minutes_since_last)}
        return mailings_due(now, [MAILING], last, settings) == [MAILING]

    assert not due(-1, None)
    assert due(1, None)
    assert not due(10, 30) and due(10, 60)
    assert not due(40, 120) and due(40, 360)
    assert not due(24 * 8, None)


def test_plan_scans_hugging_face_days_from_the_mailing_and_bounds_lookups() -> None:
    settings = Settings()
    engaged = [f"2107.{n:05d}" for n in range(1, 100)]
    plan = plan_refresh([MAILING], engaged, engaged, settings, NOW)
    assert plan.hf_days == (date(2021, 7, 14), date(2021, 7, 15))  # not days still to come
    assert len(plan.fallback_ids) == 30 and plan.fallback_ids[0] == "2107.00001"
    assert plan.since == announced_at(MAILING) - timedelta(days=1)


# ---- snapshots


def observation(post: str, papers: tuple[str, ...], likes: int, at: datetime) -> Observation:
    url = f"https://x.com/i/web/status/{post}"
    return Observation("x", post, papers, {"retweets": 0, "likes": likes}, url, at)


def test_counts_as_of_a_moment_take_each_posts_latest_snapshot(store: Store) -> None:
    first, second = NOW, NOW + timedelta(hours=1)
    store.record_observations([observation("1", ("2107.05677",), 10, first),
                               observation("2", ("2107.05677", "2107.06263", "2107.06278"), 5, first)])
    store.record_observations([observation("1", ("2107.05677",), 25, second),
                               observation("1", ("2107.05677",), 25, second)])  # seen twice: counted once
    earlier = store.latest_signals(IDS, first)
    later = store.latest_signals(IDS, second)
    assert earlier["2107.05677"]["x"].counts == {"retweets": 0, "likes": 15}
    assert later["2107.05677"]["x"].counts == {"retweets": 0, "likes": 30}
    assert later["2107.05677"]["x"].url == "https://x.com/i/web/status/1"  # the most engaged post
    assert later["2107.06278"]["x"].counts == {"retweets": 0, "likes": 5}  # one post, three papers
    assert store.latest_signals(IDS, first - timedelta(seconds=1)) == {}
    history = store.signal_history("2107.05677")
    growth = [(moment, signals["x"].counts["likes"]) for moment, signals in history]
    assert growth == [(first, 15), (second, 30)]


# ---- the whole refresh


async def test_refresh_asks_every_source_dedups_posts_and_stores_snapshots(upstream, store) -> None:  # type: ignore[no-untyped-def]
    script_all_sources(upstream)
    settings = settings_for(upstream.url)
    refresh = await refresh_mailings(store, [MAILING], settings, ManualClock(NOW))

    reports = {source: (r.status, r.matched, r.requests, r.errors) for source, r in refresh.reports.items()}
    assert reports == {
        "hf": ("ok", 2, 2, []),
        "hn": ("ok", 4, 2, []),
        "bluesky": ("ok", 4, 3, []),
        "x": ("ok", 4, 2, []),
    }
    signals = store.latest_signals(IDS, NOW)
    # The original tweet arrived three times (itself and two retweets): counted once.
    assert signals["2107.05677"]["x"].counts == {"retweets": 2826, "likes": 217}
    # The Bluesky post on both pages counts once, with the counts of the last sighting.
    assert signals["2107.05677"]["bluesky"].counts == {
        "likes": 301, "reposts": 80, "quotes": 5, "replies": 12}
    assert signals["2107.05677"]["hf"].counts == {"upvotes": 41, "comments": 3}
    assert signals["2107.05677"]["hn"].url == "https://news.ycombinator.com/item?id=27830001"
    # 2107.05944 was in the mailing but nobody talked about it.
    assert "2107.05944" not in signals
    ranked = rank([paper(i) for i in IDS], signals, settings.ranking.weights, settings.ranking.min_score)
    assert ranked[0].paper.id == "2107.05677"
    assert ranked[0].score == (2826 + 217) + 5 * 41 + 120 + (301 + 80 + 5)


@pytest.mark.parametrize(("broken", "reply", "kind"), [
    ("hn", {"status": 503, "body": b"Service Unavailable"}, "down: HTTP 503"),
    ("bluesky", {"status": 403, "body": {"error": "Forbidden"}}, "unavailable: HTTP 403"),
    ("x", {"body": {"tweets": [], "paging": {}}}, "changed: recent search has no meta"),
    ("hf", {"status": 429, "body": {"error": "slow"}, "headers": {"Retry-After": "86400"}}, "rate-limited"),
])
async def test_one_source_failing_leaves_the_others_ranking(upstream, store, broken, reply, kind) -> None:  # type: ignore[no-untyped-def]
    path = {"hn": "/hn/search_by_date", "bluesky": "/xrpc/app.bsky.feed.searchPosts",
            "x": "/x/tweets/search/recent", "hf": "/hf/daily_papers"}[broken]
    script_all_sources(upstream, skip=path)
    upstream.reply(path, reply["body"], status=reply.get("status", 200), headers=reply.get("headers"))
    waits: list[float] = []

    async def record(seconds: float) -> None:
        waits.append(seconds)

    refresh = await refresh_mailings(store, [MAILING], settings_for(upstream.url), ManualClock(NOW),
                                     sleep=record)
    failed = refresh.reports[broken]
    assert failed.status == "failed" and failed.errors[0].startswith(kind)
    assert all(r.status == "ok" for source, r in refresh.reports.items() if source != broken)
    signals = store.latest_signals(IDS, NOW)
    assert broken not in signals["2107.05677"] and len(signals["2107.05677"]) == 3
    assert [r.status for r in store.signal_refreshes(limit=4)].count("failed") == 1


async def test_sources_without_credentials_or_weight_are_off_and_never_asked(upstream, store) -> None:  # type: ignore[no-untyped-def]
    script_all_sources(upstream)
    base = settings_for(upstream.url)
    settings = replace(base, x_bearer=None, bluesky_password=None,
                       ranking=replace(base.ranking, weights={**base.ranking.weights, "hn": 0.0}))
    refresh = await refresh_mailings(store, [MAILING], settings, ManualClock(NOW))
    statuses = {s: r.status for s, r in refresh.reports.items()}
    assert statuses == {"hf": "ok", "hn": "off", "bluesky": "off", "x": "off"}
    assert "HOTPAPERS_X_BEARER" in (refresh.reports["x"].off_reason or "")
    assert {r.path for r in upstream.requests} == {"/hf/daily_papers"}
    assert set(store.latest_signals(IDS, NOW)["2107.05677"]) == {"hf"}


# ---- the schedule, as the bot runs it


async def test_the_scheduled_job_refreshes_due_mailings_hourly_then_six_hourly_then_stops(upstream, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from bot import scheduler
    from bot.store import AsyncStore

    db = tmp_path / "bot.db"
    seeded = Store(db)
    seeded.record_announcements(Announcement(paper(i), MAILING, "new", "cs.LG") for i in IDS)
    seeded.close()
    script_all_sources(upstream)
    # Later refreshes also look engaged papers up one by one: no other HN story links them.
    upstream.reply("/hn/search", {"hits": [], "page": 0, "nbPages": 1})
    store = AsyncStore(db)
    await store.open()
    clock = ManualClock(announced_at(MAILING) + timedelta(hours=1))
    runtime = scheduler.Runtime(settings_for(upstream.url), clock, store, digests=None)  # type: ignore[arg-type]
    scheduler._RUNTIMES["signals-test"] = runtime

    async def run_at(hours_after: float) -> int:
        """Run the job at ``hours_after`` the announcement; returns the requests it made."""
        clock.set(announced_at(MAILING) + timedelta(hours=hours_after))
        before = len(upstream.requests)
        await scheduler.signals_job("signals-test")
        return len(upstream.requests) - before

    try:
        assert await run_at(1) > 0
        assert runtime.last_refreshed == {MAILING: clock.now()}
        assert await run_at(1.5) == 0  # fresh: hourly
        assert await run_at(2) > 0
        assert await run_at(37) > 0  # past fresh_hours (36): six-hourly
        assert await run_at(40) == 0
        assert await run_at(43) > 0
        assert await run_at(24 * 7 + 1) == 0  # past max_age_days: never again
        signals = await store.run(Store.latest_signals, IDS, clock.now())
        assert signals["2107.05677"]["x"].counts == {"retweets": 2826, "likes": 217}
        records = await store.run(Store.latest_signal_refreshes)
        assert [(r.source, r.status) for r in records] == [
            ("bluesky", "ok"), ("hf", "ok"), ("hn", "ok"), ("x", "ok")]
    finally:
        scheduler._RUNTIMES.pop("signals-test", None)
        await store.close()
