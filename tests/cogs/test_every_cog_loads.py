"""Every module in cogs/ is an extension the bot loads: a cog written but forgotten in EXTENSIONS fails here."""

from __future__ import annotations

import pkgutil

import cogs
from bot.client import EXTENSIONS
from tests.fakes.discord import FakeDiscord
from tests.harness import Seed, bot_settings, running_bot


def test_every_module_in_cogs_is_listed_as_an_extension() -> None:
    modules = {f"cogs.{info.name}" for info in pkgutil.iter_modules(cogs.__path__)}
    assert modules == set(EXTENSIONS), f"in cogs/ but not loaded: {sorted(modules - set(EXTENSIONS))}"


async def test_the_running_bot_has_loaded_every_extension(world: FakeDiscord, seeded: Seed) -> None:
    async with running_bot(world, bot_settings(world, seeded.db)) as bot:
        assert set(bot.extensions) == set(EXTENSIONS)
        assert all(bot.extensions[name].__name__ == name for name in EXTENSIONS)
