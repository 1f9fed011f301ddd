"""The post's parts, pure: author lists, posts, code, the Abstract and Discussion answers, DMs, the chart,
and Discord's limits on adversarial papers (600 authors, a 10,000-character abstract, markdown and mentions
everywhere)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from bot.chart import engagement_chart
from bot.digest import Digest
from bot.models import DiscussionPost, Paper, PaperExtras, PostContext, RankedPaper, SourceSignal
from bot.render import (
    OutgoingMessage,
    abstract_messages,
    author_line,
    code_link,
    compact_number,
    digest_messages,
    discussion_messages,
    dm_messages,
    paper_embed,
)
from bot.subscriptions import DmPlan, MatchedPaper, parse_follow
from tests import test_render
from tests.cogs.test_cogs_post import assert_valid_png
from tests.fakes.discord.rules import ApiError, embed_size, validate_message

SEEN = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
NASTY = ("@everyone @here <@123456789012345678> <@&223456789012345678> **bold** _it_ `code` ~~s~~ ||spoiler||"
         " [link](http://evil) > quote # h")


def adversarial_paper(pid: str) -> Paper:
    authors = tuple(f"{NASTY[:12]} Author{i} *Name*" if i % 50 == 0 else f"Author{i} Surname{i}"
                    for i in range(600))
    abstract = (NASTY + " We prove $O(n^2)$ bounds. ") * 80  # ~10,000 characters
    return Paper(pid, 2, f"{NASTY} Title " + "W" * 200, authors, abstract[:10_000], "cs.LG", ("cs.LG", "cs.CV"),
                 comment=NASTY * 5, published=SEEN, updated=SEEN)


def nasty_posts(pid: str, count: int = 25) -> tuple[DiscussionPost, ...]:
    return tuple(DiscussionPost(source, f"https://example.org/{pid}/{i}", f"@everyone_{i}*", NASTY * 3,
                                {"likes": 10_000 - i, "reposts": 5}, SEEN)
                 for i, source in enumerate(["bluesky", "x", "hn"] * (count // 3 + 1)) if i < count)


def payload(message: OutgoingMessage) -> dict[str, Any]:
    return {**test_render.payload(message), "components": list(message.components)}


def assert_fits(messages: list[OutgoingMessage]) -> None:
    for message in messages:
        try:
            validate_message(payload(message))  # the fake Discord's validator: 50035 rules, components too
        except ApiError as exc:  # pragma: no cover - shows Discord's error tree
            pytest.fail(f"Discord would refuse: {exc.errors}")
        assert len(message.embeds) <= 10
        assert sum(embed_size(e.to_dict()) for e in message.embeds) <= 6000
        assert len(message.components) <= 5 and all(len(r["components"]) <= 5 for r in message.components)
        # Menus never ping nor format (Discord shows their labels as plain text); the rest is escaped.
        shown = str({key: value for key, value in payload(message).items() if key != "components"})
        assert "@everyone" not in shown and "@here" not in shown
        assert "<@123456789012345678>" not in shown and "<@&223456789012345678>" not in shown


def unescaped(text: str) -> str:
    return " ".join(re.sub(r"\\(.)", r"\1", text).replace("\u200b", "").split())


def reader_text(messages: list[OutgoingMessage]) -> str:
    parts = []
    for message in messages:
        parts.append(message.content or "")
        for embed in message.embeds:
            parts += [embed.title or "", embed.description or "", *(f.value or "" for f in embed.fields)]
    return unescaped("\n".join(parts))


def test_adversarial_digest_of_ten_fits_one_message_and_pings_no_one() -> None:
    papers = [adversarial_paper(f"2611.{i:05d}") for i in range(10)]
    signals = {"x": SourceSignal("x", {"retweets": 123_456, "likes": 7}, "https://x.com/a/status/1"),
               "bluesky": SourceSignal("bluesky", {"likes": 9}, "https://example.org/a/0")}
    ranked = tuple(RankedPaper(p, i + 1, 1000.0 - i, signals) for i, p in enumerate(papers))
    context = PostContext({p.id: PaperExtras(nasty_posts(p.id)) for p in papers}, SEEN)
    messages = digest_messages(Digest(date(2026, 11, 25), ("cs.LG",), ranked, 50), context=context)
    assert_fits(messages)
    assert len(messages) == 1 and len(messages[0].embeds) == 10
    first = messages[0].embeds[0].description or ""
    assert re.search(r", \+\d+ more\n", first)  # 600 authors: as many as fit, then how many more
    shown = int(re.search(r"\+(\d+) more", first)[1])  # type: ignore[index]
    assert shown == 600 - len(first.splitlines()[0].split(", ")) + 1
    menus = messages[0].components
    assert [row["components"][0]["custom_id"] for row in menus] == ["hp:abs-menu", "hp:talk-menu", "hp:save-menu"]
    assert [o["value"] for o in menus[0]["components"][0]["options"]] == [p.id for p in papers]


def test_twenty_five_adversarial_papers_split_within_limits_each_message_with_its_own_menus() -> None:
    papers = [adversarial_paper(f"2611.{i:05d}") for i in range(25)]
    ranked = tuple(RankedPaper(p, i + 1, 1000.0 - i, {}) for i, p in enumerate(papers))
    context = PostContext({p.id: PaperExtras(nasty_posts(p.id)) for p in papers}, SEEN)
    messages = digest_messages(Digest(date(2026, 11, 25), ("cs.LG",), ranked, 50), thread=True,
                               mention_role=42, context=context)
    assert_fits(messages)
    offered = [o["value"] for m in messages for row in m.components[:1] for o in row["components"][0]["options"]]
    assert offered == [p.id for p in papers]


def test_the_abstract_answer_has_every_author_and_the_whole_abstract_within_limits() -> None:
    paper = adversarial_paper("2611.00001")
    messages = abstract_messages(paper)
    assert_fits(messages)
    assert len(messages) >= 2  # 600 authors and 10,000 characters do not fit one message
    text = reader_text(messages)
    assert all(unescaped(name.replace("@", "@")) in text for name in paper.authors)
    assert " ".join(paper.abstract.replace("$O(n^2)$", "O(n²)").split()) in text.replace("@\u200b", "@")


def test_the_discussion_answer_lists_every_stored_post_within_limits() -> None:
    paper = adversarial_paper("2611.00001")
    posts = nasty_posts(paper.id)
    messages = discussion_messages(paper, {"x": SourceSignal("x", {"likes": 3})}, PaperExtras(posts, as_of=SEEN))
    assert_fits(messages)
    text = "\n".join(e.description or "" for m in messages for e in m.embeds)
    assert all(f"({p.url})" in text for p in posts)
    assert "engagement as of 2026-11-25 09:00 UTC" in text


def test_paper_embed_of_an_adversarial_paper_fits_with_its_buttons() -> None:
    paper = adversarial_paper("2611.00001")
    embed = paper_embed(paper, {}, PaperExtras(nasty_posts(paper.id), as_of=SEEN), chart=True)
    from bot.render import paper_buttons

    assert_fits([OutgoingMessage(None, (embed,), components=paper_buttons(paper.id))])
    assert embed.image.url == "attachment://engagement.png"


def test_author_lists() -> None:
    names = [f"Name{i} Surname{i}" for i in range(10)]
    assert author_line(names[:3], 200) == "Name0 Surname0, Name1 Surname1, Name2 Surname2"
    assert author_line(names, 60) == "Name0 Surname0, Name1 Surname1, Name2 Surname2, +7 more"
    # A followed author past the cut is shown anyway, in bold.
    assert author_line(names, 60, bold={"Name8 Surname8"}) == "Name0 Surname0, …, **Name8 Surname8**, +8 more"
    assert author_line([], 60) == "Unknown authors"


def test_a_dm_always_shows_the_followed_author_in_bold() -> None:
    authors = (*(f"Person{i} Family{i}" for i in range(600)), "Sergey Levine")
    paper = Paper("2107.06277", 1, "Why Generalization in RL is Difficult", authors, "We study RL.", "cs.LG",
                  ("cs.LG",))
    follow = parse_follow("author", "S. Levine")
    dm = DmPlan(1, (date(2021, 7, 14),), (MatchedPaper(RankedPaper(paper, 1, 701.0, {}), ("author S. Levine",)),),
                  1, (follow,))
    (message,) = dm_messages(dm, PostContext({}, SEEN))
    assert_fits([message])
    description = message.embeds[0].description or ""
    authors_line = description.splitlines()[1]
    assert authors_line.startswith("Person0 Family0, ") and ", …, **Sergey Levine**, +" in authors_line
    assert authors_line.endswith(f"+{601 - authors_line.count('Person') - 1} more")
    assert message.embeds[0].author.name == "engagement as of 2026-11-25 09:00 UTC"
    assert [row["components"][0]["custom_id"] for row in message.components] == [
        "hp:abs-menu", "hp:talk-menu", "hp:save-menu"]


def test_code_from_a_source_or_from_a_github_link() -> None:
    paper = Paper("2107.05680", 1, "T", ("A B",), "Code at https://github.com/ardasahiner/ProCoGAN.", "cs.LG",
                  ("cs.LG",))
    assert code_link(paper, PaperExtras()).url == "https://github.com/ardasahiner/ProCoGAN"  # type: ignore[union-attr]
    commented = Paper("1", 1, "T", ("A B",), "No link.", "cs.LG", ("cs.LG",), comment="github.com/x/y.git")
    assert code_link(commented, PaperExtras()) is None  # a bare host without the scheme is not taken as a link
    assert [compact_number(n) for n in (999, 1234, 56_000, 2_500_000)] == ["999", "1.2k", "56k", "2.5M"]


def test_the_chart_is_a_valid_png_and_needs_two_moments() -> None:
    start = datetime(2021, 7, 15, tzinfo=UTC)
    history = [(start + timedelta(hours=h), {"x": SourceSignal("x", {"likes": 10 * h * h}),
                                             "hn": SourceSignal("hn", {"points": 50 * h})}) for h in range(6)]
    assert_valid_png(engagement_chart(history) or b"")
    assert engagement_chart(history[:1]) is None
