"""A local Discord (REST + gateway) for tests; the real discord.py client connects to it. See README.md."""

from .client import discord_py_pointed_at, run_client
from .models import (
    ALL_PERMISSIONS,
    BOT_INVITE_PERMISSIONS,
    DEFAULT_EVERYONE,
    Channel,
    ChannelType,
    Guild,
    Interaction,
    InteractionResponse,
    Member,
    Message,
    P,
    Role,
    User,
)
from .rules import ApiError
from .server import FakeDiscord, StandardWorld, Stats

__all__ = [
    "ALL_PERMISSIONS",
    "BOT_INVITE_PERMISSIONS",
    "DEFAULT_EVERYONE",
    "ApiError",
    "Channel",
    "ChannelType",
    "FakeDiscord",
    "Guild",
    "Interaction",
    "InteractionResponse",
    "Member",
    "Message",
    "P",
    "Role",
    "StandardWorld",
    "Stats",
    "User",
    "discord_py_pointed_at",
    "run_client",
]
