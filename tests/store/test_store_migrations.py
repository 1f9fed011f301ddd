"""An old database is upgraded in place: its papers survive and become searchable."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from bot.store import Store
from bot.store.base import StoreBase
from bot.store.papers import PaperStore
from tests.engines import SQLITE_FILE


class FirstVersionStore(PaperStore, StoreBase):
    """The store as it was when the papers domain had only its first migration."""

    MIGRATIONS = (("papers", PaperStore.PAPER_MIGRATIONS[:1]),)


def test_a_database_at_migration_one_is_upgraded_in_place(db_location: Path | str) -> None:
    path = db_location
    old = FirstVersionStore(path)
    assert old.schema_versions() == {"papers": 1}
    # What an ingest wrote with the first schema (before search existed).
    old.db.execute(
        "INSERT INTO papers (rowid, id, version, title, authors, abstract, primary_category, categories,"
        " published, updated, mailing) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [202411_00007, "2411.00007", 2, "Holographic entanglement entropy", json.dumps(["Shinsei Ryu"]),
         "Area laws in AdS.", "hep-th", "hep-th gr-qc", "2024-11-04T18:00:00+00:00",
         "2024-11-20T10:00:00+00:00", "2024-11-05"])
    old.db.execute(
        "INSERT INTO announcements (paper_id, mailing, category, announce_type) VALUES (?, ?, ?, ?)",
        ["2411.00007", "2024-11-05", "hep-th", "new"])
    old.db.conn.commit()
    old.close()

    upgraded = Store(path)
    try:
        assert upgraded.schema_versions()["papers"] == len(PaperStore.PAPER_MIGRATIONS)
        paper = upgraded.paper("2411.00007")
        assert paper is not None and paper.authors == ("Shinsei Ryu",) and paper.version == 2
        assert [p.id for p in upgraded.search("entanglement")] == ["2411.00007"]
        assert [p.id for p in upgraded.search("ryu", category="gr-qc")] == ["2411.00007"]
        assert [p.id for p in upgraded.search("HOLOGRAPHIC entanglement-entropy")] == ["2411.00007"]
        assert [p.id for p in upgraded.title_suggestions("holographic ent")] == ["2411.00007"]
        assert upgraded.paper_count() == 1
        assert [p.id for p in upgraded.mailing_papers(paper.mailing)] == ["2411.00007"]  # type: ignore[arg-type]
    finally:
        upgraded.close()


def test_opening_an_up_to_date_database_applies_nothing(db_location: Path | str) -> None:
    Store(db_location).close()
    again = Store(db_location)
    try:
        assert again.migrate() == []
    finally:
        again.close()


@pytest.mark.sqlite_only(SQLITE_FILE)
def test_the_database_uses_write_ahead_logging(tmp_path: Path) -> None:
    Store(tmp_path / "db.sqlite").close()
    with sqlite3.connect(tmp_path / "db.sqlite") as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
