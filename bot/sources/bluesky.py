"""Bluesky: likes, reposts, quotes and replies of posts linking arXiv papers (handle + app password).

``POST {bluesky_api}/com.atproto.server.createSession`` with ``{"identifier", "password"}`` gives an
``accessJwt``; ``GET {bluesky_api}/app.bsky.feed.searchPosts`` (``q``, ``domain`` or ``url``, ``since``,
``sort``, ``limit`` ≤ 100, ``cursor``) answers ``{"posts": [postView…], "cursor"?}``. Links sit in the
record's facets and in ``embed.external.uri``. A 403 means search is unavailable to us: reported, not a crash.
Published limits: 3,000 requests per 5 minutes per IP; createSession 30 per 5 minutes and 300 per day per
account (so one session per refresh).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.sources.observations import (
    FormatChanged,
    JsonClient,
    Observation,
    Page,
    count,
    first_line,
    linked_paper_ids,
    paged,
    plausible,
    utc_stamp,
)

SOURCE = "bluesky"
PAGE_SIZE = 100
# Posts come most-engaged first (sort=top): past this many pages the rest cannot move a ranking.
MAX_PAGES = 20
_TRUNCATED_LINK = re.compile(r"\S+(?:\.\.\.|…)")


def post_url(post: Mapping[str, Any]) -> str:
    """The bsky.app page of a postView."""
    author = post["author"] if isinstance(post.get("author"), dict) else {}
    who = author.get("handle") or author.get("did") or str(post["uri"]).split("/")[2]
    return f"https://bsky.app/profile/{who}/post/{str(post['uri']).rsplit('/', 1)[-1]}"


def _links(record: Mapping[str, Any]) -> Iterator[str | None]:
    for facet in record.get("facets") or ():
        for feature in (facet.get("features") or ()) if isinstance(facet, dict) else ():
            if isinstance(feature, dict) and isinstance(feature.get("uri"), str):
                yield feature["uri"]
    embed = record.get("embed")
    if isinstance(embed, dict):
        # Only the post's own link card: a quoted post's links belong to that post (it is counted on its own).
        for holder in (embed, embed.get("media")):
            external = holder.get("external") if isinstance(holder, dict) else None
            if isinstance(external, dict):
                yield external.get("uri")
    text = record.get("text")
    if isinstance(text, str):
        # Clients shorten long links in the text ("arxiv.org/abs/2107.05…"); the facets hold them whole.
        yield _TRUNCATED_LINK.sub(" ", text)


def parse_post(item: Mapping[str, Any], observed_at: datetime) -> Observation | None:
    """The observation of one postView (or a feedViewPost wrapping one), None when it links no paper."""
    post = item.get("post", item)
    if not isinstance(post, dict) or not isinstance(post.get("uri"), str):
        raise FormatChanged("a post has no uri")
    record = post.get("record")
    if not isinstance(record, dict):
        raise FormatChanged("a post has no record")
    paper_ids = linked_paper_ids(_links(record))
    if not paper_ids:
        return None
    if "likeCount" not in post and "repostCount" not in post:
        raise FormatChanged("a post has neither likeCount nor repostCount")
    counts = {"likes": count(post.get("likeCount")), "reposts": count(post.get("repostCount")),
              "quotes": count(post.get("quoteCount")), "replies": count(post.get("replyCount"))}
    author = post["author"] if isinstance(post.get("author"), dict) else {}
    handle = author.get("handle")
    return Observation(SOURCE, post["uri"], paper_ids, counts, post_url(post), observed_at,
                       author=handle if isinstance(handle, str) else None, text=first_line(record.get("text")))


@dataclass(frozen=True, slots=True)
class SearchPage:
    observations: list[Observation]
    cursor: str | None


def parse_search_posts(payload: Any, observed_at: datetime, *, dropped: list[str] | None = None
                       ) -> SearchPage:
    """Posts linking arXiv papers in one searchPosts response; raises FormatChanged for another shape.
    A post with an implausible count is left out (noted in ``dropped``)."""
    if not isinstance(payload, dict) or not isinstance(payload.get("posts"), list):
        raise FormatChanged("searchPosts has no posts list")
    posts = [item for item in payload["posts"] if isinstance(item, dict)]
    observations = plausible(posts, lambda item: parse_post(item, observed_at), SOURCE, dropped)
    cursor = payload.get("cursor")
    more = isinstance(cursor, str) and cursor and payload["posts"]
    return SearchPage(observations, cursor if more else None)


class BlueskyClient:
    def __init__(self, client: JsonClient, base_url: str, handle: str, password: str) -> None:
        self.client = client
        self.base_url = base_url.rstrip("/")
        self.handle = handle
        self.password = password

    async def login(self) -> None:
        """Open a session; later requests carry its token."""
        payload = await self.client.post(f"{self.base_url}/com.atproto.server.createSession",
                                         {"identifier": self.handle, "password": self.password})
        token = payload.get("accessJwt") if isinstance(payload, dict) else None
        if not isinstance(token, str):
            raise FormatChanged("createSession returned no accessJwt")
        self.client.headers["Authorization"] = f"Bearer {token}"

    async def _search(self, params: Mapping[str, str | int], observed_at: datetime, max_pages: int
                      ) -> list[Observation]:
        async def fetch(cursor: str | None) -> Page:
            page_params = {**params, "limit": PAGE_SIZE, **({"cursor": cursor} if cursor else {})}
            payload = await self.client.get(f"{self.base_url}/app.bsky.feed.searchPosts", page_params)
            page = parse_search_posts(payload, observed_at, dropped=self.client.dropped)
            return page.observations, page.cursor

        return await paged(fetch, max_pages)

    async def posts_since(self, since: datetime, observed_at: datetime) -> list[Observation]:
        """Posts linking arxiv.org since ``since``, most engaged first (the bulk query)."""
        params: dict[str, str | int] = {
            "q": "arxiv.org", "domain": "arxiv.org", "since": utc_stamp(since), "sort": "top"}
        return await self._search(params, observed_at, MAX_PAGES)

    async def posts_of(self, paper_id: str, since: datetime, observed_at: datetime) -> list[Observation]:
        """Posts linking one paper's abs page (the bounded per-paper fallback)."""
        params: dict[str, str | int] = {
            "q": "arxiv.org", "url": f"https://arxiv.org/abs/{paper_id}", "since": utc_stamp(since), "sort": "top"}
        found = await self._search(params, observed_at, 1)
        return [o for o in found if paper_id in o.paper_ids]
