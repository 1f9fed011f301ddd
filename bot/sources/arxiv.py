"""The arXiv client: the query API (ids, searches, paging) and the per-category announcement feeds.

arXiv's terms allow one request at a time, at least ``arxiv_interval`` seconds apart, across the API and the
feeds: every :class:`ArxivClient` of a process shares one pacer (see :func:`bot.sources.http.shared_pacer`),
on the real monotonic clock unless a test hands the clients its own ``monotonic`` and ``sleep``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from types import TracebackType
from typing import Literal

import aiohttp

from bot.config import Settings
from bot.errors import InvalidPaperId, NotFound, UpstreamError
from bot.ids import ArxivId, parse_arxiv_id
from bot.models import Paper
from bot.sources.arxiv_parse import (
    AnnouncementFeed,
    ApiPage,
    ArxivApiError,
    parse_announcement_feed,
    parse_api_feed,
)
from bot.sources.http import HttpResponse, Pacer, PoliteHttp, RetryPolicy, Sleep, for_a_person

log = logging.getLogger(__name__)

SERVICE = "arXiv"
MAX_PAGE = 2000  # the API's largest page
MAX_RESULTS = 30_000  # the API's largest result set per query
ID_CHUNK = 100  # ids per id_list request: keeps URLs short and responses small
MAX_FEED_PATH = 300  # characters of "cat1+cat2+…" per feed request

SortBy = Literal["relevance", "lastUpdatedDate", "submittedDate"]
SortOrder = Literal["ascending", "descending"]


def is_rate_limited(response: HttpResponse) -> bool:
    """arXiv sometimes throttles with a 200 whose body reads "Rate exceeded."."""
    return len(response.body) < 200 and response.body.strip().lower().startswith(b"rate exceeded")


def default_retry(interval: float) -> RetryPolicy:
    """Back off from the politeness interval itself (3 s in production; tiny when tests set it to 0)."""
    return RetryPolicy(attempts=4, backoff=max(interval, 0.05), max_backoff=60.0, max_retry_after=120.0,
                       timeout=30.0)


def feed_groups(categories: Sequence[str], max_path: int = MAX_FEED_PATH) -> list[tuple[str, ...]]:
    """Categories joined into as few ``cat1+cat2`` feed paths as fit in ``max_path`` characters, in order."""
    groups: list[list[str]] = []
    length = 0
    for category in dict.fromkeys(categories):
        if groups and length + 1 + len(category) <= max_path:
            groups[-1].append(category)
            length += 1 + len(category)
        else:
            groups.append([category])
            length = len(category)
    return [tuple(group) for group in groups]


class ArxivClient:
    """Talks to arXiv politely. Use as ``async with ArxivClient(settings) as arxiv:``."""

    def __init__(self, settings: Settings, *, session: aiohttp.ClientSession | None = None,
                 retry: RetryPolicy | None = None, pacer: Pacer | None = None, for_person: bool = False,
                 monotonic: Callable[[], float] = time.monotonic, sleep: Sleep = asyncio.sleep) -> None:
        """``for_person``: a command a person waits on (bounded by PERSON_DEADLINE, then says when to try
        again); otherwise the bot's patient retries. Without a ``pacer``, the process's shared arXiv pacer
        is used, made on ``monotonic`` and ``sleep`` if this client is its first user."""
        self.api_url = settings.arxiv_api
        self.feeds_url = settings.arxiv_feeds
        self._interval = settings.arxiv_interval
        self._max_body = settings.http.max_body
        patient = default_retry(settings.arxiv_interval)
        self._retry = retry or (for_a_person(patient) if for_person else patient)
        self._pacer = pacer
        self._monotonic = monotonic
        self._sleep = sleep
        self._session = session
        self._owns_session = session is None
        self._http: PoliteHttp | None = None

    async def __aenter__(self) -> ArxivClient:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        traceback: TracebackType | None) -> None:
        await self.close()

    async def close(self) -> None:
        if self._owns_session and self._session is not None:
            await self._session.close()
        self._session = None
        self._http = None

    @property
    def http(self) -> PoliteHttp:
        """The paced, retrying HTTP helper (made on first use, inside the running loop)."""
        if self._http is None:
            if self._session is None:
                self._session = aiohttp.ClientSession()
            self._http = PoliteHttp(self._session, service=SERVICE, interval=self._interval,
                                    retry=self._retry, pacer=self._pacer, is_throttled=is_rate_limited,
                                    max_body=self._max_body, monotonic=self._monotonic, sleep=self._sleep)
        return self._http

    @property
    def requests(self) -> int:
        """Requests made so far (retries included)."""
        return self._http.requests if self._http is not None else 0

    # ---- the query API

    async def query(self, *, search_query: str = "", id_list: Sequence[str] = (), start: int = 0,
                    max_results: int = 100, sort_by: SortBy | None = None,
                    sort_order: SortOrder | None = None) -> ApiPage:
        """One API request. Raises ArxivApiError with arXiv's message when it refuses the query."""
        if not 0 < max_results <= MAX_PAGE:
            raise ValueError(f"max_results must be between 1 and {MAX_PAGE}")
        params = {"search_query": search_query, "id_list": ",".join(id_list), "start": str(start),
                  "max_results": str(max_results)}
        if sort_by:
            params["sortBy"] = sort_by
        if sort_order:
            params["sortOrder"] = sort_order
        response = await self.http.get(self.api_url, params=params)
        if response.ok:
            return parse_api_feed(response.body)
        if response.status == 400:  # arXiv explains a refused query in an Atom error feed
            try:
                parse_api_feed(response.body)
            except ArxivApiError:
                raise
            except UpstreamError:
                pass
        raise UpstreamError(f"{SERVICE} API answered HTTP {response.status}")

    async def paper(self, paper: str | ArxivId) -> Paper:
        """One paper (the latest version unless ``paper`` names one); NotFound when arXiv has none."""
        arxiv_id = parse_arxiv_id(paper) if isinstance(paper, str) else paper
        try:
            page = await self.query(id_list=[str(arxiv_id)], max_results=1)
        except ArxivApiError as exc:
            raise InvalidPaperId(f"arXiv does not accept {str(arxiv_id)!r}: {exc.message}") from None
        for found in page.papers:
            if found.id == arxiv_id.id:
                return found
        raise NotFound(f"arXiv has no paper {arxiv_id}")

    async def papers(self, ids: Sequence[str | ArxivId], *, chunk: int = ID_CHUNK) -> list[Paper]:
        """Papers for many ids, ``chunk`` ids per request. Ids that cannot exist, and ids arXiv does not know,
        are left out (arXiv itself drops a bad id from a list silently)."""
        wanted: dict[str, None] = {}
        for item in ids:
            try:
                wanted[str(parse_arxiv_id(item) if isinstance(item, str) else item)] = None
            except InvalidPaperId as exc:
                log.warning("arXiv: leaving out %s", exc)
        wanted_ids = list(wanted)
        found: list[Paper] = []
        for offset in range(0, len(wanted_ids), chunk):
            part = wanted_ids[offset:offset + chunk]
            page = await self.query(id_list=part, max_results=len(part))
            found.extend(page.papers)
        return found

    async def search(self, search_query: str, *, limit: int = 100, page_size: int = MAX_PAGE,
                     sort_by: SortBy = "relevance", sort_order: SortOrder = "descending") -> list[Paper]:
        """Up to ``limit`` results of an API search (``cat:cs.LG AND ti:attention``), paging as needed."""
        limit = min(limit, MAX_RESULTS)
        page_size = min(page_size, MAX_PAGE)
        results: list[Paper] = []
        start = 0
        while start < limit:
            size = min(page_size, limit - start)
            page = await self.query(search_query=search_query, start=start, max_results=size,
                                    sort_by=sort_by, sort_order=sort_order)
            results.extend(page.papers)
            consumed = len(page.papers) + page.skipped
            start += consumed
            if consumed == 0 or (page.total_results is not None and start >= page.total_results):
                break
        return results[:limit]

    # ---- announcement feeds

    async def announcements(self, categories: Sequence[str]) -> AnnouncementFeed:
        """The latest mailing of ``categories``, in one request (``{feeds}/cat1+cat2``)."""
        if not categories:
            raise ValueError("no categories")
        url = f"{self.feeds_url}/{'+'.join(categories)}"
        response = await self.http.get(url)
        if response.status == 404:
            raise UpstreamError(f"{SERVICE} has no announcement feed for {'+'.join(categories)}")
        if not response.ok:
            raise UpstreamError(f"{SERVICE} feed {'+'.join(categories)} answered HTTP {response.status}")
        return parse_announcement_feed(response.body, categories)
