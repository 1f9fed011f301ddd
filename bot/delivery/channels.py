"""Channel digests as an audience of the digest service: what each due channel gets (``bot.digest`` decides
when), the digest itself, and what a refusal means for the channel (missing access → counted, shown by
``/digest show``, stopped after ``max_failures``; unknown channel → disabled)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any

from bot import digest as rules
from bot.delivery.rest import Refused, RetryLater
from bot.delivery.sender import Outcome, Target, edit_body
from bot.delivery.service import AudienceBase, Decision, Off, Send, Skip, Wait, next_look, once, unfinished
from bot.digest import Digest
from bot.models import PostContext, RankedPaper
from bot.ranking import DayRanking, rank_mailing
from bot.render import (
    RISING_MARK,
    OutgoingMessage,
    digest_messages,
    menu_paper_ids,
    thread_name,
    with_community_menus,
)
from bot.store import Store
from bot.store.digests import ChannelDigest, DeliveryRecord, TargetKind

log = logging.getLogger(__name__)

PERMISSION_HELP = ("give the bot View Channel, Send Messages and Embed Links there (and Create Public"
                   " Threads and Send Messages in Threads for a thread digest), then run /digest resume")
RETRY_REFUSED = timedelta(minutes=10)  # a channel that refused (permissions) is tried again after this
REFRESH_FOR = timedelta(hours=48)  # a posted digest's counts are refreshed in place this long …
REFRESH_EVERY = timedelta(hours=6)  # … this often (8 edits per message at most)
RISING_CLIMB = 3  # places a posted paper must climb in its mailing's ranking to be shown again as rising
RISING_MAX = 3  # rising papers in one digest


@dataclass(frozen=True, slots=True)
class NextDigest:
    """What a channel's next run would post: the mailing and the digest (None when there is no mailing), and
    the ledger entry when that mailing was already posted (or skipped) there."""

    mailing: date | None
    digest: Digest | None
    record: DeliveryRecord | None


def digest_plan(cfg: ChannelDigest, digest: Digest, context: PostContext | None = None, *, server: bool = True
                ) -> list[OutgoingMessage]:
    """The messages of a channel's digest (its first one names the thread, for a thread digest); without
    ``server``, the part servers share (no Vote and Discuss menus: :func:`bot.render.with_community_menus`)."""
    messages = digest_messages(digest, thread=cfg.thread, mention_role=cfg.mention_role, context=context,
                               guild_id=cfg.guild_id if server else None)
    if cfg.thread and len(messages) > 1:
        messages[0] = replace(messages[0], extra={"thread_name": thread_name(digest)})
    return messages


class ChannelAudience(AudienceBase):
    """Server channels with a digest."""

    kind: TargetKind = "channel"

    def key(self, item: ChannelDigest) -> int:
        return item.channel_id

    async def due(self, now: datetime, cache: dict[Any, Any]) -> Sequence[ChannelDigest]:
        due = await self.store.run(Store.due_channel_digests, now)
        if due:
            cache["latest"] = await self.store.run(Store.latest_deliveries, "channel", [c.channel_id for c in due])
        return due

    async def latest(self, cfg: ChannelDigest, cache: dict[Any, Any] | None) -> tuple[str, str] | None:
        """The channel's newest ledger entry as (period, status): read for every due channel at once by
        :meth:`due`, or now."""
        if cache is not None and "latest" in cache:
            found: tuple[str, str] | None = cache["latest"].get(cfg.channel_id)
            return found
        return (await self.store.run(Store.latest_deliveries, "channel", [cfg.channel_id])).get(cfg.channel_id)

    async def handled(self, cfg: ChannelDigest, mailing: date, cache: dict[Any, Any]) -> bool:
        """Whether the ledger has ``mailing`` for the channel: known from its newest entry, unless that entry is
        of a later mailing (one posted with /digest now)."""
        latest = await self.latest(cfg, cache)
        if latest is None or latest[0] < mailing.isoformat():
            return False
        if latest[0] == mailing.isoformat():
            return True
        return await self.store.run(Store.handled, "channel", cfg.channel_id, mailing.isoformat())

    def min_score(self, cfg: ChannelDigest) -> float:
        return cfg.min_score if cfg.min_score is not None else self.settings.ranking.min_score

    async def ranking(self, mailing: date, guild_id: int, cache: dict[Any, Any] | None = None) -> DayRanking:
        """The mailing ranked as of now with the server's votes; with ``cache`` (one tick), once however many
        channels ask at once (servers without votes share one ranking)."""
        def run() -> Awaitable[DayRanking]:
            return self.store.run(rank_mailing, mailing, None, self.settings.ranking.weights, self.clock.now(),
                                  guild_id=guild_id)
        if cache is None:
            return await run()
        return await once(cache, ("rank", mailing, await self.vote_key(guild_id, cache)), run)

    async def vote_key(self, guild_id: int, cache: dict[Any, Any]) -> int | None:
        """The server when its members voted at all, else None: servers without votes rank alike."""
        voting = await once(cache, "voting", lambda: self.store.run(Store.voting_guilds))
        return guild_id if guild_id in voting else None

    async def build(self, cfg: ChannelDigest, mailing: date, cache: dict[Any, Any] | None = None) -> Digest:
        """The channel's digest of ``mailing``: the mailing ranked by engagement (and the server's votes) as of
        now, then filtered; with the papers of the channel's previous digest that rose since it was posted."""
        day = await self.ranking(mailing, cfg.guild_id, cache)
        digest = rules.build_digest(mailing, day.papers, categories=cfg.categories, size=cfg.size,
                                    min_score=self.min_score(cfg))
        since, rising = await self.rising(cfg, mailing, cache)
        return replace(digest, rising=rising, rising_since=since) if rising else digest

    async def rising(self, cfg: ChannelDigest, mailing: date, cache: dict[Any, Any] | None = None
                     ) -> tuple[date | None, tuple[RankedPaper, ...]]:
        """The papers of the mailing of the channel's latest ledger entry, when it was posted, that now make its
        digest but were not in it (they crossed the minimum score, or entered the top ``size``) or climbed
        ``RISING_CLIMB`` places or more; never one shown as rising there before; at most ``RISING_MAX``."""
        latest = await self.latest(cfg, cache)
        if latest is None or latest[1] != "done" or latest[0] >= mailing.isoformat():
            return None, ()
        previous = await self.store.run(Store.delivery, "channel", cfg.channel_id, latest[0])
        if previous is None:
            return None, ()
        try:
            since = date.fromisoformat(previous.period)
        except ValueError:
            return None, ()
        posted = [paper_id for m in previous.messages if RISING_MARK not in m.marker
                  for paper_id in menu_paper_ids(m.payload.get("components") or ())]
        place = {paper_id: rank for rank, paper_id in enumerate(posted, start=1)}
        day = await self.ranking(since, cfg.guild_id, cache)
        now = rules.build_digest(since, day.papers, categories=cfg.categories, size=cfg.size,
                                 min_score=self.min_score(cfg))
        risen = [r for r in now.papers if r.paper.id not in place or place[r.paper.id] - r.rank >= RISING_CLIMB]
        shown = await self.store.run(Store.rising_shown, cfg.channel_id, [r.paper.id for r in risen])
        return since, tuple(r for r in risen if r.paper.id not in shown)[:RISING_MAX]

    async def plan_messages(self, cfg: ChannelDigest, digest: Digest, *, server: bool = True
                            ) -> list[OutgoingMessage]:
        """The digest's messages with what the post shows beside the counts (who is talking, code, their time)."""
        ids = [r.paper.id for r in (*digest.papers, *digest.rising)]
        context = await self.store.run(Store.post_context, ids, self.clock.now())
        return digest_plan(cfg, digest, context, server=server)

    async def decide(self, cfg: ChannelDigest, now: datetime, cache: dict[Any, Any]) -> Decision:
        digest_settings = self.settings.digest
        if cfg.paused or cfg.disabled_reason or cfg.failures >= digest_settings.max_failures:
            return Off()
        following = rules.next_slot(cfg.time, cfg.timezone, now)
        record = await unfinished(self.store, "channel", cfg.channel_id, cache)
        if record is not None:
            return Send(Target.channel(cfg.channel_id, record.period, cfg.guild_id), None, record.created_at,
                        following)
        query = rules.slot_query(cfg, now, min_age_hours=digest_settings.min_age_hours,
                                 max_failures=digest_settings.max_failures)
        if query is None:
            return Wait(following)
        mailing = await once(cache, ("mailing", cfg.categories, query.newest), lambda: self.store.run(
            Store.latest_mailing, list(cfg.categories), on_or_before=query.newest))
        handled = mailing is not None and await self.handled(cfg, mailing, cache)
        decision = rules.decide(query, mailing, handled, now, grace_hours=digest_settings.grace_hours)
        if decision is None:
            waiting = mailing is None or mailing < query.newest  # the slot's mailing may still be ingested
            return Wait(next_look(query.slot, following, now, grace_hours=digest_settings.grace_hours,
                                  waiting=waiting))
        if isinstance(decision, rules.Skip):
            return Skip(decision.mailing.isoformat(), decision.reason, following, cfg.guild_id)
        digest = await self.build(cfg, decision.mailing, cache)
        rising = tuple(r.paper.id for r in digest.rising)
        shape = (decision.mailing, cfg.categories, cfg.size, self.min_score(cfg), cfg.thread, cfg.mention_role,
                 await self.vote_key(cfg.guild_id, cache), rising)
        # channels set up alike share one rendering per tick; each server's menus are added to it
        shared = await once(cache, ("digest", shape), lambda: self.plan_messages(cfg, digest, server=False))
        messages = with_community_menus(shared, digest, cfg.guild_id, thread=cfg.thread)
        return Send(Target.channel(cfg.channel_id, decision.mailing.isoformat(), cfg.guild_id), messages,
                    decision.slot, following, context=rising)

    async def deliver(self, cfg: ChannelDigest, send: Send) -> Outcome:
        outcome = await self.deliverer.deliver(send.target, send.messages)
        if outcome.status == "sent" and cfg.failures:
            await self.store.run(Store.clear_channel_failures, cfg.channel_id)
        if outcome.status in ("sent", "already") and send.context:  # each paper shown rising once
            await self.store.run(Store.record_rising, cfg.channel_id, send.context, self.clock.now())
        return outcome

    async def refused(self, cfg: ChannelDigest, send: Send, outcome: Outcome, now: datetime
                      ) -> datetime | None:
        target = send.target
        if outcome.status in ("forbidden", "closed"):
            error = f"Discord refused to post: {outcome.error}; {PERMISSION_HELP}"
            failures = await self.store.run(Store.record_channel_failure, cfg.channel_id, error, now)
            log.warning("channel %s (guild %s): %s [failure %d of %d]", cfg.channel_id, cfg.guild_id,
                        outcome.error, failures, self.settings.digest.max_failures)
            if failures >= self.settings.digest.max_failures:
                await self.store.run(Store.finish_delivery, target.kind, target.key_id, target.period, now,
                                     "failed", error)
                return None
            return now + RETRY_REFUSED
        if outcome.status == "gone":
            reason = "the channel no longer exists (Unknown Channel); run /digest setup on another channel"
            log.warning("channel %s (guild %s) is gone: digest disabled", cfg.channel_id, cfg.guild_id)
            await self.store.run(Store.disable_channel_digest, cfg.channel_id, reason, now)
            await self.store.run(Store.finish_delivery, target.kind, target.key_id, target.period, now,
                                 "failed", reason)
            return None
        return send.next_look  # rejected: the ledger holds it as failed, with Discord's reason

    # ---- refreshing posted digests in place ---------------------------------------------------------------

    async def refresh(self, now: datetime) -> int:
        """Edit the digests posted in the last 48 h whose counts are 6 h old, in place (never a new message),
        each edit paced like every send; returns the messages edited."""
        due = await self.store.run(Store.digests_to_refresh, now - REFRESH_FOR, now - REFRESH_EVERY)
        edited = 0
        for channel_id, period in due:
            if self.deliverer.stopping:
                break
            edited += await self.refresh_one(channel_id, period)
            await self.store.run(Store.mark_refreshed, channel_id, period, now)
        return edited

    async def refresh_one(self, channel_id: int, period: str) -> int:
        """Edit one posted digest's messages with its papers' counts (and votes) as of now, the papers and
        their order unchanged; nothing when the layout would change (a paper would move to another message)."""
        cfg = await self.store.run(Store.channel_digest, channel_id)
        record = await self.store.run(Store.delivery, "channel", channel_id, period)
        try:
            mailing = date.fromisoformat(period)
        except ValueError:
            return 0
        if cfg is None or record is None:
            return 0
        main = [m for m in record.messages if RISING_MARK not in m.marker]  # a rising part keeps its counts
        grouped = [menu_paper_ids(m.payload.get("components") or ()) for m in main]
        ids = [paper_id for group in grouped for paper_id in group]
        fresh = {r.paper.id: r for r in (await self.ranking(mailing, cfg.guild_id)).everything()}
        if not ids or any(paper_id not in fresh for paper_id in ids):
            return 0
        papers = tuple(replace(fresh[paper_id], rank=rank) for rank, paper_id in enumerate(ids, start=1))
        messages = await self.plan_messages(cfg, Digest(mailing, cfg.categories, papers, self.min_score(cfg)))
        if [menu_paper_ids(m.components) for m in messages] != grouped:
            return 0
        edited = 0
        for planned, message in zip(main, messages, strict=True):
            if planned.message_id is None:
                continue
            try:
                await self.deliverer.attempt(self.deliverer.rest.edit_message, planned.channel_id or channel_id,
                                             planned.message_id, edit_body(message.payload()))
            except (RetryLater, Refused) as exc:
                log.info("channel %s: could not refresh the %s digest (%s)", channel_id, period, exc)
                break
            edited += 1
        return edited

    # ---- /digest preview and now ---------------------------------------------------------------------------

    async def next_digest(self, cfg: ChannelDigest) -> NextDigest:
        """What the next run would post, ignoring min_age: the channel's newest mailing."""
        mailing = await self.store.run(Store.latest_mailing, list(cfg.categories))
        if mailing is None:
            return NextDigest(None, None, None)
        record = await self.store.run(Store.delivery, "channel", cfg.channel_id, mailing.isoformat())
        return NextDigest(mailing, await self.build(cfg, mailing), record)

    async def post(self, cfg: ChannelDigest, digest: Digest) -> Outcome:
        """Deliver one digest to the channel now (``/digest now``) and record what went wrong, if anything."""
        now = self.clock.now()
        send = Send(Target.channel(cfg.channel_id, digest.period, cfg.guild_id),
                    await self.plan_messages(cfg, digest), now, rules.next_slot(cfg.time, cfg.timezone, now),
                    context=tuple(r.paper.id for r in digest.rising))
        outcome = await self.deliver(cfg, send)
        if outcome.status == "retry":  # the next tick finishes it, paced and with backoff
            await self.store.run(Store.set_due, "channel", [(cfg.channel_id, now)])
        elif outcome.status not in ("sent", "already", "interrupted", "nothing", "claimed"):
            look = await self.refused(cfg, send, outcome, now)
            await self.store.run(Store.set_due, "channel", [(cfg.channel_id, look)])
        return outcome
