"""Store part: engagement snapshots (SQL for this domain lives here).

Every observation is kept with its time, one row per (source, post, paper, moment), so counts can be read as
of any moment and their growth shown. A post is one row per paper it links (a post linking three papers counts
for each) and is counted once per paper however often a refresh saw it: the latest snapshot of each post wins.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from bot.models import SourceSignal
from bot.store.base import Database, Migration, json_values

if TYPE_CHECKING:
    from bot.sources.observations import Observation


def _create_signals(db: Database) -> None:
    db.execute("""
        CREATE TABLE signal_snapshots (
            paper_id TEXT NOT NULL,
            source TEXT NOT NULL,
            post_id TEXT NOT NULL,
            observed_at TEXT NOT NULL,  -- UTC, fixed-width ISO 8601, so text order is time order
            counts TEXT NOT NULL,       -- JSON object metric -> count
            url TEXT NOT NULL,
            PRIMARY KEY (paper_id, source, post_id, observed_at)
        ) WITHOUT ROWID""")
    db.execute("""
        CREATE TABLE signal_refreshes (
            id INTEGER PRIMARY KEY,
            refreshed_at TEXT NOT NULL,
            source TEXT NOT NULL,
            status TEXT NOT NULL,
            queried INTEGER NOT NULL,
            matched INTEGER NOT NULL,
            requests INTEGER NOT NULL,
            errors TEXT NOT NULL        -- JSON list of one-line messages
        )""")
    db.execute("CREATE INDEX signal_refreshes_at ON signal_refreshes (refreshed_at)")


def _create_citations(db: Database) -> None:
    db.execute("""
        CREATE TABLE citation_counts (
            paper_id TEXT PRIMARY KEY,
            citations INTEGER,          -- NULL: the citation source does not know the paper
            fetched_at TEXT NOT NULL    -- UTC, fixed-width ISO 8601
        )""")


CITATION_CHUNK = 500  # ids per IN (...) list


def _stamp(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise ValueError("snapshot times must be timezone-aware")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _moment(stamp: str) -> datetime:
    return datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class RefreshRecord:
    """What one refresh of one source did."""

    refreshed_at: datetime
    source: str
    status: str
    queried: int
    matched: int
    requests: int
    errors: tuple[str, ...]


class SignalsStore:
    db: Database
    SIGNALS_MIGRATIONS: Sequence[Migration] = (_create_signals, _create_citations)

    def citation_counts(self, paper_ids: Sequence[str], *, fetched_since: datetime | None = None
                        ) -> dict[str, int | None]:
        """Stored citation counts (None: the source does not know the paper); papers never looked up, or
        looked up before ``fetched_since``, are absent."""
        found: dict[str, int | None] = {}
        unique = list(dict.fromkeys(paper_ids))
        for start in range(0, len(unique), CITATION_CHUNK):
            chunk = unique[start:start + CITATION_CHUNK]
            sql = ("SELECT paper_id, citations FROM citation_counts WHERE paper_id IN ("  # noqa: S608
                   + ", ".join("?" * len(chunk)) + ")")
            params: list[str] = list(chunk)
            if fetched_since is not None:
                sql += " AND fetched_at >= ?"
                params.append(_stamp(fetched_since))
            for row in self.db.query(sql, params):
                found[row["paper_id"]] = row["citations"]
        return found

    def record_citation_counts(self, counts: Mapping[str, int | None], fetched_at: datetime) -> int:
        """Keep each paper's citation count (None: unknown to the source) with when it was fetched."""
        stamp = _stamp(fetched_at)
        with self.db.conn:
            self.db.conn.executemany(
                "INSERT INTO citation_counts (paper_id, citations, fetched_at) VALUES (?, ?, ?)"
                " ON CONFLICT (paper_id) DO UPDATE SET citations = excluded.citations,"
                " fetched_at = excluded.fetched_at",
                [(paper_id, count, stamp) for paper_id, count in counts.items()])
        return len(counts)

    def record_observations(self, observations: Iterable[Observation],
                            paper_ids: Iterable[str] | None = None) -> int:
        """Store each observation once per linked paper (only ``paper_ids`` if given); returns the rows."""
        wanted = set(paper_ids) if paper_ids is not None else None
        rows = [(paper_id, o.source, o.post_id, _stamp(o.observed_at),
                 json.dumps(dict(o.counts), separators=(",", ":")), o.url)
                for o in observations for paper_id in o.paper_ids if wanted is None or paper_id in wanted]
        with self.db.conn:
            self.db.conn.executemany(
                "INSERT INTO signal_snapshots (paper_id, source, post_id, observed_at, counts, url)"
                " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (paper_id, source, post_id, observed_at)"
                " DO UPDATE SET counts = excluded.counts, url = excluded.url", rows)
        return len(rows)

    def latest_signals(self, paper_ids: Sequence[str], as_of: datetime
                       ) -> dict[str, dict[str, SourceSignal]]:
        """Per paper, per source: the counts of its posts' latest snapshots at or before ``as_of``, summed,
        and the link of its most engaged post. Papers without any snapshot are absent."""
        # Each post's latest snapshot (the primary key's order: paper, source, post, time).
        rows = self.db.execute(
            "SELECT paper_id, source, post_id, counts, url, observed_at FROM ("  # noqa: S608
            " SELECT paper_id, source, post_id, counts, url, observed_at, ROW_NUMBER() OVER ("
            " PARTITION BY paper_id, source, post_id ORDER BY observed_at DESC) AS n FROM signal_snapshots"
            f" WHERE paper_id IN {json_values(self.db)} AND observed_at <= ?) AS latest WHERE n = 1",
            [json.dumps(list(paper_ids)), _stamp(as_of)]).fetchall()
        totals: dict[tuple[str, str], dict[str, int]] = defaultdict(dict)
        best: dict[tuple[str, str], tuple[int, str, str]] = {}
        for paper_id, source, post_id, counts_json, url, _ in rows:
            counts: dict[str, int] = json.loads(counts_json)
            key = (paper_id, source)
            summed = totals[key]
            for metric, value in counts.items():
                summed[metric] = summed.get(metric, 0) + value
            engagement = sum(counts.values())
            # The most engaged post is the best discussion; ties go to the smallest post id (stable output).
            current = best.get(key)
            if current is None or (-engagement, post_id) < (-current[0], current[1]):
                best[key] = (engagement, post_id, url)
        result: dict[str, dict[str, SourceSignal]] = defaultdict(dict)
        for (paper_id, source), summed in totals.items():
            result[paper_id][source] = SourceSignal(source, summed, best[(paper_id, source)][2])
        return dict(result)

    def signal_history(self, paper_id: str) -> list[tuple[datetime, dict[str, SourceSignal]]]:
        """How a paper's counts grew: its signals as of each moment one of them was observed, oldest first."""
        moments = [row[0] for row in self.db.execute(
            "SELECT DISTINCT observed_at FROM signal_snapshots WHERE paper_id = ? ORDER BY observed_at",
            [paper_id]).fetchall()]
        history = []
        for stamp in moments:
            moment = _moment(stamp)
            history.append((moment, self.latest_signals([paper_id], moment).get(paper_id, {})))
        return history

    def record_signal_refresh(self, record: RefreshRecord) -> None:
        with self.db.conn:
            self.db.execute(
                "INSERT INTO signal_refreshes"
                " (refreshed_at, source, status, queried, matched, requests, errors)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                [_stamp(record.refreshed_at), record.source, record.status, record.queried, record.matched,
                 record.requests, json.dumps(list(record.errors))])

    def last_observed(self, paper_ids: Sequence[str], as_of: datetime) -> datetime | None:
        """The moment of the newest snapshot of any of ``paper_ids`` at or before ``as_of`` (what counts read
        "as of"), or None."""
        row = self.db.execute(
            "SELECT MAX(observed_at) FROM signal_snapshots"  # noqa: S608
            f" WHERE paper_id IN {json_values(self.db)} AND observed_at <= ?",
            [json.dumps(list(paper_ids)), _stamp(as_of)]).fetchone()
        return _moment(row[0]) if row and row[0] else None

    def latest_signal_refreshes(self) -> list[RefreshRecord]:
        """Each source's most recent refresh record, by source name (for ``hotpapers doctor``)."""
        rows = self.db.execute(  # each source's newest record
            "SELECT refreshed_at, source, status, queried, matched, requests, errors FROM ("
            " SELECT *, ROW_NUMBER() OVER (PARTITION BY source ORDER BY refreshed_at DESC, id DESC) AS n"
            " FROM signal_refreshes) AS newest WHERE n = 1 ORDER BY source").fetchall()
        return [RefreshRecord(_moment(r[0]), r[1], r[2], r[3], r[4], r[5], tuple(json.loads(r[6])))
                for r in rows]

    def last_signal_refresh(self) -> datetime | None:
        """When engagement was last refreshed (any source), or None."""
        row = self.db.execute("SELECT MAX(refreshed_at) FROM signal_refreshes").fetchone()
        return _moment(row[0]) if row and row[0] else None

    def signal_refreshes(self, *, limit: int = 20) -> list[RefreshRecord]:
        """The most recent refresh records, newest first (for ``hotpapers doctor``)."""
        rows = self.db.execute(
            "SELECT refreshed_at, source, status, queried, matched, requests, errors FROM signal_refreshes"
            " ORDER BY refreshed_at DESC, id DESC LIMIT ?", [limit]).fetchall()
        return [RefreshRecord(_moment(r[0]), r[1], r[2], r[3], r[4], r[5], tuple(json.loads(r[6])))
                for r in rows]
