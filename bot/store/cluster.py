"""Store part: what the processes of a cluster share to share the work (README, "Cluster").

- **The leadership lease**: one row per lease name (``holder``, ``expires_at``, ``term``). A worker takes it, or
  renews it, with one conditional ``INSERT … ON CONFLICT DO UPDATE … WHERE`` that succeeds only when the row is
  its own or has expired: exactly one holder at a time, on SQLite and PostgreSQL alike, read against the bot's
  clock (so tests step time instead of waiting). ``term`` counts the hand-overs.
- **Delivery claims**: one row per delivery being sent (kind, target, period → ``holder``, ``claimed_until``),
  taken the same way, so two processes never send the same delivery; the sender extends its claim while it
  sends (only while it has not run out) and deletes it when done.

Times are kept as fixed-width UTC text (``2026-11-26T09:00:00.000000``) so comparing text compares instants.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from bot.store.base import Database, Migration
from bot.store.digests import TargetKind


@dataclass(frozen=True, slots=True)
class Lease:
    name: str
    holder: str
    expires_at: datetime | None  # None: released
    term: int


def stamp(when: datetime) -> str:
    """``when`` as the cluster tables keep it: UTC, microseconds, fixed width (text order = time order)."""
    if when.tzinfo is None:
        raise ValueError("the store keeps aware datetimes only")
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")


def _create_cluster(db: Database) -> None:
    db.execute("""
        CREATE TABLE cluster_leases (
            name TEXT PRIMARY KEY,
            holder TEXT NOT NULL,
            expires_at TEXT NOT NULL,
            term INTEGER NOT NULL
        )""")
    db.execute("""
        CREATE TABLE delivery_claims (
            target_kind TEXT NOT NULL,
            target_id INTEGER NOT NULL,
            period TEXT NOT NULL,
            holder TEXT NOT NULL,
            claimed_until TEXT NOT NULL,
            PRIMARY KEY (target_kind, target_id, period)
        )""")


class ClusterStore:
    db: Database
    CLUSTER_MIGRATIONS: Sequence[Migration] = (_create_cluster,)

    # ---- the leadership lease ------------------------------------------------------------------------------

    def take_lease(self, name: str, holder: str, now: datetime, expires_at: datetime) -> int | None:
        """Take or renew lease ``name`` for ``holder`` until ``expires_at``, if it is free, expired at ``now``
        or already ``holder``'s; returns the lease's term (it grows at each hand-over), None when another
        holder has it."""
        with self.db.conn:
            cursor = self.db.execute(
                "INSERT INTO cluster_leases (name, holder, expires_at, term) VALUES (?, ?, ?, 1)"
                " ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at,"
                " term = CASE WHEN cluster_leases.holder = excluded.holder THEN cluster_leases.term"
                " ELSE cluster_leases.term + 1 END"
                " WHERE cluster_leases.holder = excluded.holder OR cluster_leases.expires_at < ?",
                [name, holder, stamp(expires_at), stamp(now)])
            if not cursor.rowcount:
                return None
            rows = list(self.db.query("SELECT term FROM cluster_leases WHERE name = ? AND holder = ?",
                                      [name, holder]))
        return int(rows[0]["term"]) if rows else None

    def release_lease(self, name: str, holder: str) -> bool:
        """Give lease ``name`` up at once (a clean shutdown), if ``holder`` has it: another takes over now."""
        with self.db.conn:
            cursor = self.db.execute(
                "UPDATE cluster_leases SET expires_at = '' WHERE name = ? AND holder = ?", [name, holder])
        return bool(cursor.rowcount)

    def lease(self, name: str) -> Lease | None:
        """Who holds lease ``name`` and until when (None: never taken)."""
        rows = list(self.db.query("SELECT * FROM cluster_leases WHERE name = ?", [name]))
        if not rows:
            return None
        row = rows[0]
        expires = datetime.fromisoformat(row["expires_at"]).replace(tzinfo=UTC) if row["expires_at"] else None
        return Lease(row["name"], row["holder"], expires, int(row["term"]))

    # ---- delivery claims -----------------------------------------------------------------------------------

    def claim_delivery(self, kind: TargetKind, target_id: int, period: str, holder: str, now: datetime,
                       until: datetime) -> bool:
        """Claim the delivery for ``holder`` until ``until``: True when it was free, expired at ``now`` or
        already ``holder``'s (one statement, so two processes can never both get it)."""
        with self.db.conn:
            cursor = self.db.execute(
                "INSERT INTO delivery_claims (target_kind, target_id, period, holder, claimed_until)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT (target_kind, target_id, period) DO UPDATE"
                " SET holder = excluded.holder, claimed_until = excluded.claimed_until"
                " WHERE delivery_claims.holder = excluded.holder OR delivery_claims.claimed_until < ?",
                [kind, target_id, period, holder, stamp(until), stamp(now)])
        return bool(cursor.rowcount)

    def extend_claim(self, kind: TargetKind, target_id: int, period: str, holder: str, now: datetime,
                     until: datetime) -> bool:
        """Extend ``holder``'s claim to ``until``, only if it is still theirs and has not run out at ``now``
        (a claim that lapsed may have been taken, sent and released by another process meanwhile)."""
        with self.db.conn:
            cursor = self.db.execute(
                "UPDATE delivery_claims SET claimed_until = ? WHERE target_kind = ? AND target_id = ?"
                " AND period = ? AND holder = ? AND claimed_until > ?",
                [stamp(until), kind, target_id, period, holder, stamp(now)])
        return bool(cursor.rowcount)

    def release_claim(self, kind: TargetKind, target_id: int, period: str, holder: str) -> None:
        """Drop ``holder``'s claim (the delivery is done, or this process stops sending it)."""
        with self.db.conn:
            self.db.execute(
                "DELETE FROM delivery_claims WHERE target_kind = ? AND target_id = ? AND period = ?"
                " AND holder = ?", [kind, target_id, period, holder])

    def prune_claims(self, now: datetime) -> int:
        """Delete claims that ran out before ``now`` (left by a process that died); returns how many."""
        with self.db.conn:
            cursor = self.db.execute("DELETE FROM delivery_claims WHERE claimed_until < ?", [stamp(now)])
        return int(cursor.rowcount)
