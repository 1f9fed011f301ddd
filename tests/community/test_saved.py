"""The reading list on the local Discord: Save in a channel digest, a DM-like second user, and on ``/paper``;
``/saved list`` pages, ``remove`` autocompletes from the user's own list, ``export`` is a .bib file; all of it
answered only to the person, and still there after a restart."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.clock import ManualClock
from bot.store import Store
from tests.fakes.discord import FakeDiscord
from tests.fakes.discord.models import Message
from tests.harness import Seed, bot_settings, reply, running_bot, slash_reply, text_of

NOW = datetime(2026, 11, 25, 14, tzinfo=UTC)


def component(message: Message, custom_id: str) -> dict:  # type: ignore[type-arg]
    return next(c for row in message.components for c in row["components"] if c["custom_id"] == custom_id)


async def test_saving_from_a_digest_and_paper_then_listing_removing_exporting(world: FakeDiscord,
                                                                               seeded: Seed) -> None:
    w = world.world
    settings = bot_settings(world, seeded.db)
    async with running_bot(world, settings, ManualClock(NOW)):
        await slash_reply(world, "digest setup", {"channel": w.papers, "time": "09:00", "timezone": "UTC",
                                                  "categories": "cs.LG", "size": 12}, user=w.admin)
        await slash_reply(world, "digest now", {"channel": w.papers}, user=w.admin)
        digest = world.messages(w.papers)
        menus = [m for m in digest if m.components]
        assert menus and all(len(m.components) <= 5 for m in menus)
        message = menus[0]
        options = [o["value"] for o in component(message, "hp:save-menu")["options"]]
        assert options == seeded.paper_ids[: len(options)]
        assert component(message, "hp:save-menu")["placeholder"] == "Save…"

        for paper_id in seeded.paper_ids[:11]:
            click = await world.click(message if paper_id in options else menus[1], "hp:save-menu",
                                      values=[paper_id], user=w.member)
            answer = await reply(world, click)
            assert answer.ephemeral and "Saved" in answer.content
        again = await reply(world, await world.click(message, "hp:save-menu", values=[options[0]], user=w.member))
        assert again.ephemeral and "Already on your reading list" in again.content and "11 saved" in again.content
        # another person saves one: separate lists
        other = await reply(world, await world.click(message, "hp:save-menu", values=[options[1]], user=w.admin))
        assert "You have 1 saved paper:" in other.content
        assert message.mention_everyone is False

    # after a restart (an hour later): the digest's old menu still saves, and the lists are intact
    async with running_bot(world, settings, ManualClock(NOW + timedelta(hours=1))):
        paper_id = seeded.paper_ids[11]
        late = await reply(world, await world.click(menus[-1], "hp:save-menu", values=[paper_id], user=w.member))
        assert "Saved" in late.content and "12 saved" in late.content

        interaction = await world.slash("saved list", {}, user=w.member)
        first = await reply(world, interaction)
        assert first.ephemeral
        shown = text_of(first)
        assert "12 papers" in shown and "page 1 of 2" in shown
        # most recently saved first: the paper saved after the restart heads the list
        assert shown.index(paper_id) < shown.index(seeded.paper_ids[0])
        next_id = component(first, f"hp:sv:{w.member.user.id}:1:n")["custom_id"]
        page = await world.click(first, next_id, user=w.member)
        assert (await world.wait_for_response(page)).type == 7
        second = text_of(first)
        assert "page 2 of 2" in second and "**11.**" in second and seeded.paper_ids[9] in second

        # remove: autocomplete offers only the caller's own saved papers
        choices = await world.autocomplete("saved remove", "paper", "", user=w.admin)
        assert [c["value"] for c in choices] == [options[1]]
        choices = await world.autocomplete("saved remove", "paper", seeded.titles[seeded.paper_ids[2]],
                                           user=w.member)
        assert [c["value"] for c in choices] == [seeded.paper_ids[2]]
        text, ephemeral, _ = await slash_reply(world, "saved remove", {"paper": seeded.paper_ids[2]}, user=w.member)
        assert ephemeral and "Removed" in text and "11 left" in text
        text, ephemeral, _ = await slash_reply(world, "saved remove", {"paper": seeded.paper_ids[2]}, user=w.member)
        assert ephemeral and "not on your reading list" in text

        # export: one .bib attachment, only to the caller, one entry per saved paper
        interaction = await world.slash("saved export", {}, user=w.member)
        exported = await reply(world, interaction)
        assert exported.ephemeral
        (attachment,) = exported.attachments
        assert attachment["filename"] == "hotpapers-saved.bib"
        bib = world.attachment_bytes[attachment["id"]].decode()
        assert bib.count("@misc{") == 11 and seeded.paper_ids[2] not in bib
        assert "archivePrefix = {arXiv}" in bib

        # /paper: Save and BibTeX buttons
        answer = await reply(world, await world.slash("paper", {"query": seeded.paper_ids[2]}, user=w.member))
        save = await reply(world, await world.click(answer, f"hp:save:{seeded.paper_ids[2]}", user=w.member))
        assert save.ephemeral and "Saved" in save.content
        bib_answer = await reply(world, await world.click(answer, f"hp:bib:{seeded.paper_ids[2]}", user=w.admin))
        assert bib_answer.ephemeral and bib_answer.content.startswith("```bibtex\n@misc{")
        assert f"eprint = {{{seeded.paper_ids[2]}}}" in bib_answer.content

    store = Store(seeded.db)
    try:
        assert store.saved_count(w.member.user.id) == 12 and store.saved_count(w.admin.user.id) == 1
    finally:
        store.close()


async def test_an_empty_list_says_how_to_save(world: FakeDiscord, seeded: Seed) -> None:
    async with running_bot(world, bot_settings(world, seeded.db), ManualClock(NOW)):
        text, ephemeral, embeds = await slash_reply(world, "saved list", {}, user=world.world.member)
        assert ephemeral and "Save" in embeds[0]["description"]
        text, ephemeral, _ = await slash_reply(world, "saved export", {}, user=world.world.member)
        assert ephemeral and "empty" in text

