"""Exactly-once delivery through the ledger.

:class:`Deliverer` sends one planned mailing to one *target* — a server channel or a user's DM channel —
keyed in the ledger by (kind, id, period). The entry and every planned message are written before the first
send; each message is completed with its Discord id. A restart after a crash at any point resumes the entry
and sends only the messages without an id, from the stored payloads. Two guards cover the gap between Discord
accepting a message and the ledger recording it: each message carries a ``nonce`` (with ``enforce_nonce``, a
repeat within a few minutes returns the earlier message), and a resumed entry first looks for its messages in
the channel's recent history (by their markers).

A refusal that may pass (429, 5xx, timeout) is retried a few times with backoff, each attempt paced; if it
outlasts them the outcome is ``retry`` and the ledger keeps the entry's place for the next tick.

In a cluster (``bot.cluster``) the deliverer also holds each delivery's claim (:mod:`bot.delivery.claims`)
while it sends it, re-checked before every attempt, and a worker's deliverer sends only while it leads: a
delivery claimed elsewhere comes back ``claimed``, one whose claim or leadership was lost ``interrupted``, and
the process that takes over resumes it from the ledger exactly as after a crash.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Literal

from bot.clock import Clock
from bot.delivery.claims import ClaimLost, Claims
from bot.delivery.rest import DiscordRest, Refused, RetryLater
from bot.render import OutgoingMessage
from bot.store import AsyncStore, Store
from bot.store.digests import DeliveryRecord, PlannedMessage, TargetKind

log = logging.getLogger(__name__)

MISSING_ACCESS = 50001
MISSING_PERMISSIONS = 50013
CANNOT_DM = 50007
UNKNOWN_CHANNEL = 10003
INVALID_FORM_BODY = 50035
THREAD_ALREADY_CREATED = 160004


@dataclass(frozen=True, slots=True)
class Target:
    """Where a mailing goes: ``key_id`` keys the ledger (channel id, or user id for DMs); ``channel_id`` is the
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
    def dm(cls, user_id: int, dm_channel_id: int, period: str, kind: TargetKind = "dm") -> Target:
        return cls(kind, user_id, dm_channel_id, period)


OutcomeStatus = Literal["sent", "already", "forbidden", "gone", "closed", "retry", "rejected", "interrupted",
                        "nothing", "claimed"]


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a delivery did. ``sent``: every message is out (now); ``already``: it was finished before;
    ``forbidden`` (50001/50013), ``gone`` (10003), ``closed`` (50007, DMs closed): Discord refused;
    ``retry``: 429s, server errors or timeouts outlasted the retries (the ledger keeps its place);
    ``rejected``: Discord refused the payload as invalid (50035, a bug: logged with the field);
    ``interrupted``: the bot is shutting down (or, in a cluster, lost its claim or leadership); ``nothing``: no
    plan; ``claimed``: another process of the cluster is sending it."""

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


def message_body(message: PlannedMessage) -> dict[str, Any]:
    """The JSON Discord gets for a planned message: no one pinged but the admin-chosen role."""
    return {"nonce": message.nonce, "enforce_nonce": True, **edit_body(message.payload)}


def edit_body(payload: Mapping[str, Any]) -> dict[str, Any]:
    """A message's content, embeds and components as JSON for Discord (to send, or to edit a sent one)."""
    role = payload.get("mention_role")
    mentions: dict[str, Any] = {"parse": [], "roles": [str(role)]} if role else {"parse": []}
    body: dict[str, Any] = {"allowed_mentions": mentions}
    for key in ("content", "embeds", "components"):
        if payload.get(key):
            body[key] = payload[key]
    return body


class Deliverer:
    """Sends planned messages to targets through the ledger; one delivery per target at a time."""

    def __init__(self, rest: DiscordRest, store: AsyncStore, clock: Clock, *,
                 retry_delays: Sequence[float] = (1.0, 4.0, 10.0), claims: Claims | None = None,
                 gate: Callable[[], bool] | None = None) -> None:
        self.rest = rest
        self.store = store
        self.clock = clock
        self.retry_delays = tuple(retry_delays)
        self.claims = claims  # a cluster's processes claim each delivery they send
        self.gate = gate  # a worker sends only while this says it leads
        self.bot_user_id: int | None = None  # to recognise our own messages in a channel's history
        self._locks: dict[tuple[str, int], asyncio.Lock] = {}
        self._stopping = False
        self._active = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self.messages_sent = 0

    @property
    def stopping(self) -> bool:
        """True when no request may start: shutting down, or (a worker) no longer leading."""
        return self._stopping or (self.gate is not None and not self.gate())

    def stop(self) -> None:
        """Take no new work: deliveries stop before their next request (the ledger keeps their place)."""
        self._stopping = True

    async def drain(self, within: float) -> bool:
        """Wait for in-flight deliveries to reach a checkpoint; False if they did not ``within`` seconds."""
        try:
            await asyncio.wait_for(self._idle.wait(), within)
        except TimeoutError:
            return False
        return True

    async def attempt(self, call: Any, *args: Any) -> Any:
        """``await call(*args)``, retrying what may pass (429, 5xx, timeouts) after ``retry_delays`` (or
        Discord's ``Retry-After`` when longer); each attempt takes a slot of the pace."""
        for delay in (*self.retry_delays, None):
            try:
                return await call(*args)
            except RetryLater as exc:
                if delay is None or self.stopping:
                    raise
                wait = max(delay, exc.retry_after)
                log.info("Discord said %s; trying again in %.1f s", exc.reason, wait)
                await asyncio.sleep(wait)
        raise AssertionError("unreachable")

    async def deliver(self, target: Target, messages: Sequence[OutgoingMessage] | None) -> Outcome:
        """Send ``messages`` to ``target`` exactly once, or finish the delivery the ledger already holds.

        With ``messages=None`` only an unfinished ledger entry is resumed."""
        if self.stopping:
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
        planned = [
            PlannedMessage(seq=i, payload=m.payload(), nonce=make_nonce(target.kind, target.key_id, target.period, i),
                           marker=m.marker, in_thread=m.in_thread)
            for i, m in enumerate(messages or ())]
        claim = (target.kind, target.key_id, target.period)
        ticket = self.claims.ticket() if self.claims is not None else None
        # One trip to the store: the claim (in a cluster), the ledger entry, and the entry begun if there is none.
        claimed, record, resumed = await self.store.run_spread(open_delivery, target, planned, self.clock.now(), ticket)
        if not claimed:
            return Outcome("claimed")
        holds_claim = self.claims is not None and ticket is not None
        if self.claims is not None and ticket is not None:
            self.claims.taken(claim, ticket[2])
        last: tuple[int, int, int] | None = None  # the last message sent, recorded with the finish (one trip)
        done: dict[int, tuple[int, int]] = {}  # seq → (message id, channel id) of what this call sent
        sent = 0
        try:
            if record is None:
                return Outcome("nothing")
            if record.status != "sending":
                return Outcome("already", record)
            if resumed and record.pending:
                record = await self._adopt_from_history(target, record)
            starter_id = record.messages[0].message_id if record.messages else None
            for message in record.pending:
                if last is not None:
                    await self.store.run_spread(Store.complete_message, target.kind, target.key_id, target.period,
                                                *last)
                    last = None
                if self.stopping:
                    return Outcome("interrupted", record, sent=sent)
                channel_id = target.channel_id
                if message.in_thread:
                    thread_id = await self._thread(target, record, starter_id)
                    if record.thread_id != thread_id:
                        record = replace(record, thread_id=thread_id)
                    channel_id = thread_id
                data = await self.attempt(self._send_claimed, target, channel_id, message_body(message))
                message_id = int(data["id"])
                if message.seq == 0:
                    starter_id = message_id
                last = (message.seq, message_id, channel_id)
                done[message.seq] = (message_id, channel_id)
                sent += 1
                self.messages_sent += 1
            finished_at = self.clock.now()
            await self.store.run_spread(finish_delivered, target, last, finished_at,
                                 ticket[0] if holds_claim and ticket else None)
            last = None
            final = replace(record, status="done", finished_at=finished_at, messages=tuple(
                replace(m, message_id=done[m.seq][0], channel_id=done[m.seq][1]) if m.seq in done else m
                for m in record.messages))
            if self.claims is not None:
                self.claims.forget(claim)
            holds_claim = False
        except RetryLater as exc:
            return Outcome("retry", record, None, exc.reason, sent)
        except ClaimLost as exc:
            log.warning("stopped sending %s %s %s: %s", target.kind, target.key_id, target.period, exc)
            return Outcome("interrupted", record, sent=sent)
        except Refused as exc:
            if exc.code == CANNOT_DM:
                return Outcome("closed", record, exc.code, exc.error, sent)
            if exc.status == 403:
                return Outcome("forbidden", record, exc.code, exc.error, sent)
            if exc.status == 404:
                return Outcome("gone", record, exc.code, exc.error, sent)
            log.error("Discord refused a planned message for %s %s (%s) as invalid: %s", target.kind,
                      target.key_id, target.period, exc.error)
            await self.store.run(Store.finish_delivery, target.kind, target.key_id, target.period,
                                 self.clock.now(), "failed", f"Discord refused the content: {exc.error}")
            return Outcome("rejected", record, exc.code, exc.error, sent)
        finally:
            if last is not None:  # sent, then stopped before the finish: record it now
                await self.store.run_spread(Store.complete_message, target.kind, target.key_id, target.period, *last)
            if holds_claim and self.claims is not None:
                await self.claims.release(claim)
        log.info("delivered %s %s %s: %d message(s)%s", target.kind, target.key_id, target.period, sent,
                 " (resumed)" if resumed else "")
        return Outcome("sent", final, sent=sent)

    async def _send_claimed(self, target: Target, channel_id: int, body: Mapping[str, Any]) -> dict[str, Any]:
        """One attempt at one message, only while this process holds the delivery's claim (fencing)."""
        if self.claims is not None:
            await self.claims.hold((target.kind, target.key_id, target.period))
        if self.stopping:
            raise ClaimLost("this process stopped sending")
        return await self.rest.send_message(channel_id, body)

    async def _thread(self, target: Target, record: DeliveryRecord, starter_id: int | None) -> int:
        """The digest's thread, started from its first message (a thread started from a message has the
        message's id, so a crash between creating it and recording it loses nothing)."""
        if record.thread_id:
            return record.thread_id
        starter = record.messages[0]
        if starter_id is None:
            raise RuntimeError("the thread's first message was not sent")
        name = str(starter.payload.get("thread_name") or f"Hot Papers {target.period}")
        try:
            thread_id = int(await self.attempt(self.rest.start_thread, target.channel_id, starter_id, name))
        except Refused as exc:
            if exc.code != THREAD_ALREADY_CREATED:
                raise
            thread_id = starter_id
        await self.store.run(Store.set_delivery_thread, target.kind, target.key_id, target.period, thread_id)
        return thread_id

    async def _adopt_from_history(self, target: Target, record: DeliveryRecord) -> DeliveryRecord:
        """Resuming after a crash: find pending messages Discord already holds (beyond the nonce's few
        minutes) by their markers among the bot's recent messages, and record their ids."""
        if self.bot_user_id is None:
            return record
        destinations = {target.channel_id}
        if record.thread_id:
            destinations.add(record.thread_id)
        footers: dict[str, tuple[int, int]] = {}  # embed footer text → (message id, channel id)
        contents: list[tuple[str, tuple[int, int]]] = []
        for channel_id in destinations:
            try:
                history = await self.rest.history(channel_id, 50)
            except (Refused, RetryLater) as exc:
                log.info("could not read channel %s history while resuming (%s); relying on nonces",
                         channel_id, exc)
                continue
            for data in history:
                author: dict[str, Any] = dict(data.get("author") or {})
                if int(author.get("id", 0)) != self.bot_user_id:
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
                await self.store.run_spread(Store.complete_message, target.kind, target.key_id, target.period,
                                     message.seq, found[0], found[1])
                adopted += 1
        if adopted:
            log.info("resuming %s %s %s: %d message(s) were already in the channel", target.kind,
                     target.key_id, target.period, adopted)
            fresh = await self.store.run(Store.delivery, target.kind, target.key_id, target.period)
            assert fresh is not None
            return fresh
        return record


def open_delivery(store: Store, target: Target, planned: Sequence[PlannedMessage], now: datetime,
                  ticket: tuple[str, datetime, datetime] | None) -> tuple[bool, DeliveryRecord | None, bool]:
    """In one trip to the store: take the delivery's claim for ``ticket`` (holder, now, until) when given, read
    its ledger entry, and begin it from ``planned`` when there is none (one transaction on PostgreSQL). Returns
    (claimed, entry, resumed)."""
    with store.together():
        return _open_delivery(store, target, planned, now, ticket)


def _open_delivery(store: Store, target: Target, planned: Sequence[PlannedMessage], now: datetime,
                   ticket: tuple[str, datetime, datetime] | None) -> tuple[bool, DeliveryRecord | None, bool]:
    if ticket is not None and not store.claim_delivery(target.kind, target.key_id, target.period, *ticket):
        return False, None, False
    if planned:
        begun = store.begin_new_delivery(target.kind, target.key_id, target.period, planned, now,
                                         guild_id=target.guild_id)
        if begun is not None:
            return True, begun, False
    record = store.delivery(target.kind, target.key_id, target.period)
    return True, record, record is not None


def finish_delivered(store: Store, target: Target, last: tuple[int, int, int] | None, now: datetime,
                     holder: str | None) -> None:
    """In one trip to the store: record the ``last`` message sent (seq, message id, channel id), mark the
    delivery done and release ``holder``'s claim on it (one transaction on PostgreSQL)."""
    with store.together():
        if last is not None:
            store.complete_message(target.kind, target.key_id, target.period, *last)
        store.finish_delivery(target.kind, target.key_id, target.period, now)
        if holder is not None:
            store.release_claim(target.kind, target.key_id, target.period, holder)


def jump_url(guild_id: int | None, channel_id: int, message_id: int) -> str:
    return f"https://discord.com/channels/{guild_id or '@me'}/{channel_id}/{message_id}"
