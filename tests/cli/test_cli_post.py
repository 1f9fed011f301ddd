"""The terminal shows what Discord shows: ``hotpapers paper`` and ``hotpapers preview`` with every author,
the counts and when they were taken, the code, and who is talking."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot import cli
from bot.sources.observations import Observation
from bot.store import Store
from tests.harness import cli_on, make_paper, seed_store

SEEN = datetime(2026, 11, 25, 6, 0, tzinfo=UTC)
AUTHORS = tuple(f"Author{i} Surname{i}" for i in range(40))


@pytest.fixture
def store_with_posts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    paper = make_paper("2611.30001", "Big Collaboration", authors=AUTHORS,
                       abstract="We release code at https://github.com/big/collab today. It works.")
    seed = seed_store(tmp_path / "s.db", papers=[paper], points=[900], previous=None)
    store = Store(seed.db)
    try:
        store.record_posts([Observation("hn", "42", (paper.id,), {"points": 900, "comments": 3},
                                        "https://news.ycombinator.com/item?id=42", SEEN, author="pg",
                                        text="Big Collaboration, explained")])
    finally:
        store.close()
    monkeypatch.chdir(tmp_path)
    cli_on(monkeypatch, seed.db, datetime(2026, 11, 26, 9, tzinfo=UTC))
    return seed.db


def test_hotpapers_paper_shows_engagement_code_and_posts(store_with_posts: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["paper", "2611.30001"]) == 0
    out = capsys.readouterr().out
    assert "Author0 Surname0" in out and "Author39 Surname39" in out  # every author
    assert "engagement: Hacker News: 900 points · 3 comments (engagement as of 2026-11-25 06:00 UTC)" in out
    assert "| code: https://github.com/big/collab" in out
    assert "> pg (Hacker News): “Big Collaboration, explained” · 900 points · 3 comments · " \
           "https://news.ycombinator.com/item?id=42" in out


def test_hotpapers_preview_shows_what_the_channel_gets(store_with_posts: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["preview", "--date", "2026-11-25", "--category", "cs.LG"]) == 0
    out = capsys.readouterr().out
    assert "# 1. Big Collaboration" in out
    assert ", ".join(AUTHORS) in out
    assert "- Hacker News: 900 points · 3 comments (score 900, engagement as of 2026-11-25 06:00 UTC)" in out
    assert "> pg (Hacker News): “Big Collaboration, explained”" in out
    assert "code: https://github.com/big/collab" in out
