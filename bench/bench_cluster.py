"""The cluster (README, "Cluster"): worker processes of ``hotpapers run --role worker`` on one database and the
local Discord.

1. ``failover``: two workers, 300 channel digests due; the leading worker is SIGKILLed mid-round; the time from
   its death to the first message the new leader sends (the bots' clock runs in real time here: the lease runs
   out as it would in production). With the default lease (45 s, renewed every 15 s) and with a short one
   (``BENCH_FAST_LEASE``, default 6 s renewed every 2 s) to show what the hand-over itself costs. Every digest
   must still land exactly once.
2. ``dm-round``: one leading worker sends a full DM round to ``BENCH_DM_USERS`` (100,000) subscribers through
   stored DM channels, with the local Discord's global limit raised to 500/s and the pace
   (``[discord] requests_per_second``) at ``BENCH_DM_PACE`` (480): the achieved rate, and where the time goes
   (CPU of the worker process, and of this process, which plays Discord). ``BENCH_DM_LIMIT`` (500) and a pace
   above it show where the pipeline itself stops.

With ``BENCH_POSTGRESQL=postgresql://user@host:port`` the shared database is a throwaway database on that server
(created and dropped here) instead of a SQLite file.

    .venv/bin/python -m bench cluster      (BENCH_PARTS=failover,dm-round BENCH_DM_USERS=100000 …)
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.bench_pgstore import fresh_database
from bot.store import Store
from bot.subscriptions import Schedule, parse_follow
from tests.cluster.processes import SLOT, Cluster, assert_each_digest_once, digest_channels, received
from tests.fakes.discord import FakeDiscord
from tests.harness import seed_store


@contextlib.contextmanager
def shared_database(workdir: Path) -> Iterator[Path | str]:
    """The cluster's database: a SQLite file in ``workdir``, or a throwaway PostgreSQL database on the server
    ``BENCH_POSTGRESQL`` names."""
    server = os.environ.get("BENCH_POSTGRESQL", "").rstrip("/")
    if not server:
        yield workdir / "bench.db"
        return
    with fresh_database(f"cluster_{secrets.token_hex(3)}", server) as url:
        yield url


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _real_time(cluster: Cluster, stop: asyncio.Event) -> None:
    """Let the bots' clock run on in real time from where it stands."""
    origin, started = cluster.now, time.monotonic()
    while not stop.is_set():
        cluster.set_time(origin + timedelta(seconds=time.monotonic() - started))
        await asyncio.sleep(0.5)


async def failover(lease: float, renew: float, channel_count: int = 300) -> None:
    with tempfile.TemporaryDirectory() as tmp, shared_database(Path(tmp)) as db:
        workdir = Path(tmp)
        seed_store(db)  # type: ignore[arg-type]
        async with FakeDiscord(nonce_ttl=0.0) as fake:
            guild = fake.add_guild("Lab")
            channels = digest_channels(fake, db, [guild], channel_count)
            cluster = Cluster(fake, db, workdir, start_time=SLOT - timedelta(seconds=2),
                              env={"HOTPAPERS_CLUSTER_LEASE_SECONDS": f"{lease:g}",
                                   "HOTPAPERS_CLUSTER_RENEW_SECONDS": f"{renew:g}"})
            stop = asyncio.Event()
            try:
                first = await cluster.worker("worker-1", leads=True)
                await cluster.worker("worker-2", leads=False)
                clock = asyncio.create_task(_real_time(cluster, stop))
                killed: list[float] = []

                def sixty_sent() -> bool:
                    if sum(received(fake, channels)) >= 60:
                        killed.append(time.monotonic())
                        return True
                    return False

                await fake.wait_until(cluster.kill_when(first, sixty_sent), 60, "sixty digests")
                dead_at = killed[0]
                await fake.wait_until(lambda: any(t > dead_at + 1.0 for t in fake.arrivals), lease * 3 + 30,
                                      "the new leader's first message")
                took_over = min(t for t in fake.arrivals if t > dead_at + 1.0) - dead_at
                await fake.wait_until(lambda: min(received(fake, channels)) > 0, 120, "every digest")
                stop.set()
                await clock
                await cluster.processes["worker-2"].terminate()
            finally:
                stop.set()
                cluster.close()
            per = assert_each_digest_once(fake, channels)
            print(f"failover ({_engine(db)}, lease {lease:g} s, renewed every {renew:g} s): leader killed after 60 of "
                  f"{channel_count} digests; first message of the new leader {took_over:.1f} s later; every digest"
                  f" once ({per} message each)")


async def dm_round(users: int, pace: float, limit: int = 500) -> None:
    # The worker runs on the real clock here (a test clock file is read at every look at the time, which would
    # cost the round more than the clock costs in production): the subscribers' time is a minute ago, the mailing
    # two days old, so the whole round is due as soon as the worker leads.
    now = datetime.now(UTC)
    schedule = Schedule((now - timedelta(minutes=1)).strftime("%H:%M"), "UTC", "daily")
    with tempfile.TemporaryDirectory() as tmp, shared_database(Path(tmp)) as db:
        workdir = Path(tmp)
        seed_store(db, papers=1200, points=[5000 - 4 * i for i in range(1200)], previous=None,
                   mailing=(now - timedelta(days=2)).date(), observed=now - timedelta(hours=1))  # type: ignore[arg-type]
        async with FakeDiscord(global_limit=limit) as fake:
            people = [fake.add_user(f"reader-{i}") for i in range(users)]
            started = time.perf_counter()
            store = Store(db)
            try:
                for user in people:
                    store.add_follow(user.id, parse_follow("category", "cs.LG"), max_follows=50, default=schedule,
                                     now=now - timedelta(days=5))
                    store.set_dm_channel(user.id, fake.open_dm(user).id)
            finally:
                store.close()
            print(f"dm-round: {users:,} subscribers stored in {time.perf_counter() - started:.0f} s")
            cluster = Cluster(fake, db, workdir, env={"HOTPAPERS_TEST_CLOCK": "",
                                                      "HOTPAPERS_DISCORD_REQUESTS_PER_SECOND": f"{pace:g}"})
            try:
                since = len(fake.arrivals)
                target = len(fake.messages_by_id) + users
                started = time.perf_counter()
                worker = await cluster.worker("worker", leads=True)
                assert worker.proc is not None
                cpu_fake = time.process_time()
                await fake.wait_until(lambda: len(fake.messages_by_id) >= target, users / 50 + 120,
                                      f"{users} DMs")
                elapsed = time.perf_counter() - started
                cpu_worker = _cpu_seconds(worker.proc.pid)
                cpu_fake = time.process_time() - cpu_fake
                await worker.terminate(within=60)
            finally:
                cluster.close()
            assert all(len(fake.messages(fake.dm_channels[u.id])) == 1 for u in people)
            arrivals = fake.arrivals[since:]
            sending = arrivals[-1] - arrivals[0]
            print(f"dm-round ({_engine(db)}): {users:,} DMs in {elapsed:.1f} s from the worker's start"
                  f" ({sending:.1f} s from the first DM to the last: {users / sending:.0f} DMs/s);"
                  f" pace {pace:g}/s, local Discord limit {limit}/s (floor {users / pace:.0f} s);"
                  f" 429s {fake.stats.rate_limited}, busiest second at Discord {fake.busiest_second()},"
                  f" requests {len(arrivals):,}")
            print(f"  CPU: worker process {cpu_worker:.0f} s ({cpu_worker / elapsed:.0%} of one core), this process"
                  f" (the local Discord) {cpu_fake:.0f} s ({cpu_fake / elapsed:.0%}), on {os.cpu_count()} cores"
                  f" (load average {os.getloadavg()[0]:.1f})")


def _engine(db: Path | str) -> str:
    return "PostgreSQL" if isinstance(db, str) else "SQLite"


def main() -> None:
    parts = os.environ.get("BENCH_PARTS", "failover,dm-round").split(",")
    if "failover" in parts:
        asyncio.run(failover(45.0, 15.0))
        fast = float(os.environ.get("BENCH_FAST_LEASE", "6"))
        asyncio.run(failover(fast, fast / 3))
    if "dm-round" in parts:
        asyncio.run(dm_round(int(os.environ.get("BENCH_DM_USERS", "100000")),
                             float(os.environ.get("BENCH_DM_PACE", "480")),
                             int(os.environ.get("BENCH_DM_LIMIT", "500"))))
