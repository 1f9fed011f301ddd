"""Open feeds and pages: what each address serves (:class:`Publisher`, on the store's thread) and the small
aiohttp server in the bot process (:class:`WebServer`, off unless ``[web] port`` is set).

Addresses (``base`` is ``[web] base_url``):

- ``/`` — the recent mailings; ``/m/YYYY-MM-DD`` and ``/m/YYYY-MM-DD/<category>`` — a mailing's ranking;
- ``/feeds/<category>.rss|.atom|.json`` — the daily ranking of a category or archive (``cs.LG``, ``cs``), the
  top papers of each of the recent mailings;
- ``/feeds/guild/<id>.rss|.atom|.json?key=<key>`` — a server's digest (each of its channel digests' choice),
  only for servers with a digest. The key is an HMAC of the server id under a secret kept in the store: server
  ids are not secret (anyone in a server can copy one) and which papers a private server follows is its own
  business, so its feed is readable only by those its admins give the address to (``/feeds`` shows it).

Pages and feeds rank with the one ranking ``hotpapers top`` uses (:func:`bot.cli.top.ranked_mailing`).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from aiohttp import web

from bot import feeds, site, taxonomy
from bot.cli.top import ranked_mailing
from bot.digest import build_digest
from bot.errors import HotPapersError
from bot.mailing import parse_mailing_date
from bot.models import RankedPaper
from bot.store import Store

if TYPE_CHECKING:
    from bot.clock import Clock
    from bot.config import Settings
    from bot.store import AsyncStore

log = logging.getLogger(__name__)

FEED_MAILINGS = 5  # a feed holds the ranking of this many recent mailings
FEED_PAPERS = 10  # the top papers of each
PAGE_PAPERS = 100  # a page shows at most this many
INDEX_MAILINGS = 30
SECRET_KEY = "web_feed_secret"
# Counts change a few times an hour: an answer is fresh for a minute; after that the next reader still gets it
# at once while a fresh one is ranked in the background (only an address's first reader waits for the store).
CACHE_SECONDS = 60.0
MAX_CACHED = 2000
# The recent mailings' rankings are kept warm by a background task, re-ranked every WARM_SECONDS (about 30 ms of
# the store's thread per mailing); any other mailing's ranking is reused for RANKING_SECONDS.
WARM_SECONDS = 50.0
RANKING_SECONDS = 60.0

_FEED = re.compile(r"/feeds/(?P<name>[A-Za-z0-9.\-]{1,40})\.(?P<ext>rss|atom|json)")
_GUILD_FEED = re.compile(r"/feeds/guild/(?P<id>\d{1,20})\.(?P<ext>rss|atom|json)")
_PAGE = re.compile(r"/m/(?P<day>\d{4}-\d{2}-\d{2})(?:/(?P<category>[A-Za-z0-9.\-]{1,40}))?/?")
HTML = "text/html; charset=utf-8"


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    content_type: str
    body: bytes


def _missing(what: str) -> Answer:
    return Answer(404, "text/plain; charset=utf-8", f"Not found: {what}\n".encode())


def guild_key(secret: str, guild_id: int) -> str:
    """The key of a server's feed: unguessable without the secret, the same for every request."""
    return hmac.new(secret.encode(), str(guild_id).encode(), hashlib.sha256).hexdigest()[:32]


def feed_secret(store: Store) -> str:
    """The secret guild feed keys are made with, created on first use."""
    secret = store.meta(SECRET_KEY)
    if secret is None:
        secret = secrets.token_hex(32)
        store.set_meta(SECRET_KEY, secret)
    return secret


class Publisher:
    """Answers an address from the store. Its methods run on the store's thread (``store`` is a :class:`Store`)."""

    def __init__(self, settings: Settings, base_url: str) -> None:
        self.settings = settings
        self.base = base_url.rstrip("/")
        self._days: dict[date, tuple[datetime, list[RankedPaper]]] = {}

    # ---- the data

    def _ranked(self, store: Store, mailing: date, category: str | None, now: datetime) -> list[RankedPaper]:
        """The mailing's ranking (in ``category``, numbered within it). A mailing is ranked once a minute
        (``now`` tells) and every category's view is taken from it: the same order ``ranked_mailing`` gives
        for the category, since dropping papers from a ranking keeps the others' order."""
        cached = self._days.get(mailing)
        if cached is None or abs((now - cached[0]).total_seconds()) >= RANKING_SECONDS:
            cached = (now, ranked_mailing(store, self.settings, mailing, None, now).papers)
            if len(self._days) >= 64:
                self._days.clear()
            self._days[mailing] = cached
        if category is None:
            return cached[1]
        wanted = [category]
        return [replace(r, rank=number) for number, r in enumerate(
            (r for r in cached[1] if taxonomy.matches(r.paper.categories, wanted)), start=1)]

    def warm(self, store: Store, now: datetime) -> int:
        """Rank the mailings the feeds show afresh (so a reader never waits for them); returns how many."""
        days = self.recent_mailings(store, FEED_MAILINGS)
        for day in days:
            self._days.pop(day, None)
            self._ranked(store, day, None, now)
        return len(days)

    def recent_mailings(self, store: Store, count: int, category: str | None = None) -> list[date]:
        latest = store.latest_mailing([category] if category else None)
        if latest is None:
            return []
        return [day for day in store.mailings()[-count * 3:] if day <= latest][::-1][:count]

    def feed_links(self, name: str) -> list[tuple[str, str]]:
        return [(f"{name} {label}", f"{self.base}/feeds/{name}.{ext}") for ext, label in feeds.LABELS.items()]

    def category_feed(self, store: Store, category: str, ext: str, now: datetime) -> feeds.Feed:
        days = [(day, self._ranked(store, day, category, now)[:FEED_PAPERS])
                for day in self.recent_mailings(store, FEED_MAILINGS, category)]
        return self._feed(store, category, f"Hot Papers · {category}",
                          f"The most engaged arXiv papers in {category} ({taxonomy.category_name(category)}), "
                          "each mailing", f"{self.base}/m/{days[0][0].isoformat()}/{category}/" if days
                          else f"{self.base}/", f"{self.base}/feeds/{category}.{ext}", days, now)

    def guild_feed(self, store: Store, guild_id: int, ext: str, key: str, now: datetime) -> feeds.Feed | None:
        """The feed of a server's digests, or None when it has none or ``key`` is wrong."""
        digests = store.channel_digests(guild_id)
        if not digests or not hmac.compare_digest(key, guild_key(feed_secret(store), guild_id)):
            return None
        wanted = sorted({c for d in digests for c in d.categories})
        days = []
        for day in self.recent_mailings(store, FEED_MAILINGS):
            ranked = self._ranked(store, day, None, now)
            chosen: dict[str, RankedPaper] = {}
            for cfg in digests:
                min_score = cfg.min_score if cfg.min_score is not None else self.settings.ranking.min_score
                for paper in build_digest(day, ranked, categories=cfg.categories, size=cfg.size,
                                          min_score=min_score).papers:
                    chosen.setdefault(paper.paper.id, paper)
            days.append((day, [r for r in ranked if r.paper.id in chosen]))
        return self._feed(store, f"guild-{guild_id}", "Hot Papers · this server's digest",
                          "The papers this Discord server's digest picks: " + ", ".join(wanted),
                          f"{self.base}/", f"{self.base}/feeds/guild/{guild_id}.{ext}", days, now)

    def _feed(self, store: Store, key: str, title: str, description: str, link: str, self_url: str,
              days: list[tuple[date, list[RankedPaper]]], now: datetime) -> feeds.Feed:
        items = feeds.items_of(days)
        updated = store.last_observed([i.ranked.paper.id for i in items], now) if items else None
        newest = max((feeds.item_date(i) for i in items), default=None)
        return feeds.Feed(key, title, description, link, self_url, updated or newest or now, items)

    def mailing_page(self, store: Store, day: date, category: str | None, now: datetime) -> site.MailingPage:
        ranked = self._ranked(store, day, category, now)[:PAGE_PAPERS]
        as_of = store.last_observed([r.paper.id for r in ranked], now) if ranked else None
        return site.MailingPage(day, category, tuple(ranked), as_of,
                                self.feed_links(category) if category else (), f"{self.base}/")

    def categories(self) -> list[str]:
        """The followed categories ([ingest] categories): the index links their pages and feeds."""
        return [taxonomy.canonical_category(c) for c in self.settings.ingest.categories]

    def index(self, store: Store, count: int = INDEX_MAILINGS) -> bytes:
        links = [link for c in self.categories() for link in self.feed_links(c)]
        return site.index_html(self.recent_mailings(store, count), self.categories(), self.base, links)

    # ---- addresses

    def answer(self, store: Store, path: str, key: str, now: datetime) -> Answer:
        """What ``path`` serves (``key``: a guild feed's ``?key=``)."""
        if path in ("/", "/index.html"):
            return Answer(200, HTML, self.index(store))
        if match := _GUILD_FEED.fullmatch(path):
            feed = self.guild_feed(store, int(match["id"]), match["ext"], key, now)
            if feed is None:
                return _missing("no such server feed (ask the server's admins for its address: /feeds)")
            return self._feed_answer(feed, match["ext"])
        if match := _FEED.fullmatch(path):
            try:
                code = taxonomy.canonical_category(match["name"])
            except HotPapersError as exc:
                return _missing(str(exc))
            return self._feed_answer(self.category_feed(store, code, match["ext"], now), match["ext"])
        if match := _PAGE.fullmatch(path):
            day = parse_mailing_date(match["day"])
            category: str | None = None
            if match["category"]:
                try:
                    category = taxonomy.canonical_category(match["category"])
                except HotPapersError as exc:
                    return _missing(str(exc))
            if day is None or not store.mailing_papers(day):
                return _missing(f"no mailing of {match['day']} is stored")
            return Answer(200, HTML, site.mailing_html(self.mailing_page(store, day, category, now)))
        return _missing(path[:100])

    @staticmethod
    def _feed_answer(feed: feeds.Feed, ext: str) -> Answer:
        content_type, render = feeds.FORMATS[ext]
        return Answer(200, content_type, render(feed))


class WebServer:
    """The feeds and pages over HTTP, in the bot's process; answers are cached (see :data:`CACHE_SECONDS`)."""

    def __init__(self, settings: Settings, store: AsyncStore, clock: Clock,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        web_settings = settings.web
        self.host, self.port = web_settings.host, web_settings.port
        self.publisher = Publisher(settings, web_settings.base_url or f"http://{self.host}:{self.port}")
        self.store, self.clock, self.monotonic = store, clock, monotonic
        self._cache: dict[tuple[str, str], tuple[float, Answer]] = {}
        self._refreshing: set[tuple[str, str]] = set()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._runner: web.AppRunner | None = None

    async def handle(self, request: web.Request) -> web.Response:
        cache_key = (request.path, request.query.get("key", ""))
        cached = self._cache.get(cache_key)
        if cached is None:
            answer = await self._compute(cache_key)
        else:
            answer = cached[1]
            if self.monotonic() - cached[0] >= CACHE_SECONDS and cache_key not in self._refreshing:
                # Stale: answer at once with what we have, and rank afresh in the background.
                self._refreshing.add(cache_key)
                task = asyncio.create_task(self._compute(cache_key))
                self._tasks.add(task)
                task.add_done_callback(lambda done: self._done(done, cache_key))
        return web.Response(status=answer.status, body=answer.body, headers={
            "Content-Type": answer.content_type, "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src https:"})

    def _done(self, task: asyncio.Task[Any], cache_key: tuple[str, str]) -> None:
        self._tasks.discard(task)
        self._refreshing.discard(cache_key)

    async def _compute(self, cache_key: tuple[str, str]) -> Answer:
        """Answer from the store, and keep a successful answer for the next readers."""
        path, key = cache_key
        try:
            answer = await self.store.run(serve, self.publisher, path, key, self.clock.now())
        except HotPapersError as exc:
            return Answer(503, "text/plain; charset=utf-8", f"{exc}\n".encode())
        if answer.status == 200:
            if len(self._cache) >= MAX_CACHED:
                self._cache.clear()
            self._cache[cache_key] = (self.monotonic(), answer)
        return answer

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/{tail:.*}", self.handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, self.host, self.port).start()
        self._tasks.add(asyncio.create_task(self._keep_warm()))
        log.info("feeds and pages at %s/", self.publisher.base)

    async def _keep_warm(self) -> None:
        while True:
            try:
                await self.store.run(warm_rankings, self.publisher, self.clock.now())
            except Exception:  # never let a bad row stop the server; the next round tries again
                log.warning("could not rank the recent mailings for the feeds", exc_info=True)
            await asyncio.sleep(WARM_SECONDS)

    async def stop(self) -> None:
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None


def warm_rankings(store: Store, publisher: Publisher, now: datetime) -> int:
    """:meth:`Publisher.warm`, for :meth:`AsyncStore.run` (which passes the store first)."""
    return publisher.warm(store, now)


def serve(store: Store, publisher: Publisher, path: str, key: str, now: datetime) -> Answer:
    """``publisher``'s answer to ``path``, for :meth:`AsyncStore.run` (which passes the store first)."""
    return publisher.answer(store, path, key, now)
