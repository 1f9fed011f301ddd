"""``/help``: every command in one ephemeral message."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.store import Store

if TYPE_CHECKING:
    from bot.client import HotPapersBot

HELP = """\
**Hot Papers** brings each arXiv mailing's most discussed papers to Discord.

**Look papers up** (answers everyone can see)
• `/paper query` — an arXiv id or link (`2107.05677`, `arXiv:2107.05677v2`, `hep-th/9901001`, an arxiv.org, \
alphaxiv or huggingface.co/papers URL) shows the paper with its engagement; keywords list the best matches, \
with Previous/Next and a menu to open one. Titles autocomplete as you type.
• `/top [category] [date] [count]` — the most engaged papers of a mailing (default: the latest), \
cross-lists included; category by code or name ("machine learning").

**Your DM digest** (only you see these)
• `/subscribe category|keyword|author value` — follow a category (`cs.LG`, or an archive such as `cs`), a \
keyword or phrase (`diffusion`; `transform*` for prefixes; `-survey` to leave papers out) or an author \
(`Y. LeCun`).
• `/unsubscribe value` — stop following one (it autocompletes your follows).
• `/subscriptions list` · `settings time timezone frequency` · `pause` · `resume` · `test` · `forget` — \
what you follow; when your DM comes (default {time} {timezone}, daily or weekly on Mondays); pause or resume \
it; get today's DM now; delete everything stored about you.
After each mailing you get one DM with the papers matching your follows, hottest first (at most {cap}), \
each saying why it matched. No match, no DM.

**Your reading list** (only you see it)
• **Save** under any paper; `/saved list` · `remove` · `export` (a BibTeX file).

**Channel digests** (Manage Server)
• `/digest setup channel time timezone categories size` (optional `thread`, `min_score`, `mention_role`) — \
post each mailing's top papers in a channel, at that local time, once the mailing is old enough; \
`/digest show` lists them; `preview` shows the next one to you only; `now` posts it at once; `pause` · \
`resume` · `remove` (each takes an optional `channel`, default: this one). `/feeds`: its RSS/Atom/JSON feeds.

`/help` shows this message.
"""


class Help(commands.Cog):
    def __init__(self, bot: HotPapersBot) -> None:
        self.bot = bot

    @app_commands.command(name="help", description="Every Hot Papers command, explained")
    async def help(self, interaction: discord.Interaction[Any]) -> None:
        subs = self.bot.settings.subscriptions
        text = HELP.format(time=subs.default_time, timezone=subs.default_timezone, cap=subs.dm_cap)
        notice = await self.bot.store.run(Store.take_notice, interaction.user.id)
        warning = f"⚠️ {notice}" if notice else ""  # e.g. their DMs were closed: told with the next command
        if warning and len(warning) + 2 + len(text) <= 2000:
            text, warning = f"{warning}\n\n{text}", ""
        await interaction.response.send_message(text[:2000], ephemeral=True)
        if warning:
            await interaction.followup.send(warning[:2000], ephemeral=True)


async def setup(bot: HotPapersBot) -> None:
    await bot.add_cog(Help(bot))
