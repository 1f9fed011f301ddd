"""``hotpapers backfill FILE [--batch N]``: load the Kaggle arXiv metadata file, resumably, with a progress bar.

FILE is the zip downloaded from https://www.kaggle.com/datasets/Cornell-University/arxiv, the
``arxiv-metadata-oai-snapshot.json`` inside it, or that file gzipped. SIGTERM stops it like Ctrl-C: the batch in
flight is dropped, the parser process stopped, and the same command continues where it stopped.
"""

from __future__ import annotations

import argparse
import signal
import sys
import time
from pathlib import Path
from typing import TextIO

from bot.backfill import BATCH_SIZE, BackfillProgress, backfill_file
from bot.config import Settings
from bot.errors import HotPapersError
from bot.store import Store

BAR_WIDTH = 30


class ProgressReport:
    """A one-line bar redrawn in place on a terminal; elsewhere a plain line every tenth of the file."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.tty = stream.isatty()
        self.started = time.monotonic()
        self.next_tenth = 1

    def __call__(self, progress: BackfillProgress) -> None:
        share = progress.bytes_done / progress.bytes_total if progress.bytes_total else 1.0
        counts = progress.counts
        elapsed = time.monotonic() - self.started
        eta = f" · {elapsed / share * (1 - share):.0f} s left" if 0.01 < share < 1 else ""
        facts = (f"{progress.lines:,} lines · {counts.new:,} new · {counts.updated:,} updated · "
                 f"{counts.skipped:,} unchanged · {progress.malformed:,} malformed{eta}")
        if self.tty:
            filled = int(share * BAR_WIDTH)
            self.stream.write(f"\r[{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {share:6.1%} {facts}\x1b[K")
            self.stream.flush()
        elif share * 10 >= self.next_tenth:
            self.next_tenth = int(share * 10) + 1
            print(f"backfill: {share:.0%} · {facts}", file=self.stream, flush=True)

    def finish(self) -> None:
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt  # a service manager's stop: the same orderly stop as Ctrl-C


def main(args: argparse.Namespace, settings: Settings) -> int:
    path = Path(args.file)
    if not path.is_file():
        raise HotPapersError(f"no such file: {path}")
    store = Store(settings.database)
    report = ProgressReport(sys.stderr)
    started = time.monotonic()
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        store.bulk_load_settings(True)
        try:
            result = backfill_file(store, path, batch_size=args.batch or BATCH_SIZE, progress=report)
        finally:
            store.bulk_load_settings(False)
        report.finish()
        print("backfill: bringing the search index up to date …", file=sys.stderr, flush=True)
        store.catch_up_search_index()
    except KeyboardInterrupt:
        report.finish()
        print("hotpapers: backfill interrupted; run the same command again to continue where it stopped",
              file=sys.stderr)
        return 130
    finally:
        signal.signal(signal.SIGTERM, previous)
        store.close()
    if result.already_done:
        print(f"{path} was already backfilled ({result.lines:,} lines); nothing to do")
        return 0
    counts = result.counts
    resumed = f" (resumed at line {result.resumed_from_line + 1:,})" if result.resumed_from_line else ""
    print(f"backfilled {path}{resumed} in {time.monotonic() - started:.0f} s: {counts.new:,} new, "
          f"{counts.updated:,} updated, {counts.skipped:,} unchanged, "
          f"{result.malformed:,} malformed lines skipped")
    return 0
