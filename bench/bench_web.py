"""Open feeds and pages on a million-paper store: response time of each address through the real server.

    .venv/bin/python -m bench web                        # 1M papers (generated once under /tmp)
    .venv/bin/python -m bench.bench_web --count 100000   # a smaller run

The store is the Kaggle-style 1M backfill (``bench.gen_kaggle``) plus five mailings of 1,400 papers each (about
a third with engagement, three snapshots each) and one server digest. Every address is asked over HTTP ``n``
times: "cold" with the server's one-minute answer cache defeated (every request ranks from the store), "warm"
as readers mostly see it. Target (issue 13): p95 ≤ 50 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import socket
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import aiohttp

from bench.bench_store import percentile
from bot.backfill import backfill_file
from bot.clock import ManualClock
from bot.config import load_settings
from bot.models import Announcement, ChannelDigest, Paper
from bot.sources.observations import Observation
from bot.store import AsyncStore, Store
from bot.web import WebServer, feed_secret, guild_key, serve, warm_rankings

WORK = Path("/tmp/hotpapers-bench-web")
MAILINGS = [date(2026, 11, 19), date(2026, 11, 20), date(2026, 11, 23), date(2026, 11, 24), date(2026, 11, 25)]
PER_MAILING = 1400
NOW = datetime(2026, 11, 25, 18, tzinfo=UTC)
GUILD = 4242
CATEGORIES = ("cs.LG", "cs.CV", "cs.CL", "stat.ML", "math.PR", "hep-th", "quant-ph")


def build_store(count: int) -> Path:
    """The 1M store with five scored mailings (made once; reused by later runs)."""
    WORK.mkdir(exist_ok=True)
    db = WORK / f"web_{count}.db"
    if db.exists():
        return db
    source = WORK / f"kaggle_{count}.jsonl"
    if not source.exists():
        print(f"generating {count:,} papers into {source} …", flush=True)
        subprocess.run([sys.executable, "-m", "bench.gen_kaggle", str(source), "--count", str(count)], check=True)
    partial = db.with_suffix(".partial")
    store = Store(partial)
    store.bulk_load_settings(True)
    started = time.perf_counter()
    result = backfill_file(store, source)
    print(f"backfill: {result.counts.new:,} papers in {time.perf_counter() - started:.0f} s", flush=True)
    store.bulk_load_settings(False)
    number = itertools.count(50000)
    for day in MAILINGS:
        papers = []
        for n in range(PER_MAILING):
            primary = CATEGORIES[n % len(CATEGORIES)]
            papers.append(Paper(f"2611.{next(number):05d}", 1, f"A paper of {day} number {n} on learning",
                                ("Ada Lovelace", "Alan Turing", "Zoë Ørsted"), "We study learning. " * 60,
                                primary, (primary, "cs.AI") if n % 3 == 0 else (primary,),
                                published=datetime.combine(day - timedelta(days=2), datetime.min.time(), UTC)))
        store.record_announcements(Announcement(p, day, "new", p.primary_category) for p in papers)
        observations = [
            Observation("hn", f"hn-{p.id}-{k}", (p.id,), {"points": (i * 37 % 900) + 10 * k, "comments": 3},
                        f"https://news.ycombinator.com/item?id={i}", NOW - timedelta(hours=3 - k))
            for i, p in enumerate(papers) if i % 3 == 0 for k in range(3)]
        observations += [
            Observation("hf", f"hf-{p.id}", (p.id,), {"upvotes": i % 50}, f"https://huggingface.co/papers/{p.id}",
                        NOW - timedelta(hours=1)) for i, p in enumerate(papers) if i % 5 == 0]
        store.record_observations(observations)
    store.save_channel_digest(ChannelDigest(GUILD, 1, "09:00", "UTC", ("cs.LG", "cs.CV"), 10,
                                            NOW - timedelta(days=30)))
    store.save_channel_digest(ChannelDigest(GUILD, 2, "09:00", "UTC", ("hep-th",), 5, NOW - timedelta(days=30)))
    store.close()
    for suffix in ("-wal", "-shm"):
        Path(f"{partial}{suffix}").unlink(missing_ok=True)
    partial.rename(db)
    return db


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def measure(db: Path, rounds: int) -> None:
    port = free_port()
    settings = load_settings({"HOTPAPERS_DB": str(db), "HOTPAPERS_WEB_PORT": str(port),
                              "HOTPAPERS_CONFIG": str(_config())}, dotenv=None)
    store = AsyncStore(db)
    await store.open()
    key = guild_key(await store.run(feed_secret), GUILD)
    addresses = ["/feeds/cs.LG.rss", "/feeds/cs.LG.atom", "/feeds/cs.LG.json", "/feeds/cs.rss",
                 f"/feeds/guild/{GUILD}.rss?key={key}", f"/m/{MAILINGS[-1]}", f"/m/{MAILINGS[-1]}/cs.LG", "/"]
    clock = ManualClock(NOW)
    publisher = WebServer(settings, store, clock).publisher
    for label, warm in (("cold", False), ("first", True)):
        print({"cold": "cold: nothing ranked yet (right after start, or an old mailing): ranked from the store",
               "first": "\nfirst: an address's first reader, the recent mailings' rankings kept warm by the server"
               }[label])
        for address in addresses:
            path, _, query = address.partition("?key=")
            times = []
            for _ in range(max(3, rounds // 4)):
                clock.advance(timedelta(seconds=61))
                if warm:
                    await store.run(warm_rankings, publisher, clock.now())
                started = time.perf_counter()
                await store.run(serve, publisher, path, query, clock.now())
                times.append((time.perf_counter() - started) * 1000)
            show(label, path, None, times)
    print("\nserved: through the server, a minute passing every 10 requests (stale answers served at once, "
          "ranked afresh in the background)")
    minutes = itertools.count()
    ticking = [0.0]
    server = WebServer(settings, store, clock, monotonic=lambda: ticking[0])
    await server.start()
    everything: list[float] = []
    async with aiohttp.ClientSession() as session:
        for address in addresses:
            times = []
            for n in range(rounds):
                if n % 10 == 0:
                    ticking[0] = next(minutes) * 61.0
                    clock.advance(timedelta(seconds=61))
                started = time.perf_counter()
                async with session.get(f"http://127.0.0.1:{port}{address}") as response:
                    body = await response.read()
                    assert response.status == 200, (address, response.status, body[:200])
                times.append((time.perf_counter() - started) * 1000)
            everything += times
            show("served", address.split("?")[0], len(body), times)
    print(f"served, all addresses: p95 {percentile(everything, 0.95):.1f} ms over {len(everything)} requests"
          f"{'  ok' if percentile(everything, 0.95) <= 50 else '  OVER TARGET'}")
    await server.stop()
    await store.close()


def show(label: str, address: str, size: int | None, times: list[float]) -> None:
    verdict = "ok" if percentile(times, 0.95) <= 50 else "over 50 ms"
    kb = f"{size / 1024:6.0f} KB" if size is not None else " " * 9
    print(f"{label:<8} {address:<24} {kb}  p50 {percentile(times, 0.5):7.1f} ms  p95 {percentile(times, 0.95):7.1f} ms"
          f"  max {max(times):7.1f} ms  {verdict}", flush=True)


def _config() -> Path:
    path = WORK / "bench.toml"
    path.write_text('[ingest]\ncategories = ["cs.LG", "cs.CV", "cs.CL", "stat.ML"]\n')
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--count", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=40)
    args, _ = parser.parse_known_args()
    db = build_store(args.count)
    store = Store(db)
    print(f"store: {store.paper_count():,} papers, {len(MAILINGS)} mailings of {PER_MAILING:,}; {db}")
    store.close()
    asyncio.run(measure(db, args.rounds))


if __name__ == "__main__":
    main()
