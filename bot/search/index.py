"""The derived full-text index (Tantivy) beside the store, and the cursor that keeps it in step.

The store is the source of truth. Every write to ``papers`` bumps a change sequence on the row
(``papers.change_seq``, kept by triggers on SQLite and PostgreSQL alike, so no writer knows about the index).
On PostgreSQL each node keeps its own index of the shared database. The index remembers the last sequence it
applied (``cursor.json`` inside its directory, written only after Tantivy's own atomic
commit) and :meth:`SearchIndex.apply` catches up from there. Applying a row deletes its old document and adds the
new one, so replaying rows after a crash between the commit and the cursor write changes nothing: a SIGKILL at
any point leaves the last commit and a cursor at or behind it.

No SQL here: the store reads the rows and hands them over as :class:`IndexRow`.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import tantivy

from bot.search.query import ParsedQuery, joined_pairs, nicknames
from bot.search_query import words

log = logging.getLogger(__name__)

FORMAT = 2  # bump when the schema or what fills it changes: an index of another format is rebuilt
CURSOR_FILE = "cursor.json"
# Field weights: a title word counts most.
BOOSTS = {"title": 3.0, "authors": 2.0, "abstract": 1.0}
NICK_SCORE = 40.0
SMALL_HEAP = 32_000_000  # bytes of indexing buffer for a catch-up (keeps `hotpapers search` small)
BULK_HEAP = 256_000_000  # for a rebuild or a long catch-up
BULK_COMMIT = 200_000  # rows between commits of a long catch-up


class IndexBusy(Exception):
    """Another process is writing the index right now."""


@dataclass(frozen=True, slots=True)
class IndexRow:
    """What the index holds of one stored paper."""

    rowid: int
    seq: int
    title: str
    authors: Sequence[str]
    abstract: str
    categories: Sequence[str]
    year: int | None


def _schema() -> tantivy.Schema:
    builder = tantivy.SchemaBuilder()
    builder.add_unsigned_field("rowid", indexed=True, fast=True)
    builder.add_text_field("title", index_option="position")
    builder.add_text_field("authors", index_option="position")
    builder.add_text_field("abstract", index_option="freq")
    builder.add_text_field("nick", index_option="freq")
    builder.add_text_field("cats", tokenizer_name="raw", index_option="basic")
    builder.add_integer_field("year", indexed=True, fast=True)
    return builder.build()


def _text(value: str) -> str:
    """Text as the index should cut it: ASCII as is (Tantivy splits and lowercases it exactly as
    :func:`bot.search_query.words` does), anything else folded by ``words`` first (accents dropped)."""
    return value if value.isascii() else " ".join(words(value))


def category_terms(categories: Iterable[str]) -> list[str]:
    """The index words of a paper's categories: each code and its archive, lowercase."""
    terms: dict[str, None] = {}
    for category in categories:
        terms.setdefault(category.lower(), None)
        terms.setdefault(category.split(".")[0].lower(), None)
    return list(terms)


class SearchIndex:
    """A Tantivy index in ``directory`` (or in memory when ``directory`` is None)."""

    def __init__(self, directory: Path | None) -> None:
        self.directory = directory
        self.schema = _schema()
        self._memory_seq = 0
        self.index = self._open()

    def _open(self) -> tantivy.Index:
        if self.directory is None:
            return tantivy.Index(self.schema)
        self.directory.mkdir(parents=True, exist_ok=True)
        cursor = self._read_cursor()
        if cursor is None or cursor.get("format") != FORMAT:
            self._clear()  # unknown state or an old format: start over (the store has everything)
        try:
            return tantivy.Index(self.schema, path=str(self.directory), reuse=True)
        except (ValueError, OSError) as exc:  # a damaged or incompatible index: rebuild from the store
            log.warning("search index at %s is unreadable (%s); rebuilding it", self.directory, exc)
            self._clear()
            return tantivy.Index(self.schema, path=str(self.directory), reuse=True)

    def _clear(self) -> None:
        assert self.directory is not None
        for child in self.directory.iterdir():
            if child.is_dir():
                shutil.rmtree(child)
            else:
                child.unlink()
        self._write_cursor(0)

    # ---- the cursor

    def _read_cursor(self) -> dict[str, int] | None:
        assert self.directory is not None
        try:
            data = json.loads((self.directory / CURSOR_FILE).read_text())
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) and isinstance(data.get("seq"), int) else None

    def _write_cursor(self, seq: int) -> None:
        if self.directory is None:
            self._memory_seq = seq
            return
        temporary = self.directory / (CURSOR_FILE + ".tmp")
        with open(temporary, "w") as handle:
            json.dump({"format": FORMAT, "seq": seq}, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, self.directory / CURSOR_FILE)

    @property
    def applied(self) -> int:
        """The last change sequence of the store this index holds."""
        if self.directory is None:
            return self._memory_seq
        cursor = self._read_cursor()
        return cursor["seq"] if cursor else 0

    # ---- writing

    def writer(self, *, bulk: bool = False) -> tantivy.IndexWriter:
        """The index's writer (one process at a time); raises IndexBusy when another process holds it."""
        try:
            return self.index.writer(heap_size=BULK_HEAP if bulk else SMALL_HEAP, num_threads=2 if bulk else 1)
        except ValueError as exc:
            raise IndexBusy(str(exc)) from None

    def apply(self, batches: Iterable[Sequence[IndexRow]], *, rebuild: bool = False, bulk: bool = False,
              upto: int | None = None) -> int:
        """Apply rows (batches in change order), committing and moving the cursor after each batch (after
        every BULK_COMMIT rows with ``bulk``); with ``rebuild`` every document is dropped first and nothing
        is visible until the one commit at the end. Returns the rows applied."""
        bulk = bulk or rebuild
        writer = self.writer(bulk=bulk)
        applied = pending = 0
        last: int | None = None
        try:
            if rebuild:
                writer.delete_all_documents()
            for batch in batches:
                for row in batch:
                    if not rebuild:
                        writer.delete_documents_by_term("rowid", row.rowid)
                    writer.add_document(self._document(row))
                applied += len(batch)
                pending += len(batch)
                last = batch[-1].seq if batch else last
                if last is not None and not rebuild and (not bulk or pending >= BULK_COMMIT):
                    writer.commit()
                    self._write_cursor(last)
                    pending = 0
            if pending or rebuild:
                writer.commit()
                self._write_cursor(upto if upto is not None else last or 0)
            writer.wait_merging_threads()
        except BaseException:
            with contextlib.suppress(Exception):
                writer.rollback()
            raise
        self.index.reload()
        return applied

    def _document(self, row: IndexRow) -> tantivy.Document:
        doc = tantivy.Document()
        doc.add_unsigned("rowid", row.rowid)
        doc.add_text("title", _text(row.title))
        doc.add_text("authors", _text(" ; ".join(row.authors)))
        doc.add_text("abstract", _text(row.abstract))
        for name in nicknames(row.title, row.abstract):
            doc.add_text("nick", name)
        for term in category_terms(row.categories):
            doc.add_text("cats", term)
        if row.year is not None:
            doc.add_integer("year", row.year)
        return doc

    # ---- reading

    def refresh(self) -> None:
        """See what another process committed."""
        self.index.reload()

    def document_frequencies(self, terms: Sequence[str]) -> tuple[dict[str, int], int]:
        """Papers holding each term in any text field (the largest field count), and the papers indexed."""
        searcher = self.index.searcher()
        frequency = {term: max(searcher.doc_freq(f, term) for f in ("title", "abstract", "authors", "nick"))
                     for term in terms}
        return frequency, searcher.num_docs

    def candidates(self, query: ParsedQuery, *, limit: int, typos: Sequence[str] = (), common: Sequence[str] = (),
                   categories: Sequence[str] = (), years: tuple[int, int] | None = None) -> list[tuple[int, float]]:
        """Row ids worth re-scoring, with their BM25 scores, best first: papers holding any query word
        (weighted by field), and separately the best title matches and the best author matches; filters are
        required. ``common`` words (in a large share of papers) add little but long walks: left out here
        when rarer words remain (the re-scoring still counts them)."""
        schema = self.schema
        filters: list[tuple[tantivy.Occur, tantivy.Query]] = []
        if categories:
            filters.append((tantivy.Occur.Must, tantivy.Query.term_set_query(schema, "cats", list(categories))))
        if years is not None:
            filters.append((tantivy.Occur.Must, tantivy.Query.range_query(
                schema, "year", tantivy.FieldType.Integer, years[0], years[1])))
        for author in query.authors:
            filters.append((tantivy.Occur.Must, tantivy.Query.term_query(schema, "authors", author)))
        for phrase in query.phrases:
            filters.append((tantivy.Occur.Must, tantivy.Query.boolean_query([
                (tantivy.Occur.Should, tantivy.Query.phrase_query(schema, "title", list(phrase))),
                (tantivy.Occur.Should, tantivy.Query.phrase_query(schema, "authors", list(phrase))),
                (tantivy.Occur.Should, tantivy.Query.boolean_query(
                    [(tantivy.Occur.Must, tantivy.Query.term_query(schema, "abstract", word)) for word in phrase])),
            ])))
        free = [term for term in query.free if term not in typos]
        free = [term for term in free if term not in common] or free
        everywhere = [(tantivy.Occur.Should, tantivy.Query.boost_query(
            tantivy.Query.term_query(schema, name, term), boost))
            for term in free for name, boost in BOOSTS.items()]
        # Few papers have a name, so BM25's length normalisation would crush the one that does: a name
        # matched scores a constant, about what a rare title word scores.
        everywhere += [(tantivy.Occur.Should, tantivy.Query.const_score_query(
            tantivy.Query.term_query(schema, "nick", name), NICK_SCORE))
            for name in dict.fromkeys([*free, *joined_pairs(query.free)])]
        fuzzy = [(tantivy.Occur.Should, tantivy.Query.boost_query(tantivy.Query.fuzzy_term_query(
            schema, name, term, distance=1 if len(term) < 8 else 2), boost))
            for term in typos for name, boost in (("title", BOOSTS["title"]), ("abstract", 1.0))]
        titles = [(tantivy.Occur.Should, tantivy.Query.term_query(schema, "title", term)) for term in free]
        authors = [(tantivy.Occur.Should, tantivy.Query.term_query(schema, "authors", term)) for term in free]
        searcher = self.index.searcher()
        found: dict[int, float] = {}
        for clauses, size in ((everywhere + fuzzy, limit), (titles, limit // 2), (authors, limit // 5)):
            if not clauses and not filters:
                continue
            # With filters (category, author, phrase, years) the words only rank; without, one must match.
            combined = tantivy.Query.boolean_query(filters + clauses)
            hits = searcher.search(combined, limit=size, count=False).hits
            rowids = searcher.fast_field_values("rowid", [address for _, address in hits])
            for (score, _), rowid in zip(hits, rowids, strict=True):
                if rowid is not None:
                    found[int(rowid)] = max(found.get(int(rowid), 0.0), float(score))
        return sorted(found.items(), key=lambda item: -item[1])

    def title_prefix(self, done: Sequence[str], prefix: str | None, limit: int) -> list[tuple[int, float]]:
        """Row ids whose titles hold every word of ``done`` and a word starting with ``prefix``."""
        schema = self.schema
        clauses = [(tantivy.Occur.Must, tantivy.Query.term_query(schema, "title", term)) for term in done]
        if prefix:
            clauses.append((tantivy.Occur.Must, tantivy.Query.fuzzy_term_query(
                schema, "title", prefix, distance=0, prefix=True)))
        if not clauses:
            return []
        searcher = self.index.searcher()
        # Only a prefix typed: every match scores alike, so take the newest rather than the first indexed.
        order = None if done else "rowid"
        hits = searcher.search(tantivy.Query.boolean_query(clauses), limit=limit, count=False,
                               order_by_field=order).hits
        rowids = searcher.fast_field_values("rowid", [address for _, address in hits])
        return [(int(rowid), float(score) if order is None else 0.0)
                for (score, _), rowid in zip(hits, rowids, strict=True) if rowid is not None]
