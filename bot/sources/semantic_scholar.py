"""Semantic Scholar's Graph API: how often papers are cited (a popularity signal for breaking search ties).

``POST {s2_api}/paper/batch?fields=citationCount`` with ``{"ids": ["arXiv:1706.03762", …]}`` (at most 500 ids)
answers a list in the order asked, ``null`` for an id Semantic Scholar does not know, else
``{"paperId": …, "citationCount": n}``. Without a key the API shares one pool of requests among everyone
(about 1 request per second); ``x-api-key`` raises that. Throttling is a 429 (or a gateway's "Rate exceeded.").

A lookup is a nicety for a person waiting on a search: one attempt, a couple of seconds at most, and any
failure (429, 5xx, a timeout, a malformed body) means "no counts this time", never an error for the user.
After a 429 with ``Retry-After`` no request is made until that time has passed; after any other failure (no
answer in time, a refused connection, a 5xx) none for a minute, so that a machine that cannot reach the service
makes one search in a minute wait for it, not every search.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import weakref
from collections.abc import Sequence
from typing import Any

import aiohttp

from bot.sources.http import HttpCore, HttpResponse, RetryPolicy, Unavailable

log = logging.getLogger(__name__)

SERVICE = "Semantic Scholar"
BATCH_LIMIT = 500  # the batch endpoint's maximum ids per request
DEADLINE = 2.0  # seconds a search waits for counts, waits included
QUIET_AFTER_FAILURE = 60.0  # seconds without requests after a failure (or throttling that named no time)

# Per event loop: monotonic time before which no request is made (the API asked us to wait).
_quiet_until: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, float] = weakref.WeakKeyDictionary()


def s2_id(arxiv_id: str) -> str:
    """The Graph API's id for an arXiv paper (``arXiv:1706.03762``, ``arXiv:hep-th/9711200``)."""
    return f"arXiv:{arxiv_id}"


def parse_batch(payload: Any, asked: Sequence[str]) -> dict[str, int | None]:
    """Citation counts from a batch answer, by the arXiv id asked (None: Semantic Scholar does not know the
    paper). Raises ValueError for another shape (not a list of the length asked, a count that is no
    non-negative integer)."""
    if not isinstance(payload, list) or len(payload) != len(asked):
        raise ValueError("the batch answer is not a list of one entry per id asked")
    counts: dict[str, int | None] = {}
    for arxiv_id, entry in zip(asked, payload, strict=True):
        if entry is None:
            counts[arxiv_id] = None
            continue
        value = entry.get("citationCount") if isinstance(entry, dict) else None
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise ValueError("an entry has no citationCount")
        counts[arxiv_id] = value
    return counts


def _throttled(response: HttpResponse) -> bool:
    return response.body.lstrip().startswith(b"Rate exceeded")


class SemanticScholarClient:
    """Citation counts from the Graph API, one bounded batch request at a time (paced per process)."""

    def __init__(self, session: aiohttp.ClientSession, base_url: str, *, key: str | None = None,
                 interval: float = 1.0, deadline: float = DEADLINE) -> None:
        self.base_url = base_url.rstrip("/")
        retry = RetryPolicy(attempts=1, timeout=deadline, max_retry_after=0.0, deadline=deadline)
        self.http = HttpCore(session, service=SERVICE, interval=interval, retry=retry,
                             shared=True, is_throttled=_throttled)
        if key:
            self.http.headers["x-api-key"] = key

    async def citation_counts(self, arxiv_ids: Sequence[str]) -> dict[str, int | None]:
        """Counts of up to BATCH_LIMIT papers in one request; empty when none could be had this time."""
        asked = list(dict.fromkeys(arxiv_ids))[:BATCH_LIMIT]
        loop = asyncio.get_running_loop()
        if not asked or time.monotonic() < _quiet_until.get(loop, 0.0):
            return {}
        try:
            response = await self.http.request(
                "POST", f"{self.base_url}/paper/batch", params={"fields": "citationCount"},
                json={"ids": [s2_id(arxiv_id) for arxiv_id in asked]})
        except Unavailable as exc:
            _quiet_until[loop] = time.monotonic() + (exc.retry_in or QUIET_AFTER_FAILURE)
            log.info("no citation counts for %.0f s: %s", exc.retry_in or QUIET_AFTER_FAILURE, exc)
            return {}
        if not response.ok:
            if response.status >= 500:
                _quiet_until[loop] = time.monotonic() + QUIET_AFTER_FAILURE
            log.info("no citation counts this time: %s answered HTTP %d", SERVICE, response.status)
            return {}
        try:
            return parse_batch(json.loads(response.body), asked)
        except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
            log.warning("no citation counts this time: %s sent a malformed answer (%s)", SERVICE, exc)
            return {}
