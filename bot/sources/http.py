"""Polite HTTP for every source: one request at a time per service, paced, with retries.

A :class:`Pacer` serialises a service's requests and keeps them ``interval`` seconds apart (monotonic clock);
:func:`shared_pacer` hands out one pacer per service and event loop, so the whole process shares it.
:class:`PoliteHttp` retries 429/5xx (honouring ``Retry-After`` in seconds or as an HTTP date, capped),
timeouts, connection resets and bodies a source calls throttling (arXiv's 200 "Rate exceeded."), then raises
:class:`~bot.errors.UpstreamError` naming the service.
"""

from __future__ import annotations

import asyncio
import logging
import time
import weakref
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from email.utils import parsedate_to_datetime

import aiohttp

from bot import __version__ as _version
from bot.clock import Clock, SystemClock
from bot.errors import UpstreamError

log = logging.getLogger(__name__)

USER_AGENT = f"hotpapers/{_version} (a Discord bot for arXiv mailings)"
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})

Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class HttpResponse:
    """A finished response: status, headers and the whole body."""

    url: str
    status: int
    headers: Mapping[str, str]
    body: bytes

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How hard to try: ``attempts`` in all; exponential ``backoff`` (doubling, at most ``max_backoff``)
    unless the server says how long to wait (``Retry-After``, at most ``max_retry_after``); ``timeout`` per
    attempt."""

    attempts: int = 4
    backoff: float = 2.0
    max_backoff: float = 60.0
    max_retry_after: float = 120.0
    timeout: float = 30.0

    def delay(self, attempt: int) -> float:
        """Seconds before attempt ``attempt + 1`` when the server gave no hint (attempts count from 1)."""
        return float(min(self.backoff * 2 ** (attempt - 1), self.max_backoff))


class Pacer:
    """One request at a time, at least ``interval`` seconds apart; :meth:`defer` pushes the next one back."""

    def __init__(self, *, monotonic: Callable[[], float] = time.monotonic,
                 sleep: Sleep = asyncio.sleep) -> None:
        self._lock = asyncio.Lock()
        self._monotonic = monotonic
        self._sleep = sleep
        self._last_start: float | None = None
        self._not_before = 0.0

    def defer(self, seconds: float) -> None:
        """Let no request start within ``seconds`` from now (a server asked us to back off)."""
        self._not_before = max(self._not_before, self._monotonic() + seconds)

    async def slot(self, interval: float) -> _Slot:
        """Wait for this service's turn; use as ``async with await pacer.slot(interval):``."""
        await self._lock.acquire()
        try:
            earliest = self._not_before
            if self._last_start is not None:
                earliest = max(earliest, self._last_start + interval)
            wait = earliest - self._monotonic()
            if wait > 0:
                await self._sleep(wait)
            self._last_start = self._monotonic()
        except BaseException:
            self._lock.release()
            raise
        return _Slot(self._lock)


class _Slot:
    def __init__(self, lock: asyncio.Lock) -> None:
        self._lock = lock

    async def __aenter__(self) -> None:
        return None

    async def __aexit__(self, *exc: object) -> None:
        self._lock.release()


_pacers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, Pacer]] = weakref.WeakKeyDictionary()


def shared_pacer(service: str) -> Pacer:
    """The process-wide pacer of ``service`` (one per event loop, since asyncio locks belong to a loop)."""
    loop = asyncio.get_running_loop()
    return _pacers.setdefault(loop, {}).setdefault(service, Pacer())


def retry_after_seconds(value: str | None, now: datetime) -> float | None:
    """``Retry-After`` as seconds from ``now`` (it holds seconds or an HTTP date); None if absent or odd."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # "-0000" dates parse naive; HTTP dates are GMT
        return None
    return max(0.0, (when - now).total_seconds())


class PoliteHttp:
    """GET requests to one service, paced and retried. Any status not worth retrying is returned as is."""

    def __init__(self, session: aiohttp.ClientSession, *, service: str, interval: float = 0.0,
                 retry: RetryPolicy | None = None, pacer: Pacer | None = None,
                 is_throttled: Callable[[HttpResponse], bool] | None = None,
                 clock: Clock | None = None) -> None:
        self.session = session
        self.service = service
        self.interval = interval
        self.retry = retry or RetryPolicy()
        self._pacer = pacer
        self._is_throttled = is_throttled or (lambda response: False)
        self._clock = clock or SystemClock()
        self.requests = 0  # attempts made, for reports and benchmarks

    @property
    def pacer(self) -> Pacer:
        if self._pacer is None:
            self._pacer = shared_pacer(self.service)
        return self._pacer

    async def get(self, url: str, *, params: Mapping[str, str] | None = None,
                  headers: Mapping[str, str] | None = None, read_body: bool = True) -> HttpResponse:
        """GET ``url``; retries what is worth retrying and raises UpstreamError once attempts run out."""
        request_headers = {"User-Agent": USER_AGENT, **(headers or {})}
        timeout = aiohttp.ClientTimeout(total=self.retry.timeout)
        reason = "no attempt made"
        for attempt in range(1, self.retry.attempts + 1):
            server_delay: float | None = None
            async with await self.pacer.slot(self.interval):
                self.requests += 1
                try:
                    async with self.session.get(url, params=params, headers=request_headers,
                                                timeout=timeout) as raw:
                        body = await raw.read() if read_body else b""
                        response = HttpResponse(str(raw.url), raw.status, dict(raw.headers), body)
                except TimeoutError:
                    reason = f"no answer within {self.retry.timeout:g} s"
                except aiohttp.ClientError as exc:
                    reason = f"connection failed ({_describe(exc)})"
                else:
                    if response.status in RETRY_STATUSES:
                        reason = f"HTTP {response.status}"
                        server_delay = retry_after_seconds(response.headers.get("Retry-After"),
                                                           self._clock.now())
                    elif response.ok and self._is_throttled(response):
                        reason = "rate limited (\"Rate exceeded.\")"
                    else:
                        return response
            if attempt == self.retry.attempts:
                break
            delay = (min(server_delay, self.retry.max_retry_after) if server_delay is not None
                     else self.retry.delay(attempt))
            log.warning("%s: %s; retrying in %.1f s (attempt %d of %d)",
                        self.service, reason, delay, attempt + 1, self.retry.attempts)
            # Deferring the pacer (not sleeping here) makes every other request to the service wait too.
            self.pacer.defer(delay)
        raise UpstreamError(f"{self.service} is unavailable: {reason} after {self.retry.attempts} "
                            f"{'try' if self.retry.attempts == 1 else 'tries'}")


def _describe(exc: aiohttp.ClientError) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
