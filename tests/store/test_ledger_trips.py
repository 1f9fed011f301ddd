"""The delivery ledger's trips to the store, cheap on PostgreSQL (every test runs once per engine): a new entry comes
back as written without being read again, ``Store.together`` makes several methods one transaction there, and
``AsyncStore.run_spread`` spreads trips over connections of their own (on SQLite: the one store thread)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.store import AsyncStore, Store
from bot.store.digests import PlannedMessage

NOW = datetime(2024, 11, 6, 12, 0, tzinfo=UTC)
BIG = 1_234_567_890_123_456_789


@pytest.fixture
def store(db_location: Path | str) -> Iterator[Store]:
    opened = Store(db_location)
    yield opened
    opened.close()


def planned(count: int) -> list[PlannedMessage]:
    return [PlannedMessage(seq, {"content": f"part {seq} 100% ok?", "embeds": [{"title": "t"}]}, f"n{seq}",
                           f"m{seq}", in_thread=seq > 0) for seq in range(count)]


def test_a_new_entry_comes_back_as_stored_and_an_existing_one_is_left_alone(store: Store) -> None:
    begun = store.begin_new_delivery("channel", BIG, "2024-11-06", planned(3), NOW, guild_id=7)
    assert begun is not None and begun == store.delivery("channel", BIG, "2024-11-06")
    assert [m.seq for m in begun.pending] == [0, 1, 2] and begun.status == "sending" and begun.guild_id == 7
    assert store.begin_new_delivery("channel", BIG, "2024-11-06", planned(1), NOW + timedelta(minutes=1)) is None
    assert store.delivery("channel", BIG, "2024-11-06") == begun  # nothing written by the second


def test_together_is_one_transaction_on_postgresql_and_each_method_commits_on_sqlite(store: Store) -> None:
    with pytest.raises(RuntimeError), store.together():
        assert store.claim_delivery("dm", BIG, "2024-11-06", "worker-1", NOW, NOW + timedelta(minutes=5))
        store.begin_delivery("dm", BIG, "2024-11-06", planned(1), NOW)
        raise RuntimeError("stopped half-way")
    kept = store.delivery("dm", BIG, "2024-11-06") is not None
    taken_by_another = not store.claim_delivery("dm", BIG, "2024-11-06", "worker-2", NOW, NOW + timedelta(minutes=5))
    if store.engine == "postgresql":
        assert not kept and not taken_by_another  # all rolled back
    else:
        assert kept and taken_by_another  # as without together(): each method committed
    with store.together():
        store.finish_delivery("dm", BIG, "2024-11-06", NOW)
        store.release_claim("dm", BIG, "2024-11-06", "worker-2")
    record = store.delivery("dm", BIG, "2024-11-06")
    assert record is None or record.status == "done"


def thread_name(store: Store) -> str:
    return threading.current_thread().name


def begin(store: Store, target_id: int) -> bool:
    return store.begin_new_delivery("dm", target_id, "2024-11-06", planned(1), NOW) is not None


async def test_run_spread_uses_connections_of_its_own_on_postgresql(db_location: Path | str) -> None:
    store = AsyncStore(db_location)
    await store.open()
    try:
        began = await asyncio.gather(*(store.run_spread(begin, BIG + i) for i in range(12)))
        assert all(began)
        assert await store.run(Store.unfinished_targets, "dm") == {BIG + i for i in range(12)}  # all committed
        names = set(await asyncio.gather(*(store.run_spread(thread_name) for _ in range(8))))
        main = await store.run(thread_name)
        if (await store.run(lambda s: s.engine)) == "postgresql":
            assert main not in names and all(name.startswith("store-spread") for name in names)
        else:
            assert names == {main}
    finally:
        await store.close()
