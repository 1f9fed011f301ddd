"""``/subscribe``, ``/unsubscribe``, ``/subscriptions …``, ``/help`` end to end; all replies ephemeral."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from bot.config import SubscriptionSettings
from tests.fakes.discord.models import Member
from tests.fakes.discord.server import FakeDiscord
from tests.lookup_world import make_paper, running_bot, seed, settings_for, text_of

PAPERS = [
    make_paper("2411.00001", "Diffusion for proteins", categories=("q-bio.BM",)),
    make_paper("2411.00002", "A survey of diffusion", categories=("cs.LG",)),
    make_paper("2411.00003", "Bandits", categories=("cs.LG",), authors=("Yann Le Cun",)),
    make_paper("2411.00004", "Galaxies", categories=("astro-ph.GA",)),
]


@pytest.fixture
async def fake() -> FakeDiscord:  # type: ignore[misc]
    async with FakeDiscord() as fake:
        fake.build_standard_world()
        yield fake


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "hot.db"
    seed(path, PAPERS, hf={"2411.00003": 20, "2411.00001": 5})
    return path


async def say(fake: FakeDiscord, command: str, options: dict[str, Any] | None = None,
              user: Member | None = None) -> str:
    """Run a command; assert the answer is ephemeral and immediate; return its text."""
    interaction = await fake.slash(command, options, user=user or fake.world.member)
    response = await fake.wait_for_response(interaction)
    assert response.type == 4 and response.ephemeral, response
    return str(response.data["content"])


async def test_follow_list_unfollow(fake: FakeDiscord, db: Path) -> None:
    async with running_bot(fake, settings_for(fake, db)):
        assert "Following `category:cs.LG`" in await say(fake, "subscribe category", {"value": "CS.lg"})
        assert "every day at 09:00 UTC" in await say(fake, "subscribe keyword", {"value": "diffusion"})
        assert "left out" in await say(fake, "subscribe keyword", {"value": "-survey"})
        assert "Following `author:Y. LeCun`" in await say(fake, "subscribe author", {"value": "Y. LeCun"})
        assert "already follow" in await say(fake, "subscribe author", {"value": "Yann LeCun"})
        assert "not an arXiv category" in await say(fake, "subscribe category", {"value": "cs.XX"})
        assert "initial" in await say(fake, "subscribe author", {"value": "LeCun"})
        assert "80" in await say(fake, "subscribe keyword", {"value": "word " * 40})

        listing = await say(fake, "subscriptions list")
        for label in ("category:cs.LG", "keyword:diffusion", "keyword:-survey", "author:Y. LeCun"):
            assert label in listing
        assert "4 of 50" in listing

        # Follows are per user: someone else follows nothing.
        assert "follow nothing" in await say(fake, "subscriptions list", user=fake.world.admin)

        choices = await fake.autocomplete("unsubscribe", "value", "key", user=fake.world.member)
        assert [c["value"] for c in choices] == ["keyword:diffusion", "keyword:-survey"]
        assert await fake.autocomplete("unsubscribe", "value", "", user=fake.world.admin) == []
        assert "Stopped following `keyword:diffusion`" in await say(fake, "unsubscribe",
                                                                     {"value": "keyword:diffusion"})
        assert "do not follow" in await say(fake, "unsubscribe", {"value": "keyword:diffusion"})
        assert "keyword:diffusion" not in await say(fake, "subscriptions list")


async def test_max_follows_comes_from_settings(fake: FakeDiscord, db: Path) -> None:
    settings = replace(settings_for(fake, db), subscriptions=SubscriptionSettings(max_follows=2))
    async with running_bot(fake, settings):
        await say(fake, "subscribe keyword", {"value": "one"})
        await say(fake, "subscribe keyword", {"value": "two"})
        assert "most allowed" in await say(fake, "subscribe keyword", {"value": "three"})
        assert "2 of 2" in await say(fake, "subscriptions list")


async def test_category_autocomplete_on_subscribe(fake: FakeDiscord, db: Path) -> None:
    async with running_bot(fake, settings_for(fake, db)):
        choices = await fake.autocomplete("subscribe category", "value", "machine learning")
        assert {"cs.LG", "stat.ML"} <= {c["value"] for c in choices}


async def test_settings_pause_resume(fake: FakeDiscord, db: Path) -> None:
    async with running_bot(fake, settings_for(fake, db)):
        assert "every day at 09:00 UTC" in await say(fake, "subscriptions settings")
        text = await say(fake, "subscriptions settings",
                         {"time": "18:30", "timezone": "europe/paris", "frequency": "weekly"})
        assert "every Monday at 18:30 Europe/Paris" in text
        assert "not a timezone" in await say(fake, "subscriptions settings", {"timezone": "Mars/Olympus"})
        assert "not a time" in await say(fake, "subscriptions settings", {"time": "25:99"})
        zones = await fake.autocomplete("subscriptions settings", "timezone", "paris")
        assert zones[0]["value"] == "Europe/Paris"
        await say(fake, "subscribe category", {"value": "cs.LG"})
        assert "Paused" in await say(fake, "subscriptions pause")
        assert "Paused (you paused it)" in await say(fake, "subscriptions list")
        assert "Resumed" in await say(fake, "subscriptions resume")
        assert "every Monday at 18:30 Europe/Paris" in await say(fake, "subscriptions list")


async def test_test_sends_the_dm_now_and_forget_deletes_everything(fake: FakeDiscord, db: Path) -> None:
    user = fake.world.member
    async with running_bot(fake, settings_for(fake, db)):
        assert "follow nothing" in await say(fake, "subscriptions test")
        await say(fake, "subscribe keyword", {"value": "diffusion"})
        await say(fake, "subscribe keyword", {"value": "-survey"})
        await say(fake, "subscribe author", {"value": "Y. LeCun"})
        assert "Sent you a DM" in await say(fake, "subscriptions test")
        dm = await fake.wait_for_message(fake.dm_channels[user.user.id])
        text = text_of(dm)
        assert text.index("Bandits") < text.index("Diffusion for proteins")  # hottest first
        assert "matched author Y. LeCun" in text and "keyword “diffusion”" in text
        assert "survey" not in text.lower().replace("/subscriptions", "")

        assert "deleted" in await say(fake, "subscriptions forget")
        assert "follow nothing" in await say(fake, "subscriptions list")
        assert "nothing stored" in await say(fake, "subscriptions forget")


async def test_test_with_no_match_sends_nothing(fake: FakeDiscord, db: Path) -> None:
    async with running_bot(fake, settings_for(fake, db)):
        await say(fake, "subscribe category", {"value": "math.AG"})
        assert "no DM" in await say(fake, "subscriptions test")
        assert fake.world.member.user.id not in fake.dm_channels or not fake.messages(
            fake.dm_channels[fake.world.member.user.id])


async def test_help_lists_every_command_in_one_ephemeral_message(fake: FakeDiscord, db: Path) -> None:
    async with running_bot(fake, settings_for(fake, db)):
        text = await say(fake, "help")
        assert len(text) <= 2000
        for command in fake.global_commands.values():
            assert f"/{command.name}" in text
            for option in command.payload.get("options") or []:
                if option["type"] == 1:
                    assert option["name"] in text, (command.name, option["name"])
