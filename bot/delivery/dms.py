"""DM digests as an audience of the digest service: each subscriber's matching papers, once per mailing (or
week), at their own time (``bot.subscriptions`` decides when and what).

A user's DM channel is opened on their first DM (one more request: a first DM costs two) and kept, so later
DMs cost one. A user whose DMs are closed (50007) is paused, and told the next time they use a command.
Nothing matching and no follow-up notice: a skip, no DM. Follow-ups on the user's saved and voted papers
(:mod:`bot.followups`) come as one more message of the DM, each told once. ``/subscriptions test`` sends the
same DM at once, marked as a test: it goes through the same sender (paced, retried, in the ledger under its
own kind) and does not count as the day's DM, which still comes at the user's time.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any, Literal

from bot import digest as rules
from bot import followups, ranking
from bot.delivery.rest import Refused, RetryLater
from bot.delivery.sender import CANNOT_DM, Outcome, Target
from bot.delivery.service import AudienceBase, Decision, Off, Send, Skip, Wait, next_look, once, unfinished
from bot.models import Notice, Paper, PostContext
from bot.render import OutgoingMessage, dm_messages, followups_message
from bot.store import Store
from bot.store.digests import TargetKind
from bot.subscriptions import DmPlan, MailingIndex, Schedule, Subscriber, due_dm, last_slot, next_dm_slot, plan_dm

log = logging.getLogger(__name__)

CLOSED_NOTICE = ("I could not send you your Hot Papers DM: Discord says your DMs are closed to me. I paused "
                 "your subscription; allow DMs from server members (or from me), then run "
                 "`/subscriptions resume`.")
LOOKBACK_DAYS = 10


class DmAudience(AudienceBase):
    """Subscribers, each with their own schedule."""

    kind: TargetKind = "dm"

    @property
    def default_schedule(self) -> Schedule:
        subs = self.settings.subscriptions
        return Schedule(subs.default_time, subs.default_timezone, "daily")

    def key(self, item: Subscriber) -> int:
        return item.user_id

    async def due(self, now: datetime, cache: dict[Any, Any]) -> Sequence[Subscriber]:
        due = await self.store.run(Store.due_subscribers, now)
        if due:
            cache["followups"] = await self.store.run(Store.with_followups, [sub.user_id for sub in due])
        return due

    async def index(self, mailings: Sequence[date], now: datetime, cache: dict[Any, Any]) -> MailingIndex:
        """The mailings' papers, every one (DMs have no minimum score), hottest first, indexed for matching;
        built once per set of mailings however many users ask at once."""
        async def build() -> MailingIndex:
            ranked = []
            for mailing in mailings:
                day = await self.store.run(ranking.rank_mailing, mailing, None, self.settings.ranking.weights,
                                           now)
                ranked += day.everything()
            return MailingIndex(ranked)
        return await once(cache, ("index", tuple(mailings)), build)

    async def context(self, mailings: Sequence[date], now: datetime, cache: dict[Any, Any]) -> PostContext:
        """What the posts say about every paper of the mailings (one trip per set of mailings, not per DM)."""
        async def read() -> PostContext:
            index = await self.index(mailings, now, cache)
            return await self.store.run(Store.post_context, [r.paper.id for r in index.papers], now)
        return await once(cache, ("context", tuple(mailings)), read)

    async def followups(self, sub: Subscriber, now: datetime, cache: dict[Any, Any]
                        ) -> list[tuple[Notice, Paper]]:
        """The user's follow-up notices for this DM; none without a trip for a user :meth:`due` found with no
        watched paper and no untold notice."""
        if "followups" in cache and sub.user_id not in cache["followups"]:
            return []
        return await self.store.run(followups.for_dm, now, sub.user_id)

    async def decide(self, sub: Subscriber, now: datetime, cache: dict[Any, Any]) -> Decision:
        if sub.paused or not any(not follow.exclude for follow in sub.follows):
            return Off()
        following = next_dm_slot(sub.schedule, now)
        record = await unfinished(self.store, "dm", sub.user_id, cache)
        if record is not None:  # finish it (through a new DM channel if the stored one is gone)
            return Send(Target.dm(sub.user_id, sub.dm_channel_id or 0, record.period), None, record.created_at,
                        following)
        mailings = await once(cache, "mailings", lambda: self.store.run(
            Store.mailings, since=now.date() - timedelta(days=LOOKBACK_DAYS)))
        digest_settings = self.settings.digest
        due = due_dm(sub, mailings, now, min_age_hours=digest_settings.min_age_hours,
                     grace_hours=digest_settings.grace_hours)
        if due is None:
            slot = last_slot(sub.schedule, now)
            newest = rules.newest_mailing_allowed(slot, digest_settings.min_age_hours)
            waiting = slot >= sub.created_at and max(mailings, default=date.min) < newest and (
                sub.last_mailing is None or sub.last_mailing < newest)
            return Wait(next_look(slot, following, now, grace_hours=digest_settings.grace_hours,
                                  waiting=waiting))
        period = due.key.isoformat()

        async def plan() -> list[OutgoingMessage] | None:  # users following the same things share one DM
            dm = plan_dm(sub.user_id, due.mailings, sub.follows, await self.index(due.mailings, now, cache),
                         self.settings.subscriptions.dm_cap)
            if dm is None:
                return None
            context = await self.context(due.mailings, now, cache)
            return dm_messages(dm, context.only(m.ranked.paper.id for m in dm.papers))
        follows = tuple((f.kind, f.value) for f in sub.follows)
        messages = list(await once(cache, ("dm", due.mailings, follows), plan) or ())
        notices = await self.followups(sub, now, cache)
        if notices:
            messages.append(followups_message(notices, followups.PER_DM))
        if not messages:
            return Skip(period, "nothing matched", following)
        return Send(Target.dm(sub.user_id, sub.dm_channel_id or 0, period), messages, due.slot, following,
                    context=followups.keys(notices))

    async def dm_channel(self, sub: Subscriber) -> int:
        """The user's DM channel: the stored one, or a new one (one more paced request), then stored."""
        if sub.dm_channel_id is not None:
            return sub.dm_channel_id
        channel_id = int(await self.deliverer.attempt(self.deliverer.rest.open_dm, sub.user_id))
        await self.store.run(Store.set_dm_channel, sub.user_id, channel_id)
        return channel_id

    async def deliver(self, sub: Subscriber, send: Send) -> Outcome:
        try:
            channel_id = await self.dm_channel(sub)
        except RetryLater as exc:
            return Outcome("retry", error=exc.reason)
        except Refused as exc:
            return Outcome("closed" if exc.code == CANNOT_DM or exc.status == 403 else "forbidden",
                           code=exc.code, error=exc.error)
        target = Target.dm(sub.user_id, channel_id, send.target.period, send.target.kind)
        outcome = await self.deliverer.deliver(target, send.messages)
        if send.context and outcome.status in ("sent", "already"):  # the follow-ups it carried are told
            await self.store.run(Store.mark_told, sub.user_id, send.context, self.clock.now())
        return outcome

    async def refused(self, sub: Subscriber, send: Send, outcome: Outcome, now: datetime
                      ) -> datetime | None:
        user_id, period = sub.user_id, send.target.period
        if outcome.status == "closed":
            log.info("user %s has DMs closed: subscription paused", user_id)
            await self.store.run(Store.set_paused, user_id, True, default=self.default_schedule, now=now,
                                 reason="your DMs were closed to the bot", notice=CLOSED_NOTICE)
            if not await self.store.run(Store.record_skip, "dm", user_id, period, "DMs closed", now):
                await self.store.run(Store.finish_delivery, "dm", user_id, period, now, "failed", "DMs closed")
            return None
        if outcome.status == "gone":  # the stored DM channel is gone: open a new one and try again
            await self.store.run(Store.set_dm_channel, user_id, None)
            return now
        if outcome.status == "forbidden":
            await self.store.run(Store.finish_delivery, "dm", user_id, period, now, "failed", outcome.error)
        return send.next_look

    # ---- /subscriptions test -------------------------------------------------------------------------------

    async def preview(self, user_id: int) -> DmPlan | None:
        """The DM the user would get now: their follows over the newest mailing, ignoring time and ledger."""
        follows = await self.store.run(Store.follows, user_id)
        mailing = await self.store.run(Store.latest_mailing, None)
        if not follows or mailing is None:
            return None
        index = await self.index([mailing], self.clock.now(), {})
        return plan_dm(user_id, [mailing], follows, index, self.settings.subscriptions.dm_cap)

    async def send_test(self, user_id: int) -> tuple[Literal["sent", "nothing", "closed", "retry"],
                                                     DmPlan | None]:
        """Send the preview DM now, marked as a test; it is not the day's DM (that one still comes)."""
        plan = await self.preview(user_id)
        if plan is None:
            return "nothing", None
        sub = await self.store.run(Store.user, user_id)
        assert sub is not None  # following something means a stored user
        now = self.clock.now()
        context = await self.store.run(Store.post_context, [m.ranked.paper.id for m in plan.papers], now)
        send = Send(Target.dm(user_id, 0, now.isoformat(), "test"), dm_messages(plan, context, test=True),
                    now, now)
        outcome = await self.deliver(sub, send)
        if outcome.status in ("sent", "already"):
            return "sent", plan
        if outcome.record is not None:  # a test is not resumed later: close its ledger entry
            await self.store.run(Store.finish_delivery, "test", user_id, send.target.period, now, "failed",
                                 outcome.error or outcome.status)
        return ("closed" if outcome.status == "closed" else "retry"), plan
