"""``/paper`` end to end: the real bot on the fake_discord Discord, a real store, arXiv on a local server."""

from __future__ import annotations

import asyncio
import threading
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from bot.clock import ManualClock
from bot.store import Store
from tests.fakes.discord.models import Message
from tests.fakes.discord.server import FakeDiscord
from tests.fakes.upstream import UpstreamServer
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

ATOM = "application/atom+xml"
PAPERS = [
    make_paper("2411.00001", "Diffusion models for protein design", categories=("q-bio.BM", "cs.LG"),
               authors=("Yann LeCun", "Ada Lovelace"), mailing=LOOKUP_MAILING),
    *[make_paper(f"2411.{i:05d}", f"Diffusion sampler number {i}", mailing=LOOKUP_MAILING) for i in range(2, 14)],
    make_paper("2411.00020", "Graph networks @everyone **bold**", categories=("cs.CV",), mailing=LOOKUP_MAILING),
]


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "hot.db"
    seed_store(path, PAPERS, hf={"2411.00001": 42}, mailing=LOOKUP_MAILING,
               points=None, previous=None, observed=LOOKUP_OBSERVED)
    return path


async def test_paper_by_id_answers_publicly_with_the_whole_paper(fake_discord: FakeDiscord, db: Path) -> None:
    async with running_bot(fake_discord, bot_settings(fake_discord, db), ManualClock(LOOKUP_NOW)):
        interaction = await fake_discord.slash("paper", {"query": "https://arxiv.org/abs/2411.00001v1"})
        response = await fake_discord.wait_for_response(interaction)
        assert response.type == 4 and not response.ephemeral  # straight from the store: no defer needed
        message = await reply(fake_discord, interaction)
        (embed,) = message.embeds
        assert embed["title"] == "Diffusion models for protein design"
        assert embed["url"] == "https://arxiv.org/abs/2411.00001"
        text = text_of(message)
        assert "Yann LeCun" in text
        assert "Hugging Face" in text and "42 upvotes" in text
        assert "q-bio.BM (Biomolecules)" in text and "cs.LG (Machine Learning)" in text
        assert "[pdf](https://arxiv.org/pdf/2411.00001)" in text and "html" in text
        assert "2024-11-04" in text  # first version date


@pytest.mark.parametrize("query", ["2411.9", "arXiv:9999.99999", "https://arxiv.org/abs/hep-xx/9901001",
                                   "   ", "!!! ???", "x" * 6000])
async def test_bad_input_gets_an_ephemeral_message_showing_what_works(fake_discord: FakeDiscord, db: Path,
                                                                       query: str) -> None:
    async with running_bot(fake_discord, bot_settings(fake_discord, db), ManualClock(LOOKUP_NOW)):
        interaction = await fake_discord.slash("paper", {"query": query})
        response = await fake_discord.wait_for_response(interaction)
        assert response.type == 4 and response.ephemeral  # validated before any defer
        assert "2107.05677" in response.data["content"]  # an example that works


async def test_keywords_list_papers_and_only_the_asker_can_page_even_after_a_restart(
        fake_discord: FakeDiscord, db: Path) -> None:
    settings = bot_settings(fake_discord, db)
    asker, other = fake_discord.world.member, fake_discord.world.admin
    async with running_bot(fake_discord, settings, ManualClock(LOOKUP_NOW)):
        interaction = await fake_discord.slash("paper", {"query": "diffusion"}, user=asker)
        results = await reply(fake_discord, interaction)
        assert not results.ephemeral
        first = text_of(results)
        assert "Diffusion" in first and "page 1" in first
        next_id = next(c["custom_id"] for row in results.components for c in row["components"]
                       if c.get("label") == "Next")

        stranger = await fake_discord.click(results, next_id, user=other)
        response = await fake_discord.wait_for_response(stranger)
        assert response.ephemeral and "Only" in response.data["content"]
        assert text_of(results) == first  # nothing moved

    # a new process's worth of bot: no view was registered again
    async with running_bot(fake_discord, settings, ManualClock(LOOKUP_NOW)):
        click = await fake_discord.click(results, next_id, user=asker)
        response = await fake_discord.wait_for_response(click)
        assert response.type == 7  # the results message itself was updated
        second = text_of(results)
        assert "page 2" in second and second != first
        assert "**6.**" in second

        select_id = next(c["custom_id"] for row in results.components for c in row["components"]
                         if c["type"] == 3)
        option = next(c for row in results.components for c in row["components"] if c["type"] == 3)
        chosen = option["options"][0]["value"]
        opened = await fake_discord.click(results, select_id, user=asker, values=[chosen])
        await fake_discord.wait_for_response(opened)
        assert results.embeds[0]["url"] == f"https://arxiv.org/abs/{chosen}"
        back_id = next(c["custom_id"] for row in results.components for c in row["components"]
                       if c.get("label") == "Back to results")
        back = await fake_discord.click(results, back_id, user=asker)
        await fake_discord.wait_for_response(back)
        assert "page 2" in text_of(results)


async def test_someone_else_opening_a_result_sees_it_privately(fake_discord: FakeDiscord, db: Path) -> None:
    async with running_bot(fake_discord, bot_settings(fake_discord, db), ManualClock(LOOKUP_NOW)):
        results = await reply(fake_discord, await fake_discord.slash("paper", {"query": "graph networks"}))
        select = next(c for row in results.components for c in row["components"] if c["type"] == 3)
        before = text_of(results)
        opened = await fake_discord.click(results, select["custom_id"], user=fake_discord.world.admin,
                                  values=[select["options"][0]["value"]])
        response = await fake_discord.wait_for_response(opened)
        assert response.ephemeral and response.data["embeds"][0]["url"].endswith("2411.00020")
        assert text_of(results) == before
        # The title's @everyone and markdown do not ping or format.
        assert results.mention_everyone is False and "\\*\\*bold\\*\\*" in before


async def test_autocomplete_suggests_titles_and_ids(fake_discord: FakeDiscord, db: Path) -> None:
    async with running_bot(fake_discord, bot_settings(fake_discord, db), ManualClock(LOOKUP_NOW)):
        choices = await fake_discord.autocomplete("paper", "query", "protein desi")
        assert choices[0] == {"name": "2411.00001 · Diffusion models for protein design",
                              "value": "2411.00001"}
        many = await fake_discord.autocomplete("paper", "query", "diffusion")
        assert 1 < len(many) <= 25 and all(len(c["name"]) <= 100 for c in many)
        assert await fake_discord.autocomplete("paper", "query", "2411.00003") == [
            {"name": "2411.00003 · Diffusion sampler number 3", "value": "2411.00003"}]


async def test_a_paper_not_stored_is_fetched_from_arxiv_and_kept(
        fake_discord: FakeDiscord, db: Path, upstream: UpstreamServer, shared_fixtures: Path) -> None:
    atom = (shared_fixtures / "arxiv_api" / "single_newstyle_1605.08386.xml").read_bytes()
    upstream.reply("/api/query", atom, content_type=ATOM, delay=0.3)
    settings = bot_settings(fake_discord, db, HOTPAPERS_ARXIV_API=upstream.url + "/api/query")
    async with running_bot(fake_discord, settings, ManualClock(LOOKUP_NOW)):
        interaction = await fake_discord.slash("paper", {"query": "arXiv:1605.08386"})
        assert (await fake_discord.wait_for_response(interaction)).type == 5  # deferred before asking arXiv
        message = await reply(fake_discord, interaction)
        assert message.embeds[0]["url"] == "https://arxiv.org/abs/1605.08386"
    store = Store(db)
    assert store.paper("1605.08386") is not None
    store.close()


@pytest.mark.parametrize("failure", ["503", "drop"])
async def test_arxiv_unreachable_gets_a_clear_follow_up(fake_discord: FakeDiscord, db: Path, upstream: UpstreamServer,
                                                        failure: str) -> None:
    if failure == "503":
        upstream.reply("/api/query", "busy", status=503, headers={"Retry-After": "0"})
    else:
        upstream.reply("/api/query", drop=True)
    settings = bot_settings(fake_discord, db, HOTPAPERS_ARXIV_API=upstream.url + "/api/query")
    async with running_bot(fake_discord, settings, ManualClock(LOOKUP_NOW)):
        interaction = await fake_discord.slash("paper", {"query": "2101.00001"})
        assert (await fake_discord.wait_for_response(interaction)).type == 5
        message = await reply(fake_discord, interaction, within=15)
        assert "arXiv is not answering" in message.content and "try again" in message.content
    assert len(upstream.requests) >= 2  # it did retry before giving up


async def test_paper_has_a_per_user_cooldown(fake_discord: FakeDiscord, db: Path) -> None:
    async with running_bot(fake_discord, bot_settings(fake_discord, db), ManualClock(LOOKUP_NOW)):
        answers = []
        for _ in range(9):
            interaction = await fake_discord.slash("paper", {"query": "2411.00001"})
            answers.append(await fake_discord.wait_for_response(interaction))
        assert all(not a.ephemeral for a in answers[:8])
        assert answers[8].ephemeral and "try again" in answers[8].data["content"]
        other = await fake_discord.slash("paper", {"query": "2411.00001"}, user=fake_discord.world.admin)
        assert not (await fake_discord.wait_for_response(other)).ephemeral


async def test_paper_embed_carries_versions_references_links_and_each_source(
        fake_discord: FakeDiscord, tmp_path: Path) -> None:
    """Everything /paper promises on one paper: both version dates, comment, journal ref, DOI, abs | pdf | html
    links, and the engagement of each source apart."""
    base = make_paper("2411.00031", "A revised paper", categories=("cs.LG", "stat.ML"), mailing=LOOKUP_MAILING)
    assert base.published is not None
    revised = replace(base, version=3, updated=base.published + timedelta(days=40),
                      comment="12 pages, 4 figures", journal_ref="J. Mach. Learn. Res. 25 (2024) 1-12",
                      doi="10.1000/xyz123")
    path = tmp_path / "hot.db"
    seed_store(path, [revised], hf={"2411.00031": 17}, points=[321], mailing=LOOKUP_MAILING, previous=None,
               observed=LOOKUP_OBSERVED)
    async with running_bot(fake_discord, bot_settings(fake_discord, path), ManualClock(LOOKUP_NOW)):
        message = await reply(fake_discord, await fake_discord.slash("paper", {"query": "2411.00031v3"}))
        text = text_of(message)
        assert message.embeds[0]["url"] == "https://arxiv.org/abs/2411.00031"
        assert "v1 2024-11-04" in text and "v3 2024-12-14" in text
        assert "12 pages, 4 figures" in text and "J. Mach. Learn. Res. 25 (2024) 1-12" in text
        assert "https://doi.org/10.1000/xyz123" in text
        assert "[abs](https://arxiv.org/abs/2411.00031)" in text
        assert "[pdf](https://arxiv.org/pdf/2411.00031)" in text and "](https://arxiv.org/html/2411.00031" in text
        assert "cs.LG (Machine Learning)" in text and "stat.ML (Machine Learning)" in text
        assert "17 upvotes" in text and "321 points" in text  # Hugging Face and Hacker News, apart


async def test_slow_lookups_defer_publicly_then_answer_and_page(fake_discord: FakeDiscord, db: Path) -> None:
    """A store busy past FAST_ANSWER (its thread held by other work) defers first, so Discord's 3 s rule holds;
    the answer is then a public follow-up whose buttons page like a direct answer."""
    async with running_bot(fake_discord, bot_settings(fake_discord, db), ManualClock(LOOKUP_NOW)) as bot:
        cog = bot.get_cog("Paper")
        assert cog is not None and cog.fast_answer == 2.0  # type: ignore[attr-defined]
        cog.fast_answer = 0.05  # type: ignore[attr-defined]  # instead of 2 s: the store below stays busy until the deferral is seen
        for query in ("2411.00001", "diffusion"):
            gate = threading.Event()
            busy = asyncio.ensure_future(bot.store.run(lambda _store, gate=gate: gate.wait(10)))
            interaction = await fake_discord.slash("paper", {"query": query})
            deferred = await fake_discord.wait_for_response(interaction)
            assert deferred.type == 5 and not deferred.ephemeral  # deferred while the store was still busy
            gate.set()
            await busy
            message = await reply(fake_discord, interaction)
            assert not message.ephemeral
        assert "page 1" in text_of(message)
        next_id = next(c["custom_id"] for row in message.components for c in row["components"]
                       if c.get("label") == "Next")
        click = await fake_discord.click(message, next_id, user=fake_discord.world.member)
        await fake_discord.wait_for_response(click)
        assert "page 2" in text_of(message)


async def test_paging_faster_than_twenty_clicks_a_minute_is_refused(fake_discord: FakeDiscord, db: Path) -> None:
    asker = fake_discord.world.member

    def a_page_button(message: Message) -> str:  # Next while there is one, else Previous
        buttons = {c.get("label"): c for row in message.components for c in row["components"]}
        usable = buttons["Next"] if not buttons["Next"].get("disabled") else buttons["Previous"]
        return str(usable["custom_id"])

    async with running_bot(fake_discord, bot_settings(fake_discord, db), ManualClock(LOOKUP_NOW)):
        results = await reply(fake_discord, await fake_discord.slash("paper", {"query": "diffusion"}, user=asker))
        for _ in range(20):
            click = await fake_discord.click(results, a_page_button(results), user=asker)
            assert (await fake_discord.wait_for_response(click)).type == 7  # the list was paged
        click = await fake_discord.click(results, a_page_button(results), user=asker)
        response = await fake_discord.wait_for_response(click)
        assert response.ephemeral and "paging very fast" in response.data["content"]
