"""DM digests end to end: at each user's time, one DM per mailing with what matched; closed DMs; crashes."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from bot.clock import ManualClock
from bot.store import Store
from bot.subscriptions import Schedule
from tests.fakes.discord.models import Member
from tests.fakes.discord.server import FakeDiscord
from tests.harness import (
    LOOKUP_MAILING,
    LOOKUP_OBSERVED,
    bot_settings,
    make_paper,
    reply,
    running_bot,
    seed_store,
    text_of,
)

PAPERS = [
    make_paper("2411.00001", "Diffusion for proteins", categories=("q-bio.BM",), mailing=LOOKUP_MAILING),
    make_paper("2411.00002", "Diffusion for images", categories=("cs.CV",), mailing=LOOKUP_MAILING),
    make_paper("2411.00003", "Bandits", categories=("cs.LG",), mailing=LOOKUP_MAILING),
]
MORNING = datetime(2024, 11, 6, 10, 0, tzinfo=UTC)
AFTERNOON = datetime(2024, 11, 6, 14, 30, tzinfo=UTC)  # the mailing is 12 h old from 13:00 UTC


def seed_dm_store(path: Path) -> Path:
    """The 2024-11-06 mailing: two papers on diffusion, one on bandits."""
    seed_store(path, PAPERS, hf={"2411.00002": 40, "2411.00003": 9}, mailing=LOOKUP_MAILING,
               points=None, previous=None, observed=LOOKUP_OBSERVED)
    return path


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return seed_dm_store(tmp_path / "hot.db")


async def command(fake_discord: FakeDiscord, name: str, options: dict[str, str] | None, user: Member) -> str:
    response = await fake_discord.wait_for_response(await fake_discord.slash(name, options, user=user))
    assert response.ephemeral
    return str(response.data["content"])


def dms(fake_discord: FakeDiscord, member: Member) -> list[str]:
    channel = fake_discord.dm_channels.get(member.user.id)
    return [text_of(m) for m in fake_discord.messages(channel)] if channel else []


def opened_dm_channels(fake_discord: FakeDiscord) -> int:
    return sum(1 for r in fake_discord.requests if r.route == "POST /users/@me/channels")


async def test_one_dm_per_mailing_at_the_users_time_only_when_something_matches(fake_discord: FakeDiscord,
                                                                                db: Path) -> None:
    clock = ManualClock(MORNING)
    reader, stranger = fake_discord.world.member, fake_discord.world.admin
    async with running_bot(fake_discord, bot_settings(fake_discord, db), clock) as bot:
        await command(fake_discord, "subscribe keyword", {"value": "diffusion"}, reader)
        await command(fake_discord, "subscriptions settings", {"time": "14:00"}, reader)
        await command(fake_discord, "subscribe category", {"value": "math.AG"}, stranger)
        await command(fake_discord, "subscriptions settings", {"time": "14:00"}, stranger)

        clock.set(datetime(2024, 11, 6, 13, 59, tzinfo=UTC))
        await bot.scheduler.tick_now()
        assert dms(fake_discord, reader) == []  # not yet their time

        clock.set(AFTERNOON)
        await bot.scheduler.tick_now()
        await bot.scheduler.tick_now()  # a second tick (or a doubled job) sends nothing more
        (text,) = dms(fake_discord, reader)
        assert "2024-11-06" in text and "2 matching papers" in text
        assert text.index("Diffusion for images") < text.index("Diffusion for proteins")  # hottest first
        assert "matched keyword “diffusion”" in text
        assert "Bandits" not in text
        assert dms(fake_discord, stranger) == []  # nothing matched: no DM
        assert opened_dm_channels(fake_discord) == 1

        # The next day's mailing: one more DM, through the DM channel kept from yesterday.
        seed_store(db, [make_paper("2411.00009", "Diffusion again", mailing=date(2024, 11, 7))],
                   mailing=date(2024, 11, 7), points=None, previous=None, observed=LOOKUP_OBSERVED)
        clock.set(AFTERNOON + timedelta(days=1))
        await bot.scheduler.tick_now()
        assert len(dms(fake_discord, reader)) == 2 and "Diffusion again" in dms(fake_discord, reader)[1]
        assert opened_dm_channels(fake_discord) == 1


async def test_a_user_with_closed_dms_is_paused_and_told_next_time(fake_discord: FakeDiscord, db: Path) -> None:
    clock = ManualClock(MORNING)
    closed = fake_discord.world.closed_dms
    async with running_bot(fake_discord, bot_settings(fake_discord, db), clock) as bot:
        await command(fake_discord, "subscribe category", {"value": "cs.LG"}, closed)
        await command(fake_discord, "subscriptions settings", {"time": "14:00"}, closed)
        clock.set(AFTERNOON)
        await bot.scheduler.tick_now()
        invalid = fake_discord.stats.invalid
        await bot.scheduler.tick_now()
        clock.set(AFTERNOON + timedelta(days=1))
        await bot.scheduler.tick_now()
        assert fake_discord.stats.invalid == invalid  # paused: no more refused requests

        # Any command tells them: here a public /paper, with the notice as a private follow-up.
        lookup = await fake_discord.slash("paper", {"query": "2411.00003"}, user=closed)
        await fake_discord.wait_until(lambda: len(lookup.messages) >= 2, what="the answer and the notice")
        public, notice = lookup.messages[:2]
        assert not public.ephemeral and "Bandits" in text_of(public)
        assert notice.ephemeral and "DMs are closed" in notice.content
        assert "/subscriptions resume" in notice.content
        text = await command(fake_discord, "subscriptions list", None, closed)
        assert "Paused (your DMs were closed to the bot)" in text
        assert not text.startswith("⚠️")  # told once


async def test_weekly_subscribers_get_one_dm_on_monday_covering_the_week(fake_discord: FakeDiscord,
                                                                        db: Path) -> None:
    seed_store(db, [make_paper("2411.00007", "Diffusion on Tuesday", mailing=date(2024, 11, 5))],
               mailing=date(2024, 11, 5), points=None, previous=None, observed=LOOKUP_OBSERVED)
    clock = ManualClock(MORNING)  # Wednesday
    reader = fake_discord.world.member
    async with running_bot(fake_discord, bot_settings(fake_discord, db), clock) as bot:
        await command(fake_discord, "subscribe keyword", {"value": "diffusion"}, reader)
        assert "every Monday at 14:00 UTC" in await command(
            fake_discord, "subscriptions settings", {"time": "14:00", "frequency": "weekly"}, reader)
        clock.set(AFTERNOON)  # Wednesday 14:30: a daily subscriber would get a DM now
        await bot.scheduler.tick_now()
        assert dms(fake_discord, reader) == []

        clock.set(datetime(2024, 11, 11, 14, 30, tzinfo=UTC))  # Monday
        await bot.scheduler.tick_now()
        await bot.scheduler.tick_now()
        (text,) = dms(fake_discord, reader)
        assert "2024-11-05 to 2024-11-06 mailings" in text and "3 matching papers" in text
        assert "Diffusion on Tuesday" in text and "Diffusion for images" in text

        clock.set(datetime(2024, 11, 12, 14, 30, tzinfo=UTC))  # Tuesday: nothing more
        await bot.scheduler.tick_now()
        assert len(dms(fake_discord, reader)) == 1


async def test_a_pending_notice_is_told_even_by_help(fake_discord: FakeDiscord, db: Path) -> None:
    closed = fake_discord.world.closed_dms
    store = Store(db)
    store.set_paused(closed.user.id, True, default=Schedule(), now=MORNING, reason="your DMs were closed",
                     notice="Your DMs are closed to me.")
    store.close()
    async with running_bot(fake_discord, bot_settings(fake_discord, db), ManualClock(MORNING)):
        text = await command(fake_discord, "help", None, closed)
        assert text.startswith("⚠️ Your DMs are closed to me.") and "/paper" in text
        assert not (await command(fake_discord, "help", None, closed)).startswith("⚠️")  # told once


async def test_a_test_dm_is_marked_as_one_and_the_scheduled_dm_still_comes(fake_discord: FakeDiscord,
                                                                           db: Path) -> None:
    """``/subscriptions test`` sends the DM at once, through the same sender, marked as a test; it is not the
    day's DM, which still comes at the user's time — once."""
    clock = ManualClock(AFTERNOON - timedelta(minutes=31))
    reader = fake_discord.world.member
    async with running_bot(fake_discord, bot_settings(fake_discord, db), clock) as bot:
        await command(fake_discord, "subscribe keyword", {"value": "diffusion"}, reader)
        await command(fake_discord, "subscriptions settings", {"time": "14:00"}, reader)
        interaction = await fake_discord.slash("subscriptions test", user=reader)
        note = await reply(fake_discord, interaction)
        assert note.ephemeral and "Sent you a test DM" in note.content
        assert "only a test: your DM digest still comes every day at 14:00 UTC" in note.content
        (test,) = dms(fake_discord, reader)
        assert test.startswith("🧪 **Test**") and "Diffusion for images" in test

        clock.set(AFTERNOON)
        await bot.scheduler.tick_now()
        await bot.scheduler.tick_now()
        test_again, scheduled = dms(fake_discord, reader)
        assert test_again == test
        assert not scheduled.startswith("🧪") and "2 matching papers" in scheduled
        assert await bot.store.run(Store.handled, "dm", reader.user.id, LOOKUP_MAILING.isoformat())
    assert opened_dm_channels(fake_discord) == 1


async def test_unloading_the_subscriptions_cog_does_not_stop_dms(fake_discord: FakeDiscord, db: Path) -> None:
    clock = ManualClock(MORNING)
    reader = fake_discord.world.member
    async with running_bot(fake_discord, bot_settings(fake_discord, db), clock) as bot:
        await command(fake_discord, "subscribe keyword", {"value": "diffusion"}, reader)
        await command(fake_discord, "subscriptions settings", {"time": "14:00"}, reader)
        await bot.unload_extension("cogs.subscriptions")
        clock.set(AFTERNOON)
        await bot.scheduler.tick_now()
    assert len(dms(fake_discord, reader)) == 1
