"""Ingest: fetch the latest mailing of each followed category and record it in the store.

Categories are joined into as few ``cat1+cat2`` feed requests as fit a sane URL, so a typical list of five
categories costs one request. Re-running changes nothing: the store counts every entry as skipped.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from bot.mailing import EASTERN
from bot.models import Announcement
from bot.sources.arxiv import ArxivClient, feed_groups
from bot.store import AsyncStore, IngestCounts, Store

log = logging.getLogger(__name__)

STALE_AFTER = timedelta(days=5)  # a feed older than this (a long weekend is 3 days) is worth a warning


@dataclass(frozen=True, slots=True)
class FeedResult:
    """One feed request: which categories, which mailing it carried, how many items were read or skipped."""

    categories: tuple[str, ...]
    mailing: date | None
    entries: int
    bad_entries: int

    @property
    def is_empty(self) -> bool:
        """An empty feed: no mailing today (weekend or holiday)."""
        return self.entries == 0


@dataclass
class IngestReport:
    """What one ingest did, per mailing, plus the feeds it read."""

    checked_at: datetime
    feeds: list[FeedResult] = field(default_factory=list)
    mailings: dict[date, IngestCounts] = field(default_factory=dict)
    requests: int = 0

    @property
    def totals(self) -> IngestCounts:
        total = IngestCounts()
        for counts in self.mailings.values():
            total.add(counts)
        return total

    @property
    def bad_entries(self) -> int:
        return sum(feed.bad_entries for feed in self.feeds)

    @property
    def empty_categories(self) -> tuple[str, ...]:
        """Categories whose feed was empty (no mailing today)."""
        return tuple(category for feed in self.feeds if feed.is_empty for category in feed.categories)


async def ingest_latest(client: ArxivClient, store: AsyncStore, categories: Sequence[str], *,
                        now: datetime) -> IngestReport:
    """Fetch the latest mailing of ``categories`` (canonical codes) and record it; returns what changed."""
    report = IngestReport(checked_at=now)
    requests_before = client.requests
    by_mailing: dict[date, list[Announcement]] = {}  # all feeds' entries, so a paper counts once per mailing
    for group in feed_groups(categories):
        feed = await client.announcements(group)
        report.feeds.append(FeedResult(group, feed.mailing, feed.entries, feed.skipped))
        if feed.is_empty:
            log.info("%s: empty feed (no mailing today: weekend or holiday)", "+".join(group))
            continue
        if feed.mailing is not None and now.astimezone(EASTERN).date() - feed.mailing > STALE_AFTER:
            log.warning("%s: the feed still carries the %s mailing", "+".join(group), feed.mailing)
        for announcement in feed.announcements:
            by_mailing.setdefault(announcement.mailing, []).append(announcement)
    for mailing, announcements in by_mailing.items():
        report.mailings[mailing] = await store.run(Store.record_announcements, announcements)
    report.requests = client.requests - requests_before
    return report
