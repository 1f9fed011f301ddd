"""``hotpapers doctor``: the verdict first, then one line per check: the settings, the database, the cluster role
and the workers' leader lease, each upstream, Discord (token, gateway, command sync, each digest channel's
permissions) and each source's last refresh.

Exit 0 when every required part is fine (settings, database, arXiv API and feeds, and Discord when
``DISCORD_TOKEN`` is set), else 1. The cluster, engagement sources, command sync and channel permissions are
reported as warnings. To check another upstream, add a row to :data:`UPSTREAM_CHECKS`.
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import aiohttp
import psycopg

from bot.cli.signals import last_refresh_lines
from bot.clock import clock_from_env
from bot.cluster import LEADER_LEASE, describe_role
from bot.config import Settings
from bot.errors import HotPapersError, UpstreamError
from bot.sources.arxiv import SERVICE as ARXIV_SERVICE
from bot.sources.http import Pacer, PoliteHttp, RetryPolicy
from bot.store import Store
from bot.store.base import error_line
from bot.store.cluster import Lease

TIMEOUT = 5.0  # seconds per upstream check
SECRETS = ("discord_token", "bluesky_password", "x_bearer")


@dataclass(frozen=True)
class Probe:
    """One cheap request that shows an upstream answers."""

    url: str
    params: Mapping[str, str] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class UpstreamCheck:
    """A row of the doctor's table: ``probe`` returns None when the source is off (no credentials)."""

    name: str
    required: bool
    probe: Callable[[Settings], Probe | None]
    paced_as_arxiv: bool = False  # arXiv's one-request-every-N-seconds applies
    off_because: str = "no credentials"  # what the line says when ``probe`` returns None


UPSTREAM_CHECKS: tuple[UpstreamCheck, ...] = (
    UpstreamCheck("arXiv API", True,
                  lambda s: Probe(s.arxiv_api, {"id_list": "2107.05677", "max_results": "1"}),
                  paced_as_arxiv=True),
    UpstreamCheck("arXiv feeds", True, lambda s: Probe(f"{s.arxiv_feeds}/cs.LG"), paced_as_arxiv=True),
    UpstreamCheck("Hugging Face", False, lambda s: Probe(f"{s.hf_api}/daily_papers", {"limit": "1"})),
    UpstreamCheck("Hacker News", False,
                  lambda s: Probe(f"{s.hn_api}/search", {"query": "arxiv.org", "hitsPerPage": "1"})),
    UpstreamCheck("X", False,
                  lambda s: Probe(f"{s.x_api}/tweets/search/recent",
                                  {"query": "arxiv.org", "max_results": "10"},
                                  {"Authorization": f"Bearer {s.x_bearer}"}) if s.x_bearer else None),
    UpstreamCheck("Semantic Scholar", False,
                  lambda s: Probe(f"{s.s2_api}/paper/arXiv:1706.03762", {"fields": "citationCount"},
                                  {"x-api-key": s.s2_key} if s.s2_key else {}) if s.s2_api else None,
                  off_because="HOTPAPERS_S2_API=off: search ties are broken without citation counts"),
)


@dataclass(frozen=True)
class CheckResult:
    name: str
    ok: bool
    required: bool
    detail: str
    off: bool = False  # a source without credentials

    def line(self) -> str:
        if self.off:
            return f"  {self.name:<16} off ({self.detail})"
        mark = "ok" if self.ok else ("FAILED" if self.required else "warning")
        return f"  {self.name:<16} {mark:<8} {self.detail}"


def main(args: argparse.Namespace, settings: Settings) -> int:
    results = [settings_check(settings), check_database(settings),
               *check_cluster_role(settings, clock_from_env().now())]
    results += asyncio.run(_remote_checks(settings))
    failed = [r.name for r in results if r.required and not r.ok]
    print(f"not ready: {', '.join(failed)}" if failed else "ready")
    for result in results:
        print(result.line())
    print("engagement (each source's last refresh)")
    for line in last_refresh_lines(settings):
        print(line)
    return 1 if failed else 0


async def _remote_checks(settings: Settings) -> list[CheckResult]:
    upstreams, discord_checks = await asyncio.gather(check_upstreams(settings), check_discord(settings))
    return [*upstreams, *discord_checks]


def settings_check(settings: Settings) -> CheckResult:
    """Where the settings came from (they are valid, or the doctor would not have started)."""
    source = str(settings.config_path) if settings.config_path else "defaults and environment (no settings file)"
    warnings = f"; {len(settings.warnings)} warning(s): {settings.warnings[0]}" if settings.warnings else ""
    return CheckResult("settings", not settings.warnings, False, f"{source}; home {settings.home}{warnings}")


def check_database(settings: Settings) -> CheckResult:
    """Opens (and migrates) the database; reports which engine and database, its schema versions and size."""
    path = settings.database_name
    engine = "PostgreSQL" if settings.database_url else "SQLite"
    if not settings.database_exists():
        return CheckResult("database", True, True,
                           f"{path} does not exist yet ('hotpapers ingest' creates it)")
    try:
        store = Store(settings.database)
        try:
            versions = store.schema_versions()
            count = store.paper_count()
        finally:
            store.close()
    except HotPapersError as exc:
        return CheckResult("database", False, True, str(exc))
    except (sqlite3.Error, psycopg.Error, OSError) as exc:
        return CheckResult("database", False, True, f"{engine} {path}: {error_line(exc)}")
    shown = ", ".join(f"{domain} v{version}" for domain, version in sorted(versions.items()))
    return CheckResult("database", True, True, f"{engine} {path}: {count} papers; schema {shown}")


def check_cluster_role(settings: Settings, now: datetime) -> list[CheckResult]:
    """Two lines: the configured role and shards (with what the engine allows), and the workers' leader lease as
    stored, read only (the doctor never takes or renews it). Warnings: a single bot (role all) beside a worker
    that leads would run the jobs and send twice; gateways without a leading worker send no digest."""
    cluster = settings.cluster
    if cluster.role == "all":
        where = "one process does everything (no other 'hotpapers run' on this database)"
    elif settings.database_url:
        where = "PostgreSQL: the cluster's processes may run on any machine"
    else:
        where = "SQLite: every process of the cluster on this machine (across machines: HOTPAPERS_DATABASE_URL)"
    role = CheckResult("cluster role", True, False, f"{describe_role(cluster)}; {where}")
    lease: Lease | None = None
    if settings.database_exists():
        try:
            store = Store(settings.database)
            try:
                lease = store.lease(LEADER_LEASE)
            finally:
                store.close()
        except (HotPapersError, sqlite3.Error, psycopg.Error, OSError) as exc:
            return [role, CheckResult("leader lease", False, False, f"cannot read it: {error_line(exc)}")]
    leads = lease is not None and lease.expires_at is not None and lease.expires_at > now
    detail = lease_line(lease, now)
    if leads and cluster.role == "all":
        return [role, CheckResult("leader lease", False, False,
                                  f"{detail}; role all would run the jobs and send beside it: stop the workers,"
                                  " or run this process as --role gateway")]
    if not leads and cluster.role == "gateway":
        return [role, CheckResult("leader lease", False, False,
                                  f"{detail}; no digest or DM goes out until one does ('hotpapers run --role"
                                  " worker')")]
    return [role, CheckResult("leader lease", True, False, detail)]


def lease_line(lease: Lease | None, now: datetime) -> str:
    """Who holds the workers' lease and until when, as stored."""
    if lease is None:
        return "no worker has led yet"
    if lease.expires_at is None:
        return f"no worker leads: {lease.holder} gave the lease up (term {lease.term})"
    until = f"{lease.expires_at:%Y-%m-%d %H:%M:%S} UTC"
    if lease.expires_at > now:
        return f"{lease.holder} leads (term {lease.term}) until {until}"
    return f"no worker leads: {lease.holder}'s lease (term {lease.term}) ran out at {until}"


async def check_upstreams(settings: Settings) -> list[CheckResult]:
    """Runs every row of UPSTREAM_CHECKS (arXiv's two one after the other, politely; the rest at once)."""
    retry = RetryPolicy(attempts=1, timeout=TIMEOUT)
    async with aiohttp.ClientSession() as session:
        async def run(check: UpstreamCheck) -> CheckResult:
            probe = check.probe(settings)
            if probe is None:
                return CheckResult(check.name, True, check.required, check.off_because, off=True)
            http = PoliteHttp(session, service=ARXIV_SERVICE if check.paced_as_arxiv else check.name,
                              interval=settings.arxiv_interval if check.paced_as_arxiv else 0.0,
                              retry=retry, pacer=None if check.paced_as_arxiv else Pacer())  # None: shared
            started = time.monotonic()
            try:
                response = await http.get(probe.url, params=probe.params, headers=probe.headers,
                                          read_body=False)
            except UpstreamError as exc:
                return CheckResult(check.name, False, check.required, f"{probe.url}: {exc}")
            elapsed = (time.monotonic() - started) * 1000
            if response.ok:
                return CheckResult(check.name, True, check.required,
                                   f"{probe.url}: HTTP {response.status} in {elapsed:.0f} ms")
            hint = " (credentials refused)" if response.status in (401, 403) else ""
            return CheckResult(check.name, False, check.required,
                               f"{probe.url}: HTTP {response.status}{hint}")

        results = list(await asyncio.gather(*(run(check) for check in UPSTREAM_CHECKS),
                                            check_bluesky_login(settings, session)))
        return results


async def check_bluesky_login(settings: Settings, session: aiohttp.ClientSession) -> CheckResult:
    """Log in with the handle and app password, as the refresh does (never following a redirect)."""
    if not (settings.bluesky_handle and settings.bluesky_password):
        return CheckResult("Bluesky", True, False, "no credentials", off=True)
    url = f"{settings.bluesky_api}/com.atproto.server.createSession"
    try:
        async with session.post(url, json={"identifier": settings.bluesky_handle,
                                           "password": settings.bluesky_password},
                                allow_redirects=False, timeout=aiohttp.ClientTimeout(total=TIMEOUT)) as response:
            status = response.status
    except (aiohttp.ClientError, TimeoutError) as exc:
        return CheckResult("Bluesky", False, False, f"{url}: {type(exc).__name__} {exc}".strip())
    if status == 200:
        return CheckResult("Bluesky", True, False, f"logged in as {settings.bluesky_handle}")
    hint = (" (handle or app password refused: HOTPAPERS_BLUESKY_HANDLE / HOTPAPERS_BLUESKY_PASSWORD)"
            if status in (400, 401, 403) else "")
    return CheckResult("Bluesky", False, False, f"login: HTTP {status}{hint}")


# ---- Discord: token, gateway, command sync, the digest channels' permissions (all through the REST API)

# Discord permission bits (https://discord.com/developers/docs/topics/permissions).
ADMINISTRATOR = 1 << 3
CHANNEL_NEEDS = {"View Channel": 1 << 10, "Send Messages": 1 << 11, "Embed Links": 1 << 14,
                 "Read Message History": 1 << 16}
THREAD_NEEDS = {"Create Public Threads": 1 << 35, "Send Messages in Threads": 1 << 38}


async def check_discord(settings: Settings) -> list[CheckResult]:
    """Token (GET /users/@me), gateway (a HELLO), command sync, and each digest channel's permissions."""
    token = settings.discord_token
    if not token:
        return [CheckResult("Discord", True, False, "DISCORD_TOKEN not set (only 'hotpapers run' needs it)",
                            off=True)]
    api = settings.discord_api
    headers = {"Authorization": f"Bot {token}", "User-Agent": "hotpapers doctor"}
    timeout = aiohttp.ClientTimeout(total=TIMEOUT)
    async with aiohttp.ClientSession(headers=headers, timeout=timeout) as session:
        async def get(path: str) -> tuple[int, Any]:
            async with session.get(f"{api}{path}", allow_redirects=False) as response:
                body = await response.json(content_type=None) if response.status == 200 else None
                return response.status, body

        try:
            status, me = await get("/users/@me")
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            return [CheckResult("Discord token", False, True,
                                f"cannot reach {api} ({type(exc).__name__}); check HOTPAPERS_DISCORD_API")]
        if status == 401:
            return [CheckResult("Discord token", False, True,
                                "Discord rejected DISCORD_TOKEN (401): reset it in the Developer Portal")]
        if status != 200 or not isinstance(me, dict):
            return [CheckResult("Discord token", False, True, f"GET /users/@me: HTTP {status}")]
        results = [CheckResult("Discord token", True, True, f"bot {me.get('username')} ({me.get('id')})")]
        results.append(await _check_gateway(settings, session, get))
        results.append(await _check_commands(settings, get))
        results += await _check_digest_channels(settings, get, int(me["id"]))
        return results


Getter = Callable[[str], Any]


async def _check_gateway(settings: Settings, session: aiohttp.ClientSession, get: Getter) -> CheckResult:
    url = settings.discord_gateway
    if not url:
        status, body = await get("/gateway/bot")
        if status != 200 or not isinstance(body, dict) or "url" not in body:
            return CheckResult("Discord gateway", False, True, f"GET /gateway/bot: HTTP {status}")
        url = str(body["url"])
    problem = await gateway_problem(session, url)
    return CheckResult("Discord gateway", problem is None, True, problem or f"{url} answered HELLO")


async def gateway_problem(session: aiohttp.ClientSession, url: str) -> str | None:
    """None when the gateway at ``url`` answers a connection with HELLO; else one line saying what to check."""
    try:
        async with session.ws_connect(f"{url}?v=10&encoding=json",
                                      timeout=aiohttp.ClientWSTimeout(ws_close=TIMEOUT)) as ws:
            hello = await ws.receive_json(timeout=TIMEOUT)
    except (aiohttp.ClientError, TimeoutError, ValueError, TypeError, OSError) as exc:
        return (f"cannot reach the Discord gateway at {url} ({type(exc).__name__}); check the network or "
                "HOTPAPERS_DISCORD_GATEWAY")
    if not isinstance(hello, dict) or hello.get("op") != 10:
        return f"the Discord gateway at {url} answered something other than HELLO; check HOTPAPERS_DISCORD_GATEWAY"
    return None


async def _check_commands(settings: Settings, get: Getter) -> CheckResult:
    status, app = await get("/applications/@me")
    if status != 200:
        return CheckResult("slash commands", False, False, f"GET /applications/@me: HTTP {status}")
    status, commands = await get(f"/applications/{app['id']}/commands")
    if status != 200:
        return CheckResult("slash commands", False, False, f"GET /applications/…/commands: HTTP {status}")
    names = ", ".join(sorted(f"/{command['name']}" for command in commands))
    synced = _stored(settings, lambda store: store.meta(f"command_tree_hash:{app['id']}"))
    if not commands or not synced:
        return CheckResult("slash commands", False, False,
                           f"{len(commands)} registered ({names or 'none'}); not synced from this database yet:"
                           " 'hotpapers run' syncs them at start")
    return CheckResult("slash commands", True, False, f"{len(commands)} registered and synced: {names}")


async def _check_digest_channels(settings: Settings, get: Getter, bot_id: int) -> list[CheckResult]:
    digests = _stored(settings, lambda store: store.channel_digests(None)) or []
    results = []
    for digest in digests:
        name = f"digest #{digest.channel_id}"
        status, channel = await get(f"/channels/{digest.channel_id}")
        if status != 200:
            why = "it was deleted" if status == 404 else "the bot cannot see it (View Channel)"
            results.append(CheckResult(name, False, False, f"HTTP {status}: {why}"))
            continue
        granted = await _permissions(get, digest.guild_id, channel, bot_id)
        needs = {**CHANNEL_NEEDS, **(THREAD_NEEDS if digest.thread else {})}
        missing = [label for label, bit in needs.items() if granted is not None and not granted & bit]
        label = f"digest #{channel.get('name', digest.channel_id)}"
        if granted is None:
            results.append(CheckResult(label, False, False, "cannot read the server's roles"))
        elif missing:
            results.append(CheckResult(label, False, False, f"missing {', '.join(missing)}"))
        else:
            results.append(CheckResult(label, True, False, f"can post ({', '.join(needs)})"))
    return results


async def _permissions(get: Getter, guild_id: int, channel: dict[str, Any], bot_id: int) -> int | None:
    """The bot's permissions in ``channel``, computed as Discord does: base role permissions, then the
    channel's overwrites for @everyone, the bot's roles, and the bot itself."""
    roles_status, roles = await get(f"/guilds/{guild_id}/roles")
    member_status, member = await get(f"/guilds/{guild_id}/members/{bot_id}")
    if roles_status != 200 or member_status != 200:
        return None
    by_id = {int(role["id"]): int(role["permissions"]) for role in roles}
    mine = {int(role) for role in member.get("roles", [])}
    granted = by_id.get(guild_id, 0)
    for role in mine:
        granted |= by_id.get(role, 0)
    if granted & ADMINISTRATOR:
        return ~0
    overwrites = {int(o["id"]): (int(o["allow"]), int(o["deny"])) for o in channel.get("permission_overwrites", [])}
    allow, deny = overwrites.get(guild_id, (0, 0))
    granted = (granted & ~deny) | allow
    role_allow = role_deny = 0
    for role in mine:
        allow, deny = overwrites.get(role, (0, 0))
        role_allow, role_deny = role_allow | allow, role_deny | deny
    granted = (granted & ~role_deny) | role_allow
    allow, deny = overwrites.get(bot_id, (0, 0))
    return (granted & ~deny) | allow


def _stored(settings: Settings, read: Callable[[Store], Any]) -> Any:
    """``read(store)`` on the database, or None when there is none (or it cannot be read)."""
    if not settings.database_exists():
        return None
    try:
        store = Store(settings.database)
    except HotPapersError:
        return None
    try:
        return read(store)
    finally:
        store.close()
