"""``hotpapers search QUERY [--limit N] [--category C] [--json]``: full-text search over stored papers."""

from __future__ import annotations

import argparse
import json
import sys

from bot.config import Settings
from bot.errors import HotPapersError
from bot.jsonout import paper_json
from bot.render import shorten_authors, tidy
from bot.search.rank import Hit, explain, highlight
from bot.store import Store
from bot.taxonomy import canonical_category

MAX_LIMIT = 100


def main(args: argparse.Namespace, settings: Settings) -> int:
    if not 1 <= args.limit <= MAX_LIMIT:
        raise HotPapersError(f"--limit must be between 1 and {MAX_LIMIT}")
    category = canonical_category(args.category) if args.category else None
    if not settings.database_exists():
        raise HotPapersError(f"no database at {settings.db_path}; run 'hotpapers ingest' or "
                             "'hotpapers backfill FILE' first (or set HOTPAPERS_DB)")
    store = Store(settings.database)
    try:
        store.catch_up_search_index()
        hits = store.search_hits(args.query, limit=args.limit, category=category,
                                 weights=settings.ranking.weights)
    finally:
        store.close()
    if args.json:
        print(json.dumps({"query": args.query, "results": [paper_json(hit.paper) for hit in hits]},
                         ensure_ascii=False, indent=2))
    elif not hits:
        print("no papers match" + (f" in {category}" if category else ""))
    else:
        bold = ("\033[1m", "\033[0m") if sys.stdout.isatty() else ("**", "**")
        print("\n\n".join(format_result(rank, hit, bold) for rank, hit in enumerate(hits, start=1)))
    return 0


def format_result(rank: int, hit: Hit, bold: tuple[str, str] = ("**", "**")) -> str:
    """One search result as three lines: the title with the words that matched in bold; authors, category,
    year and why it matched; link."""
    paper = hit.paper
    title = highlight(tidy(paper.title), hit.title_terms, mark=bold)
    authors = shorten_authors(paper.authors)
    return (f"{rank:>2}. {title}\n"
            f"    {authors} · {paper.primary_category} · {explain(hit)}\n"
            f"    {paper.abs_url}")
