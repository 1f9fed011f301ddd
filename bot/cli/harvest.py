"""``hotpapers harvest [--sets cs,stat] [--from YYYY-MM-DD]``: arXiv's OAI-PMH into the store, resumably."""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Callable, Sequence
from datetime import date
from typing import TextIO

from bot.clock import Clock, clock_from_env
from bot.config import Settings
from bot.errors import HotPapersError
from bot.harvest import HarvestProgress, HarvestReport, default_sets, describe, harvest, parse_sets
from bot.sources.oai import OaiClient
from bot.store import AsyncStore

PLAIN_EVERY = 30.0  # seconds between progress lines when stderr is not a terminal


class ProgressLine:
    """One line on stderr: redrawn in place on a terminal; elsewhere printed at most every PLAIN_EVERY s."""

    def __init__(self, stream: TextIO, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.stream = stream
        self.tty = stream.isatty()
        self.monotonic = monotonic
        self.started = monotonic()
        self.last_plain: float | None = None

    def __call__(self, progress: HarvestProgress) -> None:
        now = self.monotonic()
        text = format_progress(progress, now - self.started)
        if self.tty:
            self.stream.write(f"\r{text}\x1b[K")
            self.stream.flush()
        elif self.last_plain is None or now - self.last_plain >= PLAIN_EVERY:
            self.last_plain = now
            print(text, file=self.stream, flush=True)

    def finish(self) -> None:
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()


def format_progress(progress: HarvestProgress, elapsed: float) -> str:
    """``harvest cs: 7,000 / 58,011 records (12.1 %) · 2,310 records/min · ~22 min left · up to 2024-03-02``."""
    parts = [f"harvest {describe(progress.set_spec)}: {progress.records:,}"
             + (f" / {progress.list_size:,}" if progress.list_size else "") + " records"]
    fraction = progress.fraction()
    if fraction is not None:
        parts[0] += f" ({fraction:.1%}{'' if progress.list_size else ' by date'})"
    if elapsed > 0 and progress.run_records:
        parts.append(f"{progress.run_records / elapsed * 60:,.0f} records/min")
    if fraction is not None and 0 < fraction < 1 and elapsed > 0:
        # This run's pace applied to what is left of the list (earlier runs' records excluded).
        done_here = max(progress.run_records, 1)
        left = elapsed / done_here * progress.records * (1 - fraction) / fraction
        parts.append(f"~{_duration(left)} left")
    if progress.newest is not None:
        parts.append(f"up to {progress.newest.isoformat()}")
    return " · ".join(parts)


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def parse_from(text: str | None) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise HotPapersError(f"--from {text!r} is not a date; give it as YYYY-MM-DD, e.g. 2024-01-31") from None


def main(args: argparse.Namespace, settings: Settings) -> int:
    from_date = parse_from(args.from_date)
    sets = (parse_sets(args.sets.split(",")) if args.sets
            else settings.harvest.sets or default_sets(settings.ingest.categories))
    if not sets:
        raise HotPapersError("no sets to harvest: give --sets (e.g. cs,stat or all) or set [ingest] categories")
    line = ProgressLine(sys.stderr)
    try:
        report = asyncio.run(_harvest(settings, sets, from_date, line, clock_from_env()))
    except KeyboardInterrupt:
        line.finish()
        print("hotpapers: harvest interrupted; every page received is stored: run the same command again to "
              "continue where it stopped", file=sys.stderr)
        return 130
    except HotPapersError:
        line.finish()
        raise
    line.finish()
    print(format_report(report))
    return 0


async def _harvest(settings: Settings, sets: Sequence[str], from_date: date | None, line: ProgressLine,
                   clock: Clock) -> HarvestReport:
    store = AsyncStore(settings.database)
    await store.open()
    try:
        async with OaiClient(settings) as oai:
            return await harvest(oai, store, sets, clock=clock, from_date=from_date, progress=line)
    finally:
        await store.close()


def format_report(report: HarvestReport) -> str:
    """One line per set, then the requests made."""
    lines = []
    for result in report.sets:
        counts = result.counts
        how = (" (resumed)" if result.resumed else "") + (
            f" (the saved token had expired: restarted from {result.restarted_from or 'the beginning'})"
            if result.restarted else "")
        since = f" changed since {result.list_from.isoformat()}" if result.list_from else ""
        extra = "".join(f", {n:,} {what}" for n, what in ((result.deleted, "deleted (left as stored)"),
                                                           (result.unreadable, "unreadable")) if n)
        lines.append(f"{describe(result.set_spec)}: {result.records:,} records{since}{how}: {counts.new:,} new, "
                     f"{counts.updated:,} updated, {counts.skipped:,} unchanged{extra}; "
                     f"next run from {result.next_from.isoformat() if result.next_from else 'the beginning'}")
    plural = "" if report.requests == 1 else "s"
    lines.append(f"{report.requests} request{plural} to arXiv")
    return "\n".join(lines)
