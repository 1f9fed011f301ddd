"""Discord's REST API for bulk sends, one attempt per call: every attempt takes a slot of the pace, and what
Discord refuses comes back sorted, never retried behind the pace's back (discord.py's own client retries 429s
and 5xx inside one call, which is why bulk sends do not go through it).

- :class:`RetryLater`: a 429 of any kind (global or per route, with or without ``Via``, as a proxy answers),
  a 5xx, a timeout or a broken connection. The caller tries again later.
- :class:`Refused`: Discord said no for good: 403 (50001 missing access, 50013 missing permissions, 50007 DMs
  closed), 404 (10003 unknown channel) or 400 (50035 invalid payload, with the field at fault).

Per-route limits (5 messages per 5 s per channel) are read from the ``X-RateLimit-*`` headers: a route whose
bucket is empty waits for its reset before the next attempt, so the bot does not earn those 429s either.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from typing import Any

import aiohttp

from bot.delivery.pace import Pace

USER_AGENT = "DiscordBot (https://github.com/hotpapers/hotpapers, 1.0)"


class RetryLater(Exception):
    """Discord could not take the request now; ``retry_after`` seconds is its hint (0: none given)."""

    def __init__(self, reason: str, retry_after: float = 0.0, *, is_global: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after
        self.is_global = is_global


class Refused(Exception):
    """Discord refused the request for good: ``status``, Discord's ``code`` and what it said."""

    def __init__(self, status: int, code: int, text: str, field: str | None = None) -> None:
        super().__init__(f"{text} ({code})" if code else f"HTTP {status}: {text}")
        self.status = status
        self.code = code
        self.text = text
        self.field = field

    @property
    def error(self) -> str:
        where = f" at {self.field}" if self.field else ""
        return f"{self.text} ({self.code}){where}" if self.code else f"HTTP {self.status}{where}"


def first_field(errors: Mapping[str, Any], path: str = "") -> str | None:
    """The first field of Discord's 50035 error tree, as ``embeds.0.title: Must be 256 or fewer…``."""
    for key, value in errors.items():
        if key == "_errors" and isinstance(value, list) and value:
            return f"{path or 'body'}: {value[0].get('message', '')}"
        if isinstance(value, Mapping):
            found = first_field(value, f"{path}.{key}" if path else key)
            if found:
                return found
    return None


class DiscordRest:
    """The few REST calls bulk delivery makes, each one attempt, paced."""

    def __init__(self, session: aiohttp.ClientSession, api: str, token: str, pace: Pace, *,
                 timeout: float = 30.0) -> None:
        self.session = session
        self.api = api.rstrip("/")
        self._headers = {"Authorization": f"Bot {token}", "User-Agent": USER_AGENT}
        self.pace = pace
        self.timeout = timeout
        self._blocked: dict[str, float] = {}  # route bucket key → loop time its bucket refills
        self.attempts = 0

    async def _call(self, method: str, path: str, bucket: str, body: Any = None,
                    params: Mapping[str, str] | None = None) -> Any:
        loop = asyncio.get_running_loop()
        wait = self._blocked.get(bucket, 0.0) - loop.time()
        if wait > 0:
            await asyncio.sleep(wait)
        self.attempts += 1
        try:
            async with self.pace.slot(), asyncio.timeout(self.timeout), self.session.request(
                    method, self.api + path, json=body, params=params, headers=self._headers) as response:
                text = await response.text()
                headers = response.headers
                status = response.status
        except TimeoutError:
            raise RetryLater(f"no answer within {self.timeout:g} s") from None
        except aiohttp.ClientError as exc:
            raise RetryLater(f"network: {exc.__class__.__name__}") from None
        if headers.get("X-RateLimit-Remaining") == "0":
            self._blocked[bucket] = loop.time() + _float(headers.get("X-RateLimit-Reset-After"))
        else:
            self._blocked.pop(bucket, None)
        data: Any = None
        if text and "json" in headers.get("Content-Type", ""):
            try:
                data = json.loads(text)
            except ValueError:
                data = None
        if status < 300:
            return data
        if status == 429:
            body_retry = _float(data.get("retry_after")) if isinstance(data, dict) else 0.0
            retry_after = body_retry or _float(headers.get("Retry-After")) or 1.0
            is_global = bool(isinstance(data, dict) and data.get("global")) or \
                headers.get("X-RateLimit-Global") == "true" or "Via" not in headers
            if is_global:  # a proxy's 429 (no Via) says nothing of scope: hold everyone
                self.pace.refused(retry_after)
            else:
                self._blocked[bucket] = loop.time() + retry_after
            raise RetryLater(f"rate limited ({'global' if is_global else 'route'}, retry after "
                             f"{retry_after:g} s)", retry_after, is_global=is_global)
        if status >= 500:
            raise RetryLater(f"Discord server error {status}")
        code = int(data.get("code", 0) or 0) if isinstance(data, dict) else 0
        message = str(data.get("message", "")) if isinstance(data, dict) else text[:200]
        field = first_field(data["errors"]) if isinstance(data, dict) and isinstance(
            data.get("errors"), Mapping) else None
        raise Refused(status, code, message or f"HTTP {status}", field)

    async def send_message(self, channel_id: int, payload: Mapping[str, Any]) -> dict[str, Any]:
        data = await self._call("POST", f"/channels/{channel_id}/messages", f"messages:{channel_id}",
                                payload)
        return dict(data)

    async def edit_message(self, channel_id: int, message_id: int, payload: Mapping[str, Any]) -> dict[str, Any]:
        data = await self._call("PATCH", f"/channels/{channel_id}/messages/{message_id}", f"edits:{channel_id}",
                                payload)
        return dict(data)

    async def open_dm(self, user_id: int) -> int:
        data = await self._call("POST", "/users/@me/channels", "dm-open", {"recipient_id": str(user_id)})
        return int(data["id"])

    async def start_thread(self, channel_id: int, message_id: int, name: str) -> int:
        data = await self._call("POST", f"/channels/{channel_id}/messages/{message_id}/threads",
                                f"threads:{channel_id}", {"name": name[:100], "auto_archive_duration": 1440})
        return int(data["id"])

    async def history(self, channel_id: int, limit: int = 50) -> list[dict[str, Any]]:
        data = await self._call("GET", f"/channels/{channel_id}/messages", f"history:{channel_id}",
                                params={"limit": str(limit)})
        return list(data or [])


def _float(value: Any) -> float:
    try:
        return max(0.0, float(value))
    except (TypeError, ValueError):
        return 0.0
