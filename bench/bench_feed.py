"""Parse and store a 2,000-entry announcement feed (target ≤ 0.5 s): ``python -m bench feed``."""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

from bot.sources.arxiv_parse import parse_announcement_feed
from bot.store import Store
from tests.fixtures.arxiv.feeds import big_feed

ENTRIES = 2000
ROUNDS = 5
TARGET = 0.5


def main() -> None:
    data = big_feed(ENTRIES)
    categories = ["cs.LG", "cs.AI"]
    parse_times: list[float] = []
    store_times: list[float] = []
    rerun_times: list[float] = []
    for _ in range(ROUNDS):
        with tempfile.TemporaryDirectory() as directory:
            store = Store(Path(directory) / "bench.db")
            started = time.perf_counter()
            feed = parse_announcement_feed(data, categories)
            parsed = time.perf_counter()
            counts = store.record_announcements(feed.announcements)
            stored = time.perf_counter()
            store.record_announcements(parse_announcement_feed(data, categories).announcements)
            rerun = time.perf_counter()
            store.close()
        parse_times.append(parsed - started)
        store_times.append(stored - parsed)
        rerun_times.append(rerun - stored)
    total = [p + s for p, s in zip(parse_times, store_times, strict=True)]
    print(f"feed: {ENTRIES} items, {len(data) / 1e6:.1f} MB, {len(feed.announcements)} announcements "
          f"({counts.new} new, {counts.cross_listed} cross-listed, {counts.updated} updated, "
          f"{counts.skipped} skipped)")
    print(f"parse        median {statistics.median(parse_times) * 1000:6.0f} ms")
    print(f"store        median {statistics.median(store_times) * 1000:6.0f} ms")
    print(f"parse+store  median {statistics.median(total) * 1000:6.0f} ms, worst {max(total) * 1000:.0f} ms "
          f"(target ≤ {TARGET * 1000:.0f} ms: {'met' if max(total) <= TARGET else 'MISSED'})")
    print(f"re-run (all unchanged) median {statistics.median(rerun_times) * 1000:.0f} ms")


if __name__ == "__main__":
    main()
