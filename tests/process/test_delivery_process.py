"""Delivery with the bot in its own process (``hotpapers run``) against the local Discord: every fault of
issue 10 at once, SIGKILL during a DM round, SIGTERM during a tick."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.store import Store
from bot.store.digests import ChannelDigest
from bot.subscriptions import Schedule, parse_follow
from tests.delivery.test_dms import AFTERNOON, MORNING, dms, seed_dm_store
from tests.engines import CHILD_PROCESS
from tests.fakes.discord import FakeDiscord
from tests.harness import LOOKUP_MAILING, BotProcess, Seed

SLOT = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
SET_UP = datetime(2026, 11, 20, tzinfo=UTC)
MESSAGES = "POST /channels/{channel_id}/messages"


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return seed_dm_store(tmp_path / "hot.db")


def _audience(world: FakeDiscord, db: Path, channels: int, users: int) -> tuple[list[int], list[int]]:
    guild = world.world.guild
    channel_ids = [world.add_channel(guild, f"papers-{i}").id for i in range(channels)]
    user_ids = [world.add_member(guild).user.id for _ in range(users)]
    store = Store(db)
    try:
        for channel_id in channel_ids:
            store.save_channel_digest(ChannelDigest(guild.id, channel_id, "09:00", "UTC", ("cs.LG",), 3, SET_UP))
        for user_id in user_ids:
            store.add_follow(user_id, parse_follow("category", "cs.LG"), max_follows=50,
                             default=Schedule("09:00", "UTC", "daily"), now=SET_UP)
    finally:
        store.close()
    return channel_ids, user_ids


def _received(world: FakeDiscord, channel_ids: list[int], user_ids: list[int]) -> list[int]:
    return [len(world.messages(c)) for c in channel_ids] + [
        len(world.messages(world.dm_channels[u])) if u in world.dm_channels else 0 for u in user_ids]


@pytest.mark.sqlite_only(CHILD_PROCESS)
async def test_every_fault_at_once_and_still_every_digest_and_dm_exactly_once(
        world: FakeDiscord, seeded: Seed, tmp_path: Path) -> None:
    channel_ids, user_ids = _audience(world, seeded.db, channels=24, users=8)
    bot = BotProcess(world, seeded.db, tmp_path, start_time=SLOT - timedelta(minutes=1),
                     env={"HOTPAPERS_DELIVERY_SEND_TIMEOUT": "1"})
    try:
        await bot.start()
        world.set_global_limit(45)  # the token's budget is partly spent elsewhere
        world.inject_rate_limit("POST /*", 0.05, 3, is_global=True)  # a burst of global 429s (with Via)
        world.inject_rate_limit(MESSAGES, 0.05, 3, via=False)  # a proxy's 429s (no Via)
        world.inject_rate_limit(MESSAGES, 0.05, 3)  # per-route 429s
        world.inject_random_failures("POST /*", 0.02, 500, seed=11)  # 2 % of sends answer 500
        world.inject_delay(MESSAGES, 2.5, 2)  # hanging sends
        injected_429 = 9
        when = SLOT
        bot.set_time(when)
        while min(_received(world, channel_ids, user_ids)) == 0 and when < SLOT + timedelta(hours=6):
            try:
                await world.wait_until(lambda: min(_received(world, channel_ids, user_ids)) > 0, 4,
                                       "every digest and DM")
            except TimeoutError:
                when += timedelta(minutes=5)  # what is left waits for its backoff on the bot's clock
                bot.set_time(when)
        assert when < SLOT + timedelta(hours=6)
        assert await bot.terminate() == 0
    finally:
        bot.close()
    assert _received(world, channel_ids, user_ids) == [1] * 32
    assert world.stats.rate_limited <= injected_429 + 2  # at most the first refusals of the lower budget
    assert world.busiest_second() <= 50


@pytest.mark.sqlite_only(CHILD_PROCESS)
async def test_sigterm_during_a_tick_stops_cleanly_and_the_restart_finishes(world: FakeDiscord, seeded: Seed,
                                                                            tmp_path: Path) -> None:
    channel_ids, _ = _audience(world, seeded.db, channels=40, users=0)
    bot = BotProcess(world, seeded.db, tmp_path, start_time=SLOT)
    try:
        world.inject_delay(MESSAGES, 1.0, count=40)  # slow answers: the tick is mid-round at the signal
        await bot.start()
        await world.wait_until(lambda: sum(_received(world, channel_ids, [])) >= 2, 15, "two digests")
        assert await bot.terminate() == 0
        log = bot.log()
        assert "ERROR" not in log and "CancelledError" not in log and "Traceback" not in log
        assert sum(_received(world, channel_ids, [])) < 40
        await bot.start()
        await world.wait_until(lambda: min(_received(world, channel_ids, [])) > 0, 20, "every digest")
        assert await bot.terminate() == 0
    finally:
        bot.close()
    assert _received(world, channel_ids, []) == [1] * 40

def _seed_subscribers(db: Path, users: list[int], when: datetime) -> None:
    store = Store(db)
    default = Schedule("14:00", "UTC", "daily")
    for user in users:
        store.add_follow(user, parse_follow("keyword", "diffusion"), max_follows=50, default=default,
                         now=when)
    store.close()


@pytest.mark.sqlite_only(CHILD_PROCESS)
async def test_a_crash_during_dm_delivery_sends_nothing_twice(fake_discord: FakeDiscord, db: Path,
                                                              tmp_path: Path) -> None:
    """A bot in its own process is killed (SIGKILL) while Discord is creating a DM it will never hear about;
    the restarted bot finishes the round and nobody gets a DM twice."""
    members = [fake_discord.add_member(fake_discord.world.guild) for _ in range(4)]
    _seed_subscribers(db, [m.user.id for m in members], MORNING)
    clock_file = tmp_path / "clock.txt"
    FakeDiscord.write_bot_clock(clock_file, AFTERNOON)
    env = {**os.environ, **fake_discord.env(clock_file=clock_file), "HOTPAPERS_DB": str(db),
           "HOTPAPERS_DISCORD_READY_TIMEOUT": "0.1", "HOTPAPERS_LOG_LEVEL": "INFO",
           "HOTPAPERS_CONFIG": str(tmp_path / "none.toml")}
    (tmp_path / "none.toml").write_text("")

    def start() -> subprocess.Popen[bytes]:
        return subprocess.Popen([str(Path(sys.executable).parent / "hotpapers"), "run"], cwd=tmp_path,
                                env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    first = start()

    def third_dm_created_then_kill() -> bool:
        # Runs inside the fake_discord the moment Discord has stored a message, before the bot gets the answer:
        # the bot dies not knowing its third DM went out (the worst moment for a ledger).
        if sum(len(dms(fake_discord, m)) for m in members) < 3:
            return False
        first.send_signal(signal.SIGKILL)
        return True

    try:
        await fake_discord.wait_until(third_dm_created_then_kill, timeout=20, what="a third DM")
        first.wait(5)
        assert sum(len(dms(fake_discord, m)) for m in members) == 3
    finally:
        if first.poll() is None:
            first.kill()

    second = start()
    try:
        await fake_discord.wait_until(lambda: all(len(dms(fake_discord, m)) >= 1 for m in members), timeout=20,
                              what="every subscriber's DM")
    finally:
        second.send_signal(signal.SIGTERM)  # a clean stop finishes whatever it was sending
        try:
            second.wait(15)
        except subprocess.TimeoutExpired:
            second.kill()
    assert [len(dms(fake_discord, m)) for m in members] == [1, 1, 1, 1]
    store = Store(db)
    assert all(store.handled("dm", m.user.id, LOOKUP_MAILING.isoformat()) for m in members)
    store.close()
