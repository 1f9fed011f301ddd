"""The command line as an operator meets it: pipes into ``head``, a stored paper shown with engagement and
readable TeX, feed papers' mailing dates in ``search``, and files found where the README says."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.cli import main
from bot.clock import FileClock
from bot.models import Announcement, Paper
from bot.sources.observations import Observation
from bot.store import Store
from tests.engines import CHILD_PROCESS
from tests.harness import cli_on, seed_store

HOTPAPERS = str(Path(sys.executable).parent / "hotpapers")
TEX_PAPER = Paper("2411.00090", 1, r"Fast $O(n^2 \log n)$ sorting for Erd\H{o}s graphs",
                  (r"Stanis{\l}aw \'Swierczewski", "Ada\u202e Lovelace"), r"We prove $\alpha \leq \beta$.",
                  "cs.DS", ("cs.DS",))


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "hp.db"
    seed_store(path)
    store = Store(path)
    store.record_announcements([Announcement(TEX_PAPER, datetime(2026, 11, 25).date(), "new", "cs.DS")])
    store.record_observations([Observation("hf", "hf-tex", (TEX_PAPER.id,), {"upvotes": 42, "comments": 3},
                                           "https://huggingface.co/papers/2411.00090",
                                           datetime(2026, 11, 25, 6, tzinfo=UTC))])
    store.close()
    cli_on(monkeypatch, path, datetime(2026, 11, 25, 12, tzinfo=UTC))
    monkeypatch.setenv("HOTPAPERS_ARXIV_API", "http://127.0.0.1:9/api")  # never reached: the paper is stored
    return path


def test_a_stored_feed_paper_shows_engagement_and_readable_tex(db: Path, capsys: pytest.CaptureFixture[str]
                                                                ) -> None:
    assert main(["paper", "2411.00090"]) == 0
    out = capsys.readouterr().out
    assert "Fast O(n² log n) sorting for Erdős graphs" in out
    assert "Stanisław Świerczewski, Ada Lovelace" in out and "\u202e" not in out
    assert "We prove α ≤ β." in out
    assert "engagement: Hugging Face: 42 upvotes · 3 comments (engagement as of 2026-11-25 06:00 UTC)" in out
    assert "announced in the 2026-11-25 mailing" in out


def test_search_shows_a_feed_papers_year_and_readable_title(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["search", "sorting graphs"]) == 0
    out = capsys.readouterr().out
    assert "Fast O(n² log n) **sorting** for Erdős **graphs**" in out
    assert "cs.DS · 2026" in out and "unknown" not in out


@pytest.mark.sqlite_only(CHILD_PROCESS)
@pytest.mark.parametrize("argv", [["top", "--limit", "12"], ["paper", "2411.00090"], ["search", "learning"]])
def test_piping_into_a_reader_that_closes_early_ends_quietly(db: Path, argv: list[str]) -> None:
    environ = {**os.environ}
    process = subprocess.Popen([HOTPAPERS, *argv], env=environ, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert process.stdout is not None and process.stderr is not None
    process.stdout.close()  # `| head -0`: the reader is gone before the command writes a byte
    err = process.stderr.read().decode()
    assert process.wait(60) == 0
    assert "Traceback" not in err and "BrokenPipe" not in err and "Exception ignored" not in err, err


def test_top_from_another_directory_never_creates_a_database_there(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    home = tmp_path / "home"
    seed_store(home / "data" / "hotpapers.db")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    monkeypatch.delenv("HOTPAPERS_DB", raising=False)
    monkeypatch.setenv("HOTPAPERS_HOME", str(home))
    FileClock.write(tmp_path / "clock", datetime(2026, 11, 25, 12, tzinfo=UTC))
    monkeypatch.setenv("HOTPAPERS_TEST_CLOCK", str(tmp_path / "clock"))
    assert main(["top", "--limit", "1"]) == 0
    assert "Paper number 1 on learning" in capsys.readouterr().out
    assert list(elsewhere.iterdir()) == []
    monkeypatch.setenv("HOTPAPERS_DB", "missing/hp.db")  # relative: under the home, and not created by `top`
    assert main(["top"]) == 1
    err = capsys.readouterr().err
    assert f"no database at {home / 'missing' / 'hp.db'} (HOTPAPERS_DB)" in err
    assert not (home / "missing").exists() and list(elsewhere.iterdir()) == []
