"""Citation counts break a tie at the top of a keyword search: ``/paper`` keywords (lookup.search_page) fetch
the tied papers' counts from the local fake Semantic Scholar in one request, keep them, and the most cited
paper comes first; a clearly better text match stays first whatever the counts; with Semantic Scholar off,
down or throttling, the results are those of a search without the feature."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from bot import lookup
from bot.cli import main
from bot.config import Settings, load_settings
from bot.models import Paper
from bot.store import AsyncStore, Store
from tests.fakes.upstream import UpstreamServer
from tests.harness import LOOKUP_NOW, cli_on
from tests.search.papers import paper

BATCH = "/graph/v1/paper/batch"
QUERY = "quantum factoring algorithms"
# The same title, abstracts of the same length: the text cannot tell them apart, and newest-first puts the
# 1995 classic last.
CLASSIC = paper("quant-ph/9508027", "Quantum algorithms for factoring",
                abstract="We factor integers in polynomial time on a quantum computer.", categories=("quant-ph",),
                year=1995)
NEWER = [paper(f"2403.0000{n}", "Quantum algorithms for factoring",
               abstract=f"We factor integers in polynomial time on a quantum device{n}.",
               categories=("quant-ph",), year=2024) for n in (1, 2)]
# Holds every query word in its title, and more: a clearly better text match than anything above.
BETTER = paper("2405.00009", "Quantum factoring algorithms",
               abstract="Quantum factoring algorithms compared on a quantum computer.", categories=("quant-ph",),
               year=2024)
CITED = {"arXiv:quant-ph/9508027": 8000, "arXiv:2403.00001": 3, "arXiv:2403.00002": 1, "arXiv:2405.00009": 0}


def settings_for(db: Path, s2_api: str) -> Settings:
    config = db.parent / "empty.toml"
    config.write_text("")
    return load_settings({"HOTPAPERS_DB": str(db), "HOTPAPERS_CONFIG": str(config),
                          "HOTPAPERS_ARXIV_API": "http://127.0.0.1:9/api/query", "HOTPAPERS_S2_API": s2_api,
                          "HOTPAPERS_S2_INTERVAL": "0"}, dotenv=None)


async def open_store(db: Path, papers: list[Paper]) -> AsyncStore:
    store = Store(db)
    store.upsert_papers(papers)
    store.close()
    async_store = AsyncStore(db)
    await async_store.open()
    return async_store


def answer_counts(upstream: UpstreamServer) -> None:
    async def batch(request):  # type: ignore[no-untyped-def]
        from tests.fakes.upstream import Reply

        asked = (await request.json())["ids"]
        return Reply(body=json.dumps([{"paperId": i, "citationCount": CITED[i]} if i in CITED else None
                                      for i in asked]).encode())

    upstream.handle(BATCH, batch, method="POST")


async def ids_of(store: AsyncStore, query: str, settings: Settings | None) -> list[str]:
    page = await lookup.search_page(store, query, 0, LOOKUP_NOW, settings=settings)
    assert not page.from_arxiv
    return [hit.paper.id for hit in page.hits]


async def test_a_tie_is_broken_by_citations_fetched_once_and_kept(tmp_path: Path,
                                                                  upstream: UpstreamServer) -> None:
    answer_counts(upstream)
    store = await open_store(tmp_path / "hot.db", [CLASSIC, *NEWER])
    try:
        without = await ids_of(store, QUERY, None)
        assert without == ["2403.00002", "2403.00001", "quant-ph/9508027"]  # newest first: the classic last
        settings = settings_for(tmp_path / "hot.db", upstream.url + "/graph/v1")

        assert await ids_of(store, QUERY, settings) == ["quant-ph/9508027", "2403.00001", "2403.00002"]

        [request] = upstream.requests_to(BATCH)
        assert sorted(json.loads(request.body)["ids"]) == sorted(
            ["arXiv:quant-ph/9508027", "arXiv:2403.00001", "arXiv:2403.00002"])
        kept = await store.run(Store.citation_counts, [CLASSIC.id, *(p.id for p in NEWER)])
        assert kept == {"quant-ph/9508027": 8000, "2403.00001": 3, "2403.00002": 1}
        # Kept counts are used again without a request, by the next search and by the next pages.
        assert await ids_of(store, QUERY, settings) == ["quant-ph/9508027", "2403.00001", "2403.00002"]
        assert await ids_of(store, QUERY, None) == ["quant-ph/9508027", "2403.00001", "2403.00002"]
        assert len(upstream.requests_to(BATCH)) == 1
    finally:
        await store.close()


async def test_stale_counts_are_fetched_again(tmp_path: Path, upstream: UpstreamServer) -> None:
    answer_counts(upstream)
    store = await open_store(tmp_path / "hot.db", [CLASSIC, *NEWER])
    try:
        old = LOOKUP_NOW - lookup.CITATIONS_FRESH - timedelta(days=1)
        await store.run(Store.record_citation_counts, {CLASSIC.id: 0, NEWER[0].id: 0, NEWER[1].id: 0}, old)
        settings = settings_for(tmp_path / "hot.db", upstream.url + "/graph/v1")
        assert (await ids_of(store, QUERY, settings))[0] == CLASSIC.id
        assert len(upstream.requests_to(BATCH)) == 1
    finally:
        await store.close()


async def test_a_clearly_better_text_match_stays_first_however_cited_the_others(
        tmp_path: Path, upstream: UpstreamServer) -> None:
    answer_counts(upstream)
    store = await open_store(tmp_path / "hot.db", [CLASSIC, *NEWER, BETTER])
    try:
        await store.run(Store.record_citation_counts, {CLASSIC.id: 500_000}, LOOKUP_NOW)
        settings = settings_for(tmp_path / "hot.db", upstream.url + "/graph/v1")
        found = await ids_of(store, QUERY, settings)
        assert found[0] == BETTER.id and found[1] == CLASSIC.id
    finally:
        await store.close()


async def test_semantic_scholar_off_down_or_throttling_changes_nothing(tmp_path: Path,
                                                                       upstream: UpstreamServer) -> None:
    store = await open_store(tmp_path / "hot.db", [CLASSIC, *NEWER, BETTER])
    try:
        expected = await ids_of(store, QUERY, None)
        db = tmp_path / "hot.db"
        assert await ids_of(store, QUERY, settings_for(db, "off")) == expected
        assert await ids_of(store, QUERY, settings_for(db, "http://127.0.0.1:9/graph/v1")) == expected
        upstream.reply(BATCH, status=503, method="POST", body=b"busy")
        assert await ids_of(store, QUERY, settings_for(db, upstream.url + "/graph/v1")) == expected
        upstream.clear()
        upstream.reply(BATCH, status=429, method="POST", headers={"Retry-After": "60"}, body=b"slow down")
        assert await ids_of(store, QUERY, settings_for(db, upstream.url + "/graph/v1")) == expected
        assert await store.run(Store.citation_counts, [CLASSIC.id, BETTER.id]) == {}
    finally:
        await store.close()


def test_hotpapers_search_uses_stored_counts_and_asks_nobody(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "hot.db"
    store = Store(db)
    store.upsert_papers([CLASSIC, *NEWER])
    store.close()
    cli_on(monkeypatch, db, LOOKUP_NOW)
    monkeypatch.setenv("HOTPAPERS_S2_API", "http://127.0.0.1:9/graph/v1")  # nothing listens: never asked
    assert main(["search", QUERY, "--json"]) == 0
    assert [r["id"] for r in json.loads(capsys.readouterr().out)["results"]] == [
        "2403.00002", "2403.00001", "quant-ph/9508027"]
    store = Store(db)
    store.record_citation_counts({CLASSIC.id: 8000, NEWER[0].id: 3, NEWER[1].id: 1}, LOOKUP_NOW)
    store.close()
    assert main(["search", QUERY, "--json"]) == 0
    assert [r["id"] for r in json.loads(capsys.readouterr().out)["results"]] == [
        "quant-ph/9508027", "2403.00001", "2403.00002"]
