"""``hotpapers run`` as its own process on the local Discord: start-up errors, time moved from outside,
SIGTERM, and SIGKILL in the middle of a digest."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.store import Store
from bot.store.digests import ChannelDigest
from tests.engines import CHILD_PROCESS
from tests.fakes.discord import FakeDiscord
from tests.harness import BotProcess, seed_store

HOTPAPERS = str(Path(sys.executable).parent / "hotpapers")
SLOT = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)  # 09:00 in Paris, the day after the 2026-11-25 mailing


def _clean_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HOTPAPERS_", "DISCORD_"))}
    config = tmp_path / "empty.toml"
    config.write_text("")
    env.update(HOTPAPERS_CONFIG=str(config), HOTPAPERS_DB=str(tmp_path / "db.sqlite"), HOTPAPERS_HOME=str(tmp_path),
               **extra)
    return env


def test_run_without_a_token_says_what_to_do(tmp_path: Path) -> None:
    result = subprocess.run(
        [HOTPAPERS, "run"], cwd=tmp_path, env=_clean_env(tmp_path), capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "DISCORD_TOKEN is not set" in lines[0] and "Reset Token" in lines[0]


async def test_run_with_a_rejected_token_exits_with_one_line_and_never_logs_it(
    world: FakeDiscord, tmp_path: Path
) -> None:
    secret = "MTIz.not-the-right.token-value-xyz"
    env = _clean_env(
        tmp_path,
        DISCORD_TOKEN=secret,
        HOTPAPERS_DISCORD_API=world.api_url,
        HOTPAPERS_DISCORD_GATEWAY=world.gateway_url,
    )
    import asyncio

    proc = await asyncio.create_subprocess_exec(
        HOTPAPERS,
        "run",
        cwd=tmp_path,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 2  # a restart cannot fix it: deploy/hotpapers.service does not loop on 2
    assert "Discord rejected DISCORD_TOKEN" in stderr.decode()
    assert stderr.decode().strip().splitlines()[-1].startswith("hotpapers: Discord rejected DISCORD_TOKEN")
    assert secret not in stdout.decode() + stderr.decode()


def _configure(db: Path, channel_id: int, guild_id: int, *, size: int = 5) -> None:
    store = Store(db)
    try:
        store.save_channel_digest(
            ChannelDigest(
                guild_id=guild_id,
                channel_id=channel_id,
                time="09:00",
                timezone="Europe/Paris",
                categories=("cs.LG",),
                size=size,
                active_since=datetime(2026, 11, 20, tzinfo=UTC),
            )
        )
    finally:
        store.close()


@pytest.mark.sqlite_only(CHILD_PROCESS)
async def test_posts_when_the_test_moves_the_clock_and_stops_cleanly_on_sigterm(
    world: FakeDiscord, tmp_path: Path
) -> None:
    w = world.world
    seed = seed_store(tmp_path / "hotpapers.db")
    _configure(seed.db, w.papers.id, w.guild.id)
    bot = BotProcess(world, seed.db, tmp_path, start_time=datetime(2026, 11, 26, 7, 30, tzinfo=UTC))
    try:
        await bot.start()
        assert world.messages(w.papers) == []
        bot.set_time(SLOT)
        message = await world.wait_for_message(w.papers, timeout=10)
        assert message.content == "**Hot Papers 2026-11-25 · cs.LG**" and len(message.embeds) == 5
        assert await bot.terminate() == 0
        log = bot.log()
        assert "shutting down" in log and "closed" in log
        assert world.token not in log
    finally:
        bot.close()


@pytest.mark.sqlite_only(CHILD_PROCESS)
async def test_sigkill_during_a_multi_message_digest_then_restart_sends_every_message_once(
    world: FakeDiscord, tmp_path: Path
) -> None:
    w = world.world
    seed = seed_store(tmp_path / "hotpapers.db", papers=25, points=[3000 - 10 * i for i in range(25)])
    _configure(seed.db, w.papers.id, w.guild.id, size=25)
    bot = BotProcess(world, seed.db, tmp_path, start_time=SLOT)
    try:
        # Every message takes a while to be accepted, so the bot is killed with one in flight.
        world.inject_delay("POST /channels/{channel_id}/messages", 1.0, count=3)
        await bot.start()
        await world.wait_for_message(w.papers, timeout=10)
        bot.kill()
        killed_with = len(world.messages(w.papers))
        assert killed_with < 3

        await bot.start()
        await bot.wait_log("delivered channel", 15)
        messages = world.messages(w.papers)
        footers = [m.embeds[-1]["footer"]["text"] for m in messages]
        assert footers == [f"Hot Papers 2026-11-25 · {i}/3" for i in (1, 2, 3)]
        titles = [e["title"] for m in messages for e in m.embeds]
        assert titles == [f"{i}. Paper number {i} on learning" for i in range(1, 26)]
        assert await bot.terminate() == 0
    finally:
        bot.close()


def test_run_with_discord_unreachable_says_so_in_one_line(tmp_path: Path) -> None:
    env = _clean_env(
        tmp_path,
        DISCORD_TOKEN="MTIz.some.token",
        HOTPAPERS_DISCORD_API="http://127.0.0.1:9/api/v10",
        HOTPAPERS_DISCORD_GATEWAY="ws://127.0.0.1:9/gateway",
    )
    result = subprocess.run(
        [HOTPAPERS, "run"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 1
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("hotpapers: cannot reach Discord at http://127.0.0.1:9/api/v10")
    assert "MTIz.some.token" not in result.stderr + result.stdout


@pytest.mark.sqlite_only(CHILD_PROCESS)
async def test_sigint_during_a_digest_checkpoints_the_message_in_flight_and_a_restart_finishes(
    world: FakeDiscord, tmp_path: Path
) -> None:
    import signal

    w = world.world
    seed = seed_store(tmp_path / "hotpapers.db", papers=25, points=[3000 - 10 * i for i in range(25)])
    _configure(seed.db, w.papers.id, w.guild.id, size=25)
    # At DEBUG discord.py logs requests and gateway traffic: the token must still never appear.
    bot = BotProcess(world, seed.db, tmp_path, start_time=SLOT, env={"HOTPAPERS_LOG_LEVEL": "DEBUG"})
    try:
        world.inject_delay("POST /channels/{channel_id}/messages", 1.5, count=3)  # room for a slow signal
        await bot.start()
        await world.wait_for_message(w.papers, timeout=10)
        assert await bot.terminate(sig=signal.SIGINT) == 0  # Ctrl-C: a clean exit, not a traceback
        log = bot.log()
        assert "shutting down" in log and "closed" in log and "Traceback" not in log
        assert "IDENTIFY" in log and world.token not in log
        stopped_with = world.messages(w.papers)
        assert 1 <= len(stopped_with) < 3
        store = Store(seed.db)
        try:
            record = store.delivery("channel", w.papers.id, "2026-11-25")
        finally:
            store.close()
        # The checkpoint: every message Discord holds is in the ledger, the rest is still to send.
        assert record is not None and record.status == "sending"
        assert [m.message_id for m in record.messages if m.message_id] == [m.id for m in stopped_with]

        await bot.start()
        await bot.wait_log("delivered channel", 15)
        footers = [m.embeds[-1]["footer"]["text"] for m in world.messages(w.papers)]
        assert footers == [f"Hot Papers 2026-11-25 · {i}/3" for i in (1, 2, 3)]
        assert await bot.terminate() == 0
    finally:
        bot.close()
