"""Tests of the fake Discord itself, driven by a stock discord.py client."""

from __future__ import annotations

import asyncio
import io
import json
import sys
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import discord
import pytest
from discord import app_commands
from discord.http import Route

from tests.fakes.discord import (
    BOT_INVITE_PERMISSIONS,
    ChannelType,
    FakeDiscord,
    P,
    run_client,
)
from tests.fakes.discord.models import Channel, Guild, Member, Overwrite, Role, User, channel_permissions
from tests.fakes.discord.rules import ApiError, SlidingWindow, Window, validate_message

ROOT = Path(__file__).resolve().parents[2]

# ---- helpers ---------------------------------------------------------------------------------------------


class ManualClock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def make_bot() -> tuple[discord.Client, app_commands.CommandTree[discord.Client]]:
    client = discord.Client(
        intents=discord.Intents.default(), allowed_mentions=discord.AllowedMentions.none()
    )
    tree: app_commands.CommandTree[discord.Client] = app_commands.CommandTree(client)

    @tree.command(description="Say pong")
    async def ping(inter: discord.Interaction, word: str) -> None:
        await inter.response.send_message(f"pong {word}")

    @tree.command(description="Look a paper up")
    @app_commands.describe(query="id or keywords")
    async def paper(inter: discord.Interaction, query: str) -> None:
        await inter.response.defer()  # public defer
        await inter.followup.send(
            f"found {query}", ephemeral=True
        )  # cannot be ephemeral after a public defer

    @paper.autocomplete("query")
    async def paper_ac(inter: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        return [app_commands.Choice(name=f"{current} {i}", value=f"{current}-{i}") for i in range(3)]

    digest = app_commands.Group(
        name="digest", description="Daily digest", default_permissions=discord.Permissions(manage_guild=True)
    )

    @digest.command(name="setup", description="Set a channel up")
    async def setup(inter: discord.Interaction, channel: discord.TextChannel, size: int = 10) -> None:
        perms = inter.permissions.manage_guild
        await inter.response.send_message(f"{channel.id} {size} {perms}", ephemeral=True)

    tree.add_command(digest)

    class Pager(discord.ui.View):
        @discord.ui.button(label="Next", custom_id="next")
        async def next(self, inter: discord.Interaction, button: discord.ui.Button[Any]) -> None:
            await inter.response.edit_message(content="page 2")

        @discord.ui.select(custom_id="pick", options=[discord.SelectOption(label=x, value=x) for x in "abc"])
        async def pick(self, inter: discord.Interaction, select: discord.ui.Select[Any]) -> None:
            await inter.response.send_message(f"picked {select.values[0]}", ephemeral=True)

    @tree.command(description="Pages")
    async def pages(inter: discord.Interaction) -> None:
        await inter.response.send_message("page 1", view=Pager(timeout=None))

    return client, tree


@pytest.fixture
async def fake() -> AsyncIterator[FakeDiscord]:
    async with FakeDiscord(channel_message_period=0.4) as fake:
        fake.build_standard_world()
        yield fake


@pytest.fixture
async def bot(
    fake: FakeDiscord,
) -> AsyncIterator[tuple[discord.Client, app_commands.CommandTree[discord.Client]]]:
    client, tree = make_bot()
    async with run_client(fake, client):
        await tree.sync()
        yield client, tree


async def raw(
    fake: FakeDiscord, method: str, path: str, *, token: str | None = None, **kw: Any
) -> aiohttp.ClientResponse:
    headers = {"Authorization": f"Bot {token or fake.token}"}
    async with (
        aiohttp.ClientSession() as s,
        s.request(method, fake.api_url + path, headers=headers, **kw) as r,
    ):
        await r.read()
        return r


# ---- login, READY, GUILD_CREATE -----------------------------------------------------------------------


async def test_login_and_ready_under_a_second() -> None:
    start = time.perf_counter()
    async with FakeDiscord() as fake:
        world = fake.build_standard_world()
        client, _ = make_bot()
        async with run_client(fake, client):
            elapsed = time.perf_counter() - start
            assert elapsed < 1.0
            assert client.user is not None and client.user.id == fake.bot.id
            assert client.application_id == fake.application_id
            guild = client.get_guild(world.guild.id)
            assert guild is not None and not guild.unavailable
            news = guild.get_channel(world.news.id)
            assert isinstance(news, discord.TextChannel) and news.is_news()
            thread = guild.get_thread(world.thread.id)
            assert thread is not None and thread.parent_id == world.papers.id
            me = guild.me
            assert me.guild_permissions.value & BOT_INVITE_PERMISSIONS == BOT_INVITE_PERMISSIONS
            assert not guild.get_channel(world.staff.id).permissions_for(me).view_channel  # type: ignore[union-attr]
            assert fake.stats.identifies == 1 and fake.stats.heartbeats >= 1
            # discord.py asked for zlib-stream; the fake compresses
            assert fake._connections[0].compress


async def test_bad_token_is_refused_on_rest_and_gateway(fake: FakeDiscord) -> None:
    client = discord.Client(intents=discord.Intents.default())
    with pytest.raises(discord.LoginFailure):
        async with run_client(fake, client, token="wrong"):
            pass
    await client.close()
    assert fake.stats.invalid == 1
    async with aiohttp.ClientSession() as s, s.ws_connect(fake.gateway_url + "?v=10&encoding=json") as ws:
        hello = await ws.receive_json()
        assert hello["op"] == 10
        await ws.send_json({"op": 2, "d": {"token": "wrong", "intents": 1, "properties": {}}})
        msg = await ws.receive()
        assert msg.type == aiohttp.WSMsgType.CLOSE and ws.close_code == 4004


async def test_privileged_intents_are_refused(fake: FakeDiscord) -> None:
    client = discord.Client(intents=discord.Intents.default() | discord.Intents(message_content=True))
    with pytest.raises(discord.PrivilegedIntentsRequired):
        async with run_client(fake, client):
            pass


async def test_sharded_client_gets_its_guilds_per_shard() -> None:
    async with FakeDiscord(recommended_shards=2) as fake:
        guilds = [fake.add_guild(f"g{i}") for i in range(4)]
        client = discord.AutoShardedClient(intents=discord.Intents.default())
        async with run_client(fake, client):
            assert client.shard_count == 2
            assert {g.id for g in client.guilds} == {g.id for g in guilds}
            for g in client.guilds:
                assert g.shard_id == (g.id >> 22) % 2
        assert fake.stats.identifies == 2


# ---- commands and interactions ---------------------------------------------------------------------------


async def test_sync_and_slash_command(fake: FakeDiscord, bot: Any) -> None:
    assert {c.name for c in fake.global_commands.values()} == {"ping", "paper", "digest", "pages"}
    inter = await fake.slash("ping", {"word": "hi"})
    response = await fake.wait_for_response(inter)
    assert response.type == 4 and not response.ephemeral
    assert inter.original is not None and inter.original.content == "pong hi"
    assert fake.messages(fake.world.papers)[-1] is inter.original
    assert inter.original.allowed_mentions == {"parse": []}  # the client's AllowedMentions.none()
    assert fake.stats.by_route["PUT /applications/{app_id}/commands"] == 1


async def test_resync_keeps_command_ids(fake: FakeDiscord, bot: Any) -> None:
    _, tree = bot
    ids = {c.name: c.id for c in fake.global_commands.values()}
    await tree.sync()
    assert {c.name: c.id for c in fake.global_commands.values()} == ids


async def test_subcommand_with_resolved_channel_and_permissions(fake: FakeDiscord, bot: Any) -> None:
    w = fake.world
    with pytest.raises(PermissionError):  # hidden from members without Manage Server
        await fake.slash("digest setup", {"channel": w.news}, user=w.member)
    with pytest.raises(ValueError, match="required"):
        await fake.slash("digest setup", {}, user=w.admin)
    inter = await fake.slash("digest setup", {"channel": w.news, "size": 5}, user=w.admin)
    response = await fake.wait_for_response(inter)
    assert response.ephemeral
    assert inter.original is not None and inter.original.content == f"{w.news.id} 5 True"
    assert inter.original not in fake.messages(w.papers)  # ephemeral messages are in no channel
    member = inter.payload["member"]
    assert int(member["permissions"]) & P.MANAGE_GUILD
    assert inter.payload["data"]["resolved"]["channels"][str(w.news.id)]["type"] == 5


async def test_public_defer_then_ephemeral_followup_is_public(fake: FakeDiscord, bot: Any) -> None:
    inter = await fake.slash("paper", {"query": "2401.00001"})
    [msg] = await fake.wait_for_followups(inter)
    assert inter.response is not None and inter.response.type == 5
    assert msg is inter.original and msg.content == "found 2401.00001"
    assert not msg.ephemeral and not msg.loading
    assert fake.messages(fake.world.papers) == [msg]


async def test_autocomplete_round_trip(fake: FakeDiscord, bot: Any) -> None:
    choices = await fake.autocomplete("paper", "query", "attn")
    assert choices == [{"name": f"attn {i}", "value": f"attn-{i}"} for i in range(3)]


async def test_button_and_select(fake: FakeDiscord, bot: Any) -> None:
    inter = await fake.slash("pages")
    await fake.wait_for_response(inter)
    message = inter.original
    assert message is not None
    click = await fake.click(message, "next")
    response = await fake.wait_for_response(click)
    assert response.type == 7 and message.content == "page 2" and message.edits == 1
    pick = await fake.click(message, "pick", values=["b"])
    await fake.wait_for_response(pick)
    assert pick.original is not None and pick.original.content == "picked b" and pick.original.ephemeral
    with pytest.raises(LookupError):
        await fake.click(message, "nope")
    with pytest.raises(ValueError):
        await fake.click(message, "pick", values=["z"])


async def test_late_callback_is_unknown_interaction() -> None:
    clock = ManualClock()
    async with FakeDiscord(clock=clock) as fake:
        fake.build_standard_world()
        client = discord.Client(intents=discord.Intents.default())
        tree: app_commands.CommandTree[discord.Client] = app_commands.CommandTree(client)
        errors: list[BaseException] = []
        gate = asyncio.Event()

        @tree.command(description="slow")
        async def slow(inter: discord.Interaction) -> None:
            await gate.wait()
            try:
                await inter.response.send_message("late")
            except discord.NotFound as exc:
                errors.append(exc)

        async with run_client(fake, client):
            await tree.sync()
            inter = await fake.slash("slow")
            clock.t += 3.5  # the bot took longer than 3 s
            gate.set()
            await fake.wait_until(lambda: fake.stats.by_status[404] == 1)
            assert inter.response is None
        assert isinstance(errors[0], discord.NotFound) and errors[0].code == 10062


# ---- Discord's rules -------------------------------------------------------------------------------------


async def test_long_embed_is_refused_with_50035(fake: FakeDiscord, bot: Any) -> None:
    client, _ = bot
    channel = client.get_channel(fake.world.papers.id)
    with pytest.raises(discord.HTTPException) as info:
        await channel.send(embed=discord.Embed(title="t", description="x" * 4097))
    assert info.value.status == 400 and info.value.code == 50035
    assert "embeds.0.description" in info.value.text
    embeds = [discord.Embed(description="y" * 4000) for _ in range(2)]
    with pytest.raises(discord.HTTPException) as info:
        await channel.send(embeds=embeds)
    assert info.value.code == 50035 and "maximum size of 6000" in info.value.text
    assert fake.messages(fake.world.papers) == []


def test_validation_error_tree() -> None:
    with pytest.raises(ApiError) as info:
        validate_message(
            {
                "content": "c" * 2001,
                "embeds": [
                    {
                        "title": "t" * 257,
                        "fields": [{"name": "n", "value": "v" * 1025}],
                        "footer": {"text": "f" * 2049},
                        "author": {"name": "a" * 257},
                    }
                ],
                "allowed_mentions": {"parse": ["users"], "users": ["1"]},
            }
        )
    body = info.value.body()
    assert body["code"] == 50035 and body["message"] == "Invalid Form Body"
    e = body["errors"]
    assert e["content"]["_errors"][0] == {
        "code": "BASE_TYPE_MAX_LENGTH",
        "message": "Must be 2000 or fewer in length.",
    }
    emb = e["embeds"]["0"]
    assert set(emb) == {"title", "fields", "footer", "author"}
    assert emb["fields"]["0"]["value"]["_errors"][0]["message"] == "Must be 1024 or fewer in length."
    assert "users" in e["allowed_mentions"]
    with pytest.raises(ApiError) as info:
        validate_message({"embeds": [{"fields": [{"name": "n", "value": "v"}] * 26}] + [{}] * 10})
    assert info.value.errors == {
        "embeds": {"_errors": [{"code": "BASE_TYPE_MAX_LENGTH", "message": "Must be 10 or fewer in length."}]}
    }
    validate_message({"content": "x" * 2000, "embeds": [{"description": "d" * 4096}]})  # at the limits: fine


def test_permission_maths() -> None:
    owner, u = User(1, "owner"), User(2, "u")
    g = Guild(100, "g", owner.id)
    g.roles[100] = Role(100, 100, "@everyone", int(P.VIEW_CHANNEL | P.SEND_MESSAGES | P.EMBED_LINKS))
    g.roles[5] = Role(5, 100, "mods", int(P.MANAGE_MESSAGES))
    m = Member(u, 100, [5])
    ch = Channel(7, ChannelType.TEXT, "c", guild_id=100)
    assert channel_permissions(g, m, ch) & P.MANAGE_MESSAGES
    ch.overwrites = [
        Overwrite(100, 0, deny=int(P.SEND_MESSAGES)),
        Overwrite(5, 0, allow=int(P.SEND_MESSAGES)),
    ]
    assert channel_permissions(g, m, ch) & P.SEND_MESSAGES
    ch.overwrites.append(Overwrite(2, 1, deny=int(P.SEND_MESSAGES)))
    perms = channel_permissions(g, m, ch)
    assert not perms & P.SEND_MESSAGES and not perms & P.EMBED_LINKS  # implicit: no send → no embed links
    ch.overwrites = [Overwrite(100, 0, deny=int(P.VIEW_CHANNEL))]
    assert channel_permissions(g, m, ch) == 0
    assert channel_permissions(g, Member(owner, 100), ch) & P.VIEW_CHANNEL


async def test_missing_access_permissions_and_unknown_channel(fake: FakeDiscord, bot: Any) -> None:
    client, _ = bot
    w = fake.world
    with pytest.raises(discord.Forbidden) as info:
        await client.get_channel(w.read_only.id).send("hi")
    assert info.value.code == 50013
    with pytest.raises(discord.Forbidden) as info:
        await client.get_partial_messageable(w.staff.id).send("hi")
    assert info.value.code == 50001
    with pytest.raises(discord.NotFound) as info:
        await client.fetch_channel(12345)
    assert info.value.code == 10003
    assert fake.stats.invalid == 2


async def test_dm_to_closed_user_is_50007(fake: FakeDiscord, bot: Any) -> None:
    client, _ = bot
    closed = await client.fetch_user(fake.world.closed_dms.user.id)
    with pytest.raises(discord.Forbidden) as info:
        await closed.send("digest")
    assert info.value.code == 50007
    open_user = await client.fetch_user(fake.world.member.user.id)
    sent = await open_user.send("digest")
    assert (await fake.wait_for_message(fake.dm_channels[open_user.id])).id == sent.id


async def test_unknown_route_is_404_and_recorded(fake: FakeDiscord, bot: Any) -> None:
    client, _ = bot
    with pytest.raises(discord.NotFound):
        await client.http.request(Route("GET", "/nowhere/{x}", x=1))
    assert fake.unknown_routes == ["GET /nowhere/1"]


async def test_nonce_repeat_returns_the_same_message(fake: FakeDiscord, bot: Any) -> None:
    client, _ = bot
    channel = client.get_channel(fake.world.papers.id)
    first = await channel.send("digest 2026-01-07", nonce="digest-42")
    again = await channel.send("digest 2026-01-07", nonce="digest-42")
    assert first.id == again.id
    assert len(fake.messages(fake.world.papers)) == 1
    other = await channel.send("digest", nonce="digest-43")
    assert other.id != first.id


async def test_nonce_memory_expires() -> None:
    clock = ManualClock()
    async with FakeDiscord(clock=clock, nonce_ttl=300) as fake:
        w = fake.build_standard_world()
        body = {"content": "x", "nonce": "n1", "enforce_nonce": True}
        path = f"/channels/{w.papers.id}/messages"
        await raw(fake, "POST", path, json=body)
        await raw(fake, "POST", path, json=body)
        assert len(fake.messages(w.papers)) == 1
        clock.t += 301
        await raw(fake, "POST", path, json=body)
        assert len(fake.messages(w.papers)) == 2


async def test_mentions_follow_allowed_mentions(fake: FakeDiscord, bot: Any) -> None:
    client, _ = bot
    w = fake.world
    channel = client.get_channel(w.papers.id)
    text = f"@everyone <@{w.member.user.id}> <@&{w.guild.id}>"
    await channel.send(text)  # the client default: AllowedMentions.none()
    msg = await fake.wait_for_message(w.papers)
    assert not msg.mention_everyone and msg.mentioned_user_ids == [] and msg.mentioned_role_ids == []
    await channel.send(text, allowed_mentions=discord.AllowedMentions(users=True))
    msg = await fake.wait_for_message(w.papers)
    assert msg.mentioned_user_ids == [w.member.user.id] and not msg.mention_everyone


# ---- rate limits -----------------------------------------------------------------------------------------


async def test_rate_limit_headers_and_429_shape() -> None:
    clock = ManualClock()
    async with FakeDiscord(clock=clock) as fake:
        w = fake.build_standard_world()
        path = f"/channels/{w.papers.id}/messages"
        for i in range(5):
            r = await raw(fake, "POST", path, json={"content": str(i)})
            assert r.status == 200 and r.headers["Content-Type"] == "application/json"
            assert r.headers["X-RateLimit-Limit"] == "5"
            assert r.headers["X-RateLimit-Remaining"] == str(4 - i)
            assert float(r.headers["X-RateLimit-Reset-After"]) == pytest.approx(5.0)
            assert r.headers["X-RateLimit-Bucket"] and float(r.headers["X-RateLimit-Reset"]) > time.time()
        async with (
            aiohttp.ClientSession() as s,
            s.post(
                fake.api_url + path, json={"content": "6"}, headers={"Authorization": f"Bot {fake.token}"}
            ) as r,
        ):
            body = await r.json()
            assert r.status == 429 and r.headers["Via"] == "1.1 google"
            assert r.headers["Content-Type"] == "application/json"
            assert body == {
                "message": "You are being rate limited.",
                "retry_after": 5.0,
                "global": False,
                "code": 0,
            }
        clock.t += 5
        assert (await raw(fake, "POST", path, json={"content": "7"})).status == 200
        assert fake.stats.rate_limited == 1 and fake.stats.invalid == 1
        # another channel has its own bucket
        assert (
            await raw(fake, "POST", f"/channels/{w.thread.id}/messages", json={"content": "t"})
        ).status == 200


async def test_global_limit_is_sliding_and_spares_interactions() -> None:
    clock = ManualClock()
    async with FakeDiscord(clock=clock, global_limit=3, global_period=1.0) as fake:
        fake.build_standard_world()
        for _ in range(3):
            assert (await raw(fake, "GET", "/users/@me")).status == 200
            clock.t += 0.3
        r = await raw(fake, "GET", "/gateway")
        assert r.status == 429 and r.headers["X-RateLimit-Global"] == "true"
        clock.t += 0.11  # the first request leaves the 1-second window
        assert (await raw(fake, "GET", "/gateway")).status == 200
        assert fake.stats.global_rate_limited == 1
    window = SlidingWindow(2, 1.0)
    assert window.try_take(0.0) and window.try_take(0.5) and not window.try_take(0.9)
    assert window.retry_after(0.9) == pytest.approx(0.1)
    fixed = Window(1, 5.0)
    assert fixed.try_take(0.0) and not fixed.try_take(4.9) and fixed.try_take(5.0)


async def test_client_paces_itself_and_retries_a_channel_429(fake: FakeDiscord, bot: Any) -> None:
    client, _ = bot
    w = fake.world
    channel = client.get_channel(w.papers.id)
    for i in range(7):  # more than 5 per window: discord.py waits on the headers, no 429
        await channel.send(f"m{i}")
    assert fake.stats.rate_limited == 0
    # Another process with the same token uses the channel's bucket up: discord.py meets a 429 and retries.
    for i in range(5):
        await raw(fake, "POST", f"/channels/{w.news.id}/messages", json={"content": f"other {i}"})
    news = client.get_channel(w.news.id)
    sent = await news.send("after the limit")
    assert fake.stats.rate_limited == 1
    assert fake.messages(w.news)[-1].id == sent.id


async def test_client_waits_out_a_global_429(fake: FakeDiscord, bot: Any) -> None:
    client, _ = bot
    fake.inject_rate_limit("GET /users/{user_id}", retry_after=0.05, is_global=True)
    user = await client.fetch_user(fake.world.member.user.id)
    assert user.id == fake.world.member.user.id
    assert fake.stats.global_rate_limited == 1 and fake.stats.by_route["GET /users/{user_id}"] == 2


async def test_injected_failures_and_delays(fake: FakeDiscord) -> None:
    fake.inject_failure("GET /channels/{channel_id}", 502)
    fake.inject_failure("GET /users/*", 500, count=2)
    path = f"/channels/{fake.world.papers.id}"
    r = await raw(fake, "GET", path)
    assert r.status == 502 and r.headers["Content-Type"].startswith("text/html")
    assert (await raw(fake, "GET", path)).status == 200
    assert [(await raw(fake, "GET", "/users/@me")).status for _ in range(3)] == [500, 500, 200]
    fake.inject_delay("GET /gateway", 0.05)
    start = time.perf_counter()
    assert (await raw(fake, "GET", "/gateway")).status == 200
    assert time.perf_counter() - start >= 0.05


# ---- threads, messages -----------------------------------------------------------------------------------


async def test_threads_edits_and_deletes(fake: FakeDiscord, bot: Any) -> None:
    client, _ = bot
    w = fake.world
    channel = client.get_channel(w.papers.id)
    msg = await channel.send("digest")
    thread = await msg.create_thread(name="Hot Papers 2026-01-07")
    assert thread.id == msg.id and fake.channels[thread.id].type == ChannelType.PUBLIC_THREAD
    await thread.send("paper 1")
    news_thread = await client.get_channel(w.news.id).create_thread(
        name="n", type=discord.ChannelType.public_thread
    )
    assert fake.channels[news_thread.id].type == ChannelType.ANNOUNCEMENT_THREAD
    edited = await msg.edit(content="digest (edited)")
    assert edited.content == "digest (edited)" and fake.messages_by_id[msg.id].edits == 1
    fetched = await channel.fetch_message(msg.id)
    assert fetched.content == "digest (edited)"
    history = [m.id async for m in channel.history(limit=10)]
    assert history == [msg.id]
    await msg.delete()
    assert fake.messages(w.papers) == []
    with pytest.raises(discord.NotFound) as info:
        await channel.fetch_message(msg.id)
    assert info.value.code == 10008


# ---- gateway faults --------------------------------------------------------------------------------------


async def test_reconnect_op7_resumes_and_replays(fake: FakeDiscord, bot: Any) -> None:
    client, _ = bot
    await fake.gateway_reconnect()
    await fake.wait_until(lambda: fake.stats.resumes == 1, what="a RESUME")
    assert fake.stats.identifies == 1
    # an event sent while the socket is down is replayed on RESUME
    created = asyncio.ensure_future(client.wait_for("guild_channel_create", timeout=5))
    await asyncio.sleep(0)
    await fake.drop_connections()
    late = fake.add_channel(fake.world.guild, "late")
    channel = await created
    assert channel.id == late.id
    await fake.wait_until(lambda: fake.stats.resumes == 2, what="a second RESUME")
    assert fake.stats.identifies == 1
    inter = await fake.slash("ping", {"word": "back"})
    assert (await fake.wait_for_message(fake.world.papers)).content == "pong back"
    assert inter.original is not None


async def test_invalid_session_makes_the_client_identify_again(fake: FakeDiscord, bot: Any) -> None:
    await fake.invalidate_session(resumable=False)
    await fake.wait_until(lambda: fake.stats.readies == 2, what="a second READY")
    assert fake.stats.identifies == 2 and fake.stats.resumes == 0
    inter = await fake.slash("ping", {"word": "again"})
    await fake.wait_for_response(inter)


async def test_guild_removed_and_added(fake: FakeDiscord, bot: Any) -> None:
    client, _ = bot
    removed = asyncio.ensure_future(client.wait_for("guild_remove", timeout=5))
    await asyncio.sleep(0)
    fake.remove_guild(fake.world.guild)
    assert (await removed).id == fake.world.guild.id
    assert client.get_guild(fake.world.guild.id) is None
    joined = asyncio.ensure_future(client.wait_for("guild_join", timeout=5))
    await asyncio.sleep(0)
    g = fake.add_guild("New Server")
    assert (await joined).id == g.id


# ---- running a bot elsewhere -----------------------------------------------------------------------------


def test_env_and_bot_clock(tmp_path: Path) -> None:
    fake = FakeDiscord()
    fake.port = 4242
    env = fake.env(clock_file=tmp_path / "clock")
    assert env["HOTPAPERS_DISCORD_API"] == "http://127.0.0.1:4242/api/v10"
    assert env["HOTPAPERS_DISCORD_GATEWAY"] == "ws://127.0.0.1:4242/gateway"
    when = datetime(2026, 1, 7, 1, 0, tzinfo=UTC)
    fake.write_bot_clock(Path(env["HOTPAPERS_TEST_CLOCK"]), when)
    from bot.clock import clock_from_env

    assert clock_from_env(env).now() == when


async def test_gateway_bot_and_app_info(fake: FakeDiscord) -> None:
    async with (
        aiohttp.ClientSession() as s,
        s.get(fake.api_url + "/gateway/bot", headers={"Authorization": f"Bot {fake.token}"}) as r,
    ):
        data = json.loads(await r.text())
    assert data["url"] == fake.gateway_url and data["shards"] == 1
    assert (await raw(fake, "GET", "/oauth2/applications/@me")).status == 200
    assert (await raw(fake, "GET", "/users/@me", token="nope")).status == 401


async def test_ephemeral_defer_followups_edits_and_files(fake: FakeDiscord) -> None:
    client = discord.Client(intents=discord.Intents.default())
    tree: app_commands.CommandTree[discord.Client] = app_commands.CommandTree(client)

    @tree.command(description="work")
    async def work(inter: discord.Interaction) -> None:
        await inter.response.defer(ephemeral=True, thinking=True)
        await inter.followup.send("first", ephemeral=False)  # fills in the ephemeral "thinking" message
        await inter.edit_original_response(content="first (edited)")
        second = await inter.followup.send("second", wait=True)
        await second.delete()
        await inter.channel.send("report", file=discord.File(io.BytesIO(b"abc"), "report.txt"))  # type: ignore[union-attr]

    async with run_client(fake, client):
        guild = discord.Object(fake.world.guild.id)
        tree.copy_global_to(guild=guild)
        await tree.sync(guild=guild)
        assert fake.guild_commands[fake.world.guild.id] and not fake.global_commands
        inter = await fake.slash("work")
        report = await fake.wait_for_message(fake.world.papers, predicate=lambda m: m.content == "report")
        assert report.attachments[0]["filename"] == "report.txt" and report.attachments[0]["size"] == 3
        assert inter.original is not None
        assert inter.original.ephemeral and inter.original.content == "first (edited)"
        [second] = inter.followups
        assert second.deleted and not second.ephemeral
        assert fake.messages(fake.world.papers) == [report]


async def test_standalone_entry_point(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.fakes.discord",
        "--port",
        "0",
        "--state-file",
        str(state),
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert proc.stdout is not None
        first = await asyncio.wait_for(proc.stdout.readline(), 20)
        assert first.strip() == b"{"
        data = json.loads(state.read_text())
        assert data["HOTPAPERS_DISCORD_API"].endswith("/api/v10") and "papers" in data["channels"]
        async with (
            aiohttp.ClientSession() as s,
            s.get(data["api_url"] + "/users/@me", headers={"Authorization": f"Bot {data['token']}"}) as r,
        ):
            assert r.status == 200
    finally:
        proc.terminate()
        await proc.wait()


# ---- speed targets (issue 3): the fake plus the real bot ----------------------------------------------------


async def test_the_fake_and_the_real_bot_in_process_are_ready_within_a_second(tmp_path: Path) -> None:
    from tests.harness import bot_settings, running_bot

    start = time.perf_counter()
    async with FakeDiscord() as fake:
        world = fake.build_standard_world()
        async with running_bot(fake, bot_settings(fake, tmp_path / "hp.db")) as bot:
            elapsed = time.perf_counter() - start
            assert bot.get_guild(world.guild.id) is not None
    assert elapsed < 1.0, f"the fake and an in-process HotPapersBot took {elapsed:.2f} s to be ready"


async def test_the_real_bot_in_its_own_process_is_ready_within_three_seconds(tmp_path: Path) -> None:
    from tests.harness import BotProcess

    async with FakeDiscord() as fake:
        fake.build_standard_world()
        bot = BotProcess(fake, tmp_path / "hp.db", tmp_path, start_time=datetime(2026, 11, 26, 7, tzinfo=UTC))
        try:
            start = time.perf_counter()
            await bot.start(within=10.0)  # returns once the fake sent READY and the bot logged "ready as"
            elapsed = time.perf_counter() - start
            assert fake.stats.readies == 1
        finally:
            bot.close()
    assert elapsed < 3.0, f"`hotpapers run` took {elapsed:.2f} s to be ready on the fake"


# ---- each of Discord's message limits, one at a time, just over and exactly at the limit ------------------

ONE_FIELD = {"name": "n", "value": "v"}
OVER_THE_LIMIT = [
    ({"content": "c" * 2001}, ("content",), "Must be 2000 or fewer in length."),
    ({"embeds": [{"description": "e"}] * 11}, ("embeds",), "Must be 10 or fewer in length."),
    ({"embeds": [{"title": "t" * 257}]}, ("embeds", "0", "title"), "Must be 256 or fewer in length."),
    ({"embeds": [{"description": "d" * 4097}]}, ("embeds", "0", "description"), "Must be 4096 or fewer in length."),
    ({"embeds": [{"fields": [ONE_FIELD] * 26}]}, ("embeds", "0", "fields"), "Must be 25 or fewer in length."),
    ({"embeds": [{"fields": [{"name": "n", "value": "v" * 1025}]}]}, ("embeds", "0", "fields", "0", "value"),
     "Must be 1024 or fewer in length."),
    ({"embeds": [{"fields": [{"name": "n" * 257, "value": "v"}]}]}, ("embeds", "0", "fields", "0", "name"),
     "Must be 256 or fewer in length."),
    ({"embeds": [{"footer": {"text": "f" * 2049}}]}, ("embeds", "0", "footer", "text"),
     "Must be 2048 or fewer in length."),
    ({"embeds": [{"description": "d" * 4000}, {"description": "d" * 2001}]}, ("embeds",),
     "Embed size exceeds maximum size of 6000"),
    ({"content": "x", "nonce": "n" * 26, "enforce_nonce": True}, ("nonce",), "Must be 25 or fewer in length."),
]
AT_THE_LIMIT = [
    {"content": "c" * 2000},
    {"embeds": [{"description": "e"}] * 10},
    {"embeds": [{"title": "t" * 256, "description": "d" * 4096, "footer": {"text": "f" * 1648}}]},  # 6,000
    {"embeds": [{"fields": [{"name": "n" * 10, "value": "v" * 1024}] * 5}]},
    {"embeds": [{"fields": [ONE_FIELD] * 25}]},
    {"content": "x", "nonce": "n" * 25, "enforce_nonce": True},
]


@pytest.mark.parametrize(("payload", "where", "message"), OVER_THE_LIMIT)
async def test_each_message_limit_is_a_50035_naming_the_field(
        fake: FakeDiscord, payload: dict[str, Any], where: tuple[str, ...], message: str) -> None:
    async with (
        aiohttp.ClientSession() as s,
        s.post(f"{fake.api_url}/channels/{fake.world.papers.id}/messages", json=payload,
               headers={"Authorization": f"Bot {fake.token}"}) as r,
    ):
        body = await r.json()
    assert r.status == 400 and body["code"] == 50035 and body["message"] == "Invalid Form Body"
    node = body["errors"]
    for key in where:
        node = node[key]
    assert node["_errors"][0]["message"] == message
    assert fake.messages(fake.world.papers) == []


@pytest.mark.parametrize("payload", AT_THE_LIMIT)
async def test_a_message_exactly_at_each_limit_is_accepted(fake: FakeDiscord, payload: dict[str, Any]) -> None:
    r = await raw(fake, "POST", f"/channels/{fake.world.papers.id}/messages", json=payload)
    assert r.status == 200
    assert len(fake.messages(fake.world.papers)) == 1


async def test_a_nonce_without_enforce_nonce_does_not_deduplicate(fake: FakeDiscord) -> None:
    path = f"/channels/{fake.world.papers.id}/messages"
    for _ in range(2):
        assert (await raw(fake, "POST", path, json={"content": "x", "nonce": "n1"})).status == 200
    assert len(fake.messages(fake.world.papers)) == 2


async def test_a_resumable_invalid_session_makes_the_client_resume(fake: FakeDiscord, bot: Any) -> None:
    await fake.invalidate_session(resumable=True)
    await fake.wait_until(lambda: fake.stats.resumes == 1, what="a RESUME")
    assert fake.stats.identifies == 1 and fake.stats.readies == 1
    inter = await fake.slash("ping", {"word": "resumed"})
    assert (await fake.wait_for_message(fake.world.papers)).content == "pong resumed"
    assert inter.original is not None


async def test_a_socket_closed_with_a_resumable_code_resumes(fake: FakeDiscord, bot: Any) -> None:
    await fake.drop_connections(code=4000)  # "Unknown error": Discord says reconnect and resume
    await fake.wait_until(lambda: fake.stats.resumes == 1, what="a RESUME")
    assert fake.stats.identifies == 1
    await fake.wait_for_response(await fake.slash("ping", {"word": "again"}))


async def test_a_socket_closed_for_a_timed_out_session_makes_the_client_identify_again(
        fake: FakeDiscord, bot: Any) -> None:
    await fake.drop_connections(code=4009)  # "Session timed out": reconnect and start a new session
    await fake.wait_until(lambda: fake.stats.readies == 2, what="a second READY")
    assert fake.stats.identifies == 2
    await fake.wait_for_response(await fake.slash("ping", {"word": "again"}))


async def test_interaction_callbacks_are_answered_while_the_global_limit_is_used_up() -> None:
    clock = ManualClock()
    async with FakeDiscord(clock=clock, global_limit=5, global_period=1.0) as fake:
        world = fake.build_standard_world()
        client, tree = make_bot()
        async with run_client(fake, client):
            await tree.sync()
            clock.t += 2  # a fresh 1-second window
            for _ in range(5):
                assert (await raw(fake, "GET", "/users/@me")).status == 200
            assert (await raw(fake, "GET", "/users/@me")).status == 429  # the token's 50/s (here 5/s) is spent
            inter = await fake.slash("ping", {"word": "anyway"})
            assert (await fake.wait_for_message(world.papers)).content == "pong anyway"
            assert inter.original is not None
            assert fake.stats.global_rate_limited == 1  # the callback itself was not limited
