"""DM digests: each subscriber's matching papers, once per mailing (or week), through the shared ledger.

Every tick: finish DMs a crash interrupted, then for each subscriber whose slot has come
(``bot.subscriptions``) build one message from the mailing's papers ranked by engagement (no minimum
score), and hand it to the channel digests' :class:`~bot.delivery.Deliverer` as a target of kind ``dm``:
DMs share the ledger (never twice) and the pacer (under the token's 50 requests/s) with channel digests.
A user's DM channel id is kept after the first DM, so a DM costs one request. A user whose DMs are closed
(50007) is paused, and told the next time they use a command. Nothing matching: a skip, no DM.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import discord
from discord.utils import MISSING

from bot import ranking, render
from bot.clock import Clock
from bot.config import Settings
from bot.delivery import CANNOT_DM, Deliverer, Outcome, Target
from bot.models import Paper, PostContext, RankedPaper
from bot.render import OutgoingMessage
from bot.store import AsyncStore, Store
from bot.subscriptions import DmDigest, DueDm, MailingIndex, Schedule, Subscriber, due_dm, plan_dm

log = logging.getLogger(__name__)

CLOSED_NOTICE = ("I could not send you your Hot Papers DM: Discord says your DMs are closed to me. I paused "
                 "your subscription; allow DMs from server members (or from me), then run "
                 "`/subscriptions resume`.")
LOOKBACK_DAYS = 10


def dm_messages(dm: DmDigest, context: PostContext | None = None) -> list[OutgoingMessage]:
    """The one DM (rendered by :func:`bot.render.dm_messages`)."""
    return render.dm_messages(dm, context)


@dataclass
class DmTickReport:
    sent: list[int] = field(default_factory=list)
    skipped: list[int] = field(default_factory=list)  # nothing matched
    closed: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    resumed: list[int] = field(default_factory=list)


def _ranked_all(papers: Sequence[Paper], ranked: Sequence[RankedPaper]) -> list[RankedPaper]:
    """Every paper, engaged ones by score then the rest (score 0): DMs have no minimum score."""
    seen = {r.paper.id for r in ranked}
    rest = [RankedPaper(p, 0, 0.0, {}) for p in papers if p.id not in seen]
    return [*ranked, *rest]


class DmDigests:
    """The DM digest service: the scheduler's DM tick and ``/subscriptions test``."""

    def __init__(self, client: discord.Client, store: AsyncStore, deliverer: Deliverer, clock: Clock,
                 settings: Settings, *, concurrency: int = 16) -> None:
        self.client = client
        self.store = store
        self.deliverer = deliverer
        self.clock = clock
        self.settings = settings
        self.concurrency = concurrency
        self._lock = asyncio.Lock()
        self.last_report: DmTickReport | None = None

    @property
    def default_schedule(self) -> Schedule:
        subs = self.settings.subscriptions
        return Schedule(subs.default_time, subs.default_timezone, "daily")

    async def _index(self, mailings: Sequence[date], now: datetime,
                     cache: dict[tuple[date, ...], MailingIndex]) -> MailingIndex:
        key = tuple(mailings)
        if key not in cache:
            papers = []
            for mailing in mailings:
                papers += await self.store.run(Store.mailing_papers, mailing, None)
            signals = await self.store.run(Store.latest_signals, [p.id for p in papers], now)
            ranked = ranking.rank(papers, signals, self.settings.ranking.weights, 0.0)
            cache[key] = MailingIndex(_ranked_all(papers, ranked))
        return cache[key]

    async def tick(self) -> DmTickReport:
        """Resume interrupted DMs, then send every DM due now. Never overlaps itself."""
        report = DmTickReport()
        if self._lock.locked():
            return report
        async with self._lock:
            now = self.clock.now()
            subscribers = {s.user_id: s for s in await self.store.run(Store.subscribers)}
            for record in await self.store.run(Store.unfinished_deliveries, "dm"):
                subscriber = subscribers.get(record.target_id)
                if subscriber is None:  # paused or gone since: leave it be
                    continue
                outcome = await self._deliver(subscriber, record.period, None)
                (report.resumed if outcome.status in ("sent", "already") else report.failed).append(
                    record.target_id)
            mailings = await self.store.run(Store.mailings, since=now.date() - timedelta(days=LOOKBACK_DAYS))
            due = [d for s in subscribers.values()
                   if (d := due_dm(s, mailings, now, min_age_hours=self.settings.digest.min_age_hours,
                                   grace_hours=self.settings.digest.grace_hours)) is not None]
            cache: dict[tuple[date, ...], MailingIndex] = {}
            queue: asyncio.Queue[DueDm] = asyncio.Queue()
            for item in due:
                queue.put_nowait(item)

            async def worker() -> None:
                while not queue.empty() and not self.deliverer.stopping:
                    item = queue.get_nowait()
                    try:
                        await self._one(subscribers[item.user_id], item, now, cache, report)
                    except Exception:
                        log.exception("DM digest for user %s failed", item.user_id)
                        report.failed.append(item.user_id)

            await asyncio.gather(*(worker() for _ in range(max(1, min(self.concurrency, len(due))))))
            self.last_report = report
            if report.sent or report.closed or report.failed:
                log.info("DM digests: %d sent, %d with nothing matching, %d closed, %d failed",
                         len(report.sent), len(report.skipped), len(report.closed), len(report.failed))
        return report

    async def _one(self, subscriber: Subscriber, item: DueDm, now: datetime,
                   cache: dict[tuple[date, ...], MailingIndex], report: DmTickReport) -> None:
        period = item.key.isoformat()
        index = await self._index(item.mailings, now, cache)
        dm = plan_dm(subscriber.user_id, item.mailings, subscriber.follows, index,
                     self.settings.subscriptions.dm_cap)
        if dm is None:
            await self.store.run(Store.record_skip, "dm", subscriber.user_id, period, "nothing matched", now)
            report.skipped.append(subscriber.user_id)
            return
        context = await self.store.run(Store.post_context, [m.ranked.paper.id for m in dm.papers], now)
        outcome = await self._deliver(subscriber, period, dm_messages(dm, context))
        if outcome.status in ("sent", "already"):
            report.sent.append(subscriber.user_id)
        elif outcome.status == "closed":
            report.closed.append(subscriber.user_id)
        else:
            report.failed.append(subscriber.user_id)

    async def _dm_channel(self, subscriber: Subscriber) -> int:
        if subscriber.dm_channel_id is not None:
            return subscriber.dm_channel_id
        await self.deliverer.pacer.acquire()
        data = await self.client.http.start_private_message(subscriber.user_id)
        channel_id = int(data["id"])
        await self.store.run(Store.set_dm_channel, subscriber.user_id, channel_id)
        return channel_id

    async def _deliver(self, subscriber: Subscriber, period: str, messages: list[OutgoingMessage] | None
                       ) -> Outcome:
        now = self.clock.now()
        try:
            channel_id = await self._dm_channel(subscriber)
        except discord.HTTPException as exc:
            if exc.code == CANNOT_DM or isinstance(exc, discord.Forbidden):
                await self._closed(subscriber.user_id, period, now)
                return Outcome("closed", code=exc.code)
            return Outcome("retry", code=exc.code, error=str(exc))
        outcome = await self.deliverer.deliver(Target.dm(subscriber.user_id, channel_id, period), messages)
        if outcome.status == "closed":
            await self._closed(subscriber.user_id, period, now)
        elif outcome.status == "gone":  # the stored DM channel is gone: open a new one next tick
            await self.store.run(Store.set_dm_channel, subscriber.user_id, None)
        elif outcome.status == "forbidden":
            await self.store.run(Store.finish_delivery, "dm", subscriber.user_id, period, now, "failed",
                                 outcome.error)
        return outcome

    async def _closed(self, user_id: int, period: str, now: datetime) -> None:
        log.info("user %s has DMs closed: subscription paused", user_id)
        await self.store.run(Store.set_paused, user_id, True, default=self.default_schedule, now=now,
                             reason="your DMs were closed to the bot", notice=CLOSED_NOTICE)
        if await self.store.run(Store.delivery, "dm", user_id, period) is not None:
            await self.store.run(Store.finish_delivery, "dm", user_id, period, now, "failed", "DMs closed")
        else:
            await self.store.run(Store.record_skip, "dm", user_id, period, "DMs closed", now)

    async def preview(self, user_id: int) -> DmDigest | None:
        """The DM the user would get now: their follows over the newest mailing, ignoring time and ledger."""
        follows = await self.store.run(Store.follows, user_id)
        mailing = await self.store.run(Store.latest_mailing, None)
        if not follows or mailing is None:
            return None
        index = await self._index([mailing], self.clock.now(), {})
        return plan_dm(user_id, [mailing], follows, index, self.settings.subscriptions.dm_cap)

    async def send_test(self, user_id: int) -> tuple[str, DmDigest | None]:
        """Send the preview DM now (outside the ledger: a test is not the day's DM). Returns what happened:
        ``sent``, ``nothing`` (no follow or no match) or ``closed``."""
        dm = await self.preview(user_id)
        if dm is None:
            return "nothing", None
        record = await self.store.run(Store.user, user_id)
        subscriber = Subscriber(user_id, self.default_schedule, dm.follows, self.clock.now(),
                                record.dm_channel_id if record else None)
        try:
            channel_id = await self._dm_channel(subscriber)
            context = await self.store.run(Store.post_context, [m.ranked.paper.id for m in dm.papers],
                                           self.clock.now())
            message = dm_messages(dm, context)[0]
            await self.deliverer.pacer.acquire()
            await self.client.get_partial_messageable(channel_id).send(
                content=message.content, embeds=list(message.embeds), view=message.view() or MISSING)
        except discord.Forbidden as exc:
            if exc.code == CANNOT_DM:
                return "closed", dm
            raise
        return "sent", dm
