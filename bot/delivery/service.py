"""The digest service: one tick for every audience (channel digests and DMs are its two kinds).

Each tick reads the due index (the next time each channel digest and each subscriber needs a look), asks the
audience what each due one gets (:class:`Send`, :class:`Skip`, :class:`Wait` or :class:`Off`), delivers the
sends through the ledger, several at once (the pace paces), and writes the next look back to the index. So a
tick with nothing due is one index probe per audience, however many subscribers are stored.

What a refusal that may pass (429, 5xx, timeout) does: the delivery retries a few times at once; if Discord
still refuses, the audience is looked at again after a backoff (1, 2, 4 … 30 minutes), until the grace
window after its slot closes; then the mailing is recorded as skipped, with why (``/digest show`` says it).
Once a day the ledger forgets finished entries older than ``[delivery] retention_days``.
"""

from __future__ import annotations

import asyncio
import collections
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Generic, Protocol, TypeVar

from bot.clock import Clock
from bot.config import Settings
from bot.delivery.sender import Deliverer, Outcome, Target
from bot.render import OutgoingMessage
from bot.store import AsyncStore, Store
from bot.store.digests import DeliveryRecord, TargetKind

log = logging.getLogger(__name__)

Item = TypeVar("Item")
T = TypeVar("T")
RECHECK = timedelta(minutes=10)  # how often a slot whose mailing is not in the store yet looks again
MAX_BACKOFF = timedelta(minutes=30)
REFRESH_LOOK = timedelta(minutes=10)  # how often a tick looks for posted digests to refresh in place
FLUSH_EVERY = 200  # due-index writes per batch (a crash re-plans at most this many, harmlessly)


@dataclass(frozen=True, slots=True)
class Send:
    """Deliver ``messages`` (None: finish the ledger's unfinished entry) for the slot at ``slot``."""

    target: Target
    messages: list[OutgoingMessage] | None
    slot: datetime
    next_look: datetime
    context: Any = None


@dataclass(frozen=True, slots=True)
class Skip:
    """Record that ``period`` will not be sent, and why."""

    period: str
    reason: str
    next_look: datetime
    guild_id: int | None = None


@dataclass(frozen=True, slots=True)
class Wait:
    """Nothing to send now; look again at ``next_look``."""

    next_look: datetime


@dataclass(frozen=True, slots=True)
class Off:
    """Nothing to send until the settings change (paused, stopped, following nothing)."""


Decision = Send | Skip | Wait | Off


async def once(cache: dict[Any, Any], key: Any, make: Callable[[], Awaitable[T]]) -> T:
    """``await make()`` once per tick for ``key``, however many deliveries ask at the same time."""
    if key not in cache:
        cache[key] = asyncio.ensure_future(make())
    found: T = await asyncio.shield(cache[key])
    return found


async def unfinished(store: AsyncStore, kind: TargetKind, target_id: int, cache: dict[Any, Any]
                     ) -> DeliveryRecord | None:
    """The target's unfinished ledger entry, if any (the set of such targets read once per tick)."""
    targets = await once(cache, ("unfinished", kind), lambda: store.run(Store.unfinished_targets, kind))
    if target_id not in targets:
        return None
    return await store.run(Store.unfinished_delivery, kind, target_id)


def next_look(slot: datetime, following: datetime, now: datetime, *, grace_hours: float, waiting: bool
              ) -> datetime:
    """When to look again after a slot: at the next slot, or — while the slot's mailing may still arrive
    (``waiting``, within the grace window) — every ``RECHECK`` until the window closes."""
    if waiting:
        closes = slot + timedelta(hours=grace_hours)
        if now < closes:
            return min(following, now + RECHECK, closes)
    return following


class AudienceBase:
    """What every audience works with."""

    def __init__(self, store: AsyncStore, deliverer: Deliverer, clock: Clock, settings: Settings) -> None:
        self.store = store
        self.deliverer = deliverer
        self.clock = clock
        self.settings = settings


class Audience(Protocol[Item]):
    """One kind of recipient (channels or DM subscribers)."""

    kind: TargetKind

    async def due(self, now: datetime, cache: dict[Any, Any]) -> Sequence[Item]:
        """The items due at ``now``; what deciding them needs from the store is read here for all of them at
        once, into the tick's ``cache`` (a few trips per tick instead of a few per item)."""
        ...

    def key(self, item: Item) -> int: ...

    async def decide(self, item: Item, now: datetime, cache: dict[Any, Any]) -> Decision: ...

    async def deliver(self, item: Item, send: Send) -> Outcome: ...

    async def refused(self, item: Item, send: Send, outcome: Outcome, now: datetime) -> datetime | None:
        """Act on a refusal for good (forbidden, gone, closed, rejected); returns the next look."""
        ...


@dataclass
class TickReport:
    """What one tick did: (kind, target id, period) per result."""

    sent: list[tuple[str, int, str]] = field(default_factory=list)
    skipped: list[tuple[str, int, str]] = field(default_factory=list)
    retrying: list[tuple[str, int, str]] = field(default_factory=list)
    refused: list[tuple[str, int, str]] = field(default_factory=list)

    def of(self, kind: str, what: str = "sent") -> list[int]:
        """The target ids of one kind with one result (tests and logs)."""
        return [target for k, target, _ in getattr(self, what) if k == kind]


class DigestService(Generic[Item]):
    """The scheduler's tick over every audience, and single deliveries for commands."""

    def __init__(self, store: AsyncStore, deliverer: Deliverer, clock: Clock, settings: Settings,
                 audiences: Sequence[Audience[Any]], *, concurrency: int = 32) -> None:
        self.store = store
        self.deliverer = deliverer
        self.clock = clock
        self.settings = settings
        self.audiences = list(audiences)
        self.concurrency = concurrency
        self._lock = asyncio.Lock()
        self._failures: collections.Counter[tuple[str, int]] = collections.Counter()
        self._pruned_on: str | None = None
        self._resumed = False
        self._refreshed_at: datetime | None = None

    def resume_unfinished(self) -> None:
        """Make the next tick finish every unfinished ledger entry first (as the first tick after a start does):
        a worker that just took over the lead resumes what the previous leader left half-sent."""
        self._resumed = False

    @property
    def grace(self) -> timedelta:
        return timedelta(hours=self.settings.digest.grace_hours)

    async def tick(self) -> TickReport:
        """One pass over what is due now, every audience in turn. Never overlaps itself."""
        report = TickReport()
        if self._lock.locked():
            return report
        async with self._lock:
            now = self.clock.now()
            await self._prune(now)
            if not self._resumed:  # the first tick finishes what a crash or shutdown interrupted
                self._resumed = True
                for audience in self.audiences:
                    await self.store.run(Store.make_due, audience.kind, unfinished=True)
            for audience in self.audiences:
                await self._round(audience, now, report)
            await self._refresh(now)
            if report.sent or report.skipped or report.retrying or report.refused:
                log.info("tick: %d sent, %d skipped, %d to retry, %d refused", len(report.sent),
                         len(report.skipped), len(report.retrying), len(report.refused))
        return report

    async def _round(self, audience: Audience[Any], now: datetime, report: TickReport) -> None:
        cache: dict[Any, Any] = {}
        items = collections.deque(await audience.due(now, cache))
        if not items:
            return
        pending: list[tuple[int, datetime | None]] = []

        async def flush() -> None:
            batch = pending[:]
            pending.clear()
            if batch:
                await self.store.run(Store.set_due, audience.kind, batch)

        async def worker() -> None:
            while items and not self.deliverer.stopping:
                item = items.popleft()
                try:
                    look = await self.one(audience, item, now, cache, report)
                except Exception:
                    log.exception("%s %s: planning or delivery failed", audience.kind, audience.key(item))
                    look = now + RECHECK
                if not isinstance(look, bool):
                    pending.append((audience.key(item), look))
                if len(pending) >= FLUSH_EVERY:
                    await flush()

        await asyncio.gather(*(worker() for _ in range(max(1, min(self.concurrency, len(items))))))
        await flush()

    async def one(self, audience: Audience[Item], item: Item, now: datetime, cache: dict[Any, Any],
                  report: TickReport) -> datetime | bool | None:
        """Decide and deliver for one due item; returns its next look (None: off; False: leave as is)."""
        decision = await audience.decide(item, now, cache)
        kind, key = audience.kind, audience.key(item)
        if isinstance(decision, Off):
            return None
        if isinstance(decision, Wait):
            return decision.next_look
        if isinstance(decision, Skip):
            await self.store.run(Store.record_skip, kind, key, decision.period, decision.reason, now,
                                 guild_id=decision.guild_id)
            log.info("%s %s: skipped the %s mailing: %s", kind, key, decision.period, decision.reason)
            report.skipped.append((kind, key, decision.period))
            return decision.next_look
        send = decision
        outcome = await audience.deliver(item, send)
        entry = (kind, key, send.target.period)
        if outcome.status in ("sent", "already", "nothing"):
            self._failures.pop((kind, key), None)
            if outcome.status == "sent":
                report.sent.append(entry)
            return send.next_look
        if outcome.status in ("interrupted", "claimed"):  # the ledger (or the claim's holder) keeps its place
            return False
        if outcome.status == "retry":
            return await self._retry_later(audience, send, outcome, now, report)
        report.refused.append(entry)
        return await audience.refused(item, send, outcome, now)

    async def _refresh(self, now: datetime) -> None:
        """Let audiences that refresh what they posted (channel digests' counts) do so, every few minutes."""
        if self._refreshed_at is not None and now - self._refreshed_at < REFRESH_LOOK:
            return
        self._refreshed_at = now
        for audience in self.audiences:
            refresh = getattr(audience, "refresh", None)
            if refresh is not None:
                edited = await refresh(now)
                if edited:
                    log.info("%s: refreshed the counts of %d posted messages", audience.kind, edited)

    async def _retry_later(self, audience: Audience[Any], send: Send, outcome: Outcome, now: datetime,
                           report: TickReport) -> datetime:
        kind, key, period = audience.kind, send.target.key_id, send.target.period
        self._failures[(kind, key)] += 1
        failures = self._failures[(kind, key)]
        backoff = min(timedelta(minutes=2 ** (failures - 1)), MAX_BACKOFF)
        at = now + backoff
        if at <= send.slot + self.grace:
            log.warning("%s %s (%s): Discord refused for now (%s); trying again at %s", kind, key, period,
                        outcome.error, at.strftime("%H:%M"))
            report.retrying.append((kind, key, period))
            return at
        reason = (f"Discord kept refusing ({outcome.error}) until the {self.grace.total_seconds() / 3600:g} h"
                  f" grace period after {send.slot:%Y-%m-%d %H:%M} UTC ran out")
        if not await self.store.run(Store.record_skip, kind, key, period, reason, now,
                                    guild_id=send.target.guild_id):
            await self.store.run(Store.finish_delivery, kind, key, period, now, "skipped", reason)
        log.warning("%s %s: gave up the %s mailing: %s", kind, key, period, reason)
        self._failures.pop((kind, key), None)
        report.skipped.append((kind, key, period))
        return send.next_look

    async def mailing_arrived(self) -> None:
        """A mailing was just stored: whoever was waiting for one (looking again every ``RECHECK``) is due."""
        soon = self.clock.now() + RECHECK
        for audience in self.audiences:
            await self.store.run(Store.make_due, audience.kind, before=soon)

    async def _prune(self, now: datetime) -> None:
        today = now.date().isoformat()
        if self._pruned_on == today:
            return
        self._pruned_on = today
        days = self.settings.delivery.retention_days
        removed = await self.store.run(Store.prune_ledger, now - timedelta(days=days))
        if removed:
            log.info("ledger: forgot %d entries finished more than %d days ago", removed, days)

    async def next_due(self) -> datetime | None:
        """The soonest look the index holds over every audience (None: nothing will be due)."""
        times = [await self.store.run(Store.next_due, a.kind) for a in self.audiences]
        return min((t for t in times if t is not None), default=None)
