"""Store part: members' votes on digest papers, per server (SQL for them lives here).

A vote is (server, paper, member): one per member per paper in each server, toggled by voting again. Only
counts ever leave this module, never who voted.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

from bot.store.base import Database, Migration
from bot.store.signals import _stamp

_CHUNK = 500  # paper ids per IN (...) query, well under SQLite's variable limit


def _create_votes(db: Database) -> None:
    db.execute("""
        CREATE TABLE votes (
            guild_id INTEGER NOT NULL,
            paper_id TEXT NOT NULL,
            user_id INTEGER NOT NULL,
            voted_at TEXT NOT NULL,     -- UTC, fixed-width ISO 8601
            PRIMARY KEY (paper_id, guild_id, user_id)
        ) WITHOUT ROWID""")
    db.execute("CREATE INDEX votes_by_user ON votes (user_id)")


def _create_paper_threads(db: Database) -> None:
    db.execute("""
        CREATE TABLE paper_threads (
            channel_id INTEGER NOT NULL,  -- the digest's channel
            paper_id TEXT NOT NULL,
            thread_id INTEGER NOT NULL,
            PRIMARY KEY (channel_id, paper_id)
        ) WITHOUT ROWID""")


def _create_refreshes(db: Database) -> None:
    db.execute("""
        CREATE TABLE digest_refreshes (
            channel_id INTEGER NOT NULL,
            period TEXT NOT NULL,
            refreshed_at TEXT NOT NULL,  -- when its messages were last edited with fresh counts
            PRIMARY KEY (channel_id, period)
        ) WITHOUT ROWID""")


def _create_rising(db: Database) -> None:
    db.execute("""
        CREATE TABLE rising_shown (
            channel_id INTEGER NOT NULL,
            paper_id TEXT NOT NULL,
            shown_at TEXT NOT NULL,
            PRIMARY KEY (channel_id, paper_id)
        ) WITHOUT ROWID""")


class VotesStore:
    db: Database
    VOTES_MIGRATIONS: Sequence[Migration] = (_create_votes, _create_paper_threads, _create_refreshes,
                                             _create_rising)

    def toggle_vote(self, guild_id: int, paper_id: str, user_id: int, now: datetime) -> tuple[bool, int]:
        """Vote for the paper in the server, or take the member's vote back when there was one; returns
        (whether the member now votes for it, the paper's count in that server)."""
        with self.db.conn:
            removed = self.db.conn.execute(
                "DELETE FROM votes WHERE paper_id = ? AND guild_id = ? AND user_id = ?",
                [paper_id, guild_id, user_id]).rowcount
            if not removed:
                self.db.conn.execute(
                    "INSERT INTO votes (guild_id, paper_id, user_id, voted_at) VALUES (?, ?, ?, ?)",
                    [guild_id, paper_id, user_id, _stamp(now)])
            count: int = self.db.conn.execute(
                "SELECT count(*) FROM votes WHERE paper_id = ? AND guild_id = ?", [paper_id, guild_id]
            ).fetchone()[0]
        return not removed, count

    def vote_counts(self, paper_ids: Sequence[str], guild_id: int | None = None) -> Mapping[str, int]:
        """Votes per paper (papers without any left out): in one server, or in every server when None."""
        counts: dict[str, int] = {}
        ids = list(dict.fromkeys(paper_ids))
        for start in range(0, len(ids), _CHUNK):
            chunk = ids[start:start + _CHUNK]
            marks = ",".join("?" * len(chunk))
            where = "" if guild_id is None else " AND guild_id = ?"
            rows = self.db.conn.execute(
                f"SELECT paper_id, count(*) FROM votes WHERE paper_id IN ({marks}){where}"  # noqa: S608
                " GROUP BY paper_id", [*chunk, *([] if guild_id is None else [guild_id])]).fetchall()
            counts.update((paper_id, n) for paper_id, n in rows)
        return counts

    def voting_guilds(self) -> frozenset[int]:
        """The servers with any vote."""
        return frozenset(row[0] for row in self.db.conn.execute("SELECT DISTINCT guild_id FROM votes"))

    def paper_thread(self, channel_id: int, paper_id: str) -> int | None:
        """The thread opened with "Discuss" about the paper in the channel, if any."""
        row = self.db.conn.execute("SELECT thread_id FROM paper_threads WHERE channel_id = ? AND paper_id = ?",
                                   [channel_id, paper_id]).fetchone()
        return int(row[0]) if row else None

    def set_paper_thread(self, channel_id: int, paper_id: str, thread_id: int) -> None:
        with self.db.conn:
            self.db.conn.execute(
                "INSERT INTO paper_threads (channel_id, paper_id, thread_id) VALUES (?, ?, ?)"
                " ON CONFLICT (channel_id, paper_id) DO UPDATE SET thread_id = excluded.thread_id",
                [channel_id, paper_id, thread_id])

    def digests_to_refresh(self, posted_since: datetime, last_before: datetime) -> list[tuple[int, str]]:
        """(channel id, period) of the channel digests finished (all sent) since ``posted_since`` whose counts
        were last refreshed (or posted) before ``last_before``, oldest first."""
        rows = self.db.conn.execute(
            "SELECT d.target_id, d.period FROM deliveries d LEFT JOIN digest_refreshes r"
            " ON r.channel_id = d.target_id AND r.period = d.period"
            " WHERE d.target_kind = 'channel' AND d.status = 'done' AND d.finished_at >= ?"
            " AND coalesce(r.refreshed_at, d.finished_at) < ? ORDER BY d.finished_at",
            [posted_since.astimezone(UTC).isoformat(), last_before.astimezone(UTC).isoformat()]).fetchall()
        return [(int(target_id), str(period)) for target_id, period in rows]

    def mark_refreshed(self, channel_id: int, period: str, now: datetime) -> None:
        with self.db.conn:
            self.db.conn.execute(
                "INSERT INTO digest_refreshes (channel_id, period, refreshed_at) VALUES (?, ?, ?)"
                " ON CONFLICT (channel_id, period) DO UPDATE SET refreshed_at = excluded.refreshed_at",
                [channel_id, period, now.astimezone(UTC).isoformat()])

    def rising_shown(self, channel_id: int, paper_ids: Sequence[str]) -> set[str]:
        """Those of ``paper_ids`` a digest of the channel already showed as rising."""
        if not paper_ids:
            return set()
        rows = self.db.conn.execute(
            f"SELECT paper_id FROM rising_shown WHERE channel_id = ? AND paper_id IN"  # noqa: S608
            f" ({','.join('?' * len(paper_ids))})", [channel_id, *paper_ids]).fetchall()
        return {row[0] for row in rows}

    def record_rising(self, channel_id: int, paper_ids: Sequence[str], now: datetime) -> None:
        with self.db.conn:
            self.db.conn.executemany(
                "INSERT INTO rising_shown (channel_id, paper_id, shown_at) VALUES (?, ?, ?)"
                " ON CONFLICT DO NOTHING", [(channel_id, p, now.astimezone(UTC).isoformat()) for p in paper_ids])
