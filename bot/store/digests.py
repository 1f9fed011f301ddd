"""Store part: channel digest settings, the delivery ledger (channels and DMs), skipped runs, bot metadata.

The ledger is what makes delivery exactly-once. :meth:`DigestsStore.begin_delivery` writes one entry per
(target, period) together with every message planned for it, before anything is sent; each message is then
completed with the id Discord gave it. A restart finds the unfinished entry and sends only what has no id yet,
from the stored payloads (so the digest it finishes is the one it started, even if rankings moved meanwhile).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from bot.models import ChannelDigest as ChannelDigest  # re-exported: defined with the other plain data
from bot.store.base import Database, Migration

TargetKind = Literal["channel", "dm", "test"]  # test: a /subscriptions test DM (not the day's)
DeliveryStatus = Literal["sending", "done", "skipped", "failed"]


@dataclass(frozen=True, slots=True)
class PlannedMessage:
    """A message planned in the ledger; ``message_id`` is set once Discord accepted it."""

    seq: int
    payload: dict[str, Any]  # {"content": str | None, "embeds": [embed dicts], "mention_role": int | None}
    nonce: str
    marker: str  # text that identifies the message in the channel's history
    in_thread: bool = False
    message_id: int | None = None
    channel_id: int | None = None


@dataclass(frozen=True, slots=True)
class DeliveryRecord:
    kind: TargetKind
    target_id: int
    period: str
    status: DeliveryStatus
    created_at: datetime
    guild_id: int | None = None
    thread_id: int | None = None
    reason: str | None = None
    finished_at: datetime | None = None
    messages: tuple[PlannedMessage, ...] = field(default=())

    @property
    def pending(self) -> tuple[PlannedMessage, ...]:
        return tuple(m for m in self.messages if m.message_id is None)


def _create_digests(db: Database) -> None:
    db.execute("""
        CREATE TABLE channel_digests (
            channel_id INTEGER PRIMARY KEY,
            guild_id INTEGER NOT NULL,
            time TEXT NOT NULL,
            timezone TEXT NOT NULL,
            categories TEXT NOT NULL,
            size INTEGER NOT NULL,
            thread INTEGER NOT NULL DEFAULT 0,
            min_score REAL,
            mention_role INTEGER,
            paused INTEGER NOT NULL DEFAULT 0,
            failures INTEGER NOT NULL DEFAULT 0,
            last_error TEXT,
            last_error_at TEXT,
            disabled_reason TEXT,
            active_since TEXT NOT NULL
        )""")
    db.execute("CREATE INDEX channel_digests_guild ON channel_digests (guild_id)")
    db.execute("""
        CREATE TABLE deliveries (
            target_kind TEXT NOT NULL,
            target_id INTEGER NOT NULL,
            period TEXT NOT NULL,
            status TEXT NOT NULL,
            guild_id INTEGER,
            thread_id INTEGER,
            reason TEXT,
            created_at TEXT NOT NULL,
            finished_at TEXT,
            PRIMARY KEY (target_kind, target_id, period)
        )""")
    db.execute("CREATE INDEX deliveries_status ON deliveries (status) WHERE status = 'sending'")
    db.execute("""
        CREATE TABLE delivery_messages (
            target_kind TEXT NOT NULL,
            target_id INTEGER NOT NULL,
            period TEXT NOT NULL,
            seq INTEGER NOT NULL,
            payload TEXT NOT NULL,
            nonce TEXT NOT NULL,
            marker TEXT NOT NULL,
            in_thread INTEGER NOT NULL DEFAULT 0,
            message_id INTEGER,
            channel_id INTEGER,
            PRIMARY KEY (target_kind, target_id, period, seq),
            FOREIGN KEY (target_kind, target_id, period)
                REFERENCES deliveries (target_kind, target_id, period) ON DELETE CASCADE
        )""")
    db.execute("CREATE TABLE bot_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")


def _add_due_index(db: Database) -> None:
    # The due index: when each channel digest next needs a look ('' = as soon as possible, after any change
    # of its settings). A tick reads only the rows due, so a tick with nothing due costs one index probe.
    db.execute("ALTER TABLE channel_digests ADD COLUMN due_at TEXT NOT NULL DEFAULT ''")
    db.execute("CREATE INDEX channel_digests_due ON channel_digests (due_at)")
    db.execute("CREATE INDEX deliveries_finished ON deliveries (finished_at) WHERE status != 'sending'")


NEVER = "9999-12-31T00:00:00"  # due_at of a digest or subscriber that is off until someone changes it


def due_text(when: datetime | None) -> str:
    """``when`` as the due index keeps it (UTC, second precision, sortable as text); None → ``NEVER``."""
    if when is None:
        return NEVER
    if when.tzinfo is None:
        raise ValueError("the store keeps aware datetimes only")
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")


def _iso(when: datetime | None) -> str | None:
    if when is None:
        return None
    if when.tzinfo is None:
        raise ValueError("the store keeps aware datetimes only")
    return when.isoformat()


def _dt(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def _channel_digest(row: dict[str, Any]) -> ChannelDigest:
    active_since = _dt(row["active_since"])
    assert active_since is not None
    return ChannelDigest(
        guild_id=row["guild_id"], channel_id=row["channel_id"], time=row["time"], timezone=row["timezone"],
        categories=tuple(c for c in row["categories"].split(",") if c), size=row["size"],
        active_since=active_since, thread=bool(row["thread"]), min_score=row["min_score"],
        mention_role=row["mention_role"], paused=bool(row["paused"]), failures=row["failures"],
        last_error=row["last_error"], last_error_at=_dt(row["last_error_at"]),
        disabled_reason=row["disabled_reason"],
    )


class DigestsStore:
    db: Database
    DIGESTS_MIGRATIONS: Sequence[Migration] = (_create_digests, _add_due_index)

    # ---- channel digest settings ---------------------------------------------------------------------------

    def save_channel_digest(self, digest: ChannelDigest) -> None:
        """Create or replace the digest of ``digest.channel_id`` (one per channel)."""
        with self.db.conn:
            self.db.execute(
                "INSERT INTO channel_digests (channel_id, guild_id, time, timezone, categories,"
                " size, thread, min_score, mention_role, paused, failures, last_error, last_error_at,"
                " disabled_reason, active_since) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (channel_id) DO UPDATE SET guild_id = excluded.guild_id, time = excluded.time,"
                " timezone = excluded.timezone, categories = excluded.categories, size = excluded.size,"
                " thread = excluded.thread, min_score = excluded.min_score, mention_role = excluded.mention_role,"
                " paused = excluded.paused, failures = excluded.failures, last_error = excluded.last_error,"
                " last_error_at = excluded.last_error_at, disabled_reason = excluded.disabled_reason,"
                " active_since = excluded.active_since, due_at = excluded.due_at",
                [digest.channel_id, digest.guild_id, digest.time, digest.timezone,
                 ",".join(digest.categories), digest.size, int(digest.thread), digest.min_score,
                 digest.mention_role, int(digest.paused), digest.failures, digest.last_error,
                 _iso(digest.last_error_at), digest.disabled_reason, _iso(digest.active_since)])

    def channel_digest(self, channel_id: int) -> ChannelDigest | None:
        rows = list(self.db.query("SELECT * FROM channel_digests WHERE channel_id = ?", [channel_id]))
        return _channel_digest(rows[0]) if rows else None

    def channel_digests(self, guild_id: int | None = None) -> list[ChannelDigest]:
        """Every channel digest (of one server if ``guild_id`` is given), by channel id."""
        if guild_id is None:
            rows = self.db.query("SELECT * FROM channel_digests ORDER BY channel_id")
        else:
            rows = self.db.query(
                "SELECT * FROM channel_digests WHERE guild_id = ? ORDER BY channel_id", [guild_id])
        return [_channel_digest(row) for row in rows]

    def due_channel_digests(self, now: datetime, limit: int = 100_000) -> list[ChannelDigest]:
        """The channel digests due for a look at ``now`` (by the due index), soonest first."""
        rows = self.db.query("SELECT * FROM channel_digests WHERE due_at <= ? ORDER BY due_at LIMIT ?",
                             [due_text(now), limit])
        return [_channel_digest(row) for row in rows]

    def set_due(self, kind: TargetKind, due: Sequence[tuple[int, datetime | None]]) -> None:
        """Write the due index: (channel id or user id, next look; None = never until changed)."""
        table, key = ("channel_digests", "channel_id") if kind == "channel" else ("sub_users", "user_id")
        with self.db.conn:
            self.db.conn.executemany(f"UPDATE {table} SET due_at = ? WHERE {key} = ?",  # noqa: S608
                                     [(due_text(when), target) for target, when in due])

    def make_due(self, kind: TargetKind, *, unfinished: bool = False, before: datetime | None = None) -> int:
        """Make due at once the targets with an unfinished ledger entry (``unfinished``: at start, a crash or
        a shutdown left them) or whose next look comes before ``before`` (a mailing just arrived)."""
        table, key = ("channel_digests", "channel_id") if kind == "channel" else ("sub_users", "user_id")
        with self.db.conn:
            if unfinished:
                cursor = self.db.execute(
                    f"UPDATE {table} SET due_at = '' WHERE {key} IN (SELECT target_id FROM deliveries"  # noqa: S608
                    " WHERE status = 'sending' AND target_kind = ?)", [kind])
            else:
                cursor = self.db.execute(
                    f"UPDATE {table} SET due_at = '' WHERE due_at <= ?", [due_text(before)])  # noqa: S608
        return int(cursor.rowcount)

    def next_due(self, kind: TargetKind) -> datetime | None:
        """The soonest due time in the index (None when nothing will ever be due)."""
        table = "channel_digests" if kind == "channel" else "sub_users"
        rows = list(self.db.query(f"SELECT min(due_at) AS due FROM {table}"))  # noqa: S608
        text = rows[0]["due"] if rows else None
        if text is None or text == NEVER:
            return None
        return datetime.fromisoformat(text).replace(tzinfo=UTC) if text else datetime.min.replace(tzinfo=UTC)

    def remove_channel_digest(self, channel_id: int) -> bool:
        with self.db.conn:
            cursor = self.db.execute("DELETE FROM channel_digests WHERE channel_id = ?", [channel_id])
        return bool(cursor.rowcount)

    def forget_guild(self, guild_id: int) -> int:
        """Delete every digest setting and channel ledger entry of a server; returns the digests deleted."""
        with self.db.conn:
            self.db.execute(
                "DELETE FROM deliveries WHERE target_kind = 'channel' AND guild_id = ?", [guild_id])
            cursor = self.db.execute("DELETE FROM channel_digests WHERE guild_id = ?", [guild_id])
        return int(cursor.rowcount)

    def set_channel_digest_paused(self, channel_id: int, paused: bool, now: datetime) -> bool:
        """Pause or resume; resuming clears failures and counts slots from ``now`` only."""
        with self.db.conn:
            if paused:
                cursor = self.db.execute(
                    "UPDATE channel_digests SET paused = 1 WHERE channel_id = ?", [channel_id])
            else:
                cursor = self.db.execute(
                    "UPDATE channel_digests SET paused = 0, failures = 0, disabled_reason = NULL,"
                    " active_since = ?, due_at = '' WHERE channel_id = ?", [_iso(now), channel_id])
        return bool(cursor.rowcount)

    def record_channel_failure(self, channel_id: int, error: str, now: datetime) -> int:
        """Count one more failure in a row for the channel; returns the count."""
        with self.db.conn:
            self.db.execute(
                "UPDATE channel_digests SET failures = failures + 1, last_error = ?, last_error_at = ?"
                " WHERE channel_id = ?", [error, _iso(now), channel_id])
        rows = list(self.db.query("SELECT failures FROM channel_digests WHERE channel_id = ?", [channel_id]))
        return int(rows[0]["failures"]) if rows else 0

    def clear_channel_failures(self, channel_id: int) -> None:
        with self.db.conn:
            self.db.execute(
                "UPDATE channel_digests SET failures = 0 WHERE channel_id = ?", [channel_id])

    def disable_channel_digest(self, channel_id: int, reason: str, now: datetime) -> None:
        """Stop a digest whose channel is gone; ``/digest setup`` on a channel enables it again."""
        with self.db.conn:
            self.db.execute(
                "UPDATE channel_digests SET disabled_reason = ?, last_error = ?, last_error_at = ?"
                " WHERE channel_id = ?", [reason, reason, _iso(now), channel_id])

    # ---- the delivery ledger -------------------------------------------------------------------------------

    def begin_delivery(self, kind: TargetKind, target_id: int, period: str,
                       messages: Sequence[PlannedMessage], now: datetime, *,
                       guild_id: int | None = None) -> DeliveryRecord:
        """Write the ledger entry and its planned messages, unless one exists; returns the entry in force.

        Atomic: either the entry and all its messages are written, or none (an existing entry wins).
        """
        record = self.begin_new_delivery(kind, target_id, period, messages, now, guild_id=guild_id)
        if record is None:
            record = self.delivery(kind, target_id, period)
        assert record is not None
        return record

    def begin_new_delivery(self, kind: TargetKind, target_id: int, period: str,
                           messages: Sequence[PlannedMessage], now: datetime, *,
                           guild_id: int | None = None) -> DeliveryRecord | None:
        """:meth:`begin_delivery` when there is no entry yet (returns it as written, without reading it back);
        None, writing nothing, when there is one."""
        created = _iso(now)
        payloads = [json.dumps(m.payload, separators=(",", ":")) for m in messages]
        with self.db.conn:
            cursor = self.db.execute(
                "INSERT INTO deliveries (target_kind, target_id, period, status, guild_id,"
                " created_at) VALUES (?, ?, ?, 'sending', ?, ?) ON CONFLICT DO NOTHING",
                [kind, target_id, period, guild_id, created])
            if not cursor.rowcount:
                return None
            if messages:  # one statement for all (a delivery plans a handful): one trip to a server
                self.db.execute(
                    "INSERT INTO delivery_messages (target_kind, target_id, period, seq, payload, nonce,"  # noqa: S608
                    f" marker, in_thread) VALUES {', '.join(['(?, ?, ?, ?, ?, ?, ?, ?)'] * len(messages))}",
                    [value for m, payload in zip(messages, payloads, strict=True)
                     for value in (kind, target_id, period, m.seq, payload, m.nonce, m.marker, int(m.in_thread))])
        return self._record(
            {"target_kind": kind, "target_id": target_id, "period": period, "status": "sending",
             "created_at": created, "guild_id": guild_id, "thread_id": None, "reason": None, "finished_at": None},
            tuple(sorted((PlannedMessage(seq=m.seq, payload=json.loads(payload), nonce=m.nonce, marker=m.marker,
                                         in_thread=bool(m.in_thread))
                          for m, payload in zip(messages, payloads, strict=True)), key=lambda m: m.seq)))

    def delivery(self, kind: TargetKind, target_id: int, period: str) -> DeliveryRecord | None:
        rows = list(self.db.query(
            "SELECT * FROM deliveries WHERE target_kind = ? AND target_id = ? AND period = ?",
            [kind, target_id, period]))
        if not rows:
            return None
        messages = tuple(
            PlannedMessage(seq=m["seq"], payload=json.loads(m["payload"]), nonce=m["nonce"],
                           marker=m["marker"], in_thread=bool(m["in_thread"]), message_id=m["message_id"],
                           channel_id=m["channel_id"])
            for m in self.db.query(
                "SELECT * FROM delivery_messages WHERE target_kind = ? AND target_id = ? AND period = ?"
                " ORDER BY seq", [kind, target_id, period]))
        return self._record(rows[0], messages)

    @staticmethod
    def _record(row: dict[str, Any], messages: tuple[PlannedMessage, ...] = ()) -> DeliveryRecord:
        created_at = _dt(row["created_at"])
        assert created_at is not None
        return DeliveryRecord(
            kind=row["target_kind"], target_id=row["target_id"], period=row["period"], status=row["status"],
            created_at=created_at, guild_id=row["guild_id"], thread_id=row["thread_id"], reason=row["reason"],
            finished_at=_dt(row["finished_at"]), messages=messages)

    def complete_message(self, kind: TargetKind, target_id: int, period: str, seq: int, message_id: int,
                         channel_id: int) -> None:
        with self.db.conn:
            self.db.execute(
                "UPDATE delivery_messages SET message_id = ?, channel_id = ? WHERE target_kind = ?"
                " AND target_id = ? AND period = ? AND seq = ?",
                [message_id, channel_id, kind, target_id, period, seq])

    def set_delivery_thread(self, kind: TargetKind, target_id: int, period: str, thread_id: int) -> None:
        with self.db.conn:
            self.db.execute(
                "UPDATE deliveries SET thread_id = ? WHERE target_kind = ? AND target_id = ? AND period = ?",
                [thread_id, kind, target_id, period])

    def finish_delivery(self, kind: TargetKind, target_id: int, period: str, now: datetime,
                        status: DeliveryStatus = "done", reason: str | None = None) -> None:
        with self.db.conn:
            self.db.execute(
                "UPDATE deliveries SET status = ?, reason = ?, finished_at = ? WHERE target_kind = ?"
                " AND target_id = ? AND period = ?", [status, reason, _iso(now), kind, target_id, period])

    def record_skip(self, kind: TargetKind, target_id: int, period: str, reason: str, now: datetime, *,
                    guild_id: int | None = None) -> bool:
        """Remember that ``period`` will not be sent to the target, and why; False if already handled."""
        with self.db.conn:
            cursor = self.db.execute(
                "INSERT INTO deliveries (target_kind, target_id, period, status, guild_id, reason,"
                " created_at, finished_at) VALUES (?, ?, ?, 'skipped', ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                [kind, target_id, period, guild_id, reason, _iso(now), _iso(now)])
        return bool(cursor.rowcount)

    def reopen_delivery(self, kind: TargetKind, target_id: int, period: str) -> bool:
        """Let a skipped or failed entry be sent after all (an admin asked for it): an entry with no message
        out is forgotten (the next delivery plans afresh); one with some out goes back to ``sending``, so
        only the rest is sent. Entries done or sending are left alone; returns True if one was reopened."""
        with self.db.conn:
            sent = list(self.db.query(
                "SELECT 1 FROM delivery_messages WHERE target_kind = ? AND target_id = ? AND period = ?"
                " AND message_id IS NOT NULL LIMIT 1", [kind, target_id, period]))
            if sent:
                cursor = self.db.execute(
                    "UPDATE deliveries SET status = 'sending', reason = NULL, finished_at = NULL"
                    " WHERE target_kind = ? AND target_id = ? AND period = ? AND status IN ('skipped', 'failed')",
                    [kind, target_id, period])
            else:
                cursor = self.db.execute(
                    "DELETE FROM deliveries"
                    " WHERE target_kind = ? AND target_id = ? AND period = ? AND status IN ('skipped', 'failed')",
                    [kind, target_id, period])
        return bool(cursor.rowcount)

    def handled(self, kind: TargetKind, target_id: int, period: str) -> bool:
        """True if ``period`` has a ledger entry for the target (sent, sending, skipped or failed)."""
        rows = list(self.db.query(
            "SELECT 1 FROM deliveries WHERE target_kind = ? AND target_id = ? AND period = ?",
            [kind, target_id, period]))
        return bool(rows)

    def recent_deliveries(self, kind: TargetKind, target_id: int, limit: int = 5) -> list[DeliveryRecord]:
        """The target's latest ledger entries, newest period first (messages included)."""
        rows = list(self.db.query(
            "SELECT period FROM deliveries WHERE target_kind = ? AND target_id = ?"
            " ORDER BY period DESC LIMIT ?",
            [kind, target_id, limit]))
        records = [self.delivery(kind, target_id, row["period"]) for row in rows]
        return [r for r in records if r is not None]

    def latest_deliveries(self, kind: TargetKind, target_ids: Sequence[int]) -> dict[int, tuple[str, DeliveryStatus]]:
        """Each target's newest ledger entry as (period, status); targets without one are left out."""
        found: dict[int, tuple[str, DeliveryStatus]] = {}
        ids = list(target_ids)
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            marks = ",".join("?" * len(chunk))
            for row in self.db.query(
                    "SELECT d.target_id, d.period, d.status FROM deliveries d JOIN (SELECT target_id,"  # noqa: S608
                    " max(period) AS period FROM deliveries WHERE target_kind = ?"
                    f" AND target_id IN ({marks}) GROUP BY target_id) m ON d.target_id = m.target_id"
                    " AND d.period = m.period WHERE d.target_kind = ?", [kind, *chunk, kind]):
                found[row["target_id"]] = (row["period"], row["status"])
        return found

    def unfinished_delivery(self, kind: TargetKind, target_id: int) -> DeliveryRecord | None:
        """The target's entry begun but not finished (a crash, a shutdown or a refusal mid-send), if any."""
        rows = list(self.db.query(
            "SELECT period FROM deliveries WHERE target_kind = ? AND target_id = ? AND status = 'sending'"
            " ORDER BY period DESC LIMIT 1", [kind, target_id]))
        return self.delivery(kind, target_id, rows[0]["period"]) if rows else None

    def unfinished_targets(self, kind: TargetKind) -> set[int]:
        """The targets with an unfinished ledger entry (read through the index of unfinished entries)."""
        return {row["target_id"] for row in self.db.query(
            "SELECT target_id FROM deliveries WHERE status = 'sending' AND target_kind = ?", [kind])}

    def prune_ledger(self, before: datetime) -> int:
        """Delete finished ledger entries (and their payloads) older than ``before``; returns how many."""
        with self.db.conn:
            cursor = self.db.execute(
                "DELETE FROM deliveries WHERE status != 'sending' AND finished_at < ?", [_iso(before)])
        return int(cursor.rowcount)

    def unfinished_deliveries(self, kind: TargetKind | None = None) -> list[DeliveryRecord]:
        """Entries begun but not finished (a crash or shutdown mid-send), oldest first, without messages."""
        if kind is None:
            rows = self.db.query("SELECT * FROM deliveries WHERE status = 'sending' ORDER BY created_at")
        else:
            rows = self.db.query(
                "SELECT * FROM deliveries WHERE status = 'sending' AND target_kind = ? ORDER BY created_at",
                [kind])
        return [self._record(row) for row in rows]

    # ---- small bot metadata (the command tree's hash) ------------------------------------------------------

    def meta(self, key: str) -> str | None:
        rows = list(self.db.query("SELECT value FROM bot_meta WHERE key = ?", [key]))
        return str(rows[0]["value"]) if rows else None

    def set_meta(self, key: str, value: str) -> None:
        with self.db.conn:
            self.db.execute("INSERT INTO bot_meta (key, value) VALUES (?, ?)"
                            " ON CONFLICT (key) DO UPDATE SET value = excluded.value", [key, value])
