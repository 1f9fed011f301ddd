"""Papers, their announcements per mailing, the search over them, and backfill checkpoints.

Row ids are chosen, not assigned: :func:`paper_rowid` turns an arXiv id into a number that sorts in
submission order (``YYYYMM·100000 + number``), whatever order papers were loaded in; among equally good search
results the higher row id (the newer paper) comes first. Every write gives the row the next ``change_seq``, from
which the search index beside the database (:mod:`bot.search.index`) catches up.
"""

from __future__ import annotations

import json
import logging
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot import ranking, search_query
from bot.config import RankingSettings
from bot.errors import HotPapersError
from bot.models import Announcement, Paper, SourceSignal
from bot.search.index import IndexBusy, IndexRow, SearchIndex
from bot.search.query import parse
from bot.search.rank import Hit, rank
from bot.store.base import Database, Migration

log = logging.getLogger(__name__)

# Old-style archives in a fixed order: row ids encode the position, so this list only ever grows at its end.
_OLD_ARCHIVES = (
    "acc-phys", "adap-org", "alg-geom", "ao-sci", "astro-ph", "atom-ph", "bayes-an", "chao-dyn", "chem-ph",
    "cmp-lg", "comp-gas", "cond-mat", "cs", "dg-ga", "funct-an", "gr-qc", "hep-ex", "hep-lat", "hep-ph",
    "hep-th", "math", "math-ph", "mtrl-th", "nlin", "nucl-ex", "nucl-th", "patt-sol", "physics", "plasm-ph",
    "q-alg", "q-bio", "quant-ph", "solv-int", "supr-con",
)
_NEW_STYLE = re.compile(r"(\d\d)(\d\d)\.(\d{4,5})")
_OLD_STYLE = re.compile(r"([a-z-]+)(?:\.[A-Za-z-]+)?/(\d\d)(\d\d)(\d{3})")
# Ids that do not parse get row ids above every real one, so they never collide with a later real paper.
_UNSORTED_ROWID_BASE = 10**11

CANDIDATES = 100  # papers the index proposes for re-scoring (more when more results are asked for)
COMMON_SHARE = 0.2  # a word in more papers than this share proposes no candidates (when rarer words remain)
COMMON_FROM = 50_000  # papers from which that saving is worth it (in a small store every word counts)
INDEX_BATCH = 5000  # rows per index commit when catching up
BULK_ROWS = 50_000  # a catch-up longer than this commits less often, with a bigger buffer
CATCH_UP_PER_SEARCH = 20_000  # a search applies at most this many pending rows first (the rest: next time)
TITLE_MATCHES = 5
TITLE_WORDS = 4  # whole words an autocomplete query keeps
_PAPER_COLUMNS = ("id", "version", "title", "authors", "abstract", "primary_category", "categories",
                  "comment", "journal_ref", "doi", "published", "updated")
ROW_COLUMNS = (*_PAPER_COLUMNS, "title_hash")
PaperRow = tuple[Any, ...]  # one value per ROW_COLUMNS entry; see paper_row
_SELECT_STORED = "SELECT " + ", ".join(_PAPER_COLUMNS) + " FROM papers"  # noqa: S608 (constant column names)
# The next change sequence, read inside the writing transaction (SQLite has one writer at a time, so sequences
# are committed in order and a reader never skips one). PostgreSQL draws it from a sequence, its writers of papers
# taking one advisory lock in turn (StoreBase.lock_change_cursor) for the same guarantee.
_NEXT_CHANGE = "(SELECT coalesce(max(change_seq), 0) + 1 FROM papers)"
_NEXT_CHANGE_PG = "nextval('papers_change_seq')"
_INDEXED_COLUMNS = ("title", "authors", "abstract", "categories", "published")  # what the search index reads
_SELECT_PAPER = ("SELECT rowid, id, version, title, authors, abstract, primary_category, categories, "
                 "comment, journal_ref, doi, published, updated, mailing FROM papers")


def paper_rowid(paper_id: str) -> int | None:
    """A row id sorting papers by submission: ``YYYYMM·100000 + number`` (old style: ``+ archive·1000``)."""
    new = _NEW_STYLE.fullmatch(paper_id)
    if new:
        year, month, number = 2000 + int(new[1]), int(new[2]), int(new[3])
        return (year * 100 + month) * 100_000 + number
    old = _OLD_STYLE.fullmatch(paper_id)
    if old and old[1] in _OLD_ARCHIVES:
        yy = int(old[2])
        year = 1900 + yy if yy >= 91 else 2000 + yy
        return (year * 100 + int(old[3])) * 100_000 + _OLD_ARCHIVES.index(old[1]) * 1000 + int(old[4])
    return None
    return None


@dataclass
class IngestCounts:
    """What one ingest changed: new papers, updated ones, cross-lists, entries skipped as unchanged/bad."""

    new: int = 0
    updated: int = 0
    cross_listed: int = 0
    skipped: int = 0

    def add(self, other: IngestCounts) -> None:
        self.new += other.new
        self.updated += other.updated
        self.cross_listed += other.cross_listed
        self.skipped += other.skipped


@dataclass(frozen=True)
class BackfillCheckpoint:
    """How far a backfill of one file got: the next byte and line to read, and the counts so far."""

    path: str
    signature: str
    offset: int
    line: int
    counts: IngestCounts = field(default_factory=IngestCounts)
    malformed: int = 0
    done: bool = False


# ---- migrations (each runs once, inside a transaction; the list only grows at its end)


def _create_papers(db: Database) -> None:
    db.execute("""
        CREATE TABLE papers (
            rowid INTEGER PRIMARY KEY,          -- paper_rowid(id): submission order
            id TEXT NOT NULL UNIQUE,            -- canonical, versionless
            version INTEGER NOT NULL,
            title TEXT NOT NULL,
            authors TEXT NOT NULL,              -- JSON list of names as arXiv writes them
            abstract TEXT NOT NULL,
            primary_category TEXT NOT NULL,
            categories TEXT NOT NULL,           -- space-separated, primary first
            comment TEXT,
            journal_ref TEXT,
            doi TEXT,
            published TEXT,                     -- ISO 8601 UTC, first version
            updated TEXT,                       -- ISO 8601 UTC, latest version
            mailing TEXT                        -- first mailing that announced it new or cross (YYYY-MM-DD)
        )""")
    db.execute("""
        CREATE TABLE announcements (
            paper_id TEXT NOT NULL REFERENCES papers(id),
            mailing TEXT NOT NULL,
            category TEXT NOT NULL,
            announce_type TEXT NOT NULL CHECK (announce_type IN ('new', 'cross', 'replace', 'replace-cross')),
            PRIMARY KEY (paper_id, mailing, category)
        ) WITHOUT ROWID""")
    db.execute("CREATE INDEX announcements_by_mailing ON announcements (mailing, announce_type)")
    db.execute("CREATE INDEX papers_by_mailing ON papers (mailing) WHERE mailing IS NOT NULL")


def _create_search(db: Database) -> None:
    db.execute("ALTER TABLE papers ADD COLUMN title_hash INTEGER")  # search_query.title_hash(title)
    # Category words for the FTS5 index below, dropped again by _add_change_cursor: nothing reads or writes the
    # column any more (the Tantivy index indexes categories itself); it stays, empty, in the schema.
    db.execute("ALTER TABLE papers ADD COLUMN category_tags TEXT NOT NULL DEFAULT ''")
    for rowid, title in db.execute("SELECT rowid, title FROM papers").fetchall():
        db.execute("UPDATE papers SET title_hash = ? WHERE rowid = ?", [search_query.title_hash(title), rowid])
    db.execute("CREATE INDEX papers_by_title_hash ON papers (title_hash)")
    if db.engine != "sqlite":
        return  # the FTS5 tables below were dropped again by _add_change_cursor: PostgreSQL never needs them
    # Column detail (not positions) keeps the index small; every query term is a single quoted word.
    db.execute("""
        CREATE VIRTUAL TABLE papers_fts USING fts5(
            title, authors, abstract, category_tags,
            content='papers', content_rowid='rowid', detail='column',
            tokenize='unicode61 remove_diacritics 2')""")
    # Titles alone, with prefix indexes, for autocomplete.
    db.execute("""
        CREATE VIRTUAL TABLE titles_fts USING fts5(
            title, content='papers', content_rowid='rowid', detail='none', prefix='2 3',
            tokenize='unicode61 remove_diacritics 2')""")
    db.execute("CREATE VIRTUAL TABLE papers_fts_terms USING fts5vocab(papers_fts, 'row')")
    # No triggers: PaperStore._write_papers keeps both indexes in step with papers (in bulk, which is several
    # times faster for a backfill than a trigger per row).
    db.execute("INSERT INTO papers_fts (papers_fts) VALUES ('rebuild')")
    db.execute("INSERT INTO titles_fts (titles_fts) VALUES ('rebuild')")


def _create_backfill_checkpoints(db: Database) -> None:
    db.execute("""
        CREATE TABLE backfill_checkpoints (
            path TEXT PRIMARY KEY,
            signature TEXT NOT NULL,            -- size and mtime of the file when the backfill began
            byte_offset INTEGER NOT NULL,
            line INTEGER NOT NULL,
            new INTEGER NOT NULL DEFAULT 0,
            updated INTEGER NOT NULL DEFAULT 0,
            skipped INTEGER NOT NULL DEFAULT 0,
            malformed INTEGER NOT NULL DEFAULT 0,
            done INTEGER NOT NULL DEFAULT 0
        )""")


def _create_paper_months(db: Database) -> None:
    # Papers per id month (rowid // 100000): how many papers are newer than a row id, in microseconds, which
    # search uses to estimate how common a word is from its newest matches.
    db.execute("CREATE TABLE paper_months (month INTEGER PRIMARY KEY, papers INTEGER NOT NULL)")
    db.execute("INSERT INTO paper_months (month, papers)"
               " SELECT rowid / 100000, count(*) FROM papers GROUP BY 1")


def _add_change_cursor(db: Database) -> None:
    # Every insert, and every update of what search reads, gives the row the next change sequence, whoever
    # writes it (ingest, harvest, backfill, an API fetch): a derived index catches up from the last sequence it
    # applied (bot/search/index.py). Existing rows get their row id, which is distinct and positive.
    db.execute("ALTER TABLE papers ADD COLUMN change_seq INTEGER NOT NULL DEFAULT 0")
    db.execute("UPDATE papers SET change_seq = rowid")
    db.execute("CREATE INDEX papers_by_change ON papers (change_seq)")
    if db.engine == "postgresql":
        _add_change_triggers_postgresql(db)
        return
    # The store's own writes set the sequence themselves (cheaper in bulk); the triggers cover any other writer.
    bump = f"UPDATE papers SET change_seq = {_NEXT_CHANGE} WHERE rowid = NEW.rowid"  # noqa: S608
    db.execute("CREATE TRIGGER papers_changed_insert AFTER INSERT ON papers"
               f" WHEN NEW.change_seq = 0 BEGIN {bump}; END")
    db.execute(f"CREATE TRIGGER papers_changed_update AFTER UPDATE OF {', '.join(_INDEXED_COLUMNS)} ON papers"
               f" WHEN NEW.change_seq = OLD.change_seq BEGIN {bump}; END")
    # The Tantivy index replaces the FTS5 tables (search reads none of them any more).
    for table in ("papers_fts_terms", "papers_fts", "titles_fts"):
        db.execute(f"DROP TABLE IF EXISTS {table}")


def _add_change_triggers_postgresql(db: Database) -> None:
    # The same cursor on PostgreSQL: a sequence, and BEFORE triggers for writers that do not set it. Writers take
    # the change lock first (see StoreBase.lock_change_cursor) so sequences commit in order.
    db.execute("CREATE SEQUENCE papers_change_seq")
    db.execute("SELECT setval('papers_change_seq', (SELECT coalesce(max(change_seq), 0) + 1 FROM papers), false)")
    from bot.store.postgres import CHANGE_LOCK

    db.execute(f"""
        CREATE FUNCTION papers_bump_change_seq() RETURNS trigger LANGUAGE plpgsql AS $body$
        BEGIN
            PERFORM pg_advisory_xact_lock({CHANGE_LOCK});
            NEW.change_seq := nextval('papers_change_seq');
            RETURN NEW;
        END
        $body$""")
    db.execute("CREATE TRIGGER papers_changed_insert BEFORE INSERT ON papers FOR EACH ROW"
               " WHEN (NEW.change_seq = 0) EXECUTE FUNCTION papers_bump_change_seq()")
    db.execute(f"CREATE TRIGGER papers_changed_update BEFORE UPDATE OF {', '.join(_INDEXED_COLUMNS)} ON papers"
               " FOR EACH ROW WHEN (NEW.change_seq = OLD.change_seq) EXECUTE FUNCTION papers_bump_change_seq()")


# ---- rows ↔ papers


def _iso(when: datetime | None) -> str | None:
    return None if when is None else when.astimezone(UTC).isoformat()


def paper_row(paper: Paper) -> PaperRow:
    """The values the store keeps for ``paper``, in ``ROW_COLUMNS`` order (pure: a backfill computes rows on
    another core and hands them to :meth:`PaperStore.backfill_rows`)."""
    categories = " ".join(paper.categories)
    return (paper.id, paper.version, paper.title, json.dumps(list(paper.authors), ensure_ascii=False),
            paper.abstract, paper.primary_category, categories, paper.comment, paper.journal_ref, paper.doi,
            _iso(paper.published), _iso(paper.updated), search_query.title_hash(paper.title))


def _paper(row: Sequence[Any]) -> Paper:
    (_rowid, paper_id, version, title, authors, abstract, primary, categories, comment, journal_ref, doi,
     published, updated, mailing) = row
    return Paper(
        id=paper_id, version=version, title=title, authors=tuple(json.loads(authors)), abstract=abstract,
        primary_category=primary, categories=tuple(categories.split()),
        published=datetime.fromisoformat(published) if published else None,
        updated=datetime.fromisoformat(updated) if updated else None,
        comment=comment, journal_ref=journal_ref, doi=doi,
        mailing=date.fromisoformat(mailing) if mailing else None,
    )


def _merged(stored: dict[str, Any], incoming: dict[str, Any]) -> dict[str, Any] | None:
    """The row after applying ``incoming`` to ``stored``, or None when nothing would change.

    An older version never overwrites a newer one, and a field the incoming source lacks keeps its value.
    """
    if incoming["version"] < stored["version"]:
        return None
    merged = dict(stored)
    for column in _PAPER_COLUMNS:
        value = incoming[column]
        if (value is not None and value != "") or column in ("version", "title", "authors", "abstract"):
            merged[column] = value
    if all(merged[column] == stored[column] for column in _PAPER_COLUMNS):
        return None
    merged["title_hash"] = search_query.title_hash(merged["title"])
    return merged


def _chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


class PaperStore:
    db: Database
    path: Path | None
    url: str | None
    index_dir: Path | None
    _search_index: SearchIndex | None = None

    if TYPE_CHECKING:  # provided by SignalsStore / StoreBase in the composed Store
        def lock_change_cursor(self) -> None: ...

        def latest_signals(self, paper_ids: Sequence[str], as_of: datetime
                           ) -> dict[str, dict[str, SourceSignal]]: ...

        def citation_counts(self, paper_ids: Sequence[str], *, fetched_since: datetime | None = None
                            ) -> dict[str, int | None]: ...
    PAPER_MIGRATIONS: Sequence[Migration] = (
        _create_papers, _create_search, _create_backfill_checkpoints, _create_paper_months, _add_change_cursor)

    # ---- writing

    def record_announcements(self, announcements: Iterable[Announcement]) -> IngestCounts:
        """Upsert the papers of feed entries and remember (mailing, category, announce type); idempotent.

        Per paper (a paper listed in several categories counts once): ``new`` or ``cross_listed`` when one of
        its announcements is first seen as new / cross, else ``updated`` when its metadata or version changed
        (or a replacement brought a paper we did not know), else ``skipped``.
        """
        entries = list(announcements)
        counts = IngestCounts()
        if not entries:
            return counts
        conn = self.db.conn
        with conn:
            inserted, updated = self._write_rows([paper_row(entry.paper) for entry in entries])
            changed = inserted | updated
            ids = sorted({entry.paper.id for entry in entries})
            known: set[tuple[str, str, str]] = set()
            for chunk in _chunks(ids, 500):
                marks = ",".join("?" * len(chunk))
                known.update(conn.execute(
                    f"SELECT paper_id, mailing, category FROM announcements WHERE paper_id IN ({marks})",  # noqa: S608
                    chunk).fetchall())
            outcomes: dict[str, int] = {}
            for entry in entries:
                key = (entry.paper.id, entry.mailing.isoformat(), entry.feed_category)
                first_seen = key not in known
                if first_seen:
                    known.add(key)
                    conn.execute("INSERT INTO announcements (paper_id, mailing, category, announce_type)"
                                 " VALUES (?, ?, ?, ?)", [*key, entry.announce_type])
                if entry.announce_type in ("new", "cross"):
                    conn.execute(
                        "UPDATE papers SET mailing = ? WHERE id = ? AND (mailing IS NULL OR mailing > ?)",
                        [key[1], key[0], key[1]])
                if first_seen and entry.announce_type == "new":
                    outcome = 0
                elif first_seen and entry.announce_type == "cross":
                    outcome = 1
                else:
                    outcome = 2 if entry.paper.id in changed else 3
                outcomes[entry.paper.id] = min(outcome, outcomes.get(entry.paper.id, 3))
        # One count per paper, however many category listings carried it: new, else cross-listed, else updated.
        for outcome in outcomes.values():
            if outcome == 0:
                counts.new += 1
            elif outcome == 1:
                counts.cross_listed += 1
            elif outcome == 2:
                counts.updated += 1
            else:
                counts.skipped += 1
        return counts

    def upsert_papers(self, papers: Iterable[Paper]) -> IngestCounts:
        """Insert or update papers (from the API or a backfill) without touching their mailings.

        A paper is ``new`` if unknown, ``updated`` if its metadata or version changed (an older version never
        replaces a newer one), else ``skipped``.
        """
        rows = [paper_row(paper) for paper in papers]
        with self.db.conn:
            return self._upsert_counts(rows)

    def _upsert_counts(self, rows: Sequence[PaperRow]) -> IngestCounts:
        inserted, updated = self._write_rows(rows)
        counts = IngestCounts()
        seen: set[str] = set()
        for row in rows:
            paper_id = row[0]
            if paper_id in seen:
                counts.skipped += 1
            elif paper_id in inserted:
                counts.new += 1
            elif paper_id in updated:
                counts.updated += 1
            else:
                counts.skipped += 1
            seen.add(paper_id)
        return counts

    def _write_rows(self, batch: Sequence[PaperRow]) -> tuple[set[str], set[str]]:
        """Insert unknown papers and update changed ones (inside the caller's transaction); returns the ids
        inserted and the ids of papers that existed and changed."""
        conn = self.db.conn
        stored: dict[str, dict[str, Any]] = {}
        unique = sorted({row[0] for row in batch})
        for chunk in _chunks(unique, 500):
            marks = ",".join("?" * len(chunk))
            cursor = conn.execute(_SELECT_STORED + f" WHERE id IN ({marks})", chunk)
            for row in cursor:
                stored[row[0]] = dict(zip(_PAPER_COLUMNS, row, strict=True))
        inserts: dict[str, dict[str, Any]] = {}
        updates: dict[str, dict[str, Any]] = {}
        for row in batch:
            incoming = dict(zip(ROW_COLUMNS, row, strict=True))
            paper_id = row[0]
            if paper_id in inserts:
                merged = _merged(inserts[paper_id], incoming)
                if merged is not None:
                    inserts[paper_id] = merged
                continue
            current = updates.get(paper_id) or stored.get(paper_id)
            if current is None:
                inserts[paper_id] = incoming
                continue
            merged = _merged(current, incoming)
            if merged is not None:
                updates[paper_id] = merged
        if inserts or updates:
            self.lock_change_cursor()
        if inserts:
            self._insert_rows(list(inserts.values()))
        if updates:
            self._update_rows(list(updates.values()))
        return set(inserts), set(updates)

    def _update_rows(self, rows: Sequence[dict[str, Any]]) -> None:
        assignments = ", ".join(f"{column} = ?" for column in _PAPER_COLUMNS[1:])
        self.db.conn.executemany(
            f"UPDATE papers SET {assignments}, title_hash = ?,"  # noqa: S608
            f" change_seq = {self._next_change()} WHERE id = ?",
            [[row[column] for column in ROW_COLUMNS[1:]] + [row["id"]] for row in rows])

    def _insert_rows(self, rows: Sequence[dict[str, Any]]) -> None:
        conn = self.db.conn
        values = []
        unsorted_next: int | None = None
        for row in rows:
            rowid = paper_rowid(row["id"])
            if rowid is None:
                if unsorted_next is None:
                    (highest,) = conn.execute("SELECT max(rowid) FROM papers").fetchone()
                    unsorted_next = max(_UNSORTED_ROWID_BASE, (highest or 0) + 1)
                rowid, unsorted_next = unsorted_next, unsorted_next + 1
            values.append([rowid, *(row[column] for column in ROW_COLUMNS)])
        columns = ", ".join(_PAPER_COLUMNS)
        marks = ", ".join("?" * (len(_PAPER_COLUMNS) + 2))
        conn.executemany(
            f"INSERT INTO papers (rowid, {columns}, title_hash, change_seq)"  # noqa: S608
            f" VALUES ({marks}, {self._next_change()})", values)
        per_month = Counter(row[0] // 100_000 for row in values)
        conn.executemany(
            "INSERT INTO paper_months (month, papers) VALUES (?, ?)"
            " ON CONFLICT (month) DO UPDATE SET papers = paper_months.papers + excluded.papers",
            sorted(per_month.items()))

    def _next_change(self) -> str:
        return _NEXT_CHANGE_PG if self.db.engine == "postgresql" else _NEXT_CHANGE

    # ---- backfill

    def backfill_checkpoint(self, path: str) -> BackfillCheckpoint | None:
        """Where an earlier backfill of ``path`` stopped, if one ran."""
        row = self.db.conn.execute(
            "SELECT path, signature, byte_offset, line, new, updated, skipped, malformed, done"
            " FROM backfill_checkpoints WHERE path = ?", [path]).fetchone()
        if row is None:
            return None
        return BackfillCheckpoint(row[0], row[1], row[2], row[3], IngestCounts(row[4], row[5], 0, row[6]),
                                  row[7], bool(row[8]))

    def backfill_batch(self, papers: Sequence[Paper], checkpoint: BackfillCheckpoint) -> IngestCounts:
        """:meth:`backfill_rows` for papers."""
        return self.backfill_rows([paper_row(paper) for paper in papers], checkpoint)

    def backfill_rows(self, rows: Sequence[PaperRow], checkpoint: BackfillCheckpoint) -> IngestCounts:
        """Store one batch of backfilled papers and the checkpoint after it, in one transaction: an
        interrupted backfill resumes exactly after the last batch stored."""
        with self.db.conn:
            counts = self._upsert_counts(rows)
            total = IngestCounts()
            total.add(checkpoint.counts)
            total.add(counts)
            self.db.conn.execute(
                "INSERT INTO backfill_checkpoints"
                " (path, signature, byte_offset, line, new, updated, skipped, malformed, done)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (path) DO UPDATE SET"
                " signature = excluded.signature, byte_offset = excluded.byte_offset, line = excluded.line,"
                " new = excluded.new, updated = excluded.updated, skipped = excluded.skipped,"
                " malformed = excluded.malformed, done = excluded.done",
                [checkpoint.path, checkpoint.signature, checkpoint.offset, checkpoint.line, total.new,
                 total.updated, total.skipped, checkpoint.malformed, int(checkpoint.done)])
        return counts

    # ---- the search index (derived from papers; see bot/search/index.py)

    def search_index(self) -> SearchIndex:
        """This node's index of the store: beside a SQLite file (``<db>.index/``), under HOTPAPERS_HOME for
        PostgreSQL (``data/index-<database>/``: each node keeps its own, and catches up from the change cursor),
        or ``index_dir`` if the store was opened with one; in memory for an in-memory store."""
        if self._search_index is None:
            directory = self._index_directory()
            try:
                self._search_index = SearchIndex(directory)
            except OSError as exc:
                raise HotPapersError(f"cannot open the search index at {directory} ({exc.strerror or exc}); "
                                     "check that directory's permissions and free space") from None
        return self._search_index

    def _index_directory(self) -> Path | None:
        if self.index_dir is not None:
            return self.index_dir
        if self.url is not None:
            from bot.config import project_home
            from bot.store.postgres import index_directory

            return index_directory(self.url, project_home())
        return None if self.path is None else self.path.with_name(self.path.name + ".index")

    def last_change(self) -> int:
        """The newest change sequence of the papers table (0 when empty)."""
        (seq,) = self.db.conn.execute("SELECT coalesce(max(change_seq), 0) FROM papers").fetchone()
        return int(seq)

    def _index_rows(self, after: int, upto: int, batch: int) -> Iterator[list[IndexRow]]:
        # One page at a time (a PostgreSQL cursor would otherwise hold every row of a rebuild in memory).
        while True:
            rows = self.db.conn.execute(
                "SELECT rowid, change_seq, title, authors, abstract, categories, published FROM papers"
                " WHERE change_seq > ? AND change_seq <= ? ORDER BY change_seq LIMIT ?",
                [after, upto, batch]).fetchall()
            if not rows:
                return
            yield [IndexRow(rowid, seq, title, json.loads(authors), abstract, categories.split(),
                            int(published[:4]) if published else None)
                   for rowid, seq, title, authors, abstract, categories, published in rows]
            after = rows[-1][1]

    def catch_up_search_index(self, *, limit: int | None = None) -> int:
        """Apply to the index every paper written since the cursor it holds (at most ``limit`` rows);
        returns the rows applied. Another process writing the index at the same moment is left to it."""
        index = self.search_index()
        index.refresh()
        after, head = index.applied, self.last_change()
        if head < after:  # the index was built from another database: start over
            return self.reindex()
        if head == after:
            return 0
        if limit is not None:
            (upto,) = self.db.conn.execute(
                "SELECT max(change_seq) FROM (SELECT change_seq FROM papers WHERE change_seq > ?"
                " ORDER BY change_seq LIMIT ?) AS pending", [after, limit]).fetchone()
            head = int(upto)
        try:
            return index.apply(self._index_rows(after, head, INDEX_BATCH), bulk=head - after > BULK_ROWS)
        except IndexBusy:
            log.info("search index is being written by another process; searching what it holds")
            return 0

    def reindex(self, progress: Callable[[int], None] | None = None) -> int:
        """Rebuild the search index from every stored paper; returns how many. Until it commits at the end,
        searches see the previous index; an interrupted rebuild leaves that one in place."""
        index = self.search_index()
        head = self.last_change()
        done = 0

        def batches() -> Iterator[list[IndexRow]]:
            nonlocal done
            for rows in self._index_rows(0, head, INDEX_BATCH):
                done += len(rows)
                if progress is not None:
                    progress(done)
                yield rows

        index.apply(batches(), rebuild=True, upto=head)
        return done

    # ---- reading

    def paper(self, paper_id: str) -> Paper | None:
        """One paper by canonical (versionless) id."""
        row = self.db.conn.execute(_SELECT_PAPER + " WHERE id = ?", [paper_id]).fetchone()
        return None if row is None else _paper(row)

    def paper_count(self) -> int:
        """How many papers the store holds."""
        (count,) = self.db.conn.execute("SELECT coalesce(sum(papers), 0) FROM paper_months").fetchone()
        return int(count)

    def search(self, query: str, *, limit: int = 10, category: str | None = None,
               since: date | None = None, until: date | None = None, now: datetime | None = None,
               weights: Mapping[str, float] | None = None) -> list[Paper]:
        """Best matches for any user text, best first (never raises on odd input); see :meth:`search_hits`."""
        return [hit.paper for hit in self.search_hits(query, limit=limit, category=category, since=since,
                                                      until=until, now=now, weights=weights)]

    def search_hits(self, query: str, *, limit: int = 10, category: str | None = None,
                    since: date | None = None, until: date | None = None, now: datetime | None = None,
                    weights: Mapping[str, float] | None = None) -> list[Hit]:
        """Best matches with why each matched: a pasted whole title first, then the index's candidates
        re-scored by :mod:`bot.search.rank`. Every matching paper is reachable whatever its age.

        ``category`` is a category or archive code (aliases resolved); ``since``/``until`` bound the first
        publication date, inclusive. ``weights`` weigh engagement (a tie-breaker only) as in :mod:`bot.ranking`;
        stored citation counts break ties too (see :mod:`bot.search.rank`); nothing here fetches them.
        """
        parsed = parse(query)
        if limit <= 0 or parsed.empty:
            return []
        categories = self._category_terms(category)
        self.catch_up_search_index(limit=CATCH_UP_PER_SEARCH)

        def wanted(paper: Paper) -> bool:
            if paper.published is not None:
                day = paper.published.date()
                if (since and day < since) or (until and day > until):
                    return False
            elif since or until:
                return False
            return category is None or _in_category(paper, category)

        exact = [paper for paper in self._papers_titled(query) if wanted(paper)]
        index = self.search_index()
        frequency, total = index.document_frequencies(parsed.terms)
        typos = [term for term in parsed.free if frequency.get(term, 0) == 0 and len(term) >= 4]
        years = None if since is None and until is None else (
            since.year if since else 0, until.year if until else 9999)
        common = [term for term in parsed.free
                  if total >= COMMON_FROM and frequency.get(term, 0) > COMMON_SHARE * total]
        found = index.candidates(parsed, limit=max(CANDIDATES, 2 * limit), typos=typos, common=common,
                                 categories=categories, years=years)
        found.sort(key=lambda item: (-round(item[1], 4), -item[0]))  # equal scores: the newer id first
        stored = self._papers_at([rowid for rowid, _ in found])  # never a paper the store does not hold
        exact_ids = {paper.id for paper in exact}
        candidates = [(stored[rowid], score) for rowid, score in found
                      if rowid in stored and wanted(stored[rowid]) and stored[rowid].id not in exact_ids]
        candidate_ids = [paper.id for paper, _ in candidates]
        signals = self.latest_signals(candidate_ids, now or _END_OF_TIME)
        citations = self.citation_counts(candidate_ids)
        weights = weights if weights is not None else RankingSettings().weights
        hotness = {paper_id: ranking.score(by_source, weights) for paper_id, by_source in signals.items()}
        dates = [paper.published for paper, _ in candidates if paper.published is not None]
        reference = now or (max(dates) if dates else datetime(1970, 1, 1, tzinfo=UTC))
        exact_hits = [replace(hit, pinned=True) for hit in rank(parsed, [(paper, 1.0) for paper in exact],
                                                                 frequency, total, (), reference, {})]
        return (exact_hits + rank(parsed, candidates, frequency, total, typos, reference, hotness,
                                  citations))[:limit]

    def title_suggestions(self, text: str, *, limit: int = 25) -> list[Paper]:
        """Papers whose titles best complete what a user is typing (autocomplete; must be fast).

        Every word typed must appear in the title, the last one as a prefix (from two letters on); an exact
        title comes first, then the best title matches (the newest when only a prefix is typed).
        """
        terms = search_query.words(text)
        if limit <= 0 or not terms:
            return []
        self.catch_up_search_index(limit=CATCH_UP_PER_SEARCH)
        exact = self._papers_titled(text)
        prefix_last = len(terms[-1]) >= 2 and text == text.rstrip()  # "deep lea" → lea*, "deep " → deep
        done = terms[:-1] if prefix_last else terms
        # The longest whole words are the rarest: a few of them narrow the titles as well as all would.
        done = search_query.longest(list(dict.fromkeys(done)), TITLE_WORDS)
        found = self.search_index().title_prefix(done, terms[-1] if prefix_last else None, limit)
        found.sort(key=lambda item: (-round(item[1], 4), -item[0]))  # equal scores: the newer id first
        stored = self._papers_at([rowid for rowid, _ in found])
        exact_ids = {paper.id for paper in exact}
        return (exact + [stored[rowid] for rowid, _ in found
                         if rowid in stored and stored[rowid].id not in exact_ids])[:limit]

    def _papers_titled(self, text: str) -> list[Paper]:
        key = search_query.title_key(text)
        if not key:
            return []
        rows = self.db.conn.execute(_SELECT_PAPER + " WHERE title_hash = ? ORDER BY rowid DESC LIMIT ?",
                                    [search_query.title_hash(text), TITLE_MATCHES]).fetchall()
        return [_paper(row) for row in rows if search_query.title_key(row[3]) == key]

    @staticmethod
    def _category_terms(category: str | None) -> list[str]:
        """The index's category words standing for ``category`` (an archive, or a category and its
        aliases); raises UnknownCategory for a code that is neither."""
        if category is None:
            return []
        from bot import taxonomy

        code = taxonomy.canonical_category(category)
        if taxonomy.is_archive(code):
            return sorted({code.lower()} | {c.lower() for c in taxonomy.expand([code])
                                            if c.split(".")[0].lower() != code.lower()})
        return sorted(c.lower() for c in taxonomy.expand([code]))

    def _papers_at(self, rowids: Sequence[int]) -> dict[int, Paper]:
        papers: dict[int, Paper] = {}
        for chunk in _chunks(list(rowids), 500):
            marks = ",".join("?" * len(chunk))
            for row in self.db.conn.execute(_SELECT_PAPER + f" WHERE rowid IN ({marks})", chunk):
                papers[row[0]] = _paper(row)
        return papers

    # ---- mailings

    def mailing_papers(self, mailing: date, categories: Sequence[str] | None = None) -> list[Paper]:
        """Papers announced new or cross in ``mailing`` (in any of ``categories`` if given, aliases
        resolved)."""
        rows = self.db.conn.execute(
            _SELECT_PAPER + " WHERE id IN (SELECT paper_id FROM announcements"  # noqa: S608
            " WHERE mailing = ? AND announce_type IN ('new', 'cross')) ORDER BY rowid",
            [mailing.isoformat()]).fetchall()
        papers = [_paper(row) for row in rows]
        if categories is None:
            return papers
        from bot import taxonomy

        wanted = categories  # validated up front so a bad code raises even on an empty mailing
        taxonomy.expand(wanted)
        return [paper for paper in papers if taxonomy.matches(paper.categories, wanted)]

    def latest_mailing(self, categories: Sequence[str] | None = None, *, on_or_before: date | None = None
                       ) -> date | None:
        """The most recent mailing we hold (for those categories)."""
        bound = (on_or_before or date.max).isoformat()
        if categories is None:
            (latest,) = self.db.conn.execute(
                "SELECT max(mailing) FROM announcements"
                " WHERE announce_type IN ('new', 'cross') AND mailing <= ?",
                [bound]).fetchone()
            return date.fromisoformat(latest) if latest else None
        from bot import taxonomy

        taxonomy.expand(categories)
        cursor = self.db.conn.execute(
            "SELECT a.mailing, p.categories FROM announcements a JOIN papers p ON p.id = a.paper_id"
            " WHERE a.announce_type IN ('new', 'cross') AND a.mailing <= ? ORDER BY a.mailing DESC", [bound])
        for mailing, paper_categories in cursor:
            if taxonomy.matches(paper_categories.split(), categories):
                return date.fromisoformat(mailing)
        return None

    def mailings(self, *, since: date | None = None) -> list[date]:
        """Every mailing date we hold, oldest first."""
        rows = self.db.conn.execute(
            "SELECT DISTINCT mailing FROM announcements"
            " WHERE announce_type IN ('new', 'cross') AND mailing >= ?"
            " ORDER BY mailing", [(since or date.min).isoformat()])
        return [date.fromisoformat(row[0]) for row in rows]


_END_OF_TIME = datetime(9999, 1, 1, tzinfo=UTC)


def _in_category(paper: Paper, category: str) -> bool:
    from bot import taxonomy

    return taxonomy.matches(paper.categories, [category])
