"""What ``/paper`` and ``/top`` ask of the bot: one paper (from the store, else from arXiv and kept), keyword
searches a page at a time, title suggestions, and a mailing's ranking. No Discord here: the cogs render.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import aiohttp

from bot import ranking
from bot.config import Settings
from bot.errors import HotPapersError, NotFound, UpstreamError
from bot.ids import EXAMPLES, ArxivId, looks_like_arxiv_id, parse_arxiv_id
from bot.mailing import parse_mailing_date
from bot.models import Paper, RankedPaper, SourceSignal
from bot.search.query import ParsedQuery, parse
from bot.search.rank import Hit, describe, tied_at_top, with_citations
from bot.search_query import words
from bot.store import AsyncStore, Store
from bot.taxonomy import canonical_category
from bot.text import strip_invisible

log = logging.getLogger(__name__)

MAX_QUERY = 300  # characters of a keyword query
PAGE_SIZE = 5
MAX_PAGES = 5
ARXIV_DEADLINE = 20.0  # seconds a /paper waits for arXiv before saying it is unreachable (≤ 15 min allowed)
GOOD_MATCH = 0.75  # share of the query's weight the best stored result must hold, else arXiv is asked
ARXIV_RESULTS = 10  # results of the one arXiv search request
ARXIV_QUERY_WORDS = 8
# Hits looked at for a tie at the top: asking the store for 50 keeps its candidate set what a page asks for.
TIE_POOL = 50
CITATIONS_FRESH = timedelta(days=30)  # citation counts older than this are fetched again for a tie
HELP = (f"Give an arXiv id or link ({EXAMPLES}) or a few keywords, such as `diffusion transformer` "
        f"(at most {MAX_QUERY} characters).")


_ALMOST_ID = re.compile(r"\d{4}\.\d{1,6}(?:v\d+)?", re.ASCII)  # 2411.9: a mistyped id, not keywords


class BadQuery(HotPapersError, ValueError):
    """A /paper query that is neither an id nor searchable words; the message shows what works."""


@dataclass(frozen=True, slots=True)
class PaperQuery:
    """A checked /paper query: an id to show, or keywords to search."""

    arxiv_id: ArxivId | None = None
    keywords: str | None = None


def parse_query(text: str) -> PaperQuery:
    """Decide what a /paper query is, before anything slow happens; raises BadQuery with what works."""
    value = text.strip()
    if not value:
        raise BadQuery(f"That query is empty. {HELP}")
    if len(value) > MAX_QUERY:
        raise BadQuery(f"That query is {len(value):,} characters long. {HELP}")
    if looks_like_arxiv_id(value) or _ALMOST_ID.fullmatch(value):
        try:
            return PaperQuery(arxiv_id=parse_arxiv_id(value))
        except HotPapersError as exc:
            raise BadQuery(f"{exc}. Or search with a few keywords instead.") from None
    if not words(value):
        raise BadQuery(f"{value[:40]!r} has no words to search for. {HELP}")
    return PaperQuery(keywords=" ".join(value.split()))


@dataclass(frozen=True, slots=True)
class PaperView:
    paper: Paper
    signals: dict[str, SourceSignal]


def _incomplete(paper: Paper, arxiv_id: ArxivId) -> bool:
    """A feed-only record (no dates) or an older version than the one asked for: worth asking arXiv."""
    return paper.published is None or (arxiv_id.version is not None and arxiv_id.version > paper.version)


async def stored_paper(store: AsyncStore, arxiv_id: ArxivId, now: datetime, *, complete: bool = True
                       ) -> PaperView | None:
    """The paper from the store alone: None when absent or, with ``complete``, when worth refreshing from arXiv
    (a feed-only record); ``complete=False`` takes whatever is stored (a paper picked from a results list)."""
    paper = await store.run(Store.paper, arxiv_id.id)
    if paper is None or (complete and _incomplete(paper, arxiv_id)):
        return None
    return PaperView(paper, (await store.run(Store.latest_signals, [paper.id], now)).get(paper.id, {}))


async def find_paper(store: AsyncStore, settings: Settings, arxiv_id: ArxivId, now: datetime, *,
                     session: aiohttp.ClientSession | None = None, deadline: float = ARXIV_DEADLINE
                     ) -> PaperView:
    """The paper from the store, or fetched from arXiv (and kept). Raises NotFound for an id arXiv does
    not have and UpstreamError, with a message for people, when arXiv cannot be reached in time."""
    from bot.sources.arxiv import ArxivClient, default_retry
    from bot.sources.http import RetryPolicy

    paper = await store.run(Store.paper, arxiv_id.id)
    if paper is None or _incomplete(paper, arxiv_id):
        base = default_retry(settings.arxiv_interval)
        # Completing a stored paper is a nicety: one quick try, then show what is stored.
        retry = RetryPolicy(attempts=3 if paper is None else 1, backoff=base.backoff, max_backoff=8.0,
                            max_retry_after=8.0, timeout=min(deadline, 10.0))
        try:
            client = ArxivClient(settings, session=session, retry=retry)
            async with asyncio.timeout(deadline), client as arxiv:
                fetched = await arxiv.paper(ArxivId(arxiv_id.id))
        except NotFound:
            if paper is None:
                raise NotFound(f"arXiv has no paper {arxiv_id.id}. Check the id, or search with keywords."
                               ) from None
        except (UpstreamError, TimeoutError, aiohttp.ClientError) as exc:
            log.warning("arXiv lookup of %s failed: %s", arxiv_id.id, exc)
            if paper is None:
                raise UpstreamError(
                    f"arXiv is not answering right now, so I could not fetch {arxiv_id.id}. "
                    "Please try again in a few minutes.") from None
        else:
            await store.run(Store.upsert_papers, [fetched])
            paper = await store.run(Store.paper, arxiv_id.id) or fetched
    assert paper is not None
    signals = await store.run(Store.latest_signals, [paper.id], now)
    return PaperView(paper, signals.get(paper.id, {}))


@dataclass(frozen=True, slots=True)
class SearchPage:
    query: str
    hits: tuple[Hit, ...]
    page: int  # from 0
    has_next: bool
    from_arxiv: bool = False  # the store had nothing good: these are arXiv's own results (now stored)

    @property
    def papers(self) -> tuple[Paper, ...]:
        return tuple(hit.paper for hit in self.hits)

    @property
    def start(self) -> int:
        return self.page * PAGE_SIZE + 1


async def search_page(store: AsyncStore, query: str, page: int, now: datetime,
                      weights: Mapping[str, float] | None = None, *, settings: Settings | None = None,
                      session: aiohttp.ClientSession | None = None) -> SearchPage:
    """One page of keyword results (``PAGE_SIZE`` papers, at most ``MAX_PAGES`` pages). Given ``settings``,
    a first page whose best stored match is not good asks arXiv's own search instead (one request)."""
    page = max(0, min(page, MAX_PAGES - 1))
    wanted = (page + 1) * PAGE_SIZE + 1
    found = await ranked_hits(store, query, wanted, now, weights, settings=settings if page == 0 else None,
                              session=session)
    if page == 0 and settings is not None and (not found or found[0].coverage < GOOD_MATCH):
        from_arxiv = await arxiv_search(store, settings, query, session=session)
        if from_arxiv:
            return SearchPage(query, tuple(from_arxiv[:PAGE_SIZE]), 0, False, from_arxiv=True)
    hits = tuple(found[page * PAGE_SIZE:(page + 1) * PAGE_SIZE])
    has_next = len(found) > (page + 1) * PAGE_SIZE and page + 1 < MAX_PAGES
    return SearchPage(query, hits, page, has_next)


async def ranked_hits(store: AsyncStore, query: str, limit: int, now: datetime,
                      weights: Mapping[str, float] | None = None, *, settings: Settings | None = None,
                      session: aiohttp.ClientSession | None = None) -> list[Hit]:
    """The best ``limit`` stored matches. Given ``settings`` with Semantic Scholar on, a near-tie at the top
    (papers whose text scores are within the tie-breaker's reach of the best) is broken by citations: the tied
    papers' counts not fetched within CITATIONS_FRESH are asked for in one request (at most a couple of
    seconds), kept, and the results ordered again (the text is not scored again). Without counts (source off,
    down, throttled) the results are what they would be without the feature."""
    found = await store.run(Store.search_hits, query, limit=max(limit, TIE_POOL), now=now, weights=weights)
    if settings is None or not settings.s2_api:
        return found[:limit]
    tied = [hit.paper.id for hit in tied_at_top(found)]
    if len(tied) < 2:
        return found[:limit]
    fresh = await store.run(Store.citation_counts, tied, fetched_since=now - CITATIONS_FRESH)
    missing = [paper_id for paper_id in tied if paper_id not in fresh]
    if not missing:
        return found[:limit]
    counts = await fetch_citation_counts(settings, missing, session=session)
    if not counts:
        return found[:limit]
    await store.run(Store.record_citation_counts, counts, now)
    return with_citations(found, counts)[:limit]


async def fetch_citation_counts(settings: Settings, paper_ids: Sequence[str], *,
                                session: aiohttp.ClientSession | None = None) -> dict[str, int | None]:
    """Citation counts from Semantic Scholar (one request, bounded); empty when none could be had."""
    from bot.sources.semantic_scholar import DEADLINE, SemanticScholarClient

    own = session is None
    active = session if session is not None else aiohttp.ClientSession()
    try:
        client = SemanticScholarClient(active, settings.s2_api, key=settings.s2_key,
                                       interval=settings.s2_interval)
        async with asyncio.timeout(DEADLINE + 1.0):  # the pacer's wait included
            return await client.citation_counts(paper_ids)
    except (TimeoutError, aiohttp.ClientError) as exc:
        log.info("no citation counts this time: %s", exc or type(exc).__name__)
        return {}
    finally:
        if own:
            await active.close()


def arxiv_query(query: ParsedQuery) -> str:
    """The arXiv API ``search_query`` for a parsed query: every word in any field, ``author:`` words in
    the authors, phrases quoted."""
    parts = [f'all:"{" ".join(phrase)}"' for phrase in query.phrases]
    phrase_words = {word for phrase in query.phrases for word in phrase}
    parts += [f"all:{term}" for term in query.free if term not in phrase_words][:ARXIV_QUERY_WORDS]
    parts += [f"au:{term}" for term in query.authors]
    return " AND ".join(parts)


async def arxiv_search(store: AsyncStore, settings: Settings, query: str, *,
                       session: aiohttp.ClientSession | None = None, deadline: float = ARXIV_DEADLINE
                       ) -> list[Hit]:
    """arXiv's own results for ``query`` (one request, paced like every arXiv request), kept in the store
    so opening one works like any stored paper; empty when arXiv has none or cannot be reached."""
    from bot.sources.arxiv import ArxivClient, default_retry
    from bot.sources.http import RetryPolicy

    parsed = parse(query)
    if parsed.empty:
        return []
    base = default_retry(settings.arxiv_interval)
    retry = RetryPolicy(attempts=1, backoff=base.backoff, max_backoff=8.0, max_retry_after=8.0,
                        timeout=min(deadline, 10.0))
    try:
        async with asyncio.timeout(deadline), ArxivClient(settings, session=session, retry=retry) as arxiv:
            papers = await arxiv.search(arxiv_query(parsed), limit=ARXIV_RESULTS, page_size=ARXIV_RESULTS)
    except (UpstreamError, TimeoutError, aiohttp.ClientError) as exc:
        log.warning("arXiv search for %r failed: %s", query[:80], exc)
        return []
    if papers:
        await store.run(Store.upsert_papers, papers)
    return [describe(parsed, paper) for paper in papers]


async def catch_up_search_index(store: AsyncStore, chunk: int = 20_000) -> int:
    """Bring the search index up to the store at start (after a crash, or writes made while the bot was down),
    a chunk at a time so other store work goes on in between; returns the rows applied."""
    total = 0
    while True:
        try:
            applied = await store.run(Store.catch_up_search_index, limit=chunk)
        except RuntimeError:  # the store closed: the bot is shutting down
            return total
        total += applied
        if applied < chunk:
            return total


def suggestion(paper: Paper, limit: int = 100) -> tuple[str, str]:
    """An autocomplete choice (name, value) for a paper: ``2107.05677 · Title…``, the id as value."""
    title = re.sub(r"\s+", " ", strip_invisible(paper.title)).strip()
    name = f"{paper.id} · {title}"
    if len(name) > limit:
        name = name[: limit - 1] + "…"
    return name, paper.id


async def suggestions(store: AsyncStore, text: str, limit: int = 25) -> list[tuple[str, str]]:
    """Autocomplete for /paper: the id itself when it is one, else titles completing the words typed."""
    value = text.strip()
    if not value or len(value) > MAX_QUERY:
        return []
    if looks_like_arxiv_id(value):
        try:
            arxiv_id = parse_arxiv_id(value)
        except HotPapersError:
            return []
        paper = await store.run(Store.paper, arxiv_id.id)
        return [suggestion(paper)] if paper is not None else [(str(arxiv_id), str(arxiv_id))]
    papers = await store.run(Store.title_suggestions, value, limit=limit)
    return [suggestion(paper) for paper in papers]


# ---- /top


@dataclass(frozen=True, slots=True)
class TopRequest:
    category: str | None
    mailing: date | None
    count: int


def parse_top(category: str | None, when: str | None, count: int | None) -> TopRequest:
    """Checked /top options; raises HotPapersError saying what works."""
    code = None
    if category and category.strip():
        code = canonical_category(category.strip()[:40])
    mailing = None
    if when and when.strip():
        mailing = parse_mailing_date(when)
        if mailing is None:
            raise HotPapersError(f"{when.strip()[:20]!r} is not a date: use YYYY-MM-DD, such as 2024-11-06 "
                                 "(leave it out for the latest mailing)")
    size = 10 if count is None else count
    if not 1 <= size <= 25:
        raise HotPapersError("count must be between 1 and 25")
    return TopRequest(code, mailing, size)


@dataclass(frozen=True, slots=True)
class TopResult:
    mailing: date
    category: str | None
    papers: tuple[RankedPaper, ...]
    total: int  # papers in the mailing (in the category)


def _top(store: Store, request: TopRequest, weights: Mapping[str, float], now: datetime,
         guild_id: int | None = None) -> TopResult:
    categories = [request.category] if request.category else None
    if request.mailing is None:
        mailing = store.latest_mailing(categories)
        if mailing is None:
            where = f" in {request.category}" if request.category else ""
            raise NotFound(f"I hold no mailing{where} yet; try again after the next arXiv announcement.")
    else:
        mailing = request.mailing
    day = ranking.rank_mailing(store, mailing, categories, weights, now, guild_id=guild_id)
    total = len(day.papers) + len(day.unranked)
    if not total:
        where = f" in {request.category}" if request.category else ""
        raise NotFound(f"I hold no paper of a {mailing.isoformat()} mailing{where} (weekends and holidays"
                       " have none). Leave the date out for the latest mailing.")
    return TopResult(mailing, request.category, tuple(day.papers[: request.count]), total)


async def top(store: AsyncStore, settings: Settings, request: TopRequest, now: datetime,
              guild_id: int | None = None) -> TopResult:
    """The most engaged papers of a mailing (the latest when none is given), cross-lists included, with the
    votes of ``guild_id``'s members (every server's when None)."""
    return await store.run(_top, request, settings.ranking.weights, now, guild_id)
