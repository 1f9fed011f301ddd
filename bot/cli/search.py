"""``hotpapers search QUERY [--limit N] [--category C] [--json]``: full-text search over stored papers."""

from __future__ import annotations

import argparse
import json

from bot.config import Settings
from bot.errors import HotPapersError
from bot.jsonout import paper_json
from bot.models import Paper
from bot.render import shorten_authors
from bot.store import Store
from bot.taxonomy import canonical_category

MAX_LIMIT = 100


def main(args: argparse.Namespace, settings: Settings) -> int:
    if not 1 <= args.limit <= MAX_LIMIT:
        raise HotPapersError(f"--limit must be between 1 and {MAX_LIMIT}")
    category = canonical_category(args.category) if args.category else None
    if not settings.db_path.is_file():
        raise HotPapersError(f"no database at {settings.db_path}; run 'hotpapers ingest' or "
                             "'hotpapers backfill FILE' first (or set HOTPAPERS_DB)")
    store = Store(settings.db_path)
    try:
        papers = store.search(args.query, limit=args.limit, category=category, weights=settings.ranking.weights)
    finally:
        store.close()
    if args.json:
        print(json.dumps({"query": args.query, "results": [paper_json(paper) for paper in papers]},
                         ensure_ascii=False, indent=2))
    elif not papers:
        print("no papers match" + (f" in {category}" if category else ""))
    else:
        print("\n\n".join(format_result(rank, paper) for rank, paper in enumerate(papers, start=1)))
    return 0


def format_result(rank: int, paper: Paper) -> str:
    """One search result as three lines: title, authors and facts, link."""
    authors = shorten_authors(paper.authors)
    when = (paper.published.date().isoformat() if paper.published
            else f"mailing {paper.mailing.isoformat()}" if paper.mailing else "date unknown")
    return (f"{rank:>2}. {paper.title}\n"
            f"    {authors} · {paper.primary_category} · {when}\n"
            f"    {paper.abs_url}")
