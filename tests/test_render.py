"""What a digest looks like in Discord and in a terminal, and that it always fits Discord's limits."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import discord
import pytest

from bot.digest import Digest
from bot.models import Paper, RankedPaper, SourceSignal
from bot.render import (
    OutgoingMessage,
    digest_header,
    digest_messages,
    digest_text,
    paper_embed,
    tex_to_text,
    trim_at_sentence,
)
from tests.fakes.discord.rules import ApiError, embed_size, validate_message

MAILING = date(2026, 11, 25)


def paper(
    pid: str = "2611.01234",
    *,
    title: str = "A Study of Things",
    authors: tuple[str, ...] = ("Ann Lee",),
    abstract: str = "We study things. It works.",
    categories: tuple[str, ...] = ("cs.LG", "cs.CV"),
    version: int = 1,
    **kw: Any,
) -> Paper:
    return Paper(pid, version, title, authors, abstract, categories[0], categories, **kw)


def ranked(
    p: Paper, rank: int = 1, score: float = 100.0, signals: dict[str, SourceSignal] | None = None
) -> RankedPaper:
    if signals is None:
        signals = {
            "hn": SourceSignal(
                "hn", {"points": 100, "comments": 12}, "https://news.ycombinator.com/item?id=1"
            )
        }
    return RankedPaper(p, rank, score, signals)


def digest_of(papers: list[RankedPaper], categories: tuple[str, ...] = ("cs.LG", "cs.CV")) -> Digest:
    return Digest(MAILING, categories, tuple(papers), 50.0)


def payload(message: OutgoingMessage) -> dict[str, Any]:
    data: dict[str, Any] = {"embeds": [e.to_dict() for e in message.embeds]}
    if message.content is not None:
        data["content"] = message.content
    return data


def assert_within_discord_limits(messages: list[OutgoingMessage]) -> None:
    for message in messages:
        try:
            validate_message(payload(message))  # the fake Discord's own validator (50035 rules)
        except ApiError as exc:  # pragma: no cover - shows the error tree when it fails
            pytest.fail(f"Discord would refuse: {exc.errors}")
        assert len(message.embeds) <= 10
        assert sum(embed_size(e.to_dict()) for e in message.embeds) <= 6000


def test_header_names_the_mailing_and_categories() -> None:
    assert digest_header(MAILING, ["cs.LG", "cs.CV"]) == "Hot Papers 2026-11-25 · cs.LG, cs.CV"


def test_one_embed_per_paper_with_rank_link_authors_engagement_links_categories_abstract() -> None:
    authors = ("Ann Lee", "Bo Chen", "Cy Diaz", "Di Eve", "Ed Fox", "Flo Gu")
    signals = {
        "x": SourceSignal("x", {"retweets": 2826, "likes": 217}, "https://x.com/a/status/1"),
        "hf": SourceSignal("hf", {"upvotes": 34}, "https://huggingface.co/papers/2611.01234"),
    }
    messages = digest_messages(digest_of([ranked(paper(authors=authors), signals=signals)]))
    assert len(messages) == 1
    assert messages[0].content == "**Hot Papers 2026-11-25 · cs.LG, cs.CV**"
    (embed,) = messages[0].embeds
    assert embed.title == "1. A Study of Things"
    assert embed.url == "https://arxiv.org/abs/2611.01234"
    description = embed.description or ""
    assert description.startswith("Ann Lee, Bo Chen, Cy Diaz, Di Eve, Ed Fox, Flo Gu\n")  # every author
    assert "[X](https://x.com/a/status/1): 2,826 retweets · 217 likes" in description
    assert "[Hugging Face](https://huggingface.co/papers/2611.01234): 34 upvotes" in description
    assert "[pdf](https://arxiv.org/pdf/2611.01234) · cs.LG, cs.CV" in description  # the title links abs
    assert description.endswith("We study things. It works.")


def test_an_over_long_abstract_is_trimmed_at_a_sentence_and_fits() -> None:
    sentence = "This sentence describes one more result of the paper in some detail. "
    huge = sentence * 150  # ~10,000 characters
    messages = digest_messages(digest_of([ranked(paper(abstract=huge))]))
    assert_within_discord_limits(messages)
    description = messages[0].embeds[0].description or ""
    assert description.endswith("in some detail.")
    assert len(description) < 1600


def test_ten_papers_fit_one_message_and_twenty_five_split_across_messages_within_limits() -> None:
    long_abstract = "An abstract sentence that goes on for a while to use the space. " * 30
    ten = [ranked(paper(f"2611.{i:05d}", title="T" * 200, abstract=long_abstract), i) for i in range(1, 11)]
    messages = digest_messages(digest_of(ten))
    assert len(messages) == 1 and len(messages[0].embeds) == 10
    assert_within_discord_limits(messages)

    many = [
        ranked(
            paper(
                f"2611.{i:05d}",
                title="T" * 250,
                abstract=long_abstract,
                authors=tuple(f"Author Number{j}" for j in range(30)),
            ),
            i,
        )
        for i in range(1, 26)
    ]
    messages = digest_messages(digest_of(many))
    assert len(messages) >= 3
    assert_within_discord_limits(messages)
    titles = [e.title for m in messages for e in m.embeds]
    assert [t.split(".")[0] for t in titles if t] == [str(i) for i in range(1, 26)]
    footers = [m.embeds[-1].footer.text for m in messages]
    assert footers == [f"Hot Papers 2026-11-25 · {i}/{len(messages)}" for i in range(1, len(messages) + 1)]
    assert messages[0].content and all(m.content is None for m in messages[1:])


def test_markdown_and_mentions_in_titles_cannot_format_or_ping() -> None:
    p = paper(title="@everyone look: *bold* _it_ `code` [link](http://evil)", abstract="Use **this** @here.")
    (message,) = digest_messages(digest_of([ranked(p)]))
    embed = message.embeds[0]
    assert embed.title is not None
    assert "@everyone" not in embed.title and "@\u200beveryone" in embed.title
    assert "\\*bold\\*" in embed.title and "\\_it\\_" in embed.title and "\\`code\\`" in embed.title
    assert "\\[link\\]" in embed.title or "\\[link]" in embed.title
    assert "@here" not in (embed.description or "") and "\\*\\*this\\*\\*" in (embed.description or "")


def test_tex_is_readable_and_whitespace_tidied() -> None:
    assert tex_to_text(r"$O(n^2 \log n)$ time") == "O(n² log n) time"
    assert tex_to_text(r"an $\epsilon$-net in $\mathbb{R}^d$") == "an ε-net in ℝ^d"
    assert tex_to_text(r"\textbf{Bold} and 100\% with $x_1 \leq \alpha$") == "Bold and 100% with x₁ ≤ α"
    p = paper(title="Learning   with\n  $\\alpha$-Divergences", abstract="Line one\n   continues  here.")
    (message,) = digest_messages(digest_of([ranked(p)]))
    assert message.embeds[0].title == "1. Learning with α-Divergences"
    assert (message.embeds[0].description or "").endswith("Line one continues here.")


def test_trim_at_sentence() -> None:
    text = "First sentence here. Second sentence is longer than that. Third."
    assert trim_at_sentence(text, 100) == text
    assert trim_at_sentence(text, 60) == "First sentence here. Second sentence is longer than that."
    assert trim_at_sentence("one two three four five six seven", 20) == "one two three four…"


def test_a_quiet_day_is_one_short_line() -> None:
    (message,) = digest_messages(digest_of([]))
    assert message.embeds == ()
    assert message.content == (
        "**Hot Papers 2026-11-25 · cs.LG, cs.CV** — a quiet day: no paper reached a score of 50."
    )


def test_thread_digest_starts_with_the_header_alone_and_mentions_only_the_chosen_role() -> None:
    messages = digest_messages(digest_of([ranked(paper())]), thread=True, mention_role=42)
    assert [m.in_thread for m in messages] == [False, True]
    assert messages[0].content == "<@&42> **Hot Papers 2026-11-25 · cs.LG, cs.CV**"
    assert messages[0].embeds == () and messages[0].mention_role == 42
    assert messages[1].content is None and messages[1].mention_role is None


def test_ledger_payload_round_trips() -> None:
    (message,) = digest_messages(digest_of([ranked(paper())]), mention_role=7)
    again = OutgoingMessage.from_payload(message.payload())
    assert again.content == message.content and again.mention_role == 7
    assert [e.to_dict() for e in again.embeds] == [e.to_dict() for e in message.embeds]


def test_paper_embed_for_lookups() -> None:
    p = paper(
        categories=("cs.LG", "stat.ML"),
        doi="10.1000/xyz",
        comment="12 pages",
        version=3,
        published=datetime(2026, 11, 1, tzinfo=UTC),
        updated=datetime(2026, 11, 20, tzinfo=UTC),
    )
    embed = paper_embed(p, {})
    fields = {f.name: f.value for f in embed.fields}
    assert embed.title == "A Study of Things" and embed.url == "https://arxiv.org/abs/2611.01234"
    assert fields["Categories"] == "cs.LG (Machine Learning), stat.ML (Machine Learning)"
    assert fields["Versions"] == "v1 2026-11-01 · v3 2026-11-20"
    assert fields["DOI"] == "[10.1000/xyz](https://doi.org/10.1000/xyz)"
    assert fields["Comment"] == "12 pages"
    assert isinstance(embed, discord.Embed)
    validate_message({"embeds": [embed.to_dict()]})


def test_terminal_text_in_the_seed_shape() -> None:
    p = paper(
        "2107.05677",
        title="Codified audio language modeling learns useful representations",
        authors=("Rodrigo Castellon", "Chris Donahue", "Percy Liang"),
        categories=("cs.SD", "cs.IR"),
        abstract="We demonstrate\nthat language models work.",
    )
    signals = {"x": SourceSignal("x", {"retweets": 2826, "likes": 217}, "https://x.com/a/status/1")}
    text = digest_text(Digest(date(2021, 7, 14), ("cs.SD",), (ranked(p, 1, 3043, signals),), 50))
    assert text.splitlines()[:12] == [
        "Hot Papers 2021-07-14 · cs.SD",
        "",
        "# 1. Codified audio language modeling learns useful representations",
        "",
        "Rodrigo Castellon, Chris Donahue, Percy Liang",
        "",
        "- X: 2,826 retweets · 217 likes (score 3043)",
        "",
        "- links: [abs](https://arxiv.org/abs/2107.05677) | [pdf](https://arxiv.org/pdf/2107.05677) | "
        "[html](https://arxiv.org/html/2107.05677)",
        "- [cs.SD](https://arxiv.org/list/cs.SD/recent) | [cs.IR](https://arxiv.org/list/cs.IR/recent)",
        "",
        "We demonstrate that language models work.",
    ]


def test_hotpapers_preview_prints_the_days_digest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from bot import cli
    from tests.harness import cli_on, seed_store

    seed = seed_store(tmp_path / "s.db")
    monkeypatch.chdir(tmp_path)
    cli_on(monkeypatch, seed.db, datetime(2026, 11, 26, 9, tzinfo=UTC))

    assert cli.main(["preview", "--date", "2026-11-25", "--category", "cs.CV"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0] == "Hot Papers 2026-11-25 · cs.CV"
    headings = [line for line in lines if line.startswith("# ")]
    assert headings == [f"# {i}. Paper number {n} on learning" for i, n in enumerate((2, 4, 6, 8, 10, 12), 1)]
    assert "- Hacker News: 950 points · 3 comments (score 950, engagement as of 2026-11-25 06:00 UTC)" in lines

    assert cli.main(["preview", "--date", "2026-11-28", "--category", "cs.CV"]) == 1
    err = capsys.readouterr().err.strip()
    assert err == (
        "hotpapers: no cs.CV papers in a 2026-11-28 mailing (weekends and holidays have none);"
        " the latest mailing is 2026-11-25"
    )


@pytest.mark.parametrize(("tex", "readable"), [
    (r"Stanis{\l}aw \'Swierczewski", "Stanisław Świerczewski"),  # as the quant-ph feed writes it
    (r'Kurt G\"odel', "Kurt Gödel"),
    (r'Fran\c{c}ois M\"{u}ller', "François Müller"),
    (r"{\v S}koda", "Škoda"),
    (r"Paul Erd\H{o}s", "Paul Erdős"),
    (r"Mar\'{\i}a", "María"),
    (r"\O ystein Ore", "Øystein Ore"),
])
def test_tex_accents_in_names_become_letters(tex: str, readable: str) -> None:
    assert tex_to_text(tex) == readable
