"""The OAI-PMH harvest's own speed: fetch, parse and store arXivRaw pages from the local upstream server with
no pacing (``HOTPAPERS_ARXIV_INTERVAL=0``), to show a real harvest is limited only by arXiv's pacing.

``python -m bench harvest`` (``HOTPAPERS_BENCH_HARVEST_PAGES``, default 12 pages of 3,500 records: arXiv's page
size). Records are shaped like arXiv's: 1–3 versions, 1–8 authors, 2–3 categories, a ~1,000-character abstract
drawn from a 30,000-word Zipf vocabulary, some DOIs and journal references. Reported: records/s of the whole
loop into an empty store and into one already holding the papers (a re-harvest), the per-page split between
parsing and storing, and what that means at arXiv's pace (one request every 3 s).
"""

from __future__ import annotations

import asyncio
import itertools
import os
import random
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from bot.clock import ManualClock
from bot.config import Settings
from bot.harvest import harvest
from bot.sources.oai import RECORDS_PER_PAGE, OaiClient, parse_list_records
from bot.store import AsyncStore, HarvestState, Store
from tests.fakes.upstream import UpstreamServer
from tests.fixtures.arxiv.oai import Pages, Rec

PAGES = int(os.environ.get("HOTPAPERS_BENCH_HARVEST_PAGES", "12"))
ARXIV_INTERVAL = 3.0  # arXiv's terms: one request every 3 s
ARXIV_PAPERS = 2_700_000
NOW = datetime(2026, 11, 28, 8, 0, tzinfo=UTC)


def _records(count: int, seed: int = 7) -> list[Rec]:
    rng = random.Random(seed)
    vocabulary = [f"w{n}" + "".join(rng.choice("aeioulnrst") for _ in range(rng.randint(2, 7)))
                  for n in range(30_000)]
    cumulative = list(itertools.accumulate(1 / (rank + 1) for rank in range(len(vocabulary))))
    categories = ["cs.LG", "cs.AI", "cs.CV", "cs.CL", "stat.ML", "math.OC", "eess.IV", "cs.RO"]
    records = []
    for n in range(count):
        words = rng.choices(vocabulary, cum_weights=cumulative, k=160)
        versions = [f"Mon, {day:02d} Nov 2024 1{day % 10}:00:00 GMT" for day in range(1, rng.randint(2, 4))]
        records.append(Rec(
            id=f"{2401 + n // 90_000}.{n % 90_000 + 1:05d}", datestamp=f"2024-11-{1 + n * 28 // count:02d}",
            title=" ".join(words[:10]).capitalize(), abstract=" ".join(words[10:]),
            authors=", ".join(f"A{rng.randint(1, 10**6)}. Author{rng.randint(1, 10**6)}"
                              for _ in range(rng.randint(1, 8))),
            categories=" ".join(rng.sample(categories, rng.randint(2, 3))), versions=versions,
            doi=f"10.1000/j.{n}" if n % 4 == 0 else None,
            journal_ref=f"J. Bench {n % 300} ({2024 - n % 20})" if n % 5 == 0 else None,
            comments="12 pages, 4 figures"))
    return records


async def _harvest_once(upstream: UpstreamServer, store: AsyncStore) -> tuple[float, int]:
    settings = Settings(arxiv_oai=upstream.url + "/oai", arxiv_interval=0.0)
    async with OaiClient(settings) as oai:
        started = time.perf_counter()
        report = await harvest(oai, store, ["cs"], clock=ManualClock(NOW))
        return time.perf_counter() - started, report.sets[0].records


async def _run(pages: Pages, directory: Path) -> tuple[tuple[float, int], tuple[float, int]]:
    async with UpstreamServer() as upstream:
        pages.script(upstream)
        store = AsyncStore(directory / "harvest.db")
        await store.open()
        try:
            first = await _harvest_once(upstream, store)
            await store.run(Store.store_harvest_page, [], HarvestState("cs"))  # forget: harvest it all again
            again = await _harvest_once(upstream, store)
        finally:
            await store.close()
    return first, again


def main() -> None:
    records = _records(PAGES * RECORDS_PER_PAGE)
    pages = Pages(records, per_page=RECORDS_PER_PAGE)
    megabytes = statistics.mean(len(body) for body in pages.bodies) / 1e6
    print(f"harvest: {PAGES} pages × {RECORDS_PER_PAGE:,} arXivRaw records ({megabytes:.1f} MB a page), "
          f"local server, no pacing")

    parse_times, store_times = [], []
    with tempfile.TemporaryDirectory() as directory:
        store = Store(Path(directory) / "split.db")
        for body in pages.bodies:
            started = time.perf_counter()
            page = parse_list_records(body)
            parsed = time.perf_counter()
            store.store_harvest_page([r.paper for r in page.records if r.paper], HarvestState("split"))
            store_times.append(time.perf_counter() - parsed)
            parse_times.append(parsed - started)
        store.close()
        (first, count), (again, _) = asyncio.run(_run(pages, Path(directory)))

    per_page = statistics.median(parse_times) + statistics.median(store_times)
    print(f"per page: parse median {statistics.median(parse_times) * 1000:.0f} ms, store median "
          f"{statistics.median(store_times) * 1000:.0f} ms (worst {max(store_times) * 1000:.0f} ms)")
    print(f"whole loop (HTTP + parse + store + state), empty store: {count:,} records in {first:.1f} s = "
          f"{count / first:,.0f} records/s; re-harvest (all unchanged): {count / again:,.0f} records/s")
    paced = RECORDS_PER_PAGE / ARXIV_INTERVAL
    print(f"arXiv's pace: one {RECORDS_PER_PAGE:,}-record page per {ARXIV_INTERVAL:g} s = {paced:,.0f} records/s "
          f"at most; our work per page {per_page:.2f} s = {per_page / ARXIV_INTERVAL:.0%} of the interval "
          f"({'limited by arXiv' if count / first > paced else 'LIMITED BY US'})")
    floor = ARXIV_PAPERS / RECORDS_PER_PAGE * ARXIV_INTERVAL
    print(f"all of arXiv ({ARXIV_PAPERS:,} records, {ARXIV_PAPERS // RECORDS_PER_PAGE:,} pages): at least "
          f"{floor / 60:.0f} min of pacing, plus arXiv's time to build each page")


if __name__ == "__main__":
    main()
