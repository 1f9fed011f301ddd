"""Engagement benchmarks: the bot's own CPU for 10,000 posts, and the requests one 1,500-paper refresh costs.

``python -m bench signals``. The CPU figure covers what the bot does itself: mapping posts to arXiv ids
(parsing the sources' JSON pages), storing the snapshots, reading them back as of now and scoring. The request
figure refreshes a 1,500-paper mailing against the local upstream server (realistic volumes: ~50 Hugging Face
papers a day, ~40 HN stories, Bluesky posts beyond its page cap, one X page per query), 100 papers already
engaged so the per-paper fallbacks run at their cap.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from collections import Counter
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from aiohttp import web

from bot.clock import ManualClock
from bot.config import Settings
from bot.engagement import refresh_mailings
from bot.models import Announcement, Paper
from bot.ranking import rank
from bot.sources.bluesky import parse_search_posts
from bot.sources.hackernews import parse_search
from bot.sources.huggingface import parse_daily_papers
from bot.sources.observations import Observation
from bot.sources.x import parse_recent_search
from bot.store import Store
from tests.fakes.upstream import Reply, UpstreamServer

MAILING = date(2026, 11, 25)
NOW = datetime(2026, 11, 25, 18, 0, tzinfo=UTC)
PAPERS = [f"2611.{n:05d}" for n in range(1, 1501)]


def _paper(paper_id: str) -> Paper:
    return Paper(paper_id, 1, f"Paper {paper_id}", ("A. Author",), "Abstract.", "cs.LG", ("cs.LG",))


def _tweet(n: int) -> dict[str, Any]:
    ids = [PAPERS[n % 1500]] + ([PAPERS[(n * 7) % 1500]] if n % 10 == 0 else [])
    return {"id": str(10**18 + n), "text": "new paper!", "author_id": str(n % 300),
            "public_metrics": {"retweet_count": n % 50, "like_count": n % 200, "reply_count": 1,
                               "quote_count": 0},
            "entities": {"urls": [{"expanded_url": f"https://arxiv.org/abs/{i}v1"} for i in ids]}}


def _bluesky_post(n: int) -> dict[str, Any]:
    paper_id = PAPERS[(n * 3) % 1500]
    return {"uri": f"at://did:plc:user{n % 500}/app.bsky.feed.post/3k{n:010d}", "cid": "bafy",
            "author": {"did": f"did:plc:user{n % 500}", "handle": f"user{n % 500}.bsky.social"},
            "record": {"text": f"read this arxiv.org/abs/{paper_id[:8]}...", "facets": [{"features": [
                {"$type": "app.bsky.richtext.facet#link", "uri": f"https://arxiv.org/abs/{paper_id}"}]}]},
            "likeCount": n % 90, "repostCount": n % 20, "quoteCount": 1, "replyCount": 2}


def _hn_hit(n: int) -> dict[str, Any]:
    return {"objectID": str(40_000_000 + n), "url": f"https://arxiv.org/pdf/{PAPERS[(n * 11) % 1500]}.pdf",
            "title": "A paper", "points": n % 300, "num_comments": n % 40, "story_text": None}


def _hf_item(n: int) -> dict[str, Any]:
    return {"paper": {"id": PAPERS[(n * 13) % 1500], "upvotes": n % 60, "title": "A paper"},
            "numComments": n % 5}


def cpu_for_posts(total: int = 10_000) -> dict[str, float]:
    """CPU seconds to map, store and score ``total`` posts (a quarter from each source)."""
    quarter = total // 4
    x_pages = [{"data": [_tweet(n) for n in range(start, start + 100)], "meta": {"result_count": 100}}
               for start in range(0, quarter, 100)]
    bluesky_pages = [{"posts": [_bluesky_post(n) for n in range(start, start + 100)], "cursor": "c"}
                     for start in range(0, quarter, 100)]
    hn_pages = [{"hits": [_hn_hit(n) for n in range(start, min(start + 1000, quarter))],
                 "page": 0, "nbPages": 1}
                for start in range(0, quarter, 1000)]
    hf_pages = [[_hf_item(n) for n in range(start, start + 100)] for start in range(0, quarter, 100)]
    figures: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(Path(tmp) / "bench.db")
        store.record_announcements(Announcement(_paper(i), MAILING, "new", "cs.LG") for i in PAPERS)
        papers = store.mailing_papers(MAILING)

        started = time.process_time()
        observations: list[Observation] = []
        for page in x_pages:
            observations += parse_recent_search(page, NOW).observations
        for page in bluesky_pages:
            observations += parse_search_posts(page, NOW).observations
        for page in hn_pages:
            observations += parse_search(page, NOW).observations
        for items in hf_pages:
            observations += parse_daily_papers(items, NOW)
        mapped = time.process_time()
        store.record_observations(observations, PAPERS)
        stored = time.process_time()
        signals = store.latest_signals(PAPERS, NOW + timedelta(minutes=1))
        ranked = rank(papers, signals, Settings().ranking.weights, 50)
        scored = time.process_time()
        store.close()
    figures["posts"] = len(observations)
    figures["mapping"] = mapped - started
    figures["storing"] = stored - mapped
    figures["reading+scoring"] = scored - stored
    figures["total"] = scored - started
    figures["ranked"] = len(ranked)
    return figures


async def requests_for_refresh() -> dict[str, int]:
    """Requests each source receives for one refresh of a 1,500-paper mailing."""
    async with UpstreamServer() as upstream:
        async def hf_day(request: web.Request) -> Reply:
            import json

            offset = date.fromisoformat(request.query["date"]).toordinal()
            items = [_hf_item(offset * 50 + n) for n in range(50)]
            return Reply(body=json.dumps(items).encode(), content_type="application/json")

        async def bluesky_page(request: web.Request) -> Reply:
            import json

            page = int(request.query.get("cursor", "0"))
            body = {"posts": [_bluesky_post(page * 100 + n) for n in range(100)], "cursor": str(page + 1)}
            return Reply(body=json.dumps(body).encode(), content_type="application/json")

        upstream.handle("/hf/daily_papers", hf_day)
        upstream.reply("/hf/papers/{id}", {"id": PAPERS[0], "upvotes": 1})
        upstream.reply("/hn/search_by_date",
                       {"hits": [_hn_hit(n) for n in range(40)], "page": 0, "nbPages": 1})
        upstream.reply("/hn/search", {"hits": [], "page": 0, "nbPages": 0})
        upstream.reply("/xrpc/com.atproto.server.createSession", {"accessJwt": "token"}, method="POST")
        upstream.handle("/xrpc/app.bsky.feed.searchPosts", bluesky_page)
        upstream.reply("/x/tweets/search/recent", {"data": [_tweet(n) for n in range(100)],
                                                   "meta": {"result_count": 100}})
        settings = Settings(hf_api=upstream.url + "/hf", hn_api=upstream.url + "/hn",
                            bluesky_api=upstream.url + "/xrpc", x_api=upstream.url + "/x",
                            bluesky_handle="bench.bsky.social", bluesky_password="pw", x_bearer="bearer")
        settings = replace(settings, signals=replace(settings.signals, hf_days=5))
        with tempfile.TemporaryDirectory() as tmp:
            store = Store(Path(tmp) / "bench.db")
            store.record_announcements(Announcement(_paper(i), MAILING, "new", "cs.LG") for i in PAPERS)
            store.record_observations(
                Observation("x", f"old-{i}", (paper_id,), {"retweets": 10, "likes": 50}, "https://x.com/i",
                            NOW)
                for i, paper_id in enumerate(PAPERS[:100]))
            clock = ManualClock(NOW + timedelta(days=4))  # all five Hugging Face days are in the past
            refresh = await refresh_mailings(store, [MAILING], settings, clock)
            store.close()
        by_source = Counter(request.path.split("/")[1] for request in upstream.requests)
        for source, report in refresh.reports.items():
            print(f"   {source:<8} status={report.status:<7} queried={report.queried:>5} "
                  f"matched={report.matched:>5} requests={report.requests:>3} {'; '.join(report.errors)}")
        return {"hf": by_source["hf"], "hn": by_source["hn"], "bluesky": by_source["xrpc"],
                "x": by_source["x"]}


def main() -> None:
    figures = cpu_for_posts()
    print(f"CPU for {int(figures['posts']):,} posts (mapped to papers): mapping {figures['mapping']:.3f} s, "
          f"storing {figures['storing']:.3f} s, reading+scoring {figures['reading+scoring']:.3f} s, "
          f"total {figures['total']:.3f} s (budget 1 s); {int(figures['ranked'])} papers ranked")
    print("Requests for one refresh of a 1,500-paper mailing:")
    counts = asyncio.run(requests_for_refresh())
    limits = {"hf": "undocumented (be gentle)", "hn": "10,000/hour per IP", "bluesky": "3,000/5 min per IP",
              "x": "60/15 min (Basic)"}
    for source, requests in counts.items():
        print(f"   {source:<8} {requests:>4} requests   limit {limits[source]}")
