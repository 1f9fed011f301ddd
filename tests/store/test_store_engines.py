"""Each part of the store behaves the same on SQLite and on PostgreSQL (every test runs once per engine):
channel digests and the due index, the delivery ledger, engagement snapshots and refreshes, harvest state,
votes and refreshes, reading lists, follow-up notices, metadata and the papers' change cursor."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from bot.models import Announcement, ChannelDigest, Notice, Paper
from bot.sources.observations import Observation
from bot.store import HarvestState, Store
from bot.store.digests import PlannedMessage
from bot.store.notices import Seen
from bot.store.signals import RefreshRecord

NOW = datetime(2024, 11, 6, 12, 0, tzinfo=UTC)
BIG = 1_234_567_890_123_456_789  # a Discord snowflake needs 64 bits


def paper(pid: str, title: str, *, version: int = 1, abstract: str = "An abstract.") -> Paper:
    return Paper(id=pid, version=version, title=title, authors=("Ada Lovelace",), abstract=abstract,
                 primary_category="cs.LG", categories=("cs.LG",),
                 published=datetime(2024, 11, 4, 18, tzinfo=UTC), updated=datetime(2024, 11, 4, 18, tzinfo=UTC))


@pytest.fixture
def store(db_location: Path | str) -> Iterator[Store]:
    opened = Store(db_location)
    yield opened
    opened.close()


def digest(channel: int, **changes: object) -> ChannelDigest:
    values: dict[str, object] = dict(guild_id=BIG, channel_id=channel, time="09:00", timezone="Europe/Paris",
                                     categories=("cs.LG", "cs.CV"), size=5, active_since=NOW)
    values.update(changes)
    return ChannelDigest(**values)  # type: ignore[arg-type]


def test_channel_digests_round_trip_and_setup_again_replaces_and_makes_due(store: Store) -> None:
    store.save_channel_digest(digest(BIG + 1, min_score=12.5, mention_role=BIG + 2, thread=True))
    store.set_due("channel", [(BIG + 1, NOW + timedelta(hours=3))])
    assert store.due_channel_digests(NOW) == []
    assert store.next_due("channel") == NOW + timedelta(hours=3)
    again = digest(BIG + 1, size=7, paused=True)
    store.save_channel_digest(again)  # replaces the row: the due time goes back to "as soon as possible"
    assert store.channel_digest(BIG + 1) == again
    assert [d.channel_id for d in store.due_channel_digests(NOW)] == [BIG + 1]
    assert store.record_channel_failure(BIG + 1, "Missing Access", NOW) == 1
    assert store.record_channel_failure(BIG + 1, "Missing Access", NOW) == 2
    assert store.set_channel_digest_paused(BIG + 1, False, NOW)
    assert store.channel_digest(BIG + 1).failures == 0  # type: ignore[union-attr]
    assert store.make_due("channel", before=NOW + timedelta(days=1)) == 1
    assert store.forget_guild(BIG) == 1 and store.channel_digests() == []


def test_the_ledger_is_written_once_and_completed_message_by_message(store: Store) -> None:
    messages = [PlannedMessage(seq, {"content": f"part {seq} 100% ok?", "embeds": []}, f"n{seq}", f"m{seq}")
                for seq in range(3)]
    first = store.begin_delivery("channel", BIG, "2024-11-06", messages, NOW, guild_id=7)
    again = store.begin_delivery("channel", BIG, "2024-11-06", messages[:1], NOW + timedelta(minutes=1))
    assert again == first and len(first.pending) == 3  # the entry in force wins
    store.complete_message("channel", BIG, "2024-11-06", 0, BIG + 10, BIG)
    record = store.unfinished_delivery("channel", BIG)
    assert record is not None and [m.seq for m in record.pending] == [1, 2]
    assert record.messages[0].payload == {"content": "part 0 100% ok?", "embeds": []}
    assert store.unfinished_targets("channel") == {BIG}
    store.finish_delivery("channel", BIG, "2024-11-06", NOW)
    assert store.unfinished_deliveries() == [] and store.handled("channel", BIG, "2024-11-06")
    assert store.record_skip("channel", BIG, "2024-11-07", "no papers", NOW)
    assert not store.record_skip("channel", BIG, "2024-11-07", "no papers", NOW)
    assert [r.period for r in store.recent_deliveries("channel", BIG)] == ["2024-11-07", "2024-11-06"]
    assert store.reopen_delivery("channel", BIG, "2024-11-07")  # nothing was out: forgotten
    assert not store.handled("channel", BIG, "2024-11-07")
    assert store.prune_ledger(NOW + timedelta(days=1)) == 1
    assert store.delivery("channel", BIG, "2024-11-06") is None  # its messages went with it


def test_the_newest_ledger_entry_of_many_targets_is_read_at_once(store: Store) -> None:
    store.begin_delivery("channel", BIG, "2024-11-06", [], NOW)
    store.finish_delivery("channel", BIG, "2024-11-06", NOW)
    store.begin_delivery("channel", BIG, "2024-11-07", [], NOW)  # still sending
    store.record_skip("channel", BIG + 1, "2024-11-05", "no papers", NOW)
    store.record_skip("dm", BIG + 2, "2024-11-08", "nothing matched", NOW)  # another kind: not a channel's
    assert store.latest_deliveries("channel", [BIG, BIG + 1, BIG + 2, 5]) == {
        BIG: ("2024-11-07", "sending"), BIG + 1: ("2024-11-05", "skipped")}
    assert store.latest_deliveries("channel", []) == {}


def test_subscribers_are_due_with_their_follows_and_last_mailing(store: Store) -> None:
    from bot.subscriptions import Schedule, parse_follow

    default = Schedule("09:00", "UTC", "daily")
    assert store.add_follow(BIG, parse_follow("keyword", "graphs"), max_follows=5, default=default, now=NOW) \
        == "added"
    store.record_skip("dm", BIG, "2024-11-05", "nothing new", NOW)
    due = store.due_subscribers(NOW)
    assert [(s.user_id, [f.label for f in s.follows], s.last_mailing) for s in due] == [
        (BIG, ["keyword:graphs"], date(2024, 11, 5))]
    store.set_schedule(BIG, default=default, now=NOW, timezone="Asia/Tokyo")
    assert store.user(BIG).schedule == Schedule("09:00", "Asia/Tokyo", "daily")  # type: ignore[union-attr]
    store.set_paused(BIG, True, default=default, now=NOW, reason="dm closed", notice="DMs were closed")
    assert store.due_subscribers(NOW + timedelta(days=365)) == []
    assert store.take_notice(BIG) == "DMs were closed" and store.take_notice(BIG) is None
    assert store.subscriber_count() == 1


def test_engagement_reads_the_latest_snapshot_of_each_post(store: Store) -> None:
    early, late = NOW - timedelta(hours=2), NOW
    store.record_observations([
        Observation("hn", "1", ("2411.00001",), {"points": 10}, "https://hn/1", early),
        Observation("hn", "1", ("2411.00001",), {"points": 50}, "https://hn/1", late),
        Observation("hn", "2", ("2411.00001", "2411.00002"), {"points": 7}, "https://hn/2", early),
    ])
    latest = store.latest_signals(["2411.00001", "2411.00002", "2411.00003"], NOW)
    assert latest["2411.00001"]["hn"].counts == {"points": 57}
    assert latest["2411.00001"]["hn"].url == "https://hn/1"
    assert latest["2411.00002"]["hn"].counts == {"points": 7} and "2411.00003" not in latest
    assert store.latest_signals(["2411.00001"], early)["2411.00001"]["hn"].counts == {"points": 17}
    assert store.last_observed(["2411.00001"], NOW) == late
    assert [moment for moment, _ in store.signal_history("2411.00001")] == [early, late]
    for when, status in ((early, "ok"), (late, "failed")):
        store.record_signal_refresh(RefreshRecord(when, "hn", status, 3, 2, 4, ("down: HTTP 503",)))
    store.record_signal_refresh(RefreshRecord(early, "hf", "ok", 1, 1, 1, ()))
    assert [(r.source, r.status) for r in store.latest_signal_refreshes()] == [("hf", "ok"), ("hn", "failed")]
    assert store.last_signal_refresh() == late
    assert [r.refreshed_at for r in store.signal_refreshes(limit=2)] == [late, early]


def test_posts_keep_the_newest_words(store: Store) -> None:
    store.record_posts([
        Observation("bsky", "p", ("2411.00001",), {"likes": 3}, "https://b/p", NOW, author="a", text="old"),
        Observation("bsky", "p", ("2411.00001",), {"likes": 9}, "https://b/p", NOW + timedelta(hours=1),
                    author="a", text="new", repo="https://github.com/x/y", stars=4),
        Observation("bsky", "p", ("2411.00001",), {"likes": 1}, "https://b/p", NOW - timedelta(hours=1),
                    author="a", text="older"),
    ])
    context = store.post_context(["2411.00001"], NOW + timedelta(hours=2))
    extras = context.papers["2411.00001"]
    assert [p.text for p in extras.posts] == ["new"] and extras.code is not None and extras.code.stars == 4


def test_harvest_state_is_stored_with_its_page(store: Store) -> None:
    state = HarvestState("cs", token="tok|1", list_from=date(2024, 1, 1), records=2, list_size=10,
                         newest=date(2024, 1, 3), ordered=False)
    counts = store.store_harvest_page([paper("2401.00001", "One"), paper("2401.00002", "Two")], state)
    assert counts.new == 2
    assert store.harvest_state("cs") == state
    done = HarvestState("cs", records=10, next_from=date(2024, 1, 9), completed_at=NOW)
    store.store_harvest_page([], done)
    assert store.harvest_states() == [done]


def test_votes_threads_refreshes_and_rising(store: Store) -> None:
    assert store.toggle_vote(BIG, "2411.00001", 5, NOW) == (True, 1)
    assert store.toggle_vote(BIG, "2411.00001", 6, NOW) == (True, 2)
    assert store.toggle_vote(BIG, "2411.00001", 5, NOW) == (False, 1)
    store.toggle_vote(BIG + 1, "2411.00001", 5, NOW)
    assert store.vote_counts(["2411.00001", "2411.00009"]) == {"2411.00001": 2}
    assert store.vote_counts(["2411.00001"], BIG) == {"2411.00001": 1}
    assert store.voting_guilds() == {BIG, BIG + 1}
    store.set_paper_thread(7, "2411.00001", 70)
    store.set_paper_thread(7, "2411.00001", 71)
    assert store.paper_thread(7, "2411.00001") == 71
    store.begin_delivery("channel", 7, "2024-11-06", [], NOW)
    store.finish_delivery("channel", 7, "2024-11-06", NOW)
    assert store.digests_to_refresh(NOW - timedelta(days=1), NOW + timedelta(hours=1)) == [(7, "2024-11-06")]
    store.mark_refreshed(7, "2024-11-06", NOW + timedelta(hours=2))
    assert store.digests_to_refresh(NOW - timedelta(days=1), NOW + timedelta(hours=1)) == []
    store.record_rising(7, ["2411.00001", "2411.00001"], NOW)
    assert store.rising_shown(7, ["2411.00001", "2411.00002"]) == {"2411.00001"}


def test_reading_lists_and_follow_up_notices(store: Store) -> None:
    store.upsert_papers([paper("2411.00001", "Graphs 50% faster"), paper("2411.00002", "Sparse kernels")])
    assert store.save_paper(BIG, "2411.00001", NOW)
    assert not store.save_paper(BIG, "2411.00001", NOW)
    assert store.save_paper(BIG, "2411.00002", NOW + timedelta(minutes=1))
    assert [s.paper.id for s in store.saved_papers(BIG)] == ["2411.00002", "2411.00001"]
    assert [s.paper.id for s in store.saved_papers(BIG, offset=1, limit=5)] == ["2411.00001"]
    assert [p.id for p in store.saved_matching(BIG, "GRAPHS 50%")] == ["2411.00001"]
    assert store.saved_count(BIG) == 2
    store.toggle_vote(3, "2411.00002", 99, NOW)
    assert store.watchers(["2411.00001", "2411.00002"]) == {"2411.00001": {BIG}, "2411.00002": {BIG, 99}}
    assert sorted(store.watched_papers(BIG)) == ["2411.00001", "2411.00002"]
    notice = Notice(BIG, "2411.00001", "v2", "fixed a typo", NOW)
    assert store.record_followups({"2411.00001": Seen(2, None, None)}, [notice, notice]) == 1
    assert store.record_followups({"2411.00001": Seen(2, "https://github.com/x/y", None)}, [notice]) == 0
    assert store.followup_seen(["2411.00001"]) == {"2411.00001": Seen(2, "https://github.com/x/y", None)}
    assert store.pending_notices(BIG) == [notice]
    store.mark_told(BIG, [("2411.00001", "v2")], NOW)
    assert store.pending_notices(BIG) == []
    assert store.unsave_paper(BIG, "2411.00001") and not store.unsave_paper(BIG, "2411.00001")
    store.record_followups({}, [Notice(7, "2411.00002", "code", "https://github.com/x/y", NOW)])
    store.toggle_vote(3, "2411.00001", 8, NOW)
    # who has follow-ups to look at: a saved paper (BIG), a vote (99 and 8), an untold notice (7); not 6
    assert store.with_followups([BIG, 99, 8, 7, 6]) == {BIG, 99, 8, 7}
    store.mark_told(7, [("2411.00002", "code")], NOW)
    assert store.with_followups([7, 6]) == set()


def test_metadata_is_replaced(store: Store) -> None:
    assert store.meta("tree") is None
    store.set_meta("tree", "a")
    store.set_meta("tree", "b")
    assert store.meta("tree") == "b"


def test_every_write_of_what_search_reads_moves_the_change_cursor(store: Store) -> None:
    assert store.last_change() == 0
    store.record_announcements([Announcement(paper("2411.00001", "One"), date(2024, 11, 5), "new", "cs.LG")])
    first = store.last_change()
    store.upsert_papers([paper("2411.00001", "One")])  # unchanged: no new sequence
    assert store.last_change() == first
    store.upsert_papers([paper("2411.00001", "One, revised", version=2)])
    assert store.last_change() > first
    # A writer that does not set the sequence (another program) still moves it, through the triggers.
    before = store.last_change()
    with store.db.conn:
        store.db.execute("UPDATE papers SET title = ? WHERE id = ?", ["One, again", "2411.00001"])
    assert store.last_change() > before
    assert [p.id for p in store.search("again")] == ["2411.00001"]
    assert store.paper_count() == 1


def test_a_new_node_with_an_empty_index_catches_up_by_itself(db_location: Path | str, tmp_path: Path) -> None:
    writer = Store(db_location, index_dir=tmp_path / "node-a")
    writer.upsert_papers([paper(f"2411.{n:05d}", f"Paper {n} on graphs") for n in range(1, 31)])
    assert len(writer.search("graphs", limit=50)) == 30
    node = Store(db_location, index_dir=tmp_path / "node-b")  # another machine: its own, empty index
    assert len(node.search("graphs", limit=50)) == 30
    writer.upsert_papers([paper("2411.00031", "Sparse kernels")])
    assert [p.id for p in node.search("kernels")] == ["2411.00031"]  # kept current from the cursor
    assert node.search_index().applied == writer.last_change()
    writer.close()
    node.close()


def test_concurrent_writers_commit_change_sequences_in_order(db_location: Path | str) -> None:
    """Two connections write papers at once: whatever a reader of the cursor sees at any moment, no sequence
    at or below the head it saw commits later (a catching-up index would skip it for good)."""
    polls: list[set[int]] = []
    errors: list[BaseException] = []

    def write(offset: int) -> None:
        try:
            own = Store(db_location)
            for batch in range(10):
                own.upsert_papers([paper(f"2411.{offset + batch * 10 + n:05d}", "Concurrent") for n in range(10)])
            own.close()
        except BaseException as exc:  # reported below
            errors.append(exc)

    reader = Store(db_location)
    threads = [threading.Thread(target=write, args=(start,)) for start in (1000, 5000)]
    for thread in threads:
        thread.start()
    while any(thread.is_alive() for thread in threads):
        polls.append({row[0] for row in reader.db.execute("SELECT change_seq FROM papers").fetchall()})
    for thread in threads:
        thread.join()
    assert not errors
    final = {row[0] for row in reader.db.execute("SELECT change_seq FROM papers").fetchall()}
    assert len(final) == 200
    for seen in polls:
        head = max(seen, default=0)
        assert {s for s in final if s <= head} == seen
    reader.close()


def test_json_payloads_and_large_ids_survive(store: Store) -> None:
    payload = {"content": "it's \"quoted\" -- not a comment; ? and %s stay", "embeds": [{"title": "é"}]}
    store.begin_delivery("dm", BIG, "2024-11-06", [PlannedMessage(0, payload, "n", "m")], NOW)
    record = store.delivery("dm", BIG, "2024-11-06")
    assert record is not None and record.messages[0].payload == payload
    assert json.loads(json.dumps(payload)) == payload
