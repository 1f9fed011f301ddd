"""Loading the Kaggle "arXiv dataset" metadata file (JSON lines) into the store, resumably.

One line is one paper: ``id``, ``submitter``, ``authors``, ``title``, ``comments``, ``journal-ref``, ``doi``,
``categories`` (space-separated, primary first), ``abstract``, ``versions`` (``[{"version": "v1", "created":
"Mon, 2 Apr 2007 19:18:42 GMT"}, …]``), ``update_date``, ``authors_parsed`` (``[[last, first, suffix], …]``).
:func:`parse_line` is pure; :func:`backfill_file` reads the file in batches and stores each batch together
with a checkpoint, so an interrupted run continues where it stopped and a finished one is not repeated.
"""

from __future__ import annotations

import json
import multiprocessing
import multiprocessing.process
import os
import queue
import re
import signal
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Protocol

from bot.errors import InvalidPaperId
from bot.ids import parse_arxiv_id
from bot.models import Paper
from bot.store.papers import BackfillCheckpoint, IngestCounts, PaperRow, paper_row

BATCH_SIZE = 5000
PROCESS_THRESHOLD_BYTES = 64 * 1024 * 1024  # parse files bigger than this in a child process
_MONTHS = {name: number for number, name in enumerate(
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), start=1)}
_SHORT_NEW_STYLE = re.compile(r"\d{3}\.\d{4,5}")  # "704.0001": a new-style id that lost its leading zero
_AUTHOR_SEPARATOR = re.compile(r",\s*|\s+and\s+")


class MalformedLine(ValueError):
    """A line that is not one paper in the Kaggle format."""


def parse_line(line: str | bytes) -> Paper:
    """The paper one line describes; raises MalformedLine for anything else."""
    try:
        record = json.loads(line, parse_float=str)  # keep "0704.0010" digit for digit if written as a number
    except (ValueError, UnicodeDecodeError) as exc:
        raise MalformedLine(f"not JSON: {exc}") from None
    if not isinstance(record, dict):
        raise MalformedLine("not a JSON object")
    try:
        return _paper(record)
    except (KeyError, TypeError, ValueError, IndexError, AttributeError) as exc:
        raise MalformedLine(f"{type(exc).__name__}: {exc}") from None


def _paper(record: dict[str, Any]) -> Paper:
    raw_id = str(record["id"]).strip()
    if _SHORT_NEW_STYLE.fullmatch(raw_id):
        raw_id = "0" + raw_id
    try:
        arxiv_id = parse_arxiv_id(raw_id)
    except InvalidPaperId:
        raise ValueError(f"bad id {raw_id[:40]!r}") from None
    categories = tuple(str(record["categories"]).split())
    if not categories:
        raise ValueError("no categories")
    title = _one_line(record["title"])
    if not title:
        raise ValueError("no title")
    versions = record.get("versions") or []
    created = [_created(version["created"]) for version in versions]
    version = int(str(versions[-1]["version"]).lstrip("vV")) if versions else (arxiv_id.version or 1)
    updated = created[-1] if created else _update_date(record.get("update_date"))
    return Paper(
        id=arxiv_id.id,
        version=version,
        title=title,
        authors=_authors(record),
        abstract=_one_line(record.get("abstract") or ""),
        primary_category=categories[0],
        categories=categories,
        published=created[0] if created else None,
        updated=updated,
        comment=_optional(record.get("comments")),
        journal_ref=_optional(record.get("journal-ref")),
        doi=_optional(record.get("doi")),
    )


def _one_line(text: Any) -> str:
    return " ".join(str(text).split())


def _optional(text: Any) -> str | None:
    return _one_line(text) or None if text is not None else None


def _created(text: str) -> datetime:
    """``"Mon, 2 Apr 2007 19:18:42 GMT"`` → an aware UTC datetime (the weekday is ignored)."""
    _, day, month, year, clock, *_ = text.split()
    hour, minute, second = clock.split(":")
    return datetime(int(year), _MONTHS[month[:3].lower()], int(day), int(hour), int(minute), int(second),
                    tzinfo=UTC)


def _update_date(text: Any) -> datetime | None:
    if not text:
        return None
    day = date.fromisoformat(str(text))
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def _authors(record: dict[str, Any]) -> tuple[str, ...]:
    parsed = record.get("authors_parsed")
    if parsed:
        names = []
        for parts in parsed:
            last, first, suffix = [*parts, "", "", ""][:3]
            name = " ".join(part.strip() for part in (first, last, suffix) if part and part.strip())
            if name:
                names.append(name)
        if names:
            return tuple(names)
    text = _one_line(record.get("authors") or "")
    return tuple(name for name in _AUTHOR_SEPARATOR.split(text) if name)


# ---- the file


class BackfillStore(Protocol):
    def backfill_checkpoint(self, path: str) -> BackfillCheckpoint | None: ...
    def backfill_rows(self, rows: list[PaperRow], checkpoint: BackfillCheckpoint) -> IngestCounts: ...


@dataclass(frozen=True)
class BackfillProgress:
    """Where a backfill stands: bytes and lines read of the file, and what happened so far."""

    bytes_done: int
    bytes_total: int
    lines: int
    counts: IngestCounts
    malformed: int


@dataclass(frozen=True)
class BackfillResult:
    counts: IngestCounts
    malformed: int
    lines: int
    resumed_from_line: int
    already_done: bool


def file_signature(path: Path) -> str:
    """Size and modification time: a changed file is backfilled again from its start."""
    stat = path.stat()
    return f"{stat.st_size}:{stat.st_mtime_ns}"


def backfill_file(store: BackfillStore, path: Path, *, batch_size: int = BATCH_SIZE,
                  progress: Callable[[BackfillProgress], None] | None = None) -> BackfillResult:
    """Load every paper of ``path``, continuing an interrupted run; a malformed line is skipped and counted.

    Each batch is stored with its checkpoint in one transaction, so stopping at any moment (Ctrl-C raises
    KeyboardInterrupt out of this function, ``progress`` may raise too) loses at most the batch in flight.
    """
    key = str(path.resolve())
    signature = file_signature(path)
    total = os.path.getsize(path)
    previous = store.backfill_checkpoint(key)
    if previous is not None and previous.signature == signature:
        if previous.done:
            return BackfillResult(IngestCounts(), 0, previous.line, previous.line, already_done=True)
        offset, line_number, malformed = previous.offset, previous.line, previous.malformed
        counts = previous.counts
    else:
        offset, line_number, malformed, counts = 0, 0, 0, IngestCounts()
    resumed_from = line_number
    session = IngestCounts()
    session_malformed = 0
    batches = _ParsedBatches(path, offset, line_number, batch_size,
                             in_process=total - offset >= PROCESS_THRESHOLD_BYTES)
    try:
        for batch in batches:
            malformed += batch.malformed
            session_malformed += batch.malformed
            counts = _store_batch(store, batch.rows, key, signature, batch.offset, batch.line, counts,
                                  malformed, session, done=batch.last)
            offset, line_number = batch.offset, batch.line
            if progress is not None:
                progress(BackfillProgress(offset, total, line_number, counts, malformed))
    finally:
        batches.stop()
    return BackfillResult(session, session_malformed, line_number, resumed_from, already_done=False)


@dataclass(frozen=True)
class _Batch:
    rows: list[PaperRow]  # what the store keeps of each paper, computed where the line was parsed
    offset: int  # the byte after the batch's last line
    line: int
    malformed: int
    last: bool


class _ParsedBatches:
    """Reads and parses the file a few batches ahead of the caller, who stores them meanwhile.

    A big file is parsed in a child process (JSON decoding then uses a second core); a small one on a
    thread, which starts at once and still overlaps with SQLite's indexing, as SQLite releases the GIL.
    """

    def __init__(self, path: Path, offset: int, line: int, batch_size: int, *, in_process: bool) -> None:
        self._stopping = threading.Event()
        self._queue: Any
        self._worker: threading.Thread | multiprocessing.process.BaseProcess
        arguments = (path, offset, line, batch_size)
        if in_process:
            context = multiprocessing.get_context("spawn")  # no fork: this process holds threads and SQLite
            self._queue = context.Queue(maxsize=4)
            self._worker = context.Process(target=_parse_in_child, args=(*arguments, self._queue),
                                           name="backfill-parser", daemon=True)
        else:
            self._queue = queue.Queue(maxsize=3)
            self._worker = threading.Thread(target=_produce, args=(*arguments, self._put),
                                            name="backfill-parser", daemon=True)
        self._worker.start()

    def __iter__(self) -> Iterator[_Batch]:
        while True:
            try:
                item = self._queue.get(timeout=1.0)
            except queue.Empty:
                if self._worker.is_alive():
                    continue
                try:
                    item = self._queue.get(timeout=1.0)
                except queue.Empty:
                    raise RuntimeError("the backfill parser stopped unexpectedly") from None
            if isinstance(item, BaseException):
                raise item
            assert isinstance(item, _Batch)
            yield item
            if item.last:
                return

    def stop(self) -> None:
        self._stopping.set()
        if isinstance(self._worker, threading.Thread):
            self._worker.join(timeout=5)
        else:
            self._worker.terminate()
            self._worker.join(timeout=5)

    def _put(self, item: object) -> bool:
        while not self._stopping.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False


def _read_batches(path: Path, offset: int, line: int, batch_size: int) -> Iterator[_Batch]:
    with path.open("rb") as source:
        source.seek(offset)
        rows: list[PaperRow] = []
        malformed = 0
        for raw in source:
            offset += len(raw)
            line += 1
            if raw.strip():
                try:
                    rows.append(paper_row(parse_line(raw)))
                except MalformedLine:
                    malformed += 1
            if len(rows) >= batch_size:
                yield _Batch(rows, offset, line, malformed, last=False)
                rows, malformed = [], 0
        yield _Batch(rows, offset, line, malformed, last=True)


def _produce(path: Path, offset: int, line: int, batch_size: int, put: Callable[[object], bool]) -> None:
    try:
        for batch in _read_batches(path, offset, line, batch_size):
            if not put(batch):
                return
    except Exception as exc:  # handed to the consumer, which raises it
        put(exc)


def _parse_in_child(path: Path, offset: int, line: int, batch_size: int, out: Any) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is for the parent, which stops this process

    def put(item: object) -> bool:
        out.put(item)
        return True

    _produce(path, offset, line, batch_size, put)


def _store_batch(store: BackfillStore, batch: list[PaperRow], key: str, signature: str, offset: int,
                 line: int, counts: IngestCounts, malformed: int, session: IngestCounts, *, done: bool
                 ) -> IngestCounts:
    checkpoint = BackfillCheckpoint(key, signature, offset, line, counts, malformed, done)
    stored = store.backfill_rows(batch, checkpoint)
    session.add(stored)
    total = IngestCounts()
    total.add(counts)
    total.add(stored)
    return total
