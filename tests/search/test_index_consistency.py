"""The index beside the store follows every write, whoever makes it; it is rebuilt on demand, survives a
SIGKILL mid-write, and never returns a paper the store does not hold."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from bot.backfill import backfill_file
from bot.cli import main as cli
from bot.clock import ManualClock
from bot.models import Announcement
from bot.store import Store
from tests.engines import CHILD_PROCESS
from tests.fakes.discord.server import FakeDiscord
from tests.harness import LOOKUP_NOW, bot_settings, running_bot
from tests.search.papers import paper

ROOT = Path(__file__).resolve().parents[2]


def ids(found: list) -> list[str]:  # type: ignore[type-arg]
    return [item.id for item in found]


def indexed(store: Store) -> int:
    store.catch_up_search_index()
    return int(store.search_index().index.searcher().num_docs)


def test_every_write_path_is_searchable_without_telling_the_index(tmp_path: Path) -> None:
    store = Store(tmp_path / "papers.db")
    # An API fetch (find_paper, harvest) stores through upsert_papers.
    store.upsert_papers([paper("2401.00001", "Quasicrystal lattices from the API")])
    # An ingest records feed announcements.
    store.record_announcements([Announcement(paper("2401.00002", "Zebrafish fins from a feed"),
                                             date(2024, 1, 3), "new", "cs.LG")])
    # A backfill loads a Kaggle file.
    kaggle = tmp_path / "arxiv.json"
    kaggle.write_text(json.dumps({
        "id": "0704.0001", "authors": "Ada Lovelace", "title": "Analytical engines from a backfill",
        "abstract": "Engines.", "categories": "cs.LG", "versions": [{"version": "v1",
                                                                     "created": "Mon, 2 Apr 2007 19:18:42 GMT"}],
        "authors_parsed": [["Lovelace", "Ada", ""]]}) + "\n")
    backfill_file(store, kaggle)
    # Any other writer, even another process with its own connection, writing plain SQL.
    other = Store(tmp_path / "papers.db")
    with other.db.conn:
        other.db.execute("UPDATE papers SET title = 'Penrose tilings renamed elsewhere' WHERE id = '2401.00001'")
    other.close()

    assert ids(store.search("zebrafish")) == ["2401.00002"]
    assert ids(store.search("analytical engines")) == ["0704.0001"]
    assert ids(store.search("penrose tilings")) == ["2401.00001"]
    assert store.search("quasicrystal") == []  # the old title is gone from the index too
    assert ids(store.title_suggestions("penrose til")) == ["2401.00001"]
    assert indexed(store) == 3  # one document per paper, however often it changed
    store.close()


def test_a_write_by_another_store_is_seen_by_the_next_search(tmp_path: Path) -> None:
    bot, cli_process = Store(tmp_path / "papers.db"), Store(tmp_path / "papers.db")
    assert bot.search("holography") == []
    cli_process.upsert_papers([paper("2401.00003", "Holography and entanglement")])
    assert ids(bot.search("holography")) == ["2401.00003"]
    bot.close()
    cli_process.close()


def test_the_index_never_returns_a_paper_the_store_lost(tmp_path: Path) -> None:
    store = Store(tmp_path / "papers.db")
    store.upsert_papers([paper("2401.00004", "Tropical geometry"), paper("2401.00005", "Tropical storms")])
    assert len(store.search("tropical")) == 2
    with store.db.conn:
        store.db.execute("DELETE FROM papers WHERE id = '2401.00004'")
    assert ids(store.search("tropical")) == ["2401.00005"]
    assert ids(store.title_suggestions("tropic")) == ["2401.00005"]
    store.close()


def test_reindex_rebuilds_from_the_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "papers.db"
    store = Store(db)
    store.upsert_papers([paper(f"2401.{n:05d}", f"Knot invariants number {n}") for n in range(1, 31)])
    assert len(store.search("knot invariants", limit=50)) == 30
    store.close()
    shutil.rmtree(tmp_path / "papers.db.index")  # lost, or damaged beyond use
    monkeypatch.setenv("HOTPAPERS_DB", str(db))
    monkeypatch.delenv("HOTPAPERS_CONFIG", raising=False)
    assert cli(["reindex"]) == 0
    assert "indexed 30 papers" in capsys.readouterr().out
    store = Store(db)
    assert store.search_index().applied == store.last_change()  # nothing left to catch up
    assert len(store.search("knot invariants", limit=50)) == 30
    store.close()


def test_an_index_left_by_another_database_is_rebuilt(tmp_path: Path) -> None:
    first = Store(tmp_path / "first.db")
    first.upsert_papers([paper(f"2401.{n:05d}", f"Old paper {n} on sheaves") for n in range(1, 11)])
    first.search("sheaves")
    first.close()
    second = Store(tmp_path / "second.db")
    second.upsert_papers([paper("2402.00001", "New paper on sheaves")])
    second.close()
    shutil.copytree(tmp_path / "first.db.index", tmp_path / "second.db.index")  # e.g. a restored backup
    second = Store(tmp_path / "second.db")
    assert ids(second.search("sheaves")) == ["2402.00001"]
    assert indexed(second) == 1
    second.close()


def test_an_unreadable_index_is_rebuilt(tmp_path: Path) -> None:
    store = Store(tmp_path / "papers.db")
    store.upsert_papers([paper("2401.00006", "Ramsey numbers")])
    store.search("ramsey")
    store.close()
    for item in (tmp_path / "papers.db.index").iterdir():
        if item.name == "meta.json":
            item.write_text("{not json")
    store = Store(tmp_path / "papers.db")
    assert ids(store.search("ramsey")) == ["2401.00006"]
    store.close()


CHILD = """
import sys
from bot.store import Store
from tests.search.papers import paper

store = Store(sys.argv[1])
if sys.argv[2] == "reindex":
    store.reindex(lambda done: print("writing", flush=True))
else:
    for n in range(1, 100_000):
        store.upsert_papers([paper(f"2402.{n:05d}", f"Moduli spaces {n}")])
        store.catch_up_search_index()
        if n == 3:
            print("writing", flush=True)
"""


@pytest.mark.sqlite_only(CHILD_PROCESS)
@pytest.mark.parametrize("mode", ["reindex", "catch-up"])
def test_a_sigkill_during_an_index_write_leaves_a_consistent_index(tmp_path: Path, mode: str) -> None:
    db = tmp_path / "papers.db"
    store = Store(db)
    store.upsert_papers([paper(f"2401.{n:05d}", f"Elliptic curves {n}") for n in range(1, 12_001)])
    store.close()
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(db), mode], cwd=ROOT, stdout=subprocess.PIPE,
                             env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert child.stdout is not None
    assert child.stdout.readline() == b"writing\n"  # the child is in the middle of writing the index
    child.send_signal(signal.SIGKILL)
    child.wait()

    store = Store(db)
    papers = store.paper_count()
    assert indexed(store) == papers  # caught up: every stored paper once, none twice
    assert ids(store.search("elliptic curves 11999")) [0] == "2401.11999"
    if mode == "catch-up":
        assert ids(store.search("moduli spaces 2"))[0] == "2402.00002"
    store.close()


async def test_the_bot_catches_the_index_up_at_start(fake_discord: FakeDiscord, tmp_path: Path) -> None:
    db = tmp_path / "hot.db"
    store = Store(db)
    store.upsert_papers([paper(f"2401.{n:05d}", f"Sheaf cohomology {n}") for n in range(1, 41)])
    store.close()  # written while no bot ran: the index beside it does not exist yet
    async with running_bot(fake_discord, bot_settings(fake_discord, db), ManualClock(LOOKUP_NOW)) as bot:
        assert await bot.index_catch_up == 40  # started in setup_hook, before any search
    store = Store(db)
    assert store.search_index().applied == store.last_change()
    store.close()


def test_an_index_that_cannot_be_written_is_one_clear_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "papers.db"
    Store(db).close()
    (tmp_path / "papers.db.index").write_text("a file where the index directory should be")
    monkeypatch.setenv("HOTPAPERS_DB", str(db))
    monkeypatch.delenv("HOTPAPERS_CONFIG", raising=False)
    assert cli(["search", "anything"]) == 1
    err = capsys.readouterr().err
    assert "cannot open the search index" in err and "Traceback" not in err
