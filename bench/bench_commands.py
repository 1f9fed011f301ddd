"""Slash lookups and DM digests on the local Discord: latency of ``/paper`` and autocomplete, and the time to
serve many subscribers' DMs under the token's 50 requests/s.

    .venv/bin/python -m bench commands

Environment (all optional):
``HOTPAPERS_BENCH_DB``   a backfilled store to use (e.g. 1M papers: ``bench.gen_kaggle`` + ``backfill_file``);
                         without it a store of ``HOTPAPERS_BENCH_PAPERS`` (default 20,000) synthetic papers is
                         built in a temporary directory;
``HOTPAPERS_BENCH_SUBSCRIBERS``  subscribers with stored DM channels (default 1,000; the target is 10,000);
``HOTPAPERS_BENCH_RATE``  the bot's bulk pace in requests/s (default 48; Discord allows 50).

Latency is measured from the moment the fake Discord dispatches INTERACTION_CREATE to the moment the bot's
callback reached it (both in this process, on one event loop, so it includes the gateway and REST hops).
"""

from __future__ import annotations

import asyncio
import os
import random
import statistics
import tempfile
import time
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

from bot.clock import ManualClock
from bot.config import DiscordSettings
from bot.models import Announcement
from bot.sources.observations import Observation
from bot.store import Store
from bot.subscriptions import Schedule, parse_follow
from tests.fakes.discord.server import FakeDiscord
from tests.harness import LOOKUP_MAILING as MAILING
from tests.harness import LOOKUP_NOW as NOW
from tests.harness import bot_settings, running_bot

QUERIES = ("quantum", "learning model", "neural network", "graph", "diffusion", "spectral theory", "we",
           "the model results")


def _percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def _report(name: str, values: list[float], target: float | None = None) -> None:
    ms = [v * 1000 for v in values]
    line = (f"{name:<34} n={len(ms):<5} p50={statistics.median(ms):7.2f} ms"
            f"  p95={_percentile(ms, 95):7.2f} ms  max={max(ms):7.2f} ms")
    if target is not None:
        line += f"  (target p95 ≤ {target:g} ms: {'ok' if _percentile(ms, 95) <= target else 'MISSED'})"
    print(line, flush=True)


def _build_store(directory: Path, count: int) -> Path:
    from bench.gen_kaggle import generate
    from bot.backfill import backfill_file

    jsonl = directory / "papers.jsonl"
    db = directory / "bench.db"
    generate(jsonl, count)
    store = Store(db)
    backfill_file(store, jsonl)
    store.close()
    return db


def _prepare_mailing(db: Path, size: int = 1200) -> list[str]:
    """Announce the newest ``size`` papers as the bench mailing, with engagement for a third of them."""
    store = Store(db)
    rows = store.db.execute(f"SELECT id FROM papers ORDER BY rowid DESC LIMIT {size}").fetchall()
    papers = [p for p in (store.paper(row[0]) for row in rows) if p is not None]
    store.record_announcements(Announcement(p, MAILING, "new", p.primary_category) for p in papers)
    rng = random.Random(7)
    store.record_observations(
        Observation("hf", f"hf-{p.id}", (p.id,), {"upvotes": rng.randint(1, 300)}, "https://huggingface.co/x",
                    NOW - timedelta(hours=2))
        for p in papers[::3])
    ids = [p.id for p in papers]
    store.close()
    return ids


def _subscribe(db: Path, fake: FakeDiscord, count: int, mailing_ids: list[str]) -> list[int]:
    """``count`` users, each with a stored DM channel in the fake and the bot's store, each following a
    category of the bench mailing (so every one of them gets a DM: the floor counts every subscriber)."""
    store = Store(db)
    default = Schedule("14:00", "UTC", "daily")
    since = NOW - timedelta(days=1)
    codes = sorted({p.primary_category for p in (store.paper(i) for i in mailing_ids) if p is not None})
    follows = [parse_follow("category", c) for c in codes]
    users = []
    for i in range(count):
        user = fake.add_user(f"reader-{i}")
        channel, _, _ = fake._context(None, None, user)  # the DM channel Discord would have opened before
        store.add_follow(user.id, follows[i % len(follows)], max_follows=50, default=default, now=since)
        store.set_dm_channel(user.id, channel.id)
        users.append(user.id)
    store.close()
    return users


async def _latency(fake: FakeDiscord, members: list[Any], make: Any, rounds: int) -> list[float]:
    timings = []
    for i in range(rounds):
        member = members[i % len(members)]
        started = time.perf_counter()
        interaction = await make(member, i)
        if isinstance(interaction, list):  # autocomplete returns the choices once answered
            timings.append(time.perf_counter() - started)
            continue
        await fake.wait_for_response(interaction, 10)
        timings.append(time.perf_counter() - started)
    return timings


async def _run(db: Path, subscribers: int, rate: float) -> None:
    ids = _prepare_mailing(db)
    store = Store(db)
    total = store.paper_count()
    titles = [p.title for p in (store.paper(i) for i in ids[:200]) if p]
    store.close()
    print(f"store: {total:,} papers; mailing {MAILING} with {len(ids):,} papers", flush=True)
    async with FakeDiscord() as fake:
        fake.build_standard_world()
        members = [fake.add_member(fake.world.guild) for _ in range(60)]
        clock = ManualClock(NOW.replace(hour=10))
        settings = replace(bot_settings(fake, db), discord=DiscordSettings(ready_timeout=0.1,
                                                                           requests_per_second=rate))
        users = _subscribe(db, fake, subscribers, ids)
        async with running_bot(fake, settings, clock) as bot:
            rng = random.Random(1)

            async def by_id(member: Any, i: int) -> Any:
                return await fake.slash("paper", {"query": rng.choice(ids)}, user=member)

            async def by_words(member: Any, i: int) -> Any:
                return await fake.slash("paper", {"query": QUERIES[i % len(QUERIES)]}, user=member)

            async def complete(member: Any, i: int) -> Any:
                title = rng.choice(titles)
                typed = title[: max(4, len(title) // 3)]
                return await fake.autocomplete("paper", "query", typed, user=member)

            await _latency(fake, members, by_id, 20)  # warm up
            _report("/paper <id> (from the store)", await _latency(fake, members, by_id, 300), 20)
            _report("/paper keywords", await _latency(fake, members, by_words, 160), 100)
            _report("/paper autocomplete", await _latency(fake, members, complete, 300), 50)

            before_requests, before_429 = fake.stats.requests, fake.stats.rate_limited
            before_invalid = fake.stats.invalid
            clock.set(NOW.replace(hour=14, minute=30))
            posts = "POST /channels/{channel_id}/messages"
            posted_before = fake.stats.by_route[posts]
            started = time.perf_counter()
            tick = asyncio.create_task(bot.digests.tick())
            await fake.wait_until(lambda: fake.stats.by_route[posts] > posted_before, timeout=60,
                                  what="the first DM")
            first = time.perf_counter() - started
            report = await tick
            elapsed = time.perf_counter() - started
            requests = fake.stats.requests - before_requests
            floor = len(users) / 50.0  # every subscriber follows something in the mailing: one DM each
            print(f"DM digests: {len(users):,} subscribers, {len(report.sent):,} DMs sent "
                  f"({len(report.skipped)} with nothing matching, {len(report.refused)} refused) "
                  f"in {elapsed:.1f} s = {elapsed / floor if floor else 0:.3f} × the {floor:.1f} s floor"
                  " at 50/s; "
                  f"{requests:,} requests, {fake.stats.rate_limited - before_429} × 429, "
                  f"{fake.stats.invalid - before_invalid} invalid "
                  f"({(fake.stats.invalid - before_invalid) / max(requests, 1):.3%})", flush=True)
            steady = (len(report.sent) - 1) / max(elapsed - first, 1e-9)
            print(f"  first DM after {first:.2f} s (reading subscribers, ranking and indexing the mailing),"
                  f" then {steady:.1f} DMs/s", flush=True)
            if subscribers < 10_000 and floor:
                projected = first + 10_000 / steady
                print(f"  projected for 10,000 subscribers: {projected:.0f} s = {projected / 200:.3f} ×"
                      " the 200 s floor (target ≤ 1.1 ×)", flush=True)

def main() -> None:
    subscribers = int(os.environ.get("HOTPAPERS_BENCH_SUBSCRIBERS", "1000"))
    rate = float(os.environ.get("HOTPAPERS_BENCH_RATE", "48"))
    given = os.environ.get("HOTPAPERS_BENCH_DB")
    with tempfile.TemporaryDirectory(prefix="hp-bench-") as tmp:
        if given:
            db = Path(tmp) / "bench.db"
            import shutil

            shutil.copy(given, db)  # the bench adds a mailing and subscribers: work on a copy
        else:
            count = int(os.environ.get("HOTPAPERS_BENCH_PAPERS", "20000"))
            started = time.perf_counter()
            db = _build_store(Path(tmp), count)
            print(f"built a {count:,}-paper store in {time.perf_counter() - started:.0f} s", flush=True)
        asyncio.run(_run(db, subscribers, rate))


if __name__ == "__main__":
    main()
