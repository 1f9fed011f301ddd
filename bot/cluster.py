"""The bot as a cluster (README, "Cluster"): what each role runs, and which worker leads.

``hotpapers run --role``:

- ``all`` (the default): one process does everything, exactly as a single bot always has.
- ``gateway``: connects to Discord for its shards and answers slash commands and components there; it runs no
  scheduled job and sends nothing in bulk (a ``/digest now`` or ``/subscriptions test`` is one delivery, claimed
  like any other).
- ``worker``: no gateway connection; ingests, harvests, refreshes engagement and sends every digest and DM
  through ``bot.delivery`` (REST). Exactly one worker leads at a time (:class:`Leadership`); the others wait,
  ready to take over.

Leadership is a lease in the shared database rather than a PostgreSQL advisory lock: it works the same on
SQLite and PostgreSQL, it is read against the bot's clock (tests step time instead of waiting out 45 s), and a
leader that cannot reach the database loses it by the clock, where a session-bound lock would need the server
to notice the dead connection.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import socket
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Literal

from bot.clock import Clock
from bot.config import ClusterSettings
from bot.store import AsyncStore, Store

log = logging.getLogger(__name__)

Role = Literal["all", "gateway", "worker"]
LEADER_LEASE = "workers"  # the one lease the workers compete for
WAITING_TRIES = 3  # a waiting worker tries to take over this many times per renewal period
RETRY_AFTER_ERROR = 1.0  # seconds before trying again when the database did not answer a renewal


def node_id() -> str:
    """A name for this process, unique across machines and restarts (host, pid, a random tag)."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


def describe_role(cluster: ClusterSettings) -> str:
    """``role gateway, shards 0,1 of 8``: the role, and the shards it connects when sharded (a worker has none)."""
    role = f"role {cluster.role}"
    if cluster.role != "worker" and cluster.shard_count > 1:
        shards = cluster.shards or tuple(range(cluster.shard_count))
        role += f", shards {','.join(map(str, shards))} of {cluster.shard_count}"
    return role


def shard_of(guild_id: int, shard_count: int) -> int:
    """The shard Discord sends a server's events to."""
    return (guild_id >> 22) % shard_count


class Leadership:
    """One worker's part in the leader lease: :meth:`step` takes or renews it, :meth:`run` steps every
    ``renew`` seconds. :meth:`leading` is True only while the last renewal stands: a renewal that fails (another
    holder, or the database unreachable) ends leadership at once, and so does the lease running out on the clock
    between renewals (a stalled process stops by itself)."""

    def __init__(self, store: AsyncStore, clock: Clock, holder: str, *, lease: timedelta, renew: timedelta,
                 on_lead: Callable[[], Awaitable[None]] | None = None, name: str = LEADER_LEASE) -> None:
        self.store = store
        self.clock = clock
        self.holder = holder
        self.lease = lease
        self.renew = renew
        self.name = name
        self.on_lead = on_lead
        self.term: int | None = None
        self.failed = False  # the last step could not reach the database
        self._until: datetime | None = None

    def leading(self) -> bool:
        """True while this worker holds the lease (by its last renewal and the clock)."""
        return self._until is not None and self.clock.now() < self._until

    async def step(self) -> bool:
        """Take or renew the lease once; returns :meth:`leading` after it."""
        was_leading = self.leading()
        now = self.clock.now()
        self.failed = False
        try:
            term = await self.store.run(Store.take_lease, self.name, self.holder, now, now + self.lease)
        except Exception as exc:  # the database is unreachable or busy: nobody may be sure we still lead
            log.warning("could not renew the leadership lease (%s: %s)", type(exc).__name__, exc)
            self.failed, term = True, None
        if term is None:
            self._until = None
            if was_leading:
                log.warning("no longer leading (term %s): stopped sending; another worker takes over", self.term)
            return False
        self._until = now + self.lease
        if not was_leading:
            self.term = term
            log.info("leading the workers (term %d, %s)", term, self.holder)
            if self.on_lead is not None:
                try:
                    await self.on_lead()
                except Exception:
                    log.exception("taking the lead: the start-up work failed; the jobs run anyway")
        return True

    async def run(self) -> None:
        """Step every ``renew`` seconds (of real time: renewing is about staying alive) while leading, three times
        as often while waiting (a dead leader is replaced at most a third of ``renew`` after its lease ran out),
        within a second after a step the database did not answer; until cancelled."""
        while True:
            leading = await self.step()
            wait = self.renew.total_seconds() / (1 if leading else WAITING_TRIES)
            await asyncio.sleep(min(wait, RETRY_AFTER_ERROR) if self.failed else wait)

    async def release(self) -> None:
        """Give the lease up (a clean shutdown): a waiting worker takes over at its next step."""
        if self._until is None:
            return
        self._until = None
        try:
            await self.store.run(Store.release_lease, self.name, self.holder)
            log.info("gave up the leadership lease")
        except Exception as exc:
            log.warning("could not give up the leadership lease (%s); it runs out by itself", exc)
