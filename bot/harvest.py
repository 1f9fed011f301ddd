"""The OAI-PMH harvest: all of arXiv (or some sets of it) into the store, resumable and incremental.

Per set, each page's papers are stored together with the state after the page (its resumption token), so a
harvest stopped at any moment resumes at the first page it did not store: no record lost, none fetched twice.
A completed list leaves the latest datestamp it carried; the next run asks ``from`` that day (inclusive: the
day's records are read again, harmlessly, so nothing changed later that day is missed whatever timezone the
datestamps are in). A token arXiv no longer accepts (they expire at midnight UTC) restarts the list from the
latest datestamp stored when the list came in datestamp order (arXiv's server sorts by datestamp), else from the
list's own ``from``: records are then read again, never skipped.

Papers go through the store's upsert: one first seen in a feed gets its dates, versions, DOI and journal
reference; an older version never overwrites a newer one. Deleted records are counted and left alone.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date

import aiohttp

from bot.clock import Clock
from bot.config import Settings
from bot.errors import HotPapersError, UpstreamError
from bot.sources.oai import EARLIEST_DATESTAMP, OaiClient, OaiError, OaiPage
from bot.store import AsyncStore, HarvestState, IngestCounts, Store
from bot.taxonomy import Category, archives, canonical_category, categories, is_archive

log = logging.getLogger(__name__)

ALL = "all"  # --sets all: every record of arXiv (no set)


# ---- which sets


def set_spec(code: str) -> str:
    """The OAI set of an arXiv archive or category: ``cs`` → ``cs``, ``hep-th`` → ``physics:hep-th``,
    ``physics`` (the archive of physics.*) → ``physics:physics``, ``cs.LG`` → ``cs:cs:LG``,
    ``cond-mat.str-el`` → ``physics:cond-mat:str-el``; ``all`` → "" (all of arXiv); a spec with a colon is
    taken as written. Raises UnknownCategory."""
    text = code.strip()
    if text.lower() == ALL:
        return ""
    if ":" in text:
        return text
    canonical = canonical_category(text)
    if is_archive(canonical):
        group = {archive.code: archive.group for archive in archives()}[canonical]
        # The only archive of its group (cs, math, stat, …) is asked as the group, the set arXiv has always
        # had; an archive sharing its group (hep-th, and physics itself) as group:archive.
        siblings = [archive for archive in archives() if archive.group == group and archive.active]
        return group if len(siblings) == 1 else f"{group}:{canonical}"
    group = _category(canonical).group
    return f"{group}:{canonical.replace('.', ':')}"


def parse_sets(items: Iterable[str]) -> tuple[str, ...]:
    """Set specs of ``items`` (see :func:`set_spec`), first occurrence kept; "all" swallows the rest."""
    specs = tuple(dict.fromkeys(set_spec(item) for item in items if item.strip()))
    return ("",) if "" in specs else specs


def default_sets(followed: Sequence[str]) -> tuple[str, ...]:
    """The archives of the followed categories as sets (cs.LG, cs.CV, stat.ML → ``cs``, ``stat``)."""
    return parse_sets(code if is_archive(code) else _category(canonical_category(code)).archive
                      for code in followed)


def _category(code: str) -> Category:
    return next(category for category in categories() if category.code == code)


def describe(spec: str) -> str:
    return spec or "all of arXiv"


# ---- the harvest


@dataclass(frozen=True)
class HarvestProgress:
    """After each stored page: where the set's list stands and what this run did so far."""

    set_spec: str
    list_from: date | None
    records: int  # records of the list so far (pages stored before this run included)
    list_size: int | None  # completeListSize, when arXiv sends it
    newest: date | None
    run_records: int  # records this run fetched (all sets)
    pages: int  # pages this run fetched (all sets)
    today: date

    def fraction(self) -> float | None:
        """How much of the list is done: exact from completeListSize, else estimated from the datestamp
        reached between ``from`` and today (arXiv sends records in datestamp order); None when unknown."""
        if self.list_size:
            return min(1.0, self.records / self.list_size)
        if self.newest is None:
            return None
        start = self.list_from or EARLIEST_DATESTAMP
        span = (self.today - start).days
        return None if span <= 0 else min(1.0, max(0.0, (self.newest - start).days / span))


@dataclass
class SetReport:
    """What one run did for one set."""

    set_spec: str
    list_from: date | None
    counts: IngestCounts = field(default_factory=IngestCounts)
    records: int = 0
    deleted: int = 0
    unreadable: int = 0
    pages: int = 0
    resumed: bool = False  # continued a list an earlier run left (its token)
    restarted_from: date | None = None  # a saved token had expired; the list began again here
    restarted: bool = False
    next_from: date | None = None
    completed: bool = False


@dataclass
class HarvestReport:
    sets: list[SetReport] = field(default_factory=list)
    requests: int = 0


Progress = Callable[[HarvestProgress], None]


async def harvest(oai: OaiClient, store: AsyncStore, sets: Sequence[str], *, clock: Clock,
                  from_date: date | None = None, progress: Progress | None = None) -> HarvestReport:
    """Harvest each set in turn (``""``: all of arXiv); see the module docstring. ``from_date`` starts a new
    list from that day unless the list in progress already started there (then it is resumed)."""
    report = HarvestReport()
    requests_before = oai.requests
    try:
        for spec in sets:
            report.sets.append(SetReport(spec, None))
            await _harvest_set(oai, store, report, clock=clock, from_date=from_date, progress=progress)
    finally:
        report.requests = oai.requests - requests_before
    return report


async def _harvest_set(oai: OaiClient, store: AsyncStore, report: HarvestReport, *, clock: Clock,
                       from_date: date | None, progress: Progress | None) -> None:
    result = report.sets[-1]
    spec = result.set_spec
    state = await store.run(Store.harvest_state, spec) or HarvestState(spec)
    if state.in_progress and (from_date is None or from_date == state.list_from):
        result.resumed = True
    else:
        state = _new_list(state, from_date if from_date is not None else state.next_from)
    result.list_from = state.list_from
    # The next page is on its way while this one is stored (the store works on its own thread), so a page
    # costs max(arXiv's interval, its answer, our storing) rather than their sum.
    fetch = _fetch(oai, state)
    try:
        while True:
            try:
                page = await fetch
            except OaiError as exc:
                if exc.code != "badResumptionToken" or state.token is None:
                    raise HarvestError(f"harvest of {describe(spec)} failed: {exc}") from None
                restart = state.newest if state.ordered and state.newest else state.list_from
                log.warning("%s: arXiv no longer accepts the saved resumption token (they expire at midnight "
                            "UTC); starting the list again from %s", describe(spec), restart or "the beginning")
                state = _new_list(state, restart)
                result.restarted, result.restarted_from = True, restart
                fetch = _fetch(oai, state)
                continue
            except UpstreamError as exc:
                raise HarvestError(f"harvest of {describe(spec)} stopped: {exc}; every page received is "
                                   f"stored, so the same command continues where it stopped") from None
            after = _after_page(state, page, clock)
            if after.in_progress:
                fetch = _fetch(oai, after)
            papers = [record.paper for record in page.records if record.paper is not None]
            stored = asyncio.ensure_future(store.run(Store.store_harvest_page, papers, after))
            try:
                counts = await asyncio.shield(stored)
            except asyncio.CancelledError:
                await stored  # Ctrl-C or SIGTERM: the page in hand is stored before stopping, as promised
                raise
            result.counts.add(counts)
            result.records += len(page.records)
            result.deleted += sum(1 for record in page.records if record.deleted)
            result.unreadable += page.skipped
            result.pages += 1
            if progress is not None:
                progress(HarvestProgress(
                    spec, state.list_from, state.records + len(page.records),
                    after.list_size or state.list_size, after.newest if after.in_progress else after.next_from,
                    sum(r.records for r in report.sets), sum(r.pages for r in report.sets), clock.now().date()))
            state = after
            if not state.in_progress:
                result.completed = True
                result.next_from = state.next_from
                return
    finally:
        if not fetch.done():
            fetch.cancel()
        elif not fetch.cancelled():
            fetch.exception()  # retrieved, so a failed prefetch is not reported as never retrieved


def _fetch(oai: OaiClient, state: HarvestState) -> asyncio.Task[OaiPage]:
    """The page ``state`` points at (the first page of its list when it has no token), as a task."""
    if state.token is not None:
        return asyncio.create_task(oai.resume(state.token))
    return asyncio.create_task(oai.list_records(set_spec=state.set_spec or None, from_date=state.list_from))


def _new_list(state: HarvestState, list_from: date | None) -> HarvestState:
    return HarvestState(state.set_spec, list_from=list_from, next_from=state.next_from,
                        completed_at=state.completed_at)


def _after_page(state: HarvestState, page: OaiPage, clock: Clock) -> HarvestState:
    """The harvest state once ``page`` is stored."""
    stamps = [record.datestamp for record in page.records]
    ordered = state.ordered and stamps == sorted(stamps) and (
        not stamps or state.newest is None or stamps[0] >= state.newest)
    newest = max([*stamps, *([state.newest] if state.newest else [])], default=None)
    token = page.next_token
    if token is not None:
        list_size = page.token.complete_list_size if page.token else None
        return replace(state, token=token, records=state.records + len(page.records), newest=newest,
                       ordered=ordered, list_size=list_size or state.list_size)
    # The list is complete: the next one starts at its latest datestamp (or where this one started).
    next_from = newest or state.list_from or state.next_from
    return HarvestState(state.set_spec, next_from=next_from, completed_at=clock.now())


async def harvest_daily(settings: Settings, store: AsyncStore, clock: Clock,
                        session: aiohttp.ClientSession | None = None) -> HarvestReport | None:
    """The bot's daily run: ``[harvest] sets`` (default: the archives of ``[ingest] categories``), each from
    where it stopped; a set never harvested is brought in whole (a fresh install then finds the classics).
    None when arXiv stopped it (logged in one line; the next run continues)."""
    sets = settings.harvest.sets or default_sets(settings.ingest.categories)
    try:
        async with OaiClient(settings, session=session) as oai:
            report = await harvest(oai, store, sets, clock=clock)
    except HarvestError as exc:
        log.warning("daily %s", exc)
        return None
    for result in report.sets:
        log.info("harvested %s: %d records, %d new, %d updated; next from %s", describe(result.set_spec),
                 result.records, result.counts.new, result.counts.updated, result.next_from)
    return report


class HarvestError(HotPapersError):
    """A set could not be harvested (arXiv refused the request); the message names the set."""
