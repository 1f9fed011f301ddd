"""The cluster with the real command line, in separate processes on one database and the local Discord.

1. Three processes on one machine (the README's example): a gateway and two workers. The leading worker is
   SIGKILLed in the middle of a channel round; once its lease has run out on the clock the other worker leads,
   resumes the round from the ledger, and every digest lands exactly once; the gateway answers throughout.
2. The drill of issue 14: two gateways (shards 0 and 1 of 2) and two workers, 300 channels, the leading worker
   SIGKILLed mid-round: every digest exactly once, and slash commands sent to both gateways keep answering in
   under a second all along.

The local Discord's nonce guard is off here (``nonce_ttl=0``): a message sent twice would show, so exactly-once
is the ledger's and the claims' doing, not Discord's.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from bot.store import Store
from tests.cluster.processes import (
    LEADING,
    SLOT,
    Cluster,
    assert_each_digest_once,
    digest_channels,
    received,
)
from tests.engines import CHILD_PROCESS
from tests.fakes.discord import Channel, FakeDiscord, Guild
from tests.harness import Seed, reply, seed_store

TAKEOVER = timedelta(seconds=60)  # past the 45 s lease (and the dead worker's claims) on the bot's clock


@pytest.fixture(params=[pytest.param("sqlite", marks=pytest.mark.sqlite_only(CHILD_PROCESS)), "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Path | str]:
    """The cluster's shared database: a SQLite file, or a schema on the local PostgreSQL server (skipped when
    none answers, failed under CI)."""
    if request.param == "sqlite":
        yield tmp_path / "cluster.db"
        return
    server = request.getfixturevalue("postgresql_server")
    url = server.new_schema()
    try:
        yield url
    finally:
        server.drop_schema(url)


@pytest.fixture
async def fake() -> AsyncIterator[FakeDiscord]:
    async with FakeDiscord(nonce_ttl=0.0) as fake:
        fake.build_standard_world()
        yield fake


async def _finish_after_takeover(cluster: Cluster, fake: FakeDiscord, channels: list[Channel]) -> None:
    """The leader (worker-1) was killed mid-round, having sent some digests, while worker-2 waited. Move the
    clock past the lease, wait for worker-2 to lead and finish the round; stop it cleanly."""
    dead, heir = cluster.processes["worker-1"], cluster.processes["worker-2"]
    assert dead.proc is not None and dead.proc.wait(10) == -9
    assert "delivered channel" in dead.log()
    assert LEADING not in heir.log()
    cluster.set_time(SLOT + TAKEOVER)
    await heir.wait_log(LEADING, within=30)
    await fake.wait_until(lambda: min(received(fake, channels)) > 0, 90, "every digest")
    await heir.wait_log("tick: ", within=60)  # its round ended (a standby worker never ticks)
    assert await heir.terminate() == 0


@pytest.mark.sqlite_only(CHILD_PROCESS)
async def test_three_processes_a_gateway_and_two_workers_survive_the_leaders_death(
        fake: FakeDiscord, seeded: Seed, tmp_path: Path) -> None:
    channels = digest_channels(fake, seeded.db, [fake.world.guild], 40)  # type: ignore[union-attr]
    cluster = Cluster(fake, seeded.db, tmp_path)
    try:
        gateway = await cluster.gateway("gateway")
        first = await cluster.worker("worker-1", leads=True)
        await cluster.worker("worker-2", leads=False)
        cluster.set_time(SLOT)
        await fake.wait_until(cluster.kill_when(first, lambda: sum(received(fake, channels)) >= 10), 60,
                              "ten digests, then the leader's death")
        assert sum(received(fake, channels)) < len(channels)  # it died mid-round
        await _finish_after_takeover(cluster, fake, channels)
        answer = await reply(fake, await fake.slash("subscriptions list"), within=10)
        assert "follow" in answer.content.lower()
        assert await gateway.terminate() == 0
    finally:
        cluster.close()
    assert assert_each_digest_once(fake, channels) >= 1
    store = Store(seeded.db)
    try:
        assert store.unfinished_deliveries() == []
        lease = store.lease("workers")
        assert lease is not None and lease.term == 2 and lease.expires_at is None  # handed over once, released
    finally:
        store.close()
    log = cluster.processes["gateway"].log()
    assert "synced" in log and "Traceback" not in log and "tick:" not in log  # a gateway runs no job


def _guilds_on_both_shards(fake: FakeDiscord) -> tuple[Guild, Guild]:
    """A server on shard 0 and one on shard 1 of 2 (Discord: shard = (guild_id >> 22) % shards)."""
    found: dict[int, Guild] = {}
    while len(found) < 2:
        guild = fake.add_guild(f"Lab {len(fake.guilds)}")
        found.setdefault((guild.id >> 22) % 2, guild)
    return found[0], found[1]


@contextlib.asynccontextmanager
async def commands_all_along(fake: FakeDiscord, guilds: tuple[Guild, Guild]) -> AsyncIterator[list[float]]:
    """Send ``/subscriptions list`` in each server (so to each gateway) one after another, all along; yields
    the latencies (seconds from the interaction to its answer), growing."""
    latencies: list[float] = []
    stop = asyncio.Event()

    async def ask() -> None:
        while not stop.is_set():
            for guild in guilds:
                started = time.monotonic()
                interaction = await fake.slash("subscriptions list", guild=guild)
                await fake.wait_for_response(interaction, 10)
                latencies.append(time.monotonic() - started)
            await asyncio.sleep(0.05)

    task = asyncio.create_task(ask())
    try:
        yield latencies
    finally:
        stop.set()
        await task


async def test_the_drill_two_gateways_two_workers_300_channels_the_leader_killed_mid_round(
        fake: FakeDiscord, database: Path | str, tmp_path: Path) -> None:
    seed_store(database)  # type: ignore[arg-type]
    shard0, shard1 = _guilds_on_both_shards(fake)
    channels = digest_channels(fake, database, [shard0, shard1], 300)
    cluster = Cluster(fake, database, tmp_path)
    try:
        await cluster.gateway("gateway-0", "--shards", "0", "--shard-count", "2")  # shard 0 syncs the commands
        await cluster.processes["gateway-0"].wait_log("synced")
        await cluster.gateway("gateway-1", "--shards", "1", "--shard-count", "2")
        first = await cluster.worker("worker-1", leads=True)
        await cluster.worker("worker-2", leads=False)
        async with commands_all_along(fake, (shard0, shard1)) as latencies:
            cluster.set_time(SLOT)
            await fake.wait_until(cluster.kill_when(first, lambda: sum(received(fake, channels)) >= 100), 90,
                                  "a hundred digests, then the leader's death")
            assert sum(received(fake, channels)) < len(channels)
            await _finish_after_takeover(cluster, fake, channels)
        for name in ("gateway-0", "gateway-1"):
            assert await cluster.processes[name].terminate() == 0
    finally:
        cluster.close()
    assert assert_each_digest_once(fake, channels) >= 1
    print(f"\ndrill: {len(latencies)} commands answered, slowest {max(latencies) * 1000:.0f} ms")
    assert len(latencies) >= 20
    assert max(latencies) < 1.0, f"a command took {max(latencies):.2f} s"
    logs = {name: proc.log() for name, proc in cluster.processes.items()}
    assert "synced" not in logs["gateway-1"]  # one command sync, by the gateway holding shard 0
    assert all("Traceback" not in log for name, log in logs.items() if name != "worker-1")
