"""The one way tests wait for an effect they cannot await directly (another process's log, a background task's
write): poll a condition until it holds, with a deadline and a message saying what was awaited."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable


async def eventually(condition: Callable[[], bool | Awaitable[bool]], within: float = 5.0, what: str = "the condition",
                     *, interval: float = 0.01) -> None:
    """Return once ``condition()`` (sync or async) is true; raise TimeoutError naming ``what`` after ``within``
    seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        result = condition()
        if inspect.isawaitable(result):
            result = await result
        if result:
            return
        if loop.time() > deadline:
            raise TimeoutError(f"timed out after {within}s waiting for {what}")
        await asyncio.sleep(interval)
