"""Hacker News through Algolia: points and comments of stories linking arXiv papers (no key).

``GET {hn_api}/search_by_date?query=arxiv.org&restrictSearchableAttributes=url&tags=story&numericFilters=…``
lists every story linking arxiv.org since a moment (the bulk query); ``GET {hn_api}/search?query=ID&…`` finds
the stories of one paper under any URL form (the bounded per-paper fallback). Responses are
``{"hits": [{"objectID", "url", "points", "num_comments", …}], "page", "nbPages", …}``; pages count from 0.
Published limit: 10,000 requests per hour per IP.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.sources.observations import (
    FormatChanged,
    JsonClient,
    Observation,
    count,
    first_line,
    linked_paper_ids,
    plausible,
)

SOURCE = "hn"
HITS_PER_PAGE = 1000  # Algolia's maximum
MAX_PAGES = 10


def story_url(object_id: str) -> str:
    return f"https://news.ycombinator.com/item?id={object_id}"


@dataclass(frozen=True, slots=True)
class SearchPage:
    observations: list[Observation]
    page: int
    pages: int


def _story(hit: Any, observed_at: datetime) -> Observation | None:
    if not isinstance(hit, dict):
        return None
    paper_ids = linked_paper_ids((hit.get("url"), hit.get("story_text")))
    if not paper_ids:
        return None
    object_id = hit.get("objectID")
    if not isinstance(object_id, str | int) or "points" not in hit:
        raise FormatChanged("an Algolia hit has no objectID or points")
    counts = {"points": count(hit.get("points")), "comments": count(hit.get("num_comments"))}
    author = hit.get("author")
    return Observation(SOURCE, str(object_id), paper_ids, counts, story_url(str(object_id)), observed_at,
                       author=author if isinstance(author, str) else None, text=first_line(hit.get("title")))


def parse_search(payload: Any, observed_at: datetime, *, dropped: list[str] | None = None) -> SearchPage:
    """Stories linking arXiv papers in one Algolia search response; raises FormatChanged for another shape.
    A story with an implausible count is left out (noted in ``dropped``)."""
    if not isinstance(payload, dict) or not isinstance(payload.get("hits"), list):
        raise FormatChanged("Algolia search has no hits list")
    observations = plausible(payload["hits"], lambda hit: _story(hit, observed_at), SOURCE, dropped)
    page, pages = payload.get("page", 0), payload.get("nbPages", 1)
    if not isinstance(page, int) or not isinstance(pages, int):
        raise FormatChanged("Algolia page/nbPages are not numbers")
    return SearchPage(observations, page, pages)


class HackerNewsClient:
    def __init__(self, client: JsonClient, base_url: str) -> None:
        self.client = client
        self.base_url = base_url.rstrip("/")

    async def _pages(self, path: str, params: Mapping[str, str | int], observed_at: datetime
                     ) -> list[Observation]:
        observations: list[Observation] = []
        for page in range(MAX_PAGES):
            payload = await self.client.get(f"{self.base_url}{path}", {**params, "page": page})
            result = parse_search(payload, observed_at, dropped=self.client.dropped)
            observations.extend(result.observations)
            if result.page + 1 >= result.pages:
                break
        return observations

    async def stories_since(self, since: datetime, observed_at: datetime) -> list[Observation]:
        """Every story linking arxiv.org created since ``since`` (the bulk query)."""
        params: dict[str, str | int] = {
            "query": "arxiv.org", "restrictSearchableAttributes": "url", "tags": "story",
            "numericFilters": f"created_at_i>{int(since.timestamp())}", "hitsPerPage": HITS_PER_PAGE}
        return await self._pages("/search_by_date", params, observed_at)

    async def stories_of(self, paper_id: str, observed_at: datetime) -> list[Observation]:
        """Stories linking one paper, under any URL form (abs, pdf, alphaxiv, huggingface.co/papers…)."""
        params: dict[str, str | int] = {
            "query": paper_id, "restrictSearchableAttributes": "url", "tags": "story", "hitsPerPage": 100}
        found = await self._pages("/search", params, observed_at)
        return [o for o in found if paper_id in o.paper_ids]
