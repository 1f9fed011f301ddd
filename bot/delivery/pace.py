"""The pace: one per bot token, shared by everything that sends in bulk (channel digests, DMs, DM channels,
threads, history reads), so that Discord never sees more than its global limit of requests in any second.

Discord counts requests as they *arrive*; the pace can only count them as it releases them. The gap between
the two (a busy event loop, a busy CPU) bunches requests up, so the pace keeps headroom: at most ``rate``
releases in any sliding second (47 by default against Discord's 50), evenly spaced. Every HTTP attempt takes
a slot, retries included. A global 429 (the token's budget was partly spent elsewhere) holds every sender
for its ``Retry-After``, then paces a tenth below what Discord refused and climbs back by 1 request/s every
5 s (so a stray 429 costs about a second of a long round, and a budget really lowered is found again).
"""

from __future__ import annotations

import asyncio
import collections
import math

RECOVER_STEP = 5.0  # after a global 429 the rate climbs back by 1/s every this many seconds


class Pace:
    """At most ``rate`` requests in any 1-second window, evenly spaced; ``refused`` backs off."""

    def __init__(self, rate: float) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.configured = rate
        self.rate = rate
        self._next = 0.0
        self._held_until = 0.0
        self._recover_at = 0.0
        self._recent: collections.deque[float] = collections.deque()
        self._lock = asyncio.Lock()
        self.acquired = 0
        self.refusals = 0

    @property
    def per_window(self) -> int:
        return max(1, math.floor(self.rate))

    async def acquire(self) -> None:
        """Wait for a slot (one HTTP attempt)."""
        async with self._lock:
            loop = asyncio.get_running_loop()
            while True:
                now = loop.time()
                if self.rate < self.configured and now >= self._recover_at:
                    self.rate = min(self.configured, self.rate + 1.0)
                    self._recover_at = now + RECOVER_STEP
                while self._recent and now - self._recent[0] >= 1.0:
                    self._recent.popleft()
                wait = max(self._next - now, self._held_until - now, 0.0)
                if len(self._recent) >= self.per_window:
                    wait = max(wait, self._recent[0] + 1.0 - now)
                if wait <= 0:
                    break
                await asyncio.sleep(wait)
            interval = 1.0 / self.rate
            # Keep to the schedule despite timer lateness (a late wake-up does not push later slots back);
            # after an idle spell start afresh. The window above caps any second whatever the timer does.
            self._next = (self._next if now - self._next < interval else now) + interval
            self._recent.append(now)
            self.acquired += 1

    def refused(self, retry_after: float) -> None:
        """Discord answered a global 429: hold everyone for ``retry_after``, then go a tenth slower than the
        pace that was refused (the requests of the last second, or the rate if lower), climbing back slowly."""
        now = asyncio.get_running_loop().time()
        self.refusals += 1
        held = now < self._held_until  # requests already on their way when the first refusal came
        self._held_until = max(self._held_until, now + retry_after)
        if held:
            return
        recent = sum(1 for stamp in self._recent if now - stamp < 1.0)
        self.rate = max(1.0, 0.9 * min(self.rate, max(recent, 1)))
        self._recover_at = now + RECOVER_STEP
