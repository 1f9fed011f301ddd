"""What every engagement source produces, and the small JSON client they share.

An :class:`Observation` is one post, story or page seen on one source at one moment: the canonical arXiv ids
it links, its counts and a link to it. The sources only fetch and parse; the refresh (bot/engagement.py)
stores them.

Failures a refresh must survive become :class:`SourceError` with a ``kind`` a user can act on: ``down``,
``rate-limited``, ``unauthorised``, ``unavailable`` (403), ``changed`` (the payload no longer has the shape we
parse) or ``unreachable`` (network).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

import aiohttp

from bot.clock import Clock
from bot.ids import find_arxiv_ids
from bot.sources.http import RETRY_STATUSES, USER_AGENT, retry_after_seconds

log = logging.getLogger(__name__)

ErrorKind = Literal["down", "rate-limited", "unauthorised", "unavailable", "changed", "unreachable"]
Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Observation:
    """One post/story/page on ``source`` linking ``paper_ids`` (canonical), its counts at ``observed_at``."""

    source: str
    post_id: str
    paper_ids: tuple[str, ...]
    counts: Mapping[str, int]
    url: str
    observed_at: datetime
    # What the post said, for the post's "who is talking" (None where a source has no author or text).
    author: str | None = None
    text: str | None = None
    # A code repository the source links the paper to, and its stars (Hugging Face's githubRepo/githubStars).
    repo: str | None = None
    stars: int | None = None


class SourceError(Exception):
    """A source failed in a way a refresh reports and skips."""

    def __init__(self, kind: ErrorKind, detail: str) -> None:
        super().__init__(f"{kind}: {detail}")
        self.kind: ErrorKind = kind
        self.detail = detail


class FormatChanged(SourceError):
    """The payload does not have the shape we parse."""

    def __init__(self, detail: str) -> None:
        super().__init__("changed", detail)


def linked_paper_ids(texts: Iterable[str | None]) -> tuple[str, ...]:
    """Canonical arXiv ids linked or mentioned in any of ``texts``, first mention first, each once."""
    found: dict[str, None] = {}
    for text in texts:
        if text:
            for arxiv_id in find_arxiv_ids(text):
                found.setdefault(arxiv_id.id, None)
    return tuple(found)


def count(value: Any) -> int:
    """A non-negative count from a payload field; a missing or odd value is 0."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return 0
    return max(int(value), 0)


def first_line(text: Any, limit: int = 300) -> str | None:
    """The first non-empty line of a post's text, at most ``limit`` characters; None if there is none."""
    if not isinstance(text, str):
        return None
    line = next((part.strip() for part in text.splitlines() if part.strip()), "")
    return line[:limit] or None


def utc_stamp(moment: datetime) -> str:
    """``moment`` as the ``YYYY-MM-DDTHH:MM:SSZ`` the search APIs take."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


Page = tuple[list[Observation], str | None]  # a page's observations, the next page's token


async def paged(fetch: Callable[[str | None], Awaitable[Page]], max_pages: int) -> list[Observation]:
    """Observations of up to ``max_pages`` pages: ``fetch(token)`` returns a page and the next page's token
    (None on the first call, and from the last page)."""
    observations: list[Observation] = []
    token: str | None = None
    for _ in range(max_pages):
        page, token = await fetch(token)
        observations.extend(page)
        if token is None:
            break
    return observations


class JsonClient:
    """GETs and POSTs JSON, counting requests; retries 429/5xx honouring Retry-After, then raises SourceError.

    Unlike :class:`bot.sources.http.PoliteHttp` (GET only, one UpstreamError for every failure), a refresh
    needs POST (Bluesky sessions) and to tell rate limits, 401, 403 and format changes apart in its summary.
    ``max_wait`` bounds one Retry-After wait: a longer one is reported as rate-limited rather than waited out,
    so a refresh never stalls for an hour on one source.
    """

    RETRY_STATUSES = RETRY_STATUSES

    def __init__(self, session: aiohttp.ClientSession, clock: Clock, *,
                 headers: Mapping[str, str] | None = None, retries: int = 2, max_wait: float = 60.0,
                 sleep: Sleep = asyncio.sleep, timeout: float = 30.0) -> None:
        self.session = session
        self.clock = clock
        self.headers = {"User-Agent": USER_AGENT, **(headers or {})}
        self.retries = retries
        self.max_wait = max_wait
        self.sleep = sleep
        self.timeout = aiohttp.ClientTimeout(total=timeout)
        self.requests = 0

    async def get(self, url: str, params: Mapping[str, str | int] | None = None, *,
                  missing_ok: bool = False) -> Any:
        """The decoded JSON body; None for a 404 when ``missing_ok``."""
        return await self._request("GET", url, params=params, missing_ok=missing_ok)

    async def post(self, url: str, body: Mapping[str, Any]) -> Any:
        return await self._request("POST", url, body=body)

    async def _request(self, method: str, url: str, *, params: Mapping[str, str | int] | None = None,
                       body: Mapping[str, Any] | None = None, missing_ok: bool = False) -> Any:
        attempt = 0
        while True:
            self.requests += 1
            try:
                async with self.session.request(
                        method, url, params=params, json=body, headers=self.headers, timeout=self.timeout
                ) as response:
                    status = response.status
                    retry_after = retry_after_seconds(response.headers.get("Retry-After"), self.clock.now())
                    payload = await response.read()
            except (aiohttp.ClientError, TimeoutError) as exc:
                if attempt < self.retries:
                    attempt += 1
                    await self.sleep(float(2 ** attempt))
                    continue
                raise SourceError("unreachable", f"{type(exc).__name__} {exc}".strip()) from None
            if status in self.RETRY_STATUSES:
                wait = retry_after if retry_after is not None else float(2 ** (attempt + 1))
                if attempt < self.retries and wait <= self.max_wait:
                    attempt += 1
                    log.info("%s %s: HTTP %d, retrying in %.0f s", method, url, status, wait)
                    await self.sleep(wait)
                    continue
                kind: ErrorKind = "rate-limited" if status == 429 else "down"
                raise SourceError(kind, f"HTTP {status}" + (f", Retry-After {retry_after:.0f} s"
                                                            if retry_after is not None else ""))
            if status == 404 and missing_ok:
                return None
            if status == 401:
                raise SourceError("unauthorised", "HTTP 401 (check the credentials)")
            if status == 403:
                raise SourceError("unavailable", "HTTP 403")
            if status >= 400:
                raise SourceError("down", f"HTTP {status}")
            try:
                return json.loads(payload)
            except (UnicodeDecodeError, json.JSONDecodeError):
                raise FormatChanged(f"{method} {url} did not return JSON") from None

