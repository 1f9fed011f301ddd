"""A channel digest's "Vote…" and "Discuss…" menus.

"Vote…" (custom_id ``hp:vote:<server id>``) records one vote per member per paper in that server, taken back
by voting again; it answers by updating the menu's counts on the message and telling only the voter. Bots,
DMs and clicks from any other server than the digest's are refused. "Discuss…" opens a thread about the
picked paper (from the digest message when it has none yet, else beside it, linking to it), or reopens the
one opened before. Both are persistent dynamic items, so they work after any restart.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

import discord

from bot.render import DISCUSS_ID, VOTE_ID, paper_thread_name, recount_votes, safe, tidy, view_of
from bot.store import Store
from cogs.post import ControlsCog

if TYPE_CHECKING:
    from bot.client import HotPapersBot

log = logging.getLogger(__name__)

THREAD_ALREADY_CREATED = 160004
NOT_HERE = "Only members of the server this digest was posted in can vote on it."


def _vote(store: Store, guild_id: int, paper_id: str, user_id: int, now: datetime, shown: Sequence[str]
          ) -> tuple[bool, int, Mapping[str, int]]:
    """Toggle the vote and read the counts of the papers the menu shows, in one trip to the store."""
    voted, count = store.toggle_vote(guild_id, paper_id, user_id, now)
    return voted, count, store.vote_counts(shown, guild_id)


def _components(message: discord.Message | None) -> list[dict[str, Any]]:
    return [row.to_dict() for row in message.components] if message is not None else []  # type: ignore[misc]


def _vote_options(components: Sequence[Mapping[str, Any]], custom_id: str) -> list[Mapping[str, Any]]:
    return [option for row in components for item in row.get("components", ())
            if item.get("custom_id") == custom_id for option in item.get("options", ())]


class VoteMenu(discord.ui.DynamicItem[discord.ui.Select[discord.ui.View]],
               template=re.escape(VOTE_ID) + r":(?P<guild>\d{1,20})"):
    """A digest message's "Vote…" menu for the members of one server."""

    def __init__(self, guild_id: int) -> None:
        super().__init__(discord.ui.Select(custom_id=f"{VOTE_ID}:{guild_id}",
                                           options=[discord.SelectOption(label="-")]))
        self.guild_id = guild_id

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any],
                             match: re.Match[str]) -> VoteMenu:
        return cls(int(match["guild"]))

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        user = interaction.user
        if user.bot:
            await interaction.response.send_message("Bots do not vote.", ephemeral=True)
            return
        if interaction.guild_id != self.guild_id or not isinstance(user, discord.Member):
            await interaction.response.send_message(NOT_HERE, ephemeral=True)
            return
        values = self.item.values
        if not values:
            await interaction.response.defer()
            return
        paper_id = str(values[0])
        bot: HotPapersBot = interaction.client
        components = _components(interaction.message)
        options = _vote_options(components, self.item.custom_id)
        shown = [str(o["value"]) for o in options] or [paper_id]
        voted, count, counts = await bot.store.run(_vote, self.guild_id, paper_id, user.id, bot.clock.now(),
                                                   shown)
        label = next((str(o["label"]) for o in options if o["value"] == paper_id), paper_id)
        title = label.split(" · ", 1)[-1]
        view = view_of(recount_votes(components, counts)) if components else None
        if view is not None:
            await interaction.response.edit_message(view=view)
        else:
            await interaction.response.defer()
        votes = f"{count} vote{'s' if count != 1 else ''} here"
        text = (f"Your vote for **{safe(title)}** counts ({votes}). Pick it again to take it back."
                if voted else f"Your vote for **{safe(title)}** is taken back ({votes}).")
        await interaction.followup.send(text, ephemeral=True)


class DiscussMenu(discord.ui.DynamicItem[discord.ui.Select[discord.ui.View]],
                  template=re.escape(DISCUSS_ID) + "-menu"):
    """A digest message's "Discuss…" menu: a thread about the picked paper, opened or reopened."""

    def __init__(self) -> None:
        super().__init__(discord.ui.Select(custom_id=f"{DISCUSS_ID}-menu", options=[discord.SelectOption(label="-")]))

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any],
                             match: re.Match[str]) -> DiscussMenu:
        return cls()

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        channel = interaction.channel
        if interaction.guild is None or not isinstance(channel, discord.TextChannel):
            await interaction.response.send_message(
                "Threads open from a digest in a server's text or announcement channel.", ephemeral=True)
            return
        values = self.item.values
        bot: HotPapersBot = interaction.client
        paper = await bot.store.run(Store.paper, str(values[0])) if values else None
        if paper is None:
            await interaction.response.send_message("I no longer have that paper stored.", ephemeral=True)
            return
        await interaction.response.defer(ephemeral=True, thinking=True)
        try:
            thread, reopened = await _thread_for(bot, channel, interaction.message, paper.id,
                                                 paper_thread_name(paper))
        except discord.Forbidden:
            await interaction.followup.send(
                "I may not open threads here: an admin can give me Create Public Threads and Send Messages in "
                "Threads in this channel.", ephemeral=True)
            return
        what = "Reopened the discussion" if reopened else "Discussion"
        await interaction.followup.send(f"{what} of **{safe(tidy(paper.title))[:200]}**: {thread.mention}",
                                        ephemeral=True)


async def _thread_for(bot: HotPapersBot, channel: discord.TextChannel, message: discord.Message | None,
                      paper_id: str, name: str) -> tuple[discord.Thread, bool]:
    """The paper's thread in the channel: the one opened before (unarchived when it was archived), else a
    new one; returns (thread, whether it was reopened)."""
    known = await bot.store.run(Store.paper_thread, channel.id, paper_id)
    if known is not None:
        try:
            found = await bot.fetch_channel(known)  # fresh: whether it is archived now
        except discord.NotFound:
            found = None
        if isinstance(found, discord.Thread):
            if found.archived:
                found = await found.edit(archived=False)
                return found, True
            return found, False
    thread: discord.Thread | None = None
    if message is not None:
        try:
            thread = await message.create_thread(name=name)
        except discord.HTTPException as exc:
            if exc.code != THREAD_ALREADY_CREATED:
                raise
    if thread is None:  # a message holds one thread: the message's other papers get theirs beside it
        thread = await channel.create_thread(name=name, type=discord.ChannelType.public_thread)
        if message is not None:
            await thread.send(f"About this paper in {message.jump_url}",
                              allowed_mentions=discord.AllowedMentions.none())
    await bot.store.run(Store.set_paper_thread, channel.id, paper_id, thread.id)
    return thread, False


class Votes(ControlsCog):
    """Answers the digest's Vote and Discuss menus (no commands of its own)."""

    controls = (VoteMenu, DiscussMenu)


async def setup(bot: HotPapersBot) -> None:
    await bot.add_cog(Votes(bot))
