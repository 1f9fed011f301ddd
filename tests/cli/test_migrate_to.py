"""``hotpapers migrate-to URL`` copies a SQLite install into PostgreSQL: every row, resumably after a SIGKILL,
checked by counts, and never into a database that holds another install."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.cli import main as cli
from bot.models import ChannelDigest
from bot.sources.observations import Observation
from bot.store import Store
from bot.store.digests import PlannedMessage
from bot.store.signals import RefreshRecord
from bot.subscriptions import Schedule, parse_follow
from tests.harness import make_paper, seed_store

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
pytestmark = [
    pytest.mark.parametrize("engine", ["postgresql"]),  # the target is PostgreSQL; the source SQLite
    # Redirected to PostgreSQL too, the source would make migrate-to copy PostgreSQL into PostgreSQL.
    pytest.mark.sqlite_only("migrate-to's source is a SQLite file"),
]


def sqlite_install(path: Path, papers: int = 40) -> None:
    """A small install with a row in every kind of table."""
    seed_store(path, papers)
    store = Store(path)
    try:
        store.upsert_papers([make_paper(f"2611.{20000 + n}", f"Backfilled paper {n}") for n in range(papers)])
        store.save_channel_digest(ChannelDigest(
            guild_id=10**18, channel_id=10**18 + 1, time="09:00", timezone="UTC", categories=("cs.LG",), size=5,
            active_since=NOW, min_score=2.5))
        store.begin_delivery("channel", 10**18 + 1, "2026-11-25",
                             [PlannedMessage(0, {"content": "50% off? no"}, "n", "m")], NOW, guild_id=10**18)
        store.complete_message("channel", 10**18 + 1, "2026-11-25", 0, 10**18 + 2, 10**18 + 1)
        store.add_follow(42, parse_follow("keyword", "graphs"), max_follows=5,
                         default=Schedule("09:00", "UTC", "daily"), now=NOW)
        store.record_signal_refresh(RefreshRecord(NOW, "hn", "ok", 10, 5, 2, ()))
        store.record_posts([Observation("bsky", "p1", ("2611.10000",), {"likes": 3}, "https://b/p1", NOW,
                                        author="someone", text="good paper")])
        store.toggle_vote(10**18, "2611.10000", 42, NOW)
        store.save_paper(42, "2611.10000", NOW)
        store.set_meta("commands", "abc")
    finally:
        store.close()


def rows(store: Store, table: str, order: str) -> list[tuple[object, ...]]:
    return [tuple(row) for row in store.db.execute(f"SELECT * FROM {table} ORDER BY {order}").fetchall()]


COMPARED = {"papers": "rowid", "announcements": "paper_id, mailing, category", "deliveries": "target_id",
            "delivery_messages": "target_id, seq", "channel_digests": "channel_id", "sub_users": "user_id",
            "sub_follows": "user_id, kind, key", "signal_snapshots": "paper_id, source, post_id, observed_at",
            "observed_posts": "paper_id, post_id", "votes": "paper_id, user_id", "saved_papers": "user_id",
            "paper_months": "month", "signal_refreshes": "id"}


def test_an_install_is_copied_whole_and_works_on_postgresql(db_location: str, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    source_path = tmp_path / "hp.db"
    sqlite_install(source_path)
    monkeypatch.setenv("HOTPAPERS_DB", str(source_path))

    assert cli(["migrate-to", db_location, "--batch", "7"]) == 0
    out = capsys.readouterr().out
    assert "papers" in out and "MISMATCH" not in out and "now set HOTPAPERS_DATABASE_URL" in out

    source, target = Store(source_path), Store(db_location, index_dir=tmp_path / "pg-index")
    try:
        for table, order in COMPARED.items():
            assert rows(source, table, order) == rows(target, table, order), table
        assert target.channel_digest(10**18 + 1) == source.channel_digest(10**18 + 1)
        # The copy is a working store: search builds its own index, new rows get fresh ids and sequences.
        assert [p.id for p in target.search("backfilled paper 7")][:1] == ["2611.20007"]
        head = target.last_change()
        target.upsert_papers([make_paper("2612.00001", "A paper after the move")])
        assert target.last_change() > head
        target.record_signal_refresh(RefreshRecord(NOW + timedelta(hours=1), "hn", "ok", 1, 1, 1, ()))
        assert len(target.signal_refreshes()) == 2
    finally:
        source.close()
        target.close()


def test_a_copy_killed_midway_resumes_without_duplicates(db_location: str, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    source_path = tmp_path / "hp.db"
    sqlite_install(source_path, papers=150)
    env = {**os.environ, "HOTPAPERS_DB": str(source_path), "HOTPAPERS_TEST_MIGRATE_PAUSE": "0.2"}
    copy = subprocess.Popen([str(Path(sys.executable).parent / "hotpapers"), "migrate-to", db_location,
                             "--batch", "20"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    watcher = None
    try:
        deadline = time.monotonic() + 60
        while True:  # until the papers table is partly copied (the copy pauses 0.2 s after each batch)
            assert copy.poll() is None, copy.communicate()
            try:
                watcher = watcher or Store(db_location, index_dir=tmp_path / "watch-index")
                marker = watcher.meta("migrate-to:papers")
            except Exception:  # the copy is still creating the schema
                marker = None
            if marker is not None:
                break
            assert time.monotonic() < deadline, "the copy never started on papers"
            time.sleep(0.05)
    finally:
        copy.send_signal(signal.SIGKILL)
        copy.wait()
    assert watcher is not None
    partly = watcher.db.execute("SELECT count(*) FROM papers").fetchone()[0]
    assert 0 < partly < 300  # stopped in the middle (150 seeded + 150 backfilled + 1 earlier)
    watcher.close()

    monkeypatch.setenv("HOTPAPERS_DB", str(source_path))
    assert cli(["migrate-to", db_location]) == 0
    out = capsys.readouterr().out
    assert "MISMATCH" not in out
    papers_line = next(line for line in out.splitlines() if line.startswith("papers "))
    assert papers_line.split()[1:] == ["301", "301"]
    source, target = Store(source_path), Store(db_location, index_dir=tmp_path / "pg-index")
    try:
        for table, order in COMPARED.items():
            assert rows(source, table, order) == rows(target, table, order), table
    finally:
        source.close()
        target.close()


def test_a_database_holding_another_install_is_refused(db_location: str, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    first, second = tmp_path / "first.db", tmp_path / "second.db"
    sqlite_install(first, papers=3)
    sqlite_install(second, papers=3)
    monkeypatch.setenv("HOTPAPERS_DB", str(first))
    assert cli(["migrate-to", db_location]) == 0
    capsys.readouterr()

    monkeypatch.setenv("HOTPAPERS_DB", str(second))
    assert cli(["migrate-to", db_location]) != 0
    captured = capsys.readouterr()
    err = captured.err.strip().splitlines()
    assert len(err) == 1 and "already holds another Hot Papers install" in err[0]


def test_a_database_with_rows_of_its_own_is_refused(db_location: str, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    own = Store(db_location, index_dir=tmp_path / "idx")
    own.upsert_papers([make_paper("2611.00001", "Written straight into PostgreSQL")])
    own.close()
    sqlite_install(tmp_path / "hp.db", papers=3)
    monkeypatch.setenv("HOTPAPERS_DB", str(tmp_path / "hp.db"))
    assert cli(["migrate-to", db_location]) != 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "already holds data" in err[0]


def test_a_bad_url_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                               capsys: pytest.CaptureFixture[str], engine: str) -> None:
    sqlite_install(tmp_path / "hp.db", papers=1)
    monkeypatch.setenv("HOTPAPERS_DB", str(tmp_path / "hp.db"))
    assert cli(["migrate-to", "mysql://root:pw@host/db"]) != 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "not a postgresql:// URL" in err[0] and "pw" not in err[0]
