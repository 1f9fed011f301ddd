"""Lookups against hostile or odd input: a feed paper opened from /paper's menu, invisible controls in paper
text, a forged channel option."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.clock import ManualClock
from bot.models import Announcement, Paper
from bot.store import Store
from tests.fakes.discord.server import FakeDiscord
from tests.harness import LOOKUP_MAILING, LOOKUP_NOW, bot_settings, make_paper, reply, running_bot, text_of

RLO = "\u202e"


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "hot.db"
    store = Store(path)
    # As a feed gives them: no dates (the API was never asked), announced in a mailing.
    feed_paper = Paper("2411.00071", 1, "Diffusion sampling from the feed", ("Feed Author",),
                       "A paper known only from the announcement feed.", "cs.LG", ("cs.LG",))
    spoof = make_paper("2411.00072", f"Diffusion gpj.{RLO}exe benign title", authors=(f"Mallory{RLO}rekcah",),
                       abstract=f"An abstract with \u2066isolates\u2069 and a zero\u200bwidth space{RLO}.",
                       mailing=LOOKUP_MAILING)
    store.record_announcements([Announcement(feed_paper, LOOKUP_MAILING, "new", "cs.LG"),
                                Announcement(spoof, LOOKUP_MAILING, "new", "cs.LG")])
    store.close()
    return path


async def test_a_feed_paper_opens_from_the_results_menu(fake_discord: FakeDiscord, db: Path) -> None:
    asker = fake_discord.world.member
    async with running_bot(fake_discord, bot_settings(fake_discord, db), ManualClock(LOOKUP_NOW)):
        results = await reply(fake_discord, await fake_discord.slash("paper", {"query": "feed"}, user=asker))
        select = next(c for row in results.components for c in row["components"] if c["type"] == 3)
        assert [o["value"] for o in select["options"]] == ["2411.00071"]
        for user in (fake_discord.world.admin, asker):  # privately for anyone else, in place for the asker
            opened = await fake_discord.click(results, select["custom_id"], user=user, values=["2411.00071"])
            response = await fake_discord.wait_for_response(opened)
            shown = results.embeds[0] if user is asker else response.data["embeds"][0]
            assert "no longer stored" not in str(response.data)
            assert shown["url"] == "https://arxiv.org/abs/2411.00071"
            assert shown["title"] == "Diffusion sampling from the feed"


async def test_invisible_controls_never_reach_discord(fake_discord: FakeDiscord, db: Path) -> None:
    async with running_bot(fake_discord, bot_settings(fake_discord, db), ManualClock(LOOKUP_NOW)):
        shown = await reply(fake_discord, await fake_discord.slash("paper", {"query": "2411.00072"}))
        results = await reply(fake_discord, await fake_discord.slash("paper", {"query": "benign title"}))
        choices = await fake_discord.autocomplete("paper", "query", "benign")
    everything = text_of(shown) + text_of(results) + str(results.components) + str(choices)
    for invisible in (RLO, "\u2066", "\u2069", "\u200b"):
        assert invisible not in everything.replace("@\u200b", "@")  # (mentions are escaped with one)
    assert "gpj.exe benign title" in text_of(shown) and "Malloryrekcah" in text_of(shown)
    assert "zerowidth space" in text_of(shown)


async def test_a_forged_channel_option_gets_a_plain_answer_never_a_python_repr(fake_discord: FakeDiscord,
                                                                                db: Path) -> None:
    fake = fake_discord
    w = fake.world
    async with running_bot(fake, bot_settings(fake, db), ManualClock(LOOKUP_NOW)):
        guild = fake._guild_for(None, w.papers, w.admin)
        channel, user, member = fake._context(guild, w.papers, w.admin)
        data = fake._command_data("digest show", {"channel": w.papers}, guild, channel, member, None, False)
        option = data["options"][0]["options"][0]
        option["value"] = "123456789012345678"  # a channel the request does not resolve
        data["resolved"] = {}
        interaction = fake._send_interaction(fake._interaction_payload(2, data, channel, user, member, "en-US"))
        response = await fake.wait_for_response(interaction)
    text = response.data["content"]
    assert response.ephemeral and "Pick one from the list" in text
    assert "<" not in text and "'" not in text and "Object" not in text, text


@pytest.mark.parametrize("zone", ["localtime", "Factory", "posixrules"])
async def test_zone_names_that_are_not_places_are_refused(fake_discord: FakeDiscord, db: Path, zone: str) -> None:
    w = fake_discord.world
    async with running_bot(fake_discord, bot_settings(fake_discord, db), ManualClock(LOOKUP_NOW)):
        mine = await reply(fake_discord, await fake_discord.slash("subscriptions settings", {"timezone": zone},
                                                                  user=w.member))
        setup = await reply(fake_discord, await fake_discord.slash(
            "digest setup", {"channel": w.papers, "time": "09:00", "timezone": zone, "categories": "cs.LG",
                             "size": 5}, user=w.admin))
        offered = await fake_discord.autocomplete("subscriptions settings", "timezone", zone[:5], user=w.member)
    for message in (mine, setup):
        assert message.ephemeral and "is not a timezone" in message.content, message.content
    assert zone not in [choice["value"] for choice in offered]
