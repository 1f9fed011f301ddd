"""Copying a SQLite install into PostgreSQL (``hotpapers migrate-to URL``), resumably.

Both stores are opened (so both carry every migration: the same tables and columns), then each table is copied
in primary-key order, in batches. Each batch is inserted with ``ON CONFLICT DO NOTHING`` together with a progress
marker (the last key copied, in the target's ``bot_meta``) in one target transaction: a copy stopped at any
moment (Ctrl-C, SIGKILL) resumes after the last batch it committed, and a batch replayed adds nothing. Tables
are copied parents first (foreign keys hold throughout). The target is tied to its source by an install id
(``bot_meta`` key ``install_id``, given to the source if it had none): a target holding another install, or any
rows of its own, is refused.

Test hook: ``HOTPAPERS_TEST_MIGRATE_PAUSE`` (seconds) pauses after each committed batch, so a test can SIGKILL
the copy in the middle (tests/cli/test_migrate_to.py).
"""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from bot.errors import HotPapersError
from bot.store.base import StoreBase

INSTALL_KEY = "install_id"
PROGRESS_PREFIX = "migrate-to:"  # bot_meta key per table: the last primary key copied (JSON list)
BATCH = 5000
SKIPPED_TABLES = ("schema_migrations",)  # written by each store's own migrations


class TargetNotEmpty(HotPapersError):
    """The PostgreSQL database already holds another install (or data of its own)."""


@dataclass(frozen=True)
class TableCount:
    table: str
    source: int
    target: int

    @property
    def ok(self) -> bool:
        return self.source == self.target


def install_id(store: StoreBase, *, create: bool) -> str | None:
    """The install's id (``bot_meta``), made and stored first if ``create`` and there is none."""
    row = store.db.execute("SELECT value FROM bot_meta WHERE key = ?", [INSTALL_KEY]).fetchone()
    if row is not None:
        return str(row[0])
    if not create:
        return None
    made = uuid.uuid4().hex
    with store.db.conn:
        store.db.execute("INSERT INTO bot_meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING",
                         [INSTALL_KEY, made])
    return install_id(store, create=False)


def tables_in_copy_order(target: StoreBase) -> list[str]:
    """The target's tables, every table after those its foreign keys point to."""
    tables = [t for t in target.db.table_names() if t not in SKIPPED_TABLES]
    parents: dict[str, set[str]] = {t: set() for t in tables}
    for child, parent in target.db.execute(
            "SELECT c.table_name, p.table_name FROM information_schema.referential_constraints r"
            " JOIN information_schema.table_constraints c ON c.constraint_name = r.constraint_name"
            " AND c.constraint_schema = r.constraint_schema"
            " JOIN information_schema.table_constraints p ON p.constraint_name = r.unique_constraint_name"
            " AND p.constraint_schema = r.unique_constraint_schema"
            " WHERE r.constraint_schema = current_schema()").fetchall():
        if child in parents and parent != child:
            parents[child].add(parent)
    ordered: list[str] = []
    while parents:
        ready = sorted(t for t, needs in parents.items() if not needs - set(ordered))
        ordered.extend(ready)
        for table in ready:
            del parents[table]
    return ordered


def _columns(target: StoreBase, table: str) -> tuple[list[str], list[str]]:
    """(every column in order, the primary key's columns in key order) of a target table."""
    columns = [row[0] for row in target.db.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema()"
        " AND table_name = ? ORDER BY ordinal_position", [table]).fetchall()]
    key = [row[0] for row in target.db.execute(
        "SELECT k.column_name FROM information_schema.table_constraints c"
        " JOIN information_schema.key_column_usage k ON k.constraint_name = c.constraint_name"
        " AND k.constraint_schema = c.constraint_schema AND k.table_name = c.table_name"
        " WHERE c.constraint_type = 'PRIMARY KEY' AND c.table_schema = current_schema() AND c.table_name = ?"
        " ORDER BY k.ordinal_position", [table]).fetchall()]
    return columns, key or columns  # a table without a primary key (none today) is ordered by every column


def _count(store: StoreBase, table: str) -> int:
    """Rows of ``table`` (the copy's own progress markers in ``bot_meta`` not counted)."""
    if table == "bot_meta":
        return int(store.db.execute("SELECT count(*) FROM bot_meta WHERE key NOT LIKE ?",
                                    [PROGRESS_PREFIX + "%"]).fetchone()[0])
    return int(store.db.execute(f"SELECT count(*) FROM {table}").fetchone()[0])  # noqa: S608


def claim_target(source: StoreBase, target: StoreBase) -> bool:
    """Tie ``target`` to ``source``'s install; True when resuming an earlier copy. Raises TargetNotEmpty when the
    target holds another install, or rows that no copy of this one put there."""
    source_id = install_id(source, create=True)
    target_id = install_id(target, create=False)
    if target_id is not None and target_id != source_id:
        raise TargetNotEmpty(f"the PostgreSQL database {target.location} already holds another Hot Papers install "
                             f"(install id {target_id}, this one is {source_id}); point migrate-to at an empty "
                             "database or schema")
    if target_id is None:
        filled = [table for table in tables_in_copy_order(target) if _count(target, table)]
        if filled:
            raise TargetNotEmpty(f"the PostgreSQL database {target.location} already holds data ({filled[0]} has "
                                 "rows) that no copy of this install wrote; point migrate-to at an empty database "
                                 "or schema")
        with target.db.conn:
            target.db.execute("INSERT INTO bot_meta (key, value) VALUES (?, ?)", [INSTALL_KEY, source_id])
        return False
    return True


def copy_install(source: StoreBase, target: StoreBase, *, batch: int = BATCH,
                 progress: Callable[[str, int], None] | None = None) -> list[TableCount]:
    """Copy every table of ``source`` (SQLite) into ``target`` (PostgreSQL), resuming where an earlier copy
    stopped; returns the row counts per table, source beside target."""
    if source.schema_versions() != target.schema_versions():
        raise HotPapersError("the two databases are at different schema versions; run the same hotpapers version "
                             "on both")
    claim_target(source, target)
    pause = float(os.environ.get("HOTPAPERS_TEST_MIGRATE_PAUSE") or 0)
    tables = tables_in_copy_order(target)
    for table in tables:
        columns, key = _columns(target, table)
        copied = _copy_table(source, target, table, columns, key, batch, pause)
        if progress is not None:
            progress(table, copied)
    _advance_sequences(target)
    return [TableCount(table, _count(source, table), _count(target, table)) for table in tables]


def _copy_table(source: StoreBase, target: StoreBase, table: str, columns: Sequence[str], key: Sequence[str],
                batch: int, pause: float) -> int:
    marker = PROGRESS_PREFIX + table
    row = target.db.execute("SELECT value FROM bot_meta WHERE key = ?", [marker]).fetchone()
    last: list[Any] | None = json.loads(row[0]) if row else None
    names = ", ".join(columns)
    order = ", ".join(key)
    marks = ", ".join("?" * len(columns))
    insert = (f"INSERT INTO {table} ({names}) VALUES ({marks}) ON CONFLICT DO NOTHING")  # noqa: S608
    key_at = [columns.index(column) for column in key]
    copied = 0
    while True:
        after = "" if last is None else f" WHERE ({order}) > ({', '.join('?' * len(key))})"
        rows = source.db.execute(
            f"SELECT {names} FROM {table}{after} ORDER BY {order} LIMIT ?",  # noqa: S608
            [*(last or []), batch]).fetchall()
        if not rows:
            return copied
        last = [rows[-1][i] for i in key_at]
        with target.db.conn:
            target.db.conn.executemany(insert, [tuple(r) for r in rows])
            target.db.execute("INSERT INTO bot_meta (key, value) VALUES (?, ?)"
                              " ON CONFLICT (key) DO UPDATE SET value = excluded.value", [marker, json.dumps(last)])
        copied += len(rows)
        if pause:
            time.sleep(pause)


def _advance_sequences(target: StoreBase) -> None:
    """Past the copied rows: every identity column's sequence, and the papers' change sequence."""
    for table, column in target.db.execute(
            "SELECT table_name, column_name FROM information_schema.columns"
            " WHERE table_schema = current_schema() AND is_identity = 'YES'").fetchall():
        target.db.execute(
            f"SELECT setval(pg_get_serial_sequence(?, ?), coalesce(max({column}), 0) + 1, false)"  # noqa: S608
            f" FROM {table}", [table, column])
    target.db.execute("SELECT setval('papers_change_seq', coalesce(max(change_seq), 0) + 1, false) FROM papers")
