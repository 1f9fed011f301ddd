"""``hotpapers preview [--date D] [--category C]``: the day's digest as text, in the seed post's shape, with
what Discord shows: every author, counts and their time, code, the top posts about each paper."""

from __future__ import annotations

import argparse

from bot import ranking, taxonomy
from bot.cli.top import parse_mailing_date
from bot.clock import clock_from_env
from bot.config import Settings
from bot.digest import build_digest
from bot.errors import HotPapersError
from bot.render import digest_text
from bot.store import Store


def main(args: argparse.Namespace, settings: Settings) -> int:
    categories = (taxonomy.resolve_categories([args.category]) if args.category
                  else settings.ingest.categories)
    wanted = parse_mailing_date(args.date)
    store = Store(settings.database)
    try:
        latest = store.latest_mailing(list(categories))
        if latest is None:
            raise HotPapersError(f"no mailing of {', '.join(categories)} in the store yet; run"
                                 " 'hotpapers ingest' first")
        mailing = wanted or latest
        now = clock_from_env().now()
        day = ranking.rank_mailing(store, mailing, list(categories), settings.ranking.weights, now)
        if not day.papers and not day.unranked:
            raise HotPapersError(f"no {', '.join(categories)} papers in a {mailing} mailing (weekends and"
                                 f" holidays have none); the latest mailing is {latest}")
        digest = build_digest(mailing, day.papers, categories=categories, size=settings.digest.default_size,
                              min_score=settings.ranking.min_score)
        context = store.post_context([r.paper.id for r in digest.papers], now)
    finally:
        store.close()
    print(digest_text(digest, context), end="")
    return 0
