"""The pace: one per bot token, shared by everything that sends in bulk (channel digests, DMs, DM channels,
threads, history reads), so that Discord never sees more than ``rate`` requests in any second.

Discord counts requests as they *arrive*; a pace that counted them as it released them would be fooled by a
busy CPU or event loop, which bunches requests up on their way. So a request holds its place in the pace's
one-second window from the moment it is released until one second after its answer came back: whenever it
arrived at Discord, it arrived in between, so no second at Discord can hold more than ``rate`` of them (48 by
default against Discord's 50: headroom for Discord's own clock). Requests are also evenly spaced. Every HTTP
attempt takes a slot, retries included. A global 429 (the token's budget partly spent elsewhere) holds every
sender for its ``Retry-After``, then paces a tenth below what Discord refused and climbs back by 1 request/s
every 5 s (a stray 429 costs about a second of a long round; a budget really lowered is found again). It never
drops below a tenth of its configured rate: a refusal while it sent next to nothing says the budget went
elsewhere, not that its own pace was too fast, and crawling at 1/s would then cost minutes of climbing back.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import math
import time
from collections.abc import AsyncIterator, Awaitable, Callable

RECOVER_STEP = 5.0  # after a global 429 the rate climbs back by 1/s every this many seconds
POLL = 0.002  # how often a full window of requests still in flight is looked at again


class Pace:
    """At most ``rate`` requests in any 1-second window as Discord sees them, evenly spaced."""

    def __init__(self, rate: float, *, monotonic: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.monotonic = monotonic
        self._sleep = sleep
        self.configured = rate
        self.rate = rate
        self._next = 0.0
        self._held_until = 0.0
        self._recover_at = 0.0
        self._in_flight = 0
        self._answered: collections.deque[float] = collections.deque()  # when each recent answer came back
        self._lock = asyncio.Lock()
        self.acquired = 0
        self.refusals = 0

    @property
    def per_window(self) -> int:
        return max(1, math.floor(self.rate))

    def _in_window(self, now: float) -> int:
        while self._answered and now - self._answered[0] >= 1.0:
            self._answered.popleft()
        return self._in_flight + len(self._answered)

    @contextlib.asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Hold a slot for one HTTP attempt, from before it is sent until its answer (or failure)."""
        await self.acquire()
        try:
            yield
        finally:
            self.release()

    async def acquire(self) -> None:
        """Wait for a slot; :meth:`release` it when the answer is in (``slot`` does both)."""
        async with self._lock:
            while True:
                now = self.monotonic()
                if self.rate < self.configured and now >= self._recover_at:
                    self.rate = min(self.configured, self.rate + 1.0)
                    self._recover_at = now + RECOVER_STEP
                wait = max(self._next - now, self._held_until - now, 0.0)
                if self._in_window(now) >= self.per_window:
                    wait = max(wait, self._answered[0] + 1.0 - now if self._answered else POLL)
                if wait <= 0:
                    break
                await self._sleep(wait)
            interval = 1.0 / self.rate
            # Keep to the schedule despite timer lateness (a late wake-up does not push later slots back);
            # after an idle spell start afresh. The window above caps any second whatever the timer does.
            self._next = (self._next if now - self._next < interval else now) + interval
            self._in_flight += 1
            self.acquired += 1

    def release(self) -> None:
        """The answer to a request came back (or it failed): its slot leaves the window a second later."""
        self._in_flight -= 1
        self._answered.append(self.monotonic())

    def refused(self, retry_after: float) -> None:
        """Discord answered a global 429: hold everyone for ``retry_after``, then go a tenth slower than the
        pace that was refused (the requests of the last second, or the rate if lower), climbing back slowly."""
        now = self.monotonic()
        self.refusals += 1
        held = now < self._held_until  # requests already on their way when the first refusal came
        self._held_until = max(self._held_until, now + retry_after)
        if held:
            return
        recent = self._in_window(now)
        self.rate = max(self.configured / 10, 0.9 * min(self.rate, max(recent, 1)))
        self._recover_at = now + RECOVER_STEP
