"""Delivery claims: in a cluster, a process sends a delivery only while it holds that delivery's claim, so two
processes (two workers across a fail-over, or a worker and a gateway's ``/digest now``) never send the same one.

A claim is taken atomically in the store (:meth:`bot.store.cluster.ClusterStore.claim_delivery`) before the
ledger is read, and re-checked before every HTTP attempt of every message (fencing): while more than half of
its time is left it is certainly still ours (nobody can take it before it runs out), past that it is extended
in the store, and once it has run out it is lost for good — another process may have taken, finished and
released it, so the next tick starts again from the ledger.
"""

from __future__ import annotations

import contextlib
import logging
from datetime import datetime, timedelta

from bot.clock import Clock
from bot.store import AsyncStore, Store
from bot.store.digests import TargetKind

log = logging.getLogger(__name__)

Key = tuple[TargetKind, int, str]  # (kind, target id, period): one delivery, as the ledger keys it


class ClaimLost(Exception):
    """This process no longer holds the delivery's claim: it must not send another message of it."""


class Claims:
    """The claims of one process (``holder``), each good for ``ttl`` on the clock unless extended."""

    def __init__(self, store: AsyncStore, clock: Clock, holder: str, ttl: timedelta) -> None:
        self.store = store
        self.clock = clock
        self.holder = holder
        self.ttl = ttl
        self._until: dict[Key, datetime] = {}

    async def take(self, key: Key) -> bool:
        """Claim the delivery; False when another process holds a claim on it that has not run out."""
        holder, now, until = self.ticket()
        if not await self.store.run(Store.claim_delivery, *key, holder, now, until):
            return False
        self.taken(key, until)
        return True

    def ticket(self) -> tuple[str, datetime, datetime]:
        """(holder, now, until) to claim a delivery in the store along with other work in one trip; say
        :meth:`taken` when it was."""
        now = self.clock.now()
        return self.holder, now, now + self.ttl

    def taken(self, key: Key, until: datetime) -> None:
        self._until[key] = until

    def forget(self, key: Key) -> None:
        """The claim was released in the store along with other work."""
        self._until.pop(key, None)

    async def hold(self, key: Key) -> None:
        """Fencing: return while the claim is still ours (extending it past half its time), else raise
        :class:`ClaimLost`."""
        until = self._until.get(key)
        now = self.clock.now()
        if until is None or now >= until:
            self._until.pop(key, None)
            raise ClaimLost(f"the claim on {key} ran out")
        if until - now > self.ttl / 2:
            return
        if not await self.store.run(Store.extend_claim, *key, self.holder, now, now + self.ttl):
            self._until.pop(key, None)
            raise ClaimLost(f"the claim on {key} was taken over")
        self._until[key] = now + self.ttl

    async def release(self, key: Key) -> None:
        """Drop the claim (done, or stopping); a failure only leaves it to run out."""
        self._until.pop(key, None)
        with contextlib.suppress(Exception):
            await self.store.run(Store.release_claim, *key, self.holder)
