"""``/subscribe``, ``/unsubscribe`` and ``/subscriptions …``: what a user follows and when their DM comes.

Follows are per user, across servers. Every reply here is ephemeral. The DM digests themselves are sent by
the bot's digest service (:class:`bot.delivery.DmAudience`), built with the bot: unloading this cog stops no
DM.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Literal

import discord
from discord import app_commands
from discord.ext import commands

from bot import digest as digest_rules
from bot import subscriptions as subs
from bot.errors import HotPapersError
from bot.render import dm_messages
from bot.store import Store
from cogs.pages import pager, paginate
from cogs.top import category_choices

if TYPE_CHECKING:
    from bot.client import HotPapersBot
    from bot.subscriptions import Subscriber

log = logging.getLogger(__name__)



def _code(text: str) -> str:
    """``text`` shown verbatim in a code span (markdown is not interpreted there; a backtick would end it)."""
    return "`" + text.replace("`", "ˋ") + "`"

def describe_follows(follows: list[subs.Follow]) -> str:
    if not follows:
        return ("You follow nothing yet. Start with `/subscribe category cs.LG`, "
                "`/subscribe keyword diffusion` or `/subscribe author Y. LeCun`.")
    lines = [f"• {_code(f.label)}" + (" (exclude)" if f.exclude else "")
             for f in follows]
    return "\n".join(lines)


class Subscriptions(commands.Cog):
    """Per-user follows and DM digests."""

    subscribe = app_commands.Group(name="subscribe", description="Get a DM digest of papers you follow")
    subscriptions = app_commands.Group(name="subscriptions", description="Your follows and your DM digest")

    def __init__(self, bot: HotPapersBot) -> None:
        self.bot = bot

    @property
    def _default(self) -> subs.Schedule:
        return self.bot.dm_digests.default_schedule

    async def _reply(self, interaction: discord.Interaction[Any], text: str,
                     view: discord.ui.View | None = None) -> None:
        """Answer ephemerally, first telling the user anything pending (e.g. their DMs were closed)."""
        notice = await self.bot.store.run(Store.take_notice, interaction.user.id)
        if notice:
            text = f"⚠️ {notice}\n\n{text}"
        extra: dict[str, Any] = {"view": view} if view is not None else {}
        if interaction.response.is_done():  # deferred (ephemerally) because the work could be slow
            await interaction.followup.send(text[:2000], ephemeral=True, **extra)
        else:
            await interaction.response.send_message(text[:2000], ephemeral=True, **extra)

    async def follow_list(self, user_id: int, header: str | None = None) -> tuple[str, list[str], str]:
        """(header, one line per follow, the schedule line) of ``user_id``'s follows, for the pager."""
        user = await self.bot.store.run(Store.user, user_id)
        if user is None or not user.follows:
            return header or "", [describe_follows([])], (user and _state(user)) or ""
        limit = self.bot.settings.subscriptions.max_follows
        return (header or f"**You follow** ({len(user.follows)} of {limit}):",
                describe_follows(list(user.follows)).splitlines(), _state(user))

    async def _reply_paged(self, interaction: discord.Interaction[Any], header: str | None = None) -> None:
        pages = paginate(*await self.follow_list(interaction.user.id, header))
        await self._reply(interaction, pages[0], pager(interaction.user.id, 0, len(pages)))

    # ---- /subscribe

    async def _follow(self, interaction: discord.Interaction[Any], kind: str, value: str) -> None:
        try:
            follow = subs.parse_follow(kind, value)
        except HotPapersError as exc:
            await self._reply(interaction, str(exc))
            return
        limit = self.bot.settings.subscriptions.max_follows
        result = await self.bot.store.run(Store.add_follow, interaction.user.id, follow, max_follows=limit,
                                          default=self._default, now=self.bot.clock.now())
        user = await self.bot.store.run(Store.user, interaction.user.id)
        when = user.schedule.describe() if user else self._default.describe()
        label = _code(follow.label)
        if result == "exists":
            text = f"You already follow {label}. `/subscriptions list` shows everything you follow."
        elif result == "full":
            text = (f"You follow {limit} things already, the most allowed. Drop one with `/unsubscribe` "
                    "first.")
        elif follow.exclude:
            text = f"Papers mentioning {_code(follow.value[1:])} will be left out of your DM digest."
        else:
            text = f"Following {label}. Your DM digest comes {when}; `/subscriptions test` shows it now."
        if user is not None and user.paused and result == "added":
            text += " (Your digest is paused: `/subscriptions resume` restarts it.)"
        await self._reply(interaction, text)

    @subscribe.command(name="category", description="Follow an arXiv category or archive (cs.LG, math, …)")
    @app_commands.describe(value="A category code or name, e.g. cs.LG or machine learning")
    async def subscribe_category(self, interaction: discord.Interaction[Any], value: str) -> None:
        await self._follow(interaction, "category", value)

    @subscribe_category.autocomplete("value")
    async def _category_autocomplete(self, interaction: discord.Interaction[Any], current: str
                                     ) -> list[app_commands.Choice[str]]:
        return category_choices(current)

    @subscribe.command(name="keyword", description="Follow a word or phrase; start it with - to exclude")
    @app_commands.describe(value="e.g. diffusion, graph neural network, transform*, or -survey to exclude")
    async def subscribe_keyword(self, interaction: discord.Interaction[Any], value: str) -> None:
        await self._follow(interaction, "keyword", value)

    @subscribe.command(name="author", description="Follow an author (surname and first initial)")
    @app_commands.describe(value="e.g. Y. LeCun or Yann LeCun")
    async def subscribe_author(self, interaction: discord.Interaction[Any], value: str) -> None:
        await self._follow(interaction, "author", value)

    # ---- /unsubscribe

    @app_commands.command(name="unsubscribe", description="Stop following something")
    @app_commands.describe(value="One of your follows, as kind:value")
    async def unsubscribe(self, interaction: discord.Interaction[Any], value: str) -> None:
        follows = await self.bot.store.run(Store.follows, interaction.user.id)
        follow = subs.find_follow(follows, value[:120])
        if follow is None:
            shown = _code(value.strip()[:80])
            await self._reply_paged(interaction, f"You do not follow {shown}. You follow:")
            return
        await self.bot.store.run(Store.remove_follow, interaction.user.id, follow)
        left = len(follows) - 1
        await self._reply(interaction, f"Stopped following {_code(follow.label)}"
                                       f" ({left} follow{'s' if left != 1 else ''} left).")

    @unsubscribe.autocomplete("value")
    async def _unsubscribe_autocomplete(self, interaction: discord.Interaction[Any], current: str
                                        ) -> list[app_commands.Choice[str]]:
        follows = await self.bot.store.run(Store.follows, interaction.user.id)
        needle = current.strip().lower()
        return [app_commands.Choice(name=f.label[:100], value=f.label[:100])
                for f in follows if needle in f.label.lower()][:25]

    # ---- /subscriptions

    @subscriptions.command(name="list", description="What you follow and when your DM digest comes")
    async def list_(self, interaction: discord.Interaction[Any]) -> None:
        await self._reply_paged(interaction)

    @subscriptions.command(name="settings",
                           description="When your DM digest comes: time, timezone, frequency")
    @app_commands.describe(time="Local time as HH:MM (24-hour)",
                           timezone="An IANA timezone, e.g. Europe/Paris",
                           frequency="Every day, or every Monday")
    async def settings(self, interaction: discord.Interaction[Any], time: str | None = None,
                       timezone: str | None = None,
                       frequency: Literal["daily", "weekly"] | None = None) -> None:
        try:
            hhmm = subs.parse_time(time) if time else None
            zone = subs.parse_timezone(timezone) if timezone else None
            freq = subs.parse_frequency(frequency) if frequency else None
        except HotPapersError as exc:
            await self._reply(interaction, str(exc))
            return
        schedule = await self.bot.store.run(
            Store.set_schedule, interaction.user.id, default=self._default, now=self.bot.clock.now(),
            time=hhmm, timezone=zone, frequency=freq)
        changed = "Your DM digest now comes" if (hhmm or zone or freq) else "Your DM digest comes"
        await self._reply(interaction, f"{changed} {schedule.describe()}. Change it with "
                                       "`/subscriptions settings time:18:30 timezone:Europe/Paris`.")

    @settings.autocomplete("timezone")
    async def _timezone_autocomplete(self, interaction: discord.Interaction[Any], current: str
                                     ) -> list[app_commands.Choice[str]]:
        return [app_commands.Choice(name=z, value=z) for z in digest_rules.timezone_choices(current[:64])]

    @subscriptions.command(name="pause", description="Stop your DM digest for now")
    async def pause(self, interaction: discord.Interaction[Any]) -> None:
        await self.bot.store.run(Store.set_paused, interaction.user.id, True, default=self._default,
                                 now=self.bot.clock.now(), reason="you paused it")
        await self._reply(interaction, "Paused: no DM digest until you run `/subscriptions resume`.")

    @subscriptions.command(name="resume", description="Restart your DM digest")
    async def resume(self, interaction: discord.Interaction[Any]) -> None:
        await self.bot.store.run(Store.set_paused, interaction.user.id, False, default=self._default,
                                 now=self.bot.clock.now())
        user = await self.bot.store.run(Store.user, interaction.user.id)
        assert user is not None
        hint = "" if user.follows else " You follow nothing yet: try `/subscribe category cs.LG`."
        await self._reply(interaction, f"Resumed: your DM digest comes {user.schedule.describe()}.{hint}")

    @subscriptions.command(name="test", description="Send me now, as a test, the DM digest I would get")
    @app_commands.checks.cooldown(2, 300.0, key=lambda i: i.user.id)
    async def test(self, interaction: discord.Interaction[Any]) -> None:
        # Sending a DM waits its turn at the shared pace, behind any DM round in progress: answer (privately)
        # within Discord's 3 s first, then say what happened.
        await interaction.response.defer(ephemeral=True, thinking=True)
        status, dm = await self.bot.dm_digests.send_test(interaction.user.id)
        if status == "nothing":
            follows = await self.bot.store.run(Store.follows, interaction.user.id)
            text = ("Nothing in the latest mailing matches what you follow, so there would be no DM today."
                    if follows else describe_follows([]))
        elif status == "closed":
            text = ("I could not DM you: your DMs are closed to me. Allow DMs from server members (or from "
                    "me), then try again.")
        elif status == "retry":
            text = "Discord is busy and did not take the DM; try again in a minute."
        else:
            assert dm is not None
            user = await self.bot.store.run(Store.user, interaction.user.id)
            when = (user.schedule if user else self._default).describe()
            text = (f"Sent you a test DM: {dm_messages(dm)[0].content}\nIt is only a test: your DM digest "
                    f"still comes {when}, with the newest mailing then, even if it is this one.")
        await self._reply(interaction, text)

    @subscriptions.command(name="forget", description="Delete everything stored about you")
    async def forget(self, interaction: discord.Interaction[Any]) -> None:
        existed = await self.bot.store.run(Store.forget_user, interaction.user.id)
        text = ("Done: your follows, settings and DM history are deleted." if existed
                else "I had nothing stored about you.")
        await interaction.response.send_message(text, ephemeral=True)


def _state(user: Subscriber) -> str:
    if user.paused:
        return f"Paused ({user.paused_reason})." if user.paused_reason else "Paused."
    return f"Your DM digest comes {user.schedule.describe()}."


async def setup(bot: HotPapersBot) -> None:
    await bot.add_cog(Subscriptions(bot))
