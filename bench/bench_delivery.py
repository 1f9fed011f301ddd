"""Delivery at scale, through the rate-limited local Discord (50 requests/s per token, 5 messages / 5 s per
channel), with the bot in its own process (``hotpapers run``) and the fake counting requests as they arrive.

1. ``channels``: 1,000 servers each get one digest (one message of 10 embeds) in one tick, while another
   process keeps one core busy. Floor at 50 requests/s: 20 s; target ≤ 1.1 × that, zero 429s, no second
   at Discord above 50 requests. Also the bot's RSS on a big store (``BENCH_STORE``, a database to copy,
   default ``/tmp/hotpapers-bench/papers_1000000.db`` when present).
2. ``planning``: a store with 100,000 subscribers and 10,000 channel digests, 1,000 of them due: a tick with
   nothing due (target ≤ 10 ms), planning the 1,000 due deliveries (target ≤ 1 s), RSS (target ≤ 250 MB).
3. ``dms-first`` / ``dms-stored``: 10,000 subscribers get their DM, opening their DM channel first (two
   requests each: floor 400 s) or through stored DM channels (one request: floor 200 s); target ≤ 1.1 × floor.
   Each takes about 7 (or 4) minutes.

    .venv/bin/python -m bench delivery     (BENCH_PARTS=channels,planning,dms-first,dms-stored
                                            BENCH_GUILDS=1000 BENCH_USERS=10000 BENCH_RATE=<pace> BENCH_STORE=…)

Every part takes the store's location: a SQLite file (default) or a PostgreSQL URL (``bench/bench_pgstore.py``
runs them on PostgreSQL beside SQLite).
"""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bot.store import Store
from bot.store.digests import ChannelDigest
from bot.subscriptions import Schedule, parse_follow
from tests.fakes.discord import FakeDiscord
from tests.harness import BotProcess, seed_store

SLOT = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
BEFORE = SLOT - timedelta(minutes=1)
SET_UP = datetime(2026, 11, 20, tzinfo=UTC)
CATEGORY_SETS = ["cs.LG", "cs.LG,cs.CV", "cs", "stat.ML,cs.LG", "cs.AI,cs.CL,cs.LG"]  # with sizes 1-25: 125 shapes
FOLLOWS = [("category", "cs.LG"), ("category", "cs.CV"), ("keyword", "learning"), ("category", "stat.ML"),
           ("keyword", "number 3"), ("category", "math.AG")]


def _rss(pid: int) -> tuple[float, float]:
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        fields[key] = value.strip()
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


def _seed(db: Path | str) -> None:
    # A realistic mailing: 1,200 papers, every one with some engagement.
    seed_store(db, papers=1200, points=[5000 - 4 * i for i in range(1200)], previous=None)


def _env(rate: str | None, location: Path | str | None = None) -> dict[str, str]:
    env = {"HOTPAPERS_DISCORD_REQUESTS_PER_SECOND": rate} if rate else {}
    if isinstance(location, str):
        env["HOTPAPERS_DATABASE_URL"] = location
    return env


def bulk_insert(store: Store, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """A benchmark's setup: many rows at once (COPY on PostgreSQL, one transaction on SQLite)."""
    if store.engine == "postgresql":
        with store.db.conn.raw.cursor() as cursor, cursor.copy(
                f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        return
    with store.db.conn:
        store.db.conn.executemany(f"INSERT INTO {table} ({', '.join(columns)})"
                                  f" VALUES ({', '.join('?' * len(columns))})", rows)


class BusyCore:
    """Another process keeping one core busy while the bot works."""

    def __enter__(self) -> BusyCore:
        self.proc = subprocess.Popen([sys.executable, "-c", "while True: pass"])
        return self

    def __exit__(self, *exc: object) -> None:
        self.proc.kill()
        self.proc.wait()


async def _run_round(fake: FakeDiscord, bot: BotProcess, total: int, within: float) -> float:
    """Move the bot's clock to the slot and wait for ``total`` more messages; returns the seconds it took.
    (The check runs at every request the fake answers: it must cost nothing, or it slows the fake down.)"""
    target = len(fake.messages_by_id) + total
    bot.set_time(SLOT)
    started = time.perf_counter()
    await fake.wait_until(lambda: len(fake.messages_by_id) >= target, within, f"{total} messages")
    return time.perf_counter() - started


def _report(fake: FakeDiscord, since: int, label: str, elapsed: float, floor: float) -> None:
    print(f"{label}: {elapsed:.1f} s (floor {floor:.0f} s at 50 requests/s; ratio {elapsed / floor:.3f};"
          f" target ≤ 1.100)")
    arrivals = fake.arrivals[since:]
    per_second: dict[int, int] = {}
    for stamp in arrivals:
        per_second[int(stamp)] = per_second.get(int(stamp), 0) + 1
    print(f"  requests {len(arrivals)}, 429s {fake.stats.rate_limited}, busiest second at Discord (sliding) "
          f"{fake.busiest_second()}, busiest calendar second {max(per_second.values(), default=0)}")


async def channels(guilds: int, rate: str | None, big_store: Path | None, location: str | None = None) -> None:
    """``location``: a PostgreSQL URL to run on (default: a SQLite file; ``big_store`` is SQLite only)."""
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        db: Path | str = location or workdir / "bench.db"
        if location is None and big_store is not None and big_store.exists():  # noqa: ASYNC240 - setup
            with sqlite3.connect(big_store) as source, sqlite3.connect(db) as target:
                source.backup(target)
        _seed(db)
        async with FakeDiscord() as fake:
            ids = []
            for i in range(guilds):
                guild = fake.add_guild(f"Lab {i}")
                ids.append((guild.id, fake.add_channel(guild, "papers").id))
            store = Store(db)
            try:
                for guild_id, channel_id in ids:
                    store.save_channel_digest(ChannelDigest(guild_id, channel_id, "09:00", "UTC", ("cs.LG",), 10,
                                                            SET_UP))
                papers = int(store.db.execute("SELECT count(*) FROM papers").fetchone()[0])
            finally:
                store.close()
            bot = BotProcess(fake, workdir / "bench.db", workdir, start_time=BEFORE, env=_env(rate, db))
            try:
                await bot.start(within=120)
                assert bot.proc is not None
                idle, _ = _rss(bot.proc.pid)
                since = len(fake.arrivals)
                with BusyCore():
                    elapsed = await _run_round(fake, bot, guilds, 120)
                assert all(len(fake.messages(c)) == 1 for _, c in ids)
                after, peak = _rss(bot.proc.pid)
                await bot.terminate()
            finally:
                bot.close()
            engine = "PostgreSQL" if location else "SQLite"
            _report(fake, since, f"channels ({engine}): {guilds} digests with one core busy elsewhere", elapsed,
                    guilds / 50)
            print(f"  RSS with a {papers:,}-paper store: ready {idle:.0f} MB, after {after:.0f} MB, peak {peak:.0f} MB")


async def dms(users: int, rate: str | None, stored: bool, location: str | None = None) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        db: Path | str = location or workdir / "bench.db"
        _seed(db)
        async with FakeDiscord() as fake:
            people = [fake.add_user(f"reader-{i}") for i in range(users)]
            store = Store(db)
            try:
                schedule = Schedule("09:00", "UTC", "daily")
                for user in people:
                    store.add_follow(user.id, parse_follow("category", "cs.LG"), max_follows=50, default=schedule,
                                     now=SET_UP)
                    if stored:
                        store.set_dm_channel(user.id, fake.open_dm(user).id)
            finally:
                store.close()
            bot = BotProcess(fake, workdir / "bench.db", workdir, start_time=BEFORE, env=_env(rate, db))
            try:
                await bot.start(within=120)
                since = len(fake.arrivals)
                per = 1 if stored else 2
                elapsed = await _run_round(fake, bot, users, users * per / 50 * 2)
                await bot.terminate()
                assert all(len(fake.messages(fake.dm_channels[u.id])) == 1 for u in people)
            finally:
                bot.close()
            kind = "stored DM channels" if stored else "first-time subscribers (open + send)"
            kind += ", PostgreSQL" if location else ", SQLite"
            _report(fake, since, f"dms: {users} DMs, {kind}", elapsed, users * per / 50)


PLAN_CHILD = r"""
import asyncio, json, sys, time
from datetime import datetime, timedelta, UTC
import aiohttp
from bot.clock import ManualClock
from bot.config import load_settings
from bot.delivery import ChannelAudience, Deliverer, DigestService, DiscordRest, DmAudience, Pace
from bot.store import AsyncStore

async def main(db, config, slot):
    slot = datetime.fromisoformat(slot)
    where = {"HOTPAPERS_DATABASE_URL": db} if db.startswith("postgresql://") else {"HOTPAPERS_DB": db}
    settings = load_settings({**where, "HOTPAPERS_CONFIG": config}, dotenv=None)
    clock = ManualClock(slot - timedelta(minutes=1))
    store = AsyncStore(db)
    await store.open()
    async with aiohttp.ClientSession() as session:
        rest = DiscordRest(session, "http://127.0.0.1:9", "unused", Pace(47))
        deliverer = Deliverer(rest, store, clock)
        audiences = [ChannelAudience(store, deliverer, clock, settings), DmAudience(store, deliverer, clock, settings)]
        service = DigestService(store, deliverer, clock, settings, audiences)
        await service.tick()  # the first tick of a process also prunes the ledger and resumes; not measured
        idle = []
        for _ in range(20):
            started = time.perf_counter()
            await service.tick()
            idle.append(time.perf_counter() - started)
        clock.set(slot)
        started = time.perf_counter()
        kinds = {}
        for audience in audiences:
            cache = {}
            for item in await audience.due(slot, cache):
                decision = await audience.decide(item, slot, cache)
                kinds[type(decision).__name__] = kinds.get(type(decision).__name__, 0) + 1
        planning = time.perf_counter() - started
    await store.close()
    fields = dict(line.split(":", 1) for line in open("/proc/self/status").read().splitlines() if ":" in line)
    print(json.dumps({"idle_ms": sorted(idle)[len(idle) // 2] * 1000, "idle_max_ms": max(idle) * 1000,
                      "planning_s": planning, "decisions": kinds,
                      "rss_mb": int(fields["VmHWM"].split()[0]) / 1024}))

asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3]))
"""


def planning_rows(subscribers: int, digests: int, due: int) -> dict[str, tuple[tuple[str, ...], Iterable[Any]]]:
    """The planning store's rows, per table: (columns, rows) — half the due targets are channels, half DMs, and
    every user's follows differ (no two DMs alike)."""
    later = (SLOT + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%S")
    now = SLOT.strftime("%Y-%m-%dT%H:%M:%S")

    def follows() -> Iterable[tuple[Any, ...]]:
        for i in range(subscribers):
            chosen = [FOLLOWS[(i + j) % len(FOLLOWS)] for j in range(i % 3)] + [("keyword", f"number {i}")]
            for j, (kind, value) in enumerate(chosen):
                yield (10**8 + i, kind, parse_follow(kind, value).key, value, j + 1)

    return {
        "channel_digests": (
            ("channel_id", "guild_id", "time", "timezone", "categories", "size", "active_since", "due_at"),
            ((10**6 + i, 10**7 + i, "09:00", "UTC", CATEGORY_SETS[i % len(CATEGORY_SETS)], 1 + i % 25,
              SET_UP.isoformat(), now if i < due // 2 else later) for i in range(digests))),
        "sub_users": (
            ("user_id", "time", "timezone", "frequency", "created_at", "due_at"),
            ((10**8 + i, "09:00", "UTC", "daily", SET_UP.isoformat(), now if i < due // 2 else later)
             for i in range(subscribers))),
        "sub_follows": (("user_id", "kind", "key", "value", "seq"), follows()),
    }


def fill_planning_store(location: Path | str, subscribers: int, digests: int, due: int) -> None:
    """A seeded store (one mailing) with ``subscribers`` DM subscribers and ``digests`` channel digests."""
    _seed(location)
    store = Store(location, index_dir=Path(tempfile.gettempdir()) / "bench-planning-index")
    try:
        for table, (columns, rows) in planning_rows(subscribers, digests, due).items():
            bulk_insert(store, table, columns, rows)
        if store.engine == "postgresql":
            store.db.execute("ANALYZE")
    finally:
        store.close()


def planning(subscribers: int = 100_000, digests: int = 10_000, due: int = 1_000,
             location: str | None = None) -> dict[str, Any]:
    """Plan ``due`` deliveries in a fresh process on a store of that size (SQLite, or PostgreSQL at
    ``location``); prints and returns the figures."""
    with tempfile.TemporaryDirectory() as tmp:
        db: Path | str = location or Path(tmp) / "bench.db"
        config = Path(tmp) / "bench.toml"
        config.write_text("")
        started = time.perf_counter()
        fill_planning_store(db, subscribers, digests, due)
        filled = time.perf_counter() - started
        profile = ["-m", "cProfile", "-s", "cumtime"] if os.environ.get("BENCH_PROFILE") else []
        script = Path(tmp) / "plan.py"
        script.write_text(PLAN_CHILD)
        child = subprocess.run([sys.executable, *profile, str(script), str(db), str(config), SLOT.isoformat()],
                               capture_output=True, text=True, cwd=Path(__file__).parents[1])
        if child.returncode:
            raise SystemExit(f"the planning process failed:\n{child.stderr[-3000:]}")
        if profile:
            print(child.stdout[:6000])
        result: dict[str, Any] = json.loads(next(line for line in child.stdout.splitlines() if line.startswith("{")))
        engine = "PostgreSQL" if location else "SQLite"
        print(f"planning ({engine}): {subscribers:,} subscribers and {digests:,} channel digests stored, {due:,} due"
              f" (filled in {filled:.0f} s)")
        print(f"  tick with nothing due: median {result['idle_ms']:.2f} ms, worst of 20 {result['idle_max_ms']:.2f} ms"
              " (target ≤ 10 ms)")
        print(f"  planning {due:,} due deliveries: {result['planning_s']:.2f} s (target ≤ 1 s); decisions "
              f"{result['decisions']}")
        print(f"  peak RSS of that process: {result['rss_mb']:.0f} MB (target ≤ 250 MB)")
        return result


def main() -> None:
    parts = os.environ.get("BENCH_PARTS", "channels,planning,dms-first,dms-stored").split(",")
    rate = os.environ.get("BENCH_RATE")  # default: the setting's default
    guilds = int(os.environ.get("BENCH_GUILDS", "1000"))
    users = int(os.environ.get("BENCH_USERS", "10000"))
    store = os.environ.get("BENCH_STORE", "/tmp/hotpapers-bench/papers_1000000.db")
    if "channels" in parts:
        asyncio.run(channels(guilds, rate, Path(store) if store else None))
    if "planning" in parts:
        planning()
    if "dms-first" in parts:
        asyncio.run(dms(users, rate, stored=False))
    if "dms-stored" in parts:
        asyncio.run(dms(users, rate, stored=True))


if __name__ == "__main__":
    main()
