"""Votes and "Discuss" on the local Discord: members of two servers vote, the bot restarts, each server's
ranking follows its own members' votes and the global one follows all of them; double votes, bots and clicks
from elsewhere are refused; Discuss opens, then reopens, a thread named after the paper."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.ranking import rank_mailing
from bot.store import Store
from tests.fakes.discord import FakeDiscord
from tests.fakes.discord.models import Channel, ChannelType, Guild, Member, Message
from tests.harness import bot_settings, make_paper, running_bot, seed_store, slash_reply, text_of

TITLES = {"2611.10000": "Sparse attention for long documents", "2611.10001": "Diffusion for tables",
          "2611.10002": "Graph transformers revisited"}
P1, P2, P3 = TITLES
WEIGHT = "20"  # HOTPAPERS_RANKING_WEIGHTS_DISCORD: one vote is worth 20 Hacker News points here


def _vote_menu(message: Message, guild: Guild) -> dict[str, Any]:
    return next(c for row in message.components for c in row["components"]
                if c.get("custom_id") == f"hp:vote:{guild.id}")


def _shown_votes(message: Message, guild: Guild) -> dict[str, str]:
    """What each "Vote…" option reads, by paper id."""
    return {o["value"]: o["label"] for o in _vote_menu(message, guild)["options"]}


async def _vote(fake: FakeDiscord, message: Message, guild: Guild, paper_id: str, user: Member,
                from_channel: Channel | None = None) -> str:
    """Pick the paper in the message's Vote menu; what the voter is told."""
    inter = await fake.click(message, f"hp:vote:{guild.id}", values=[paper_id], user=user,
                             from_channel=from_channel)
    response = await fake.wait_for_response(inter)
    if response.type == 7:  # the message's counts were updated; the voter is told in a follow-up
        (told,) = await fake.wait_for_followups(inter, 1)
        assert told.ephemeral
        return text_of(told)
    assert inter.original is not None and inter.original.ephemeral
    return text_of(inter.original)


def _order(text: str) -> list[str]:
    """The seeded papers in the order a message lists them."""
    return sorted(TITLES, key=lambda pid: text.index(TITLES[pid]))


async def _top(fake: FakeDiscord, channel: Channel, user: Member) -> list[str]:
    inter = await fake.slash("top", {}, channel=channel, user=user)
    (first,) = await fake.wait_for_followups(inter, 1)
    return _order(text_of(first))


async def test_votes_in_two_servers_rank_each_server_and_survive_a_restart(world: FakeDiscord,
                                                                           tmp_path: Path) -> None:
    w = world.world
    seed = seed_store(tmp_path / "v.db", papers=[make_paper(pid, title) for pid, title in TITLES.items()],
                      points=[100, 90, 80])
    other = world.add_guild("Journal Club")
    club = world.add_channel(other, "papers")
    club_admin = world.add_member(other, "club-admin", permissions=1 << 5)  # Manage Server
    reader = world.add_member(other, "reader")
    third = world.add_member(w.guild, "third")
    helper = world.add_member(w.guild, world.add_user("helper", bot=True))
    settings = bot_settings(world, seed.db, HOTPAPERS_RANKING_WEIGHTS_DISCORD=WEIGHT)
    setup = {"time": "09:00", "timezone": "UTC", "categories": "cs.LG", "size": 10}
    async with running_bot(world, settings):
        for channel, admin in ((w.papers, w.admin), (club, club_admin)):
            await slash_reply(world, "digest setup", {"channel": channel, **setup}, user=admin)
            await slash_reply(world, "digest now", {"channel": channel}, user=admin)
        (lab_digest,) = world.messages(w.papers)
        (club_digest,) = world.messages(club)
        assert _order(text_of(lab_digest)) == [P1, P2, P3]
        assert all(label.startswith("▲ 0 · ") for label in _shown_votes(lab_digest, w.guild).values())

        told = await _vote(world, lab_digest, w.guild, P3, w.member)
        assert "counts (1 vote here)" in told and TITLES[P3] in told
        assert "counts (2 votes here)" in await _vote(world, lab_digest, w.guild, P3, third)
        assert _shown_votes(lab_digest, w.guild)[P3].startswith("▲ 2 · 3. ")  # the count on the message
        # A double vote takes the vote back.
        assert "counts (1 vote here)" in await _vote(world, lab_digest, w.guild, P1, w.admin)
        assert "taken back (0 votes here)" in await _vote(world, lab_digest, w.guild, P1, w.admin)
        assert _shown_votes(lab_digest, w.guild)[P1].startswith("▲ 0 · ")
        # A bot, and a click arriving from another server, are refused and change nothing.
        assert "Bots do not vote" in await _vote(world, lab_digest, w.guild, P3, helper)
        refused = await _vote(world, lab_digest, w.guild, P3, reader, from_channel=club)
        assert "Only members of the server this digest was posted in" in refused
        # The club votes for paper 2; its members' names are never shown, only counts.
        assert "counts (1 vote here)" in await _vote(world, club_digest, other, P2, reader)
        assert all(name not in text_of(club_digest) + str(club_digest.components)
                   for name in ("reader", "member", "third"))
        assert _shown_votes(lab_digest, w.guild)[P3].startswith("▲ 2 · ")

    async with running_bot(world, settings):  # a restart: the votes are still counted
        assert await _top(world, w.papers, w.member) == [P3, P1, P2]  # 80 + 2 × 20 = 120 > 100 > 90
        assert await _top(world, club, reader) == [P2, P1, P3]  # 90 + 20 = 110 > 100 > 80
        assert "taken back (1 vote here)" in await _vote(world, lab_digest, w.guild, P3, third)
        assert await _top(world, w.papers, w.member) == [P1, P3, P2]  # 100 = 80 + 20 > 90 (ties by id)
    store = Store(seed.db)
    try:  # every server's votes together: P2 110, P3 100, P1 100
        day = rank_mailing(store, seed.mailing, None, settings.ranking.weights, datetime(2026, 11, 26, tzinfo=UTC))
        assert [r.paper.id for r in day.papers] == [P2, P1, P3]
        assert day.papers[0].signals["discord"].counts == {"votes": 1}
    finally:
        store.close()


async def test_discuss_opens_a_thread_named_after_the_paper_and_reopens_it(world: FakeDiscord,
                                                                            tmp_path: Path) -> None:
    w = world.world
    long_title = "A study of " + "very " * 30 + "long titles"
    papers = [make_paper(P1, long_title), make_paper(P2, TITLES[P2])]
    seed = seed_store(tmp_path / "d.db", papers=papers, points=[100, 90])
    async with running_bot(world, bot_settings(world, seed.db)):
        setup = {"channel": w.papers, "time": "09:00", "timezone": "UTC", "categories": "cs.LG", "size": 10}
        await slash_reply(world, "digest setup", setup, user=w.admin)
        await slash_reply(world, "digest now", {"channel": w.papers}, user=w.admin)
        (digest,) = world.messages(w.papers)

        async def discuss(paper_id: str) -> str:
            inter = await world.click(digest, "hp:discuss-menu", values=[paper_id], user=w.member)
            (told,) = await world.wait_for_followups(inter, 1)
            assert told.ephemeral
            return text_of(told)

        def threads() -> list[Channel]:
            return [c for c in world.channels.values() if c.is_thread and c.parent_id == w.papers.id
                    and c.id != w.thread.id]

        told = await discuss(P1)
        (first,) = threads()
        assert first.id == digest.id and first.type == ChannelType.PUBLIC_THREAD  # on the digest message
        assert len(first.name) <= 100 and first.name.startswith("A study of very very")
        assert f"<#{first.id}>" in told
        # The message has its thread: the next paper's opens beside it, linking to the digest message.
        await discuss(P2)
        second = next(t for t in threads() if t.id != first.id)
        assert second.name == TITLES[P2]
        (link,) = world.messages(second)
        assert str(digest.id) in text_of(link)
        # Archived (Discord does that after a day of silence): Discuss reopens the same thread.
        first.archived = True
        told = await discuss(P1)
        assert "Reopened" in told and f"<#{first.id}>" in told and not first.archived
        assert len(threads()) == 2
        assert len(world.messages(w.papers)) == 1  # no new message in the channel
