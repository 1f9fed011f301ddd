"""Refreshing engagement: when to refresh, what to ask each source, and recording what they said.

A refresh asks every enabled source about the papers of one or more mailings, mostly with bulk queries and
only a bounded set of per-paper lookups, so one 1,500-paper mailing costs each source a handful of requests:

- Hugging Face (limits undocumented, so gently): one ``daily_papers`` request per day for ``signals.hf_days``
  days from the mailing (papers are often featured days later), plus ``/papers/{id}`` for at most
  ``FALLBACK_LIMIT`` already-engaged papers the scan missed.
- Hacker News (10,000 requests/hour per IP): one ``search_by_date`` query for stories linking arxiv.org since
  the announcement (1,000 hits a page), plus ``FALLBACK_LIMIT`` per-paper searches that catch other URL forms.
- Bluesky (3,000 requests/5 min per IP; 300 sessions/day): one session, a ``domain=arxiv.org`` search sorted
  by engagement (at most 20 pages), plus ``FALLBACK_LIMIT`` per-paper ``url=`` searches.
- X (Basic: 60 searches/15 min): the papers' ids ORed into 512-character queries, engaged papers first, at
  most ``x.MAX_REQUESTS`` requests.

Each source fails soft: an error (down, rate-limited, unauthorised, unavailable, changed format, unreachable,
refused; or anything else its data provokes) ends that source's part of the refresh, keeps what it already
gathered, and is reported in the summary; the others carry on. A post with an implausible count is left out
and noted. The schedule (:func:`mailings_due`) refreshes a mailing every
``signals.fresh_interval_minutes`` for ``signals.fresh_hours`` after its announcement, then every
``signals.stale_interval_minutes`` until ``signals.max_age_days``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Literal

import aiohttp

from bot.clock import Clock
from bot.config import SOURCES, Settings
from bot.mailing import announced_at
from bot.ranking import score
from bot.sources import bluesky, hackernews, huggingface, x
from bot.sources.observations import JsonClient, Observation, Sleep, SourceError
from bot.store import AsyncStore, Store
from bot.store.signals import RefreshRecord

log = logging.getLogger(__name__)

FALLBACK_LIMIT = 30  # per-paper lookups per source and refresh, for papers already engaged elsewhere
# A story may link a paper a little before its mailing (the id is known from submission).
LOOKBACK = timedelta(days=1)
Status = Literal["ok", "partial", "failed", "off"]


def refresh_interval(now: datetime, mailing: date, settings: Settings) -> timedelta | None:
    """How often ``mailing`` should be refreshed at ``now``; None before its announcement and once too old."""
    age = now - announced_at(mailing)
    if age < timedelta(0) or age > timedelta(days=settings.signals.max_age_days):
        return None
    if age <= timedelta(hours=settings.signals.fresh_hours):
        return timedelta(minutes=settings.signals.fresh_interval_minutes)
    return timedelta(minutes=settings.signals.stale_interval_minutes)


def mailings_due(now: datetime, mailings: Iterable[date], last_refreshed: Mapping[date, datetime],
                 settings: Settings) -> list[date]:
    """The mailings whose engagement should be refreshed at ``now``, newest first."""
    due = []
    for mailing in mailings:
        interval = refresh_interval(now, mailing, settings)
        last = last_refreshed.get(mailing)
        if interval is not None and (last is None or now - last >= interval):
            due.append(mailing)
    return sorted(due, reverse=True)


def off_sources(settings: Settings) -> dict[str, str]:
    """Sources that will not be asked, each with the reason shown to the user."""
    off: dict[str, str] = {}
    if not (settings.bluesky_handle and settings.bluesky_password):
        off["bluesky"] = "no HOTPAPERS_BLUESKY_HANDLE / HOTPAPERS_BLUESKY_PASSWORD"
    if not settings.x_bearer:
        off["x"] = "no HOTPAPERS_X_BEARER"
    for source in SOURCES:
        if source not in off and settings.ranking.weights.get(source, 0.0) == 0.0:
            off[source] = "weight 0 in [ranking.weights]"
    return off


@dataclass(frozen=True, slots=True)
class RefreshPlan:
    """What one refresh asks: the papers, since when, which Hugging Face days, and the bounded per-paper
    lookups (papers already engaged, most engaged first)."""

    paper_ids: tuple[str, ...]
    since: datetime
    hf_days: tuple[date, ...]
    fallback_ids: tuple[str, ...]


def plan_refresh(mailings: Sequence[date], paper_ids: Iterable[str], engaged_ids: Sequence[str],
                 settings: Settings, now: datetime) -> RefreshPlan:
    """The refresh of ``mailings`` (their papers ``paper_ids``; ``engaged_ids`` best first) at ``now``."""
    ids = tuple(dict.fromkeys(paper_ids))
    known = set(ids)
    days = sorted({mailing + timedelta(days=offset) for mailing in mailings
                   for offset in range(settings.signals.hf_days)
                   if mailing + timedelta(days=offset) <= now.date()})
    since = min((announced_at(m) for m in mailings), default=now) - LOOKBACK
    fallbacks = tuple(paper_id for paper_id in engaged_ids if paper_id in known)[:FALLBACK_LIMIT]
    return RefreshPlan(ids, since, tuple(days), fallbacks)


@dataclass
class SourceReport:
    """One source's part of a refresh: papers covered by its queries, papers it found engagement for,
    requests made, errors met (one line each), or why it was off."""

    source: str
    status: Status = "ok"
    queried: int = 0
    matched: int = 0
    requests: int = 0
    errors: list[str] = field(default_factory=list)
    off_reason: str | None = None


@dataclass
class Refresh:
    observed_at: datetime
    plan: RefreshPlan
    observations: list[Observation]
    reports: dict[str, SourceReport]


async def _hf(client: JsonClient, plan: RefreshPlan, now: datetime, found: list[Observation],
              report: SourceReport, settings: Settings) -> None:
    source = huggingface.HuggingFaceClient(client, settings.hf_api)
    report.queried = len(plan.paper_ids)
    for day in plan.hf_days:
        found.extend(await source.daily_papers(day, now))
    seen = {paper_id for o in found for paper_id in o.paper_ids}
    for paper_id in plan.fallback_ids:
        if paper_id not in seen:
            observation = await source.paper(paper_id, now)
            if observation is not None:
                found.append(observation)


async def _hn(client: JsonClient, plan: RefreshPlan, now: datetime, found: list[Observation],
              report: SourceReport, settings: Settings) -> None:
    source = hackernews.HackerNewsClient(client, settings.hn_api)
    report.queried = len(plan.paper_ids)
    found.extend(await source.stories_since(plan.since, now))
    for paper_id in plan.fallback_ids:
        found.extend(await source.stories_of(paper_id, now))


async def _bluesky(client: JsonClient, plan: RefreshPlan, now: datetime, found: list[Observation],
                   report: SourceReport, settings: Settings) -> None:
    assert settings.bluesky_handle and settings.bluesky_password
    source = bluesky.BlueskyClient(client, settings.bluesky_api, settings.bluesky_handle,
                                   settings.bluesky_password)
    report.queried = len(plan.paper_ids)
    await source.login()
    found.extend(await source.posts_since(plan.since, now))
    seen = {paper_id for o in found for paper_id in o.paper_ids}
    for paper_id in plan.fallback_ids:
        if paper_id not in seen:
            found.extend(await source.posts_of(paper_id, plan.since, now))


async def _x(client: JsonClient, plan: RefreshPlan, now: datetime, found: list[Observation],
             report: SourceReport, settings: Settings) -> None:
    assert settings.x_bearer
    source = x.XClient(client, settings.x_api, settings.x_bearer)
    # Recent search covers seven days; ask a little less so a slow clock never makes the request invalid.
    since = max(plan.since, now - timedelta(days=7) + timedelta(minutes=5))
    engaged = set(plan.fallback_ids)
    rest = [p for p in plan.paper_ids if p not in engaged]
    # Papers past the request budget wait for a later refresh: rotating the order hourly reaches them all.
    shift = (int(now.timestamp()) // 3600 * 997) % len(rest) if rest else 0
    ordered = [*plan.fallback_ids, *rest[shift:], *rest[:shift]]
    for ids, query in x.build_queries(ordered):
        budget = x.MAX_REQUESTS - client.requests
        if budget <= 0:
            report.errors.append(f"request budget of {x.MAX_REQUESTS} reached: "
                                 f"{len(plan.paper_ids) - report.queried} papers not asked this time")
            break
        found.extend(await source.search(query, since, now, max_requests=budget))
        report.queried += len(ids)


_GATHERERS = {"hf": _hf, "hn": _hn, "bluesky": _bluesky, "x": _x}


async def collect(plan: RefreshPlan, settings: Settings, clock: Clock, *,
                  session: aiohttp.ClientSession | None = None, sleep: Sleep = asyncio.sleep,
                  deadline: float | None = None) -> Refresh:
    """Ask every enabled source (concurrently; each one's requests in turn) and report on each.
    ``deadline`` bounds each request's retries (a person waiting on ``hotpapers signals``)."""
    now = clock.now()
    off = off_sources(settings)
    reports = {source: SourceReport(source, "off", off_reason=off[source]) if source in off
               else SourceReport(source) for source in SOURCES}
    owned = session is None
    http = session or aiohttp.ClientSession()
    try:
        results = await asyncio.gather(*(
            _gather(source, JsonClient(http, clock, sleep=sleep, service=source, deadline=deadline,
                                       max_body=settings.http.max_body), plan, now, reports[source], settings)
            for source in SOURCES if source not in off))
    finally:
        if owned:
            await http.close()
    wanted = set(plan.paper_ids)
    observations = []
    for found in results:
        unique = {(o.source, o.post_id): o for o in found}  # a post seen twice in one refresh counts once
        mine = [o for o in unique.values() if wanted.intersection(o.paper_ids)]
        observations.extend(mine)
        if mine:
            reports[mine[0].source].matched = len(wanted.intersection(p for o in mine for p in o.paper_ids))
    return Refresh(now, plan, observations, reports)


async def _gather(source: str, client: JsonClient, plan: RefreshPlan, now: datetime, report: SourceReport,
                  settings: Settings) -> list[Observation]:
    found: list[Observation] = []
    try:
        await _GATHERERS[source](client, plan, now, found, report, settings)
    except SourceError as exc:
        log.warning("%s: %s", source, exc)
        report.errors.append(str(exc))
        report.status = "partial" if found else "failed"
    except Exception as exc:  # outside data must never take the other sources down with it
        log.warning("%s: failed on what it sent: %s: %s", source, type(exc).__name__, exc)
        log.debug("%s: the failure in full", source, exc_info=True)
        report.errors.append(f"failed: {type(exc).__name__}: {exc}"[:300])
        report.status = "partial" if found else "failed"
    if client.dropped:
        report.errors.append(f"{len(client.dropped)} post(s) left out for an implausible count: "
                             f"{client.dropped[0]}")
    report.requests = client.requests
    return found


def save(store: Store, refresh: Refresh) -> int:
    """Record the refresh's observations (its papers only) and each source's report; returns rows written."""
    written = store.record_observations(refresh.observations, refresh.plan.paper_ids)
    store.record_posts(refresh.observations, refresh.plan.paper_ids)
    for report in refresh.reports.values():
        store.record_signal_refresh(RefreshRecord(
            refresh.observed_at, report.source, report.status, report.queried, report.matched,
            report.requests, tuple(report.errors) or ((report.off_reason,) if report.off_reason else ())))
    return written


def engaged_papers(store: Store, paper_ids: Sequence[str], settings: Settings, now: datetime) -> list[str]:
    """Papers with engagement already stored, most engaged first (the candidates for per-paper lookups)."""
    signals = store.latest_signals(paper_ids, now)
    weights = settings.ranking.weights
    return sorted(signals, key=lambda paper_id: (-score(signals[paper_id], weights), paper_id))


def prepare_refresh(store: Store, mailings: Sequence[date], settings: Settings, now: datetime) -> RefreshPlan:
    """The plan for refreshing ``mailings`` at ``now``, from what the store holds."""
    paper_ids = [paper.id for mailing in mailings for paper in store.mailing_papers(mailing)]
    return plan_refresh(mailings, paper_ids, engaged_papers(store, paper_ids, settings, now), settings, now)


async def refresh_mailings(store: Store, mailings: Sequence[date], settings: Settings, clock: Clock, *,
                           session: aiohttp.ClientSession | None = None, sleep: Sleep = asyncio.sleep,
                           deadline: float | None = None) -> Refresh:
    """Refresh the engagement of ``mailings`` now and store it (``hotpapers signals``)."""
    plan = prepare_refresh(store, mailings, settings, clock.now())
    refresh = await collect(plan, settings, clock, session=session, sleep=sleep, deadline=deadline)
    save(store, refresh)
    return refresh


async def refresh_mailings_async(store: AsyncStore, mailings: Sequence[date], settings: Settings,
                                 clock: Clock, *, session: aiohttp.ClientSession | None = None) -> Refresh:
    """The same for the bot: store work on the store's thread, HTTP on the event loop."""
    plan = await store.run(prepare_refresh, mailings, settings, clock.now())
    refresh = await collect(plan, settings, clock, session=session)
    await store.run(save, refresh)
    return refresh
