"""What the store keeps about a subscriber, and that forgetting them leaves nothing behind."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from bot.store import Store
from bot.store.digests import PlannedMessage
from bot.subscriptions import Schedule, parse_follow

NOW = datetime(2024, 11, 6, 12, 0, tzinfo=UTC)
DEFAULT = Schedule("09:00", "UTC", "daily")


@pytest.fixture
def store(db_location: Path | str) -> Store:
    return Store(db_location)


def add(store: Store, user: int, kind: str, value: str, cap: int = 50) -> str:
    return store.add_follow(user, parse_follow(kind, value), max_follows=cap, default=DEFAULT, now=NOW)


def test_follows_are_kept_in_order_without_duplicates(store: Store) -> None:
    assert add(store, 1, "category", "cs.LG") == "added"
    assert add(store, 1, "keyword", "Diffusion") == "added"
    assert add(store, 1, "keyword", "diffusion") == "exists"
    assert add(store, 1, "author", "Yann LeCun") == "added"
    assert add(store, 1, "author", "Y. LeCun") == "exists"
    assert [f.label for f in store.follows(1)] == ["category:cs.LG", "keyword:Diffusion", "author:Yann LeCun"]
    assert store.follows(2) == []


def test_max_follows_is_enforced(store: Store) -> None:
    assert [add(store, 1, "keyword", f"word{i}", cap=3) for i in range(4)] == ["added"] * 3 + ["full"]
    assert len(store.follows(1)) == 3
    assert store.remove_follow(1, parse_follow("keyword", "word1"))
    assert not store.remove_follow(1, parse_follow("keyword", "word1"))
    assert add(store, 1, "keyword", "word9", cap=3) == "added"


def test_new_user_gets_default_schedule_then_their_changes(store: Store) -> None:
    add(store, 1, "category", "cs.LG")
    user = store.user(1)
    assert user is not None and user.schedule == DEFAULT and user.created_at == NOW
    schedule = store.set_schedule(1, default=DEFAULT, now=NOW, timezone="Europe/Paris")
    assert schedule == Schedule("09:00", "Europe/Paris", "daily")
    schedule = store.set_schedule(1, default=DEFAULT, now=NOW, time="18:30", frequency="weekly")
    assert schedule == Schedule("18:30", "Europe/Paris", "weekly")
    # Settings before any follow create the user too.
    assert store.set_schedule(2, default=DEFAULT, now=NOW, time="07:00").time == "07:00"


def test_paused_users_get_no_dm_and_a_notice_is_told_once(store: Store) -> None:
    add(store, 1, "category", "cs.LG")
    add(store, 2, "category", "cs.CV")
    store.set_paused(1, True, default=DEFAULT, now=NOW, reason="DMs closed",
                     notice="I could not DM you: your DMs are closed.")
    assert [s.user_id for s in store.due_subscribers(NOW)] == [2]  # off the due index while paused
    user = store.user(1)
    assert user is not None and user.paused and user.paused_reason == "DMs closed"
    assert store.take_notice(1) == "I could not DM you: your DMs are closed."
    assert store.take_notice(1) is None
    later = datetime(2024, 11, 7, tzinfo=UTC)
    store.set_paused(1, False, default=DEFAULT, now=later)
    resumed = {s.user_id: s for s in store.due_subscribers(later)}
    assert resumed[1].created_at == later  # no DM for slots missed while paused


def test_due_subscribers_carry_dm_channel_and_newest_ledger_mailing(store: Store) -> None:
    add(store, 1, "category", "cs.LG")
    store.set_schedule(3, default=DEFAULT, now=NOW, time="08:00")  # settings but no follows: not a subscriber
    store.set_dm_channel(1, 555)
    store.record_skip("dm", 1, "2024-11-04", "nothing matched", NOW)
    store.begin_delivery("dm", 1, "2024-11-05", [PlannedMessage(0, {"content": "x"}, "n", "m")], NOW)
    due = {s.user_id: s for s in store.due_subscribers(NOW)}
    assert due[3].follows == ()  # due for a look (its settings changed); the service takes it off the index
    subscriber = due[1]
    assert subscriber.dm_channel_id == 555
    assert subscriber.last_mailing == date(2024, 11, 5)
    assert [f.label for f in subscriber.follows] == ["category:cs.LG"]


def test_forget_deletes_everything_about_the_user(db_location: Path | str) -> None:
    store = Store(db_location)
    add(store, 1, "category", "cs.LG")
    add(store, 2, "category", "cs.LG")
    store.set_dm_channel(1, 555)
    store.begin_delivery("dm", 1, "2024-11-05", [PlannedMessage(0, {"content": "x"}, "n", "m")], NOW)
    store.begin_delivery("dm", 2, "2024-11-05", [PlannedMessage(0, {"content": "y"}, "n2", "m2")], NOW)
    assert store.forget_user(1)
    assert not store.forget_user(1)
    assert store.user(1) is None and store.follows(1) == []
    assert store.delivery("dm", 1, "2024-11-05") is None
    assert store.delivery("dm", 2, "2024-11-05") is not None
    store.close()
    # Nothing with the user's id is left in any table.
    raw = Store(db_location)
    for table in raw.db.table_names():
        if table.startswith(("sub_", "deliver")):
            columns = {c[0] for c in raw.db.execute(f"SELECT * FROM {table} LIMIT 0").description}
            for column in {"user_id", "target_id"} & columns:
                assert raw.db.execute(f"SELECT count(*) FROM {table} WHERE {column} = 1").fetchone()[0] == 0
