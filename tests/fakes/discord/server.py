"""FakeDiscord: a local Discord (REST + gateway) that the real discord.py client talks to, plus a test driver.

See README.md beside this file for how to use it.
"""

from __future__ import annotations

import asyncio
import contextlib
import fnmatch
import json
import math
import random
import re
import secrets
import time
import zlib
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from aiohttp import BodyPartReader, WSMsgType, web

from .models import (
    BOT_INVITE_PERMISSIONS,
    DEFAULT_EVERYONE,
    AppCommand,
    Channel,
    ChannelType,
    Guild,
    Interaction,
    InteractionResponse,
    Member,
    Message,
    Overwrite,
    P,
    Role,
    User,
    channel_permissions,
    now_iso,
    snowflake,
)
from .rules import (
    ApiError,
    FormErrors,
    SlidingWindow,
    Window,
    already_acknowledged,
    bucket_hash,
    cannot_dm,
    empty_message,
    invalid_webhook_token,
    is_empty,
    missing_access,
    missing_permissions,
    not_found,
    unauthorized,
    unknown,
    validate_choices,
    validate_commands,
    validate_message,
)

API_PREFIX = "/api/v10"
JSON = "application/json"
PRIVILEGED_INTENTS = (1 << 1) | (1 << 8) | (1 << 15)  # GUILD_MEMBERS, GUILD_PRESENCES, MESSAGE_CONTENT
INTENT_GUILDS = 1 << 0
INTENT_GUILD_MESSAGES = 1 << 9
INTENT_DIRECT_MESSAGES = 1 << 12


# ---- bookkeeping -------------------------------------------------------------------------------------------


@dataclass
class Stats:
    requests: int = 0
    by_route: Counter[str] = field(default_factory=Counter)  # "POST /channels/{channel_id}/messages" → n
    by_status: Counter[int] = field(default_factory=Counter)
    rate_limited: int = 0  # 429 answers
    global_rate_limited: int = 0
    invalid: int = 0  # 401, 403 and 429 answers (Discord bans an IP at 10,000 in 10 minutes)
    identifies: int = 0
    resumes: int = 0
    readies: int = 0
    heartbeats: int = 0
    connections: int = 0


@dataclass
class RecordedRequest:
    method: str
    path: str
    route: str  # the route template, or "METHOD path" when unknown
    query: dict[str, str]
    body: Any
    status: int = 0


@dataclass
class _Injection:
    pattern: str
    count: int
    status: int = 0
    delay: float = 0.0
    retry_after: float = 0.0
    is_global: bool = False
    via: bool = True  # a 429 from Discord carries Via; one from a rate-limit proxy does not
    rate: float = 1.0  # the share of matching requests it hits (1: every one, until ``count`` is spent)
    rng: random.Random | None = None

    def hits(self) -> bool:
        return self.rng is None or self.rng.random() < self.rate

    def matches(self, method: str, path: str, route_key: str) -> bool:
        return (
            self.pattern == route_key
            or fnmatch.fnmatchcase(route_key, self.pattern)
            or fnmatch.fnmatchcase(f"{method} {path}", self.pattern)
        )


@dataclass
class _Route:
    method: str
    template: str
    regex: re.Pattern[str]
    handler: Callable[[_Req], Awaitable[Any]]
    bot_auth: bool = True  # Authorization: Bot <token>; webhook/interaction routes authenticate by URL token
    interaction: bool = False  # exempt from the global limit

    @property
    def key(self) -> str:
        return f"{self.method} {self.template}"


@dataclass
class _Req:
    request: web.Request
    params: dict[str, str]
    query: dict[str, str]
    body: Any
    files: list[dict[str, Any]]


@dataclass
class _Session:
    id: str
    shard: tuple[int, int] | None
    intents: int
    seq: int = 0
    log: list[dict[str, Any]] = field(default_factory=list)
    conn: _Connection | None = None
    valid: bool = True

    def owns_guild(self, guild_id: int | None) -> bool:
        if self.shard is None:
            return True
        shard_id, count = self.shard
        return (guild_id >> 22) % count == shard_id if guild_id is not None else shard_id == 0


@dataclass
class _Connection:
    ws: web.WebSocketResponse
    request: web.Request
    compress: bool
    queue: asyncio.Queue[dict[str, Any] | tuple[str, int] | None] = field(default_factory=asyncio.Queue)
    session: _Session | None = None
    closed: bool = False
    zlib_ctx: Any = None
    client_close_code: int | None = None
    server_close_code: int | None = None  # set when the fake closed the socket with a code

    def send(self, payload: dict[str, Any]) -> None:
        if not self.closed:
            self.queue.put_nowait(payload)

    def close(self, code: int) -> None:
        if not self.closed:
            self.queue.put_nowait(("close", code))


def _template_regex(template: str) -> re.Pattern[str]:
    pattern = re.sub(
        r"\{(\w+)\}", r"(?P<\1>[^/]+)", re.escape(template).replace(r"\{", "{").replace(r"\}", "}")
    )
    return re.compile(f"^{pattern}$")


def _ceil_ms(seconds: float) -> float:
    """Rounds up to the millisecond, so a client that waits what it is told never comes back a hair early."""
    return math.ceil(seconds * 1000 - 1e-6) / 1000


T = TypeVar("T")


def _by_snowflake(table: Mapping[int, T], text: str) -> T | None:
    """``table[int(text)]`` for a snowflake in a URL or body; None for anything else (Discord answers 404)."""
    return table.get(int(text)) if text.isdigit() else None


def _as_id(obj: Any) -> int:
    if isinstance(obj, int):
        return obj
    if isinstance(obj, Member):
        return obj.user.id
    if hasattr(obj, "id"):
        return int(obj.id)
    return int(obj)


# ---- the fake ----------------------------------------------------------------------------------------------


class FakeDiscord:
    """A Discord of our own on 127.0.0.1: REST under ``api_url``, the gateway at ``gateway_url``.

    Time: rate limits, nonce memory and interaction deadlines read ``clock`` (monotonic seconds; inject one
    to test the fake itself). Limits are Discord's by default and configurable so tests stay fast.
    """

    def __init__(
        self,
        *,
        token: str = "fake-bot-token",
        bot_name: str = "Hot Papers",
        clock: Callable[[], float] = time.monotonic,
        global_limit: int = 50,
        global_period: float = 1.0,
        channel_message_limit: int = 5,
        channel_message_period: float = 5.0,
        route_limit: int = 50,
        route_period: float = 1.0,
        nonce_ttl: float = 300.0,
        interaction_deadline: float = 3.0,
        followup_ttl: float = 900.0,
        heartbeat_interval_ms: int = 41250,
        allowed_privileged_intents: int = 0,
        strict_embed_links: bool = True,
        recommended_shards: int = 1,
    ) -> None:
        self.token = token
        self.clock = clock
        self.global_limit = global_limit
        self.global_period = global_period
        self.channel_message_limit = channel_message_limit
        self.channel_message_period = channel_message_period
        self.route_limit = route_limit
        self.route_period = route_period
        self.nonce_ttl = nonce_ttl
        self.interaction_deadline = interaction_deadline
        self.followup_ttl = followup_ttl
        self.heartbeat_interval_ms = heartbeat_interval_ms
        self.allowed_privileged_intents = allowed_privileged_intents
        self.strict_embed_links = strict_embed_links
        self.recommended_shards = recommended_shards

        self.application_id = snowflake()
        self.bot = User(self.application_id, bot_name, bot=True)
        self.app_owner = User(snowflake(), "app-owner")
        self.users: dict[int, User] = {self.bot.id: self.bot, self.app_owner.id: self.app_owner}
        self.guilds: dict[int, Guild] = {}
        self.channels: dict[int, Channel] = {}
        self.dm_channels: dict[int, Channel] = {}  # user id → DM channel
        self._messages: dict[int, list[Message]] = {}  # channel id → messages (not ephemeral)
        self.messages_by_id: dict[int, Message] = {}
        self.global_commands: dict[int, AppCommand] = {}
        self.guild_commands: dict[int, dict[int, AppCommand]] = {}
        self.interactions: dict[int, Interaction] = {}
        self._by_token: dict[str, Interaction] = {}
        self._default_member: dict[int, int] = {}

        self.stats = Stats()
        self.requests: list[RecordedRequest] = []
        self.unknown_routes: list[str] = []
        self.attachment_bytes: dict[str, bytes] = {}  # attachment id -> the file's content, as uploaded
        self.presence: dict[str, Any] | None = None

        self._global = SlidingWindow(global_limit, global_period)
        self.arrivals: list[float] = []  # when each request counted by the global limit arrived (clock)
        self._buckets: dict[tuple[str, str], Window] = {}
        self._nonces: dict[tuple[int, str], tuple[float, int]] = {}
        self._injections: list[_Injection] = []
        self._sessions: dict[str, _Session] = {}
        self._connections: list[_Connection] = []
        self._waiters: list[tuple[Callable[[], bool], asyncio.Future[None]]] = []
        self._returned: set[int] = set()
        self._routes: list[_Route] = []
        self._runner: web.AppRunner | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self.port = 0
        self.world: StandardWorld | None = None  # set by build_standard_world()
        self._register_routes()

    # ---- lifecycle -----------------------------------------------------------------------------------------

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> FakeDiscord:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_get("/gateway", self._gateway)
        app.router.add_get("/gateway/", self._gateway)
        app.router.add_route("*", API_PREFIX + "/{tail:.*}", self._rest)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        server = site._server
        assert server is not None
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]
        self.host = host
        return self

    async def close(self) -> None:
        for conn in list(self._connections):
            conn.close(1001)
        for task in list(self._tasks):
            task.cancel()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeDiscord:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_url(self) -> str:
        """The REST base (what ``discord.http.Route.BASE`` / ``HOTPAPERS_DISCORD_API`` should be)."""
        return self.base_url + API_PREFIX

    @property
    def gateway_url(self) -> str:
        """The gateway URL (``DiscordWebSocket.DEFAULT_GATEWAY`` / ``HOTPAPERS_DISCORD_GATEWAY``)."""
        return f"ws://127.0.0.1:{self.port}/gateway"

    def env(self, *, clock_file: Path | None = None) -> dict[str, str]:
        """Environment for a bot in its own process."""
        env = {
            "HOTPAPERS_DISCORD_API": self.api_url,
            "HOTPAPERS_DISCORD_GATEWAY": self.gateway_url,
            "DISCORD_TOKEN": self.token,
        }
        if clock_file is not None:
            env["HOTPAPERS_TEST_CLOCK"] = str(clock_file)
        return env

    @staticmethod
    def write_bot_clock(path: Path, when: datetime) -> None:
        """Sets the time a bot in its own process sees (``HOTPAPERS_TEST_CLOCK`` = ``path``)."""
        try:
            from bot.clock import FileClock
        except ImportError:  # pragma: no cover - the project is importable in tests
            tmp = path.with_suffix(".tmp")
            tmp.write_text(when.astimezone(UTC).isoformat())
            tmp.replace(path)
        else:
            FileClock.write(path, when)

    # ---- waiting -------------------------------------------------------------------------------------------

    def _notify(self) -> None:
        for pred, fut in list(self._waiters):
            if fut.done():
                continue
            try:
                ok = pred()
            except Exception as exc:  # a broken predicate fails its waiter, not the fake
                fut.set_exception(exc)
                continue
            if ok:
                fut.set_result(None)

    async def wait_until(
        self,
        predicate: Callable[[], bool],
        timeout: float = 5.0,  # noqa: ASYNC109
        what: str = "condition",
    ) -> None:
        """Waits (on events, not polling) until ``predicate()`` is true after some change in the fake."""
        if predicate():
            return
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        entry = (predicate, fut)
        self._waiters.append(entry)
        try:
            await asyncio.wait_for(fut, timeout)
        except TimeoutError:
            raise TimeoutError(f"fake Discord: timed out after {timeout}s waiting for {what}") from None
        finally:
            self._waiters.remove(entry)

    async def wait_for_message(
        self,
        channel_id: int | Channel | None = None,
        *,
        predicate: Callable[[Message], bool] | None = None,
        timeout: float = 5.0,  # noqa: ASYNC109 - a test driver convenience
    ) -> Message:
        """The earliest message (in ``channel_id``, or anywhere) matching ``predicate`` that no earlier call
        returned; waits for one if there is none yet. Ephemeral interaction messages count too."""
        cid = _as_id(channel_id) if channel_id is not None else None
        found: list[Message] = []

        def check() -> bool:
            for m in sorted(self.messages_by_id.values(), key=lambda m: m.id):
                if m.id in self._returned or m.deleted or m.loading:
                    continue
                if cid is not None and m.channel_id != cid:
                    continue
                if predicate is None or predicate(m):
                    found.append(m)
                    return True
            return False

        await self.wait_until(check, timeout, f"a message in channel {cid}")
        self._returned.add(found[-1].id)
        return found[-1]

    async def wait_for_response(self, interaction: Interaction, timeout: float = 5.0) -> InteractionResponse:  # noqa: ASYNC109
        await self.wait_until(
            lambda: interaction.response is not None, timeout, f"a response to {interaction.id}"
        )
        assert interaction.response is not None
        return interaction.response

    async def wait_for_followups(
        self,
        interaction: Interaction,
        count: int = 1,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> list[Message]:
        """Waits until the interaction has ``count`` finished messages after its callback: a deferred original
        counts once it has been filled in (by a follow-up or an edit)."""

        def done() -> list[Message]:
            msgs = [m for m in interaction.followups]
            orig = interaction.original
            if (
                orig is not None
                and interaction.type != 3
                and interaction.response is not None
                and interaction.response.type == 5
                and not orig.loading
            ):
                msgs.insert(0, orig)
            return msgs

        await self.wait_until(
            lambda: len(done()) >= count, timeout, f"{count} follow-up(s) to {interaction.id}"
        )
        return done()

    def messages(self, channel_id: int | Channel, *, include_deleted: bool = False) -> list[Message]:
        """Messages in a channel, oldest first (ephemeral ones are not in any channel)."""
        msgs = self._messages.get(_as_id(channel_id), [])
        return [m for m in msgs if include_deleted or not m.deleted]

    # ---- fault injection -----------------------------------------------------------------------------------

    def inject_failure(self, pattern: str, status: int = 500, count: int = 1) -> None:
        """The next ``count`` requests matching ``pattern`` (a route template like
        ``"POST /channels/{channel_id}/messages"`` or an fnmatch of ``"METHOD /path"``) answer ``status``."""
        self._injections.append(_Injection(pattern, count, status=status))

    def inject_delay(self, pattern: str, seconds: float, count: int = 1) -> None:
        self._injections.append(_Injection(pattern, count, delay=seconds))

    def inject_rate_limit(
        self, pattern: str, retry_after: float, count: int = 1, *, is_global: bool = False, via: bool = True
    ) -> None:
        """The next ``count`` matching requests get a 429 (``via=False``: without ``Via``, as a proxy answers)."""
        self._injections.append(
            _Injection(pattern, count, status=429, retry_after=retry_after, is_global=is_global, via=via)
        )

    def inject_random_failures(self, pattern: str, rate: float, status: int = 500, *, seed: int = 0,
                               count: int = 1_000_000) -> None:
        """A share ``rate`` of matching requests (drawn with ``seed``) answer ``status``, ``count`` at most."""
        self._injections.append(_Injection(pattern, count, status=status, rate=rate, rng=random.Random(seed)))

    def set_global_limit(self, limit: int) -> None:
        """The token's global budget (requests per ``global_period``): lower it to play another process
        spending part of the same token's budget."""
        self.global_limit = limit
        self._global.limit = limit

    def busiest_second(self) -> int:
        """The most requests counted by the global limit that arrived within any one second (sliding)."""
        stamps = sorted(self.arrivals)
        most, start = 0, 0
        for end, stamp in enumerate(stamps):
            while stamps[start] <= stamp - self.global_period:
                start += 1
            most = max(most, end - start + 1)
        return most

    # ---- world building ------------------------------------------------------------------------------------

    def add_user(self, username: str, *, dms_open: bool = True, bot: bool = False) -> User:
        user = User(snowflake(), username, bot=bot, dms_open=dms_open)
        self.users[user.id] = user
        return user

    def open_dm(self, user: User) -> Channel:
        """The user's DM channel with the bot, made on first use (as ``POST /users/@me/channels`` does)."""
        ch = self.dm_channels.get(user.id)
        if ch is None:
            ch = Channel(snowflake(), ChannelType.DM, "", recipients=[user])
            self.dm_channels[user.id] = ch
            self.channels[ch.id] = ch
        return ch

    def add_guild(
        self,
        name: str = "Test Server",
        *,
        bot_permissions: int = BOT_INVITE_PERMISSIONS,
        everyone_permissions: int = DEFAULT_EVERYONE,
        owner: User | None = None,
        with_bot: bool = True,
    ) -> Guild:
        """A guild with @everyone, an owner, the bot (with a managed role holding ``bot_permissions``) and an
        ordinary member (the default user for interactions). Dispatches GUILD_CREATE if a bot is connected."""
        gid = snowflake()
        owner = owner or self.add_user(f"{name.lower().replace(' ', '-')}-owner")
        guild = Guild(gid, name, owner.id)
        guild.roles[gid] = Role(gid, gid, "@everyone", everyone_permissions, position=0)
        guild.members[owner.id] = Member(owner, gid)
        member = self.add_user(f"{name.lower().replace(' ', '-')}-member")
        guild.members[member.id] = Member(member, gid)
        self._default_member[gid] = member.id
        if with_bot:
            role = Role(snowflake(), gid, self.bot.username, bot_permissions, position=1, managed=True)
            guild.roles[role.id] = role
            guild.members[self.bot.id] = Member(self.bot, gid, [role.id])
        self.guilds[gid] = guild
        self.guild_commands.setdefault(gid, {})
        if with_bot:
            joined = guild.to_json(bot_user_id=self.bot.id, full=True)
            del joined["unavailable"]  # a join, not a guild becoming available
            self._dispatch("GUILD_CREATE", joined, guild_id=gid)
        return guild

    def remove_guild(self, guild: Guild | int) -> None:
        """The bot is removed (kicked) from the guild: GUILD_DELETE without ``unavailable``."""
        gid = _as_id(guild)
        self._dispatch("GUILD_DELETE", {"id": str(gid)}, guild_id=gid)
        g = self.guilds.pop(gid)
        for cid in list(g.channels):
            self.channels.pop(cid, None)
        self._notify()

    def add_channel(
        self,
        guild: Guild,
        name: str,
        *,
        type: ChannelType = ChannelType.TEXT,
        parent: Channel | None = None,
        topic: str | None = None,
    ) -> Channel:
        ch = Channel(
            snowflake(),
            type,
            name,
            guild_id=guild.id,
            parent_id=parent.id if parent else None,
            topic=topic,
            position=len(guild.channels),
        )
        guild.channels[ch.id] = ch
        self.channels[ch.id] = ch
        self._dispatch("CHANNEL_CREATE", ch.to_json(), guild_id=guild.id, intent=INTENT_GUILDS)
        return ch

    def add_thread(
        self, parent: Channel, name: str, *, type: ChannelType | None = None, archived: bool = False
    ) -> Channel:
        assert parent.guild_id is not None
        guild = self.guilds[parent.guild_id]
        if type is None:
            type = (
                ChannelType.ANNOUNCEMENT_THREAD
                if parent.type == ChannelType.ANNOUNCEMENT
                else ChannelType.PUBLIC_THREAD
            )
        th = Channel(
            snowflake(),
            type,
            name,
            guild_id=guild.id,
            parent_id=parent.id,
            owner_id=guild.owner_id,
            archived=archived,
        )
        guild.channels[th.id] = th
        self.channels[th.id] = th
        self._dispatch(
            "THREAD_CREATE", th.to_json() | {"newly_created": True}, guild_id=guild.id, intent=INTENT_GUILDS
        )
        return th

    def add_role(self, guild: Guild, name: str, permissions: int = 0, *, mentionable: bool = False) -> Role:
        role = Role(
            snowflake(), guild.id, name, int(permissions), position=len(guild.roles), mentionable=mentionable
        )
        guild.roles[role.id] = role
        self._dispatch(
            "GUILD_ROLE_CREATE",
            {"guild_id": str(guild.id), "role": role.to_json()},
            guild_id=guild.id,
            intent=INTENT_GUILDS,
        )
        return role

    def add_member(
        self,
        guild: Guild,
        user: User | str | None = None,
        *,
        roles: Iterable[Role] = (),
        permissions: int | None = None,
        dms_open: bool = True,
    ) -> Member:
        """A member; ``permissions`` gives them a role with exactly those permissions (plus @everyone's)."""
        if not isinstance(user, User):
            user = self.add_user(user or f"member-{len(guild.members)}", dms_open=dms_open)
        role_ids = [r.id for r in roles]
        if permissions is not None:
            role_ids.append(self.add_role(guild, f"{user.username}-perms", permissions).id)
        member = Member(user, guild.id, role_ids)
        guild.members[user.id] = member
        return member

    def set_overwrite(
        self, channel: Channel, target: Role | Member | User | Guild, *, allow: int = 0, deny: int = 0
    ) -> None:
        """A permission overwrite on a channel; ``target``: a role, a member/user or the guild (@everyone)."""
        if isinstance(target, Guild | Role):
            tid, ttype = target.id, 0
        else:
            tid, ttype = _as_id(target), 1
        channel.overwrites = [o for o in channel.overwrites if o.id != tid]
        channel.overwrites.append(Overwrite(tid, ttype, int(allow), int(deny)))
        if channel.guild_id is not None:
            self._dispatch(
                "CHANNEL_UPDATE", channel.to_json(), guild_id=channel.guild_id, intent=INTENT_GUILDS
            )

    def bot_member(self, guild: Guild) -> Member:
        return guild.members[self.bot.id]

    def default_user(self, guild: Guild) -> Member:
        return guild.members[self._default_member[guild.id]]

    def permissions_in(self, channel: Channel, user: User | Member | int) -> int:
        if channel.type == ChannelType.DM:
            return int(
                P.VIEW_CHANNEL
                | P.SEND_MESSAGES
                | P.EMBED_LINKS
                | P.ATTACH_FILES
                | P.READ_MESSAGE_HISTORY
                | P.ADD_REACTIONS
                | P.USE_EXTERNAL_EMOJIS
                | P.USE_APPLICATION_COMMANDS
            )
        assert channel.guild_id is not None
        guild = self.guilds[channel.guild_id]
        member = guild.members.get(_as_id(user))
        if member is None:
            return 0
        return channel_permissions(guild, member, channel)

    def build_standard_world(self) -> StandardWorld:
        """A guild with: #papers (text), #news (announcement), a thread in #papers, #staff (bot cannot see),
        #read-only (bot may view but not send), an admin, a plain member and a member whose DMs are closed."""
        guild = self.add_guild("Hot Papers Lab")
        papers = self.add_channel(guild, "papers", topic="daily digest")
        news = self.add_channel(guild, "news", type=ChannelType.ANNOUNCEMENT)
        thread = self.add_thread(papers, "discussion")
        staff = self.add_channel(guild, "staff")
        self.set_overwrite(staff, guild, deny=P.VIEW_CHANNEL)
        read_only = self.add_channel(guild, "read-only")
        self.set_overwrite(read_only, self.bot_member(guild), deny=P.SEND_MESSAGES)
        admin = self.add_member(guild, "admin", permissions=P.MANAGE_GUILD)
        member = self.default_user(guild)
        closed = self.add_member(guild, "closed-dms", dms_open=False)
        world = StandardWorld(guild, papers, news, thread, staff, read_only, admin, member, closed)
        self.world = world
        return world

    # ---- gateway dispatch ----------------------------------------------------------------------------------

    def _dispatch(
        self, t: str, d: dict[str, Any], *, guild_id: int | None = None, intent: int | None = None
    ) -> None:
        for session in list(self._sessions.values()):
            if not session.valid or not session.owns_guild(guild_id):
                continue
            if intent is not None and not session.intents & intent:
                continue
            self._session_send(session, t, d)

    def _session_send(self, session: _Session, t: str, d: Any) -> None:
        session.seq += 1
        payload = {"op": 0, "t": t, "s": session.seq, "d": d}
        session.log.append(payload)
        if session.conn is not None:
            session.conn.send(payload)

    def _live(self) -> list[_Connection]:
        return [c for c in self._connections if not c.closed and c.session is not None]

    @property
    def connected(self) -> bool:
        return bool(self._live())

    async def gateway_reconnect(self) -> None:
        """Sends op 7 RECONNECT on every live connection (discord.py closes and RESUMEs)."""
        for conn in self._live():
            conn.send({"op": 7, "d": None})

    async def invalidate_session(self, *, resumable: bool = False) -> None:
        """Sends op 9 INVALID_SESSION; not resumable means a new IDENTIFY (and READY) follows."""
        for conn in self._live():
            if not resumable and conn.session is not None:
                conn.session.valid = False
            conn.send({"op": 9, "d": resumable})

    async def drop_connections(self, code: int | None = None) -> None:
        """Drops every gateway socket: abruptly (no close frame) or with a close ``code``."""
        for conn in list(self._connections):
            if conn.closed:
                continue
            if code is None:
                conn.closed = True
                transport = conn.request.transport
                if transport is not None:
                    transport.abort()
            else:
                conn.close(code)

    async def request_heartbeat(self) -> None:
        for conn in self._live():
            conn.send({"op": 1, "d": None})

    async def _gateway(self, request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse(max_msg_size=0, compress=False)
        await ws.prepare(request)
        conn = _Connection(ws, request, compress=request.query.get("compress") == "zlib-stream")
        if conn.compress:
            conn.zlib_ctx = zlib.compressobj()
        self._connections.append(conn)
        self.stats.connections += 1
        writer = asyncio.create_task(self._writer(conn))
        self._tasks.add(writer)
        conn.send(
            {"op": 10, "d": {"heartbeat_interval": self.heartbeat_interval_ms, "_trace": ["fake-gateway"]}}
        )
        try:
            async for msg in ws:
                if msg.type == WSMsgType.TEXT:
                    await self._on_gateway_message(conn, msg.data)
                elif msg.type == WSMsgType.BINARY:
                    conn.close(4002)
        finally:
            conn.client_close_code = ws.close_code
            conn.closed = True
            conn.queue.put_nowait(None)
            if conn.session is not None and conn.session.conn is conn:
                conn.session.conn = None
                if conn.server_close_code in (4007, 4009):
                    conn.session.valid = False  # "invalid seq" / "session timed out": identify again
                elif (conn.server_close_code is None and ws.close_code in (1000, 1001)
                      and conn.client_close_code is not None):
                    conn.session.valid = False  # the client's clean close ends the session (Discord's rule)
            with contextlib.suppress(ValueError):
                self._connections.remove(conn)
            self._notify()
        return ws

    async def _writer(self, conn: _Connection) -> None:
        try:
            while True:
                item = await conn.queue.get()
                if item is None:
                    return
                if isinstance(item, tuple):
                    conn.closed = True
                    conn.server_close_code = item[1]
                    await conn.ws.close(code=item[1])
                    return
                text = json.dumps(item, separators=(",", ":"))
                if conn.zlib_ctx is not None:
                    data = conn.zlib_ctx.compress(text.encode()) + conn.zlib_ctx.flush(zlib.Z_SYNC_FLUSH)
                    await conn.ws.send_bytes(data)
                else:
                    await conn.ws.send_str(text)
        except (ConnectionError, RuntimeError):
            conn.closed = True
        finally:
            if (task := asyncio.current_task()) is not None:
                self._tasks.discard(task)

    async def _on_gateway_message(self, conn: _Connection, text: str) -> None:
        try:
            msg = json.loads(text)
            op = msg["op"]
        except (ValueError, KeyError, TypeError):
            conn.close(4002)
            return
        d = msg.get("d")
        if op == 1:
            self.stats.heartbeats += 1
            conn.send({"op": 11})
        elif op == 2:
            self._identify(conn, d or {})
        elif op == 6:
            self._resume(conn, d or {})
        elif conn.session is None:
            conn.close(4003)  # Not authenticated
        elif op == 3:
            self.presence = d
        elif op == 4:
            pass
        elif op == 8:
            self._request_members(conn, d or {})
        else:
            conn.close(4001)  # Unknown opcode
        self._notify()

    def _identify(self, conn: _Connection, d: dict[str, Any]) -> None:
        if conn.session is not None:
            conn.close(4005)  # Already authenticated
            return
        if d.get("token") != self.token:
            conn.close(4004)  # Authentication failed
            return
        intents = int(d.get("intents", 0))
        if intents & PRIVILEGED_INTENTS & ~self.allowed_privileged_intents:
            conn.close(4014)  # Disallowed intent(s)
            return
        shard = d.get("shard")
        shard_t: tuple[int, int] | None = None
        if shard is not None:
            sid, count = int(shard[0]), int(shard[1])
            if count < 1 or not 0 <= sid < count:
                conn.close(4010)  # Invalid shard
                return
            shard_t = (sid, count)
        self.stats.identifies += 1
        session = _Session(secrets.token_hex(16), shard_t, intents, conn=conn)
        self._sessions[session.id] = session
        conn.session = session
        guilds = [g for g in self.guilds.values() if session.owns_guild(g.id)]
        ready: dict[str, Any] = {
            "v": 10,
            "user": self.bot.to_json() | {"verified": True, "mfa_enabled": False, "email": None},
            "guilds": [{"id": str(g.id), "unavailable": True} for g in guilds],
            "session_id": session.id,
            "session_type": "normal",
            "resume_gateway_url": self.gateway_url,
            "application": {"id": str(self.application_id), "flags": 0},
            "private_channels": [],
            "relationships": [],
            "presences": [],
            "guild_join_requests": [],
            "geo_ordered_rtc_regions": [],
            "user_settings": {},
            "_trace": ["fake-gateway"],
        }
        if shard_t is not None:
            ready["shard"] = list(shard_t)
        self._session_send(session, "READY", ready)
        self.stats.readies += 1
        for g in guilds:
            self._session_send(session, "GUILD_CREATE", g.to_json(bot_user_id=self.bot.id, full=True))

    def _resume(self, conn: _Connection, d: dict[str, Any]) -> None:
        if d.get("token") != self.token:
            conn.close(4004)
            return
        session = self._sessions.get(str(d.get("session_id")))
        if session is None or not session.valid:
            conn.send({"op": 9, "d": False})
            return
        old = session.conn
        if old is not None and old is not conn:
            old.session = None
            old.close(4009)  # Session timed out (superseded)
        session.conn = conn
        conn.session = session
        seq = int(d.get("seq") or 0)
        for payload in session.log:
            if payload["s"] > seq:
                conn.send(payload)
        self.stats.resumes += 1
        self._session_send(session, "RESUMED", {"_trace": ["fake-gateway"]})

    def _request_members(self, conn: _Connection, d: dict[str, Any]) -> None:
        assert conn.session is not None
        guild = self.guilds.get(int(d.get("guild_id", 0)))
        if guild is None:
            return
        members = list(guild.members.values())
        if d.get("user_ids"):
            wanted = {int(u) for u in d["user_ids"]}
            members = [m for m in members if m.user.id in wanted]
        elif d.get("query"):
            members = [m for m in members if m.user.username.startswith(d["query"])]
        limit = int(d.get("limit") or 0)
        if limit:
            members = members[:limit]
        chunk: dict[str, Any] = {
            "guild_id": str(guild.id),
            "members": [m.to_json() for m in members],
            "chunk_index": 0,
            "chunk_count": 1,
        }
        if d.get("nonce") is not None:
            chunk["nonce"] = d["nonce"]
        self._session_send(conn.session, "GUILD_MEMBERS_CHUNK", chunk)

    # ---- REST core -----------------------------------------------------------------------------------------

    def _route(
        self, method: str, template: str, *, bot_auth: bool = True, interaction: bool = False
    ) -> Callable[[Callable[[_Req], Awaitable[Any]]], Callable[[_Req], Awaitable[Any]]]:
        def deco(fn: Callable[[_Req], Awaitable[Any]]) -> Callable[[_Req], Awaitable[Any]]:
            self._routes.append(
                _Route(method, template, _template_regex(template), fn, bot_auth, interaction)
            )
            return fn

        return deco

    def _match(self, method: str, path: str) -> tuple[_Route, dict[str, str]] | None:
        for route in self._routes:
            if route.method == method and (m := route.regex.match(path)):
                return route, m.groupdict()
        return None

    def _bucket_for(self, route: _Route, params: dict[str, str]) -> tuple[str, Window]:
        major = "+".join(params[k] for k in ("channel_id", "guild_id", "app_id", "token") if k in params)
        if route.key == "POST /channels/{channel_id}/messages":
            limit, period = self.channel_message_limit, self.channel_message_period
        else:
            limit, period = self.route_limit, self.route_period
        key = (route.key, major)
        if key not in self._buckets:
            self._buckets[key] = Window(limit, period)
        return bucket_hash(route.key), self._buckets[key]

    @staticmethod
    def _json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> web.Response:
        h = {"Content-Type": JSON}  # exactly: discord.py decodes JSON only for this content type
        h.update(headers or {})
        return web.Response(status=status, body=json.dumps(body).encode(), headers=h)

    def _rate_limited(
        self,
        retry_after: float,
        *,
        is_global: bool,
        scope: str,
        extra: dict[str, str] | None = None,
        via: bool = True,
    ) -> web.Response:
        self.stats.rate_limited += 1
        if is_global:
            self.stats.global_rate_limited += 1
        headers = {
            "Via": "1.1 google",
            "Retry-After": str(max(1, math.ceil(retry_after))),
            "X-RateLimit-Scope": scope,
        }
        if is_global:
            headers["X-RateLimit-Global"] = "true"
        if not via:
            del headers["Via"]
        headers.update(extra or {})
        body = {
            "message": "You are being rate limited.",
            "retry_after": _ceil_ms(retry_after),
            "global": is_global,
        }
        if not is_global:
            body["code"] = 0
        return self._json_response(429, body, headers)

    async def _rest(self, request: web.Request) -> web.StreamResponse:
        path = "/" + request.match_info["tail"]
        method = request.method
        found = self._match(method, path)
        route_key = found[0].key if found else f"{method} {path}"
        self.stats.requests += 1
        self.stats.by_route[route_key] += 1
        record = RecordedRequest(method, path, route_key, dict(request.query), None)
        self.requests.append(record)
        try:
            response = await self._handle(request, found, path, record)
        finally:
            self._notify()
        record.status = response.status
        self.stats.by_status[response.status] += 1
        if response.status in (401, 403, 429):
            self.stats.invalid += 1
        self._notify()
        return response

    async def _handle(
        self,
        request: web.Request,
        found: tuple[_Route, dict[str, str]] | None,
        path: str,
        record: RecordedRequest,
    ) -> web.Response:
        method = request.method
        if found is None:
            self.unknown_routes.append(f"{method} {path}")
            return self._json_response(404, not_found().body())
        route, params = found
        if route.bot_auth and request.headers.get("Authorization") != f"Bot {self.token}":
            return self._json_response(401, unauthorized().body())
        now = self.clock()
        if not route.interaction:
            self.arrivals.append(now)
        if not route.interaction and not self._global.try_take(now):
            return self._rate_limited(self._global.retry_after(now), is_global=True, scope="global")
        for inj in list(self._injections):
            if not inj.matches(method, path, route.key) or not inj.hits():
                continue
            inj.count -= 1
            if inj.count <= 0:
                self._injections.remove(inj)
            if inj.delay:
                await asyncio.sleep(inj.delay)
            if inj.status == 429:
                return self._rate_limited(
                    inj.retry_after,
                    is_global=inj.is_global,
                    scope="global" if inj.is_global else "user",
                    via=inj.via,
                )
            if inj.status == 502:
                return web.Response(
                    status=502, text="<html><body>502 Bad Gateway</body></html>", content_type="text/html"
                )
            if inj.status:
                return self._json_response(
                    inj.status, {"message": f"{inj.status}: Internal Server Error", "code": 0}
                )
        bucket_id, bucket = self._bucket_for(route, params)
        now = self.clock()
        if not bucket.try_take(now):
            retry = bucket.reset_after(now)
            return self._rate_limited(
                retry, is_global=False, scope="user", extra=self._ratelimit_headers(bucket_id, bucket, now)
            )
        headers = self._ratelimit_headers(bucket_id, bucket, now)
        try:
            body, files = await self._read_body(request)
            record.body = body
            result = await route.handler(_Req(request, params, dict(request.query), body, files))
        except ApiError as err:
            return self._json_response(err.status, err.body(), headers)
        if result is None:
            return web.Response(status=204, headers=headers)
        return self._json_response(200, result, headers)

    def _ratelimit_headers(self, bucket_id: str, bucket: Window, now: float) -> dict[str, str]:
        reset_after = bucket.reset_after(now)
        return {
            "X-RateLimit-Limit": str(bucket.limit),
            "X-RateLimit-Remaining": str(bucket.remaining(now)),
            "X-RateLimit-Reset": f"{_ceil_ms(time.time() + reset_after):.3f}",
            "X-RateLimit-Reset-After": f"{_ceil_ms(reset_after):.3f}",
            "X-RateLimit-Bucket": bucket_id,
        }

    @staticmethod
    async def _read_body(request: web.Request) -> tuple[Any, list[dict[str, Any]]]:
        if not request.can_read_body:
            return None, []
        ctype = request.content_type
        if ctype == "multipart/form-data":
            body: Any = {}
            files: list[dict[str, Any]] = []
            reader = await request.multipart()
            while (part := await reader.next()) is not None:
                if not isinstance(part, BodyPartReader):
                    continue
                data = await part.read()
                if part.name == "payload_json":
                    body = json.loads(data)
                else:
                    files.append(
                        {
                            "field": part.name,
                            "filename": part.filename,
                            "size": len(data),
                            "content_type": part.headers.get("Content-Type", "application/octet-stream"),
                            "data": bytes(data),
                        }
                    )
            return body, files
        raw = await request.read()
        if not raw:
            return None, []
        try:
            return json.loads(raw), []
        except ValueError:
            raise ApiError(400, 50109, "The request body contains invalid JSON.") from None

    # ---- helpers for handlers ------------------------------------------------------------------------------

    def _channel(self, channel_id: str | int) -> Channel:
        try:
            ch = self.channels[int(channel_id)]
        except (KeyError, ValueError):
            raise unknown("Channel") from None
        if ch.type != ChannelType.DM and not self.permissions_in(ch, self.bot) & P.VIEW_CHANNEL:
            raise missing_access()
        return ch

    def _message(self, channel: Channel, message_id: str) -> Message:
        try:
            msg = self.messages_by_id[int(message_id)]
        except (KeyError, ValueError):
            raise unknown("Message") from None
        if msg.channel_id != channel.id or msg.deleted or msg.ephemeral:
            raise unknown("Message")
        return msg

    def _users_json(self) -> dict[int, User]:
        return self.users

    def _message_json(self, msg: Message) -> dict[str, Any]:
        return msg.to_json(self.users)

    def _compute_mentions(
        self, msg: Message, data: dict[str, Any], channel: Channel, author_perms: int
    ) -> None:
        content = msg.content or ""
        users = [int(u) for u in re.findall(r"<@!?(\d+)>", content)]
        roles = [int(r) for r in re.findall(r"<@&(\d+)>", content)]
        everyone = "@everyone" in content or "@here" in content
        am = data.get("allowed_mentions")
        if am is None:
            am = (
                msg.allowed_mentions
                if msg.allowed_mentions is not None
                else {"parse": ["users", "roles", "everyone"]}
            )
        msg.allowed_mentions = am
        parse = am.get("parse") or []
        allowed_users = {int(u) for u in am.get("users") or []}
        allowed_roles = {int(r) for r in am.get("roles") or []}
        guild = self.guilds.get(channel.guild_id) if channel.guild_id else None
        msg.mentioned_user_ids = [u for u in dict.fromkeys(users) if "users" in parse or u in allowed_users]
        can_everyone = bool(author_perms & P.MENTION_EVERYONE)
        msg.mentioned_role_ids = [
            r
            for r in dict.fromkeys(roles)
            if guild is not None
            and r in guild.roles
            and ("roles" in parse or r in allowed_roles)
            and (guild.roles[r].mentionable or can_everyone)
        ]
        msg.mention_everyone = everyone and "everyone" in parse and can_everyone

    def _store_message(self, msg: Message) -> None:
        self.messages_by_id[msg.id] = msg
        if msg.ephemeral:
            return
        self._messages.setdefault(msg.channel_id, []).append(msg)
        ch = self.channels.get(msg.channel_id)
        if ch is not None:
            ch.last_message_id = msg.id
            ch.message_count += 1
        self._dispatch_message("MESSAGE_CREATE", msg)

    def _dispatch_message(self, event: str, msg: Message) -> None:
        if msg.ephemeral:
            return
        data = self._message_json(msg)
        if msg.guild_id is not None:
            data["guild_id"] = str(msg.guild_id)
            guild = self.guilds.get(msg.guild_id)
            if guild is not None and msg.author.id in guild.members:
                data["member"] = guild.members[msg.author.id].to_json(with_user=False)
        intent = INTENT_GUILD_MESSAGES if msg.guild_id is not None else INTENT_DIRECT_MESSAGES
        self._dispatch(event, data, guild_id=msg.guild_id, intent=intent)

    def _apply_edit(self, msg: Message, data: dict[str, Any], channel: Channel, perms: int) -> None:
        if "content" in data:
            msg.content = data["content"] or ""
        if "embeds" in data:
            msg.embeds = [self._normalise_embed(e) for e in data["embeds"] or []]
        if "components" in data:
            msg.components = data["components"] or []
        if "attachments" in data and isinstance(data["attachments"], list):
            keep = {str(a.get("id")) for a in data["attachments"]}
            msg.attachments = [a for a in msg.attachments if a["id"] in keep]
        if "flags" in data and data["flags"] is not None:
            suppress = 1 << 2
            msg.flags = (msg.flags & ~suppress) | (int(data["flags"]) & suppress)
        msg.edited_timestamp = now_iso()
        msg.edits += 1
        self._compute_mentions(msg, data, channel, perms)

    @staticmethod
    def _normalise_embed(embed: dict[str, Any]) -> dict[str, Any]:
        out = dict(embed)
        out.setdefault("type", "rich")
        return out

    def _attachments(self, files: list[dict[str, Any]]) -> list[dict[str, Any]]:
        out = []
        for f in files:
            aid = snowflake()
            self.attachment_bytes[str(aid)] = f.get("data", b"")
            out.append(
                {
                    "id": str(aid),
                    "filename": f["filename"],
                    "size": f["size"],
                    "content_type": f["content_type"],
                    "url": f"{self.base_url}/attachments/{aid}/{f['filename']}",
                    "proxy_url": f"{self.base_url}/attachments/{aid}/{f['filename']}",
                }
            )
        return out

    # ---- REST routes ---------------------------------------------------------------------------------------

    def _register_routes(self) -> None:
        r = self._route

        @r("GET", "/users/@me")
        async def me(req: _Req) -> Any:
            return self.bot.to_json() | {
                "verified": True,
                "mfa_enabled": False,
                "locale": "en-US",
                "email": None,
                "bio": "",
                "banner": None,
                "accent_color": None,
            }

        @r("GET", "/users/{user_id}")
        async def get_user(req: _Req) -> Any:
            user = _by_snowflake(self.users, req.params["user_id"])
            if user is None:
                raise unknown("User")
            return user.to_json()

        @r("POST", "/users/@me/channels")
        async def create_dm(req: _Req) -> Any:
            rid = str((req.body or {}).get("recipient_id", ""))
            user = _by_snowflake(self.users, rid)
            if user is None:
                raise unknown("User")
            return self.open_dm(user).to_json()

        @r("DELETE", "/users/@me/guilds/{guild_id}")
        async def leave_guild(req: _Req) -> Any:
            gid = int(req.params["guild_id"])
            if gid not in self.guilds:
                raise unknown("Guild")
            self.remove_guild(gid)
            return None

        async def app_info(req: _Req) -> Any:
            return {
                "id": str(self.application_id),
                "name": self.bot.username,
                "icon": None,
                "description": "",
                "rpc_origins": [],
                "bot_public": True,
                "bot_require_code_grant": False,
                "bot": self.bot.to_json(),
                "owner": self.app_owner.to_json(),
                "summary": "",
                "verify_key": "0" * 64,
                "team": None,
                "flags": 0,
                "interactions_endpoint_url": None,
                "redirect_uris": [],
                "tags": [],
                "approximate_guild_count": len(self.guilds),
                "install_params": {
                    "scopes": ["bot", "applications.commands"],
                    "permissions": str(BOT_INVITE_PERMISSIONS),
                },
                "integration_types_config": {"0": {}},
            }

        r("GET", "/oauth2/applications/@me")(app_info)
        r("GET", "/applications/@me")(app_info)

        @r("GET", "/gateway")
        async def gateway(req: _Req) -> Any:
            return {"url": self.gateway_url}

        @r("GET", "/gateway/bot")
        async def gateway_bot(req: _Req) -> Any:
            return {
                "url": self.gateway_url,
                "shards": self.recommended_shards,
                "session_start_limit": {
                    "total": 1000,
                    "remaining": 1000 - self.stats.identifies,
                    "reset_after": 86_400_000,
                    "max_concurrency": 1,
                },
            }

        # -- application commands
        def check_app(req: _Req) -> None:
            if req.params["app_id"] != str(self.application_id):
                raise ApiError(
                    403, 20012, "You are not authorized to perform this action on this application"
                )

        def command_table(req: _Req) -> tuple[dict[int, AppCommand], int | None]:
            check_app(req)
            if "guild_id" not in req.params:
                return self.global_commands, None
            gid = int(req.params["guild_id"])
            if gid not in self.guilds:
                raise missing_access()  # Discord's answer when the bot (or its commands scope) is not there
            return self.guild_commands.setdefault(gid, {}), gid

        def upsert(table: dict[int, AppCommand], payload: dict[str, Any], gid: int | None) -> AppCommand:
            name, ctype = payload.get("name"), int(payload.get("type", 1))
            for cmd in table.values():
                if cmd.name == name and cmd.type == ctype:
                    cmd.payload = payload
                    cmd.version = snowflake()
                    return cmd
            cmd = AppCommand(snowflake(), self.application_id, snowflake(), payload, gid)
            table[cmd.id] = cmd
            return cmd

        for base in ("/applications/{app_id}/commands", "/applications/{app_id}/guilds/{guild_id}/commands"):

            @r("GET", base)
            async def list_commands(req: _Req) -> Any:
                table, _ = command_table(req)
                return [c.to_json() for c in table.values()]

            @r("PUT", base)
            async def bulk_overwrite(req: _Req) -> Any:
                table, gid = command_table(req)
                validate_commands(req.body)
                kept: dict[int, AppCommand] = {}
                for payload in req.body:
                    cmd = upsert(table, payload, gid)
                    kept[cmd.id] = cmd
                table.clear()
                table.update(kept)
                return [c.to_json() for c in table.values()]

            @r("POST", base)
            async def create_command(req: _Req) -> Any:
                table, gid = command_table(req)
                validate_commands([req.body])
                return upsert(table, req.body, gid).to_json()

            @r("GET", base + "/{command_id}")
            async def get_command(req: _Req) -> Any:
                table, _ = command_table(req)
                cmd = table.get(int(req.params["command_id"]))
                if cmd is None:
                    raise unknown("Application Command")
                return cmd.to_json()

            @r("PATCH", base + "/{command_id}")
            async def edit_command(req: _Req) -> Any:
                table, _ = command_table(req)
                cmd = table.get(int(req.params["command_id"]))
                if cmd is None:
                    raise unknown("Application Command")
                payload = cmd.payload | (req.body or {})
                validate_commands([payload])
                cmd.payload = payload
                cmd.version = snowflake()
                return cmd.to_json()

            @r("DELETE", base + "/{command_id}")
            async def delete_command(req: _Req) -> Any:
                table, _ = command_table(req)
                if table.pop(int(req.params["command_id"]), None) is None:
                    raise unknown("Application Command")
                return None

        # -- guilds
        def guild_of(req: _Req) -> Guild:
            g = _by_snowflake(self.guilds, req.params["guild_id"])
            if g is None:
                raise unknown("Guild")
            return g

        @r("GET", "/guilds/{guild_id}")
        async def get_guild(req: _Req) -> Any:
            g = guild_of(req)
            data = g.to_json(bot_user_id=self.bot.id, full=False)
            if req.query.get("with_counts") in ("1", "true", "True"):
                data.update(approximate_member_count=len(g.members), approximate_presence_count=0)
            return data

        @r("GET", "/guilds/{guild_id}/channels")
        async def guild_channels(req: _Req) -> Any:
            g = guild_of(req)
            return [c.to_json() for c in g.channels.values() if not c.is_thread]

        @r("GET", "/guilds/{guild_id}/roles")
        async def guild_roles(req: _Req) -> Any:
            return [role.to_json() for role in guild_of(req).roles.values()]

        @r("GET", "/guilds/{guild_id}/members/{user_id}")
        async def guild_member(req: _Req) -> Any:
            g = guild_of(req)
            m = _by_snowflake(g.members, req.params["user_id"])
            if m is None:
                raise unknown("Member")
            return m.to_json()

        # -- channels and messages
        @r("GET", "/channels/{channel_id}")
        async def get_channel(req: _Req) -> Any:
            return self._channel(req.params["channel_id"]).to_json()

        @r("PATCH", "/channels/{channel_id}")
        async def edit_channel(req: _Req) -> Any:
            ch = self._channel(req.params["channel_id"])
            data = req.body if isinstance(req.body, dict) else {}
            if not ch.is_thread:
                raise ApiError(400, 50024, "Cannot execute action on this channel type")  # only threads here
            if ch.owner_id != self.bot.id and not self.permissions_in(ch, self.bot) & P.MANAGE_THREADS:
                raise missing_permissions()
            if "name" in data:
                errs = FormErrors()
                errs.check_str(data, "name", (), 100, required=True)
                errs.raise_if_any()
                ch.name = data["name"]
            if "archived" in data:
                ch.archived = bool(data["archived"])
            self._dispatch("THREAD_UPDATE", ch.to_json(), guild_id=ch.guild_id, intent=INTENT_GUILDS)
            return ch.to_json()

        @r("POST", "/channels/{channel_id}/typing")
        async def typing(req: _Req) -> Any:
            self._channel(req.params["channel_id"])
            return None

        @r("POST", "/channels/{channel_id}/messages")
        async def create_message(req: _Req) -> Any:
            ch = self._channel(req.params["channel_id"])
            data = req.body if isinstance(req.body, dict) else {}
            validate_message(data)
            if is_empty(data, has_files=bool(req.files)):
                raise empty_message()
            perms = self.permissions_in(ch, self.bot)
            if ch.type == ChannelType.DM:
                recipient = ch.recipients[0]
                if not recipient.dms_open or recipient.bot:
                    raise cannot_dm()
            else:
                need = P.SEND_MESSAGES_IN_THREADS if ch.is_thread else P.SEND_MESSAGES
                if not perms & need:
                    raise missing_permissions()
                if data.get("embeds") and self.strict_embed_links and not perms & P.EMBED_LINKS:
                    raise missing_permissions()
                if req.files and not perms & P.ATTACH_FILES:
                    raise missing_permissions()
                if data.get("message_reference") and not perms & P.READ_MESSAGE_HISTORY:
                    raise missing_permissions()
                if ch.is_thread and ch.archived:
                    raise ApiError(400, 50083, "Thread is archived")
            nonce = data.get("nonce")
            now = self.clock()
            if nonce is not None and data.get("enforce_nonce"):
                key = (ch.id, str(nonce))
                seen = self._nonces.get(key)
                if seen is not None and now - seen[0] < self.nonce_ttl:
                    earlier = self.messages_by_id.get(seen[1])
                    if earlier is not None:
                        return self._message_json(earlier)
            ref = data.get("message_reference")
            if ref is not None:
                target = self.messages_by_id.get(int(ref.get("message_id", 0)))
                if target is None and ref.get("fail_if_not_exists", True):
                    errs = FormErrors()
                    errs.add(("message_reference",), "MESSAGE_REFERENCE_UNKNOWN_MESSAGE", "Unknown message")
                    errs.raise_if_any()
            msg = Message(
                snowflake(),
                ch.id,
                self.bot,
                content=data.get("content") or "",
                embeds=[self._normalise_embed(e) for e in data.get("embeds") or []],
                components=data.get("components") or [],
                attachments=self._attachments(req.files),
                flags=int(data.get("flags") or 0) & (1 << 2 | 1 << 12),
                guild_id=ch.guild_id,
                nonce=nonce,
                message_reference=ref,
            )
            self._compute_mentions(msg, data, ch, perms)
            if nonce is not None and data.get("enforce_nonce"):
                self._nonces[(ch.id, str(nonce))] = (now, msg.id)
            self._store_message(msg)
            return self._message_json(msg)

        @r("GET", "/channels/{channel_id}/messages")
        async def list_messages(req: _Req) -> Any:
            ch = self._channel(req.params["channel_id"])
            if not self.permissions_in(ch, self.bot) & P.READ_MESSAGE_HISTORY:
                return []
            limit = int(req.query.get("limit", 50))
            if not 1 <= limit <= 100:
                errs = FormErrors()
                errs.add(("limit",), "NUMBER_TYPE_MAX", "int value should be less than or equal to 100.")
                errs.raise_if_any()
            msgs = sorted(self.messages(ch), key=lambda m: m.id, reverse=True)
            if "before" in req.query:
                msgs = [m for m in msgs if m.id < int(req.query["before"])]
            if "after" in req.query:
                msgs = sorted((m for m in msgs if m.id > int(req.query["after"])), key=lambda m: m.id)[:limit]
                msgs.reverse()
            return [self._message_json(m) for m in msgs[:limit]]

        @r("GET", "/channels/{channel_id}/messages/{message_id}")
        async def get_message(req: _Req) -> Any:
            ch = self._channel(req.params["channel_id"])
            if not self.permissions_in(ch, self.bot) & P.READ_MESSAGE_HISTORY:
                raise missing_permissions()
            return self._message_json(self._message(ch, req.params["message_id"]))

        @r("PATCH", "/channels/{channel_id}/messages/{message_id}")
        async def edit_message(req: _Req) -> Any:
            ch = self._channel(req.params["channel_id"])
            msg = self._message(ch, req.params["message_id"])
            if msg.author.id != self.bot.id or msg.webhook_id is not None:
                raise ApiError(403, 50005, "Cannot edit a message authored by another user")
            data = req.body if isinstance(req.body, dict) else {}
            validate_message(data)
            perms = self.permissions_in(ch, self.bot)
            if (
                data.get("embeds")
                and self.strict_embed_links
                and ch.type != ChannelType.DM
                and not perms & P.EMBED_LINKS
            ):
                raise missing_permissions()
            self._apply_edit(msg, data, ch, perms)
            self._dispatch_message("MESSAGE_UPDATE", msg)
            return self._message_json(msg)

        @r("DELETE", "/channels/{channel_id}/messages/{message_id}")
        async def delete_message(req: _Req) -> Any:
            ch = self._channel(req.params["channel_id"])
            msg = self._message(ch, req.params["message_id"])
            if msg.author.id != self.bot.id and not self.permissions_in(ch, self.bot) & P.MANAGE_MESSAGES:
                raise missing_permissions()
            self._delete(msg)
            return None

        @r("POST", "/channels/{channel_id}/threads")
        async def create_thread(req: _Req) -> Any:
            ch = self._channel(req.params["channel_id"])
            data = req.body if isinstance(req.body, dict) else {}
            ttype = int(data.get("type") or ChannelType.PRIVATE_THREAD)
            if ch.type == ChannelType.ANNOUNCEMENT:
                ttype = ChannelType.ANNOUNCEMENT_THREAD
            return self._new_thread(ch, data, ChannelType(ttype), None)

        @r("POST", "/channels/{channel_id}/messages/{message_id}/threads")
        async def thread_from_message(req: _Req) -> Any:
            ch = self._channel(req.params["channel_id"])
            msg = self._message(ch, req.params["message_id"])
            if msg.thread_id is not None:
                raise ApiError(400, 160004, "A thread has already been created for this message")
            data = req.body if isinstance(req.body, dict) else {}
            ttype = (
                ChannelType.ANNOUNCEMENT_THREAD
                if ch.type == ChannelType.ANNOUNCEMENT
                else ChannelType.PUBLIC_THREAD
            )
            return self._new_thread(ch, data, ttype, msg)

        @r("PUT", "/channels/{channel_id}/thread-members/@me")
        async def join_thread(req: _Req) -> Any:
            ch = self._channel(req.params["channel_id"])
            if not ch.is_thread:
                raise ApiError(400, 50024, "Cannot execute action on this channel type")
            return None

        # -- interactions
        @r("POST", "/interactions/{interaction_id}/{token}/callback", bot_auth=False, interaction=True)
        async def callback(req: _Req) -> Any:
            return self._callback(req)

        def interaction_of(req: _Req) -> Interaction:
            if req.params["app_id"] != str(self.application_id):
                raise unknown("Webhook")
            inter = self._by_token.get(req.params["token"])
            if inter is None or inter.response is None:
                raise unknown("Webhook")
            if self.clock() - inter.created > self.followup_ttl:
                raise invalid_webhook_token()
            return inter

        @r("POST", "/webhooks/{app_id}/{token}", bot_auth=False, interaction=True)
        async def followup(req: _Req) -> Any:
            inter = interaction_of(req)
            data = req.body if isinstance(req.body, dict) else {}
            validate_message(data)
            if is_empty(data, has_files=bool(req.files)):
                raise empty_message()
            ch = self.channels[inter.channel_id]
            orig = inter.original
            if inter.original_pending and orig is not None and inter.type != 3:
                # The first follow-up after a defer fills in the "thinking" message; flags from the defer.
                inter.original_pending = False
                msg = orig
                msg.flags = orig.flags & ~Message.LOADING
                self._apply_edit(msg, data, ch, int(P.MENTION_EVERYONE))
                msg.edited_timestamp = None
                msg.edits = 0
                msg.attachments = self._attachments(req.files)
                self._dispatch_message("MESSAGE_UPDATE", msg)
            else:
                inter.original_pending = False
                msg = self._interaction_message(inter, data, files=req.files)
                inter.followups.append(msg)
                self._store_message(msg)
            if req.query.get("wait") in ("1", "true", "True"):
                return self._message_json(msg)
            return None

        def webhook_message(inter: Interaction, mid: str) -> Message:
            if mid == "@original":
                if inter.original is None or inter.original.deleted:
                    raise unknown("Message")
                return inter.original
            for m in inter.messages:
                if str(m.id) == mid and not m.deleted:
                    return m
            raise unknown("Message")

        base = "/webhooks/{app_id}/{token}/messages/{message_id}"

        @r("GET", base, bot_auth=False, interaction=True)
        async def get_webhook_message(req: _Req) -> Any:
            inter = interaction_of(req)
            return self._message_json(webhook_message(inter, req.params["message_id"]))

        @r("PATCH", base, bot_auth=False, interaction=True)
        async def edit_webhook_message(req: _Req) -> Any:
            inter = interaction_of(req)
            msg = webhook_message(inter, req.params["message_id"])
            data = req.body if isinstance(req.body, dict) else {}
            validate_message(data)
            if msg is inter.original:
                inter.original_pending = False
                msg.flags &= ~Message.LOADING
            self._apply_edit(msg, data, self.channels[msg.channel_id], int(P.MENTION_EVERYONE))
            if req.files:
                msg.attachments += self._attachments(req.files)
            self._dispatch_message("MESSAGE_UPDATE", msg)
            return self._message_json(msg)

        @r("DELETE", base, bot_auth=False, interaction=True)
        async def delete_webhook_message(req: _Req) -> Any:
            inter = interaction_of(req)
            self._delete(webhook_message(inter, req.params["message_id"]))
            return None

    def _delete(self, msg: Message) -> None:
        msg.deleted = True
        if not msg.ephemeral:
            data: dict[str, Any] = {"id": str(msg.id), "channel_id": str(msg.channel_id)}
            if msg.guild_id is not None:
                data["guild_id"] = str(msg.guild_id)
            intent = INTENT_GUILD_MESSAGES if msg.guild_id is not None else INTENT_DIRECT_MESSAGES
            self._dispatch("MESSAGE_DELETE", data, guild_id=msg.guild_id, intent=intent)

    def _new_thread(self, ch: Channel, data: dict[str, Any], ttype: ChannelType, msg: Message | None) -> Any:
        if ch.type not in (ChannelType.TEXT, ChannelType.ANNOUNCEMENT):
            raise ApiError(400, 50024, "Cannot execute action on this channel type")
        perms = self.permissions_in(ch, self.bot)
        need = P.CREATE_PRIVATE_THREADS if ttype == ChannelType.PRIVATE_THREAD else P.CREATE_PUBLIC_THREADS
        if not perms & need or (msg is not None and not perms & P.READ_MESSAGE_HISTORY):
            raise missing_permissions()
        errs = FormErrors()
        errs.check_str(data, "name", (), 100, required=True)
        if data.get("auto_archive_duration") not in (None, 60, 1440, 4320, 10080):
            errs.add(
                ("auto_archive_duration",),
                "BASE_TYPE_CHOICES",
                "Value must be one of {60, 1440, 4320, 10080}.",
            )
        errs.raise_if_any()
        assert ch.guild_id is not None
        guild = self.guilds[ch.guild_id]
        th = Channel(
            msg.id if msg else snowflake(),
            ttype,
            data["name"],
            guild_id=ch.guild_id,
            parent_id=ch.id,
            owner_id=self.bot.id,
        )
        guild.channels[th.id] = th
        self.channels[th.id] = th
        if msg is not None:
            msg.thread_id = th.id
        self._dispatch(
            "THREAD_CREATE",
            th.to_json() | {"newly_created": True},
            guild_id=ch.guild_id,
            intent=INTENT_GUILDS,
        )
        return th.to_json()

    # ---- interactions: callbacks ---------------------------------------------------------------------------

    def _interaction_message(
        self,
        inter: Interaction,
        data: dict[str, Any],
        *,
        flags: int | None = None,
        files: list[dict[str, Any]] | None = None,
    ) -> Message:
        ch = self.channels[inter.channel_id]
        raw_flags = int(data.get("flags") or 0) if flags is None else flags
        msg = Message(
            snowflake(),
            ch.id,
            self.bot,
            content=data.get("content") or "",
            embeds=[self._normalise_embed(e) for e in data.get("embeds") or []],
            components=data.get("components") or [],
            attachments=self._attachments(files or []),
            flags=raw_flags & (Message.EPHEMERAL | Message.LOADING | 1 << 2 | 1 << 12),
            guild_id=ch.guild_id,
            webhook_id=self.application_id,
            application_id=self.application_id,
            interaction=inter,
        )
        self._compute_mentions(msg, data, ch, int(P.MENTION_EVERYONE))
        return msg

    def _callback(self, req: _Req) -> Any:
        try:
            inter = self.interactions[int(req.params["interaction_id"])]
        except (KeyError, ValueError):
            raise unknown("interaction") from None
        if req.params["token"] != inter.token or self.clock() - inter.created > self.interaction_deadline:
            raise unknown("interaction")
        if inter.response is not None:
            raise already_acknowledged()
        body = req.body if isinstance(req.body, dict) else {}
        rtype = body.get("type")
        data = body.get("data") or {}
        allowed = {2: {4, 5, 9}, 3: {4, 5, 6, 7, 9}, 4: {8}, 5: {4, 5, 6, 7}}[inter.type]
        if rtype not in allowed:
            errs = FormErrors()
            errs.add(("type",), "INTERACTION_RESPONSE_TYPE_INVALID", "Invalid interaction response type")
            errs.raise_if_any()
        msg: Message | None = None
        if rtype == 4:
            validate_message(data, ("data",))
            if is_empty(data, has_files=bool(req.files)):
                raise empty_message()
            msg = self._interaction_message(inter, data, files=req.files)
            inter.original = msg
            self._store_message(msg)
        elif rtype == 5:
            msg = self._interaction_message(
                inter, {}, flags=Message.LOADING | (int(data.get("flags") or 0) & 64)
            )
            inter.original = msg
            inter.original_pending = True
            self._store_message(msg)
        elif rtype in (6, 7):
            msg = inter.component_message
            inter.original = msg
            if rtype == 7 and msg is not None:
                validate_message(data, ("data",))
                ch = self.channels[msg.channel_id]
                self._apply_edit(msg, data, ch, int(P.MENTION_EVERYONE))
                self._dispatch_message("MESSAGE_UPDATE", msg)
        elif rtype == 8:
            validate_choices(data)
        elif rtype == 9:
            errs = FormErrors()
            errs.check_str(data, "custom_id", ("data",), 100, required=True)
            errs.check_str(data, "title", ("data",), 45, required=True)
            errs.raise_if_any()
        inter.response = InteractionResponse(int(rtype or 0), data)
        if req.query.get("with_response") not in ("1", "true", "True"):
            return None
        info: dict[str, Any] = {"id": str(inter.id), "type": inter.type}
        out: dict[str, Any] = {"interaction": info}
        if msg is not None:
            info.update(
                response_message_id=str(msg.id),
                response_message_loading=msg.loading,
                response_message_ephemeral=msg.ephemeral,
            )
            out["resource"] = {"type": rtype, "message": self._message_json(msg)}
        else:
            out["resource"] = {"type": rtype}
        return out

    # ---- interactions: the driver side ---------------------------------------------------------------------

    def find_command(self, name: str, guild: Guild | None = None) -> AppCommand:
        if guild is not None:
            for cmd in self.guild_commands.get(guild.id, {}).values():
                if cmd.name == name and cmd.type == 1:
                    return cmd
        for cmd in self.global_commands.values():
            if cmd.name == name and cmd.type == 1:
                return cmd
        raise LookupError(f"/{name} is not registered with the fake Discord (did the bot sync its tree?)")

    def _guild_for(
        self, guild: Guild | None, channel: Channel | None, user: User | Member | None
    ) -> Guild | None:
        """The guild an interaction happens in: given, the channel's, or (none said) the only/standard one."""
        if guild is not None:
            return guild
        if channel is not None:
            return self.guilds.get(channel.guild_id) if channel.guild_id else None
        if isinstance(user, Member):
            return self.guilds[user.guild_id]
        if user is None:
            if self.world is not None:
                return self.world.guild
            if len(self.guilds) == 1:
                return next(iter(self.guilds.values()))
        return None

    def _context(
        self, guild: Guild | None, channel: Channel | None, user: User | Member | None
    ) -> tuple[Channel, User, Member | None]:
        if guild is not None:
            member = guild.members[_as_id(user)] if user is not None else self.default_user(guild)
            if channel is None:
                channel = next(c for c in guild.channels.values() if c.type == ChannelType.TEXT)
            return channel, member.user, member
        if user is None:
            raise ValueError("an interaction outside a guild needs a user")
        u = user.user if isinstance(user, Member) else user
        return self.open_dm(u), u, None

    def _interaction_payload(
        self,
        itype: int,
        data: dict[str, Any],
        channel: Channel,
        user: User,
        member: Member | None,
        locale: str,
        message: Message | None = None,
    ) -> Interaction:
        iid = snowflake()
        token = "aW50ZXJhY3Rpb246" + secrets.token_urlsafe(48)
        guild = self.guilds.get(channel.guild_id) if channel.guild_id else None
        inter = Interaction(
            iid,
            token,
            itype,
            data,
            user,
            channel.id,
            guild.id if guild else None,
            self.clock(),
            component_message=message,
        )
        payload: dict[str, Any] = {
            "id": str(iid),
            "application_id": str(self.application_id),
            "type": itype,
            "data": data,
            "channel_id": str(channel.id),
            "channel": channel.to_json(),
            "token": token,
            "version": 1,
            "locale": locale,
            "app_permissions": str(self.permissions_in(channel, self.bot)),
            "entitlements": [],
            "entitlement_sku_ids": [],
            "authorizing_integration_owners": inter.integration_owners(),
            "context": 0 if guild else 1,
            "attachment_size_limit": 10 * 1024 * 1024,
        }
        if guild is not None and member is not None:
            payload.update(
                guild_id=str(guild.id),
                guild={"id": str(guild.id), "locale": guild.locale, "features": []},
                guild_locale=guild.locale,
                member=member.to_json() | {"permissions": str(self.permissions_in(channel, member))},
            )
        else:
            payload["user"] = user.to_json()
        if message is not None:
            payload["message"] = self._message_json(message)
        inter.payload = payload
        self.interactions[iid] = inter
        self._by_token[token] = inter
        return inter

    def _send_interaction(self, inter: Interaction) -> Interaction:
        if not self.connected:
            raise RuntimeError("no bot is connected to the fake gateway")
        self._dispatch("INTERACTION_CREATE", inter.payload, guild_id=inter.guild_id)
        self._notify()
        return inter

    def _build_options(
        self,
        schema: list[dict[str, Any]],
        given: dict[str, Any],
        resolved: dict[str, dict[str, Any]],
        guild: Guild | None,
        channel: Channel,
        focused: str | None,
    ) -> list[dict[str, Any]]:
        by_name = {o["name"]: o for o in schema}
        out = []
        for name, value in given.items():
            opt = by_name.get(name)
            if opt is None:
                raise ValueError(f"option {name!r} does not exist (options: {sorted(by_name)})")
            otype = int(opt["type"])
            entry: dict[str, Any] = {"name": name, "type": otype}
            if name == focused:
                if not opt.get("autocomplete"):
                    raise ValueError(f"option {name!r} has no autocomplete")
                entry.update(value=str(value), focused=True)
                out.append(entry)
                continue
            entry["value"] = self._option_value(opt, value, resolved, guild, channel)
            out.append(entry)
        if focused is None:
            missing = [o["name"] for o in schema if o.get("required") and o["name"] not in given]
            if missing:
                raise ValueError(f"required option(s) missing: {missing}")
        return out

    def _option_value(
        self,
        opt: dict[str, Any],
        value: Any,
        resolved: dict[str, dict[str, Any]],
        guild: Guild | None,
        channel: Channel,
    ) -> Any:
        otype = int(opt["type"])
        if otype == 3:
            v: Any = str(value)
            if ("min_length" in opt and len(v) < opt["min_length"]) or (
                "max_length" in opt and len(v) > opt["max_length"]
            ):
                raise ValueError(f"{opt['name']}: length out of range")
        elif otype == 4:
            v = int(value)
        elif otype == 10:
            v = float(value)
        elif otype == 5:
            v = bool(value)
        elif otype in (6, 9) and not isinstance(value, Role):
            uid = _as_id(value)
            user = self.users[uid]
            resolved.setdefault("users", {})[str(uid)] = user.to_json()
            if guild is not None and uid in guild.members:
                m = guild.members[uid]
                resolved.setdefault("members", {})[str(uid)] = m.to_json(with_user=False) | {
                    "permissions": str(self.permissions_in(channel, m))
                }
            v = str(uid)
        elif otype in (8, 9):
            assert guild is not None
            rid = _as_id(value)
            resolved.setdefault("roles", {})[str(rid)] = guild.roles[rid].to_json()
            v = str(rid)
        elif otype == 7:
            ch = self.channels[_as_id(value)]
            allowed = opt.get("channel_types")
            if allowed and int(ch.type) not in allowed:
                raise ValueError(f"{opt['name']}: channel type {ch.type.name} not allowed ({allowed})")
            data = ch.to_json() | {"permissions": str(self.permissions_in(ch, self.bot))}
            resolved.setdefault("channels", {})[str(ch.id)] = data
            v = str(ch.id)
        else:
            raise ValueError(f"option type {otype} is not supported by the fake")
        if otype in (4, 10) and (
            ("min_value" in opt and v < opt["min_value"]) or ("max_value" in opt and v > opt["max_value"])
        ):
            raise ValueError(f"{opt['name']}: {v} out of range")
        choices = opt.get("choices")
        if choices and v not in [c["value"] for c in choices]:
            raise ValueError(f"{opt['name']}: {v!r} is not one of the choices")
        return v

    def _command_data(
        self,
        command: str,
        options: dict[str, Any] | None,
        guild: Guild | None,
        channel: Channel,
        member: Member | None,
        focused: str | None,
        force: bool,
    ) -> dict[str, Any]:
        path = command.strip().lstrip("/").split()
        cmd = self.find_command(path[0], guild)
        payload = cmd.payload
        if guild is None:
            contexts = payload.get("contexts")
            if payload.get("dm_permission") is False or (contexts is not None and 1 not in contexts):
                raise PermissionError(f"/{cmd.name} cannot be used in DMs")
        elif member is not None and not force:
            needed = payload.get("default_member_permissions")
            if needed is not None:
                have = self.permissions_in(channel, member)
                if int(needed) & ~have:
                    raise PermissionError(
                        f"/{cmd.name} is hidden from {member.user.username} "
                        f"(default_member_permissions={needed})"
                    )
        data: dict[str, Any] = {"id": str(cmd.id), "name": cmd.name, "type": 1}
        if cmd.guild_id is not None:
            data["guild_id"] = str(cmd.guild_id)
        resolved: dict[str, dict[str, Any]] = {}
        schema = payload.get("options") or []
        container = data
        for part in path[1:]:
            sub = next((o for o in schema if o["name"] == part and o["type"] in (1, 2)), None)
            if sub is None:
                raise ValueError(f"/{command}: no subcommand or group {part!r}")
            node: dict[str, Any] = {"name": part, "type": sub["type"], "options": []}
            container["options"] = [node]
            container = node
            schema = sub.get("options") or []
        if any(o["type"] in (1, 2) for o in schema):
            raise ValueError(f"/{command} needs a subcommand")
        container["options"] = self._build_options(schema, options or {}, resolved, guild, channel, focused)
        if resolved:
            data["resolved"] = resolved
        return data

    async def slash(
        self,
        command: str,
        options: dict[str, Any] | None = None,
        *,
        guild: Guild | None = None,
        channel: Channel | None = None,
        user: User | Member | None = None,
        locale: str = "en-US",
        force: bool = False,
    ) -> Interaction:
        """Sends a slash command as a user would: ``command`` is ``"name"`` or ``"group sub"``; options are
        plain values (or User/Member/Role/Channel objects) typed by the registered schema.

        Raises (as Discord's client would refuse) when the command is not registered, an option is unknown,
        missing or invalid, or the member lacks the command's ``default_member_permissions`` (``force`` skips
        that check, like a server's command-permission override)."""
        guild = self._guild_for(guild, channel, user)
        ch, u, member = self._context(guild, channel, user)
        data = self._command_data(command, options, guild, ch, member, None, force)
        return self._send_interaction(self._interaction_payload(2, data, ch, u, member, locale))

    async def autocomplete(
        self,
        command: str,
        focused: str,
        value: str,
        options: dict[str, Any] | None = None,
        *,
        guild: Guild | None = None,
        channel: Channel | None = None,
        user: User | Member | None = None,
        locale: str = "en-US",
        timeout: float = 5.0,  # noqa: ASYNC109 - a test driver convenience
    ) -> list[dict[str, Any]]:
        """Types ``value`` into option ``focused``; returns the choices the bot answered."""
        guild = self._guild_for(guild, channel, user)
        ch, u, member = self._context(guild, channel, user)
        opts = dict(options or {})
        opts[focused] = value
        data = self._command_data(command, opts, guild, ch, member, focused, True)
        inter = self._send_interaction(self._interaction_payload(4, data, ch, u, member, locale))
        response = await self.wait_for_response(inter, timeout)
        return response.choices

    async def click(
        self,
        message: Message,
        custom_id: str,
        *,
        user: User | Member | None = None,
        values: list[str] | None = None,
        locale: str = "en-US",
        from_channel: Channel | None = None,
    ) -> Interaction:
        """Clicks a button (or picks ``values`` in a select) on a message the bot sent. ``from_channel``: the
        interaction arrives as from that channel (and its server) instead, as a forged or copied message's
        click would, so a test can check that the bot looks at where a click comes from."""
        comp = None
        for row in message.components:
            for c in row.get("components", []) if row.get("type") == 1 else [row]:
                if c.get("custom_id") == custom_id:
                    comp = c
        if comp is None:
            raise LookupError(f"no component {custom_id!r} on message {message.id}")
        if comp.get("disabled"):
            raise PermissionError(f"component {custom_id!r} is disabled")
        ch = from_channel or self.channels[message.channel_id]
        guild = self.guilds.get(ch.guild_id) if ch.guild_id else None
        if guild is None and user is None:
            user = ch.recipients[0]
        ch, u, member = self._context(guild, ch, user)
        if message.ephemeral and message.interaction is not None and message.interaction.user.id != u.id:
            raise PermissionError("an ephemeral message is visible only to the user who caused it")
        data: dict[str, Any] = {"custom_id": custom_id, "component_type": comp["type"]}
        if comp["type"] != 2:
            chosen = list(values or [])
            lo, hi = comp.get("min_values", 1), comp.get("max_values", 1)
            if not lo <= len(chosen) <= hi:
                raise ValueError(f"select {custom_id!r} takes {lo}..{hi} values, got {len(chosen)}")
            if comp["type"] == 3:
                known = {o["value"] for o in comp.get("options", [])}
                if not set(chosen) <= known:
                    raise ValueError(f"select {custom_id!r}: {set(chosen) - known} are not options")
            data["values"] = chosen
        elif values:
            raise ValueError("a button has no values")
        return self._send_interaction(self._interaction_payload(3, data, ch, u, member, locale, message))

    async def submit_modal(self, interaction: Interaction, values: dict[str, str]) -> Interaction:
        """Submits the modal the bot answered ``interaction`` with (text inputs by custom_id)."""
        if interaction.response is None or interaction.response.type != 9:
            raise ValueError("that interaction was not answered with a modal")
        modal = interaction.response.data
        rows = []
        for row in modal.get("components", []):
            inner = row.get("components", []) if row.get("type") == 1 else [row.get("component", row)]
            comps = [
                {"type": 4, "custom_id": c["custom_id"], "value": values.get(c["custom_id"], "")}
                for c in inner
                if c.get("type") == 4
            ]
            if comps:
                rows.append({"type": 1, "components": comps})
        data = {"custom_id": modal["custom_id"], "components": rows}
        ch = self.channels[interaction.channel_id]
        guild = self.guilds.get(ch.guild_id) if ch.guild_id else None
        ch, u, member = self._context(guild, ch, interaction.user)
        return self._send_interaction(self._interaction_payload(5, data, ch, u, member, "en-US"))


@dataclass
class StandardWorld:
    guild: Guild
    papers: Channel  # text channel the bot can use
    news: Channel  # announcement channel (type 5)
    thread: Channel  # public thread in #papers
    staff: Channel  # hidden from @everyone (and the bot): 50001
    read_only: Channel  # the bot can view but not send: 50013
    admin: Member  # has Manage Server
    member: Member  # an ordinary member (the default interaction user)
    closed_dms: Member  # DMs closed: 50007
