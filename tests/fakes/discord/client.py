"""Running a real discord.py client in-process against a FakeDiscord."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING, TypeVar

import discord
import yarl
from discord.gateway import DiscordWebSocket
from discord.http import Route

if TYPE_CHECKING:
    from .server import FakeDiscord

C = TypeVar("C", bound=discord.Client)


@contextlib.contextmanager
def discord_py_pointed_at(fake: FakeDiscord) -> Iterator[None]:
    """Points discord.py's REST base and default gateway at the fake (process-wide), restoring them after."""
    old_base, old_gateway = Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY
    Route.BASE = fake.api_url
    DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(fake.gateway_url)
    try:
        yield
    finally:
        Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY = old_base, old_gateway


@contextlib.asynccontextmanager
async def run_client(
    fake: FakeDiscord,
    client: C,
    *,
    token: str | None = None,
    guild_ready_timeout: float | None = 0.1,
    ready_timeout: float = 10.0,
    skip_identify_delay: bool = True,
) -> AsyncIterator[C]:
    """Logs ``client`` in to the fake, connects it, waits for ``on_ready`` and yields it; closes it after.

    ``guild_ready_timeout`` overrides the client's own (discord.py waits that long after the last GUILD_CREATE
    before READY); pass None to keep the value the client was built with. ``skip_identify_delay`` replaces the
    client's ``before_identify_hook`` (discord.py's default sleeps 5 s before every IDENTIFY but the first:
    a re-identify after op 9, or shards after the first) with one that does not wait; False keeps it."""
    with discord_py_pointed_at(fake):
        if guild_ready_timeout is not None:
            client._connection.guild_ready_timeout = guild_ready_timeout
        if skip_identify_delay:

            async def no_identify_delay(shard_id: int | None, *, initial: bool = False) -> None:
                return None

            client.before_identify_hook = no_identify_delay  # type: ignore[method-assign]
        await client.login(token or fake.token)
        runner = asyncio.create_task(client.connect(reconnect=True), name="fake-discord-client")
        ready = asyncio.create_task(client.wait_until_ready())
        try:
            done, _ = await asyncio.wait(
                {runner, ready}, timeout=ready_timeout, return_when=asyncio.FIRST_COMPLETED
            )
            if runner in done:
                runner.result()  # re-raise why the client stopped
                raise RuntimeError("the client stopped before it was ready")
            if ready not in done:
                raise TimeoutError(f"client not ready within {ready_timeout}s")
            yield client
        finally:
            ready.cancel()
            await client.close()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(runner, 5)
