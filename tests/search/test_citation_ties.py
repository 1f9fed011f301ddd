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
# Shor's paper as arXiv lists it: a long title and a long abstract, so BM25's length normalisation puts every
# short title holding the same three words before it.
SHOR = paper("quant-ph/9508027", "Polynomial-Time Algorithms for Prime Factorization and Discrete Logarithms "
             "on a Quantum Computer",
             abstract="A digital computer is generally believed to be an efficient universal computing device; "
             "that is, it is believed able to simulate any physical computing device with an increase in "
             "computation time of at most a polynomial factor. This may not be true when quantum mechanics "
             "is taken into consideration. This paper considers factoring integers and finding discrete "
             "logarithms, two problems which are generally thought to be hard on a classical computer and "
             "have been used as the basis of several proposed cryptosystems. Efficient randomized algorithms "
             "are given for these two problems on a hypothetical quantum computer.",
             categories=("quant-ph",), year=1995)
# Abstracts of a usual length (about 100 words) saying the query's words once each.
ORDINARY = ("We study quantum algorithms and the time they take on noisy hardware. Our analysis relies on a "
            "decomposition of the circuit into layers whose depth we bound from above and from below, and on "
            "a family of benchmarks chosen to stress the scheduling of gates across qubits. Experiments on "
            "simulators of up to forty qubits agree with the bounds within a constant factor. We discuss what "
            "the results imply for near-term devices, where error rates limit the depth of useful circuits, "
            "and we release the code used for every figure together with the raw measurements and a short "
            "guide to reproducing them on other machines.")
SHORT_TITLES = [paper(f"2310.0000{n}", title, abstract=ORDINARY,
                      categories=("quant-ph",), year=2023)
                for n, title in enumerate((
                    "Time bounds of quantum algorithms for chemistry",
                    "Variational quantum algorithms in imaginary time",
                    "Algorithms for quantum time evolution of open systems"), start=1)]
# Papers on other subjects: the query's words are rare in the store, as on arXiv (a few % of papers each).
BACKGROUND = [paper(f"2201.{n:05d}", f"Colourings of sparse random graphs, part {n}",
                    abstract="We bound the chromatic number of sparse random graphs. " * 8) for n in range(300)]
CITED = {"arXiv:quant-ph/9508027": 8000, "arXiv:2403.00001": 3, "arXiv:2403.00002": 1, "arXiv:2405.00009": 0,
         "arXiv:2310.00001": 12, "arXiv:2310.00002": 5, "arXiv:2310.00003": 2}


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


async def test_a_classic_with_a_long_title_comes_before_short_titles_holding_the_same_words(
        tmp_path: Path, upstream: UpstreamServer) -> None:
    answer_counts(upstream)
    store = await open_store(tmp_path / "hot.db", [SHOR, *SHORT_TITLES, *BACKGROUND])
    try:
        query = "time algorithms quantum"
        assert (await ids_of(store, query, None))[-1] == SHOR.id  # the text alone: shortest titles first
        settings = settings_for(tmp_path / "hot.db", upstream.url + "/graph/v1")
        assert (await ids_of(store, query, settings))[0] == SHOR.id
        [request] = upstream.requests_to(BATCH)
        assert "arXiv:quant-ph/9508027" in json.loads(request.body)["ids"]
    finally:
        await store.close()


async def test_however_cited_a_paper_lacking_a_title_word_stays_below_one_holding_them_all(
        tmp_path: Path, upstream: UpstreamServer) -> None:
    answer_counts(upstream)
    # The famous title lacks "time" (its abstract has it); the CITED count of 2310.00003 is 2.
    famous = paper("quant-ph/9508027", "Quantum algorithms for factoring", abstract=SHOR.abstract,
                   categories=("quant-ph",), year=1995)
    store = await open_store(tmp_path / "hot.db", [famous, SHORT_TITLES[2], *BACKGROUND])
    try:
        await store.run(Store.record_citation_counts, {famous.id: 1_000_000}, LOOKUP_NOW)
        settings = settings_for(tmp_path / "hot.db", upstream.url + "/graph/v1")
        assert await ids_of(store, "time algorithms quantum", settings) == [SHORT_TITLES[2].id, famous.id]
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


async def test_after_a_failure_semantic_scholar_is_left_alone_for_a_minute(tmp_path: Path,
                                                                          upstream: UpstreamServer) -> None:
    upstream.reply(BATCH, status=503, method="POST", body=b"busy")
    store = await open_store(tmp_path / "hot.db", [CLASSIC, *NEWER])
    try:
        settings = settings_for(tmp_path / "hot.db", upstream.url + "/graph/v1")
        expected = await ids_of(store, QUERY, None)
        for _ in range(3):  # one search waits for the failing service, the next ones do not ask
            assert await ids_of(store, QUERY, settings) == expected
        assert len(upstream.requests_to(BATCH)) == 1
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


def test_counts_fetched_after_a_search_reorder_its_hits_but_never_move_a_pasted_title() -> None:
    from dataclasses import replace

    from bot.search.rank import Hit, with_citations

    def hit(paper_id: str, text: float) -> Hit:
        return Hit(paper(paper_id, f"Paper {paper_id}"), text, frozenset(), (), text=text)

    first, cited_later = hit("2401.00001", 0.90), hit("2401.00002", 0.85)
    counts = {"2401.00002": 100_000}  # the tie-breaker's full 0.10: 0.95 against 0.90
    assert [h.paper.id for h in with_citations([first, cited_later], counts)] == ["2401.00002", "2401.00001"]
    pasted = replace(first, pinned=True)
    assert [h.paper.id for h in with_citations([pasted, cited_later], counts)] == ["2401.00001", "2401.00002"]
