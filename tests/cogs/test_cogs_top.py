"""``/top`` end to end: a mailing's most engaged papers, by category (cross-lists included) and date."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from bot.clock import ManualClock
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
    make_paper("2411.00001", "Cross-listed protein paper", categories=("q-bio.BM", "cs.LG"), mailing=LOOKUP_MAILING),
    make_paper("2411.00002", "Plain learning paper", categories=("cs.LG",), mailing=LOOKUP_MAILING),
    make_paper("2411.00003", "Vision paper", categories=("cs.CV",), mailing=LOOKUP_MAILING),
    make_paper("2411.00004", "Quiet paper", categories=("cs.LG",), mailing=LOOKUP_MAILING),
]


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "hot.db"
    seed_store(path, PAPERS, hf={"2411.00001": 30, "2411.00002": 50, "2411.00003": 99}, mailing=LOOKUP_MAILING,
               points=None, previous=None, observed=LOOKUP_OBSERVED)
    seed_store(path, [make_paper("2411.00010", "Older learning paper", mailing=date(2024, 11, 5))],
               hf={"2411.00010": 7}, mailing=date(2024, 11, 5), points=None, previous=None, observed=LOOKUP_OBSERVED)
    return path


async def test_top_of_the_latest_mailing_hottest_first(fake_discord: FakeDiscord, db: Path) -> None:
    async with running_bot(fake_discord, bot_settings(fake_discord, db), ManualClock(LOOKUP_NOW)):
        interaction = await fake_discord.slash("top")
        message = await reply(fake_discord, interaction)
        assert not message.ephemeral
        text = text_of(message)
        assert "Hot Papers 2024-11-06" in text
        assert [e["title"] for e in message.embeds] == [
            "1. Vision paper", "2. Plain learning paper", "3. Cross-listed protein paper"]
        assert "Quiet paper" not in text  # no engagement at all: nothing to rank it by


async def test_top_by_category_includes_cross_lists_and_respects_count(fake_discord: FakeDiscord, db: Path) -> None:
    async with running_bot(fake_discord, bot_settings(fake_discord, db), ManualClock(LOOKUP_NOW)):
        message = await reply(fake_discord, await fake_discord.slash("top", {"category": "cs.LG"}))
        assert [e["title"] for e in message.embeds] == [
            "1. Plain learning paper", "2. Cross-listed protein paper"]
        assert "cs.LG" in message.content
        one = await reply(fake_discord, await fake_discord.slash("top", {"category": "cs.LG", "count": 1}))
        assert [e["title"] for e in one.embeds] == ["1. Plain learning paper"]


async def test_top_of_an_earlier_date(fake_discord: FakeDiscord, db: Path) -> None:
    async with running_bot(fake_discord, bot_settings(fake_discord, db), ManualClock(LOOKUP_NOW)):
        message = await reply(fake_discord, await fake_discord.slash("top", {"date": "2024-11-05"}))
        assert [e["title"] for e in message.embeds] == ["1. Older learning paper"]
        weekend = await reply(fake_discord, await fake_discord.slash("top", {"date": "2024-11-09"}))
        assert "no paper of a 2024-11-09 mailing" in weekend.content


@pytest.mark.parametrize(("options", "expected"), [
    ({"date": "yesterday"}, "YYYY-MM-DD"),
    ({"date": "2024-13-01"}, "YYYY-MM-DD"),
    ({"category": "cs.LGG"}, "cs.LG"),
])
async def test_bad_options_get_an_ephemeral_message(fake_discord: FakeDiscord, db: Path, options: dict[str, str],
                                                    expected: str) -> None:
    async with running_bot(fake_discord, bot_settings(fake_discord, db), ManualClock(LOOKUP_NOW)):
        response = await fake_discord.wait_for_response(await fake_discord.slash("top", options))
        assert response.type == 4 and response.ephemeral and expected in response.data["content"]


async def test_category_autocomplete_by_code_and_name(fake_discord: FakeDiscord, db: Path) -> None:
    async with running_bot(fake_discord, bot_settings(fake_discord, db), ManualClock(LOOKUP_NOW)):
        by_name = await fake_discord.autocomplete("top", "category", "machine learning")
        assert {c["value"] for c in by_name} >= {"cs.LG", "stat.ML"}
        assert all(len(c["name"]) <= 100 for c in by_name)
        by_code = await fake_discord.autocomplete("top", "category", "cs.L")
        assert by_code[0]["value"] == "cs.LG" and by_code[0]["name"] == "cs.LG — Machine Learning"
