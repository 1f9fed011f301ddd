"""The bot process: :class:`HotPapersBot` wires the store, the HTTP session, delivery, the scheduler and the
cogs.

Discord is reached at ``settings.discord_api`` and ``settings.discord_gateway`` (REST and gateway proxies are
real deployments; tests point them at the local fake). The bot needs no privileged intent: it is slash-only.

One class for every role of ``bot.cluster`` (``[cluster] role``): ``all`` wires everything, as a single bot
always has; a ``gateway`` loads the cogs and answers commands for its shards (:class:`ShardedHotPapersBot`, made
by :func:`make_bot`) but runs no job; a ``worker`` logs in over REST only, never connects to the gateway, and
runs the jobs and every bulk send while it leads. :data:`ROLE_PARTS` says which part runs in which role.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import re
from datetime import timedelta
from typing import Any

import aiohttp
import discord
import yarl
from discord import app_commands
from discord.ext import commands

from bot import lookup
from bot.clock import Clock, clock_from_env
from bot.cluster import Leadership, node_id, shard_of
from bot.config import Settings
from bot.delivery import ChannelAudience, Deliverer, DigestService, DiscordRest, DmAudience, Pace
from bot.delivery.claims import Claims
from bot.errors import HotPapersError
from bot.scheduler import Runtime, Scheduler
from bot.store import AsyncStore, Store
from bot.store.base import BUSY_TIMEOUT_MS

log = logging.getLogger(__name__)

# Loaded in this order; a cog that fails to load stops start-up.
EXTENSIONS: tuple[str, ...] = (
    "cogs.digest",
    "cogs.paper",
    "cogs.top",
    "cogs.subscriptions",
    "cogs.pages",
    "cogs.help",
    "cogs.post",
    "cogs.saved",
    "cogs.votes",
    "cogs.feeds",
)
COMMAND_HASH_KEY = "command_tree_hash"
# What runs in which role: the gateway connection, cogs, command sync and search index answer users; the jobs
# (bot.scheduler.jobs, tagged there too) and the bulk sends belong to the leading worker; "all" does both.
ROLE_PARTS: dict[str, frozenset[str]] = {
    "commands": frozenset({"all", "gateway"}),
    "jobs": frozenset({"all", "worker"}),
    "leadership": frozenset({"worker"}),  # several workers: one leads (bot.cluster.Leadership)
    "claims": frozenset({"gateway", "worker"}),  # several processes send: each delivery is claimed
}
# A command's store write waits at most this long for another process's write lock, then the user is told
# the database is busy: together with the reply it stays inside Discord's 3 s.
INTERACTIVE_BUSY_MS = 1500


def point_discord_at(settings: Settings) -> None:
    """Send discord.py's REST and gateway traffic to the configured endpoints."""
    discord.http.Route.BASE = settings.discord_api.rstrip("/")
    if settings.discord_gateway:
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(settings.discord_gateway)


class HotPapersBot(commands.Bot):
    store: AsyncStore
    session: aiohttp.ClientSession
    pace: Pace
    deliverer: Deliverer
    channel_digests: ChannelAudience
    dm_digests: DmAudience
    digests: DigestService[object]
    scheduler: Scheduler

    def __init__(self, settings: Settings, *, clock: Clock | None = None, tick_seconds: float = 30.0,
                 extensions: tuple[str, ...] = EXTENSIONS, retry_delays: tuple[float, ...] = (1.0, 4.0, 10.0),
                 catch_up: bool = True, **options: Any) -> None:
        point_discord_at(settings)
        intents = discord.Intents.none()
        intents.guilds = True  # channels, roles and our own permissions; not privileged
        super().__init__(
            command_prefix=commands.when_mentioned, intents=intents, help_command=None,
            allowed_mentions=discord.AllowedMentions.none(),
            guild_ready_timeout=settings.discord.ready_timeout,
            member_cache_flags=discord.MemberCacheFlags.none(), chunk_guilds_at_startup=False,
            max_messages=None, **options,
        )
        self.settings = settings
        self.role = settings.cluster.role
        self.node = node_id()
        self.leadership: Leadership | None = None
        self._leadership_task: asyncio.Task[None] | None = None
        self.stopped = asyncio.Event()  # set by close(): a worker, having no gateway, runs until then
        self._background: set[asyncio.Task[Any]] = set()
        self.clock = clock or clock_from_env()
        self.tick_seconds = tick_seconds
        self.extension_names = extensions
        self.retry_delays = retry_delays
        self.catch_up = catch_up  # ingest at start when the store has no recent mailing
        self.command_tree_synced = False
        self._closing = False
        self._connection_lost = False  # logged once per outage, not once per reconnect attempt

    def runs(self, part: str) -> bool:
        """True when this process's role runs ``part`` of :data:`ROLE_PARTS`."""
        return self.role in ROLE_PARTS[part]

    @property
    def syncs_commands(self) -> bool:
        """The one process that syncs the command tree: a single bot, or the gateway holding shard 0. Commands
        are global, so one process suffices; exactly one gateway holds shard 0 in any deployment that covers
        every shard, so no coordination is needed (and the stored hash makes a repeat a no-op)."""
        return self.runs("commands") and (self.my_shards is None or 0 in self.my_shards)

    @property
    def my_shards(self) -> tuple[int, ...] | None:
        """The shard ids this process connects (None: unsharded)."""
        shard_ids = getattr(self, "shard_ids", None)
        return tuple(shard_ids) if shard_ids is not None else None

    def owns_guild(self, guild_id: int) -> bool:
        """True when this process's shards receive the server's events (always, unsharded)."""
        if self.my_shards is None or self.shard_count is None:
            return True
        return shard_of(guild_id, self.shard_count) in self.my_shards

    async def setup_hook(self) -> None:
        # A worker answers no one: its writes may wait out another process's lock as long as the command line's.
        busy = INTERACTIVE_BUSY_MS if self.runs("commands") else BUSY_TIMEOUT_MS
        self.store = AsyncStore(self.settings.database, busy_timeout_ms=busy)
        await self.store.open()
        if self.runs("commands"):
            # Derived search index: caught up in the background (searches catch up too; see bot/search/).
            self.index_catch_up = asyncio.create_task(lookup.catch_up_search_index(self.store),
                                                      name="search-index")
        self.session = aiohttp.ClientSession(headers={"User-Agent": "hotpapers (Discord bot)"})
        cluster = self.settings.cluster
        if self.runs("leadership"):
            self.leadership = Leadership(self.store, self.clock, self.node,
                                         lease=timedelta(seconds=cluster.lease_seconds),
                                         renew=timedelta(seconds=cluster.renew_seconds), on_lead=self.take_the_lead)
        claims = (Claims(self.store, self.clock, self.node, timedelta(seconds=cluster.lease_seconds))
                  if self.runs("claims") else None)
        # Delivery belongs to the bot, not to a cog: unloading a cog never stops digests or DMs.
        self.pace = Pace(self.settings.discord.requests_per_second)
        rest = DiscordRest(self.session, self.settings.discord_api, self.settings.discord_token or "",
                           self.pace, timeout=self.settings.delivery.send_timeout)
        self.deliverer = Deliverer(rest, self.store, self.clock, retry_delays=self.retry_delays, claims=claims,
                                   gate=self.leadership.leading if self.leadership else None)
        self.channel_digests = ChannelAudience(self.store, self.deliverer, self.clock, self.settings)
        self.dm_digests = DmAudience(self.store, self.deliverer, self.clock, self.settings)
        # Deliveries in flight: enough that each one's wait on the store and Discord (~0.25 s) never idles the
        # pace (32 at the default 48/s; more where Discord raised the limit).
        in_flight = max(32, round(self.settings.discord.requests_per_second / 4))
        self.digests = DigestService(self.store, self.deliverer, self.clock, self.settings,
                                     [self.channel_digests, self.dm_digests], concurrency=in_flight)
        self.tree.on_error = self.on_app_command_error  # type: ignore[method-assign]
        # Built before the cogs load so a cog could register a tick in cog_load; started after they load.
        if self.role == "all":
            ready, leading = self.is_ready, lambda: True
        elif self.leadership is not None:  # a worker sends over REST only: no gateway to wait for
            ready, leading = (lambda: True), self.leadership.leading
        else:
            ready, leading = self.is_ready, (lambda: False)
        runtime = Runtime(self.settings, self.clock, self.store, self.digests, self.session, ready=ready,
                          leading=leading)
        self.scheduler = Scheduler(runtime, runtime_id=f"bot-{id(self)}", tick_seconds=self.tick_seconds,
                                   role=self.role)
        if self.runs("commands"):
            for name in self.extension_names:
                await self.load_extension(name)  # raises: a broken cog must not start a half-working bot
                log.info("loaded %s", name)
            if self.syncs_commands:
                await self.sync_commands_if_changed()
        self.scheduler.start()
        if self.role == "all" and self.catch_up:
            self.scheduler.catch_up_soon()
        if self.leadership is not None:
            self.deliverer.bot_user_id = self.user.id if self.user else None  # logged in: REST told us
            self._leadership_task = asyncio.create_task(self.leadership.run(), name="leadership")
            log.info("worker %s: waiting for the lead (lease %gs, renewed every %gs)", self.node,
                     cluster.lease_seconds, cluster.renew_seconds)

    async def take_the_lead(self) -> None:
        """This worker now leads: finish what the previous leader left half-sent (once its claims ran out),
        catch up on ingestion if the store is stale, and tick now."""
        self.digests.resume_unfinished()
        pruned = await self.store.run(Store.prune_claims, self.clock.now())
        if pruned:
            log.info("dropped %d delivery claim(s) that ran out", pruned)
        if self.catch_up:
            self.scheduler.catch_up_soon()
        self.scheduler.tick_soon()

    async def on_ready(self) -> None:
        self.note_connection_back("a new session")
        self.deliverer.bot_user_id = self.user.id if self.user else None
        shards = f" (shards {', '.join(map(str, self.my_shards))} of {self.shard_count})" if self.my_shards else ""
        log.info("ready as %s (%s) in %d server(s)%s", self.user, self.user.id if self.user else "?",
                 len(self.guilds), shards)
        if self.runs("jobs"):
            self.scheduler.tick_soon(first=self.forget_servers_left_while_offline)
        else:
            task = asyncio.create_task(self.forget_servers_left_while_offline(), name="forget-servers")
            self._background.add(task)
            task.add_done_callback(self._background.discard)

    async def forget_servers_left_while_offline(self) -> None:
        """Delete the settings of servers the bot was removed from while it was not running. READY lists
        every server the bot is in (unavailable ones too), so a digest of any other server is stale; a gateway
        judges only the servers of its own shards."""
        present = {guild.id for guild in self.guilds}
        digests = await self.store.run(Store.channel_digests, None)
        gone = sorted({d.guild_id for d in digests if d.guild_id not in present and self.owns_guild(d.guild_id)})
        for guild_id in gone:
            removed = await self.store.run(Store.forget_guild, guild_id)
            log.info("no longer in server %s: deleted %d digest setting(s)", guild_id, removed)

    # ---- the command tree ----------------------------------------------------------------------------------

    def command_payload_hash(self) -> str:
        payload = sorted((command.to_dict(self.tree) for command in self.tree.get_commands()),
                         key=lambda c: str(c.get("name")))
        return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()

    async def sync_commands_if_changed(self) -> bool:
        """Sync the global command tree only when its payload differs from the last one synced."""
        key = f"{COMMAND_HASH_KEY}:{self.application_id}"
        current = self.command_payload_hash()
        if await self.store.run(Store.meta, key) == current:
            log.info("slash commands unchanged; not syncing")
            return False
        synced = await self.tree.sync()
        await self.store.run(Store.set_meta, key, current)
        self.command_tree_synced = True
        log.info("synced %d slash command(s)", len(synced))
        return True

    # ---- events --------------------------------------------------------------------------------------------

    async def on_disconnect(self) -> None:
        if not self._connection_lost and not self._closing:
            self._connection_lost = True
            log.warning("lost the connection to Discord; reconnecting (commands and digests wait meanwhile)")

    async def on_resumed(self) -> None:
        self.note_connection_back("the same session, resumed")

    def note_connection_back(self, how: str) -> None:
        """Log the return of a lost Discord connection, once."""
        if self._connection_lost:
            self._connection_lost = False
            log.info("connected to Discord again (%s)", how)

    async def on_guild_remove(self, guild: discord.Guild) -> None:
        removed = await self.store.run(Store.forget_guild, guild.id)
        log.info("removed from server %s: deleted %d digest setting(s)", guild.id, removed)

    async def on_app_command_error(self, interaction: discord.Interaction[Any],
                                   error: app_commands.AppCommandError) -> None:
        """The one place slash-command errors are answered: ephemerally, saying what to do next."""
        message = error_message(error)
        if message is None:
            command = interaction.command.qualified_name if interaction.command else "?"
            log.error("/%s failed", command, exc_info=error)
            message = ("Something went wrong on our side while running this command. Try again in a minute; "
                       "if it keeps failing, tell the server's admins.")
        try:
            if interaction.response.is_done():
                await interaction.followup.send(message, ephemeral=True)
            else:
                await interaction.response.send_message(message, ephemeral=True)
        except discord.HTTPException:
            log.warning("could not tell the user about an error: %s", message)

    # ---- shutting down -------------------------------------------------------------------------------------

    async def close(self) -> None:
        """Stop taking work, let deliveries reach a checkpoint, then close Discord, HTTP and the store."""
        if self._closing:
            return
        self._closing = True
        log.info("shutting down: no new work; finishing the messages being sent")
        if hasattr(self, "deliverer"):
            self.deliverer.stop()
        if hasattr(self, "scheduler"):
            await self.scheduler.shutdown(within=10.0)
        if hasattr(self, "deliverer") and not await self.deliverer.drain(10.0):
            log.warning("some sends did not finish in time; the ledger resumes them at the next start")
        if self._leadership_task is not None:
            self._leadership_task.cancel()
        if self.leadership is not None:
            await self.leadership.release()  # a waiting worker takes over now, not when the lease runs out
        await super().close()
        self.stopped.set()
        if hasattr(self, "session"):
            await self.session.close()
        if hasattr(self, "store"):
            await self.store.close()
        log.info("closed")


class ShardedHotPapersBot(HotPapersBot, commands.AutoShardedBot):
    """The bot on several shards in one process (a gateway of a cluster: ``--shards 0-3 --shard-count 8``)."""


def make_bot(settings: Settings, **kwargs: Any) -> HotPapersBot:
    """The bot for ``settings.cluster``: sharded when ``shard_count`` > 1 (on its ``shards``, or all of them)."""
    cluster = settings.cluster
    if cluster.role != "worker" and cluster.shard_count > 1:
        shard_ids = list(cluster.shards or range(cluster.shard_count))
        return ShardedHotPapersBot(settings, shard_ids=shard_ids, shard_count=cluster.shard_count, **kwargs)
    return HotPapersBot(settings, **kwargs)


def _plain(value: Any) -> str:
    """A value a forged request may have sent, shown briefly and plainly (never a Python repr)."""
    ident = getattr(value, "id", None)
    text = getattr(value, "name", None) or (f"id {ident}" if ident is not None else str(value))
    text = re.sub(r"[^\w .#:-]", "", str(text)).strip()[:40]
    return f"“{text}”" if text else "That value"


def error_message(error: app_commands.AppCommandError) -> str | None:
    """What to tell the user for an expected error; None for a bug (logged, with a generic message)."""
    if isinstance(error, app_commands.CommandInvokeError) and isinstance(error.original, HotPapersError):
        return str(error.original)
    if isinstance(error, app_commands.MissingPermissions):
        missing = ", ".join(p.replace("_", " ").replace("guild", "server").title()
                            for p in error.missing_permissions)
        return f"You need the {missing} permission for this command. Ask a server admin to run it."
    if isinstance(error, app_commands.BotMissingPermissions):
        missing = ", ".join(p.replace("_", " ").title() for p in error.missing_permissions)
        return f"I am missing {missing} here. Ask a server admin to grant it, then try again."
    if isinstance(error, app_commands.NoPrivateMessage):
        return "This command works in a server, not in DMs."
    if isinstance(error, app_commands.CommandOnCooldown):
        return f"Slow down a little: try again in {error.retry_after:.0f} s."
    if isinstance(error, app_commands.TransformerError):
        return f"{_plain(error.value)} is not a valid {error.type.name.lower()}. Pick one from the list."
    if isinstance(error, app_commands.CheckFailure):
        return str(error) or "You cannot use this command here."
    if isinstance(error, app_commands.CommandInvokeError) and isinstance(error.original, discord.Forbidden):
        return ("Discord refused: I lack a permission for that. Check my permissions in this channel "
                "(View Channel, Send Messages, Embed Links).")
    return None
