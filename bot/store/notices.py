"""Store part: follow-up notices ("v2 is out", "code released", "published in …") for the people watching a
paper (it is on their reading list, or they voted for it), and what each watched paper looked like when last
looked at (SQL for them lives here)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.models import Notice
from bot.store.base import Database, Migration
from bot.store.signals import _moment, _stamp


def _create_notices(db: Database) -> None:
    db.execute("""
        CREATE TABLE followup_seen (
            paper_id TEXT PRIMARY KEY,
            version INTEGER NOT NULL,
            code TEXT,                -- the repository URL, once one is known
            published TEXT            -- the journal reference or DOI, once one is known
        ) WITHOUT ROWID""")
    db.execute("""
        CREATE TABLE notices (
            user_id INTEGER NOT NULL,
            paper_id TEXT NOT NULL,
            event TEXT NOT NULL,        -- v<N>, code, published: one notice per (user, paper, event)
            detail TEXT NOT NULL,       -- the new version's comment, the repository, the journal
            created_at TEXT NOT NULL,
            told_at TEXT,               -- when a DM carried it (NULL: pending)
            PRIMARY KEY (user_id, paper_id, event)
        ) WITHOUT ROWID""")
    db.execute("CREATE INDEX notices_pending ON notices (user_id, told_at)")
    db.execute("CREATE INDEX saved_papers_by_paper ON saved_papers (paper_id)")  # who watches a paper


@dataclass(frozen=True, slots=True)
class Seen:
    """What a watched paper looked like when last looked at."""

    version: int
    code: str | None
    published: str | None


class NoticesStore:
    db: Database
    NOTICES_MIGRATIONS: Sequence[Migration] = (_create_notices,)

    def watched_papers(self, user_id: int) -> list[str]:
        """The papers the user watches: on their reading list, or voted for in any server."""
        return [row[0] for row in self.db.conn.execute(
            "SELECT paper_id FROM saved_papers WHERE user_id = ? UNION SELECT paper_id FROM votes WHERE user_id = ?",
            [user_id, user_id])]

    def with_followups(self, user_ids: Sequence[int]) -> set[int]:
        """Which of the users watch a paper or have an untold notice (the others' follow-ups are nothing)."""
        found: set[int] = set()
        ids = list(user_ids)
        for start in range(0, len(ids), 300):
            chunk = ids[start:start + 300]
            marks = ",".join("?" * len(chunk))
            found.update(row[0] for row in self.db.conn.execute(
                f"SELECT user_id FROM saved_papers WHERE user_id IN ({marks})"  # noqa: S608
                f" UNION SELECT user_id FROM votes WHERE user_id IN ({marks})"
                f" UNION SELECT user_id FROM notices WHERE told_at IS NULL AND user_id IN ({marks})", chunk * 3))
        return found

    def watchers(self, paper_ids: Sequence[str]) -> dict[str, set[int]]:
        """Paper id → the people watching it (saved it, or voted for it in any server)."""
        found: dict[str, set[int]] = {}
        ids = list(paper_ids)
        for start in range(0, len(ids), 400):
            chunk = ids[start:start + 400]
            marks = ",".join("?" * len(chunk))
            for paper_id, user_id in self.db.conn.execute(
                    f"SELECT paper_id, user_id FROM saved_papers WHERE paper_id IN ({marks})"  # noqa: S608
                    f" UNION SELECT paper_id, user_id FROM votes WHERE paper_id IN ({marks})", chunk + chunk):
                found.setdefault(paper_id, set()).add(user_id)
        return found

    def followup_seen(self, paper_ids: Sequence[str]) -> dict[str, Seen]:
        seen: dict[str, Seen] = {}
        ids = list(paper_ids)
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            rows = self.db.conn.execute(
                f"SELECT paper_id, version, code, published FROM followup_seen"  # noqa: S608
                f" WHERE paper_id IN ({','.join('?' * len(chunk))})", chunk).fetchall()
            seen.update((row[0], Seen(row[1], row[2], row[3])) for row in rows)
        return seen

    def record_followups(self, seen: Mapping[str, Seen], notices: Iterable[Notice]) -> int:
        """Remember how the papers look now and add the notices (each (user, paper, event) once); returns how
        many notices were new."""
        with self.db.conn:
            self.db.conn.executemany(
                "INSERT INTO followup_seen (paper_id, version, code, published) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (paper_id) DO UPDATE SET version = excluded.version, code = excluded.code,"
                " published = excluded.published",
                [(paper_id, s.version, s.code, s.published) for paper_id, s in seen.items()])
            added = 0
            for n in notices:
                added += self.db.conn.execute(
                    "INSERT INTO notices (user_id, paper_id, event, detail, created_at) VALUES (?, ?, ?, ?, ?)"
                    " ON CONFLICT DO NOTHING",
                    [n.user_id, n.paper_id, n.event, n.detail, _stamp(n.created_at)]).rowcount
            return added

    def pending_notices(self, user_id: int) -> list[Notice]:
        """The user's notices no DM has carried yet, oldest first."""
        rows = self.db.conn.execute(
            "SELECT user_id, paper_id, event, detail, created_at FROM notices"
            " WHERE user_id = ? AND told_at IS NULL ORDER BY created_at, paper_id, event", [user_id]).fetchall()
        return [Notice(r[0], r[1], r[2], r[3], _moment(r[4])) for r in rows]

    def mark_told(self, user_id: int, keys: Sequence[tuple[str, str]], now: datetime) -> None:
        """Record that a DM carried these (paper id, event) notices."""
        with self.db.conn:
            self.db.conn.executemany(
                "UPDATE notices SET told_at = ? WHERE user_id = ? AND paper_id = ? AND event = ?",
                [(_stamp(now), user_id, paper_id, event) for paper_id, event in keys])
