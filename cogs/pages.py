"""Paging one person's long lists: Previous/Next buttons only that person can use, which rebuild the page
from the store (so they survive restarts). :class:`OwnerPageButton` is the one way to write such a button; the
follow list (``/subscriptions list``, ``/unsubscribe`` of something not followed) pages here — whole lines per
page under Discord's 2,000 characters, the schedule line on every page — and the reading list in ``cogs.saved``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, Self

import discord

if TYPE_CHECKING:
    from bot.client import HotPapersBot

MESSAGE_LIMIT = 2000
NOTICE_ROOM = 300  # kept free on the first page for a pending notice (e.g. "your DMs were closed")


class FollowLister(Protocol):
    async def follow_list(self, user_id: int) -> tuple[str, list[str], str]:
        """(header, one line per follow, the schedule line) for ``user_id``."""
        ...


def paginate(header: str, lines: Sequence[str], footer: str, *, limit: int = MESSAGE_LIMIT - NOTICE_ROOM
             ) -> list[str]:
    """The pages of ``header`` + ``lines`` + ``footer``: whole lines only, the footer on every page, each page
    at most ``limit`` characters (with its "page i of n" mark)."""
    mark_room = len(" (page 99 of 99)")
    room = limit - len(header) - len(footer) - mark_room - 4
    bodies: list[list[str]] = [[]]
    used = 0
    for line in lines:
        line = line[:room]
        if bodies[-1] and used + len(line) + 1 > room:
            bodies.append([])
            used = 0
        bodies[-1].append(line)
        used += len(line) + 1
    total = len(bodies)
    pages = []
    for number, body in enumerate(bodies, start=1):
        mark = f" (page {number} of {total})" if total > 1 else ""
        parts = [f"{header}{mark}".strip(), "\n".join(body), "", footer] if footer else [
            f"{header}{mark}".strip(), "\n".join(body)]
        pages.append("\n".join(part for i, part in enumerate(parts) if part or i == 2).strip())
    return pages


class OwnerPageButton(discord.ui.DynamicItem[discord.ui.Button[discord.ui.View]],
                      template=r"hp:pg:(?P<owner>\d+):(?P<page>-?\d+):(?P<dir>[pn])"):
    """Previous / Next through one person's list. A subclass names its ``prefix`` (and its own ``template``
    with that prefix), what ``not_yours`` says to anyone else, and how to ``turn`` to a page."""

    prefix: ClassVar[str] = "hp:pg"
    not_yours: ClassVar[str] = "Only the person whose list this is can page it."

    def __init__(self, owner: int, page: int, direction: str, *, disabled: bool = False) -> None:
        super().__init__(discord.ui.Button(
            label="Previous" if direction == "p" else "Next", style=discord.ButtonStyle.secondary,
            disabled=disabled, custom_id=f"{self.prefix}:{owner}:{page}:{direction}"))
        self.owner = owner
        self.page = page

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any],
                             match: re.Match[str]) -> Self:
        return cls(int(match["owner"]), int(match["page"]), match["dir"])

    @classmethod
    def buttons(cls, owner: int, page: int, total: int) -> discord.ui.View | None:
        """Previous/Next for page ``page`` (from 0) of ``total``; None when everything fits on one page."""
        if total <= 1:
            return None
        view = discord.ui.View(timeout=None)
        view.add_item(cls(owner, page - 1, "p", disabled=page == 0))
        view.add_item(cls(owner, page + 1, "n", disabled=page + 1 >= total))
        return view

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        if interaction.user.id != self.owner:
            await interaction.response.send_message(self.not_yours, ephemeral=True)
            return
        await self.turn(interaction)

    async def turn(self, interaction: discord.Interaction[Any]) -> None:
        raise NotImplementedError


class FollowPageButton(OwnerPageButton, template=r"hp:fl:(?P<owner>\d+):(?P<page>-?\d+):(?P<dir>[pn])"):
    """Previous / Next through the owner's follow list."""

    prefix = "hp:fl"
    not_yours = "Only the person whose list this is can page it; `/subscriptions list` shows yours."

    async def turn(self, interaction: discord.Interaction[Any]) -> None:
        lister: FollowLister | None = interaction.client.get_cog("Subscriptions")
        if lister is None:
            await interaction.response.send_message("Subscriptions are unavailable right now.", ephemeral=True)
            return
        pages = paginate(*await lister.follow_list(self.owner))
        page = max(0, min(self.page, len(pages) - 1))
        await interaction.response.edit_message(content=pages[page], view=pager(self.owner, page, len(pages)))


def pager(owner: int, page: int, total: int) -> discord.ui.View | None:
    """The follow list's Previous/Next for page ``page`` (from 0) of ``total``."""
    return FollowPageButton.buttons(owner, page, total)


async def setup(bot: HotPapersBot) -> None:
    """Loaded as an extension: the buttons answer on any running bot, however often it restarted."""
    bot.add_dynamic_items(FollowPageButton)


async def teardown(bot: HotPapersBot) -> None:
    bot.remove_dynamic_items(FollowPageButton)
