"""``/top [category] [date] [count]``: a mailing's most engaged papers, cross-lists included."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands

from bot import lookup, taxonomy
from bot.digest import Digest
from bot.errors import HotPapersError
from bot.render import digest_messages
from bot.store import Store
from cogs.paper import tell_pending_notice

if TYPE_CHECKING:
    from bot.client import HotPapersBot


def category_choices(current: str, limit: int = 25) -> list[app_commands.Choice[str]]:
    """Categories by code or name ("machine learning" → cs.LG, stat.ML), each ``code — name``."""
    return [app_commands.Choice(name=f"{c.code} — {c.name}"[:100], value=c.code)
            for c in taxonomy.search_categories(current[:60], limit=limit)]


class Top(commands.Cog):
    """The ranked papers of a mailing."""

    def __init__(self, bot: HotPapersBot) -> None:
        self.bot = bot

    @app_commands.command(name="top", description="The most engaged papers of an arXiv mailing")
    @app_commands.describe(category="A category or archive, by code or name (default: all)",
                           date="The mailing's date, YYYY-MM-DD (default: the latest)",
                           count="How many papers (1-25, default 10)")
    @app_commands.checks.cooldown(5, 60.0, key=lambda i: i.user.id)
    async def top(self, interaction: discord.Interaction[Any], category: str | None = None,
                  date: str | None = None, count: app_commands.Range[int, 1, 25] | None = None) -> None:
        try:
            request = lookup.parse_top(category, date, count)
        except HotPapersError as exc:
            await interaction.response.send_message(f"{exc}", ephemeral=True)
            return
        await interaction.response.defer(thinking=True)
        try:
            result = await lookup.top(self.bot.store, self.bot.settings, request, self.bot.clock.now(),
                                      interaction.guild_id)
        except HotPapersError as exc:
            await interaction.followup.send(str(exc))
            return
        categories = (result.category,) if result.category else ()
        if not result.papers:
            where = f" in {result.category}" if result.category else ""
            await interaction.followup.send(
                f"No paper of the {result.mailing.isoformat()} mailing{where} has any engagement yet "
                f"({result.total} papers announced). Try again later, or `/paper` to look one up.")
            return
        digest = Digest(result.mailing, categories, result.papers, 0.0)
        context = await self.bot.store.run(Store.post_context, [r.paper.id for r in digest.papers],
                                           self.bot.clock.now())
        for message in digest_messages(digest, context=context):
            await interaction.followup.send(content=message.content or discord.utils.MISSING,
                                            embeds=list(message.embeds) or discord.utils.MISSING,
                                            view=message.view() or discord.utils.MISSING)
        await tell_pending_notice(self.bot, interaction)

    @top.autocomplete("category")
    async def top_category(self, interaction: discord.Interaction[Any], current: str
                           ) -> list[app_commands.Choice[str]]:
        return category_choices(current)


async def setup(bot: HotPapersBot) -> None:
    await bot.add_cog(Top(bot))
