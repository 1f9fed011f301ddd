"""``hotpapers paper ID_OR_URL [--json]``: one paper, from the store or else from arXiv (then kept)."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import textwrap

from bot.config import Settings
from bot.errors import UpstreamError
from bot.ids import ArxivId, parse_arxiv_id
from bot.models import Paper
from bot.sources.arxiv import ArxivClient
from bot.sources.http import RetryPolicy
from bot.store import Store

log = logging.getLogger(__name__)


def main(args: argparse.Namespace, settings: Settings) -> int:
    arxiv_id = parse_arxiv_id(args.query)
    store = Store(settings.db_path)
    try:
        paper = store.paper(arxiv_id.id)
        if paper is None or _incomplete(paper, arxiv_id):
            try:
                fetched = asyncio.run(_fetch(settings, arxiv_id, patient=paper is None))
            except UpstreamError:
                if paper is None:
                    raise
                log.warning("arXiv unreachable; showing the stored copy of %s", arxiv_id.id)
            else:
                store.upsert_papers([fetched])
                paper = store.paper(arxiv_id.id) or fetched
    finally:
        store.close()
    if args.json:
        from bot.jsonout import paper_json

        print(json.dumps(paper_json(paper), ensure_ascii=False, indent=2))
    else:
        print(format_paper(paper))
    return 0


def _incomplete(paper: Paper, arxiv_id: ArxivId) -> bool:
    """Worth asking the API: a newer version was asked for, or the paper came from a feed (which has no dates
    and may not name the primary category)."""
    return paper.published is None or (arxiv_id.version is not None and arxiv_id.version > paper.version)


async def _fetch(settings: Settings, arxiv_id: ArxivId, *, patient: bool) -> Paper:
    # Completing a stored paper is a nicety: one quick try, then show what we have.
    retry = None if patient else RetryPolicy(attempts=1, timeout=10.0)
    async with ArxivClient(settings, retry=retry, for_person=True) as client:
        # Ask for the latest version: that is what the store keeps.
        return await client.paper(ArxivId(arxiv_id.id))


def format_paper(paper: Paper, width: int = 100) -> str:
    """The paper for a terminal: title, authors, categories, dates, links, abstract."""
    others = [c for c in paper.categories if c != paper.primary_category]
    categories = ", ".join([paper.primary_category, *others])
    lines = [
        f"{paper.title}  [{paper.id}v{paper.version}]",
        textwrap.fill(", ".join(paper.authors) or "(no authors listed)", width),
        f"categories: {categories}",
    ]
    dates = []
    if paper.published:
        dates.append(f"published {paper.published:%Y-%m-%d}")
    if paper.updated and paper.updated != paper.published:
        dates.append(f"updated {paper.updated:%Y-%m-%d}")
    if paper.mailing:
        dates.append(f"announced in the {paper.mailing:%Y-%m-%d} mailing")
    if dates:
        lines.append("; ".join(dates))
    if paper.journal_ref:
        lines.append(f"journal: {paper.journal_ref}")
    if paper.doi:
        lines.append(f"doi: https://doi.org/{paper.doi}")
    if paper.comment:
        lines.append(textwrap.fill(f"comment: {paper.comment}", width))
    lines.append(f"{paper.abs_url} | {paper.pdf_url}")
    lines.append("")
    lines.append(textwrap.fill(paper.abstract, width) if paper.abstract else "(no abstract)")
    return "\n".join(lines)
