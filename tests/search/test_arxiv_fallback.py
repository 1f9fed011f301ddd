"""When the store holds nothing good, /paper keywords show arXiv's own search results (one request to the
local upstream fake), labelled as such, and keeps those papers; each result says why it matched."""

from __future__ import annotations

from pathlib import Path

from bot import lookup
from bot.clock import ManualClock
from bot.config import Settings, load_settings
from bot.store import AsyncStore, Store
from tests.fakes.discord.server import FakeDiscord
from tests.fakes.upstream import UpstreamServer
from tests.harness import LOOKUP_NOW, bot_settings, reply, running_bot, text_of
from tests.search.papers import api_feed, paper

ATOM = "application/atom+xml"
CLASSIC = paper("quant-ph/9605043", "A fast quantum mechanical algorithm for database search",
                abstract="A quantum system finds a name in about the square root of N steps.",
                authors=("Lov K. Grover",), categories=("quant-ph",), year=1996)
STORED = [
    paper("1706.03762", "Attention Is All You Need", abstract="The Transformer, based only on attention.",
          authors=("Ashish Vaswani", "Noam Shazeer"), categories=("cs.CL", "cs.LG"), year=2017),
    paper("2403.00003", "Sparse attention for long documents", abstract="Attention that is sparse.",
          categories=("cs.CL",)),
]


def settings_for(upstream: UpstreamServer, db: Path) -> Settings:
    config = db.parent / "empty.toml"
    config.write_text("")
    return load_settings({"HOTPAPERS_DB": str(db), "HOTPAPERS_ARXIV_API": upstream.url + "/api/query",
                          "HOTPAPERS_ARXIV_INTERVAL": "0", "HOTPAPERS_CONFIG": str(config),
                          "HOTPAPERS_S2_API": "off"}, dotenv=None)


def seed(db: Path) -> None:
    store = Store(db)
    store.upsert_papers(STORED)
    store.close()


async def open_store(db: Path) -> AsyncStore:
    seed(db)
    async_store = AsyncStore(db)
    await async_store.open()
    return async_store


async def test_nothing_good_stored_asks_arxiv_once_and_keeps_its_papers(tmp_path: Path,
                                                                          upstream: UpstreamServer) -> None:
    upstream.reply("/api/query", api_feed([CLASSIC]), content_type=ATOM)
    store = await open_store(tmp_path / "hot.db")
    settings = settings_for(upstream, tmp_path / "hot.db")

    page = await lookup.search_page(store, "grover quantum database search", 0, LOOKUP_NOW, settings=settings)

    assert page.from_arxiv and [hit.paper.id for hit in page.hits] == ["quant-ph/9605043"]
    assert page.hits[0].authors == ("Lov K. Grover",)
    assert page.hits[0].title_terms == {"quantum", "database", "search"}
    [request] = upstream.requests_to("/api/query")
    assert request.query["search_query"] == ("all:grover AND all:quantum AND all:database AND all:search")
    # Kept: the same words now find it in the store, and arXiv is not asked again.
    again = await lookup.search_page(store, "grover quantum database search", 0, LOOKUP_NOW, settings=settings)
    assert not again.from_arxiv and again.hits[0].paper.id == "quant-ph/9605043"
    assert len(upstream.requests_to("/api/query")) == 1
    await store.close()


async def test_a_good_stored_match_does_not_ask_arxiv(tmp_path: Path, upstream: UpstreamServer) -> None:
    store = await open_store(tmp_path / "hot.db")
    page = await lookup.search_page(store, "attention is all you need", 0, LOOKUP_NOW,
                                    settings=settings_for(upstream, tmp_path / "hot.db"))
    assert not page.from_arxiv and page.hits[0].paper.id == "1706.03762"
    assert upstream.requests_to("/api/query") == []
    await store.close()


async def test_arxiv_failing_or_empty_leaves_the_stored_results(tmp_path: Path, upstream: UpstreamServer) -> None:
    upstream.reply("/api/query", "busy", status=503, headers={"Retry-After": "0"})
    upstream.reply("/api/query", api_feed([]), content_type=ATOM)
    store = await open_store(tmp_path / "hot.db")
    settings = settings_for(upstream, tmp_path / "hot.db")
    for _ in range(2):
        page = await lookup.search_page(store, "sparse attention for graphs", 0, LOOKUP_NOW, settings=settings)
        assert not page.from_arxiv and page.hits[0].paper.id == "2403.00003"
    assert len(upstream.requests_to("/api/query")) == 2  # one request per search, no retry loop
    await store.close()


async def test_paper_keywords_show_bold_title_words_year_and_author(fake_discord: FakeDiscord, tmp_path: Path,
                                                                   upstream: UpstreamServer) -> None:
    db = tmp_path / "hot.db"
    seed(db)
    upstream.reply("/api/query", api_feed([CLASSIC]), content_type=ATOM)
    settings = bot_settings(fake_discord, db, HOTPAPERS_ARXIV_API=upstream.url + "/api/query")
    async with running_bot(fake_discord, settings, ManualClock(LOOKUP_NOW)):
        message = await reply(fake_discord, await fake_discord.slash("paper", {"query": "vaswani attention"}))
        text = text_of(message)
        assert "[**Attention** Is All You Need](https://arxiv.org/abs/1706.03762)" in text
        assert "2017 · author Ashish Vaswani" in text

        message = await reply(fake_discord, await fake_discord.slash("paper", {"query": "grover database"}))
        text = text_of(message)
        assert "From arXiv's search" in text
        assert "**database** search" in text and "1996 · author Lov K. Grover" in text
    store = Store(db)
    assert store.paper("quant-ph/9605043") is not None
    store.close()
