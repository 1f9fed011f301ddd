"""Where each OAI-PMH harvest stands, per set: the list in progress (its resumption token) and the datestamp the
next incremental list starts from. A page's papers and the state after it are written in one transaction, so a
harvest stopped at any moment (Ctrl-C, SIGKILL) resumes at the first page it did not store."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING

from bot.models import Paper
from bot.store.base import Database, Migration
from bot.store.papers import IngestCounts, PaperRow, paper_row


@dataclass(frozen=True)
class HarvestState:
    """One set's harvest (``set_spec`` "" is all of arXiv).

    While a list is in progress, ``token`` names its next page, ``list_from`` is the ``from`` it was asked
    with (None: from the beginning), ``records`` counts the records stored so far and ``newest`` is the latest
    datestamp seen; ``ordered`` stays true while the list came in datestamp order. ``next_from`` is where the
    next list starts (the latest datestamp of the last completed list; None: never completed).
    """

    set_spec: str
    token: str | None = None
    list_from: date | None = None
    records: int = 0
    list_size: int | None = None
    newest: date | None = None
    ordered: bool = True
    next_from: date | None = None
    completed_at: datetime | None = None

    @property
    def in_progress(self) -> bool:
        return self.token is not None


def _create_harvest_state(db: Database) -> None:
    db.execute("""
        CREATE TABLE harvest_state (
            set_spec TEXT PRIMARY KEY,          -- '' for all of arXiv
            token TEXT,                         -- next page of the list in progress; NULL: none in progress
            list_from TEXT,                     -- YYYY-MM-DD `from` of the list in progress
            records INTEGER NOT NULL DEFAULT 0,
            list_size INTEGER,                  -- completeListSize, when arXiv sends it
            newest TEXT,                        -- latest datestamp seen in the list in progress
            ordered INTEGER NOT NULL DEFAULT 1, -- the list so far came in datestamp order
            next_from TEXT,                     -- where the next list starts
            completed_at TEXT                   -- ISO 8601 UTC: when a list last completed
        )""")


def _day(text: str | None) -> date | None:
    return date.fromisoformat(text) if text else None


class HarvestStore:
    db: Database

    if TYPE_CHECKING:  # provided by PaperStore in the composed Store
        def _upsert_counts(self, rows: Sequence[PaperRow]) -> IngestCounts: ...

    HARVEST_MIGRATIONS: Sequence[Migration] = (_create_harvest_state,)

    def harvest_state(self, set_spec: str) -> HarvestState | None:
        """Where the harvest of ``set_spec`` stands; None if it never stored a page."""
        row = self.db.conn.execute(
            "SELECT set_spec, token, list_from, records, list_size, newest, ordered, next_from, completed_at"
            " FROM harvest_state WHERE set_spec = ?", [set_spec]).fetchone()
        if row is None:
            return None
        return HarvestState(row[0], row[1], _day(row[2]), row[3], row[4], _day(row[5]), bool(row[6]),
                            _day(row[7]), datetime.fromisoformat(row[8]) if row[8] else None)

    def harvest_states(self) -> list[HarvestState]:
        """Every set ever harvested, by set spec."""
        specs = [row[0] for row in self.db.conn.execute("SELECT set_spec FROM harvest_state ORDER BY 1")]
        return [state for spec in specs if (state := self.harvest_state(spec)) is not None]

    def store_harvest_page(self, papers: Sequence[Paper], state: HarvestState) -> IngestCounts:
        """Upsert one page's papers (an older version never overwrites a newer one) and record ``state``, the
        harvest after this page, in one transaction."""
        rows = [paper_row(paper) for paper in papers]
        with self.db.conn:
            counts = self._upsert_counts(rows)
            self.db.conn.execute(
                "INSERT INTO harvest_state (set_spec, token, list_from, records, list_size, newest,"
                " ordered, next_from, completed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (set_spec) DO UPDATE SET token = excluded.token, list_from = excluded.list_from,"
                " records = excluded.records, list_size = excluded.list_size, newest = excluded.newest,"
                " ordered = excluded.ordered, next_from = excluded.next_from,"
                " completed_at = excluded.completed_at",
                [state.set_spec, state.token, _iso(state.list_from), state.records, state.list_size,
                 _iso(state.newest), int(state.ordered), _iso(state.next_from),
                 state.completed_at.isoformat() if state.completed_at else None])
        return counts


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day is not None else None
