"""``/saved list`` · ``remove`` · ``export``: the reading list people build with the "Save" control.

Everything here is ephemeral (a reading list is one person's); Previous/Next rebuild the page from the store,
answer only the list's owner, and work after a restart.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.errors import InvalidPaperId
from bot.ids import parse_arxiv_id
from bot.render import paper_list_embed, safe, tidy
from bot.store import Store
from cogs.pages import OwnerPageButton
from cogs.post import send_bibtex

if TYPE_CHECKING:
    from bot.client import HotPapersBot

PAGE_SIZE = 10
EMPTY = ("Your reading list is empty. Use **Save** under a paper (`/paper`, a digest or your DM) to add one.")


async def saved_page(bot: HotPapersBot, owner: int, page: int) -> tuple[discord.Embed, discord.ui.View | None]:
    """Page ``page`` (from 0, clamped) of ``owner``'s reading list, with Previous/Next when there are more."""
    total = await bot.store.run(Store.saved_count, owner)
    pages = max(1, -(-total // PAGE_SIZE))
    page = max(0, min(page, pages - 1))
    saved = await bot.store.run(Store.saved_papers, owner, offset=page * PAGE_SIZE, limit=PAGE_SIZE)
    title = f"Your reading list · {total} paper{'s' if total != 1 else ''}"
    footer = (f"page {page + 1} of {pages} · " if pages > 1 else "") + "/saved export for BibTeX"
    embed = paper_list_embed(title, [(s.paper, f"saved {s.saved_at:%Y-%m-%d}") for s in saved],
                             start=page * PAGE_SIZE + 1, footer=footer, empty=EMPTY)
    return embed, SavedPageButton.buttons(owner, page, pages)


class SavedPageButton(OwnerPageButton, template=r"hp:sv:(?P<owner>\d+):(?P<page>-?\d+):(?P<dir>[pn])"):
    """Previous / Next through the owner's reading list."""

    prefix = "hp:sv"
    not_yours = "Only the person whose reading list this is can page it; `/saved list` shows yours."

    async def turn(self, interaction: discord.Interaction[Any]) -> None:
        embed, view = await saved_page(interaction.client, self.owner, self.page)
        await interaction.response.edit_message(embed=embed, view=view)


class Saved(commands.Cog):
    """Each person's reading list."""

    saved = app_commands.Group(name="saved", description="Your reading list of saved papers")

    def __init__(self, bot: HotPapersBot) -> None:
        self.bot = bot

    async def cog_load(self) -> None:
        self.bot.add_dynamic_items(SavedPageButton)

    async def cog_unload(self) -> None:
        self.bot.remove_dynamic_items(SavedPageButton)

    @saved.command(name="list", description="The papers you saved, most recent first")
    async def list_saved(self, interaction: discord.Interaction[Any]) -> None:
        embed, view = await saved_page(self.bot, interaction.user.id, 0)
        await interaction.response.send_message(embed=embed, view=view or discord.utils.MISSING, ephemeral=True)

    @saved.command(name="remove", description="Take a paper off your reading list")
    @app_commands.describe(paper="The paper (pick from your list, or its arXiv id)")
    async def remove(self, interaction: discord.Interaction[Any], paper: str) -> None:
        try:
            wanted = parse_arxiv_id(paper).id
        except InvalidPaperId:
            wanted = paper.strip()
        if await self.bot.store.run(Store.unsave_paper, interaction.user.id, wanted):
            left = await self.bot.store.run(Store.saved_count, interaction.user.id)
            await interaction.response.send_message(
                f"Removed {safe(wanted)} from your reading list ({left} left).", ephemeral=True)
            return
        await interaction.response.send_message(
            f"{safe(wanted[:60]) or 'That'} is not on your reading list; `/saved list` shows what is.",
            ephemeral=True)

    @remove.autocomplete("paper")
    async def remove_choices(self, interaction: discord.Interaction[Any], current: str
                             ) -> list[app_commands.Choice[str]]:
        papers = await self.bot.store.run(Store.saved_matching, interaction.user.id, current[:100])
        return [app_commands.Choice(name=f"{p.id} · {tidy(p.title)}"[:100], value=p.id) for p in papers]

    @saved.command(name="export", description="Your reading list as a BibTeX file")
    async def export(self, interaction: discord.Interaction[Any]) -> None:
        saved = await self.bot.store.run(Store.saved_papers, interaction.user.id)
        if not saved:
            await interaction.response.send_message(EMPTY, ephemeral=True)
            return
        count = len(saved)
        await send_bibtex(interaction, [s.paper for s in saved], "hotpapers-saved.bib",
                          note=f"Your reading list: {count} BibTeX entr{'ies' if count != 1 else 'y'}.")


async def setup(bot: HotPapersBot) -> None:
    await bot.add_cog(Saved(bot))
