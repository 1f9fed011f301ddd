"""Channel digest delivery at scale, through the rate-limited local Discord.

1. Throughput: 1,000 servers each get one digest (one message of 10 embeds) in one scheduler tick. The floor
   set by Discord's 50 requests/s is 20 s; the target is ≤ 1.1 × that with zero 429s. The bot paces itself at
   ``BENCH_RATE`` requests/s (default 48; the setting ``discord.requests_per_second``).
2. Memory: ``hotpapers run`` in its own process, connected to a local Discord with 1,000 servers, on a big
   store (``BENCH_STORE``: a database to copy, e.g. one made with ``bench/gen_kaggle.py`` + ``hotpapers
   backfill``; default ``/tmp/hotpapers-bench/papers_1000000.db`` when present), posting the 1,000 digests;
   resident memory is read from ``/proc/<pid>/status`` (VmRSS now, VmHWM peak). Target ≤ 200 MB.

    .venv/bin/python -m bench delivery          (BENCH_GUILDS=1000 BENCH_RATE=48 BENCH_STORE=...)
"""

from __future__ import annotations

import asyncio
import os
import resource
import sqlite3
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from bot.clock import ManualClock
from bot.store import Store
from bot.store.digests import ChannelDigest
from tests.fakes.discord import FakeDiscord
from tests.harness import BotProcess, bot_settings, running_bot, seed_store

SLOT = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
BEFORE = datetime(2026, 11, 26, 8, 59, tzinfo=UTC)


def _world(fake: FakeDiscord, guilds: int) -> list[tuple[int, int]]:
    channels = []
    for i in range(guilds):
        guild = fake.add_guild(f"Lab {i}")
        channel = fake.add_channel(guild, "papers")
        channels.append((guild.id, channel.id))
    return channels


def _configure(db: Path, channels: list[tuple[int, int]]) -> None:
    store = Store(db)
    try:
        for guild_id, channel_id in channels:
            store.save_channel_digest(ChannelDigest(
                guild_id, channel_id, "09:00", "UTC", ("cs.LG",), 10, datetime(2026, 11, 20, tzinfo=UTC)))
    finally:
        store.close()


def _seed(db: Path) -> None:
    # A realistic mailing: 1,200 papers, every one with some engagement.
    seed_store(db, papers=1200, points=[5000 - 4 * i for i in range(1200)], previous=None)


async def throughput(guilds: int, rate: float) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.db"
        _seed(db)
        async with FakeDiscord() as fake:  # Discord's limits: 50/s global, 5 messages / 5 s per channel
            channels = _world(fake, guilds)
            _configure(db, channels)
            settings = bot_settings(fake, db, HOTPAPERS_DISCORD_REQUESTS_PER_SECOND=str(rate))
            clock = ManualClock(BEFORE)
            async with running_bot(fake, settings, clock) as bot:
                limited = fake.stats.rate_limited
                requests = fake.stats.requests
                invalid = fake.stats.invalid
                cpu = resource.getrusage(resource.RUSAGE_SELF)
                clock.set(SLOT)
                started = time.perf_counter()
                wall = datetime.now(UTC)
                report = await bot.scheduler.tick_now()
                elapsed = time.perf_counter() - started
                cpu_after = resource.getrusage(resource.RUSAGE_SELF)
            assert report is not None
            messages = [m for _, channel_id in channels for m in fake.messages(channel_id)]
            floor = guilds / 50
            print(f"throughput: {guilds} digests posted in {elapsed:.2f} s "
                  f"(floor {floor:.1f} s at 50 req/s; ratio {elapsed / floor:.3f}; target ≤ 1.100)")
            print(f"  messages {len(messages)} (embeds per message: "
                  f"{sorted({len(m.embeds) for m in messages})}), posted {len(report.posted)}, "
                  f"failed {len(report.failed)}")
            print(f"  HTTP requests {fake.stats.requests - requests},"
                  f" 429s {fake.stats.rate_limited - limited}, invalid {fake.stats.invalid - invalid},"
                  f" bot pace {rate:g}/s")
            stamps = sorted(datetime.fromisoformat(m.timestamp) for m in messages)
            print(f"  first message after {(stamps[0] - wall).total_seconds():.2f} s, last after"
                  f" {(stamps[-1] - wall).total_seconds():.2f} s")
            used = (cpu_after.ru_utime - cpu.ru_utime) + (cpu_after.ru_stime - cpu.ru_stime)
            print(f"  CPU (bot + fake Discord, one process): {used:.1f} s")


def _rss(pid: int) -> tuple[float, float]:
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        fields[key] = value.strip()
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


def _paper_count(db: Path) -> int:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        return int(conn.execute("SELECT count(*) FROM papers").fetchone()[0])


async def memory(guilds: int, rate: float, big_store: Path | None) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        db = workdir / "bench.db"
        if big_store is not None and big_store.exists():  # noqa: ASYNC240 - a benchmark's setup
            with sqlite3.connect(big_store) as source, sqlite3.connect(db) as target:
                source.backup(target)  # a consistent copy even while another process writes it
        _seed(db)
        papers = _paper_count(db)
        async with FakeDiscord() as fake:
            channels = _world(fake, guilds)
            _configure(db, channels)
            bot = BotProcess(fake, db, workdir, start_time=BEFORE,
                             env={"HOTPAPERS_DISCORD_REQUESTS_PER_SECOND": str(rate)})
            try:
                await bot.start(within=60)
                assert bot.proc is not None
                idle, _ = _rss(bot.proc.pid)
                bot.set_time(SLOT)
                started = time.perf_counter()
                await fake.wait_until(
                    lambda: sum(len(fake.messages(c)) for _, c in channels) >= guilds, 120, "every digest")
                elapsed = time.perf_counter() - started
                after, peak = _rss(bot.proc.pid)
                code = await bot.terminate()
            finally:
                bot.close()
            print(f"memory: bot process with {guilds} servers and a {papers:,}-paper store "
                  f"({db.stat().st_size / 2**20:,.0f} MB file)")
            print(f"  RSS ready {idle:.0f} MB; after posting {guilds} digests ({elapsed:.1f} s) "
                  f"{after:.0f} MB; peak {peak:.0f} MB (target ≤ 200 MB); exit code {code}")


def main() -> None:
    guilds = int(os.environ.get("BENCH_GUILDS", "1000"))
    rate = float(os.environ.get("BENCH_RATE", "48"))
    store = os.environ.get("BENCH_STORE", "/tmp/hotpapers-bench/papers_1000000.db")
    asyncio.run(throughput(guilds, rate))
    asyncio.run(memory(guilds, rate, Path(store) if store else None))


if __name__ == "__main__":
    main()
