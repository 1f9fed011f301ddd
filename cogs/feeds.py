"""The open feeds and pages: runs the web server (when ``[web] port`` is set) for as long as the bot runs, and
``/feeds`` tells a server's admins the addresses of its digest's feeds (they carry the server's key)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.store import Store
from bot.web import WebServer, feed_secret, guild_key

if TYPE_CHECKING:
    from bot.client import HotPapersBot


class Feeds(commands.Cog):
    def __init__(self, bot: HotPapersBot) -> None:
        self.bot = bot
        self.server: WebServer | None = None

    async def cog_load(self) -> None:
        if self.bot.settings.web.port is not None:
            self.server = WebServer(self.bot.settings, self.bot.store, self.bot.clock)
            await self.server.start()

    async def cog_unload(self) -> None:
        if self.server is not None:
            await self.server.stop()
            self.server = None

    @app_commands.command(name="feeds", description="RSS, Atom and JSON feeds of this server's digest")
    @app_commands.guild_only()
    @app_commands.default_permissions(manage_guild=True)
    async def feeds(self, interaction: discord.Interaction[Any]) -> None:
        if self.server is None:
            await interaction.response.send_message(
                "Feeds are off on this bot: its operator turns them on with `[web] port` (see the README).",
                ephemeral=True)
            return
        assert interaction.guild_id is not None
        if not await self.bot.store.run(Store.channel_digests, interaction.guild_id):
            await interaction.response.send_message(
                "This server has no digest yet: `/digest setup` makes one, then its feeds exist.", ephemeral=True)
            return
        secret = await self.bot.store.run(feed_secret)
        key = guild_key(secret, interaction.guild_id)
        base = self.server.publisher.base
        lines = [f"<{base}/feeds/guild/{interaction.guild_id}.{ext}?key={key}>" for ext in ("rss", "atom", "json")]
        await interaction.response.send_message(
            "This server's digest as feeds (RSS, Atom, JSON Feed). The key in them is private: share it only "
            "with people who may read the feed.\n" + "\n".join(lines), ephemeral=True)


async def setup(bot: HotPapersBot) -> None:
    await bot.add_cog(Feeds(bot))
