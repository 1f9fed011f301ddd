"""The bot in-process on the local Discord: /digest commands, scheduled posts, failures, what gets pinged."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.clock import ManualClock
from bot.store import Store
from bot.store.digests import ChannelDigest
from tests.fakes.discord import FakeDiscord, P
from tests.harness import Seed, bot_settings, make_paper, running_bot, seed_store, slash_reply
from tests.polling import eventually

SETUP = {"time": "09:00", "timezone": "Europe/Paris", "categories": "cs.LG, cs.CV", "size": 5}


async def test_setup_then_scheduled_post_at_the_channels_local_time(world: FakeDiscord, seeded: Seed) -> None:
    w = world.world
    clock = ManualClock(datetime(2026, 11, 25, 12, tzinfo=UTC))  # Wednesday noon: 25th mailing not 12 h old
    async with running_bot(world, bot_settings(world, seeded.db), clock) as bot:
        text, ephemeral, _ = await slash_reply(
            world, "digest setup", {"channel": w.papers, **SETUP}, user=w.admin
        )
        assert ephemeral
        assert "Digest set up" in text and "top 5 papers" in text and "Thu 2026-11-26 09:00" in text

        await bot.scheduler.tick_now()
        assert world.messages(w.papers) == []  # set up after today's 09:00: nothing until tomorrow

        clock.set(datetime(2026, 11, 26, 7, 59, tzinfo=UTC))  # 08:59 in Paris
        await bot.scheduler.tick_now()
        assert world.messages(w.papers) == []

        clock.set(datetime(2026, 11, 26, 8, 0, tzinfo=UTC))  # 09:00 in Paris
        await bot.scheduler.tick_now()
        (message,) = world.messages(w.papers)
        assert message.content == "**Hot Papers 2026-11-25 · cs.LG, cs.CV**"
        assert [e["title"] for e in message.embeds] == [
            f"{i}. Paper number {i} on learning" for i in range(1, 6)
        ]
        assert message.embeds[0]["url"] == f"https://arxiv.org/abs/{seeded.paper_ids[0]}"
        assert (
            "[Hacker News](https://news.ycombinator.com/item?id=1): 1,000 points"
            in message.embeds[0]["description"]
        )
        assert message.allowed_mentions == {"parse": []}

        # Later ticks the same day, and the next day without a new mailing (Thanksgiving), post nothing.
        for hours in (1, 5, 24, 30):
            clock.set(datetime(2026, 11, 26, 8, tzinfo=UTC) + timedelta(hours=hours))
            await bot.scheduler.tick_now()
        assert len(world.messages(w.papers)) == 1


async def test_only_manage_server_members_can_use_digest_commands(world: FakeDiscord, seeded: Seed) -> None:
    w = world.world
    async with running_bot(world, bot_settings(world, seeded.db)):
        (command,) = [c for c in world.global_commands.values() if c.name == "digest"]
        assert int(command.payload["default_member_permissions"]) == int(P.MANAGE_GUILD)
        # A server that overrides the default (force=True) still meets the run-time check.
        text, ephemeral, _ = await slash_reply(
            world, "digest setup", {"channel": w.papers, **SETUP}, user=w.member, force=True
        )
        assert ephemeral and "Manage Server" in text
        async with Store_(seeded.db) as store:
            assert store.channel_digests(None) == []


async def test_setup_validates_before_anything_and_says_what_works(world: FakeDiscord, seeded: Seed) -> None:
    w = world.world
    async with running_bot(world, bot_settings(world, seeded.db)):
        cases = [
            ({"time": "25:00"}, "HH:MM"),
            ({"timezone": "Mars/Olympus"}, "Europe/Paris"),
            ({"categories": "cs.LG, cs.LGG"}, "cs.LGG"),
        ]
        for change, expected in cases:
            text, ephemeral, _ = await slash_reply(
                world, "digest setup", {"channel": w.papers, **SETUP, **change}, user=w.admin
            )
            assert ephemeral and expected in text, text
        text, ephemeral, _ = await slash_reply(
            world, "digest setup", {"channel": w.read_only, **SETUP}, user=w.admin
        )
        assert ephemeral and "Send Messages" in text and f"<#{w.read_only.id}>" in text
        async with Store_(seeded.db) as store:
            assert store.channel_digests(None) == []


async def test_autocomplete_for_timezone_and_the_last_category(world: FakeDiscord, seeded: Seed) -> None:
    w = world.world
    async with running_bot(world, bot_settings(world, seeded.db)):
        choices = await world.autocomplete(
            "digest setup", "timezone", "paris", {"channel": w.papers}, user=w.admin
        )
        assert {"name": "Europe/Paris", "value": "Europe/Paris"} in choices
        choices = await world.autocomplete(
            "digest setup", "categories", "cs.LG, computer vision", {"channel": w.papers}, user=w.admin
        )
        assert "cs.LG, cs.CV" in [c["value"] for c in choices]


async def test_show_preview_now_pause_resume_remove(world: FakeDiscord, seeded: Seed) -> None:
    w = world.world
    async with running_bot(world, bot_settings(world, seeded.db)):
        await slash_reply(world, "digest setup", {"channel": w.papers, **SETUP}, user=w.admin)
        await slash_reply(
            world,
            "digest setup",
            {"channel": w.news, **SETUP, "time": "18:30", "categories": "cs.CV", "size": 3},
            user=w.admin,
        )
        text, ephemeral, _ = await slash_reply(world, "digest show", user=w.admin)
        assert ephemeral and f"<#{w.papers.id}>" in text and f"<#{w.news.id}>" in text and "18:30" in text

        text, ephemeral, embeds = await slash_reply(
            world, "digest preview", {"channel": w.news}, user=w.admin
        )
        assert ephemeral and "Hot Papers 2026-11-25 · cs.CV" in text and len(embeds) == 3
        assert world.messages(w.news) == []

        text, ephemeral, _ = await slash_reply(world, "digest now", {"channel": w.news}, user=w.admin)
        (posted,) = world.messages(w.news)
        assert ephemeral and "Posted the 2026-11-25 mailing" in text and str(posted.id) in text
        text, ephemeral, _ = await slash_reply(world, "digest now", {"channel": w.news}, user=w.admin)
        assert ephemeral and "already posted" in text and str(posted.id) in text
        assert len(world.messages(w.news)) == 1

        text, _, _ = await slash_reply(world, "digest pause", channel=w.papers, user=w.admin)
        assert "Paused" in text
        text, _, _ = await slash_reply(world, "digest show", {"channel": w.papers}, user=w.admin)
        assert "Paused" in text
        text, _, _ = await slash_reply(world, "digest resume", {"channel": w.papers}, user=w.admin)
        assert "Resumed" in text and "Next post" in text
        text, _, _ = await slash_reply(world, "digest remove", {"channel": w.papers}, user=w.admin)
        assert "Removed" in text
        text, ephemeral, _ = await slash_reply(world, "digest show", {"channel": w.papers}, user=w.admin)
        assert ephemeral and "has no digest" in text and "/digest setup" in text


async def test_a_title_with_everyone_pings_no_one_but_the_chosen_role(
    world: FakeDiscord, tmp_path: Path
) -> None:
    w = world.world
    loud = make_paper("2611.20000", "@everyone Attention Is @here All You Need", categories=("cs.LG",))
    seed = seed_store(tmp_path / "s.db", papers=2, special=[loud], points=[100, 90, 5000])
    role = world.add_role(w.guild, "paper-readers", mentionable=True)
    clock = ManualClock(datetime(2026, 11, 25, 12, tzinfo=UTC))
    async with running_bot(world, bot_settings(world, seed.db), clock):
        await slash_reply(
            world, "digest setup", {"channel": w.papers, **SETUP, "mention_role": role}, user=w.admin
        )
        await slash_reply(world, "digest now", {"channel": w.papers}, user=w.admin)
    (message,) = world.messages(w.papers)
    assert message.content.startswith(f"<@&{role.id}> ")
    assert message.embeds[0]["title"].startswith("1. @\u200beveryone Attention")
    assert message.mention_everyone is False
    assert message.mentioned_role_ids == [role.id]
    assert message.mentioned_user_ids == []
    assert message.allowed_mentions is not None and "everyone" not in message.allowed_mentions.get(
        "parse", []
    )


async def test_an_over_long_abstract_is_posted_trimmed(world: FakeDiscord, tmp_path: Path) -> None:
    w = world.world
    wordy = make_paper(
        "2611.20001", "A Long Paper", abstract="Our method works well on every benchmark. " * 300
    )
    seed = seed_store(tmp_path / "s.db", papers=9, special=[wordy], points=[100] * 9 + [9000])
    async with running_bot(world, bot_settings(world, seed.db)):
        await slash_reply(world, "digest setup", {"channel": w.papers, **SETUP, "size": 10}, user=w.admin)
        await slash_reply(world, "digest now", {"channel": w.papers}, user=w.admin)
    (message,) = world.messages(w.papers)  # ten papers, one message: Discord accepted it
    assert len(message.embeds) == 10
    first = message.embeds[0]
    assert first["title"] == "1. A Long Paper"
    assert first["description"].endswith("on every benchmark.") and len(first["description"]) < 1000


async def test_a_quiet_day_posts_one_short_line(world: FakeDiscord, seeded: Seed) -> None:
    w = world.world
    async with running_bot(world, bot_settings(world, seeded.db)):
        await slash_reply(
            world, "digest setup", {"channel": w.papers, **SETUP, "min_score": 100000}, user=w.admin
        )
        await slash_reply(world, "digest now", {"channel": w.papers}, user=w.admin)
    (message,) = world.messages(w.papers)
    assert message.embeds == []
    assert message.content == (
        "**Hot Papers 2026-11-25 · cs.LG, cs.CV** — a quiet day: no paper reached a score of 100000."
    )


async def test_thread_digest(world: FakeDiscord, seeded: Seed) -> None:
    w = world.world
    async with running_bot(world, bot_settings(world, seeded.db)):
        await slash_reply(world, "digest setup", {"channel": w.papers, **SETUP, "thread": True}, user=w.admin)
        await slash_reply(world, "digest now", {"channel": w.papers}, user=w.admin)
    (header,) = world.messages(w.papers)
    assert header.content == "**Hot Papers 2026-11-25 · cs.LG, cs.CV**" and header.embeds == []
    assert header.thread_id is not None
    (in_thread,) = world.messages(header.thread_id)
    assert len(in_thread.embeds) == 5


async def test_missing_permission_is_recorded_shown_and_stops_after_repeated_failures(
    world: FakeDiscord, seeded: Seed
) -> None:
    w = world.world
    clock = ManualClock(datetime(2026, 11, 25, 12, tzinfo=UTC))
    async with running_bot(world, bot_settings(world, seeded.db), clock) as bot:
        await slash_reply(world, "digest setup", {"channel": w.papers, **SETUP}, user=w.admin)
        world.set_overwrite(w.papers, world.bot_member(w.guild), deny=P.SEND_MESSAGES)
        clock.set(datetime(2026, 11, 26, 8, 0, tzinfo=UTC))
        await bot.scheduler.tick_now()
        text, _, _ = await slash_reply(world, "digest show", {"channel": w.papers}, user=w.admin)
        assert "Delivery problem, 1 of 3 attempts" in text and "Missing Permissions" in text
        assert "Send Messages" in text  # what to do
        for minutes in (5, 15, 40, 80, 200):  # retries back off: 10 min, then 20 min
            clock.set(datetime(2026, 11, 26, 8, 0, tzinfo=UTC) + timedelta(minutes=minutes))
            await bot.scheduler.tick_now()
        text, _, _ = await slash_reply(world, "digest show", {"channel": w.papers}, user=w.admin)
        assert "Stopped after 3 failed attempts" in text
        attempts = world.stats.by_route["POST /channels/{channel_id}/messages"]
        clock.set(datetime(2026, 11, 27, 8, 0, tzinfo=UTC))
        await bot.scheduler.tick_now()
        assert world.stats.by_route["POST /channels/{channel_id}/messages"] == attempts == 3
        # The admin fixes the permission and resumes: the next mailing posts again.
        world.set_overwrite(w.papers, world.bot_member(w.guild), allow=P.SEND_MESSAGES)
        await slash_reply(world, "digest resume", {"channel": w.papers}, user=w.admin)
        # The 25th was given up by the schedule; asked for explicitly, it goes out now, once.
        text, _, _ = await slash_reply(world, "digest now", {"channel": w.papers}, user=w.admin)
        (posted,) = world.messages(w.papers)
        assert "Posted the 2026-11-25 mailing" in text and str(posted.id) in text
        text, _, _ = await slash_reply(world, "digest now", {"channel": w.papers}, user=w.admin)
        assert "already posted" in text and str(posted.id) in text
        text, _, _ = await slash_reply(world, "digest show", {"channel": w.papers}, user=w.admin)
        assert "2026-11-25: posted" in text and "Delivery problem" not in text and "Stopped" not in text
    assert len(world.messages(w.papers)) == 1


async def test_unknown_channel_disables_the_digest(world: FakeDiscord, seeded: Seed) -> None:
    w = world.world
    clock = ManualClock(datetime(2026, 11, 25, 12, tzinfo=UTC))
    async with running_bot(world, bot_settings(world, seeded.db), clock) as bot:
        await slash_reply(world, "digest setup", {"channel": w.news, **SETUP}, user=w.admin)
        del world.channels[w.news.id]
        del w.guild.channels[w.news.id]
        clock.set(datetime(2026, 11, 26, 8, 0, tzinfo=UTC))
        await bot.scheduler.tick_now()
        clock.set(datetime(2026, 11, 27, 8, 0, tzinfo=UTC))
        await bot.scheduler.tick_now()
    assert world.stats.by_route["POST /channels/{channel_id}/messages"] == 1
    async with Store_(seeded.db) as store:
        (cfg,) = store.channel_digests(None)
        assert cfg.disabled_reason is not None and "no longer exists" in cfg.disabled_reason


async def test_a_server_error_is_retried_and_posts_once(world: FakeDiscord, seeded: Seed) -> None:
    w = world.world
    async with running_bot(world, bot_settings(world, seeded.db)):
        await slash_reply(world, "digest setup", {"channel": w.papers, **SETUP}, user=w.admin)
        world.inject_failure("POST /channels/{channel_id}/messages", 503, count=1)
        await slash_reply(world, "digest now", {"channel": w.papers}, user=w.admin, within=15)
    assert len(world.messages(w.papers)) == 1


async def test_dst_fall_back_posts_once_even_across_a_restart(world: FakeDiscord, tmp_path: Path) -> None:
    from datetime import date

    w = world.world
    seed = seed_store(tmp_path / "s.db", mailing=date(2026, 10, 30), previous=None)  # a Friday
    settings = bot_settings(world, seed.db)
    clock = ManualClock(datetime(2026, 10, 31, 18, tzinfo=UTC))  # Saturday afternoon
    options = {"channel": w.papers, **SETUP, "time": "01:30", "timezone": "America/New_York"}
    async with running_bot(world, settings, clock) as bot:
        await slash_reply(world, "digest setup", options, user=w.admin)
        clock.set(datetime(2026, 11, 1, 5, 30, tzinfo=UTC))  # Sunday 01:30 EDT
        await bot.scheduler.tick_now()
    assert len(world.messages(w.papers)) == 1
    clock.set(datetime(2026, 11, 1, 6, 30, tzinfo=UTC))  # Sunday 01:30 again, now EST
    async with running_bot(world, settings, clock) as bot:
        await bot.scheduler.tick_now()
        clock.set(datetime(2026, 11, 1, 7, 0, tzinfo=UTC))
        await bot.scheduler.tick_now()
    assert len(world.messages(w.papers)) == 1


async def test_commands_sync_only_when_they_change_and_leaving_a_server_forgets_it(
    world: FakeDiscord, seeded: Seed
) -> None:
    w = world.world
    settings = bot_settings(world, seeded.db)
    route = "PUT /applications/{app_id}/commands"
    async with running_bot(world, settings):
        assert world.stats.by_route[route] == 1
        await slash_reply(world, "digest setup", {"channel": w.papers, **SETUP}, user=w.admin)
    async with running_bot(world, settings):
        assert world.stats.by_route[route] == 1  # unchanged payload: no sync on restart
        world.remove_guild(w.guild)
        # the bot deletes them on GUILD_DELETE; await that effect
        await eventually(lambda: _digests(seeded.db) == 0, 5, "the left server's digests to be deleted")


def _digests(db: Path) -> int:
    store = Store(db)
    try:
        return len(store.channel_digests(None))
    finally:
        store.close()


class Store_:
    """A short-lived synchronous store on the bot's database, for assertions."""

    def __init__(self, db: Path) -> None:
        self.db = db

    async def __aenter__(self) -> Store:
        self.store = Store(self.db)
        return self.store

    async def __aexit__(self, *exc: object) -> None:
        self.store.close()


async def test_a_cog_that_fails_to_load_stops_start_up(
    world: FakeDiscord, seeded: Seed, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from discord.ext import commands

    from bot.client import EXTENSIONS

    (tmp_path / "broken_cog_for_tests.py").write_text(
        "async def setup(bot):\n    raise RuntimeError('the cog is broken')\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(commands.ExtensionFailed, match="the cog is broken"):
        async with running_bot(
            world, bot_settings(world, seeded.db), extensions=(*EXTENSIONS, "broken_cog_for_tests")
        ):
            pass


async def test_the_bot_asks_for_no_privileged_intent(world: FakeDiscord, seeded: Seed) -> None:
    privileged = (1 << 1) | (1 << 8) | (1 << 15)  # members, presences, message content
    async with running_bot(world, bot_settings(world, seeded.db)) as bot:
        assert bot.intents.value & privileged == 0
        assert bot.allowed_mentions is not None and bot.allowed_mentions.to_dict() == {"parse": []}


async def test_back_too_late_skips_the_mailing_and_show_says_why(world: FakeDiscord, seeded: Seed) -> None:
    w = world.world
    clock = ManualClock(datetime(2026, 11, 25, 12, tzinfo=UTC))
    async with running_bot(world, bot_settings(world, seeded.db), clock) as bot:
        await slash_reply(world, "digest setup", {"channel": w.papers, **SETUP}, user=w.admin)
        clock.set(datetime(2026, 11, 26, 14, 30, tzinfo=UTC))  # 6.5 h after 09:00 Paris: beyond the 6 h grace
        await bot.scheduler.tick_now()
        assert world.messages(w.papers) == []
        text, _, _ = await slash_reply(world, "digest show", {"channel": w.papers}, user=w.admin)
        assert "2026-11-25: skipped — the bot was offline at 2026-11-26 08:00 UTC" in text
        assert "beyond the 6 h grace period" in text
        # An admin who still wants it asks for it: `/digest now` posts the skipped mailing, once.
        text, _, _ = await slash_reply(world, "digest now", {"channel": w.papers}, user=w.admin)
        assert "Posted the 2026-11-25 mailing" in text
        await bot.scheduler.tick_now()
        text, _, _ = await slash_reply(world, "digest show", {"channel": w.papers}, user=w.admin)
        assert "2026-11-25: posted" in text
    assert len(world.messages(w.papers)) == 1


async def test_commands_sync_again_when_they_change(world: FakeDiscord, seeded: Seed) -> None:
    from bot.client import EXTENSIONS

    settings = bot_settings(world, seeded.db)
    route = "PUT /applications/{app_id}/commands"
    without_help = tuple(name for name in EXTENSIONS if name != "cogs.help")
    async with running_bot(world, settings, extensions=without_help):
        assert world.stats.by_route[route] == 1
        assert "help" not in {c.name for c in world.global_commands.values()}
    async with running_bot(world, settings) as bot:  # a new command (a deploy): the payload changed
        assert world.stats.by_route[route] == 2 and bot.command_tree_synced
        assert "help" in {c.name for c in world.global_commands.values()}
    async with running_bot(world, settings) as bot:
        assert world.stats.by_route[route] == 2 and not bot.command_tree_synced


async def test_setup_offers_only_postable_channels_and_sizes_and_a_second_setup_replaces_the_first(
    world: FakeDiscord, seeded: Seed
) -> None:
    w = world.world
    async with running_bot(world, bot_settings(world, seeded.db)):
        (command,) = [c for c in world.global_commands.values() if c.name == "digest"]
        (setup,) = [o for o in command.payload["options"] if o["name"] == "setup"]
        options = {o["name"]: o for o in setup["options"]}
        assert sorted(options["channel"]["channel_types"]) == [0, 5]  # text and announcement channels
        assert (options["size"]["min_value"], options["size"]["max_value"]) == (1, 25)
        assert [name for name, o in options.items() if o.get("required")] == [
            "channel", "time", "timezone", "categories", "size"]
        assert options["timezone"]["autocomplete"] and options["categories"]["autocomplete"]
        assert {"thread", "min_score", "mention_role"} <= set(options)

        text, _, _ = await slash_reply(world, "digest setup", {"channel": w.news, **SETUP}, user=w.admin)
        assert text.startswith("Digest set up.")
        text, _, _ = await slash_reply(
            world, "digest setup", {"channel": w.news, **SETUP, "time": "7:15", "size": 2}, user=w.admin
        )
        assert text.startswith("Digest updated.") and "top 2 papers" in text and "07:15" in text
        async with Store_(seeded.db) as store:
            (cfg,) = store.channel_digests(w.guild.id)
        assert (cfg.channel_id, cfg.time, cfg.size) == (w.news.id, "07:15", 2)


async def test_a_server_that_removed_the_bot_while_it_was_offline_is_forgotten_at_start(
    world: FakeDiscord, seeded: Seed
) -> None:
    w = world.world
    other = world.add_guild("Other lab")
    other_channel = world.add_channel(other, "papers")
    settings = bot_settings(world, seeded.db)
    async with running_bot(world, settings):
        await slash_reply(world, "digest setup", {"channel": w.papers, **SETUP}, user=w.admin)
        async with Store_(seeded.db) as store:
            store.save_channel_digest(ChannelDigest(
                other.id, other_channel.id, "09:00", "UTC", ("cs.LG",), 5, datetime(2026, 11, 20, tzinfo=UTC)))
    world.remove_guild(other)  # kicked while the bot was down: no GUILD_DELETE reaches it
    async with running_bot(world, settings):
        # on_ready forgets it; await that effect
        await eventually(lambda: _digests(seeded.db) == 1, 5, "the other server's digest to be forgotten")
        async with Store_(seeded.db) as store:
            assert [d.channel_id for d in store.channel_digests(None)] == [w.papers.id]


async def test_a_refused_payload_is_reported_not_retried_forever(world: FakeDiscord, seeded: Seed) -> None:
    w = world.world
    async with running_bot(world, bot_settings(world, seeded.db)) as bot:
        await slash_reply(world, "digest setup", {"channel": w.papers, **SETUP}, user=w.admin)
        world.inject_failure("POST /channels/{channel_id}/messages", 400, count=1)
        text, ephemeral, _ = await slash_reply(world, "digest now", {"channel": w.papers}, user=w.admin)
        assert ephemeral and "Discord refused this digest's content" in text and "retry" not in text
        await bot.scheduler.tick_now()  # a refused payload is not resent by the next tick
        text, _, _ = await slash_reply(world, "digest show", {"channel": w.papers}, user=w.admin)
        assert "2026-11-25: failed" in text
    assert world.messages(w.papers) == []
    assert world.stats.by_route["POST /channels/{channel_id}/messages"] == 1


async def test_show_lists_many_digests_whole_and_says_how_many_more(world: FakeDiscord, seeded: Seed) -> None:
    w = world.world
    async with Store_(seeded.db) as store:
        for i in range(12):
            store.save_channel_digest(ChannelDigest(
                w.guild.id, 900_000 + i, "09:00", "Europe/Paris", ("cs.LG", "cs.CV", "cs.CL", "stat.ML"), 10,
                datetime(2026, 11, 25, 12, tzinfo=UTC)))  # set up at the bot's "now": nothing due yet
    async with running_bot(world, bot_settings(world, seeded.db)):
        text, ephemeral, _ = await slash_reply(world, "digest show", user=w.admin)
    assert ephemeral and len(text) <= 2000
    blocks = text.split("\n\n")
    assert blocks[-1].startswith("… and ") and "more" in blocks[-1]
    shown = blocks[:-1]
    assert all(b.startswith("<#9000") and "Next post:" in b for b in shown)  # every one shown is whole
    assert int(blocks[-1].split()[2]) == 12 - len(shown)
