"""``/paper query``: a paper by arXiv id or link, or keyword results with paging that survives restarts.

The results message keeps its state in itself: each button's ``custom_id`` names who may page and which page
it opens, and the query sits in the embed's footer. So the buttons are :class:`discord.ui.DynamicItem`s that
any running bot can answer, however often it restarted since.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

import discord
from discord import app_commands
from discord.ext import commands

from bot import lookup
from bot.errors import HotPapersError
from bot.ids import ArxivId
from bot.lookup import SearchPage
from bot.render import ABSTRACT_ID, DISCUSSION_ID, paper_list_embed
from bot.search.rank import explain
from bot.store import Store
from bot.text import strip_invisible
from cogs.post import PaperButton, paper_reply

if TYPE_CHECKING:
    from bot.client import HotPapersBot

log = logging.getLogger(__name__)

T = TypeVar("T")
FAST_ANSWER = 2.0  # seconds to answer without deferring; slower work defers first (Discord allows 3)
_FOOTER = re.compile(r"^/paper (?P<query>.+) · page (?P<page>\d+)$", re.DOTALL)


def results_message(page: SearchPage, owner: int) -> tuple[discord.Embed, discord.ui.View]:
    """The keyword results: a compact list, Previous/Next and a menu to open one of them."""
    entries = [(hit.paper, f"{hit.paper.primary_category} · {explain(hit)}") for hit in page.hits]
    title = f"Papers matching “{discord.utils.escape_markdown(page.query)[:200]}”"
    if page.from_arxiv:
        title = f"From arXiv's search: “{discord.utils.escape_markdown(page.query)[:200]}”"
    empty = ("No paper matches those words. Try other keywords, or paste an arXiv id or link "
             "such as 2107.05677.")
    embed = paper_list_embed(title, entries, start=page.start, empty=empty,
                             footer=f"/paper {page.query} · page {page.page + 1}",
                             bold_words=[hit.title_terms for hit in page.hits])
    if page.from_arxiv:
        embed.description = ("I hold no paper matching those words well, so these are arXiv's own search "
                             "results (now kept here):\n" + (embed.description or ""))
    view = discord.ui.View(timeout=None)
    if page.page > 0 or page.has_next:
        view.add_item(PageButton(owner, page.page - 1, "p", disabled=page.page == 0))
        view.add_item(PageButton(owner, page.page + 1, "n", disabled=not page.has_next))
    if page.papers:
        view.add_item(OpenSelect(owner, page))
    return embed, view


def _query_of(message: discord.Message | None) -> tuple[str, int] | None:
    if message is None or not message.embeds or not message.embeds[0].footer.text:
        return None
    match = _FOOTER.match(message.embeds[0].footer.text)
    return (match["query"], int(match["page"]) - 1) if match else None


# Each click runs a search: a user may page or open at most this many times a minute.
CLICKS_PER_MINUTE = 20
_clicks: commands.CooldownMapping[discord.Interaction[Any]] = commands.CooldownMapping.from_cooldown(
    CLICKS_PER_MINUTE, 60.0, lambda interaction: interaction.user.id)


async def _too_fast(interaction: discord.Interaction[Any]) -> bool:
    """True (after telling the user, privately) when they clicked more than CLICKS_PER_MINUTE times a minute."""
    retry_after = _clicks.update_rate_limit(interaction)
    if retry_after is None:
        return False
    await interaction.response.send_message(
        f"You are paging very fast; try again in {retry_after:.0f} s.", ephemeral=True)
    return True


async def _not_yours(interaction: discord.Interaction, owner: int) -> None:
    await interaction.response.send_message(
        f"Only <@{owner}> can page these results. Run `/paper` yourself to search.", ephemeral=True)


class PageButton(discord.ui.DynamicItem[discord.ui.Button[discord.ui.View]],
                 template=r"hp:pg:(?P<owner>\d+):(?P<page>\d+|-1):(?P<dir>[pnb])"):
    """Previous / Next (and Back from an opened paper): opens ``page`` of the owner's results."""

    LABELS: ClassVar[dict[str, str]] = {"p": "Previous", "n": "Next", "b": "Back to results"}

    def __init__(self, owner: int, page: int, direction: str, *, disabled: bool = False) -> None:
        super().__init__(discord.ui.Button(
            label=self.LABELS[direction], style=discord.ButtonStyle.secondary, disabled=disabled,
            custom_id=f"hp:pg:{owner}:{page}:{direction}"))
        self.owner = owner
        self.page = page

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction[Any],
                             item: discord.ui.Item[Any], match: re.Match[str]) -> PageButton:
        return cls(int(match["owner"]), int(match["page"]), match["dir"])

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        if interaction.user.id != self.owner:
            await _not_yours(interaction, self.owner)
            return
        if await _too_fast(interaction):
            return
        state = _query_of(interaction.message)
        if state is None or self.page < 0:
            await interaction.response.send_message("These results are too old to page; run `/paper` again.",
                                                    ephemeral=True)
            return
        bot: HotPapersBot = interaction.client
        page = await lookup.search_page(bot.store, state[0], self.page, bot.clock.now(),
                                        bot.settings.ranking.weights)
        embed, view = results_message(page, self.owner)
        await interaction.response.edit_message(embed=embed, view=view)


class OpenSelect(discord.ui.DynamicItem[discord.ui.Select[discord.ui.View]],
                 template=r"hp:open:(?P<owner>\d+):(?P<page>\d+)"):
    """Opens one paper of the list: in place for the owner (with a way back), privately for anyone else."""

    def __init__(self, owner: int, page: SearchPage | int) -> None:
        number = page if isinstance(page, int) else page.page
        options = [] if isinstance(page, int) else [
            discord.SelectOption(label=strip_invisible(f"{i}. {paper.title}")[:100], value=paper.id,
                                 description=strip_invisible(f"{paper.id} · {', '.join(paper.authors[:2])}")[:100])
            for i, paper in enumerate(page.papers, start=page.start)]
        super().__init__(discord.ui.Select(
            custom_id=f"hp:open:{owner}:{number}", placeholder="Open one of these papers…",
            options=options or [discord.SelectOption(label="-", value="-")], min_values=1, max_values=1))
        self.owner = owner
        self.page = number

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction[Any],
                             item: discord.ui.Item[Any], match: re.Match[str]) -> OpenSelect:
        return cls(int(match["owner"]), int(match["page"]))

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        if await _too_fast(interaction):
            return
        bot: HotPapersBot = interaction.client
        values = self.item.values
        paper_id = str(values[0]) if values else ""
        view_data = None
        if paper_id:
            view_data = await lookup.stored_paper(bot.store, ArxivId(paper_id), bot.clock.now(), complete=False)
        if view_data is None:
            await interaction.response.send_message("That paper is no longer stored; run `/paper` again.",
                                                    ephemeral=True)
            return
        opened = await paper_reply(bot, view_data.paper, view_data.signals)
        embed = opened.embed
        if interaction.user.id != self.owner:
            await interaction.response.send_message(ephemeral=True, **opened.send_kwargs())
            return
        state = _query_of(interaction.message)
        back = discord.ui.View(timeout=None)
        back.add_item(PageButton(self.owner, self.page, "b"))
        back.add_item(PaperButton(ABSTRACT_ID, view_data.paper.id))
        back.add_item(PaperButton(DISCUSSION_ID, view_data.paper.id))
        if state is not None:  # keep the query with the opened paper, for the way back
            embed.set_footer(text=f"/paper {state[0]} · page {self.page + 1}")
        file = opened.file()
        await interaction.response.edit_message(embed=embed, view=back, attachments=[file] if file else [])


async def answer_soon(interaction: discord.Interaction[Any], work: Awaitable[T], *, ephemeral: bool = False,
                      fast: float = FAST_ANSWER) -> tuple[T, bool]:
    """Await ``work``; if it takes longer than ``fast`` seconds, defer first so Discord's 3 s rule holds.
    Returns the result and whether the interaction was deferred."""
    task = asyncio.ensure_future(work)
    done, _ = await asyncio.wait({task}, timeout=fast)
    if done:
        return task.result(), False
    try:
        await interaction.response.defer(ephemeral=ephemeral, thinking=True)
    except BaseException:
        task.cancel()  # nobody will await it now
        raise
    return await task, True


async def tell_pending_notice(bot: HotPapersBot, interaction: discord.Interaction[Any]) -> None:
    """After answering, tell the user privately anything pending about them (e.g. their DMs were closed)."""
    notice = await bot.store.run(Store.take_notice, interaction.user.id)
    if notice:
        await interaction.followup.send(f"⚠️ {notice}", ephemeral=True)


class Paper(commands.Cog):
    """Looking papers up."""

    def __init__(self, bot: HotPapersBot) -> None:
        self.bot = bot
        self.fast_answer = FAST_ANSWER  # seconds of store work before deferring (tests lower it)

    async def cog_load(self) -> None:
        self.bot.add_dynamic_items(PageButton, OpenSelect)

    async def cog_unload(self) -> None:
        self.bot.remove_dynamic_items(PageButton, OpenSelect)

    @app_commands.command(name="paper",
                          description="An arXiv paper by id or link, or papers matching keywords")
    @app_commands.describe(query="An arXiv id or link (2107.05677, arxiv.org/abs/…) or a few keywords")
    @app_commands.checks.cooldown(8, 60.0, key=lambda i: i.user.id)
    async def paper(self, interaction: discord.Interaction[Any], query: str) -> None:
        try:
            parsed = lookup.parse_query(query)
        except HotPapersError as exc:
            await interaction.response.send_message(str(exc), ephemeral=True)
            return
        now = self.bot.clock.now()
        if parsed.keywords is not None:
            page, deferred = await answer_soon(interaction,
                                               lookup.search_page(self.bot.store, parsed.keywords, 0, now,
                                                                  self.bot.settings.ranking.weights,
                                                                  settings=self.bot.settings,
                                                                  session=self.bot.session),
                                               fast=self.fast_answer)
            embed, view = results_message(page, interaction.user.id)
            if deferred:
                await interaction.followup.send(embed=embed, view=view)
            else:
                await interaction.response.send_message(embed=embed, view=view)
            await tell_pending_notice(self.bot, interaction)
            return
        assert parsed.arxiv_id is not None
        stored, deferred = await answer_soon(interaction,
                                             lookup.stored_paper(self.bot.store, parsed.arxiv_id, now),
                                             fast=self.fast_answer)
        if stored is not None and not deferred:
            await interaction.response.send_message(**(await paper_reply(self.bot, stored.paper,
                                                                         stored.signals)).send_kwargs())
            await tell_pending_notice(self.bot, interaction)
            return
        if not deferred:
            await interaction.response.defer(thinking=True)  # arXiv may be slow: answer within 3 s first
        try:
            found = stored or await lookup.find_paper(self.bot.store, self.bot.settings, parsed.arxiv_id, now,
                                                      session=self.bot.session)
        except HotPapersError as exc:
            # After a public defer the first follow-up is public too: say plainly what happened.
            await interaction.followup.send(str(exc))
            return
        await interaction.followup.send(**(await paper_reply(self.bot, found.paper, found.signals)).send_kwargs())
        await tell_pending_notice(self.bot, interaction)

    @paper.autocomplete("query")
    async def paper_autocomplete(self, interaction: discord.Interaction[Any], current: str
                                 ) -> list[app_commands.Choice[str]]:
        choices = await lookup.suggestions(self.bot.store, current)
        return [app_commands.Choice(name=name, value=value) for name, value in choices]


async def setup(bot: HotPapersBot) -> None:
    await bot.add_cog(Paper(bot))
