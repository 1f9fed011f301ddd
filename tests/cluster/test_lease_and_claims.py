"""The leader lease and the delivery claims on a stepped clock: two holders contend, a lease or a claim runs out,
is renewed, is taken over; a stale leader stops sending; a takeover resumes a dead worker's delivery from the
ledger only once its claim ran out, and sends only what was left."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import pytest

from bot.clock import ManualClock
from bot.cluster import Leadership
from bot.delivery import Deliverer, DiscordRest, Pace, Target, make_nonce
from bot.delivery.claims import ClaimLost, Claims
from bot.render import OutgoingMessage
from bot.store import AsyncStore, Store
from bot.store.digests import PlannedMessage
from tests.fakes.discord import FakeDiscord

T0 = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
LEASE = timedelta(seconds=45)
RENEW = timedelta(seconds=15)
PERIOD = "2026-11-25"


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0)


@pytest.fixture
def db(tmp_path: Path) -> Path:
    Store(tmp_path / "shared.db").close()  # migrated once, as `hotpapers run` does before the processes start
    return tmp_path / "shared.db"


@contextlib.asynccontextmanager
async def opened(db: Path) -> AsyncIterator[AsyncStore]:
    """One process's connection to the shared database."""
    store = AsyncStore(db)
    await store.open()
    try:
        yield store
    finally:
        await store.close()


def _messages(n: int) -> list[OutgoingMessage]:
    return [OutgoingMessage(content=f"Hot Papers {PERIOD} part {i + 1}/{n}", marker=f"part {i + 1}/{n}")
            for i in range(n)]


# ---- the lease in the store --------------------------------------------------------------------------------


def test_one_holder_at_a_time_until_the_lease_runs_out_then_the_next_takes_it_in_a_new_term(db: Path) -> None:
    store = Store(db)
    try:
        assert store.take_lease("workers", "a", T0, T0 + LEASE) == 1
        assert store.take_lease("workers", "b", T0, T0 + LEASE) is None
        assert store.take_lease("workers", "a", T0 + RENEW, T0 + RENEW + LEASE) == 1  # renewed: same term
        assert store.take_lease("workers", "b", T0 + LEASE + timedelta(seconds=1), T0 + 2 * LEASE) is None
        later = T0 + RENEW + LEASE + timedelta(microseconds=1)  # a's renewal ran out
        assert store.take_lease("workers", "b", later, later + LEASE) == 2
        assert store.take_lease("workers", "a", later, later + LEASE) is None
        lease = store.lease("workers")
        assert lease is not None and (lease.holder, lease.expires_at, lease.term) == ("b", later + LEASE, 2)
    finally:
        store.close()


def test_a_released_lease_is_taken_at_once(db: Path) -> None:
    store = Store(db)
    try:
        assert store.take_lease("workers", "a", T0, T0 + LEASE) == 1
        assert not store.release_lease("workers", "b")  # only the holder gives it up
        assert store.release_lease("workers", "a")
        assert store.take_lease("workers", "b", T0, T0 + LEASE) == 2
    finally:
        store.close()


# ---- leadership between two workers ------------------------------------------------------------------------


async def test_two_workers_contend_one_leads_and_the_other_takes_over_when_the_leader_stops_renewing(
        db: Path, clock: ManualClock) -> None:
    took: list[str] = []
    async with opened(db) as store_a, opened(db) as store_b:
        def worker(store: AsyncStore, name: str) -> Leadership:
            async def on_lead() -> None:
                took.append(name)
            return Leadership(store, clock, name, lease=LEASE, renew=RENEW, on_lead=on_lead)

        a, b = worker(store_a, "a"), worker(store_b, "b")
        assert await a.step() and not await b.step()
        for _ in range(5):  # a renews every 15 s: b never gets in
            clock.advance(RENEW)
            assert await a.step() and not await b.step()
        assert took == ["a"] and a.leading() and not b.leading()
        clock.advance(LEASE + timedelta(seconds=1))  # a stalls (no renewal) for a whole lease
        assert not a.leading()  # a stalled leader stops sending by itself, on the clock
        assert await b.step() and b.term == 2
        assert not await a.step() and not a.leading()  # back, it finds b leading and stays out
        assert took == ["a", "b"]


async def test_a_renewal_that_fails_ends_leadership_at_once(db: Path, clock: ManualClock) -> None:
    async with opened(db) as store_a:
        a = Leadership(store_a, clock, "a", lease=LEASE, renew=RENEW)
        assert await a.step()
        gone = T0 + LEASE + timedelta(microseconds=1)
        assert Store(db).take_lease("workers", "intruder", gone, gone + LEASE) == 2  # a's ran out meanwhile
        clock.advance(RENEW)  # within a's lease by its own clock …
        assert a.leading()
        assert not await a.step()  # … but its renewal fails: it stops at once
        assert not a.leading()


async def test_a_database_that_does_not_answer_ends_leadership_at_once_and_is_tried_again_soon(
        db: Path, clock: ManualClock) -> None:
    async def broken_start_up() -> None:
        raise RuntimeError("start-up work failed")

    store = AsyncStore(db)
    await store.open()
    a = Leadership(store, clock, "a", lease=LEASE, renew=RENEW, on_lead=broken_start_up)
    assert await a.step() and not a.failed  # a failing start-up does not stop the lead
    await store.close()  # the database is gone
    assert not await a.step()
    assert a.failed and not a.leading()


async def test_a_clean_stop_hands_the_lead_over_without_waiting_for_the_lease(db: Path, clock: ManualClock) -> None:
    async with opened(db) as store_a, opened(db) as store_b:
        a = Leadership(store_a, clock, "a", lease=LEASE, renew=RENEW)
        b = Leadership(store_b, clock, "b", lease=LEASE, renew=RENEW)
        assert await a.step() and not await b.step()
        await a.release()
        assert not a.leading() and await b.step()


# ---- claims ------------------------------------------------------------------------------------------------


async def test_a_claim_is_held_by_one_process_renewed_while_used_and_lost_once_it_ran_out(
        db: Path, clock: ManualClock) -> None:
    key = ("channel", 42, PERIOD)
    async with opened(db) as store_a, opened(db) as store_b:
        a = Claims(store_a, clock, "a", LEASE)
        b = Claims(store_b, clock, "b", LEASE)
        assert await a.take(key) and not await b.take(key)
        clock.advance(timedelta(seconds=30))  # past half its time: holding it extends it in the store
        await a.hold(key)
        clock.advance(timedelta(seconds=30))  # 60 s after it was taken, 30 s after it was extended
        assert not await b.take(key)
        await a.hold(key)
        clock.advance(LEASE + timedelta(seconds=1))  # a stalls past its claim
        assert await b.take(key)
        with pytest.raises(ClaimLost):
            await a.hold(key)  # a stale holder learns it may not send
        await a.release(key)  # and dropping it leaves b's claim alone
        assert not await Claims(store_a, clock, "c", LEASE).take(key)
        await b.release(key)
        assert await Claims(store_a, clock, "c", LEASE).take(key)


async def test_a_claim_that_ran_out_is_not_extended_even_if_nobody_took_it(db: Path, clock: ManualClock) -> None:
    """Another process may have taken it, finished the delivery and released it meanwhile: the holder must go
    back to the ledger rather than keep sending from what it read before."""
    key = ("dm", 7, PERIOD)
    async with opened(db) as store:
        a = Claims(store, clock, "a", LEASE)
        assert await a.take(key)
        clock.advance(LEASE)
        with pytest.raises(ClaimLost):
            await a.hold(key)
        assert not await store.run(Store.extend_claim, *key, "a", clock.now(), clock.now() + LEASE)


# ---- claimed delivery against the local Discord ------------------------------------------------------------


@dataclass
class Process:
    """One process's sending half: its own connection, claims and pace, and whether it may send."""

    store: AsyncStore
    deliverer: Deliverer
    leading: bool = True


@contextlib.asynccontextmanager
async def process(fake: FakeDiscord, db: Path, clock: ManualClock, name: str) -> AsyncIterator[Process]:
    async with opened(db) as store, aiohttp.ClientSession() as session:
        rest = DiscordRest(session, fake.api_url, fake.token, Pace(48))
        proc = Process(store, Deliverer(rest, store, clock, retry_delays=(0.05,)))
        proc.deliverer.claims = Claims(store, clock, name, LEASE)
        proc.deliverer.gate = lambda: proc.leading
        proc.deliverer.bot_user_id = fake.application_id
        yield proc


async def test_two_processes_delivering_the_same_digest_at_once_send_it_once(
        world: FakeDiscord, db: Path, clock: ManualClock) -> None:
    channel = world.world.papers
    target = Target.channel(channel.id, PERIOD, world.world.guild.id)
    async with process(world, db, clock, "a") as a, process(world, db, clock, "b") as b:
        outcomes = await asyncio.gather(a.deliverer.deliver(target, _messages(3)),
                                        b.deliverer.deliver(target, _messages(3)))
        again = await b.deliverer.deliver(target, _messages(3))
    assert sorted(o.status for o in outcomes) == ["claimed", "sent"]
    assert again.status == "already"
    assert [m.content for m in world.messages(channel)] == [m.content for m in _messages(3)]


async def test_a_leader_that_lost_the_lead_stops_before_its_next_message(
        world: FakeDiscord, db: Path, clock: ManualClock) -> None:
    channel = world.world.papers
    target = Target.channel(channel.id, PERIOD, world.world.guild.id)
    async with process(world, db, clock, "a") as a:
        world.inject_delay("POST /channels/{channel_id}/messages", 0.3, count=1)
        sending = asyncio.create_task(a.deliverer.deliver(target, _messages(4)))
        await world.wait_for_message(channel, timeout=5)
        a.leading = False  # its renewal failed while the first message was on its way
        outcome = await sending
        assert outcome.status == "interrupted"
        assert (await a.deliverer.deliver(target, None)).status == "interrupted"
        released = await a.store.run(Store.claim_delivery, "channel", channel.id, PERIOD, "b", clock.now(),
                                     clock.now() + LEASE)
    assert len(world.messages(channel)) == 1
    assert released  # it let go of its claim: the new leader need not wait for it to run out


async def test_a_takeover_resumes_a_dead_workers_delivery_once_its_claim_ran_out_and_sends_only_the_rest(
        world: FakeDiscord, db: Path, clock: ManualClock) -> None:
    """The dead worker planned three messages, claimed the delivery, and died after Discord took the second
    one but before the ledger recorded it."""
    channel = world.world.papers
    messages = _messages(3)
    planned = [PlannedMessage(i, m.payload(), make_nonce("channel", channel.id, PERIOD, i), m.marker)
               for i, m in enumerate(messages)]
    target = Target.channel(channel.id, PERIOD, world.world.guild.id)
    async with process(world, db, clock, "dead") as dead:
        assert await dead.deliverer.claims.take(("channel", channel.id, PERIOD))  # type: ignore[union-attr]
        await dead.store.run(Store.begin_delivery, "channel", channel.id, PERIOD, planned, clock.now())
        for seq in (0, 1):
            data = await dead.deliverer.rest.send_message(channel.id, {"content": messages[seq].content,
                                                                       "nonce": planned[seq].nonce})
            if seq == 0:
                await dead.store.run(Store.complete_message, "channel", channel.id, PERIOD, 0, int(data["id"]),
                                     channel.id)
    async with process(world, db, clock, "heir") as heir:
        clock.advance(LEASE - timedelta(seconds=1))
        assert (await heir.deliverer.deliver(target, None)).status == "claimed"
        clock.advance(timedelta(seconds=2))
        outcome = await heir.deliverer.deliver(target, None)
    assert outcome.status == "sent" and outcome.sent == 1
    assert [m.content for m in world.messages(channel)] == [m.content for m in messages]
