"""``/subscribe``, ``/unsubscribe``, ``/subscriptions …``, ``/help`` end to end; all replies ephemeral."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from bot.clock import ManualClock
from bot.store import Store
from tests.fakes.discord.models import Member
from tests.fakes.discord.server import FakeDiscord
from tests.harness import (
    LOOKUP_MAILING,
    LOOKUP_NOW,
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
    make_paper("2411.00002", "A survey of diffusion", categories=("cs.LG",), mailing=LOOKUP_MAILING),
    make_paper("2411.00003", "Bandits", categories=("cs.LG",), authors=("Yann Le Cun",), mailing=LOOKUP_MAILING),
    make_paper("2411.00004", "Galaxies", categories=("astro-ph.GA",), mailing=LOOKUP_MAILING),
]


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "hot.db"
    seed_store(path, PAPERS, hf={"2411.00003": 20, "2411.00001": 5}, mailing=LOOKUP_MAILING,
               points=None, previous=None, observed=LOOKUP_OBSERVED)
    return path


async def say(fake_discord: FakeDiscord, command: str, options: dict[str, Any] | None = None,
              user: Member | None = None) -> str:
    """Run a command; assert the answer is ephemeral and immediate; return its text."""
    interaction = await fake_discord.slash(command, options, user=user or fake_discord.world.member)
    response = await fake_discord.wait_for_response(interaction)
    assert response.type == 4 and response.ephemeral, response
    return str(response.data["content"])


async def run_test_command(fake_discord: FakeDiscord, user: Member | None = None) -> str:
    """``/subscriptions test``: deferred privately at once (sending a DM may wait at the pacer), then a private
    follow-up saying what happened; returns its text."""
    interaction = await fake_discord.slash("subscriptions test", user=user or fake_discord.world.member)
    deferred = await fake_discord.wait_for_response(interaction)
    assert deferred.type == 5 and deferred.ephemeral, deferred
    message = await reply(fake_discord, interaction)
    assert message.ephemeral
    return message.content


async def test_follow_list_unfollow(fake_discord: FakeDiscord, db: Path) -> None:
    async with running_bot(fake_discord, bot_settings(fake_discord, db), ManualClock(LOOKUP_NOW)):
        assert "Following `category:cs.LG`" in await say(fake_discord, "subscribe category", {"value": "CS.lg"})
        assert "every day at 09:00 UTC" in await say(fake_discord, "subscribe keyword", {"value": "diffusion"})
        assert "left out" in await say(fake_discord, "subscribe keyword", {"value": "-survey"})
        assert "Following `author:Y. LeCun`" in await say(fake_discord, "subscribe author", {"value": "Y. LeCun"})
        assert "already follow" in await say(fake_discord, "subscribe author", {"value": "Yann LeCun"})
        assert "not an arXiv category" in await say(fake_discord, "subscribe category", {"value": "cs.XX"})
        assert "initial" in await say(fake_discord, "subscribe author", {"value": "LeCun"})
        assert "80" in await say(fake_discord, "subscribe keyword", {"value": "word " * 40})

        listing = await say(fake_discord, "subscriptions list")
        for label in ("category:cs.LG", "keyword:diffusion", "keyword:-survey", "author:Y. LeCun"):
            assert label in listing
        assert "4 of 50" in listing

        # Follows are per user: someone else follows nothing.
        assert "follow nothing" in await say(fake_discord, "subscriptions list", user=fake_discord.world.admin)

        choices = await fake_discord.autocomplete("unsubscribe", "value", "key", user=fake_discord.world.member)
        assert [c["value"] for c in choices] == ["keyword:diffusion", "keyword:-survey"]
        assert await fake_discord.autocomplete("unsubscribe", "value", "", user=fake_discord.world.admin) == []
        assert "Stopped following `keyword:diffusion`" in await say(fake_discord, "unsubscribe",
                                                                     {"value": "keyword:diffusion"})
        assert "do not follow" in await say(fake_discord, "unsubscribe", {"value": "keyword:diffusion"})
        assert "keyword:diffusion" not in await say(fake_discord, "subscriptions list")


async def test_max_follows_comes_from_settings(fake_discord: FakeDiscord, db: Path) -> None:
    settings = bot_settings(fake_discord, db, HOTPAPERS_SUBSCRIPTIONS_MAX_FOLLOWS="2")
    async with running_bot(fake_discord, settings, ManualClock(LOOKUP_NOW)):
        await say(fake_discord, "subscribe keyword", {"value": "one"})
        await say(fake_discord, "subscribe keyword", {"value": "two"})
        assert "most allowed" in await say(fake_discord, "subscribe keyword", {"value": "three"})
        assert "2 of 2" in await say(fake_discord, "subscriptions list")


async def test_category_autocomplete_on_subscribe(fake_discord: FakeDiscord, db: Path) -> None:
    async with running_bot(fake_discord, bot_settings(fake_discord, db), ManualClock(LOOKUP_NOW)):
        choices = await fake_discord.autocomplete("subscribe category", "value", "machine learning")
        assert {"cs.LG", "stat.ML"} <= {c["value"] for c in choices}


async def test_settings_pause_resume(fake_discord: FakeDiscord, db: Path) -> None:
    async with running_bot(fake_discord, bot_settings(fake_discord, db), ManualClock(LOOKUP_NOW)):
        assert "every day at 09:00 UTC" in await say(fake_discord, "subscriptions settings")
        text = await say(fake_discord, "subscriptions settings",
                         {"time": "18:30", "timezone": "europe/paris", "frequency": "weekly"})
        assert "every Monday at 18:30 Europe/Paris" in text
        assert "not a timezone" in await say(fake_discord, "subscriptions settings", {"timezone": "Mars/Olympus"})
        assert "not a time" in await say(fake_discord, "subscriptions settings", {"time": "25:99"})
        zones = await fake_discord.autocomplete("subscriptions settings", "timezone", "paris")
        assert zones[0]["value"] == "Europe/Paris"
        await say(fake_discord, "subscribe category", {"value": "cs.LG"})
        assert "Paused" in await say(fake_discord, "subscriptions pause")
        assert "Paused (you paused it)" in await say(fake_discord, "subscriptions list")
        assert "Resumed" in await say(fake_discord, "subscriptions resume")
        assert "every Monday at 18:30 Europe/Paris" in await say(fake_discord, "subscriptions list")


async def test_test_sends_the_dm_now_and_forget_deletes_everything(fake_discord: FakeDiscord, db: Path) -> None:
    user = fake_discord.world.member
    async with running_bot(fake_discord, bot_settings(fake_discord, db), ManualClock(LOOKUP_NOW)):
        assert "follow nothing" in await run_test_command(fake_discord)
        await say(fake_discord, "subscribe keyword", {"value": "diffusion"})
        await say(fake_discord, "subscribe keyword", {"value": "-survey"})
        await say(fake_discord, "subscribe author", {"value": "Y. LeCun"})
        assert "Sent you a test DM" in await run_test_command(fake_discord)
        dm = await fake_discord.wait_for_message(fake_discord.dm_channels[user.user.id])
        text = text_of(dm)
        assert text.index("Bandits") < text.index("Diffusion for proteins")  # hottest first
        assert "matched author Y. LeCun" in text and "keyword “diffusion”" in text
        assert "survey" not in text.lower().replace("/subscriptions", "")

        assert "deleted" in await say(fake_discord, "subscriptions forget")
        assert "follow nothing" in await say(fake_discord, "subscriptions list")
        assert "nothing stored" in await say(fake_discord, "subscriptions forget")


async def test_test_with_no_match_sends_nothing(fake_discord: FakeDiscord, db: Path) -> None:
    async with running_bot(fake_discord, bot_settings(fake_discord, db), ManualClock(LOOKUP_NOW)):
        await say(fake_discord, "subscribe category", {"value": "math.AG"})
        assert "no DM" in await run_test_command(fake_discord)
        assert fake_discord.world.member.user.id not in fake_discord.dm_channels or not fake_discord.messages(
            fake_discord.dm_channels[fake_discord.world.member.user.id])


async def test_help_lists_every_command_in_one_ephemeral_message(fake_discord: FakeDiscord, db: Path) -> None:
    async with running_bot(fake_discord, bot_settings(fake_discord, db), ManualClock(LOOKUP_NOW)):
        text = await say(fake_discord, "help")
        assert len(text) <= 2000
        registered = {command.name: command.payload for command in fake_discord.global_commands.values()}
        assert set(registered) == {"paper", "top", "digest", "subscribe", "unsubscribe", "subscriptions", "help",
                                   "saved", "feeds"}
        for name, payload in registered.items():
            assert f"/{name}" in text
            for option in payload.get("options") or []:
                if option["type"] == 1:  # a subcommand: named after its group, and each of its options too
                    assert f"{option['name']}" in text, (name, option["name"])
                    for sub_option in option.get("options") or []:
                        assert sub_option["name"] in text, (name, option["name"], sub_option["name"])
                else:
                    assert option["name"] in text, (name, option["name"])
        assert "/digest setup" in text and "/subscribe category" in text


async def test_follows_are_shown_verbatim(fake_discord: FakeDiscord, db: Path) -> None:
    async with running_bot(fake_discord, bot_settings(fake_discord, db), ManualClock(LOOKUP_NOW)):
        assert "Following `keyword:graph_nets`" in await say(fake_discord, "subscribe keyword",
                                                             {"value": "graph_nets"})
        assert "`keyword:graph_nets`" in await say(fake_discord, "subscriptions list")


async def test_test_answers_at_once_even_while_a_dm_round_holds_the_pacer(fake_discord: FakeDiscord,
                                                                          db: Path) -> None:
    """The test DM waits its turn at the pacer shared with a DM round (10,000 DMs take 200 s): the user must
    still get an answer within Discord's 3 s, then the DM and a note once it went out."""
    user = fake_discord.world.member
    async with running_bot(fake_discord, bot_settings(fake_discord, db), ManualClock(LOOKUP_NOW)) as bot:
        await say(fake_discord, "subscribe keyword", {"value": "diffusion"})
        pacer = bot.pace
        round_done = asyncio.Event()
        real_acquire = pacer.acquire

        async def busy_acquire() -> None:  # a DM round in progress: every request waits for it
            await round_done.wait()
            await real_acquire()

        pacer.acquire = busy_acquire  # type: ignore[method-assign]
        interaction = await fake_discord.slash("subscriptions test", user=user)
        deferred = await fake_discord.wait_for_response(interaction)
        assert deferred.type == 5 and deferred.ephemeral  # answered while the DM still waits
        assert not interaction.followups
        round_done.set()
        note = await reply(fake_discord, interaction)
        assert note.ephemeral and "Sent you a test DM" in note.content
        assert "Diffusion for proteins" in text_of(
            await fake_discord.wait_for_message(fake_discord.dm_channels[user.user.id]))


async def test_test_with_dms_closed_says_how_to_open_them(fake_discord: FakeDiscord, db: Path) -> None:
    closed = fake_discord.world.closed_dms
    async with running_bot(fake_discord, bot_settings(fake_discord, db), ManualClock(LOOKUP_NOW)):
        await say(fake_discord, "subscribe category", {"value": "cs.LG"}, user=closed)
        text = await run_test_command(fake_discord, closed)
        assert "DMs are closed" in text and "Allow DMs" in text
        assert not fake_discord.messages(fake_discord.dm_channels[closed.user.id])


async def test_a_long_follow_list_is_paged_whole_lines_with_the_schedule_on_every_page(
        fake_discord: FakeDiscord, db: Path) -> None:
    from bot import subscriptions as subs
    from bot.store import Store

    member = fake_discord.world.member
    store = Store(db)
    follows = [subs.parse_follow("keyword", f"extraordinarilylongwordnumber{i:03d}withbackticks`here` phrase")
               for i in range(60)]
    for follow in follows:
        assert store.add_follow(member.user.id, follow, max_follows=80, default=subs.Schedule("07:15", "Asia/Tokyo"),
                                now=LOOKUP_NOW) == "added"
    store.close()
    settings = bot_settings(fake_discord, db, HOTPAPERS_SUBSCRIPTIONS_MAX_FOLLOWS="80")
    async with running_bot(fake_discord, settings, ManualClock(LOOKUP_NOW)):
        for command, options, header in (("subscriptions list", None, "**You follow** (60 of 80)"),
                                         ("unsubscribe", {"value": "keyword:nothing"},
                                          "You do not follow `keyword:nothing`. You follow:")):
            interaction = await fake_discord.slash(command, options, user=member)
            message = await reply(fake_discord, interaction)
            pages = [message.content]
            while True:
                assert message.ephemeral and len(message.content) <= 2000
                assert message.content.endswith("Your DM digest comes every day at 07:15 Asia/Tokyo.")
                buttons = {c["label"]: c for row in message.components for c in row["components"]}
                if buttons["Next"].get("disabled"):
                    break
                click = await fake_discord.click(message, buttons["Next"]["custom_id"], user=member)
                await fake_discord.wait_for_response(click)
                message = fake_discord.messages_by_id[message.id]
                pages.append(message.content)
            assert pages[0].startswith(header) and f"(page 1 of {len(pages)})" in pages[0] and len(pages) > 1
            shown = [line for page in pages for line in page.splitlines() if line.startswith("• ")]
            assert sorted(shown) == sorted(f"• `{f.label.replace('`', 'ˋ')}`" for f in follows)  # each once
            assert all(line.count("`") == 2 for line in shown)  # never cut inside the markup


async def test_a_write_blocked_by_another_process_answers_busy_within_discords_3_s(
        fake_discord: FakeDiscord, db: Path) -> None:
    member = fake_discord.world.member
    async with running_bot(fake_discord, bot_settings(fake_discord, db), ManualClock(LOOKUP_NOW)):
        other = Store(db)  # another process, e.g. a backfill, in the middle of a write
        if other.db.engine == "postgresql":
            other.db.execute("BEGIN")
            other.db.execute("LOCK TABLE sub_users, sub_follows IN EXCLUSIVE MODE")  # reads go on, writes wait
        else:
            other.db.execute("BEGIN IMMEDIATE")
        try:
            interaction = await fake_discord.slash("subscribe category", {"value": "cs.LG"}, user=member)
            # The fake refuses an answer after Discord's 3 s (interaction_deadline): an answer at all is in time.
            response = await fake_discord.wait_for_response(interaction, 10)
            assert response.type == 4 and response.ephemeral
            assert "busy" in response.data["content"] and "try again" in response.data["content"]
        finally:
            other.db.execute("ROLLBACK")
            other.close()
        assert "Following `category:cs.LG`" in await say(fake_discord, "subscribe category", {"value": "cs.LG"})
