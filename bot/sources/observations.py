"""What every engagement source produces, and the small JSON client they share.

An :class:`Observation` is one post, story or page seen on one source at one moment: the canonical arXiv ids
it links, its counts and a link to it. The sources only fetch and parse; the refresh (bot/engagement.py)
stores them.

Failures a refresh must survive become :class:`SourceError` with a ``kind`` a user can act on: ``down``,
``rate-limited``, ``unauthorised``, ``unavailable`` (403), ``changed`` (the payload no longer has the shape we
parse), ``unreachable`` (network) or ``refused`` (a body over the size cap, a redirect we will not follow).
A count must be a finite whole number of at most :data:`MAX_COUNT`; a post claiming more is left out with a
warning (:class:`ImplausibleCount`), never ranked.
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
from bot.sources.http import DEFAULT_MAX_BODY, HttpCore, RetryPolicy, Unavailable

log = logging.getLogger(__name__)

ErrorKind = Literal["down", "rate-limited", "unauthorised", "unavailable", "changed", "unreachable", "refused"]
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


# The most-liked post ever on X has about 7 million likes; no post linking a paper comes near. A count above
# this is a broken or hostile source, not engagement.
MAX_COUNT = 10_000_000


class ImplausibleCount(ValueError):
    """A count that cannot be engagement: not finite, negative, or above MAX_COUNT."""


def count(value: Any) -> int:
    """A count from a payload field: a missing or non-numeric value is 0; ImplausibleCount for a number
    that cannot be one (``Infinity``, ``NaN``, ``1e400``, negative, above MAX_COUNT)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return 0
    if not (0 <= value <= MAX_COUNT):  # False for NaN too
        raise ImplausibleCount(f"count {value!r} is not between 0 and {MAX_COUNT:,}")
    return int(value)


def plausible(items: Iterable[Any], parse: Callable[[Any], Observation | None], source: str,
              dropped: list[str] | None) -> list[Observation]:
    """``parse`` of each item, leaving out (with a one-line warning, added to ``dropped``) those whose counts
    are implausible, and the Nones."""
    observations = []
    for item in items:
        try:
            observation = parse(item)
        except ImplausibleCount as exc:
            line = f"left out a post with an implausible count ({exc})"
            log.warning("%s: %s", source, line)
            if dropped is not None:
                dropped.append(line)
            continue
        if observation is not None:
            observations.append(observation)
    return observations


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
    """GETs and POSTs JSON through the one retry core (:class:`bot.sources.http.HttpCore`), counting requests,
    and turns every failure into a :class:`SourceError` whose kind a refresh summary can show: rate limits,
    401, 403, refusals and format changes apart.

    ``max_wait`` bounds one Retry-After wait: a longer one is reported as rate-limited rather than waited out,
    so a refresh never stalls for an hour on one source. Bodies are decoded by :func:`parse_json`.
    """

    def __init__(self, session: aiohttp.ClientSession, clock: Clock, *,
                 headers: Mapping[str, str] | None = None, retries: int = 2, max_wait: float = 60.0,
                 sleep: Sleep = asyncio.sleep, timeout: float = 30.0, deadline: float | None = None,
                 max_body: int = DEFAULT_MAX_BODY, service: str = "upstream") -> None:
        policy = RetryPolicy(attempts=retries + 1, backoff=2.0, max_backoff=60.0, max_retry_after=max_wait,
                             timeout=timeout, deadline=deadline)
        self.core = HttpCore(session, service=service, retry=policy, clock=clock, max_body=max_body,
                             sleep=sleep)
        self.core.headers.update(headers or {})
        self.dropped: list[str] = []  # one line per post left out for an implausible count

    @property
    def headers(self) -> dict[str, str]:
        """Headers sent with every request (a source adds its Authorization here)."""
        return self.core.headers

    @property
    def requests(self) -> int:
        return self.core.requests

    async def get(self, url: str, params: Mapping[str, str | int] | None = None, *,
                  missing_ok: bool = False) -> Any:
        """The decoded JSON body; None for a 404 when ``missing_ok``."""
        return await self._request("GET", url, params=params, missing_ok=missing_ok)

    async def post(self, url: str, body: Mapping[str, Any]) -> Any:
        """POST ``body`` as JSON (treated as credentials: no redirect to another host is followed)."""
        return await self._request("POST", url, body=body)

    async def _request(self, method: str, url: str, *, params: Mapping[str, str | int] | None = None,
                       body: Mapping[str, Any] | None = None, missing_ok: bool = False) -> Any:
        try:
            response = await self.core.request(method, url, params=params, json=body)
        except Unavailable as exc:
            raise SourceError(exc.kind, exc.reason) from None
        status = response.status
        if status == 404 and missing_ok:
            return None
        if status == 401:
            raise SourceError("unauthorised", "HTTP 401 (check the credentials)")
        if status == 403:
            raise SourceError("unavailable", "HTTP 403")
        if status >= 300:
            raise SourceError("down", f"HTTP {status}")
        return parse_json(response.body, f"{method} {url}")


def parse_json(body: bytes, what: str) -> Any:
    """``body`` decoded as JSON; FormatChanged (one line) for anything else, however hostile: not JSON, not
    UTF-8, nested too deeply for the parser, a number too long to read."""
    try:
        return json.loads(body)
    except RecursionError:
        raise FormatChanged(f"{what} returned JSON nested too deeply to read") from None
    except (UnicodeDecodeError, ValueError):  # JSONDecodeError is a ValueError; so is a 5,000-digit number
        raise FormatChanged(f"{what} did not return JSON") from None
