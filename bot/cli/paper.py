"""``hotpapers paper ID_OR_URL [--json]``: one paper, from the store or else from arXiv (then kept)."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging

from bot.clock import clock_from_env
from bot.config import Settings
from bot.errors import UpstreamError
from bot.ids import ArxivId, parse_arxiv_id
from bot.models import Paper
from bot.render import paper_text
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
        now = clock_from_env().now()
        signals = store.latest_signals([paper.id], now).get(paper.id, {})
        extras = store.post_context([paper.id], now).of(paper.id)
    finally:
        store.close()
    if args.json:
        from bot.jsonout import paper_json

        print(json.dumps(paper_json(paper), ensure_ascii=False, indent=2))
    else:
        print(paper_text(paper, signals, extras), end="")
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
