"""A real local HTTP server that replays scripted responses: arXiv, Hugging Face, Hacker News, Bluesky, X.

Tests script it per path (and optionally per query), then point the bot at ``server.url`` through the settings::

    async with UpstreamServer() as upstream:
        upstream.reply("/api/query", body=atom_bytes, content_type="application/atom+xml")
        upstream.reply("/api/query", status=503, headers={"Retry-After": "1"}, body=b"busy")  # queued after
        settings = replace(settings, arxiv_api=upstream.url + "/api/query")

Replies queued for one path are served in order; the last one is repeated. Every request is recorded.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds before answering (for timeouts)
    drop: bool = False  # close the connection without answering (a reset)


@dataclass
class RecordedRequest:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    at: float  # loop.time() when it arrived


Handler = Callable[[web.Request], Awaitable[Reply]]


@dataclass
class _Script:
    query: Mapping[str, str] | None
    replies: list[Reply] | None = None
    handler: Handler | None = None


class UpstreamServer:
    def __init__(self) -> None:
        self._scripts: dict[tuple[str, str], list[_Script]] = {}
        self.requests: list[RecordedRequest] = []
        self._runner: web.AppRunner | None = None
        self.url = ""

    # ---- scripting
    def reply(self, path: str, body: bytes | str | Any = b"", *, status: int = 200, method: str = "GET",
              content_type: str | None = None, headers: Mapping[str, str] | None = None,
              query: Mapping[str, str] | None = None, delay: float = 0.0, drop: bool = False) -> None:
        """Queue a reply for ``method path`` (and, if given, requests whose query contains ``query``)."""
        if isinstance(body, str):
            payload, default_type = body.encode(), "text/plain"
        elif isinstance(body, bytes):
            payload, default_type = body, "application/octet-stream"
        else:
            import json

            payload, default_type = json.dumps(body).encode(), "application/json"
        reply = Reply(status, payload, content_type or default_type, dict(headers or {}), delay, drop)
        script = self._script(method, path, query)
        if script.replies is None:
            script.replies = []
        script.replies.append(reply)

    def handle(self, path: str, handler: Handler, *, method: str = "GET",
               query: Mapping[str, str] | None = None) -> None:
        """Answer ``method path`` with ``handler(request)`` each time."""
        self._script(method, path, query).handler = handler

    def clear(self) -> None:
        self._scripts.clear()
        self.requests.clear()

    def requests_to(self, path: str) -> list[RecordedRequest]:
        return [r for r in self.requests if r.path == path]

    def _script(self, method: str, path: str, query: Mapping[str, str] | None) -> _Script:
        scripts = self._scripts.setdefault((method.upper(), path), [])
        for script in scripts:
            if script.query == query:
                return script
        script = _Script(dict(query) if query is not None else None)
        # Scripts with a query are tried before the catch-all one.
        scripts.insert(0 if query is not None else len(scripts), script)
        return script

    # ---- serving
    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        self.requests.append(RecordedRequest(
            request.method, request.path, dict(request.query), dict(request.headers), body,
            asyncio.get_running_loop().time()))
        for script in self._scripts.get((request.method, request.path), []):
            if script.query is not None and any(request.query.get(k) != v for k, v in script.query.items()):
                continue
            if script.handler is not None:
                reply = await script.handler(request)
            elif script.replies:
                reply = script.replies.pop(0) if len(script.replies) > 1 else script.replies[0]
            else:
                continue
            return await self._send(request, reply)
        return web.json_response({"error": f"no scripted reply for {request.method} {request.path}"}, status=404)

    async def _send(self, request: web.Request, reply: Reply) -> web.StreamResponse:
        if reply.delay:
            await asyncio.sleep(reply.delay)
        if reply.drop:
            assert request.transport is not None
            request.transport.close()
            return web.Response(status=500)
        response = web.Response(status=reply.status, body=reply.body, headers=reply.headers)
        response.content_type = reply.content_type.split(";")[0]
        return response

    async def start(self) -> str:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._dispatch)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        sockets = site._server.sockets if site._server else []  # type: ignore[union-attr]
        port = sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        return self.url

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> UpstreamServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()
