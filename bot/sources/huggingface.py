"""Hugging Face daily papers: upvotes and comments (no key).

``GET {hf_api}/daily_papers?date=YYYY-MM-DD`` lists the papers featured that day, each as
``{"paper": {"id", "upvotes", …}, "numComments": n, …}`` (``numComments`` sits beside ``paper``, not in it);
``GET {hf_api}/papers/{id}`` is one paper object. A paper is often featured days after its mailing, so a
refresh scans several days and looks a bounded set of papers up by id. Limits are undocumented: be gentle,
one request at a time.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from bot.errors import InvalidPaperId
from bot.ids import parse_arxiv_id
from bot.sources.observations import FormatChanged, JsonClient, Observation, count, plausible

SOURCE = "hf"
PAGE_SIZE = 100
MAX_PAGES_PER_DAY = 5  # a day has ~20-60 featured papers: one page in practice


def paper_page_url(paper_id: str) -> str:
    return f"https://huggingface.co/papers/{paper_id}"


def _observation(paper: Mapping[str, Any], comments: Any, observed_at: datetime) -> Observation | None:
    raw_id = paper.get("id")
    if not isinstance(raw_id, str) or "upvotes" not in paper:
        return None
    try:
        paper_id = parse_arxiv_id(raw_id).id
    except InvalidPaperId:
        return None
    counts = {"upvotes": count(paper.get("upvotes"))}
    if comments is not None:
        counts["comments"] = count(comments)
    repo = paper.get("githubRepo")
    repo = repo if isinstance(repo, str) and repo.startswith("https://") else None
    stars = count(paper.get("githubStars")) if repo and "githubStars" in paper else None
    return Observation(SOURCE, paper_id, (paper_id,), counts, paper_page_url(paper_id), observed_at,
                       repo=repo, stars=stars)


def _daily_item(item: Any, observed_at: datetime) -> Observation | None:
    paper = item.get("paper") if isinstance(item, dict) else None
    if not isinstance(paper, dict):
        return None
    return _observation(paper, item.get("numComments", 0), observed_at)


def parse_daily_papers(payload: Any, observed_at: datetime, *, dropped: list[str] | None = None
                       ) -> list[Observation]:
    """Observations from a ``/daily_papers`` response (a list); raises FormatChanged for another shape.
    A paper with an implausible count is left out (noted in ``dropped``)."""
    if not isinstance(payload, list):
        raise FormatChanged("daily_papers did not return a list")
    observations = plausible(payload, lambda item: _daily_item(item, observed_at), SOURCE, dropped)
    if payload and not observations and not dropped:
        raise FormatChanged("no daily_papers entry had paper.id and paper.upvotes")
    return observations


def parse_paper(payload: Any, observed_at: datetime, *, dropped: list[str] | None = None
                ) -> Observation | None:
    """The observation in a ``/papers/{id}`` response (None if its counts are implausible, noted in
    ``dropped``); raises FormatChanged for another shape."""
    if not isinstance(payload, dict):
        raise FormatChanged("papers/{id} did not return an object")
    if "id" not in payload or "upvotes" not in payload:
        raise FormatChanged("papers/{id} has no id or upvotes")
    found = plausible([payload], lambda paper: _observation(paper, paper.get("numComments"), observed_at),
                      SOURCE, dropped)
    if not found and not dropped:
        raise FormatChanged("papers/{id} has no id or upvotes")
    return found[0] if found else None


class HuggingFaceClient:
    def __init__(self, client: JsonClient, base_url: str) -> None:
        self.client = client
        self.base_url = base_url.rstrip("/")

    async def daily_papers(self, day: date, observed_at: datetime) -> list[Observation]:
        """Every paper featured on ``day``."""
        observations: dict[str, Observation] = {}
        for page in range(MAX_PAGES_PER_DAY):
            payload = await self.client.get(f"{self.base_url}/daily_papers",
                                            {"date": day.isoformat(), "limit": PAGE_SIZE, "p": page})
            parsed = parse_daily_papers(payload, observed_at, dropped=self.client.dropped)
            fresh = [o for o in parsed if o.post_id not in observations]
            observations.update((o.post_id, o) for o in fresh)
            if len(payload) < PAGE_SIZE or not fresh:  # a short page, or a server that ignores paging
                break
        return list(observations.values())

    async def paper(self, paper_id: str, observed_at: datetime) -> Observation | None:
        """One paper's page, or None when Hugging Face does not know it."""
        payload = await self.client.get(f"{self.base_url}/papers/{paper_id}", missing_ok=True)
        return None if payload is None else parse_paper(payload, observed_at, dropped=self.client.dropped)
