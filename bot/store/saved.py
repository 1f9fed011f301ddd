"""Store part: each person's reading list (papers saved with the "Save" control; SQL for it lives here)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.models import Paper
from bot.store.base import Database, Migration
from bot.store.papers import _SELECT_PAPER, _paper
from bot.store.signals import _moment, _stamp


def _create_saved(db: Database) -> None:
    db.execute("""
        CREATE TABLE saved_papers (
            user_id INTEGER NOT NULL,
            paper_id TEXT NOT NULL REFERENCES papers(id),
            saved_at TEXT NOT NULL,     -- UTC, fixed-width ISO 8601
            PRIMARY KEY (user_id, paper_id)
        ) WITHOUT ROWID""")
    db.execute("CREATE INDEX saved_papers_by_time ON saved_papers (user_id, saved_at)")


_NO_LIMIT = 2**62  # LIMIT for "all" that both engines accept (PostgreSQL refuses SQLite's -1)


@dataclass(frozen=True, slots=True)
class SavedPaper:
    paper: Paper
    saved_at: datetime


class SavedStore:
    db: Database
    SAVED_MIGRATIONS: Sequence[Migration] = (_create_saved,)

    def save_paper(self, user_id: int, paper_id: str, now: datetime) -> bool:
        """Put a stored paper on the user's list; False when it already was there (nothing changes)."""
        with self.db.conn:
            cursor = self.db.conn.execute(
                "INSERT INTO saved_papers (user_id, paper_id, saved_at) VALUES (?, ?, ?)"
                " ON CONFLICT (user_id, paper_id) DO NOTHING", [user_id, paper_id, _stamp(now)])
        return bool(cursor.rowcount > 0)

    def unsave_paper(self, user_id: int, paper_id: str) -> bool:
        """Take a paper off the user's list; False when it was not on it."""
        with self.db.conn:
            cursor = self.db.conn.execute(
                "DELETE FROM saved_papers WHERE user_id = ? AND paper_id = ?", [user_id, paper_id])
        return bool(cursor.rowcount > 0)

    def saved_count(self, user_id: int) -> int:
        count: int = self.db.conn.execute(
            "SELECT count(*) FROM saved_papers WHERE user_id = ?", [user_id]).fetchone()[0]
        return count

    def saved_papers(self, user_id: int, *, offset: int = 0, limit: int | None = None) -> list[SavedPaper]:
        """The user's saved papers, the most recently saved first (ties by id)."""
        rows = self.db.conn.execute(
            "SELECT s.saved_at, p.* FROM saved_papers s"  # noqa: S608
            f" JOIN ({_SELECT_PAPER}) p ON p.id = s.paper_id WHERE s.user_id = ?"
            " ORDER BY s.saved_at DESC, s.paper_id LIMIT ? OFFSET ?",
            [user_id, _NO_LIMIT if limit is None else limit, offset]).fetchall()
        return [SavedPaper(_paper(row[1:]), _moment(row[0])) for row in rows]

    def saved_matching(self, user_id: int, text: str, limit: int = 25) -> list[Paper]:
        """The user's saved papers whose id or title contains ``text`` (any case), most recent first."""
        needle = f"%{text.strip().lower()}%"
        rows = self.db.conn.execute(
            f"SELECT p.* FROM saved_papers s JOIN ({_SELECT_PAPER}) p ON p.id = s.paper_id"  # noqa: S608
            " WHERE s.user_id = ? AND (lower(p.id) LIKE ? OR lower(p.title) LIKE ?)"
            " ORDER BY s.saved_at DESC, s.paper_id LIMIT ?", [user_id, needle, needle, limit]).fetchall()
        return [_paper(row) for row in rows]
