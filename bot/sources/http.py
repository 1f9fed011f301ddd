"""HTTP for every source: one retry core, paced, bounded, with a body cap and a redirect policy.

:class:`HttpCore` is the one place that decides retry or give up. It retries 429/5xx (honouring
``Retry-After`` in seconds or as an HTTP date), timeouts, connection resets and bodies a source calls
throttling (arXiv's 200 "Rate exceeded."); it gives up, raising :class:`Unavailable` (an
:class:`~bot.errors.UpstreamError` naming the service and when to try again), once the attempts run out, when
the server asks for a longer wait than the policy allows, or when the policy's ``deadline`` (the total a person
waits) would pass. Every body is read in chunks and refused past ``max_body`` bytes; a request carrying
credentials never follows a redirect to another host.

A :class:`Pacer` serialises a service's requests and keeps them ``interval`` seconds apart (monotonic clock);
:func:`shared_pacer` hands out one pacer per service and event loop, so the whole process shares it. Its clock
(``monotonic`` and ``sleep``) is the one its first user hands in, the real one unless a test passes its own.
:class:`PoliteHttp` (arXiv) is the core with the service's shared pacer; the engagement sources' ``JsonClient``
(bot/sources/observations.py) is the core without one, telling their failures apart.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
import weakref
from collections.abc import Awaitable, Callable, Mapping
from contextlib import AbstractAsyncContextManager, nullcontext
from dataclasses import dataclass, replace
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any, Literal

import aiohttp
from yarl import URL

from bot import __version__ as _version
from bot.clock import Clock, SystemClock
from bot.errors import UpstreamError

log = logging.getLogger(__name__)

USER_AGENT = f"hotpapers/{_version} (a Discord bot for arXiv mailings)"
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
MAX_REDIRECTS = 5
# The biggest legitimate body is a few MB (a 2,000-result API page, a feed of every category): 32 MB leaves
# room and keeps a hostile one from filling memory. Settable as [http] max_body_mb.
DEFAULT_MAX_BODY = 32 * 1024 * 1024
CHUNK = 64 * 1024

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
    unless the server says how long to wait (``Retry-After``; asking more than ``max_retry_after`` ends the
    tries at once); ``timeout`` per attempt; ``deadline``, if set, bounds the whole call, waits included
    (a command a person waits on); None is the bot's patience."""

    attempts: int = 4
    backoff: float = 2.0
    max_backoff: float = 60.0
    max_retry_after: float = 120.0
    timeout: float = 30.0
    deadline: float | None = None

    def delay(self, attempt: int) -> float:
        """Seconds before attempt ``attempt + 1`` when the server gave no hint (attempts count from 1)."""
        return float(min(self.backoff * 2 ** (attempt - 1), self.max_backoff))


class Pacer:
    """One request at a time, at least ``interval`` seconds apart; :meth:`defer` pushes the next one back."""

    def __init__(self, *, monotonic: Callable[[], float] = time.monotonic,
                 sleep: Sleep = asyncio.sleep) -> None:
        self._lock = asyncio.Lock()
        self.monotonic = monotonic
        self.sleep = sleep
        self._last_start: float | None = None
        self._not_before = 0.0

    def defer(self, seconds: float) -> None:
        """Let no request start within ``seconds`` from now (a server asked us to back off)."""
        self._not_before = max(self._not_before, self.monotonic() + seconds)

    async def slot(self, interval: float) -> _Slot:
        """Wait for this service's turn; use as ``async with await pacer.slot(interval):``."""
        await self._lock.acquire()
        try:
            earliest = self._not_before
            if self._last_start is not None:
                earliest = max(earliest, self._last_start + interval)
            wait = earliest - self.monotonic()
            if wait > 0:
                await self.sleep(wait)
            self._last_start = self.monotonic()
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


def shared_pacer(service: str, *, monotonic: Callable[[], float] = time.monotonic,
                 sleep: Sleep = asyncio.sleep) -> Pacer:
    """The process-wide pacer of ``service`` (one per event loop, since asyncio locks belong to a loop), made
    on ``monotonic`` and ``sleep`` by its first user; asking for it on another clock is a ValueError."""
    pacers = _pacers.setdefault(asyncio.get_running_loop(), {})
    pacer = pacers.get(service)
    if pacer is None:
        pacer = pacers[service] = Pacer(monotonic=monotonic, sleep=sleep)
    elif pacer.monotonic != monotonic or pacer.sleep != sleep:
        raise ValueError(f"the shared {service} pacer already runs on another clock")
    return pacer


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


# Seconds a command a person waits on may spend on one upstream, waits included: with start-up and the
# store, such a command ends within 30 s (bench_hostile).
PERSON_DEADLINE = 25.0


def for_a_person(policy: RetryPolicy, deadline: float = PERSON_DEADLINE) -> RetryPolicy:
    """``policy`` bounded for a command a person waits on: at most ``deadline`` seconds in all, then an
    answer saying when to try again (the bot's scheduled jobs keep the patient policy)."""
    return replace(policy, attempts=min(policy.attempts, 3), max_retry_after=min(policy.max_retry_after,
                   deadline / 2), timeout=min(policy.timeout, deadline / 2), deadline=deadline)


FailureKind = Literal["down", "rate-limited", "unreachable", "refused"]


class Unavailable(UpstreamError):
    """The core gave up on a request: ``kind`` says why, ``retry_in`` (seconds) when trying again makes
    sense, if known."""

    def __init__(self, service: str, kind: FailureKind, reason: str, *, tries: int,
                 retry_in: float | None = None) -> None:
        text = f"{service} is unavailable: {reason}"
        if kind != "refused":
            text += f" after {tries} {'try' if tries == 1 else 'tries'}"
        if retry_in is not None:
            text += f"; try again in {_duration(retry_in)}"
        super().__init__(text)
        self.service = service
        self.kind: FailureKind = kind
        self.reason = reason
        self.retry_in = retry_in


class _Refused(Exception):
    """A response not worth retrying and not worth returning (too big, a redirect we will not follow)."""


class HttpCore:
    """One service's requests: paced (with a ``pacer``) or not, retried, bounded. Statuses not worth retrying
    are returned as they are; :class:`Unavailable` once the core gives up."""

    def __init__(self, session: aiohttp.ClientSession, *, service: str, interval: float = 0.0,
                 retry: RetryPolicy | None = None, pacer: Pacer | None = None, shared: bool = False,
                 is_throttled: Callable[[HttpResponse], bool] | None = None, clock: Clock | None = None,
                 max_body: int = DEFAULT_MAX_BODY, sleep: Sleep = asyncio.sleep,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.session = session
        self.service = service
        self.interval = interval
        self.retry = retry or RetryPolicy()
        self.max_body = max_body
        self.headers: dict[str, str] = {"User-Agent": USER_AGENT}
        self._pacer = pacer
        self._shared = shared  # use the process-wide pacer of ``service`` (on monotonic/sleep) when none is given
        self._is_throttled = is_throttled or (lambda response: False)
        self._clock = clock or SystemClock()
        self._sleep = sleep
        self._monotonic = monotonic
        self.requests = 0  # attempts made, for reports and benchmarks

    @property
    def pacer(self) -> Pacer | None:
        if self._pacer is None and self._shared:
            self._pacer = shared_pacer(self.service, monotonic=self._monotonic, sleep=self._sleep)
        return self._pacer

    async def request(self, method: str, url: str, *, params: Mapping[str, str | int] | None = None,
                      json: Any = None, headers: Mapping[str, str] | None = None,
                      credentialed: bool | None = None, read_body: bool = True) -> HttpResponse:
        """Send until a response worth returning arrives, or give up (:class:`Unavailable`).

        ``credentialed`` (default: an Authorization header or a body is sent) forbids following a redirect
        to another host: the credentials would go with it."""
        request_headers = {**self.headers, **(headers or {})}
        if credentialed is None:
            credentialed = json is not None or any(k.lower() == "authorization" for k in request_headers)
        policy = self.retry
        monotonic = self.pacer.monotonic if self.pacer is not None else self._monotonic
        started = monotonic()
        reason = "no attempt made"
        for attempt in range(1, policy.attempts + 1):
            server_delay: float | None = None
            kind: FailureKind = "unreachable"
            async with await self._slot():
                remaining = (None if policy.deadline is None
                             else policy.deadline - (monotonic() - started))
                if remaining is not None and remaining <= 0:  # the turn came too late (others were waiting)
                    if attempt == 1:
                        reason = f"no turn within {policy.deadline:g} s"
                    raise Unavailable(self.service, "rate-limited", reason, tries=attempt - 1,
                                      retry_in=self._suggest(None, attempt))
                timeout = policy.timeout if remaining is None else min(policy.timeout, remaining)
                self.requests += 1
                try:
                    response = await self._send(method, url, params, json, request_headers,
                                                aiohttp.ClientTimeout(total=timeout),
                                                credentialed=credentialed, read_body=read_body)
                except TimeoutError:
                    reason = f"no answer within {timeout:.3g} s"
                except aiohttp.ClientError as exc:
                    reason = f"connection failed ({_describe(exc)})"
                except _Refused as exc:
                    log.warning("%s: %s", self.service, exc)
                    raise Unavailable(self.service, "refused", str(exc), tries=attempt) from None
                else:
                    if response.status in RETRY_STATUSES:
                        kind = "rate-limited" if response.status == 429 else "down"
                        server_delay = retry_after_seconds(response.headers.get("Retry-After"),
                                                           self._clock.now())
                        reason = f"HTTP {response.status}" + (
                            f", Retry-After {server_delay:.0f} s" if server_delay is not None else "")
                    elif response.ok and self._is_throttled(response):
                        kind, reason = "rate-limited", "rate limited (\"Rate exceeded.\")"
                    else:
                        return response
            delay = server_delay if server_delay is not None else policy.delay(attempt)
            if server_delay is not None and server_delay > policy.max_retry_after:
                raise Unavailable(self.service, kind, reason, tries=attempt, retry_in=server_delay)
            elapsed = monotonic() - started
            if attempt == policy.attempts or (
                    policy.deadline is not None and elapsed + delay + 1.0 > policy.deadline):
                raise Unavailable(self.service, kind, reason, tries=attempt,
                                  retry_in=self._suggest(server_delay, attempt))
            log.warning("%s: %s; retrying in %.1f s (attempt %d of %d)",
                        self.service, reason, delay, attempt + 1, policy.attempts)
            await self._wait(delay)
        raise AssertionError("unreachable")  # pragma: no cover - the loop always returns or raises

    async def _slot(self) -> AbstractAsyncContextManager[None]:
        pacer = self.pacer
        return await pacer.slot(self.interval) if pacer is not None else nullcontext()

    async def _wait(self, seconds: float) -> None:
        pacer = self.pacer
        if pacer is not None:
            # Deferring the pacer (not sleeping here) makes every other request to the service wait too.
            pacer.defer(seconds)
        else:
            await self._sleep(seconds)

    def _suggest(self, server_delay: float | None, attempt: int) -> float:
        """When to try again after giving up: what the server said, or at least a minute."""
        return server_delay if server_delay is not None else max(60.0, self.retry.delay(attempt))

    async def _send(self, method: str, url: str, params: Mapping[str, str | int] | None, json: Any,
                    headers: Mapping[str, str], client_timeout: aiohttp.ClientTimeout, *, credentialed: bool,
                    read_body: bool) -> HttpResponse:
        """One attempt, following at most MAX_REDIRECTS redirects (to the same host only with credentials)."""
        origin = URL(url).origin()
        for _ in range(MAX_REDIRECTS + 1):
            async with self.session.request(method, url, params=params, json=json, headers=headers,
                                            timeout=client_timeout, allow_redirects=False) as raw:
                location = raw.headers.get("Location")
                if raw.status in REDIRECT_STATUSES and location:
                    target = raw.url.join(URL(location))
                    if credentialed and target.origin() != origin:
                        raise _Refused(f"refused a redirect to {target.origin()} (the request carries "
                                       "credentials)")
                    if raw.status == 303 or (raw.status in (301, 302) and method == "POST"):
                        method, json = "GET", None
                    url, params = str(target), None
                    continue
                body = await self._read(raw) if read_body else b""
                return HttpResponse(str(raw.url), raw.status, dict(raw.headers), body)
        raise _Refused(f"more than {MAX_REDIRECTS} redirects")

    async def _read(self, raw: aiohttp.ClientResponse) -> bytes:
        """The body, in chunks, refused past ``max_body`` bytes (decompressed size)."""
        limit = self.max_body
        cap = f"the {limit / 2**20:g} MB cap on a response ([http] max_body_mb)"
        if raw.content_length is not None and raw.content_length > limit:
            raise _Refused(f"a response of {raw.content_length / 2**20:,.0f} MB is over {cap}; refused")
        chunks: list[bytes] = []
        size = 0
        async for chunk in raw.content.iter_chunked(CHUNK):
            size += len(chunk)
            if size > limit:
                raise _Refused(f"a response over {cap}; refused")
            chunks.append(chunk)
        return b"".join(chunks)


class PoliteHttp(HttpCore):
    """GET requests to one service, paced by ``pacer`` or else the service's process-wide pacer (made on
    ``monotonic`` and ``sleep``), retried, bounded."""

    def __init__(self, session: aiohttp.ClientSession, *, service: str, interval: float = 0.0,
                 retry: RetryPolicy | None = None, pacer: Pacer | None = None,
                 is_throttled: Callable[[HttpResponse], bool] | None = None,
                 clock: Clock | None = None, max_body: int = DEFAULT_MAX_BODY,
                 monotonic: Callable[[], float] = time.monotonic, sleep: Sleep = asyncio.sleep) -> None:
        super().__init__(session, service=service, interval=interval, retry=retry, pacer=pacer, shared=True,
                         is_throttled=is_throttled, clock=clock, max_body=max_body, sleep=sleep,
                         monotonic=monotonic)

    async def get(self, url: str, *, params: Mapping[str, str] | None = None,
                  headers: Mapping[str, str] | None = None, read_body: bool = True) -> HttpResponse:
        """GET ``url``; retries what is worth retrying and raises Unavailable once it gives up."""
        return await self.request("GET", url, params=params, headers=headers, read_body=read_body)


def _duration(seconds: float) -> str:
    """``seconds`` for people: "45 s", "3 min", "2 h"."""
    if seconds < 60:
        return f"{max(1, math.ceil(seconds))} s"
    if seconds < 3600:
        return f"{math.ceil(seconds / 60)} min"
    return f"{math.ceil(seconds / 3600)} h"


def _describe(exc: aiohttp.ClientError) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
