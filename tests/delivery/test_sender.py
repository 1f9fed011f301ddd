"""The sender: the ledger makes every message go out exactly once, and Discord's refusals come back as
outcomes the callers act on."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime
from pathlib import Path

import discord
import pytest

from bot.delivery import Outcome, Target, make_nonce
from bot.digest import build_digest
from bot.ranking import rank
from bot.render import OutgoingMessage, digest_messages
from bot.store import Store
from bot.store.digests import ChannelDigest, PlannedMessage
from tests.fakes.discord import FakeDiscord, P
from tests.harness import Seed, bot_settings, running_bot

NOW = datetime(2026, 11, 26, 8, tzinfo=UTC)


def _messages(n: int, period: str = "2026-11-25") -> list[OutgoingMessage]:
    return [
        OutgoingMessage(
            content=f"Hot Papers {period} part {i + 1}/{n}", marker=f"Hot Papers {period} part {i + 1}/{n}"
        )
        for i in range(n)
    ]


def test_the_ledger_keeps_the_first_plan_and_knows_what_is_done(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.db")
    try:
        first = [PlannedMessage(i, {"content": f"a{i}"}, f"n{i}", f"m{i}") for i in range(3)]
        record = store.begin_delivery("channel", 5, "2026-11-25", first, NOW, guild_id=1)
        again = store.begin_delivery("channel", 5, "2026-11-25", first[:1], NOW, guild_id=1)
        assert [m.payload for m in again.messages] == [
            {"content": "a0"},
            {"content": "a1"},
            {"content": "a2"},
        ]
        assert record.status == "sending" and len(record.pending) == 3
        store.complete_message("channel", 5, "2026-11-25", 0, 111, 5)
        store.complete_message("channel", 5, "2026-11-25", 1, 112, 5)
        fresh = store.delivery("channel", 5, "2026-11-25")
        assert fresh is not None and [m.seq for m in fresh.pending] == [2]
        assert [r.target_id for r in store.unfinished_deliveries("channel")] == [5]
        store.finish_delivery("channel", 5, "2026-11-25", NOW)
        assert store.unfinished_deliveries() == []
        assert store.handled("channel", 5, "2026-11-25") and not store.handled("dm", 5, "2026-11-25")
        assert not store.record_skip("channel", 5, "2026-11-25", "late", NOW)  # already handled
    finally:
        store.close()


def test_leaving_a_server_forgets_only_that_servers_digests(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.db")
    try:
        for guild, channel in ((1, 10), (1, 11), (2, 20)):
            store.save_channel_digest(ChannelDigest(guild, channel, "09:00", "UTC", ("cs.LG",), 5, NOW))
        store.begin_delivery("channel", 10, "2026-11-25", [], NOW, guild_id=1)
        store.begin_delivery("dm", 99, "2026-11-25", [], NOW)
        assert store.forget_guild(1) == 2
        assert [d.channel_id for d in store.channel_digests(None)] == [20]
        assert store.delivery("channel", 10, "2026-11-25") is None
        assert store.delivery("dm", 99, "2026-11-25") is not None
    finally:
        store.close()


async def test_delivering_twice_sends_once(world: FakeDiscord, seeded: Seed) -> None:
    channel = world.world.papers
    async with running_bot(world, bot_settings(world, seeded.db)) as bot:
        target = Target.channel(channel.id, "2026-11-25", world.world.guild.id)
        first = await bot.deliverer.deliver(target, _messages(3))
        second = await bot.deliverer.deliver(target, _messages(3))
        both = await asyncio.gather(
            *(
                bot.deliverer.deliver(Target.channel(channel.id, "2026-11-24"), _messages(2, "2026-11-24"))
                for _ in range(3)
            )
        )
    assert first.status == "sent" and first.sent == 3 and len(first.message_ids) == 3
    assert second.status == "already" and second.message_ids == first.message_ids
    assert sorted(o.status for o in both) == ["already", "already", "sent"]
    assert [m.content for m in world.messages(channel)] == [
        "Hot Papers 2026-11-25 part 1/3",
        "Hot Papers 2026-11-25 part 2/3",
        "Hot Papers 2026-11-25 part 3/3",
        "Hot Papers 2026-11-24 part 1/2",
        "Hot Papers 2026-11-24 part 2/2",
    ]
    assert all(isinstance(m.nonce, str) and len(m.nonce) <= 25 for m in world.messages(channel))


@pytest.mark.parametrize("history", ["readable", "unreadable"])
async def test_a_message_discord_got_but_the_ledger_missed_is_not_sent_again(
    world: FakeDiscord, seeded: Seed, history: str
) -> None:
    """The crash window: the POST succeeded, the process died before recording the id. The bot finds the
    message in the channel's history; where it cannot read history, the nonce stops the repeat."""
    channel = world.world.papers
    if history == "unreadable":
        world.set_overwrite(channel, world.bot_member(world.world.guild), deny=P.READ_MESSAGE_HISTORY)
    async with running_bot(world, bot_settings(world, seeded.db)) as bot:
        messages = _messages(3)
        planned = [
            PlannedMessage(i, m.payload(), make_nonce("channel", channel.id, "2026-11-25", i), m.marker)
            for i, m in enumerate(messages)
        ]
        await bot.store.run(Store.begin_delivery, "channel", channel.id, "2026-11-25", planned, NOW)
        partial = bot.get_partial_messageable(channel.id)
        sent = await partial.send(messages[0].content, nonce=planned[0].nonce)
        await bot.store.run(
            Store.complete_message, "channel", channel.id, "2026-11-25", 0, sent.id, channel.id
        )
        lost = await partial.send(messages[1].content, nonce=planned[1].nonce)  # accepted, never recorded
        outcome = await bot.deliverer.deliver(Target.channel(channel.id, "2026-11-25"), None)
    assert outcome.status == "sent"
    assert [m.content for m in world.messages(channel)] == [m.content for m in messages]
    assert outcome.message_ids[1] == lost.id


async def test_refusals_come_back_as_outcomes(world: FakeDiscord, seeded: Seed) -> None:
    w = world.world
    async with running_bot(world, bot_settings(world, seeded.db)) as bot:
        hidden = await bot.deliverer.deliver(Target.channel(w.staff.id, "p"), _messages(1))
        read_only = await bot.deliverer.deliver(Target.channel(w.read_only.id, "p"), _messages(1))
        gone = await bot.deliverer.deliver(Target.channel(123456789012345678, "p"), _messages(1))
        dm = await bot.http.start_private_message(w.closed_dms.user.id)
        closed = await bot.deliverer.deliver(
            Target.dm(w.closed_dms.user.id, int(dm["id"]), "p"), _messages(1)
        )
        # A refused delivery stays unfinished in the ledger, so fixing the cause lets it complete.
        record = await bot.store.run(Store.delivery, "channel", w.read_only.id, "p")
    assert (hidden.status, hidden.code) == ("forbidden", 50001)
    assert (read_only.status, read_only.code) == ("forbidden", 50013)
    assert (gone.status, gone.code) == ("gone", 10003)
    assert (closed.status, closed.code) == ("closed", 50007)
    assert record is not None and record.status == "sending"


async def test_shutdown_stops_between_messages_and_a_restart_finishes(
    world: FakeDiscord, seeded: Seed
) -> None:
    channel = world.world.papers
    settings = bot_settings(world, seeded.db)
    target = Target.channel(channel.id, "2026-11-25")
    store = Store(seeded.db)
    store.save_channel_digest(
        ChannelDigest(world.world.guild.id, channel.id, "09:00", "UTC", ("cs.LG",), 5, NOW)
    )
    store.close()
    async with running_bot(world, settings) as bot:
        world.inject_delay("POST /channels/{channel_id}/messages", 0.3, count=1)
        delivery = asyncio.create_task(bot.deliverer.deliver(target, _messages(4)))
        await world.wait_for_message(channel, timeout=5)
        bot.deliverer.stop()
        outcome: Outcome = await delivery
        assert outcome.status == "interrupted"
    assert 1 <= len(world.messages(channel)) < 4
    async with running_bot(world, settings) as bot:  # its first tick resumes unfinished deliveries
        record = await bot.store.run(Store.delivery, "channel", channel.id, "2026-11-25")
    assert record is not None and record.status == "done"
    assert [m.content for m in world.messages(channel)] == [m.content for m in _messages(4)]


def test_digest_messages_plan_the_seeded_mailing(seeded: Seed) -> None:
    store = Store(seeded.db)
    try:
        papers = store.mailing_papers(date(2026, 11, 25))
        signals = store.latest_signals([p.id for p in papers], NOW)
    finally:
        store.close()
    ranked = rank(papers, signals, {"hn": 1.0}, 0)
    digest = build_digest(date(2026, 11, 25), ranked, categories=("cs.CV",), size=3, min_score=50)
    (message,) = digest_messages(digest)
    assert [e.title for e in message.embeds] == [
        "1. Paper number 2 on learning",
        "2. Paper number 4 on learning",
        "3. Paper number 6 on learning",
    ]
    assert isinstance(message.embeds[0], discord.Embed)


def test_reopening_a_given_up_entry_keeps_what_was_sent(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.db")
    try:
        plan = [PlannedMessage(i, {"content": f"a{i}"}, f"n{i}", f"m{i}") for i in range(3)]
        store.begin_delivery("channel", 5, "2026-11-25", plan, NOW)
        store.complete_message("channel", 5, "2026-11-25", 0, 111, 5)
        store.finish_delivery("channel", 5, "2026-11-25", NOW, "failed", "Missing Permissions (50013)")
        store.begin_delivery("channel", 6, "2026-11-25", plan, NOW)
        store.finish_delivery("channel", 6, "2026-11-25", NOW, "failed", "Missing Access (50001)")
        store.record_skip("channel", 7, "2026-11-25", "offline", NOW)
        store.begin_delivery("channel", 8, "2026-11-25", plan, NOW)
        store.finish_delivery("channel", 8, "2026-11-25", NOW)

        assert store.reopen_delivery("channel", 5, "2026-11-25")
        partial = store.delivery("channel", 5, "2026-11-25")
        assert partial is not None and partial.status == "sending" and partial.reason is None
        assert [m.seq for m in partial.pending] == [1, 2] and partial.messages[0].message_id == 111
        for untouched in (6, 7):  # nothing went out: forgotten, so a new plan is written
            assert store.reopen_delivery("channel", untouched, "2026-11-25")
            assert store.delivery("channel", untouched, "2026-11-25") is None
        assert not store.reopen_delivery("channel", 8, "2026-11-25")  # done stays done
        assert store.handled("channel", 8, "2026-11-25")
    finally:
        store.close()


async def test_a_thread_digest_interrupted_after_its_thread_resumes_in_the_same_thread(
    world: FakeDiscord, seeded: Seed
) -> None:
    channel = world.world.papers
    settings = bot_settings(world, seeded.db)
    store = Store(seeded.db)
    store.save_channel_digest(
        ChannelDigest(world.world.guild.id, channel.id, "09:00", "UTC", ("cs.LG",), 5, NOW, thread=True)
    )
    store.close()
    header = OutgoingMessage("Hot Papers 2026-11-25", marker="Hot Papers 2026-11-25",
                             extra={"thread_name": "Hot Papers 2026-11-25"})
    parts = [OutgoingMessage(f"part {i}", marker=f"part {i}", in_thread=True) for i in (1, 2, 3)]
    target = Target.channel(channel.id, "2026-11-25", world.world.guild.id)
    async with running_bot(world, settings) as bot:
        world.inject_delay("POST /channels/{channel_id}/messages", 0.3, count=3)
        delivery = asyncio.create_task(bot.deliverer.deliver(target, [header, *parts]))
        started = await world.wait_for_message(channel, timeout=5)
        await world.wait_until(lambda: started.thread_id is not None
                               and bool(world.messages(started.thread_id)), 5, "a message in the thread")
        bot.deliverer.stop()
        assert (await delivery).status == "interrupted"
    assert started.thread_id is not None
    assert 1 <= len(world.messages(started.thread_id)) < 3
    async with running_bot(world, settings):  # the first tick resumes it
        pass
    assert [m.content for m in world.messages(channel)] == ["Hot Papers 2026-11-25"]
    assert [m.content for m in world.messages(started.thread_id)] == ["part 1", "part 2", "part 3"]
    assert world.stats.by_route.get("POST /channels/{channel_id}/messages/{message_id}/threads") == 1


async def test_a_send_that_hangs_is_abandoned_retried_and_posted_once(world: FakeDiscord, seeded: Seed) -> None:
    channel = world.world.papers
    async with running_bot(world, bot_settings(world, seeded.db)) as bot:
        bot.deliverer.rest.timeout = 0.3
        world.inject_delay("POST /channels/{channel_id}/messages", 1.0, count=1)  # Discord hangs, then answers
        outcome = await bot.deliverer.deliver(Target.channel(channel.id, "2026-11-25"), _messages(2))
        assert outcome.status == "sent" and outcome.sent == 2
    # Had the abandoned request gone through after all, its nonce would have made it a repeat, not a message.
    assert world.stats.by_route["POST /channels/{channel_id}/messages"] == 3
    assert [m.content for m in world.messages(channel)] == [m.content for m in _messages(2)]
    assert outcome.message_ids == [m.id for m in world.messages(channel)]
