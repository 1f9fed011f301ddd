"""``hotpapers backup FILE`` while another connection writes, and the documented restore (stop the bot, copy
the backup over the database)."""

from __future__ import annotations

import shutil
import sqlite3
import threading
from pathlib import Path

import pytest

from bot.cli import main
from bot.store import Store
from tests.engines import SQLITE_FILE
from tests.harness import seed_store


@pytest.mark.sqlite_only(SQLITE_FILE)
def test_a_backup_taken_while_another_connection_writes_holds_every_committed_row(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "hp.db"
    seed_store(db)
    monkeypatch.setenv("HOTPAPERS_DB", str(db))
    writer = sqlite3.connect(db, check_same_thread=False)
    writer.execute("CREATE TABLE writes (n INTEGER PRIMARY KEY, payload TEXT NOT NULL)")
    writer.commit()
    committed = 0
    started = threading.Event()
    stop = threading.Event()

    def write() -> None:
        nonlocal committed
        while not stop.is_set():
            with writer:  # one transaction per row, like the bot's writes
                writer.execute("INSERT INTO writes (n, payload) VALUES (?, ?)", (committed + 1, "x" * 500))
            committed += 1
            if committed == 200:
                started.set()

    thread = threading.Thread(target=write)
    thread.start()
    try:
        assert started.wait(30)
        before = committed
        assert main(["backup", str(tmp_path / "copy.db")]) == 0
        after = committed
    finally:
        stop.set()
        thread.join()
        writer.close()
    assert "backed up" in capsys.readouterr().out
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("copy")) == ["copy.db"]
    copy = sqlite3.connect(tmp_path / "copy.db")
    try:
        assert copy.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        rows = [n for (n,) in copy.execute("SELECT n FROM writes ORDER BY n")]
        papers = copy.execute("SELECT count(*) FROM papers").fetchone()[0]
    finally:
        copy.close()
    assert before <= len(rows) <= after + 1 and rows == list(range(1, len(rows) + 1))  # a committed prefix
    assert papers == 13


@pytest.mark.sqlite_only(SQLITE_FILE)
def test_restore_is_a_copy_over_the_stopped_bots_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "hp.db"
    seed_store(db)
    monkeypatch.setenv("HOTPAPERS_DB", str(db))
    assert main(["backup", str(tmp_path / "copy.db")]) == 0
    assert main(["top", "--json"]) == 0
    ranked = capsys.readouterr().out.split("\n", 1)[1]
    # Disaster: the database is lost. Restore as the README says (the bot is stopped): copy the backup in place.
    for path in tmp_path.glob("hp.db*"):
        path.unlink()
    shutil.copyfile(tmp_path / "copy.db", db)
    assert main(["top", "--json"]) == 0
    assert ranked in capsys.readouterr().out
    store = Store(db)
    assert store.paper_count() == 13
    store.close()


@pytest.mark.parametrize(("target", "message"), [
    ("hp.db", "must be another file"),
    ("exists.db", "already exists"),
    ("no-such-dir/copy.db", "is not a directory"),
])
def test_backup_refusals_are_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                      capsys: pytest.CaptureFixture[str], target: str, message: str) -> None:
    db = tmp_path / "hp.db"
    seed_store(db)
    (tmp_path / "exists.db").write_text("keep me")
    monkeypatch.setenv("HOTPAPERS_DB", str(db))
    monkeypatch.chdir(tmp_path)
    assert main(["backup", target]) == 1
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1
    assert (tmp_path / "exists.db").read_text() == "keep me"
