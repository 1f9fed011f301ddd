"""Store part: per-user subscriptions — users with their DM schedule, follows, pause state and DM channel.

Users are global (across servers), keyed by Discord user id. DM digests go through the shared delivery
ledger (``deliveries`` with ``target_kind = 'dm'`` and the user id as target, see :mod:`bot.store.digests`);
this part reads it to know each user's newest handled mailing, and ``forget_user`` deletes those entries too.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Literal

# A module import, not names: bot.subscriptions imports bot.digest, which imports this package.
import bot.subscriptions as subs
from bot.store.base import Database, Migration
from bot.store.digests import due_text

if TYPE_CHECKING:
    from bot.subscriptions import Follow, Frequency, Schedule, Subscriber

AddResult = Literal["added", "exists", "full"]


def _create_subscriptions(db: Database) -> None:
    db.execute("""
        CREATE TABLE sub_users (
            user_id INTEGER PRIMARY KEY,
            time TEXT NOT NULL,
            timezone TEXT NOT NULL,
            frequency TEXT NOT NULL DEFAULT 'daily',
            paused INTEGER NOT NULL DEFAULT 0,
            paused_reason TEXT,
            notice TEXT,
            dm_channel_id INTEGER,
            created_at TEXT NOT NULL
        )""")
    db.execute("""
        CREATE TABLE sub_follows (
            user_id INTEGER NOT NULL REFERENCES sub_users (user_id) ON DELETE CASCADE,
            kind TEXT NOT NULL,
            key TEXT NOT NULL,
            value TEXT NOT NULL,
            seq INTEGER NOT NULL,
            PRIMARY KEY (user_id, kind, key)
        ) WITHOUT ROWID""")


def _add_due_index(db: Database) -> None:
    # When each user next needs a look ('' = as soon as possible, after any change): see bot.store.digests.
    db.execute("ALTER TABLE sub_users ADD COLUMN due_at TEXT NOT NULL DEFAULT ''")
    db.execute("CREATE INDEX sub_users_due ON sub_users (due_at)")


def _iso(when: datetime) -> str:
    if when.tzinfo is None:
        raise ValueError("the store keeps aware datetimes only")
    return when.isoformat()


class SubscriptionsStore:
    db: Database
    SUBSCRIPTIONS_MIGRATIONS: Sequence[Migration] = (_create_subscriptions, _add_due_index)

    # ---- users ---------------------------------------------------------------------------------------------

    def _ensure_user(self, user_id: int, default: Schedule, now: datetime) -> None:
        self.db.execute(
            "INSERT INTO sub_users (user_id, time, timezone, frequency, created_at)"
            " VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            [user_id, default.time, default.timezone, default.frequency, _iso(now)])

    def user(self, user_id: int) -> Subscriber | None:
        """Everything stored about one user (what ``/subscriptions list`` shows and the DM needs)."""
        rows = list(self.db.query("SELECT * FROM sub_users WHERE user_id = ?", [user_id]))
        if not rows:
            return None
        return self._user(rows[0], self.follows(user_id), self._last_mailings([user_id]).get(user_id))

    @staticmethod
    def _user(row: dict[str, Any], follows: Sequence[Follow], last_mailing: date | None) -> Subscriber:
        return subs.Subscriber(
            user_id=row["user_id"], schedule=subs.Schedule(row["time"], row["timezone"], row["frequency"]),
            follows=tuple(follows), created_at=datetime.fromisoformat(row["created_at"]),
            dm_channel_id=row["dm_channel_id"], paused=bool(row["paused"]), last_mailing=last_mailing,
            paused_reason=row["paused_reason"], notice=row["notice"])

    def _last_mailings(self, user_ids: Sequence[int]) -> dict[int, date]:
        """Each user's newest mailing in the DM ledger (sent, sending, skipped or failed)."""
        found: dict[int, date] = {}
        for start in range(0, len(user_ids), 500):
            chunk = list(user_ids[start:start + 500])
            marks = ",".join("?" * len(chunk))
            for row in self.db.query(
                    "SELECT target_id, max(period) AS period FROM deliveries WHERE target_kind = 'dm'"  # noqa: S608
                    f" AND target_id IN ({marks}) GROUP BY target_id", chunk):
                found[row["target_id"]] = date.fromisoformat(row["period"])
        return found

    def follows(self, user_id: int) -> list[Follow]:
        """The user's follows in the order they were added."""
        return [subs.Follow(row["kind"], row["value"]) for row in self.db.query(
            "SELECT kind, value FROM sub_follows WHERE user_id = ? ORDER BY seq", [user_id])]

    def add_follow(self, user_id: int, follow: Follow, *, max_follows: int, default: Schedule,
                   now: datetime) -> AddResult:
        """Follow something; ``exists`` if already followed, ``full`` at ``max_follows`` (nothing changes)."""
        with self.db.conn:
            self._ensure_user(user_id, default, now)
            existing = list(self.db.query(
                "SELECT 1 FROM sub_follows WHERE user_id = ? AND kind = ? AND key = ?",
                [user_id, follow.kind, follow.key]))
            if existing:
                return "exists"
            count = next(iter(self.db.query(
                "SELECT count(*) AS n, coalesce(max(seq), 0) AS seq FROM sub_follows WHERE user_id = ?",
                [user_id])))
            if count["n"] >= max_follows:
                return "full"
            self.db.execute(
                "INSERT INTO sub_follows (user_id, kind, key, value, seq) VALUES (?, ?, ?, ?, ?)",
                [user_id, follow.kind, follow.key, follow.value, count["seq"] + 1])
            self.db.execute("UPDATE sub_users SET due_at = '' WHERE user_id = ?", [user_id])
        return "added"

    def remove_follow(self, user_id: int, follow: Follow) -> bool:
        with self.db.conn:
            cursor = self.db.execute(
                "DELETE FROM sub_follows WHERE user_id = ? AND kind = ? AND key = ?",
                [user_id, follow.kind, follow.key])
        return bool(cursor.rowcount)

    def set_schedule(self, user_id: int, *, default: Schedule, now: datetime, time: str | None = None,
                     timezone: str | None = None, frequency: Frequency | None = None) -> Schedule:
        """Change any of time, timezone and frequency; returns the schedule in force."""
        with self.db.conn:
            self._ensure_user(user_id, default, now)
            self.db.execute(
                "UPDATE sub_users SET time = coalesce(?, time), timezone = coalesce(?, timezone),"
                " frequency = coalesce(?, frequency), due_at = '' WHERE user_id = ?",
                [time, timezone, frequency, user_id])
        record = self.user(user_id)
        assert record is not None
        return record.schedule

    def set_paused(self, user_id: int, paused: bool, *, default: Schedule, now: datetime,
                   reason: str | None = None, notice: str | None = None) -> None:
        """Pause (with why, and optionally something to tell the user next time) or resume. Resuming starts
        the schedule afresh from ``now``: no DM for a slot that passed while paused."""
        with self.db.conn:
            self._ensure_user(user_id, default, now)
            if paused:
                self.db.execute(
                    "UPDATE sub_users SET paused = 1, paused_reason = ?, notice = coalesce(?, notice),"
                    " due_at = ? WHERE user_id = ?", [reason, notice, due_text(None), user_id])
            else:
                self.db.execute(
                    "UPDATE sub_users SET paused = 0, paused_reason = NULL, notice = NULL, created_at = ?,"
                    " due_at = '' WHERE user_id = ?", [_iso(now), user_id])

    def take_notice(self, user_id: int) -> str | None:
        """What the bot has to tell this user (e.g. their DMs were closed), cleared once taken."""
        rows = list(self.db.query("SELECT notice FROM sub_users WHERE user_id = ? AND notice IS NOT NULL",
                                  [user_id]))
        if not rows:
            return None
        with self.db.conn:
            self.db.execute("UPDATE sub_users SET notice = NULL WHERE user_id = ?", [user_id])
        return str(rows[0]["notice"])

    def set_dm_channel(self, user_id: int, channel_id: int | None) -> None:
        with self.db.conn:
            self.db.execute("UPDATE sub_users SET dm_channel_id = ? WHERE user_id = ?", [channel_id, user_id])

    def forget_user(self, user_id: int) -> bool:
        """Delete everything stored about the user: settings, follows and their DM ledger entries."""
        with self.db.conn:
            self.db.execute("DELETE FROM deliveries WHERE target_kind = 'dm' AND target_id = ?", [user_id])
            self.db.execute("DELETE FROM sub_follows WHERE user_id = ?", [user_id])
            cursor = self.db.execute("DELETE FROM sub_users WHERE user_id = ?", [user_id])
        return bool(cursor.rowcount)

    # ---- delivery ------------------------------------------------------------------------------------------

    def due_subscribers(self, now: datetime, limit: int = 100_000) -> list[Subscriber]:
        """The users due for a look at ``now`` (by the due index), with their follows and newest DM'd
        mailing; paused users and users following nothing included (the caller takes them off the index)."""
        rows = list(self.db.query("SELECT * FROM sub_users WHERE due_at <= ? ORDER BY due_at LIMIT ?",
                                  [due_text(now), limit]))
        ids = [row["user_id"] for row in rows]
        follows: dict[int, list[Follow]] = {}
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            marks = ",".join("?" * len(chunk))
            for row in self.db.query(
                    f"SELECT user_id, kind, value FROM sub_follows WHERE user_id IN ({marks})"  # noqa: S608
                    " ORDER BY user_id, seq", chunk):
                follows.setdefault(row["user_id"], []).append(subs.Follow(row["kind"], row["value"]))
        last = self._last_mailings(ids)
        return [self._user(row, follows.get(row["user_id"], []), last.get(row["user_id"])) for row in rows]

    def subscriber_count(self) -> int:
        return int(next(iter(self.db.query("SELECT count(*) AS n FROM sub_users")))["n"])
