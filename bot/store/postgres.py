"""The PostgreSQL side of the engine-neutral connection (``HOTPAPERS_DATABASE_URL=postgresql://…``).

Store code is written once, in the SQL subset both engines accept, with ``?`` placeholders, and talks to
``self.db`` (``query``, ``execute``, ``conn.execute``/``executemany``, ``with db.conn:`` as one transaction).
On SQLite that is sqlite-utils' ``Database``; here :class:`PgDatabase` offers the same surface over one psycopg 3
connection, translating ``?`` to ``%s`` and SQLite's DDL types to PostgreSQL's.

Why synchronous psycopg 3: each store is used from one thread (the command line directly; the bot through
:class:`bot.store.AsyncStore`, which runs store methods on its one dedicated thread — and, for the delivery
ledger's trips on PostgreSQL, on a few more threads with a connection each), exactly as with sqlite3.
A blocking driver on that thread keeps the event loop free and every store method unchanged; an async
driver would have to turn the whole store into coroutines for no gain.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from functools import lru_cache
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

import psycopg
import psycopg.errors
from psycopg.conninfo import conninfo_to_dict
from psycopg.rows import dict_row

SCHEMES = ("postgresql", "postgres")
# One advisory lock serialises the writers of papers.change_seq, so sequence order is commit order and a reader
# of the change cursor never skips a sequence another transaction commits later (SQLite has one writer anyway).
CHANGE_LOCK = 0x486F7450  # "HotP"
MIGRATION_LOCK = 0x486F744D  # "HotM": one process migrates at a time


def is_database_url(location: object) -> bool:
    """True when ``location`` names a PostgreSQL database (``postgresql://…`` or ``postgres://…``)."""
    return isinstance(location, str) and location.split("://", 1)[0].lower() in SCHEMES and "://" in location


def redact(url: str) -> str:
    """The URL without its password (``postgresql://user:***@host/db``), fit for messages and logs."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "postgresql://***"
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)[1]
    user = parts.username or ""
    return urlunsplit((parts.scheme, f"{user}:***@{netloc}", parts.path, parts.query, parts.fragment))


def scrub(text: str, url: str) -> str:
    """``text`` (a driver's error message) with the URL's password taken out, should it appear."""
    try:
        password = urlsplit(url).password
    except ValueError:
        return text
    if password:
        text = text.replace(unquote(password), "***").replace(password, "***")
    return text


def validate_url(url: str) -> str:
    """The URL if libpq can read it and it names a database; raises ValueError with a one-line reason
    (never echoing the password)."""
    if not is_database_url(url):
        raise ValueError(f"{redact(url)!r} is not a postgresql:// URL")
    try:
        params = conninfo_to_dict(url)
    except psycopg.ProgrammingError as exc:
        reason = " ".join(scrub(str(exc), url).split())
        raise ValueError(f"{redact(url)!r} is not a valid PostgreSQL URL ({reason})") from None
    if not params.get("dbname"):
        raise ValueError(f"{redact(url)!r} names no database (postgresql://user@host:5432/DBNAME)")
    return url


def schema_of(url: str) -> str | None:
    """The schema a URL puts first on the search path (``?options=-csearch_path%3Dname``), if any."""
    options = str(conninfo_to_dict(url).get("options") or "")
    match = re.search(r"search_path\s*=\s*([A-Za-z0-9_]+)", options)
    return match[1] if match else None


def index_directory(url: str, home: Path) -> Path:
    """Where a node keeps its own search index of this database: ``<home>/data/index-<db>[-<schema>]``."""
    params = conninfo_to_dict(url)
    name = re.sub(r"[^A-Za-z0-9_.-]", "_", str(params.get("dbname")))
    schema = schema_of(url)
    return home / "data" / (f"index-{name}-{schema}" if schema else f"index-{name}")


# ---- SQL translation


@lru_cache(maxsize=2048)
def translate(sql: str) -> str:
    """``?`` placeholders → ``%s`` and ``%`` → ``%%`` outside string literals and quoted names (a ``%`` inside a
    literal is doubled too: psycopg reads every ``%``); ``--`` comments are dropped. DDL types are mapped."""
    out: list[str] = []
    i, n = 0, len(sql)
    while i < n:
        char = sql[i]
        if char in "'\"":
            end = i + 1
            while end < n:
                if sql[end] == char:
                    if end + 1 < n and sql[end + 1] == char:  # '' or "" inside: an escaped quote
                        end += 2
                        continue
                    break
                end += 1
            out.append(sql[i:end + 1].replace("%", "%%"))
            i = end + 1
        elif char == "-" and sql.startswith("--", i):
            end = sql.find("\n", i)
            i = n if end < 0 else end
        elif char == "?":
            out.append("%s")
            i += 1
        elif char == "%":
            out.append("%%")
            i += 1
        else:
            out.append(char)
            i += 1
    text = "".join(out)
    if re.match(r"\s*(CREATE|ALTER)\s+TABLE\b", text, re.IGNORECASE):
        text = _ddl(text)
    return text


_DDL_TYPES = (
    (re.compile(r"\bINTEGER\s+PRIMARY\s+KEY(\s+AUTOINCREMENT)?\b", re.IGNORECASE),
     "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY"),  # SQLite assigns one when none is given
    (re.compile(r"\bINTEGER\b", re.IGNORECASE), "BIGINT"),
    (re.compile(r"\bREAL\b", re.IGNORECASE), "DOUBLE PRECISION"),
    (re.compile(r"\bBLOB\b", re.IGNORECASE), "BYTEA"),
    # Text compares and sorts byte by byte, as in SQLite, whatever the server's locale (ISO timestamps, ids).
    # Upper case only: the store writes types in capitals, and a column may be called "text".
    (re.compile(r"\bTEXT\b"), 'TEXT COLLATE "C"'),
    (re.compile(r"\)\s*WITHOUT\s+ROWID\s*$", re.IGNORECASE), ")"),
)


def _ddl(sql: str) -> str:
    for pattern, replacement in _DDL_TYPES:
        sql = pattern.sub(replacement, sql)
    return sql


# ---- the connection


class PgConnection:
    """The ``db.conn`` surface: ``execute``/``executemany`` with ``?`` placeholders; ``with conn:`` is one
    transaction (nested blocks are savepoints, except inside :meth:`joined`); outside one, each statement
    commits by itself."""

    def __init__(self, connect: Callable[[], psycopg.Connection[Any]]) -> None:
        self._connect = connect
        self.raw = connect()
        self._transactions: list[ExitStack | None] = []  # None: a block that joined the enclosing transaction
        self._joining = 0

    def usable(self) -> psycopg.Connection[Any]:
        """The connection; a new one if the server dropped the last (a restart, a fail-over) between
        transactions. Inside a transaction the error stands: its work is lost, and the caller must know."""
        if self.raw.closed and not self._transactions:
            self.raw = self._connect()
        return self.raw

    def execute(self, sql: str, params: Sequence[Any] | None = None) -> psycopg.Cursor[Any]:
        return self.usable().execute(translate(sql), list(params) if params is not None else [])

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> psycopg.Cursor[Any]:
        cursor = self.usable().cursor()
        cursor.executemany(translate(sql), [list(row) for row in rows])
        return cursor

    @contextmanager
    def joined(self) -> Iterator[None]:
        """One transaction that the ``with conn:`` blocks run inside it join instead of opening savepoints: several
        store methods, one commit and no extra round trips (an error in any of them rolls back all)."""
        with self:
            self._joining += 1
            try:
                yield
            finally:
                self._joining -= 1

    def __enter__(self) -> PgConnection:
        self.usable()
        if self._joining:
            self._transactions.append(None)
            return self
        transaction = ExitStack()
        transaction.enter_context(self.raw.transaction())
        self._transactions.append(transaction)
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 traceback: TracebackType | None) -> bool:
        transaction = self._transactions.pop()
        return transaction is not None and bool(transaction.__exit__(kind, value, traceback))

    def commit(self) -> None:
        """Nothing to do: outside ``with conn:`` every statement already committed."""

    def close(self) -> None:
        self.raw.close()


class PgDatabase:
    """The ``self.db`` surface of the store on PostgreSQL (see the module docstring)."""

    engine = "postgresql"

    def __init__(self, url: str, *, busy_timeout_ms: int) -> None:
        self.url = url

        def connect() -> psycopg.Connection[Any]:
            raw = psycopg.connect(url, autocommit=True, connect_timeout=10)
            # A write waits this long for another transaction's lock, as SQLite's busy timeout; then StoreBusy.
            raw.execute(f"SET lock_timeout = {int(busy_timeout_ms)}")
            raw.execute("SET client_min_messages = warning")
            return raw

        self.conn = PgConnection(connect)

    def execute(self, sql: str, params: Sequence[Any] | None = None) -> psycopg.Cursor[Any]:
        return self.conn.execute(sql, params)

    def query(self, sql: str, params: Sequence[Any] | None = None) -> Iterator[dict[str, Any]]:
        cursor = self.conn.usable().cursor(row_factory=dict_row)
        cursor.execute(translate(sql), list(params) if params is not None else [])
        yield from cursor

    def table_names(self) -> list[str]:
        return [row[0] for row in self.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()"
            " AND table_type = 'BASE TABLE' ORDER BY table_name")]

    def close(self) -> None:
        self.conn.close()


def is_busy(exc: BaseException) -> bool:
    """True when PostgreSQL gave up waiting for another transaction's lock (or chose this one to abort)."""
    return isinstance(exc, psycopg.errors.LockNotAvailable | psycopg.errors.DeadlockDetected
                      | psycopg.errors.SerializationFailure)
