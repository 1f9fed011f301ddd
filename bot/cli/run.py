"""``hotpapers run``: the Discord bot, until SIGTERM or SIGINT; ``--role``, ``--shards`` and ``--shard-count``
(or ``[cluster]``) make it one process of a cluster (``bot.cluster``)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from dataclasses import replace

import aiohttp
import discord

from bot.cli.backup import open_for_upgrade
from bot.cluster import describe_role
from bot.config import SOURCES, Settings, SettingsError, check_cluster, parse_shards
from bot.errors import HotPapersError

log = logging.getLogger(__name__)

NO_TOKEN = ("hotpapers: DISCORD_TOKEN is not set. Create a bot at https://discord.com/developers/applications"
            " (Bot → Reset Token) and put DISCORD_TOKEN=<token> in the environment or in .env")
BAD_TOKEN = ("hotpapers: Discord rejected DISCORD_TOKEN (401 Unauthorized). Reset the token in the Developer"
             " Portal (Bot → Reset Token) and update DISCORD_TOKEN")


class RedactToken(logging.Filter):
    """Keeps the token out of every log line, whoever logs it."""

    def __init__(self, token: str) -> None:
        super().__init__()
        self.token = token

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if self.token in message:
            record.msg = message.replace(self.token, "[token]")
            record.args = None
        if record.exc_info and not record.exc_text:  # a traceback's messages may quote it too
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text and self.token in record.exc_text:
            record.exc_text = record.exc_text.replace(self.token, "[token]")
        if record.stack_info and self.token in record.stack_info:
            record.stack_info = record.stack_info.replace(self.token, "[token]")
        return True


def with_run_flags(args: argparse.Namespace, settings: Settings) -> Settings:
    """``settings`` with the cluster flags given on the command line (they win over ``[cluster]``)."""
    cluster = settings.cluster
    if getattr(args, "role", None):
        cluster = replace(cluster, role=args.role)
    if getattr(args, "shards", None):
        try:
            cluster = replace(cluster, shards=parse_shards(args.shards))
        except ValueError as exc:
            raise SettingsError(f"--shards: {exc}") from None
    if getattr(args, "shard_count", None) is not None:
        if args.shard_count < 1:
            raise SettingsError("--shard-count: must be at least 1")
        cluster = replace(cluster, shard_count=args.shard_count)
    check_cluster(cluster, "--shards/--shard-count/--role and [cluster]")
    return replace(settings, cluster=cluster)


def main(args: argparse.Namespace, settings: Settings) -> int:
    try:
        settings = with_run_flags(args, settings)
    except SettingsError as exc:
        print(f"hotpapers: {exc}", file=sys.stderr)
        return 2
    token = settings.discord_token
    if not token:
        print(NO_TOKEN, file=sys.stderr)
        return 2
    redact = RedactToken(token)
    for handler in logging.getLogger().handlers:
        handler.addFilter(redact)
    try:
        open_for_upgrade(settings.database)  # migrations run here, after an automatic backup (SQLite)
    except HotPapersError as exc:
        print(f"hotpapers: {exc}", file=sys.stderr)
        return 2
    log.info("%s", start_summary(settings))
    return asyncio.run(run(settings, token))


def start_summary(settings: Settings) -> str:
    """Which database, settings file and engagement sources this run uses (said once, at start)."""
    credentials = {"bluesky": settings.bluesky_handle and settings.bluesky_password, "x": settings.x_bearer}
    sources = [source if credentials.get(source, True) else f"{source} off (no credentials)"
               for source in SOURCES]
    config = settings.config_path or "none (defaults and environment)"
    return (f"{describe_role(settings.cluster)}; database {settings.database_name}; settings file {config}; "
            f"sources: {', '.join(sources)}")


async def gateway_preflight(settings: Settings) -> str | None:
    """None when the gateway answers; else the one line to print. discord.py's own first connection to a
    gateway that does not answer ends in an AttributeError deep inside it."""
    from bot.cli.doctor import gateway_problem

    url = settings.discord_gateway or str(discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY).rstrip("/")
    async with aiohttp.ClientSession() as session:
        return await gateway_problem(session, url)


async def run(settings: Settings, token: str) -> int:
    from bot.client import make_bot

    bot = make_bot(settings)

    async def start() -> None:
        await bot.login(token)  # REST first: a bad token or an unreachable API is said as such
        if bot.role == "worker":  # no gateway: it works (over REST) until it is stopped
            await bot.stopped.wait()
            return
        problem = await gateway_preflight(settings)
        if problem is not None:
            raise HotPapersError(problem)
        await bot.connect()

    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    failure: str | None = None
    code = 1  # 2: a restart cannot help (the deploy unit does not restart on it)
    async with bot:
        runner = asyncio.create_task(start(), name="bot")
        stopper = asyncio.create_task(stop.wait(), name="signals")
        done, _ = await asyncio.wait({runner, stopper}, return_when=asyncio.FIRST_COMPLETED)
        if stopper in done:
            log.info("signal received: stopping")
            await bot.close()
        else:
            stopper.cancel()
        try:
            await runner
        except discord.LoginFailure:
            failure, code = BAD_TOKEN, 2
        except discord.PrivilegedIntentsRequired:
            failure, code = "hotpapers: Discord refused the gateway intents; this bot needs none privileged", 2
        except (aiohttp.ClientConnectionError, discord.GatewayNotFound, OSError) as exc:
            failure = (f"hotpapers: cannot reach Discord at {settings.discord_api} ({exc}); check the network"
                       " or HOTPAPERS_DISCORD_API")
        except HotPapersError as exc:
            failure = f"hotpapers: {exc}"
        except AttributeError as exc:
            if bot.ws is not None:  # not discord.py's first-connection failure: a real bug
                log.exception("the bot stopped on an error")
                failure = f"hotpapers: the bot stopped: {type(exc).__name__}: {exc}"
            else:
                failure = ("hotpapers: lost the Discord gateway while connecting; check the network or "
                           "HOTPAPERS_DISCORD_GATEWAY")
        except Exception as exc:
            log.exception("the bot stopped on an error")
            failure = f"hotpapers: the bot stopped: {type(exc).__name__}: {exc}"
    if failure:
        print(failure, file=sys.stderr)
        return code
    return 0
