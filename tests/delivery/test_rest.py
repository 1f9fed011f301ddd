"""Refusals are sorted, never fatal by accident: under 429 bursts (global or per route, with or without
``Via``), server errors, hanging sends or a token budget partly spent elsewhere, every channel digest and
every DM goes out exactly once within the grace window, and the bot's own retries earn no 429."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.clock import ManualClock
from bot.delivery import Target
from bot.render import OutgoingMessage
from bot.store import Store
from bot.store.digests import ChannelDigest
from bot.subscriptions import Schedule, parse_follow
from tests.fakes.discord import FakeDiscord
from tests.harness import Seed, bot_settings, running_bot, slash_reply

SLOT = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)  # everyone's time; the 2026-11-25 mailing is old enough
SET_UP = datetime(2026, 11, 20, tzinfo=UTC)
MESSAGES = "POST /channels/{channel_id}/messages"


@dataclass
class Audience:
    channels: list[int]
    users: list[int]


def _audience(world: FakeDiscord, db: Path, channels: int, users: int) -> Audience:
    guild = world.world.guild
    made = Audience([world.add_channel(guild, f"papers-{i}").id for i in range(channels)],
                    [world.add_member(guild).user.id for _ in range(users)])
    store = Store(db)
    try:
        for channel_id in made.channels:
            store.save_channel_digest(ChannelDigest(guild.id, channel_id, "09:00", "UTC", ("cs.LG",), 3, SET_UP))
        for user_id in made.users:
            store.add_follow(user_id, parse_follow("category", "cs.LG"), max_follows=50,
                             default=Schedule("09:00", "UTC", "daily"), now=SET_UP)
    finally:
        store.close()
    return made


def _counts(world: FakeDiscord, audience: Audience) -> tuple[list[int], list[int]]:
    posts = [len(world.messages(c)) for c in audience.channels]
    dms = [len(world.messages(world.dm_channels[u])) if u in world.dm_channels else 0 for u in audience.users]
    return posts, dms


async def _run_until_delivered(world: FakeDiscord, bot: object, clock: ManualClock, audience: Audience,
                               *, step: timedelta = timedelta(minutes=5)) -> None:
    """Tick, then keep moving the bot's clock (never the real one) until everything is out or the grace
    window has passed."""
    grace_ends = SLOT + timedelta(hours=6)
    await bot.scheduler.tick_now()  # type: ignore[attr-defined]
    while clock.now() < grace_ends:
        posts, dms = _counts(world, audience)
        if all(posts) and all(dms):
            return
        clock.advance(step)
        await bot.scheduler.tick_now()  # type: ignore[attr-defined]


Fault = Callable[[FakeDiscord], int]  # injects the fault; returns how many 429s it injected


FAULTS: dict[str, Fault] = {
    "global 429 burst": lambda w: (w.inject_rate_limit("POST /*", 0.05, 6, is_global=True), 6)[1],
    "per-route 429 burst": lambda w: (w.inject_rate_limit(MESSAGES, 0.05, 6), 6)[1],
    "global 429 without Via": lambda w: (w.inject_rate_limit("POST /*", 0.05, 6, is_global=True, via=False), 6)[1],
    "per-route 429 without Via": lambda w: (w.inject_rate_limit(MESSAGES, 0.05, 6, via=False), 6)[1],
    "server errors": lambda w: (w.inject_random_failures("POST /*", 0.15, 500, seed=7), 0)[1],
    "bad gateway": lambda w: (w.inject_failure("POST /*", 502, 5), 0)[1],
    "hanging sends": lambda w: (w.inject_delay(MESSAGES, 1.0, 3), 0)[1],
}


@pytest.mark.parametrize("fault", list(FAULTS))
async def test_every_digest_and_dm_goes_out_exactly_once_despite(world: FakeDiscord, seeded: Seed,
                                                                 fault: str) -> None:
    audience = _audience(world, seeded.db, channels=6, users=4)
    clock = ManualClock(SLOT - timedelta(minutes=1))
    async with running_bot(world, bot_settings(world, seeded.db), clock) as bot:
        bot.deliverer.rest.timeout = 0.3  # a hanging send is abandoned (and retried) after this
        injected = FAULTS[fault](world)
        clock.set(SLOT)
        await _run_until_delivered(world, bot, clock, audience)
        assert clock.now() < SLOT + timedelta(hours=6)
        records = [await bot.store.run(Store.delivery, "channel", c, "2026-11-25") for c in audience.channels]
    assert _counts(world, audience) == ([1] * 6, [1] * 4)
    assert all(r is not None and r.status == "done" for r in records)
    assert world.stats.rate_limited == injected  # no 429 earned by the bot's own retries
    assert world.busiest_second() <= 50


async def test_a_token_budget_partly_spent_elsewhere_slows_the_bot_down_instead_of_losing_digests(
        world: FakeDiscord, seeded: Seed) -> None:
    audience = _audience(world, seeded.db, channels=70, users=0)
    world.set_global_limit(25)  # another process spends half of the token's 50 requests a second
    clock = ManualClock(SLOT - timedelta(minutes=1))
    async with running_bot(world, bot_settings(world, seeded.db), clock) as bot:
        clock.set(SLOT)
        await _run_until_delivered(world, bot, clock, audience)
        refused = world.stats.rate_limited
        assert refused == 0 or bot.pace.rate < 25  # a refusal slows it under the budget left
    assert _counts(world, audience)[0] == [1] * 70
    assert refused <= 3  # the first refusals (of requests already on their way) tell it; none after that


async def test_refusals_past_the_grace_window_become_a_skip_that_show_explains(world: FakeDiscord,
                                                                               seeded: Seed) -> None:
    w = world.world
    store = Store(seeded.db)
    store.save_channel_digest(ChannelDigest(w.guild.id, w.papers.id, "09:00", "UTC", ("cs.LG",), 3, SET_UP))
    store.close()
    clock = ManualClock(SLOT - timedelta(minutes=1))
    async with running_bot(world, bot_settings(world, seeded.db), clock) as bot:
        world.inject_failure(MESSAGES, 503, count=10_000)  # Discord is down for the whole window
        clock.set(SLOT)
        for _ in range(16):
            await bot.scheduler.tick_now()
            clock.advance(timedelta(minutes=30))
        attempts = world.stats.by_route[MESSAGES]
        world._injections.clear()  # Discord is back: the given-up mailing stays given up
        await bot.scheduler.tick_now()
        text, _, _ = await slash_reply(world, "digest show", {"channel": w.papers}, user=w.admin)
    assert world.messages(w.papers) == []
    assert "2026-11-25: skipped — Discord kept refusing (Discord server error 503)" in text
    assert "6 h grace period after 2026-11-26 09:00 UTC ran out" in text
    assert 10 <= attempts <= 40  # backed off: a few attempts per look, not one per tick forever


async def test_an_invalid_payload_is_failed_and_logged_with_its_field(world: FakeDiscord, seeded: Seed,
                                                                      caplog: pytest.LogCaptureFixture) -> None:
    channel = world.world.papers
    caplog.set_level(logging.ERROR, logger="bot.delivery")
    async with running_bot(world, bot_settings(world, seeded.db), ManualClock(SLOT)) as bot:
        # Content over Discord's 2,000 characters, as a rendering bug would make: the fake validates it.
        outcome = await bot.deliverer.deliver(Target.channel(channel.id, "2026-11-25"),
                                              [OutgoingMessage("y" * 2001, marker="bad")])
        record = await bot.store.run(Store.delivery, "channel", channel.id, "2026-11-25")
        await bot.scheduler.tick_now()
    assert outcome.status == "rejected" and outcome.code == 50035
    assert record is not None and record.status == "failed" and "at content" in (record.reason or "")
    assert any("50035" in r.getMessage() and "at content" in r.getMessage() for r in caplog.records)
    assert world.stats.by_route[MESSAGES] == 1  # failed is final: not retried
