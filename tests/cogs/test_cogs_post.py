"""The daily post on the local Discord, the seed day end to end.

The seed post's 13 papers are stored as the 2021-07-14 mailing with the seed's own tweets (author, first line,
counts); a real engagement refresh then reads the recorded Hacker News and Bluesky payloads (pointed at two
seed papers) and a Hugging Face day with a code repository from the local upstream server. A reader of the
channel digest then sees every author, the posts with their authors, the code, and when the counts were
taken; the Abstract and Discussion menus answer only the clicker, also after the bot restarted; ``/paper``
attaches a valid PNG chart. Nothing pings anyone.
"""

from __future__ import annotations

import copy
import html
import json
import re
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.clock import ManualClock
from bot.engagement import refresh_mailings
from bot.models import Announcement, Paper
from bot.sources.observations import Observation
from bot.store import Store
from tests.fakes.discord import FakeDiscord
from tests.fakes.discord.models import Message
from tests.fakes.upstream import UpstreamServer
from tests.harness import bot_settings, reply, running_bot, slash_reply, text_of
from tests.test_seed_golden import SEEDS, SeedPaper, parse_seed

MAILING = date(2021, 7, 14)
SEEN_AT = datetime(2021, 7, 15, 8, 2, 56, tzinfo=UTC)  # the seed post's own timestamp
NOW = datetime(2021, 7, 15, 9, 0, tzinfo=UTC)
HN_PAPER = "2107.05704"  # the seed's #13: the recorded Hacker News story is pointed at it
BLUESKY_PAPER = "2107.05944"  # the seed's #6: the recorded Bluesky post links it
CODE_PAPER = "2107.05677"  # Hugging Face gives it a repository with stars
ABSTRACT_CODE_PAPER = "2107.05680"  # ProCoGAN: its abstract links its GitHub repository


@dataclass(frozen=True)
class Tweet:
    handle: str
    text: str
    status_id: str


def seed_tweets(text: str) -> list[Tweet]:
    """The tweet embedded under each paper of the seed post, in order: handle, first line, status id."""
    tweets = []
    for block in re.split(r"^# (?=\d+\. )", text, flags=re.MULTILINE)[1:]:
        quote = re.search(r'<p lang="\w+" dir="ltr">(.*?)</p>.*?\(@(\w+)\) <a href="https://twitter\.com/\w+/'
                          r'status/(\d+)', block, re.DOTALL)
        assert quote is not None
        first = re.sub(r"<[^>]+>", "", quote[1].split("<br>")[0])
        tweets.append(Tweet(quote[2], html.unescape(first).strip(), quote[3]))
    return tweets


@pytest.fixture
def seed_text() -> str:
    files = sorted(SEEDS.glob("000_*.txt"))
    if not files:
        pytest.skip(f"the seed post is not at {SEEDS}")
    return files[0].read_text()


def load_seed_day(db: Path, seed: list[SeedPaper], tweets: list[Tweet]) -> None:
    """The seed's papers as the 2021-07-14 mailing, each with its tweet (as the X source records one), and
    paper 1's counts growing over three snapshots (for the chart)."""
    store = Store(db)
    try:
        store.record_announcements(
            Announcement(Paper(p.paper_id, 1, p.title, p.authors, p.abstract, p.categories[0], p.categories),
                         MAILING, "new", p.categories[0]) for p in seed)
        observations = [
            Observation("x", t.status_id, (p.paper_id,), {"retweets": p.retweets, "likes": p.favorites},
                        f"https://x.com/{t.handle}/status/{t.status_id}", SEEN_AT, author=t.handle, text=t.text)
            for p, t in zip(seed, tweets, strict=True)]
        first, tweet = seed[0], tweets[0]
        observations += [
            Observation("x", tweet.status_id, (first.paper_id,),
                        {"retweets": first.retweets * share // 4, "likes": first.favorites * share // 4},
                        f"https://x.com/{tweet.handle}/status/{tweet.status_id}",
                        SEEN_AT - timedelta(hours=4 - share), author=tweet.handle, text=tweet.text)
            for share in (1, 2)]
        store.record_observations(observations)
        store.record_posts(observations)
    finally:
        store.close()


def script_sources(upstream: UpstreamServer, shared: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """The recorded Hacker News search and Bluesky post, each pointed at a seed paper, and a Hugging Face
    day giving a seed paper its repository. Returns the (modified) recorded hit and post."""
    hn = json.loads((shared / "hn_algolia" / "hn_algolia_search_url_query_shazow_communal.json").read_text())
    hit = copy.deepcopy(hn["hits"][0])
    hit["url"] = f"https://arxiv.org/abs/{HN_PAPER}"
    upstream.reply("/hn/search_by_date", {**hn, "hits": [hit], "page": 0, "nbPages": 1})
    upstream.reply("/hn/search", {"hits": [], "page": 0, "nbPages": 1})
    post = json.loads((shared / "bluesky" / "atat_postview_externalEmbed.json").read_text())
    post["record"]["embed"]["external"]["uri"] = f"https://arxiv.org/abs/{BLUESKY_PAPER}"
    upstream.reply("/xrpc/com.atproto.server.createSession", {"accessJwt": "token", "did": "did:plc:me"},
                   method="POST")
    upstream.reply("/xrpc/app.bsky.feed.searchPosts", {"posts": [post]})
    upstream.reply("/hf/daily_papers", [{"paper": {
        "id": CODE_PAPER, "upvotes": 41, "githubRepo": "https://github.com/p-lambda/jukemir",
        "githubStars": 1234}, "numComments": 3}])
    return hit, post


def settings_for(fake: FakeDiscord, db: Path, upstream: UpstreamServer) -> Any:
    return bot_settings(fake, db, HOTPAPERS_HF_API=upstream.url + "/hf", HOTPAPERS_HN_API=upstream.url + "/hn",
                        HOTPAPERS_BLUESKY_API=upstream.url + "/xrpc", HOTPAPERS_BLUESKY_HANDLE="me.bsky.social",
                        HOTPAPERS_BLUESKY_PASSWORD="app-password")


def unescaped(text: str) -> str:
    """What a reader sees of escaped markdown: backslash escapes removed, whitespace collapsed."""
    return " ".join(re.sub(r"\\(.)", r"\1", text).split())


def paper_menu_message(messages: list[Message], paper_id: str) -> Message:
    for message in messages:
        for row in message.components:
            for item in row["components"]:
                if item["custom_id"] == "hp:abs-menu" and paper_id in {o["value"] for o in item["options"]}:
                    return message
    raise AssertionError(f"no message offers the abstract of {paper_id}")


async def pick(fake: FakeDiscord, message: Message, custom_id: str, paper_id: str, user: Any, *,
               until: Callable[[str], bool] | None = None) -> list[Message]:
    """Pick ``paper_id`` in a menu; returns the answer: the response, and its follow-ups until the text of
    them all satisfies ``until`` (a long answer takes several messages)."""
    interaction = await fake.click(message, custom_id, values=[paper_id], user=user)
    first = await reply(fake, interaction)

    def answers() -> list[Message]:
        return [first, *interaction.followups]

    if until is not None:
        await fake.wait_until(lambda: until("\n".join(text_of(a) for a in answers())), 5.0, "the whole answer")
    return answers()


async def test_the_seed_day_on_discord(world: FakeDiscord, tmp_path: Path, seed_text: str,
                                       shared_fixtures: Path) -> None:
    w = world.world
    seed, tweets = parse_seed(seed_text), seed_tweets(seed_text)
    db = tmp_path / "seed.db"
    load_seed_day(db, seed, tweets)
    async with UpstreamServer() as upstream:
        hit, post = script_sources(upstream, shared_fixtures)
        settings = settings_for(world, db, upstream)
        clock = ManualClock(NOW)
        store = Store(db)
        try:
            await refresh_mailings(store, [MAILING], settings, clock)
            # Then every source goes down: what the posts said is still shown, from the store.
            upstream.clear()
            for path in ("/hf/daily_papers", "/hn/search_by_date", "/xrpc/app.bsky.feed.searchPosts"):
                upstream.reply(path, {"error": "down"}, status=503)
            clock.set(NOW + timedelta(minutes=30))
            await refresh_mailings(store, [MAILING], settings, clock, sleep=_no_sleep)
        finally:
            store.close()

        async with running_bot(world, settings, clock) as bot:
            setup = {"channel": w.papers, "time": "09:00", "timezone": "UTC", "categories": "cs, stat, eess",
                     "size": 13}
            await slash_reply(world, "digest setup", setup, user=w.admin)
            await slash_reply(world, "digest now", {"channel": w.papers}, user=w.admin)
            posted = world.messages(w.papers)
            text = "\n".join(text_of(m) for m in posted)
            embeds = {e["url"].rsplit("/", 1)[-1]: e for m in posted for e in m.embeds}

            # Every paper, each with all its authors or "+N more" for exactly the ones left out.
            assert set(embeds) == {p.paper_id for p in seed}
            for paper in seed:
                shown = embeds[paper.paper_id]["description"].splitlines()[0]
                missing = [a for a in paper.authors if a not in shown]
                assert (shown.endswith(f", +{len(missing)} more") if missing else "more" not in shown), shown
            # The counts' time, the seed's tweets with their authors, and the recorded posts with theirs.
            assert posted[0].embeds[0]["author"]["name"] == "engagement as of 2021-07-15 09:00 UTC"
            assert f"**{tweets[1].handle}** (X)" in embeds[seed[1].paper_id]["description"]
            assert tweets[1].text[:30] in unescaped(embeds[seed[1].paper_id]["description"])
            assert f"**{hit['author']}**" in embeds[HN_PAPER]["description"]
            assert "(Hacker News)" in embeds[HN_PAPER]["description"]
            handle = post["author"]["handle"]
            assert f"**[{handle}](https://bsky.app/profile/{handle}/post/" in embeds[BLUESKY_PAPER]["description"]
            # Code: from Hugging Face (with its stars), and from a GitHub link in an abstract.
            assert "[code](https://github.com/p-lambda/jukemir) · ★ 1.2k" in embeds[CODE_PAPER]["description"]
            assert "[code](https://github.com/ardasahiner/ProCoGAN)" in embeds[ABSTRACT_CODE_PAPER]["description"]
            # Nothing pings, and each message offers its papers' abstracts and discussions.
            assert not any(m.mention_everyone or m.mentioned_user_ids or m.mentioned_role_ids for m in posted)
            assert "@everyone" not in text

            # The Abstract menu: every author and the whole abstract, only to the clicker.
            for paper in seed:
                message = paper_menu_message(posted, paper.paper_id)
                answers = await pick(world, message, "hp:abs-menu", paper.paper_id, w.member)
                assert all(a.ephemeral for a in answers)
                shown = unescaped("\n".join(text_of(a) for a in answers))
                assert all(author in shown for author in paper.authors), paper.paper_id
                assert_whole_abstract(paper.abstract, shown)
                if r"$\mathcal{O}(L^2)$" in paper.abstract:  # the seed's #5: TeX made readable
                    assert "O(L²)" in shown
            # The Discussion menu: every post stored for the paper, with its author and its link.
            answers = await pick(world, paper_menu_message(posted, HN_PAPER), "hp:talk-menu", HN_PAPER, w.member)
            talk = "\n".join(text_of(a) for a in answers)
            assert answers[0].ephemeral and f"**[{hit['author']}](https://news.ycombinator.com/item?id=" in talk
            assert f"**[{tweets[12].handle}](https://x.com/{tweets[12].handle}/status/" in talk
            assert "270 points · 103 comments" in talk
            assert bot.user is not None

        # A restart: the old message's menus still answer.
        async with running_bot(world, settings, clock):
            message = paper_menu_message(posted, seed[3].paper_id)
            answers = await pick(world, message, "hp:abs-menu", seed[3].paper_id, w.admin)
            shown = unescaped("\n".join(text_of(a) for a in answers))
            assert "Sergey Levine" in shown
            assert_whole_abstract(seed[3].abstract, shown)

            # /paper: the paper with its buttons, and a chart of its engagement over time.
            interaction = await world.slash("paper", {"query": CODE_PAPER}, user=w.member)
            answer = await reply(world, interaction)
            (attachment,) = answer.attachments
            assert attachment["filename"] == "engagement.png"
            assert answer.embeds[0]["image"]["url"] == "attachment://engagement.png"
            assert_valid_png(world.attachment_bytes[attachment["id"]])
            assert "engagement as of 2021-07-15 09:00 UTC" in answer.embeds[0]["description"]
            buttons = {c["custom_id"]: c["label"] for row in answer.components for c in row["components"]}
            assert buttons == {f"hp:abs:{CODE_PAPER}": "Abstract", f"hp:talk:{CODE_PAPER}": "Discussion",
                               f"hp:save:{CODE_PAPER}": "Save", f"hp:bib:{CODE_PAPER}": "BibTeX"}
            click = await world.click(answer, f"hp:abs:{CODE_PAPER}", user=w.admin)
            shown = await reply(world, click)
            assert shown.ephemeral
            assert_whole_abstract(seed[0].abstract, unescaped(text_of(shown)))


def assert_whole_abstract(abstract: str, shown: str) -> None:
    """Every word of the abstract is shown, in order; TeX (``$…$``) is shown readable, not as source."""
    for plain in re.split(r"\$[^$]*\$", abstract):
        assert " ".join(plain.split()) in shown
    if "$" in abstract:
        assert "\\mathcal" not in shown and "$" not in shown


async def _no_sleep(_: float) -> None:
    return None


def assert_valid_png(data: bytes) -> None:
    """A PNG signature, an IHDR of a sensible RGB picture, and IDAT data that inflates to its rows."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    length, kind = struct.unpack(">I4s", data[8:16])
    assert kind == b"IHDR" and length == 13
    width, height, depth, color = struct.unpack(">IIBB", data[16:26])
    assert 100 <= width <= 2000 and 50 <= height <= 2000 and depth == 8 and color == 2
    assert zlib.crc32(data[12:29]) == struct.unpack(">I", data[29:33])[0]
    chunks, at = [], 33
    while at < len(data):
        size, name = struct.unpack(">I4s", data[at:at + 8])
        chunks.append((name, data[at + 8:at + 8 + size]))
        at += 12 + size
    assert chunks[-1][0] == b"IEND"
    pixels = zlib.decompress(b"".join(body for name, body in chunks if name == b"IDAT"))
    assert len(pixels) == height * (1 + 3 * width)
    rows = [pixels[r * (1 + 3 * width) + 1:(r + 1) * (1 + 3 * width)] for r in range(height)]
    assert len({bytes(row) for row in rows}) > 10  # something is drawn


async def test_an_adversarial_paper_is_posted_within_limits_and_pings_no_one(world: FakeDiscord,
                                                                             tmp_path: Path) -> None:
    from tests.harness import make_paper, seed_store
    from tests.test_render_post import NASTY, adversarial_paper, nasty_posts

    w = world.world
    nasty = adversarial_paper("2611.20001")
    seed = seed_store(tmp_path / "s.db", papers=[make_paper(f"2611.{10000 + i}", f"Paper {i}") for i in range(9)],
                      special=[nasty], points=[100] * 9 + [9000])
    store = Store(seed.db)
    try:
        posts = nasty_posts(nasty.id)
        store.record_posts(Observation(p.source, p.url, (nasty.id,), p.counts, p.url, p.observed_at,
                                       author=p.author, text=p.text) for p in posts)
    finally:
        store.close()
    async with running_bot(world, bot_settings(world, seed.db)):
        setup = {"channel": w.papers, "time": "09:00", "timezone": "UTC", "categories": "cs.LG", "size": 10}
        await slash_reply(world, "digest setup", setup, user=w.admin)
        await slash_reply(world, "digest now", {"channel": w.papers}, user=w.admin)
        (message,) = world.messages(w.papers)  # Discord accepted ten papers in one message
        assert len(message.embeds) == 10 and message.embeds[0]["title"].startswith("1. @\u200beveryone")
        assert not (message.mention_everyone or message.mentioned_user_ids or message.mentioned_role_ids)
        # ~12,000 characters of authors and 10,000 of abstract: several messages of at most 6,000.
        answers = await pick(world, message, "hp:abs-menu", nasty.id, w.member,
                             until=lambda text: f"arXiv:{nasty.id}v" in text)  # the last embed's footer
        assert len(answers) >= 4 and all(a.ephemeral for a in answers)
        assert not any(a.mention_everyone or a.mentioned_user_ids or a.mentioned_role_ids for a in answers)
        shown = unescaped("\n".join(text_of(a) for a in answers)).replace("\u200b", "")
        assert all(unescaped(author).replace("\u200b", "") in shown for author in nasty.authors)
        # 25 posts of ~400 characters take several messages.
        answers = await pick(world, message, "hp:talk-menu", nasty.id, w.member,
                             until=lambda text: f"arXiv:{nasty.id}" in text)  # the last embed's footer
        talk = "\n".join(text_of(a) for a in answers)
        assert talk.count("https://example.org/") == len(posts) and all(a.ephemeral for a in answers)
        assert NASTY not in talk  # escaped: it cannot format or ping


async def test_a_dm_shows_the_followed_author_in_bold_with_working_menus(world: FakeDiscord, tmp_path: Path,
                                                                        seed_text: str) -> None:
    seed, tweets = parse_seed(seed_text), seed_tweets(seed_text)
    db = tmp_path / "seed.db"
    load_seed_day(db, seed, tweets)
    user = world.world.member
    async with running_bot(world, bot_settings(world, db), ManualClock(NOW)):
        await slash_reply(world, "subscribe author", {"value": "Sergey Levine"}, user=user)
        interaction = await world.slash("subscriptions test", {}, user=user)
        await reply(world, interaction)
        dm = await world.wait_for_message(world.dm_channels[user.user.id])
        description = dm.embeds[0]["description"]
        assert "Dibya Ghosh, Jad Rahme, Aviral Kumar, Amy Zhang, Ryan P. Adams, **Sergey Levine**" in description
        assert "matched author Sergey Levine" in description
        answers = await pick(world, dm, "hp:abs-menu", seed[3].paper_id, user)
        assert_whole_abstract(seed[3].abstract, unescaped(text_of(answers[0])))
