"""Papers, their announcements per mailing, and full-text search."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

import sqlite_utils

from bot.models import Announcement, Paper
from bot.store.base import Migration


@dataclass
class IngestCounts:
    """What one ingest changed: new papers, updated ones, cross-lists, and entries skipped as unchanged/bad."""

    new: int = 0
    updated: int = 0
    cross_listed: int = 0
    skipped: int = 0


def _create_papers(db: sqlite_utils.Database) -> None:
    raise NotImplementedError  # owned by the store engineer


class PaperStore:
    db: sqlite_utils.Database
    PAPER_MIGRATIONS: Sequence[Migration] = (_create_papers,)

    def record_announcements(self, announcements: Iterable[Announcement]) -> IngestCounts:
        """Upsert the papers of feed entries and remember (mailing, category, announce type); idempotent."""
        raise NotImplementedError

    def upsert_papers(self, papers: Iterable[Paper]) -> IngestCounts:
        """Insert or update papers (from the API or a backfill) without touching their mailings."""
        raise NotImplementedError

    def paper(self, paper_id: str) -> Paper | None:
        """One paper by canonical (versionless) id."""
        raise NotImplementedError

    def search(self, query: str, *, limit: int = 10, category: str | None = None,
               since: date | None = None, until: date | None = None) -> list[Paper]:
        """Best matches for any user text (never raises on odd input)."""
        raise NotImplementedError

    def title_suggestions(self, text: str, *, limit: int = 25) -> list[Paper]:
        """Papers whose titles best complete what a user is typing (autocomplete; must be fast)."""
        raise NotImplementedError

    def mailing_papers(self, mailing: date, categories: Sequence[str] | None = None) -> list[Paper]:
        """Papers announced new or cross in ``mailing`` (in any of ``categories`` if given, aliases resolved)."""
        raise NotImplementedError

    def latest_mailing(self, categories: Sequence[str] | None = None, *, on_or_before: date | None = None
                       ) -> date | None:
        """The most recent mailing we hold (for those categories)."""
        raise NotImplementedError

    def mailings(self, *, since: date | None = None) -> list[date]:
        """Every mailing date we hold, oldest first."""
        raise NotImplementedError
