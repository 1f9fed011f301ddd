"""The vote store (counts per server and in all, toggles) and the menus' shape (within Discord's 5 rows)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

from bot.digest import Digest
from bot.models import RankedPaper, SourceSignal
from bot.render import digest_messages, recount_votes
from bot.store import Store
from tests.harness import make_paper

NOW = datetime(2026, 11, 25, 12, tzinfo=UTC)


def test_votes_toggle_and_count_per_server_and_in_all(tmp_path: Path) -> None:
    store = Store(tmp_path / "v.db")
    try:
        assert store.toggle_vote(1, "2611.00001", 10, NOW) == (True, 1)
        assert store.toggle_vote(1, "2611.00001", 11, NOW) == (True, 2)
        assert store.toggle_vote(2, "2611.00001", 10, NOW) == (True, 1)  # the same person in another server
        assert store.toggle_vote(1, "2611.00001", 11, NOW) == (False, 1)  # again: taken back
        ids = [f"2611.{i:05d}" for i in range(1200)]  # more than one query's worth of ids
        store.toggle_vote(2, ids[-1], 12, NOW)
        assert store.vote_counts(ids, 1) == {"2611.00001": 1}
        assert store.vote_counts(ids) == {"2611.00001": 2, ids[-1]: 1}
        assert store.voting_guilds() == {1, 2}
    finally:
        store.close()


def test_a_server_digest_has_five_rows_and_counts_within_limits() -> None:
    papers = tuple(RankedPaper(make_paper(f"2611.{i:05d}", "T" * 300), i, 100.0,
                               {"discord": SourceSignal("discord", {"votes": 12345})}) for i in range(1, 11))
    digest = Digest(date(2026, 11, 25), ("cs.LG",), papers, 50.0)
    (message,) = digest_messages(digest, guild_id=42)
    assert len(message.components) == 5
    vote = message.components[3]["components"][0]
    assert vote["custom_id"] == "hp:vote:42" and vote["placeholder"] == "Vote…"
    assert all(len(o["label"]) <= 100 and o["label"].startswith("▲ 12345 · ") for o in vote["options"])
    assert message.components[4]["components"][0]["placeholder"] == "Discuss…"
    recounted = recount_votes(message.components, {"2611.00003": 7})
    labels = [o["label"] for o in recounted[3]["components"][0]["options"]]
    assert labels[2].startswith("▲ 7 · 3. ") and labels[0].startswith("▲ 0 · 1. ")
    assert recounted[:3] == message.components[:3]  # the other menus untouched
    (in_thread, *_) = [m for m in digest_messages(digest, guild_id=42, thread=True) if m.components]
    assert len(in_thread.components) == 4  # no Discuss in a thread digest
    assert len(digest_messages(digest)[0].components) == 3  # /top and previews: no votes
