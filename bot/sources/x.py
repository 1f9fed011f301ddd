"""X (Twitter): retweets and likes of posts linking arXiv papers (a paid bearer token), the seed's own signal.

``GET {x_api}/tweets/search/recent`` (last 7 days) with ``query``, ``start_time``, ``max_results`` ≤ 100,
``next_token``, ``tweet.fields=public_metrics,entities,referenced_tweets`` and
``expansions=referenced_tweets.id,author_id`` answers ``{"data": [tweet…], "includes": {"tweets", "users"},
"meta": {"result_count", "next_token"?}}``. A retweet is a status of its own whose ``public_metrics`` mirror
the original's: counting it again inflated the old posts' totals, so a retweet only ever stands for its
original, counted once. Limits (Basic tier): 60 search requests per 15 minutes per app, a query of at most 512
characters, and a monthly cap on posts read; a refresh therefore ORs many papers into one query.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
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

SOURCE = "x"
PAGE_SIZE = 100
MAX_QUERY_LENGTH = 512
MAX_REQUESTS = 50  # per refresh, under the 60 / 15 min search limit with room for a retry
_QUERY_SUFFIX = " -is:retweet"


def status_url(tweet_id: str, username: str | None) -> str:
    return f"https://x.com/{username or 'i/web'}/status/{tweet_id}"


def build_queries(paper_ids: Sequence[str], max_length: int = MAX_QUERY_LENGTH
                  ) -> list[tuple[list[str], str]]:
    """OR the papers' ids into as few search queries as fit ``max_length``; each with the ids it covers."""
    queries: list[tuple[list[str], str]] = []
    batch: list[str] = []

    def query(ids: list[str]) -> str:
        return "(" + " OR ".join(f'url:"{paper_id}"' for paper_id in ids) + ")" + _QUERY_SUFFIX

    for paper_id in paper_ids:
        if batch and len(query([*batch, paper_id])) > max_length:
            queries.append((batch, query(batch)))
            batch = []
        batch.append(paper_id)
    if batch:
        queries.append((batch, query(batch)))
    return queries


@dataclass(frozen=True, slots=True)
class SearchPage:
    observations: list[Observation]
    next_token: str | None


def _tweet_observation(tweet: Mapping[str, Any], usernames: Mapping[str, str], observed_at: datetime
                       ) -> Observation | None:
    tweet_id = tweet.get("id")
    metrics = tweet.get("public_metrics")
    if not isinstance(tweet_id, str) or not isinstance(metrics, dict):
        raise FormatChanged("a tweet has no id or public_metrics")
    entities = tweet["entities"] if isinstance(tweet.get("entities"), dict) else {}
    urls = [u for u in entities.get("urls") or () if isinstance(u, dict)]
    paper_ids = linked_paper_ids([*(u.get("unwound_url") or u.get("expanded_url") for u in urls),
                                  tweet.get("text")])
    if not paper_ids:
        return None
    counts = {"retweets": count(metrics.get("retweet_count")), "likes": count(metrics.get("like_count"))}
    username = usernames.get(str(tweet.get("author_id")))
    return Observation(SOURCE, tweet_id, paper_ids, counts, status_url(tweet_id, username), observed_at,
                       author=username, text=first_line(tweet.get("text")))


def parse_recent_search(payload: Any, observed_at: datetime, *, dropped: list[str] | None = None
                        ) -> SearchPage:
    """Posts linking arXiv papers in a recent-search page, each once; a retweet stands for its original.
    A post with an implausible count is left out (noted in ``dropped``)."""
    if not isinstance(payload, dict) or not isinstance(payload.get("meta"), dict):
        raise FormatChanged("recent search has no meta")
    data = payload.get("data", [])
    includes = payload["includes"] if isinstance(payload.get("includes"), dict) else {}
    if not isinstance(data, list):
        raise FormatChanged("recent search data is not a list")
    included = {t["id"]: t for t in includes.get("tweets") or () if isinstance(t, dict) and "id" in t}
    usernames = {str(u.get("id")): str(u.get("username")) for u in includes.get("users") or ()
                 if isinstance(u, dict) and u.get("username")}
    originals = []
    for tweet in data:
        if not isinstance(tweet, dict):
            continue
        references = [r for r in tweet.get("referenced_tweets") or () if isinstance(r, dict)]
        original_id = next((r.get("id") for r in references if r.get("type") == "retweeted"), None)
        if original_id is not None:
            tweet = included.get(original_id)
            if tweet is None:
                continue  # a retweet whose original we were not given: nothing of its own to count
        originals.append(tweet)
    seen: dict[str, Observation] = {}
    for observation in plausible(originals, lambda tweet: _tweet_observation(tweet, usernames, observed_at),
                                 SOURCE, dropped):
        seen.setdefault(observation.post_id, observation)
    next_token = payload["meta"].get("next_token")
    return SearchPage(list(seen.values()), next_token if isinstance(next_token, str) and next_token else None)


class XClient:
    def __init__(self, client: JsonClient, base_url: str, bearer: str) -> None:
        self.client = client
        self.base_url = base_url.rstrip("/")
        client.headers["Authorization"] = f"Bearer {bearer}"

    async def search(self, query: str, since: datetime, observed_at: datetime, *, max_requests: int
                     ) -> list[Observation]:
        """Every page of one recent-search query (at most ``max_requests`` requests)."""
        params: dict[str, str | int] = {
            "query": query, "max_results": PAGE_SIZE, "start_time": utc_stamp(since),
            "tweet.fields": "public_metrics,entities,referenced_tweets,author_id",
            "expansions": "referenced_tweets.id,author_id", "user.fields": "username"}

        async def fetch(token: str | None) -> Page:
            payload = await self.client.get(f"{self.base_url}/tweets/search/recent",
                                            {**params, **({"next_token": token} if token else {})})
            page = parse_recent_search(payload, observed_at, dropped=self.client.dropped)
            return page.observations, page.next_token

        return await paged(fetch, max_requests)
