"""The paper store on a million papers: backfill, search per query class, lookup, autocomplete, feed, memory.

    .venv/bin/python -m bench.bench_store                  # generates the 1M-line file once
    .venv/bin/python -m bench.bench_store --count 100000   # a smaller run
    .venv/bin/python -m bench.bench_store --skip-backfill  # reuse the database of an earlier run

Targets (issue 2): backfill 1M ≤ 180 s; search p95 ≤ 50 ms for every class; lookup p95 ≤ 1 ms; autocomplete
p95 ≤ 50 ms; storing a 2,000-entry feed ≤ 0.5 s; resident memory of ``hotpapers search`` ≤ 150 MB.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from pathlib import Path

from bot.backfill import backfill_file
from bot.models import Announcement, Paper
from bot.store import Store

WORK = Path("/tmp/hotpapers-bench")


def percentile(values: Sequence[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * (len(ordered) - 1) + 0.5))]


def timed(calls: Sequence[Callable[[], object]]) -> list[float]:
    """Milliseconds per call."""
    times = []
    for call in calls:
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    return times


def report(name: str, times: Sequence[float], target: float | None = None) -> None:
    verdict = "" if target is None else ("  ok" if percentile(times, 0.95) <= target else "  OVER TARGET")
    print(
        f"{name:<34} n={len(times):<4} p50 {percentile(times, 0.5):8.2f} ms"
        f"  p95 {percentile(times, 0.95):8.2f} ms"
        f"  max {max(times):8.2f} ms{verdict}"
    )


def ensure_file(path: Path, count: int) -> dict[str, object]:
    queries = path.with_suffix(".queries.json")
    if not path.exists() or not queries.exists():
        print(f"generating {count:,} papers into {path} …", flush=True)
        subprocess.run(
            [sys.executable, "-m", "bench.gen_kaggle", str(path), "--count", str(count)], check=True
        )
    loaded: dict[str, object] = json.loads(queries.read_text())
    return loaded


def bench_backfill(path: Path, db: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    store = Store(db)
    store.bulk_load_settings(True)
    started = time.perf_counter()
    result = backfill_file(store, path)
    elapsed = time.perf_counter() - started
    store.close()
    size = db.stat().st_size / 1e6
    print(
        f"backfill: {result.counts.new:,} papers in {elapsed:.1f} s "
        f"({result.counts.new / elapsed:,.0f}/s; database {size:,.0f} MB){'  ok' if elapsed <= 180 else ''}"
    )


def bench_search(db: Path, queries: dict[str, object]) -> None:
    store = Store(db)
    classes: dict[str, list[str]] = {
        "rare term": list(queries["rare"])[:40],  # type: ignore[call-overload]
        "term in ~10% of papers": list(queries["ten_percent"])[:20],  # type: ignore[call-overload]
        "very common term": list(queries["common"]),  # type: ignore[call-overload]
        "two common words": list(queries["two_common"]),  # type: ignore[call-overload]
        "pasted title": list(queries["titles"])[:40],  # type: ignore[call-overload]
    }
    store.search("warm up the page cache")
    for name, texts in classes.items():
        report(f"search: {name}", timed([lambda text=text: store.search(text) for text in texts]), 50)
    titles = classes["pasted title"]
    first = sum(
        1
        for title in titles
        if (found := store.search(title.upper() + "."))
        and " ".join(found[0].title.split()).lower() == " ".join(title.split()).lower()
    )
    print(f"search: pasted title came back first {first}/{len(titles)} times")
    rng = random.Random(3)
    pasted_abstracts = []
    for paper_id in ("0704.0001", "1501.00001", "2301.00001", "2507.00001"):
        paper = store.paper(paper_id)
        if paper is not None:
            pasted_abstracts.append((paper.abstract * 10)[:5000])
    nasty = [
        "attention AND (",
        '"unbalanced',
        "NEAR(a b)",
        "-title:foo*",
        "🚀 transformers 🤖",
        "((()))",
        *pasted_abstracts,
    ]
    report(
        "search: odd and 5,000-char input",
        timed([lambda text=text: store.search(text) for text in nasty]),
        50,
    )
    common = list(queries["common"])  # type: ignore[call-overload]
    report(
        "search: common term + category",
        timed(
            [
                lambda text=text, c=c: store.search(text, category=c)
                for text in common[:6]
                for c in ("cs.LG", "math")
            ]
        ),
        50,
    )
    report(
        "search: common term + dates",
        timed(
            [
                lambda text=text: store.search(text, since=date(2015, 1, 1), until=date(2015, 12, 31))
                for text in common[:10]
            ]
        ),
        50,
    )
    ids = [row[0] for row in store.db.conn.execute("SELECT id FROM papers ORDER BY random() LIMIT 2000")]
    report("lookup by id", timed([lambda paper_id=paper_id: store.paper(paper_id) for paper_id in ids]), 1)
    words = list(queries["ten_percent"]) + list(queries["common"])  # type: ignore[call-overload]
    prefixes = [t[:n] for t in titles[:20] for n in (2, 3, 6, 12, 25, 200)] + [
        w[:k] for w in words for k in (2, 4)
    ]
    rng.shuffle(prefixes)
    report(
        "title autocomplete",
        timed([lambda text=text: store.title_suggestions(text) for text in prefixes]),
        50,
    )
    store.close()


def bench_feed(db: Path) -> None:
    mailing = date(2026, 11, 26)
    feed = [
        Announcement(
            paper=Paper(
                id=f"2611.{n:05d}",
                version=1,
                title=f"A synthetic feed paper number {n} on graphs",
                authors=("Ada Lovelace", "Alan Turing"),
                abstract="We study graphs and networks. " * 40,
                primary_category="cs.LG",
                categories=("cs.LG", "stat.ML"),
                published=datetime(2026, 11, 24, tzinfo=UTC),
            ),
            mailing=mailing,
            announce_type="new" if n % 4 else "cross",
            feed_category="cs.LG",
        )
        for n in range(1, 2001)
    ]
    store = Store(db)
    started = time.perf_counter()
    counts = store.record_announcements(feed)
    first = time.perf_counter() - started
    started = time.perf_counter()
    again = store.record_announcements(feed)
    second = time.perf_counter() - started
    store.db.execute("DELETE FROM announcements WHERE mailing = ?", [mailing.isoformat()])
    store.close()
    print(
        f"store a 2,000-entry feed into the 1M database: {first * 1000:.0f} ms ({counts}); "
        f"again: {second * 1000:.0f} ms ({again}){'  ok' if first <= 0.5 else '  OVER TARGET'}"
    )


def bench_memory(db: Path, query: str) -> None:
    # VmHWM, not getrusage's ru_maxrss: the latter survives exec and so counts this (big) parent's pages.
    code = (
        "import sys\nfrom bot.cli import main\nstatus = main(['search', sys.argv[1], '--json'])\n"
        "hwm = [line for line in open('/proc/self/status') if line.startswith('VmHWM')][0]\n"
        "print(int(hwm.split()[1]), file=sys.stderr)\n"
    )
    env = {**os.environ, "HOTPAPERS_DB": str(db)}
    started = time.perf_counter()
    run = subprocess.run(
        [sys.executable, "-c", code, query], env=env, capture_output=True, text=True, check=True
    )
    elapsed = time.perf_counter() - started
    peak_mb = int(run.stderr.strip().splitlines()[-1]) / 1024
    results = len(json.loads(run.stdout)["results"])
    print(
        f"hotpapers search {query!r}: peak RSS {peak_mb:.0f} MB, {results} results, {elapsed:.2f} s wall "
        f"including start-up{'  ok' if peak_mb <= 150 else '  OVER TARGET'}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--count", type=int, default=1_000_000)
    parser.add_argument("--file", type=Path)
    parser.add_argument("--db", type=Path)
    parser.add_argument("--skip-backfill", action="store_true")
    args = parser.parse_args()
    WORK.mkdir(exist_ok=True)
    path = args.file or WORK / f"kaggle_{args.count}.jsonl"
    db = args.db or WORK / f"papers_{args.count}.db"
    queries = ensure_file(path, args.count)
    if not args.skip_backfill:
        bench_backfill(path, db)
    bench_search(db, queries)
    bench_feed(db)
    common: list[str] = list(queries["common"])  # type: ignore[call-overload]
    bench_memory(db, common[-1])
    bench_memory(db, " ".join(next(iter(queries["titles"])).split()))  # type: ignore[call-overload]


if __name__ == "__main__":
    main()
