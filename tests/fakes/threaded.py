"""The upstream replay server on its own thread and event loop, for synchronous tests of ``bot.cli.main``
(which calls ``asyncio.run`` itself, so the server cannot share the test's loop)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import pytest

from tests.fakes.upstream import Handler, RecordedRequest, UpstreamServer

T = TypeVar("T")


class ThreadedUpstream:
    """Same scripting as :class:`UpstreamServer` (``reply``, ``requests_to``), called from any thread."""

    def __init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="upstream", daemon=True)
        self.server = UpstreamServer()
        self.url = ""

    def start(self) -> None:
        self._thread.start()
        self.url = self._call(self.server.start)

    def stop(self) -> None:
        self._call(self.server.close)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)
        self._loop.close()

    def reply(self, path: str, body: Any = b"", **options: Any) -> None:
        self._call_sync(lambda: self.server.reply(path, body, **options))

    def handle(self, path: str, handler: Handler, **options: Any) -> None:
        """Answer ``path`` with ``handler(request)``, run on the server's own thread and loop."""
        self._call_sync(lambda: self.server.handle(path, handler, **options))

    @property
    def requests(self) -> list[RecordedRequest]:
        return self._call_sync(lambda: list(self.server.requests))

    def requests_to(self, path: str) -> list[RecordedRequest]:
        return self._call_sync(lambda: self.server.requests_to(path))

    def _call(self, coroutine_function: Callable[[], Any]) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine_function(), self._loop).result(timeout=10)

    def _call_sync(self, function: Callable[[], T]) -> T:
        async def run() -> T:
            return function()

        result: T = asyncio.run_coroutine_threadsafe(run(), self._loop).result(timeout=10)
        return result


@pytest.fixture
def threaded_upstream() -> Iterator[ThreadedUpstream]:
    """A replay server running beside a synchronous test."""
    server = ThreadedUpstream()
    server.start()
    try:
        yield server
    finally:
        server.stop()
