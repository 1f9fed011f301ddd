"""Loading the Kaggle "arXiv dataset" metadata file (JSON lines) into the store, resumably.

The file is read as Kaggle distributes it (https://www.kaggle.com/datasets/Cornell-University/arxiv): the zip
holding ``arxiv-metadata-oai-snapshot.json``, that file unpacked, or gzipped. A JSON array, another archive or
another compression is refused with one line saying what to do (:class:`UnreadableFile`).

One line is one paper: ``id``, ``submitter``, ``authors``, ``title``, ``comments``, ``journal-ref``, ``doi``,
``categories`` (space-separated, primary first), ``abstract``, ``versions`` (``[{"version": "v1", "created":
"Mon, 2 Apr 2007 19:18:42 GMT"}, …]``), ``update_date``, ``authors_parsed`` (``[[last, first, suffix], …]``).
:func:`parse_line` is pure; :func:`backfill_file` reads the file in batches and stores each batch together
with a checkpoint, so an interrupted run continues where it stopped and a finished one is not repeated.
"""

from __future__ import annotations

import gzip
import json
import multiprocessing
import multiprocessing.process
import os
import queue
import re
import signal
import threading
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import IO, Any, Literal, Protocol, cast

from bot.errors import HotPapersError, InvalidPaperId
from bot.ids import parse_arxiv_id
from bot.models import Paper
from bot.store.papers import BackfillCheckpoint, IngestCounts, PaperRow, paper_row

BATCH_SIZE = 5000
PROCESS_THRESHOLD_BYTES = 64 * 1024 * 1024  # the default process_threshold: files this big are parsed in a child
# A paper's line is a few KB (a 3,000-author collaboration a few hundred); a longer one is malformed, skipped
# without being held in memory.
MAX_LINE_BYTES = 4 * 1024 * 1024
KAGGLE_MEMBER = "arxiv-metadata-oai-snapshot.json"
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
    except RecursionError:
        raise MalformedLine("nested too deeply") from None
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
    categories = tuple(_text(record, "categories").split())
    if not categories:
        raise ValueError("no categories")
    title = _one_line(_text(record, "title"))
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
        abstract=_optional(record.get("abstract")) or "",
        primary_category=categories[0],
        categories=categories,
        published=created[0] if created else None,
        updated=updated,
        comment=_optional(record.get("comments")),
        journal_ref=_optional(record.get("journal-ref")),
        doi=_optional(record.get("doi")),
    )


def _text(record: dict[str, Any], key: str) -> str:
    """A required text field: ``null``, a number or a list is refused, never stored as "None"."""
    value = record[key]
    if not isinstance(value, str):
        raise ValueError(f"{key} is {type(value).__name__}, not text")
    return value


def _one_line(text: Any) -> str:
    return " ".join(str(text).split())


def _optional(text: Any) -> str | None:
    """An optional text field: anything but text (``null``, a number) is absent."""
    return _one_line(text) or None if isinstance(text, str) else None


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
    text = _optional(record.get("authors")) or ""
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


Format = Literal["plain", "gzip", "zip"]


class UnreadableFile(HotPapersError):
    """The file is not the Kaggle metadata in a form we read; the message (one line) says what to do."""


@dataclass(frozen=True)
class MetadataFile:
    """A recognised metadata file: its format, the zip member read, and the bytes progress is measured in
    (the file's for plain and gzip, the member's uncompressed size for zip)."""

    path: Path
    format: Format
    size: int
    member: str | None = None


_OTHER_COMPRESSIONS = {b"BZh": "bzip2", b"\xfd7zXZ": "xz", b"7z\xbc\xaf": "7-Zip", b"\x28\xb5\x2f\xfd": "zstd"}


def recognise(path: Path) -> MetadataFile:
    """What ``path`` holds: JSON lines, plain, gzipped or in Kaggle's zip; UnreadableFile for anything else
    we can name (a JSON array, another archive or compression, a damaged file)."""
    with path.open("rb") as source:
        magic = source.read(6)
    for prefix, name in _OTHER_COMPRESSIONS.items():
        if magic.startswith(prefix):
            raise UnreadableFile(f"{path} is {name}-compressed: unpack it, or give the zip from Kaggle")
    if magic.startswith(b"\x1f\x8b"):
        meta = MetadataFile(path, "gzip", path.stat().st_size)
    elif magic.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        meta = _zip_member(path)
    else:
        meta = MetadataFile(path, "plain", path.stat().st_size)
    try:
        with _opened(meta) as (stream, _):
            head = stream.read(64 * 1024).lstrip(b"\xef\xbb\xbf \t\r\n")
    except (OSError, EOFError, zipfile.BadZipFile) as exc:
        raise UnreadableFile(f"{path} is a damaged {meta.format} file ({exc})") from None
    if head.startswith(b"["):
        raise UnreadableFile(f"{path} is one JSON array, not JSON lines (one paper per line, as Kaggle "
                             f"distributes it); convert it with: jq -c '.[]' {path} > papers.json")
    return meta


def _zip_member(path: Path) -> MetadataFile:
    try:
        with zipfile.ZipFile(path) as archive:
            members = [info for info in archive.infolist() if not info.is_dir()]
    except zipfile.BadZipFile as exc:
        raise UnreadableFile(f"{path} is a damaged zip file ({exc})") from None
    chosen = next((info for info in members if Path(info.filename).name == KAGGLE_MEMBER), None)
    if chosen is None and len(members) == 1:
        chosen = members[0]
    if chosen is None:
        names = ", ".join(info.filename for info in members[:5]) or "nothing"
        raise UnreadableFile(f"{path} is a zip without {KAGGLE_MEMBER} (it holds {names}); "
                             "unzip the metadata file and give its path")
    return MetadataFile(path, "zip", chosen.file_size, chosen.filename)


@contextmanager
def _opened(meta: MetadataFile) -> Iterator[tuple[IO[bytes], Callable[[], int] | None]]:
    """The file's JSON lines as a binary stream, and for gzip a function giving the compressed position
    (progress); plain and zip progress is the uncompressed offset itself."""
    with meta.path.open("rb") as raw:
        if meta.format == "gzip":
            with gzip.GzipFile(fileobj=raw) as unpacked:
                yield cast(IO[bytes], unpacked), raw.tell
        elif meta.format == "zip":
            with zipfile.ZipFile(raw) as archive, archive.open(meta.member or KAGGLE_MEMBER) as member:
                yield member, None
        else:
            yield raw, None


def file_signature(path: Path) -> str:
    """Size and modification time: a changed file is backfilled again from its start."""
    stat = path.stat()
    return f"{stat.st_size}:{stat.st_mtime_ns}"


def backfill_file(store: BackfillStore, path: Path, *, batch_size: int = BATCH_SIZE,
                  progress: Callable[[BackfillProgress], None] | None = None,
                  process_threshold: int = PROCESS_THRESHOLD_BYTES) -> BackfillResult:
    """Load every paper of ``path``, continuing an interrupted run; a malformed line is skipped and counted.

    Each batch is stored with its checkpoint in one transaction, so stopping at any moment (Ctrl-C raises
    KeyboardInterrupt out of this function, ``progress`` may raise too) loses at most the batch in flight.
    When at least ``process_threshold`` bytes are left to read, they are parsed in a child process.
    """
    meta = recognise(path)
    key = str(path.resolve())
    signature = file_signature(path)
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
    left = meta.size - (offset if meta.format != "gzip" else 0)
    batches = _ParsedBatches(meta, offset, line_number, batch_size, in_process=left >= process_threshold)
    try:
        for batch in batches:
            malformed += batch.malformed
            session_malformed += batch.malformed
            counts = _store_batch(store, batch.rows, key, signature, batch.offset, batch.line, counts,
                                  malformed, session, done=batch.last)
            offset, line_number = batch.offset, batch.line
            if progress is not None:
                progress(BackfillProgress(batch.position, meta.size, line_number, counts, malformed))
    finally:
        batches.stop()
    return BackfillResult(session, session_malformed, line_number, resumed_from, already_done=False)


@dataclass(frozen=True)
class _Batch:
    rows: list[PaperRow]  # what the store keeps of each paper, computed where the line was parsed
    offset: int  # the byte after the batch's last line (of the uncompressed text)
    position: int  # how far into MetadataFile.size, for progress
    line: int
    malformed: int
    last: bool


class _ParsedBatches:
    """Reads and parses the file a few batches ahead of the caller, who stores them meanwhile.

    A big file is parsed in a child process (JSON decoding then uses a second core); a small one on a
    thread, which starts at once and still overlaps with SQLite's indexing, as SQLite releases the GIL.
    """

    def __init__(self, meta: MetadataFile, offset: int, line: int, batch_size: int, *, in_process: bool
                 ) -> None:
        self._stopping = threading.Event()
        self._queue: Any
        self._worker: threading.Thread | multiprocessing.process.BaseProcess
        arguments = (meta, offset, line, batch_size)
        if in_process:
            context = multiprocessing.get_context("spawn")  # no fork: this process holds threads and SQLite
            self._queue = context.Queue(maxsize=4)
            self._worker = context.Process(target=_parse_in_child, args=(*arguments, self._queue, os.getpid()),
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


def _read_batches(meta: MetadataFile, offset: int, line: int, batch_size: int) -> Iterator[_Batch]:
    with _opened(meta) as (source, compressed_position):
        source.seek(offset)  # compressed: read through to it

        def position() -> int:
            return compressed_position() if compressed_position is not None else offset

        rows: list[PaperRow] = []
        malformed = 0
        while raw := source.readline(MAX_LINE_BYTES):
            offset += len(raw)
            line += 1
            if len(raw) == MAX_LINE_BYTES and not raw.endswith(b"\n"):
                while raw and not raw.endswith(b"\n"):  # skip the rest of an overlong line unread
                    raw = source.readline(MAX_LINE_BYTES)
                    offset += len(raw)
                malformed += 1
            elif raw.strip():
                try:
                    rows.append(paper_row(parse_line(raw)))
                except MalformedLine:
                    malformed += 1
            if len(rows) >= batch_size:
                yield _Batch(rows, offset, position(), line, malformed, last=False)
                rows, malformed = [], 0
        yield _Batch(rows, offset, position(), line, malformed, last=True)


def _produce(meta: MetadataFile, offset: int, line: int, batch_size: int, put: Callable[[object], bool]
             ) -> None:
    try:
        for batch in _read_batches(meta, offset, line, batch_size):
            if not put(batch):
                return
    except Exception as exc:  # handed to the consumer, which raises it
        put(exc)


def _parse_in_child(meta: MetadataFile, offset: int, line: int, batch_size: int, out: Any, parent: int
                    ) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is for the parent, which stops this process

    def put(item: object) -> bool:
        # A parent killed outright (SIGKILL) cannot stop this process: it notices it has been orphaned.
        while os.getppid() == parent:
            try:
                out.put(item, timeout=0.5)
                return True
            except queue.Full:
                continue
        # Orphaned: nobody will read the pipe again, so exiting must not wait for the queue's feeder thread to
        # flush a batch into it (that wait would never end).
        out.cancel_join_thread()
        return False

    _produce(meta, offset, line, batch_size, put)


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
