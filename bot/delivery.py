"""Sending digests to Discord: exactly once, paced under the token's global limit, failing soft.

:class:`Deliverer` sends one planned digest to one *target* — a server channel or a user's DM channel — keyed
in the ledger by (kind, id, period). The entry and every planned message are written before the first send;
each message is completed with its Discord id. A restart after a crash at any point resumes the entry and
sends only the messages without an id, from the stored payloads. Two guards cover the gap between Discord
accepting a message and the ledger recording it: each message carries a ``nonce`` (with ``enforce_nonce``, a
repeat within a few minutes returns the earlier message), and a resumed entry first looks for its messages in
the channel's recent history (by their markers). :class:`Pacer` keeps every bulk request under
``requests_per_second``, because discord.py honours per-route limits but not the global 50/s.

:class:`ChannelDigests` is the channel digest service on top: what is due (``bot.digest``), ranking,
rendering, delivery, and recording failures (missing access → counted and shown, unknown channel → disabled).
"""

from __future__ import annotations

import asyncio
import collections
import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Any, Literal

import aiohttp
import discord

from bot import digest as digest_rules
from bot import ranking
from bot.clock import Clock
from bot.config import Settings
from bot.digest import Digest, Post, Skip
from bot.models import RankedPaper
from bot.render import OutgoingMessage, digest_messages, thread_name
from bot.store import AsyncStore, Store
from bot.store.digests import ChannelDigest, DeliveryRecord, PlannedMessage, TargetKind

log = logging.getLogger(__name__)

MISSING_ACCESS = 50001
MISSING_PERMISSIONS = 50013
CANNOT_DM = 50007
UNKNOWN_CHANNEL = 10003
THREAD_ALREADY_CREATED = 160004


class Pacer:
    """A global request pacer: at most ``rate`` requests per second, evenly spaced, over any 1-second window.

    Shared by every bulk sender of the process (channel digests and DMs)."""

    def __init__(self, rate: float) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = rate
        self.interval = 1.0 / rate
        self.per_window = max(1, int(rate))
        self._next = 0.0
        self._recent: collections.deque[float] = collections.deque()
        self._lock = asyncio.Lock()
        self.acquired = 0

    async def acquire(self) -> None:
        async with self._lock:
            loop = asyncio.get_running_loop()
            now = loop.time()
            while self._recent and now - self._recent[0] >= 1.0:
                self._recent.popleft()
            wait = max(self._next - now, 0.0)
            if len(self._recent) >= self.per_window:
                wait = max(wait, self._recent[0] + 1.0 - now)
            if wait > 0:
                await asyncio.sleep(wait)
                now = loop.time()
            # Keep to the schedule despite timer lateness (a late wake-up does not push later slots back);
            # after an idle spell start afresh. The window above still caps any second at ``per_window``.
            self._next = (self._next if now - self._next < self.interval else now) + self.interval
            self._recent.append(now)
            self.acquired += 1


@dataclass(frozen=True, slots=True)
class Target:
    """Where a digest goes: ``key_id`` keys the ledger (channel id, or user id for DMs); ``channel_id`` is the
    channel messages are sent to (for DMs, the user's DM channel)."""

    kind: TargetKind
    key_id: int
    channel_id: int
    period: str
    guild_id: int | None = None

    @classmethod
    def channel(cls, channel_id: int, period: str, guild_id: int | None = None) -> Target:
        return cls("channel", channel_id, channel_id, period, guild_id)

    @classmethod
    def dm(cls, user_id: int, dm_channel_id: int, period: str) -> Target:
        return cls("dm", user_id, dm_channel_id, period)


OutcomeStatus = Literal["sent", "already", "forbidden", "gone", "closed", "retry", "rejected", "interrupted",
                        "nothing"]


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a delivery did. ``sent``: every message is out (now); ``already``: it was finished before;
    ``forbidden`` (50001/50013), ``gone`` (10003), ``closed`` (50007, DMs closed): Discord refused;
    ``retry``: server errors or timeouts outlasted the retries; ``rejected``: Discord refused the payload
    (a bug); ``interrupted``: the bot is shutting down (the ledger says where it stopped); ``nothing``: no
    plan."""

    status: OutcomeStatus
    record: DeliveryRecord | None = None
    code: int | None = None
    error: str | None = None
    sent: int = 0

    @property
    def message_ids(self) -> list[int]:
        return [m.message_id for m in self.record.messages if m.message_id] if self.record else []


def make_nonce(kind: str, key_id: int, period: str, seq: int) -> str:
    """A stable nonce per planned message (≤ 25 characters), the same after a restart."""
    digest = hashlib.sha256(f"{kind}:{key_id}:{period}:{seq}".encode()).hexdigest()
    return "hp" + digest[:22]


class Deliverer:
    """Sends planned messages to targets through the ledger; one delivery per target at a time."""

    def __init__(self, client: discord.Client, store: AsyncStore, pacer: Pacer, clock: Clock, *,
                 retry_delays: Sequence[float] = (1.0, 4.0, 10.0), send_timeout: float = 30.0) -> None:
        self.client = client
        self.store = store
        self.pacer = pacer
        self.clock = clock
        self.retry_delays = tuple(retry_delays)
        # discord.py sets no request timeout (aiohttp's default is 5 minutes): a hung send is abandoned after
        # this long and retried; its nonce makes Discord return the first one if that did arrive after all.
        self.send_timeout = send_timeout
        self._locks: dict[tuple[str, int], asyncio.Lock] = {}
        self._stopping = False
        self._active = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self.messages_sent = 0

    @property
    def stopping(self) -> bool:
        return self._stopping

    def stop(self) -> None:
        """Take no new work: deliveries stop before their next message (the ledger keeps their place)."""
        self._stopping = True

    async def drain(self, within: float) -> bool:
        """Wait for in-flight deliveries to reach a checkpoint; False if they did not ``within`` seconds."""
        try:
            await asyncio.wait_for(self._idle.wait(), within)
        except TimeoutError:
            return False
        return True

    async def deliver(self, target: Target, messages: Sequence[OutgoingMessage] | None) -> Outcome:
        """Send ``messages`` to ``target`` exactly once, or finish the delivery the ledger already holds.

        With ``messages=None`` only an unfinished ledger entry is resumed."""
        if self._stopping:
            return Outcome("interrupted")
        key = (target.kind, target.key_id)
        lock = self._locks.setdefault(key, asyncio.Lock())
        self._active += 1
        self._idle.clear()
        try:
            async with lock:
                return await self._deliver(target, messages)
        finally:
            self._active -= 1
            if self._active == 0:
                self._idle.set()
                if not lock.locked():
                    self._locks.pop(key, None)

    async def _deliver(self, target: Target, messages: Sequence[OutgoingMessage] | None) -> Outcome:
        record = await self.store.run(Store.delivery, target.kind, target.key_id, target.period)
        resumed = record is not None
        if record is not None and record.status != "sending":
            return Outcome("already", record)
        if record is None:
            if not messages:
                return Outcome("nothing")
            planned = [
                PlannedMessage(seq=i, payload=m.payload(), nonce=make_nonce(target.kind, target.key_id,
                                                                            target.period, i),
                               marker=m.marker, in_thread=m.in_thread)
                for i, m in enumerate(messages)]
            record = await self.store.run(Store.begin_delivery, target.kind, target.key_id, target.period,
                                          planned, self.clock.now(), guild_id=target.guild_id)
        if resumed and record.pending:
            record = await self._adopt_from_history(target, record)
        sent = 0
        starter_id = record.messages[0].message_id if record.messages else None
        try:
            for message in record.pending:
                if self._stopping:
                    return Outcome("interrupted", record, sent=sent)
                channel_id = target.channel_id
                if message.in_thread:
                    thread_id = await self._thread(target, record, starter_id)
                    if record.thread_id != thread_id:
                        record = replace(record, thread_id=thread_id)
                    channel_id = thread_id
                message_id = await self._send(channel_id, message)
                if message.seq == 0:
                    starter_id = message_id
                await self.store.run(Store.complete_message, target.kind, target.key_id, target.period,
                                     message.seq, message_id, channel_id)
                sent += 1
                self.messages_sent += 1
        except discord.Forbidden as exc:
            status: OutcomeStatus = "closed" if exc.code == CANNOT_DM else "forbidden"
            return Outcome(status, record, exc.code, _error_text(exc), sent)
        except discord.NotFound as exc:
            return Outcome("gone", record, exc.code, _error_text(exc), sent)
        except discord.DiscordServerError as exc:
            return Outcome("retry", record, exc.code, _error_text(exc), sent)
        except (TimeoutError, aiohttp.ClientError) as exc:
            return Outcome("retry", record, None, f"network: {exc!r}", sent)
        except discord.HTTPException as exc:
            log.error("Discord refused a planned message for %s %s (%s): %s", target.kind, target.key_id,
                      target.period, _error_text(exc))
            await self.store.run(Store.finish_delivery, target.kind, target.key_id, target.period,
                                 self.clock.now(), "failed", _error_text(exc))
            return Outcome("rejected", record, exc.code, _error_text(exc), sent)
        await self.store.run(Store.finish_delivery, target.kind, target.key_id, target.period,
                             self.clock.now())
        final = await self.store.run(Store.delivery, target.kind, target.key_id, target.period)
        log.info("delivered %s %s %s: %d message(s)%s", target.kind, target.key_id, target.period, sent,
                 " (resumed)" if resumed else "")
        return Outcome("sent", final, sent=sent)

    async def _send(self, channel_id: int, message: PlannedMessage) -> int:
        out = OutgoingMessage.from_payload(message.payload)
        if out.mention_role:
            allowed = discord.AllowedMentions(everyone=False, users=False, replied_user=False,
                                              roles=[discord.Object(out.mention_role)])
        else:
            allowed = discord.AllowedMentions.none()
        channel = self.client.get_partial_messageable(channel_id)
        attempt = 0
        while True:
            await self.pacer.acquire()
            try:
                sent = await asyncio.wait_for(
                    channel.send(content=out.content, embeds=list(out.embeds) or discord.utils.MISSING,
                                 view=out.view() or discord.utils.MISSING, nonce=message.nonce,
                                 allowed_mentions=allowed),
                    self.send_timeout)
                return sent.id
            except (discord.DiscordServerError, TimeoutError, aiohttp.ClientError) as exc:
                if attempt >= len(self.retry_delays) or self._stopping:
                    raise
                log.warning("sending to channel %s failed (%r); retrying in %.1f s", channel_id, exc,
                            self.retry_delays[attempt])
                await asyncio.sleep(self.retry_delays[attempt])
                attempt += 1

    async def _thread(self, target: Target, record: DeliveryRecord, starter_id: int | None) -> int:
        """The digest's thread, started from its first message (a thread started from a message has the
        message's id, so a crash between creating it and recording it loses nothing)."""
        if record.thread_id:
            return record.thread_id
        starter = record.messages[0]
        if starter_id is None:
            raise RuntimeError("the thread's first message was not sent")
        name = str(starter.payload.get("thread_name") or f"Hot Papers {target.period}")
        await self.pacer.acquire()
        try:
            data = await self.client.http.start_thread_with_message(
                target.channel_id, starter_id, name=name[:100], auto_archive_duration=1440,
                rate_limit_per_user=None)
            thread_id = int(data["id"])
        except discord.HTTPException as exc:
            if exc.code != THREAD_ALREADY_CREATED:
                raise
            thread_id = starter_id
        await self.store.run(Store.set_delivery_thread, target.kind, target.key_id, target.period, thread_id)
        return thread_id

    async def _adopt_from_history(self, target: Target, record: DeliveryRecord) -> DeliveryRecord:
        """Resuming after a crash: find pending messages Discord already holds (beyond the nonce's few
        minutes) by their markers among the bot's recent messages, and record their ids."""
        me = self.client.user
        if me is None:
            return record
        destinations = {target.channel_id}
        if record.thread_id:
            destinations.add(record.thread_id)
        footers: dict[str, tuple[int, int]] = {}  # embed footer text → (message id, channel id)
        contents: list[tuple[str, tuple[int, int]]] = []
        for channel_id in destinations:
            await self.pacer.acquire()
            try:
                history = await self.client.http.logs_from(channel_id, 50)
            except (discord.HTTPException, TimeoutError, aiohttp.ClientError) as exc:
                log.info("could not read channel %s history while resuming (%s); relying on nonces",
                         channel_id, exc)
                continue
            for item in history:
                data: dict[str, Any] = dict(item)
                author: dict[str, Any] = dict(data.get("author") or {})
                if int(author.get("id", 0)) != me.id:
                    continue
                hit = (int(data["id"]), channel_id)
                if data.get("content"):
                    contents.append((str(data["content"]), hit))
                for embed in data.get("embeds") or ():
                    footer = str((embed.get("footer") or {}).get("text", ""))
                    if footer:
                        footers.setdefault(footer, hit)
        adopted = 0
        for message in record.pending:
            if not message.marker:
                continue
            # A footer marker is the whole footer; a content marker may follow a role mention.
            found = footers.get(message.marker) or next(
                (hit for text, hit in contents if text.endswith(message.marker)), None)
            if found is not None:
                await self.store.run(Store.complete_message, target.kind, target.key_id, target.period,
                                     message.seq, found[0], found[1])
                adopted += 1
        if adopted:
            log.info("resuming %s %s %s: %d message(s) were already in the channel", target.kind,
                     target.key_id, target.period, adopted)
            fresh = await self.store.run(Store.delivery, target.kind, target.key_id, target.period)
            assert fresh is not None
            return fresh
        return record


def _error_text(exc: discord.HTTPException) -> str:
    return f"{exc.text or exc.status} ({exc.code})" if exc.code else f"HTTP {exc.status}"


def jump_url(guild_id: int | None, channel_id: int, message_id: int) -> str:
    return f"https://discord.com/channels/{guild_id or '@me'}/{channel_id}/{message_id}"


# ---- channel digests ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NextDigest:
    """What a channel's next run would post: the mailing and the digest (None when there is no mailing), and
    the ledger entry when that mailing was already posted (or skipped) there."""

    mailing: date | None
    digest: Digest | None
    record: DeliveryRecord | None


@dataclass
class TickReport:
    posted: list[tuple[int, str]] = field(default_factory=list)
    resumed: list[tuple[int, str]] = field(default_factory=list)
    skipped: list[tuple[int, str]] = field(default_factory=list)
    failed: list[tuple[int, str]] = field(default_factory=list)


PERMISSION_HELP = ("give the bot View Channel, Send Messages and Embed Links there (and Create Public"
                   " Threads and Send Messages in Threads for a thread digest), then run /digest resume")


class ChannelDigests:
    """The channel digest service: the scheduler's tick, and ``/digest preview`` and ``now``."""

    def __init__(self, store: AsyncStore, deliverer: Deliverer, clock: Clock, settings: Settings, *,
                 concurrency: int = 16, retry_after: timedelta = timedelta(minutes=10)) -> None:
        self.store = store
        self.deliverer = deliverer
        self.clock = clock
        self.settings = settings
        self.concurrency = concurrency
        self.retry_after = retry_after
        self._tick_lock = asyncio.Lock()

    def min_score(self, cfg: ChannelDigest) -> float:
        return cfg.min_score if cfg.min_score is not None else self.settings.ranking.min_score

    async def _rank(self, mailing: date) -> list[RankedPaper]:
        papers = await self.store.run(Store.mailing_papers, mailing, None)
        signals = await self.store.run(Store.latest_signals, [p.id for p in papers], self.clock.now())
        return ranking.rank(papers, signals, self.settings.ranking.weights, 0.0)

    async def build(self, cfg: ChannelDigest, mailing: date,
                    ranked_cache: dict[date, asyncio.Task[list[RankedPaper]]] | None = None) -> Digest:
        """The channel's digest of ``mailing``: the mailing ranked by engagement as of now, then filtered.
        With ``ranked_cache`` (one tick), each mailing is ranked once, however many channels ask at once."""
        if ranked_cache is None:
            ranked = await self._rank(mailing)
        else:
            if mailing not in ranked_cache:
                ranked_cache[mailing] = asyncio.ensure_future(self._rank(mailing))
            ranked = await asyncio.shield(ranked_cache[mailing])
        return digest_rules.build_digest(mailing, ranked, categories=cfg.categories, size=cfg.size,
                                         min_score=self.min_score(cfg))

    async def next_digest(self, cfg: ChannelDigest) -> NextDigest:
        """What the next run would post, ignoring min_age: the channel's newest mailing."""
        mailing = await self.store.run(Store.latest_mailing, list(cfg.categories))
        if mailing is None:
            return NextDigest(None, None, None)
        record = await self.store.run(Store.delivery, "channel", cfg.channel_id, mailing.isoformat())
        return NextDigest(mailing, await self.build(cfg, mailing), record)

    async def post(self, cfg: ChannelDigest, digest: Digest) -> Outcome:
        """Deliver one digest to the channel and record what went wrong, if anything."""
        context = await self.store.run(Store.post_context, [r.paper.id for r in digest.papers],
                                       self.clock.now())
        messages = digest_messages(digest, thread=cfg.thread, mention_role=cfg.mention_role, context=context)
        if cfg.thread and len(messages) > 1:
            messages[0] = replace(messages[0], extra={"thread_name": thread_name(digest)})
        target = Target.channel(cfg.channel_id, digest.period, cfg.guild_id)
        outcome = await self.deliverer.deliver(target, messages)
        await self._record_outcome(cfg, target, outcome)
        return outcome

    async def _record_outcome(self, cfg: ChannelDigest, target: Target, outcome: Outcome) -> None:
        now = self.clock.now()
        if outcome.status == "sent":
            if cfg.failures:
                await self.store.run(Store.clear_channel_failures, cfg.channel_id)
        elif outcome.status in ("forbidden", "closed"):
            error = f"Discord refused to post: {outcome.error}; {PERMISSION_HELP}"
            failures = await self.store.run(Store.record_channel_failure, cfg.channel_id, error, now)
            log.warning("channel %s (guild %s): %s [failure %d of %d]", cfg.channel_id, cfg.guild_id,
                        outcome.error, failures, self.settings.digest.max_failures)
            if failures >= self.settings.digest.max_failures:
                await self.store.run(Store.finish_delivery, target.kind, target.key_id, target.period, now,
                                     "failed", error)
        elif outcome.status == "gone":
            reason = "the channel no longer exists (Unknown Channel); run /digest setup on another channel"
            log.warning("channel %s (guild %s) is gone: digest disabled", cfg.channel_id, cfg.guild_id)
            await self.store.run(Store.disable_channel_digest, cfg.channel_id, reason, now)
            await self.store.run(Store.finish_delivery, target.kind, target.key_id, target.period, now,
                                 "failed", reason)
        elif outcome.status == "retry":
            log.warning("channel %s: Discord unavailable (%s); will retry", cfg.channel_id, outcome.error)

    async def tick(self) -> TickReport:
        """One pass: finish interrupted deliveries, then post (or skip) what is due now. Never overlaps."""
        report = TickReport()
        if self._tick_lock.locked():
            return report
        async with self._tick_lock:
            now = self.clock.now()
            digests = {d.channel_id: d for d in await self.store.run(Store.channel_digests, None)}
            await self._resume(digests, now, report)
            ranked_cache: dict[date, asyncio.Task[list[RankedPaper]]] = {}
            mailing_cache: dict[tuple[tuple[str, ...], date], asyncio.Task[date | None]] = {}
            queue: asyncio.Queue[ChannelDigest] = asyncio.Queue()
            for cfg in digests.values():
                queue.put_nowait(cfg)

            async def worker() -> None:
                while not queue.empty() and not self.deliverer.stopping:
                    cfg = queue.get_nowait()
                    try:
                        await self._tick_one(cfg, now, report, ranked_cache, mailing_cache)
                    except Exception:
                        log.exception("digest for channel %s failed", cfg.channel_id)
                        report.failed.append((cfg.channel_id, "error"))

            await asyncio.gather(*(worker() for _ in range(max(1, min(self.concurrency, len(digests))))))
        return report

    async def _tick_one(self, cfg: ChannelDigest, now: datetime, report: TickReport,
                        ranked_cache: dict[date, asyncio.Task[list[RankedPaper]]],
                        mailing_cache: dict[tuple[tuple[str, ...], date], asyncio.Task[date | None]]
                        ) -> None:
        query = digest_rules.slot_query(cfg, now, min_age_hours=self.settings.digest.min_age_hours,
                                        max_failures=self.settings.digest.max_failures)
        if query is None:
            return
        key = (cfg.categories, query.newest)
        if key not in mailing_cache:
            mailing_cache[key] = asyncio.ensure_future(self.store.run(
                Store.latest_mailing, list(cfg.categories), on_or_before=query.newest))
        mailing = await asyncio.shield(mailing_cache[key])
        handled = mailing is not None and await self.store.run(
            Store.handled, "channel", cfg.channel_id, mailing.isoformat())
        decision = digest_rules.decide(query, mailing, handled, now,
                                       grace_hours=self.settings.digest.grace_hours)
        if isinstance(decision, Skip):
            await self.store.run(Store.record_skip, "channel", cfg.channel_id, decision.mailing.isoformat(),
                                 decision.reason, now, guild_id=cfg.guild_id)
            log.info("channel %s: skipped the %s mailing: %s", cfg.channel_id, decision.mailing,
                     decision.reason)
            report.skipped.append((cfg.channel_id, decision.mailing.isoformat()))
        elif isinstance(decision, Post):
            digest = await self.build(cfg, decision.mailing, ranked_cache)
            outcome = await self.post(cfg, digest)
            bucket = report.posted if outcome.status in ("sent", "already") else report.failed
            bucket.append((cfg.channel_id, digest.period))

    async def _resume(self, digests: dict[int, ChannelDigest], now: datetime, report: TickReport) -> None:
        """Finish deliveries a crash or shutdown left unfinished, several at once (the pacer paces)."""
        records = await self.store.run(Store.unfinished_deliveries, "channel")
        semaphore = asyncio.Semaphore(self.concurrency)

        async def resume(record: DeliveryRecord) -> None:
            cfg = digests.get(record.target_id)
            target = Target.channel(record.target_id, record.period, record.guild_id)
            if cfg is None:
                await self.store.run(Store.finish_delivery, "channel", record.target_id, record.period, now,
                                     "failed", "the digest was removed before it was fully sent")
                return
            if cfg.paused or cfg.disabled_reason:
                return
            backoff = self.retry_after * cfg.failures
            if cfg.failures and cfg.last_error_at and now < cfg.last_error_at + backoff:
                return
            async with semaphore:
                outcome = await self.deliverer.deliver(target, None)
            await self._record_outcome(cfg, target, outcome)
            bucket = report.resumed if outcome.status in ("sent", "already") else report.failed
            bucket.append((record.target_id, record.period))

        await asyncio.gather(*(resume(record) for record in records))

    async def pending_retry(self) -> bool:
        """True if some delivery is unfinished (the scheduler then ticks sooner)."""
        return bool(await self.store.run(Store.unfinished_deliveries, "channel"))
