"""``/digest setup|show|preview|now|pause|resume|remove``: a server's daily digests, for Manage Server.

Every reply is ephemeral. Input is validated before anything is deferred (so an error can still be ephemeral
and immediate); the work itself lives in ``bot.digest`` (rules, wording) and ``bot.delivery`` (posting).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands

from bot import digest as rules
from bot.delivery import jump_url
from bot.errors import HotPapersError
from bot.render import digest_messages
from bot.store import Store
from bot.store.digests import ChannelDigest, PlannedMessage

if TYPE_CHECKING:
    from bot.client import HotPapersBot

log = logging.getLogger(__name__)

Postable = discord.TextChannel  # text and announcement channels (discord.py maps it to both types)


class DigestError(HotPapersError):
    """A /digest request that cannot be done; the message says what to do."""


def _link(cfg: ChannelDigest, message: PlannedMessage, message_id: int | None = None) -> str:
    """Link to a message the ledger says was posted for ``cfg`` (in its channel or its thread)."""
    return jump_url(cfg.guild_id, message.channel_id or cfg.channel_id, message_id or message.message_id or 0)


def _needed(thread: bool) -> list[str]:
    needed = ["view_channel", "send_messages", "embed_links", "read_message_history"]
    if thread:
        needed += ["create_public_threads", "send_messages_in_threads"]
    return needed


def _pretty(permission: str) -> str:
    return permission.replace("_", " ").title()


def _listing(descriptions: list[str], limit: int = 2000) -> str:
    """Whole descriptions, as many as fit one message, then how many more there are."""
    shown: list[str] = []
    for i, text in enumerate(descriptions):
        rest = len(descriptions) - i
        more = f"… and {rest} more: `/digest show channel:` shows one."
        if len("\n\n".join([*shown, text])) + (len(more) + 2 if rest > 1 else 0) > limit:
            return "\n\n".join([*shown, more])[:limit]
        shown.append(text)
    return "\n\n".join(shown)


class Digests(commands.Cog):
    digest = app_commands.Group(
        name="digest", description="Daily posts of each arXiv mailing's hottest papers in a channel",
        guild_only=True, default_permissions=discord.Permissions(manage_guild=True))

    def __init__(self, bot: HotPapersBot) -> None:
        self.bot = bot

    async def interaction_check(self, interaction: discord.Interaction[Any]) -> bool:
        """Default permissions hide the group; this checks again when a command actually runs."""
        if interaction.guild is None:
            raise app_commands.NoPrivateMessage()
        if interaction.type is discord.InteractionType.application_command and \
                not interaction.permissions.manage_guild:
            raise app_commands.MissingPermissions(["manage_guild"])
        return True

    # ---- helpers -------------------------------------------------------------------------------------------

    async def _config(self, interaction: discord.Interaction[Any], channel: Postable | None
                      ) -> ChannelDigest:
        channel_id = channel.id if channel else interaction.channel_id
        cfg = await self.bot.store.run(Store.channel_digest, channel_id) if channel_id else None
        if cfg is None or cfg.guild_id != (interaction.guild_id or 0):
            where = f"<#{channel_id}>" if channel_id else "this channel"
            raise DigestError(f"{where} has no digest. Set one up with `/digest setup`, or pick a channel"
                              " that has one (`/digest show` lists them).")
        return cfg

    def _describe(self, cfg: ChannelDigest) -> str:
        settings = self.bot.settings
        text = rules.describe_digest(cfg, self.bot.clock.now(), default_min_score=settings.ranking.min_score,
                                     min_age_hours=settings.digest.min_age_hours)
        problem = rules.describe_problems(cfg, max_failures=settings.digest.max_failures)
        return f"{text}\n{problem}" if problem else text

    # ---- commands ------------------------------------------------------------------------------------------

    @digest.command(name="setup", description="Post the day's hottest papers in a channel, every day")
    @app_commands.describe(
        channel="Where to post (a text or announcement channel I can post in)",
        time="Local time of the post, 24-hour HH:MM (e.g. 09:00)",
        timezone="Your IANA timezone (e.g. Europe/Paris)",
        categories="arXiv categories, comma-separated (e.g. cs.LG, cs.CV, or an archive: cs)",
        size="How many papers (1–25)",
        thread="Post each digest in its own thread",
        min_score="Leave out papers scoring less than this (default: the bot's)",
        mention_role="A role to mention in each digest",
    )
    async def setup(self, interaction: discord.Interaction[Any], channel: Postable, time: str, timezone: str,
                    categories: str, size: app_commands.Range[int, 1, 25], thread: bool = False,
                    min_score: app_commands.Range[float, 0.0] | None = None,
                    mention_role: discord.Role | None = None) -> None:
        hhmm = rules.parse_time(time)
        zone = rules.parse_timezone(timezone)
        cats = rules.parse_categories(categories)
        rules.parse_size(size)
        rules.parse_min_score(min_score)
        guild = interaction.guild
        assert guild is not None
        me = guild.me
        if me is not None:
            perms = channel.permissions_for(me)
            missing = [p for p in _needed(thread) if not getattr(perms, p)]
            if missing:
                raise DigestError(f"I cannot post in {channel.mention}: I am missing "
                                  f"{', '.join(_pretty(p) for p in missing)} there. Grant them in the"
                                  " channel's settings (Permissions), then run this again.")
            if mention_role is not None and not mention_role.mentionable and \
                    not perms.mention_everyone and not mention_role.is_default():
                raise DigestError(f"I cannot mention {mention_role.mention}: make the role mentionable"
                                  " (Server Settings → Roles) or give me Mention @everyone, @here and All"
                                  " Roles.")
        if mention_role is not None and mention_role.is_default():
            raise DigestError("Pick a role to mention, not @everyone.")
        cfg = ChannelDigest(
            guild_id=guild.id, channel_id=channel.id, time=hhmm, timezone=zone, categories=cats, size=size,
            active_since=self.bot.clock.now(), thread=thread, min_score=min_score,
            mention_role=mention_role.id if mention_role else None)
        replaced = await self.bot.store.run(Store.channel_digest, channel.id) is not None
        await self.bot.store.run(Store.save_channel_digest, cfg)
        log.info("digest %s in guild %s channel %s: %s %s %s size %d", "replaced" if replaced else "set up",
                 guild.id, channel.id, hhmm, zone, ",".join(cats), size)
        head = "Digest updated." if replaced else "Digest set up."
        await interaction.response.send_message(f"{head} {self._describe(cfg)}", ephemeral=True)

    @setup.autocomplete("timezone")
    async def _timezone_autocomplete(self, interaction: discord.Interaction[Any], current: str
                                     ) -> list[app_commands.Choice[str]]:
        return [app_commands.Choice(name=z, value=z) for z in rules.timezone_choices(current)]

    @setup.autocomplete("categories")
    async def _categories_autocomplete(self, interaction: discord.Interaction[Any], current: str
                                       ) -> list[app_commands.Choice[str]]:
        return [app_commands.Choice(name=name, value=value)
                for name, value in rules.category_choices(current)]

    @digest.command(name="show", description="Show a channel's digest (or every digest of this server)")
    @app_commands.describe(channel="The digest's channel (leave out to list them all)")
    async def show(self, interaction: discord.Interaction[Any], channel: Postable | None = None) -> None:
        if channel is None:
            configs = await self.bot.store.run(Store.channel_digests, interaction.guild_id)
            if not configs:
                await interaction.response.send_message(
                    "No digest in this server yet. Set one up with `/digest setup`.", ephemeral=True)
                return
            await interaction.response.send_message(_listing([self._describe(c) for c in configs]),
                                                    ephemeral=True)
            return
        cfg = await self._config(interaction, channel)
        records = await self.bot.store.run(Store.recent_deliveries, "channel", cfg.channel_id, 3)
        lines = [self._describe(cfg)]
        for record in records:
            if record.status == "done" and record.messages and record.messages[0].message_id:
                lines.append(f"• {record.period}: posted ({len(record.messages)} message(s)) "
                             f"{_link(cfg, record.messages[0])}")
            elif record.status == "sending":
                lines.append(f"• {record.period}: being posted (will resume if interrupted)")
            else:
                lines.append(f"• {record.period}: {record.status} — {record.reason}")
        await interaction.response.send_message("\n".join(lines)[:2000], ephemeral=True)

    @digest.command(name="preview", description="See what the next digest would post (only you see it)")
    @app_commands.describe(channel="The digest's channel (default: this one)")
    async def preview(self, interaction: discord.Interaction[Any], channel: Postable | None = None) -> None:
        cfg = await self._config(interaction, channel)
        await interaction.response.defer(ephemeral=True, thinking=True)
        upcoming = await self.bot.channel_digests.next_digest(cfg)
        if upcoming.digest is None:
            await interaction.followup.send(
                f"No mailing for {', '.join(cfg.categories)} in the store yet; the digest posts once one is "
                "ingested.", ephemeral=True)
            return
        context = await self.bot.store.run(Store.post_context, [r.paper.id for r in upcoming.digest.papers],
                                           self.bot.clock.now())
        messages = digest_messages(upcoming.digest, thread=False, context=context)
        note = ""
        if upcoming.record is not None and upcoming.record.status in ("done", "sending"):
            note = f"(The {upcoming.digest.period} mailing was already posted in <#{cfg.channel_id}>.)\n"
        for i, message in enumerate(messages):
            content = (note + (message.content or "")) if i == 0 else message.content
            await interaction.followup.send(content=content or discord.utils.MISSING,
                                            embeds=list(message.embeds) or discord.utils.MISSING,
                                            view=message.view() or discord.utils.MISSING, ephemeral=True)

    @digest.command(name="now", description="Post what the next digest would post, now")
    @app_commands.describe(channel="The digest's channel (default: this one)")
    async def now(self, interaction: discord.Interaction[Any], channel: Postable | None = None) -> None:
        cfg = await self._config(interaction, channel)
        await interaction.response.defer(ephemeral=True, thinking=True)
        upcoming = await self.bot.channel_digests.next_digest(cfg)
        if upcoming.digest is None or upcoming.mailing is None:
            await interaction.followup.send(
                f"Nothing to post: no mailing for {', '.join(cfg.categories)} in the store yet.",
                ephemeral=True)
            return
        record = upcoming.record
        if record is not None and record.status == "done":
            first = next((m for m in record.messages if m.message_id), None)
            where = f": {_link(cfg, first)}" if first else ""
            await interaction.followup.send(
                f"The {record.period} mailing was already posted in <#{cfg.channel_id}>, so nothing was "
                f"posted{where}. The next mailing posts at the usual time.", ephemeral=True)
            return
        if record is not None and record.status in ("skipped", "failed"):
            # Asked for explicitly: a mailing skipped (bot offline) or given up (no permission) goes out now;
            # messages already out, if any, are not sent again.
            await self.bot.store.run(Store.reopen_delivery, "channel", cfg.channel_id, record.period)
        outcome = await self.bot.channel_digests.post(cfg, upcoming.digest)
        if outcome.status in ("sent", "already") and outcome.record and outcome.message_ids:
            link = _link(cfg, outcome.record.messages[0], outcome.message_ids[0])
            await interaction.followup.send(f"Posted the {upcoming.mailing} mailing: {link}", ephemeral=True)
        elif outcome.status in ("forbidden", "gone"):
            await interaction.followup.send(
                f"Discord refused the post ({outcome.error}). Check my permissions in <#{cfg.channel_id}> "
                "(View Channel, Send Messages, Embed Links), then try again.", ephemeral=True)
        elif outcome.status == "claimed":  # in a cluster, the worker is sending this very digest
            await interaction.followup.send(
                f"The {upcoming.mailing} mailing is being posted in <#{cfg.channel_id}> right now; it will be "
                "there in a moment.", ephemeral=True)
        elif outcome.status == "rejected":
            await interaction.followup.send(
                f"Discord refused this digest's content ({outcome.error}); that is a bug on our side, written "
                "to the bot's log. Try `/digest preview`, and tell whoever runs the bot.", ephemeral=True)
        else:
            await interaction.followup.send(
                f"Posting did not finish ({outcome.error or outcome.status}); I will retry on my own.",
                ephemeral=True)

    @digest.command(name="pause", description="Stop a channel's digest until resumed")
    @app_commands.describe(channel="The digest's channel (default: this one)")
    async def pause(self, interaction: discord.Interaction[Any], channel: Postable | None = None) -> None:
        cfg = await self._config(interaction, channel)
        await self.bot.store.run(Store.set_channel_digest_paused, cfg.channel_id, True, self.bot.clock.now())
        await interaction.response.send_message(
            f"Paused the digest of <#{cfg.channel_id}>. `/digest resume` restarts it.", ephemeral=True)

    @digest.command(name="resume", description="Restart a paused or stopped digest")
    @app_commands.describe(channel="The digest's channel (default: this one)")
    async def resume(self, interaction: discord.Interaction[Any], channel: Postable | None = None) -> None:
        cfg = await self._config(interaction, channel)
        await self.bot.store.run(Store.set_channel_digest_paused, cfg.channel_id, False, self.bot.clock.now())
        fresh = await self.bot.store.run(Store.channel_digest, cfg.channel_id)
        assert fresh is not None
        await interaction.response.send_message(f"Resumed. {self._describe(fresh)}", ephemeral=True)

    @digest.command(name="remove", description="Delete a channel's digest")
    @app_commands.describe(channel="The digest's channel (default: this one)")
    async def remove(self, interaction: discord.Interaction[Any], channel: Postable | None = None) -> None:
        cfg = await self._config(interaction, channel)
        await self.bot.store.run(Store.remove_channel_digest, cfg.channel_id)
        await interaction.response.send_message(
            f"Removed the digest of <#{cfg.channel_id}>. `/digest setup` creates a new one.", ephemeral=True)


async def setup(bot: HotPapersBot) -> None:
    await bot.add_cog(Digests(bot))
