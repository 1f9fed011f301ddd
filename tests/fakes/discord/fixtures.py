"""Reusable pytest fixtures for the fake Discord. Import them in tests/conftest.py::

from tests.fakes.discord.fixtures import fake_discord, fake_discord_empty, fake_discord_env  # noqa: F401
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from .server import FakeDiscord


@pytest.fixture
async def fake_discord() -> AsyncIterator[FakeDiscord]:
    """A running fake Discord with the standard world built (``fake.world``: guild, #papers, #news, a thread,
    #staff hidden from the bot, #read-only, admin / member / closed-DMs members). Channel message window is
    Discord's 5 per 5 s; to hit it fast, build your own ``FakeDiscord(channel_message_period=…)``."""
    async with FakeDiscord() as fake:
        fake.build_standard_world()
        yield fake


@pytest.fixture
async def fake_discord_empty() -> AsyncIterator[FakeDiscord]:
    """A running fake Discord with no guilds: build your own world with ``add_guild`` / ``add_channel``…"""
    async with FakeDiscord() as fake:
        yield fake


@pytest.fixture
def fake_discord_env(fake_discord: FakeDiscord, tmp_path: Path) -> dict[str, str]:
    """Environment for a bot in its own process: ``HOTPAPERS_DISCORD_API``, ``HOTPAPERS_DISCORD_GATEWAY``,
    ``DISCORD_TOKEN`` and ``HOTPAPERS_TEST_CLOCK`` (a file; move time with
    ``FakeDiscord.write_bot_clock(Path(env["HOTPAPERS_TEST_CLOCK"]), when)``)."""
    return fake_discord.env(clock_file=tmp_path / "bot-clock.txt")
