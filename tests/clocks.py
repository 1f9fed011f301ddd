"""Clocks tests control: time that moves only when the code under test waits."""

from __future__ import annotations

import asyncio


class SteppedClock:
    """A monotonic clock for a pacer that moves only when the pacer sleeps (no real waiting)."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.waits: list[float] = []

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)
