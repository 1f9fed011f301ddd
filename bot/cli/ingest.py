"""``hotpapers ingest [--categories a,b]``: record the latest mailing of each category."""

from __future__ import annotations

import argparse
import asyncio
import sys

from bot.clock import clock_from_env
from bot.config import Settings
from bot.ingest import IngestReport, ingest_latest
from bot.sources.arxiv import ArxivClient
from bot.store import AsyncStore
from bot.taxonomy import resolve_categories


def main(args: argparse.Namespace, settings: Settings) -> int:
    categories = (resolve_categories(args.categories.split(",")) if args.categories
                  else settings.ingest.categories)
    if not categories:
        print("hotpapers: no categories to ingest (give --categories or set [ingest] categories)",
              file=sys.stderr)
        return 1
    report = asyncio.run(_ingest(settings, categories))
    print(format_report(report))
    return 0


async def _ingest(settings: Settings, categories: tuple[str, ...]) -> IngestReport:
    store = AsyncStore(settings.database)
    await store.open()
    try:
        async with ArxivClient(settings, for_person=True) as client:
            return await ingest_latest(client, store, categories, now=clock_from_env().now())
    finally:
        await store.close()


def format_report(report: IngestReport) -> str:
    """Counts per mailing, then the feeds that had no mailing, for the terminal."""
    lines: list[str] = []
    for mailing in sorted(report.mailings):
        counts = report.mailings[mailing]
        categories = sorted({c for feed in report.feeds if feed.mailing == mailing and not feed.is_empty
                             for c in feed.categories})
        lines.append(f"mailing {mailing.isoformat()} ({', '.join(categories)}): {counts.new} new, "
                     f"{counts.updated} updated, {counts.cross_listed} cross-listed, "
                     f"{counts.skipped} skipped")
    if report.empty_categories:
        lines.append(f"no mailing today (weekend or holiday) for {', '.join(report.empty_categories)}")
    if report.bad_entries:
        lines.append(f"{report.bad_entries} unreadable feed entries skipped (see the log)")
    plural = "" if report.requests == 1 else "s"
    lines.append(f"{report.requests} request{plural} to arXiv")
    return "\n".join(lines)
