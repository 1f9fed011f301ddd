"""When things run: APScheduler 3 (``AsyncIOScheduler``, memory job store); the store is the source of truth.

Jobs are rebuilt at every start and are module-level functions taking a plain id (the runtime's name), so they
could move to a persistent job store unchanged. :func:`jobs` is the one list of them, each tagged with the roles
whose process runs it (``bot.cluster``): every job runs in a single bot (``all``) and in the leading worker of a
cluster; a gateway runs none, and a worker that does not lead skips them until it does (``Runtime.leading``).
Three kinds of job:

- the **tick** (every ``tick_seconds``): the digest service (``bot.delivery``) sends what the due index says
  is due, channel digests and DMs alike. What is due is decided from the bot's clock, never from when the job
  fired, so a late, doubled or coalesced tick is harmless. Other features may register their own ticks with
  :meth:`register_tick`. A shutdown during a tick ends it quietly at its next checkpoint.
- **ingestion** at each of ``[ingest] times`` in ``[ingest] timezone`` (after the feeds rebuild), followed
  by a signal refresh and a tick;
- **signal refresh** every ``[signals] fresh_interval_minutes``, for the mailings ``bot.engagement`` says
  are due.

Tests move time instead of waiting: in-process they call :meth:`Scheduler.tick_now` after moving a
``ManualClock``; a bot in its own process watches its ``FileClock`` (a cheap ``stat`` every ``poll_seconds``)
and ticks as soon as a test moves it.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import aiohttp

from bot import engagement
from bot.clock import Clock, FileClock
from bot.config import Settings
from bot.delivery import DigestService, TickReport
from bot.errors import UpstreamError
from bot.harvest import harvest_daily
from bot.ingest import ingest_latest
from bot.sources.arxiv import ArxivClient
from bot.store import AsyncStore, Store

log = logging.getLogger(__name__)

Tick = Callable[[], Awaitable[Any]]
# arXiv down at start: try again after 1, 2, 5, 10, 20 and then every 30 minutes, not at tomorrow's ingest.
CATCH_UP_RETRY_DELAYS = (60.0, 120.0, 300.0, 600.0, 1200.0, 1800.0)


@dataclass
class Runtime:
    """What the jobs need, registered under a plain id."""

    settings: Settings
    clock: Clock
    store: AsyncStore
    digests: DigestService[Any]
    session: aiohttp.ClientSession | None = None
    ready: Callable[[], bool] = lambda: True  # Discord can be sent to
    leading: Callable[[], bool] = lambda: True  # this process runs the jobs (a worker: while it leads)
    extra_ticks: dict[str, Tick] = field(default_factory=dict)
    last_refreshed: dict[date, datetime] = field(default_factory=dict)
    tick_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    last_report: TickReport | None = None


_RUNTIMES: dict[str, Runtime] = {}
LEADERS = frozenset({"all", "worker"})  # the roles that run jobs (a worker only while it leads)


def runtime(runtime_id: str) -> Runtime:
    return _RUNTIMES[runtime_id]


def _leading(runtime_id: str) -> Runtime | None:
    """The runtime, if this process runs the jobs now."""
    rt = _RUNTIMES.get(runtime_id)
    return rt if rt is not None and rt.leading() else None


# ---- job functions (module level, plain arguments) ---------------------------------------------------------


async def tick_job(runtime_id: str, first: Tick | None = None) -> TickReport | None:
    """Send what is due (channel digests and DMs), then run every registered tick."""
    try:
        return await _tick(runtime_id, first)
    except asyncio.CancelledError:
        # Shutting down (SIGTERM): the ledger knows where each delivery stopped and the next start resumes
        # it. Returning (not re-raising) keeps APScheduler from logging the cancellation as a job error.
        log.info("tick interrupted by shutdown; the next start resumes it")
        return None


async def _tick(runtime_id: str, first: Tick | None = None) -> TickReport | None:
    rt = _leading(runtime_id)
    if rt is None or not rt.ready():
        return None
    async with rt.tick_lock:
        if first is not None:  # work that must come before this tick, e.g. forgetting servers at start
            try:
                await first()
            except Exception:
                log.exception("the work before the tick failed; ticking anyway")
        log.debug("tick at %s", rt.clock.now().isoformat())
        report = await rt.digests.tick()
        rt.last_report = report
        for name, extra in list(rt.extra_ticks.items()):
            try:
                log.debug("tick %r", name)
                await extra()
            except Exception:
                log.exception("tick %r failed", name)
        return report


async def ingest_job(runtime_id: str) -> bool:
    """Fetch the latest mailing of the followed categories, then refresh signals and tick; False if arXiv
    could not be read."""
    rt = _leading(runtime_id)
    if rt is None:
        return False
    try:
        async with ArxivClient(rt.settings, session=rt.session) as client:
            report = await ingest_latest(client, rt.store, rt.settings.ingest.categories, now=rt.clock.now())
        totals = report.totals
        log.info("ingested %s: %d new, %d updated, %d cross-listed", ", ".join(map(str, report.mailings)),
                 totals.new, totals.updated, totals.cross_listed)
    except UpstreamError as exc:
        log.error("ingestion failed: %s", exc)  # one line: arXiv's state, not a bug
        return False
    except Exception:
        log.exception("ingestion failed; the next scheduled run will try again")
        return False
    if totals.new or totals.cross_listed:
        await rt.digests.mailing_arrived()
    await signals_job(runtime_id)
    await tick_job(runtime_id)
    return True


async def harvest_job(runtime_id: str) -> None:
    """The daily OAI-PMH harvest (bot.harvest): new and changed papers of the followed archives."""
    rt = _leading(runtime_id)
    if rt is None:
        return
    try:
        await harvest_daily(rt.settings, rt.store, rt.clock, rt.session)
    except Exception:
        log.exception("the daily harvest failed; the next run continues where it stopped")


async def signals_job(runtime_id: str) -> None:
    """Refresh engagement for the mailings whose refresh is due (most often in the hours after a mailing)."""
    rt = _leading(runtime_id)
    if rt is None:
        return
    now = rt.clock.now()
    try:
        since = (now - timedelta(days=rt.settings.signals.max_age_days + 1)).date()
        mailings = await rt.store.run(Store.mailings, since=since)
        due = engagement.mailings_due(now, mailings, rt.last_refreshed, rt.settings)
        if not due:
            return
        await engagement.refresh_mailings_async(rt.store, due, rt.settings, rt.clock, session=rt.session)
        for mailing in due:
            rt.last_refreshed[mailing] = now
        log.info("refreshed engagement of %s", ", ".join(m.isoformat() for m in due))
    except Exception:
        log.exception("signal refresh failed; the next scheduled run will try again")


# ---- the one list of jobs ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Job:
    """A scheduled job: its id, the module-level function (taking the runtime id), when it fires, and the roles
    whose process runs it."""

    id: str
    function: Callable[[str], Awaitable[Any]]
    trigger: Any
    roles: frozenset[str]


def jobs(settings: Settings, tick_seconds: float) -> list[Job]:
    """Every scheduled job, from the settings."""
    from apscheduler.triggers.cron import CronTrigger
    from apscheduler.triggers.interval import IntervalTrigger

    found = [Job("tick", tick_job, IntervalTrigger(seconds=tick_seconds), LEADERS)]
    for hhmm in settings.ingest.times:
        hour, minute = (int(part) for part in hhmm.split(":"))
        trigger = CronTrigger(hour=hour, minute=minute, timezone=settings.ingest.timezone)
        found.append(Job(f"ingest-{hhmm}", ingest_job, trigger, LEADERS))
    found.append(Job("signals", signals_job, IntervalTrigger(minutes=settings.signals.fresh_interval_minutes),
                     LEADERS))
    if settings.harvest.time != "off":  # after the mailing is on OAI-PMH (~22:30 ET) and the ingests
        hour, minute = (int(part) for part in settings.harvest.time.split(":"))
        trigger = CronTrigger(hour=hour, minute=minute, timezone=settings.ingest.timezone)
        found.append(Job("harvest", harvest_job, trigger, LEADERS))
    return found


# ---- the scheduler -----------------------------------------------------------------------------------------


class Scheduler:
    """Owns the APScheduler instance and the clock watcher of one bot."""

    def __init__(self, rt: Runtime, *, runtime_id: str = "bot", tick_seconds: float = 30.0,
                 poll_seconds: float = 0.2, role: str = "all") -> None:
        self.runtime = rt
        self.role = role
        self.runtime_id = runtime_id
        self.tick_seconds = tick_seconds
        self.poll_seconds = poll_seconds
        self._scheduler: Any = None
        self._watcher: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._running = False

    def register_tick(self, name: str, tick: Tick) -> None:
        """Run ``tick`` after the channel digests on every tick (e.g. DM digests)."""
        self.runtime.extra_ticks[name] = tick

    def unregister_tick(self, name: str) -> None:
        self.runtime.extra_ticks.pop(name, None)

    def start(self) -> None:
        """Build this role's jobs (inside the running event loop) and start ticking."""
        from apscheduler.schedulers.asyncio import AsyncIOScheduler

        _RUNTIMES[self.runtime_id] = self.runtime
        settings = self.runtime.settings
        scheduler = AsyncIOScheduler(timezone=UTC, job_defaults={
            "coalesce": True, "max_instances": 1,
            # A late job still runs; what it does is decided from the clock and the ledger.
            "misfire_grace_time": int(settings.digest.grace_hours * 3600) or 60,
        })
        mine = [job for job in jobs(settings, self.tick_seconds) if self.role in job.roles]
        for job in mine:
            scheduler.add_job(job.function, job.trigger, args=[self.runtime_id], id=job.id, replace_existing=True)
        scheduler.start()
        self._scheduler = scheduler
        self._running = True
        if not mine:
            log.info("scheduler: no jobs in role %s", self.role)
            return
        if isinstance(self.runtime.clock, FileClock):
            self._watcher = asyncio.create_task(self._watch_clock(self.runtime.clock), name="clock-watcher")
        log.info("scheduler started: tick every %gs, ingest at %s %s, signals every %d min",
                 self.tick_seconds, ", ".join(settings.ingest.times), settings.ingest.timezone,
                 settings.signals.fresh_interval_minutes)

    def tick_soon(self, first: Tick | None = None) -> None:
        """Tick now, in the background (at start, when the bot is ready, when a test moves the clock); run
        ``first`` just before, holding the tick's turn."""
        if not self._running:
            return
        task = asyncio.create_task(tick_job(self.runtime_id, first), name="tick")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def catch_up_soon(self, stale_after: timedelta = timedelta(days=4),
                      retry_delays: tuple[float, ...] = CATCH_UP_RETRY_DELAYS) -> None:
        """At start: when the store holds no mailing of the followed categories from the last ``stale_after``
        (a fresh install, or a bot that was off for days), ingest now rather than at the next
        ``[ingest] times``, so the first digest need not wait for tomorrow. If arXiv cannot be read, try
        again after each of ``retry_delays`` seconds (the last one repeating) until a mailing is stored."""
        if not self._running:
            return
        task = asyncio.create_task(self._catch_up(stale_after, retry_delays), name="catch-up ingest")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _catch_up(self, stale_after: timedelta, retry_delays: tuple[float, ...]) -> None:
        rt = self.runtime
        categories = list(rt.settings.ingest.categories)
        for attempt in itertools.count():
            latest = await rt.store.run(Store.latest_mailing, categories)
            if latest is not None and latest >= (rt.clock.now() - stale_after).date():
                return
            log.info("the newest stored mailing of %s is %s: ingesting now", ", ".join(categories),
                     latest or "none")
            if await ingest_job(self.runtime_id):
                return
            delay = retry_delays[min(attempt, len(retry_delays) - 1)]
            log.warning("catch-up ingest failed; trying again in %s", f"{delay / 60:g} min" if delay >= 60
                        else f"{delay:g} s")
            resume = asyncio.get_running_loop().time() + delay
            while self._running and (left := resume - asyncio.get_running_loop().time()) > 0:  # noqa: ASYNC110
                await asyncio.sleep(min(left, 1.0))  # a shutdown need not wait out the delay
            if not self._running:
                return

    async def tick_now(self) -> TickReport | None:
        """Tick and wait for it (tests, after moving a ManualClock)."""
        return await tick_job(self.runtime_id)

    async def _watch_clock(self, clock: FileClock) -> None:
        # Compare instants rather than trust changed(): a tick reading the clock may see the change first.
        seen = clock.now()
        while True:
            await asyncio.sleep(self.poll_seconds)
            current = clock.now()
            if current != seen:
                seen = current
                log.info("test clock moved to %s", current.isoformat())
                self.tick_soon()

    async def shutdown(self, within: float = 10.0) -> None:
        """Stop taking work: no new jobs; wait up to ``within`` seconds for a running tick to checkpoint."""
        self._running = False
        if self._scheduler is not None:
            self._scheduler.shutdown(wait=False)
            self._scheduler = None
        if self._watcher is not None:
            self._watcher.cancel()
            self._watcher = None
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=within)
        _RUNTIMES.pop(self.runtime_id, None)
