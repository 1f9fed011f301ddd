"""``hotpapers paper ID_OR_URL [--json]``: one paper, from the store or else from arXiv (then kept)."""

from __future__ import annotations

import argparse
import asyncio
import json

from bot.clock import clock_from_env
from bot.config import Settings
from bot.ids import ArxivId, parse_arxiv_id
from bot.lookup import PaperView, find_paper
from bot.models import PaperExtras
from bot.render import paper_text
from bot.store import AsyncStore, Store


def main(args: argparse.Namespace, settings: Settings) -> int:
    view, extras = asyncio.run(_lookup(settings, parse_arxiv_id(args.query)))
    if args.json:
        from bot.jsonout import paper_json

        document = {**paper_json(view.paper),
                    "signals": {source: dict(signal.counts) for source, signal in view.signals.items()}}
        print(json.dumps(document, ensure_ascii=False, indent=2))
    else:
        print(paper_text(view.paper, view.signals, extras), end="")
    return 0


async def _lookup(settings: Settings, arxiv_id: ArxivId) -> tuple[PaperView, PaperExtras]:
    """The same lookup as the bot's ``/paper``: the store, else arXiv (and kept); a stored paper is shown
    even when arXiv has lost it or does not answer."""
    store = AsyncStore(settings.database)
    await store.open()
    try:
        now = clock_from_env().now()
        view = await find_paper(store, settings, arxiv_id, now)
        context = await store.run(Store.post_context, [view.paper.id], now)
        return view, context.of(view.paper.id)
    finally:
        await store.close()
