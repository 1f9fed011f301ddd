"""The post's controls: "Abstract", "Discussion" and "Save" on every paper of a digest, a DM and ``/paper``
(which also has "BibTeX").

A digest message carries three menus ("Abstract of…", "Discussion of…", "Save…") listing its papers by arXiv id;
``/paper`` carries buttons whose custom_ids hold the arXiv id. Both are :class:`discord.ui.DynamicItem`s registered
when this cog loads, so any running bot answers them, however often it restarted since the message was sent.
The answer is shown only to the person who clicked, read from the store (so it shows while a source is down).
"""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import discord
from discord.ext import commands

from bot import bibtex
from bot.chart import engagement_chart
from bot.models import Paper, SourceSignal
from bot.render import (
    ABSTRACT_ID,
    BIBTEX_ID,
    BUTTON_LABELS,
    CHART_FILENAME,
    DISCUSSION_ID,
    SAVE_ID,
    OutgoingMessage,
    abstract_messages,
    discussion_messages,
    paper_buttons,
    paper_embed,
    safe,
    tidy,
    view_of,
)
from bot.store import Store

if TYPE_CHECKING:
    from collections.abc import Mapping

    from bot.client import HotPapersBot

log = logging.getLogger(__name__)

CLICKS_PER_MINUTE = 30
_clicks: commands.CooldownMapping[discord.Interaction[Any]] = commands.CooldownMapping.from_cooldown(
    CLICKS_PER_MINUTE, 60.0, lambda interaction: interaction.user.id)
_ARXIV_ID = r"(?P<id>[A-Za-z0-9.\-/]{4,40})"


@dataclass(frozen=True)
class PaperReply:
    """``/paper``'s answer for one paper: the embed, its Abstract/Discussion buttons and the chart file."""

    embed: discord.Embed
    view: discord.ui.View | None
    chart: bytes | None

    def file(self) -> discord.File | None:
        return discord.File(io.BytesIO(self.chart), filename=CHART_FILENAME) if self.chart else None

    def send_kwargs(self) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"embed": self.embed}
        if self.view is not None:
            kwargs["view"] = self.view
        file = self.file()
        if file is not None:
            kwargs["file"] = file
        return kwargs


async def paper_reply(bot: HotPapersBot, paper: Paper, signals: Mapping[str, SourceSignal]) -> PaperReply:
    """The paper with its engagement (and when it was taken), code, who is talking, buttons and chart."""
    now = bot.clock.now()
    context = await bot.store.run(Store.post_context, [paper.id], now)
    history = await bot.store.run(Store.signal_history, paper.id)
    chart = engagement_chart([(moment, s) for moment, s in history if moment <= now])
    embed = paper_embed(paper, signals, context.of(paper.id), chart=chart is not None)
    return PaperReply(embed, view_of(paper_buttons(paper.id)), chart)


async def _answer(interaction: discord.Interaction[Any], messages: Sequence[OutgoingMessage]) -> None:
    """Send ``messages`` only to the clicker: the first as the response, the rest as follow-ups."""
    first, *rest = messages
    await interaction.response.send_message(content=first.content or None, embeds=list(first.embeds),
                                            ephemeral=True)
    for message in rest:
        await interaction.followup.send(content=message.content or discord.utils.MISSING,
                                        embeds=list(message.embeds), ephemeral=True)


async def _show(interaction: discord.Interaction[Any], paper_id: str, what: str) -> None:
    retry_after = _clicks.update_rate_limit(interaction)
    if retry_after is not None:
        await interaction.response.send_message(f"You are clicking very fast; try again in {retry_after:.0f} s.",
                                                ephemeral=True)
        return
    bot: HotPapersBot = interaction.client
    paper = await bot.store.run(Store.paper, paper_id) if paper_id else None
    if paper is None:
        await interaction.response.send_message(
            f"I no longer have {paper_id or 'that paper'} stored; `/paper {paper_id}` looks it up on arXiv.",
            ephemeral=True)
        return
    if what == "abstract":
        await _answer(interaction, abstract_messages(paper))
        return
    if what == "save":
        await save_for(interaction, paper)
        return
    if what == "bibtex":
        await send_bibtex(interaction, [paper], f"{paper.id.replace('/', '-')}.bib")
        return
    now = bot.clock.now()
    signals = (await bot.store.run(Store.latest_signals, [paper.id], now)).get(paper.id, {})
    context = await bot.store.run(Store.post_context, [paper.id], now)
    await _answer(interaction, discussion_messages(paper, signals, context.of(paper.id)))


async def save_for(interaction: discord.Interaction[Any], paper: Paper) -> None:
    """Put ``paper`` on the clicker's reading list (once) and say so, only to them."""
    bot: HotPapersBot = interaction.client
    added = await bot.store.run(Store.save_paper, interaction.user.id, paper.id, bot.clock.now())
    count = await bot.store.run(Store.saved_count, interaction.user.id)
    state = "Saved" if added else "Already on your reading list:"
    await interaction.response.send_message(
        f"{state} **{safe(tidy(paper.title))[:200]}** ({paper.id}). You have {count} saved "
        f"paper{'s' if count != 1 else ''}: `/saved list` shows them, `/saved export` gives BibTeX.",
        ephemeral=True)


BIBTEX_INLINE = 1900  # longer entries (a collaboration's thousand authors) come as a .bib attachment


async def send_bibtex(interaction: discord.Interaction[Any], papers: Sequence[Paper], filename: str,
                      note: str = "") -> None:
    """BibTeX of ``papers``, only to the clicker: a code block when it fits, else a .bib attachment."""
    text = bibtex.bibliography(papers)
    if len(text) + len(note) <= BIBTEX_INLINE and len(papers) == 1:
        await interaction.response.send_message(f"{note}```bibtex\n{text}```", ephemeral=True)
        return
    await interaction.response.send_message(
        note or None, file=discord.File(io.BytesIO(text.encode()), filename=filename), ephemeral=True)


WHAT = {ABSTRACT_ID: "abstract", DISCUSSION_ID: "discussion", SAVE_ID: "save", BIBTEX_ID: "bibtex"}
_WHAT = f"(?P<what>{'|'.join(WHAT)})"


class PaperButton(discord.ui.DynamicItem[discord.ui.Button[discord.ui.View]], template=_WHAT + ":" + _ARXIV_ID):
    """``/paper``'s "Abstract" (every author and the whole abstract), "Discussion" (every stored post), "Save"
    (to the clicker's reading list) or "BibTeX", answered only to the clicker."""

    def __init__(self, what: str, paper_id: str) -> None:
        super().__init__(discord.ui.Button(label=BUTTON_LABELS[what], custom_id=f"{what}:{paper_id}"))
        self.what = what
        self.paper_id = paper_id

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any],
                             match: re.Match[str]) -> PaperButton:
        return cls(match["what"], match["id"])

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        await _show(interaction, self.paper_id, WHAT[self.what])


class PaperMenu(discord.ui.DynamicItem[discord.ui.Select[discord.ui.View]], template=_WHAT + "-menu"):
    """A digest's "Abstract of…", "Discussion of…" or "Save…" menu, for the picked paper, answered only to the
    clicker."""

    def __init__(self, what: str) -> None:
        super().__init__(discord.ui.Select(custom_id=f"{what}-menu", options=[discord.SelectOption(label="-")]))
        self.what = what

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any],
                             match: re.Match[str]) -> PaperMenu:
        return cls(match["what"])

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        values = self.item.values
        await _show(interaction, str(values[0]) if values else "", WHAT[self.what])


class ControlsCog(commands.Cog):
    """A cog that only answers persistent controls: registers ``controls`` while loaded."""

    controls: tuple[type[discord.ui.DynamicItem[Any]], ...] = ()

    def __init__(self, bot: HotPapersBot) -> None:
        self.bot = bot

    async def cog_load(self) -> None:
        self.bot.add_dynamic_items(*self.controls)

    async def cog_unload(self) -> None:
        self.bot.remove_dynamic_items(*self.controls)


class Post(ControlsCog):
    """Answers the post's Abstract, Discussion, Save and BibTeX controls (no commands of its own)."""

    controls = (PaperButton, PaperMenu)


async def setup(bot: HotPapersBot) -> None:
    await bot.add_cog(Post(bot))
