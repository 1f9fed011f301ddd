"""The fake Discord's world: users, guilds, roles, channels, messages, interactions, and permission maths.

Objects are plain dataclasses the driver builds and inspects; ``to_json`` methods produce the payloads Discord
sends (the shapes discord.py 2.x parses).
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import IntEnum, IntFlag
from typing import Any

DISCORD_EPOCH_MS = 1420070400000
_counter = itertools.count(1)


def snowflake(at: datetime | None = None) -> int:
    """A fresh, unique, time-ordered snowflake (increment bits make ids unique within one millisecond)."""
    ms = int((at.timestamp() if at else time.time()) * 1000) - DISCORD_EPOCH_MS
    return (ms << 22) | (next(_counter) & 0x3FFFFF)


def iso(dt: datetime) -> str:
    return dt.astimezone(UTC).isoformat()


def now_iso() -> str:
    return iso(datetime.now(UTC))


class P(IntFlag):
    """Discord permission bits (the ones a bot meets)."""

    CREATE_INSTANT_INVITE = 1 << 0
    KICK_MEMBERS = 1 << 1
    BAN_MEMBERS = 1 << 2
    ADMINISTRATOR = 1 << 3
    MANAGE_CHANNELS = 1 << 4
    MANAGE_GUILD = 1 << 5
    ADD_REACTIONS = 1 << 6
    VIEW_AUDIT_LOG = 1 << 7
    VIEW_CHANNEL = 1 << 10
    SEND_MESSAGES = 1 << 11
    SEND_TTS_MESSAGES = 1 << 12
    MANAGE_MESSAGES = 1 << 13
    EMBED_LINKS = 1 << 14
    ATTACH_FILES = 1 << 15
    READ_MESSAGE_HISTORY = 1 << 16
    MENTION_EVERYONE = 1 << 17
    USE_EXTERNAL_EMOJIS = 1 << 18
    MANAGE_ROLES = 1 << 28
    MANAGE_WEBHOOKS = 1 << 29
    USE_APPLICATION_COMMANDS = 1 << 31
    MANAGE_THREADS = 1 << 34
    CREATE_PUBLIC_THREADS = 1 << 35
    CREATE_PRIVATE_THREADS = 1 << 36
    SEND_MESSAGES_IN_THREADS = 1 << 38


ALL_PERMISSIONS = (1 << 51) - 1
# What the invite URL asks for (DESIGN.md): View Channel, Send Messages, Embed Links, Read Message History,
# Create Public Threads, Send Messages in Threads = 309237730304.
BOT_INVITE_PERMISSIONS = int(
    P.VIEW_CHANNEL
    | P.SEND_MESSAGES
    | P.EMBED_LINKS
    | P.READ_MESSAGE_HISTORY
    | P.CREATE_PUBLIC_THREADS
    | P.SEND_MESSAGES_IN_THREADS
)
# Discord's default @everyone permissions for a new server.
DEFAULT_EVERYONE = int(
    P.CREATE_INSTANT_INVITE
    | P.ADD_REACTIONS
    | P.VIEW_CHANNEL
    | P.SEND_MESSAGES
    | P.EMBED_LINKS
    | P.ATTACH_FILES
    | P.READ_MESSAGE_HISTORY
    | P.USE_EXTERNAL_EMOJIS
    | P.USE_APPLICATION_COMMANDS
    | P.CREATE_PUBLIC_THREADS
    | P.SEND_MESSAGES_IN_THREADS
)


class ChannelType(IntEnum):
    TEXT = 0
    DM = 1
    VOICE = 2
    CATEGORY = 4
    ANNOUNCEMENT = 5
    ANNOUNCEMENT_THREAD = 10
    PUBLIC_THREAD = 11
    PRIVATE_THREAD = 12
    FORUM = 15


THREAD_TYPES = {ChannelType.ANNOUNCEMENT_THREAD, ChannelType.PUBLIC_THREAD, ChannelType.PRIVATE_THREAD}


@dataclass
class User:
    id: int
    username: str
    bot: bool = False
    dms_open: bool = True  # False: sending a DM answers 50007 "Cannot send messages to this user"
    global_name: str | None = None

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": str(self.id),
            "username": self.username,
            "discriminator": "0",
            "global_name": self.global_name,
            "avatar": None,
            "public_flags": 0,
            "flags": 0,
        }
        if self.bot:
            data["bot"] = True
        return data


@dataclass
class Role:
    id: int
    guild_id: int
    name: str
    permissions: int = 0
    position: int = 0
    mentionable: bool = False
    managed: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "name": self.name,
            "color": 0,
            "colors": {"primary_color": 0, "secondary_color": None, "tertiary_color": None},
            "hoist": False,
            "icon": None,
            "unicode_emoji": None,
            "position": self.position,
            "permissions": str(self.permissions),
            "managed": self.managed,
            "mentionable": self.mentionable,
            "flags": 0,
        }


@dataclass
class Overwrite:
    id: int
    type: int  # 0 role, 1 member
    allow: int = 0
    deny: int = 0

    def to_json(self) -> dict[str, Any]:
        return {"id": str(self.id), "type": self.type, "allow": str(self.allow), "deny": str(self.deny)}


@dataclass
class Channel:
    id: int
    type: ChannelType
    name: str
    guild_id: int | None = None
    parent_id: int | None = None
    position: int = 0
    topic: str | None = None
    overwrites: list[Overwrite] = field(default_factory=list)
    owner_id: int | None = None  # threads
    recipients: list[User] = field(default_factory=list)  # DMs
    archived: bool = False
    last_message_id: int | None = None
    message_count: int = 0
    created_at: str = field(default_factory=now_iso)

    @property
    def is_thread(self) -> bool:
        return self.type in THREAD_TYPES

    def to_json(self, *, with_guild_id: bool = True) -> dict[str, Any]:
        data: dict[str, Any] = {"id": str(self.id), "type": int(self.type), "flags": 0}
        last = str(self.last_message_id) if self.last_message_id else None
        if self.type == ChannelType.DM:
            data.update(last_message_id=last, recipients=[u.to_json() for u in self.recipients])
            return data
        if with_guild_id and self.guild_id is not None:
            data["guild_id"] = str(self.guild_id)
        data.update(
            name=self.name,
            parent_id=str(self.parent_id) if self.parent_id else None,
            rate_limit_per_user=0,
            last_message_id=last,
        )
        if self.is_thread:
            data.update(
                owner_id=str(self.owner_id or 0),
                message_count=self.message_count,
                total_message_sent=self.message_count,
                member_count=1,
                thread_metadata={
                    "archived": self.archived,
                    "auto_archive_duration": 1440,
                    "archive_timestamp": self.created_at,
                    "locked": False,
                    "create_timestamp": self.created_at,
                },
            )
        else:
            data.update(
                position=self.position,
                permission_overwrites=[o.to_json() for o in self.overwrites],
                topic=self.topic,
                nsfw=False,
            )
            if self.type in (ChannelType.TEXT, ChannelType.ANNOUNCEMENT):
                data["default_auto_archive_duration"] = 1440
        return data


@dataclass
class Member:
    user: User
    guild_id: int
    role_ids: list[int] = field(default_factory=list)
    nick: str | None = None
    joined_at: str = field(default_factory=now_iso)

    def to_json(self, *, with_user: bool = True) -> dict[str, Any]:
        data: dict[str, Any] = {
            "roles": [str(r) for r in self.role_ids],
            "nick": self.nick,
            "avatar": None,
            "joined_at": self.joined_at,
            "premium_since": None,
            "deaf": False,
            "mute": False,
            "pending": False,
            "flags": 0,
            "communication_disabled_until": None,
        }
        if with_user:
            data["user"] = self.user.to_json()
        return data


@dataclass
class Guild:
    id: int
    name: str
    owner_id: int
    roles: dict[int, Role] = field(default_factory=dict)
    channels: dict[int, Channel] = field(default_factory=dict)  # incl. threads
    members: dict[int, Member] = field(default_factory=dict)
    locale: str = "en-US"
    joined_at: str = field(default_factory=now_iso)

    @property
    def everyone(self) -> Role:
        return self.roles[self.id]

    def to_json(self, *, bot_user_id: int, full: bool) -> dict[str, Any]:
        """``full``: the GUILD_CREATE form (channels, threads, the bot's own member), else the REST form."""
        data: dict[str, Any] = {
            "id": str(self.id),
            "name": self.name,
            "icon": None,
            "splash": None,
            "discovery_splash": None,
            "banner": None,
            "description": None,
            "owner_id": str(self.owner_id),
            "afk_channel_id": None,
            "afk_timeout": 300,
            "verification_level": 0,
            "default_message_notifications": 0,
            "explicit_content_filter": 0,
            "roles": [r.to_json() for r in self.roles.values()],
            "emojis": [],
            "stickers": [],
            "features": [],
            "mfa_level": 0,
            "system_channel_id": None,
            "system_channel_flags": 0,
            "rules_channel_id": None,
            "public_updates_channel_id": None,
            "safety_alerts_channel_id": None,
            "vanity_url_code": None,
            "premium_tier": 0,
            "premium_subscription_count": 0,
            "preferred_locale": self.locale,
            "nsfw_level": 0,
            "nsfw": False,
            "max_members": 500000,
            "max_video_channel_users": 25,
            "premium_progress_bar_enabled": False,
        }
        if full:
            me = self.members.get(bot_user_id)
            data.update(
                unavailable=False,
                joined_at=self.joined_at,
                large=False,
                member_count=len(self.members),
                members=[me.to_json()] if me else [],
                channels=[c.to_json(with_guild_id=False) for c in self.channels.values() if not c.is_thread],
                threads=[c.to_json() for c in self.channels.values() if c.is_thread and not c.archived],
                presences=[],
                voice_states=[],
                stage_instances=[],
                guild_scheduled_events=[],
                soundboard_sounds=[],
                embedded_activities=[],
                application_command_counts={},
            )
        return data


def base_permissions(guild: Guild, member: Member) -> int:
    if member.user.id == guild.owner_id:
        return ALL_PERMISSIONS
    perms = guild.everyone.permissions
    for rid in member.role_ids:
        role = guild.roles.get(rid)
        if role is not None:
            perms |= role.permissions
    return ALL_PERMISSIONS if perms & P.ADMINISTRATOR else perms


def channel_permissions(guild: Guild, member: Member, channel: Channel) -> int:
    """Discord's algorithm: base (roles), then @everyone, role, member overwrites (threads: the parent's)."""
    perms = base_permissions(guild, member)
    if perms & P.ADMINISTRATOR:
        return ALL_PERMISSIONS
    target = channel
    if channel.is_thread and channel.parent_id in guild.channels:
        target = guild.channels[channel.parent_id]
    ows = {o.id: o for o in target.overwrites}
    if (ev := ows.get(guild.id)) is not None:
        perms = (perms & ~ev.deny) | ev.allow
    allow = deny = 0
    for rid in member.role_ids:
        if (o := ows.get(rid)) is not None and o.type == 0:
            allow |= o.allow
            deny |= o.deny
    perms = (perms & ~deny) | allow
    if (mo := ows.get(member.user.id)) is not None and mo.type == 1:
        perms = (perms & ~mo.deny) | mo.allow
    if not perms & P.VIEW_CHANNEL:
        return 0
    send = P.SEND_MESSAGES_IN_THREADS if channel.is_thread else P.SEND_MESSAGES
    if not perms & send:
        perms &= ~int(P.MENTION_EVERYONE | P.SEND_TTS_MESSAGES | P.ATTACH_FILES | P.EMBED_LINKS)
    return perms


@dataclass
class Message:
    """A message as the fake stores it. ``interaction`` is set for interaction responses and follow-ups."""

    id: int
    channel_id: int
    author: User
    content: str = ""
    embeds: list[dict[str, Any]] = field(default_factory=list)
    components: list[dict[str, Any]] = field(default_factory=list)
    attachments: list[dict[str, Any]] = field(default_factory=list)
    flags: int = 0
    guild_id: int | None = None
    nonce: str | int | None = None
    webhook_id: int | None = None
    application_id: int | None = None
    interaction: Interaction | None = field(default=None, repr=False)
    message_reference: dict[str, Any] | None = None
    # who really got pinged, per allowed_mentions and permissions (what tests assert on)
    mentioned_user_ids: list[int] = field(default_factory=list)
    mentioned_role_ids: list[int] = field(default_factory=list)
    mention_everyone: bool = False
    allowed_mentions: dict[str, Any] | None = None
    timestamp: str = field(default_factory=now_iso)
    edited_timestamp: str | None = None
    edits: int = 0
    deleted: bool = False
    thread_id: int | None = None  # a thread started from this message

    EPHEMERAL = 1 << 6
    LOADING = 1 << 7

    @property
    def ephemeral(self) -> bool:
        return bool(self.flags & self.EPHEMERAL)

    @property
    def loading(self) -> bool:
        return bool(self.flags & self.LOADING)

    def to_json(self, users: dict[int, User] | None = None) -> dict[str, Any]:
        users = users or {}
        data: dict[str, Any] = {
            "id": str(self.id),
            "type": 20 if self.interaction is not None and self.interaction.type == 2 else 0,
            "channel_id": str(self.channel_id),
            "author": self.author.to_json(),
            "content": self.content,
            "timestamp": self.timestamp,
            "edited_timestamp": self.edited_timestamp,
            "tts": False,
            "mention_everyone": self.mention_everyone,
            "mentions": [users[u].to_json() for u in self.mentioned_user_ids if u in users],
            "mention_roles": [str(r) for r in self.mentioned_role_ids],
            "attachments": self.attachments,
            "embeds": self.embeds,
            "components": self.components,
            "pinned": False,
            "flags": self.flags,
        }
        if self.nonce is not None:
            data["nonce"] = self.nonce
        if self.webhook_id is not None:
            data["webhook_id"] = str(self.webhook_id)
        if self.application_id is not None:
            data["application_id"] = str(self.application_id)
        if self.message_reference is not None:
            data["message_reference"] = self.message_reference
        if self.interaction is not None:
            i = self.interaction
            data["interaction_metadata"] = {
                "id": str(i.id),
                "type": i.type,
                "user": i.user.to_json(),
                "authorizing_integration_owners": i.integration_owners(),
            }
        if self.thread_id is not None:
            data["thread"] = {"id": str(self.thread_id)}
        return data


@dataclass
class InteractionResponse:
    """One callback (``POST /interactions/{id}/{token}/callback``) as the bot sent it."""

    type: int  # 4 message, 5 deferred message, 6 deferred update, 7 update, 8 autocomplete, 9 modal
    data: dict[str, Any]

    @property
    def flags(self) -> int:
        return int(self.data.get("flags") or 0)

    @property
    def ephemeral(self) -> bool:
        return bool(self.flags & Message.EPHEMERAL)

    @property
    def choices(self) -> list[dict[str, Any]]:
        return list(self.data.get("choices", []))


@dataclass
class Interaction:
    """An interaction the driver sent, and everything the bot answered to it."""

    id: int
    token: str
    type: int  # 2 command, 3 component, 4 autocomplete, 5 modal submit
    data: dict[str, Any]
    user: User
    channel_id: int
    guild_id: int | None
    created: float  # fake clock
    payload: dict[str, Any] = field(default_factory=dict, repr=False)  # what went over the gateway
    response: InteractionResponse | None = None
    original: Message | None = field(
        default=None, repr=False
    )  # the message the callback made (or, for components, the one clicked)
    original_pending: bool = False  # deferred, waiting for its first follow-up or @original edit
    followups: list[Message] = field(default_factory=list, repr=False)
    component_message: Message | None = field(default=None, repr=False)

    def integration_owners(self) -> dict[str, str]:
        return {"0": str(self.guild_id)} if self.guild_id else {"1": str(self.user.id)}

    @property
    def responded(self) -> bool:
        return self.response is not None

    @property
    def messages(self) -> list[Message]:
        """The original (if any) then the follow-ups."""
        out = [self.original] if self.original is not None and self.type != 3 else []
        return out + self.followups


@dataclass
class AppCommand:
    id: int
    application_id: int
    version: int
    payload: dict[str, Any]
    guild_id: int | None = None

    @property
    def name(self) -> str:
        return str(self.payload["name"])

    @property
    def type(self) -> int:
        return int(self.payload.get("type", 1))

    def to_json(self) -> dict[str, Any]:
        data = {
            "description": "",
            "options": [],
            "default_member_permissions": None,
            "dm_permission": True,
            "nsfw": False,
            "contexts": None,
            "integration_types": [0],
            **self.payload,
            "id": str(self.id),
            "application_id": str(self.application_id),
            "version": str(self.version),
            "type": self.type,
        }
        if self.guild_id is not None:
            data["guild_id"] = str(self.guild_id)
        return data
