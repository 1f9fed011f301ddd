"""Full-text search: any text is safe, pasted titles come first, filters hold, ranking is sensible; CLI."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.cli import main as cli
from bot.errors import UnknownCategory
from bot.models import Paper
from bot.store import Store
from tests.engines import point_cli_at


def make_paper(paper_id: str, title: str, *, abstract: str = "Nothing in particular.",
               authors: tuple[str, ...] = ("Ada Lovelace",), categories: tuple[str, ...] = ("cs.LG",),
               published: datetime | None = None) -> Paper:
    return Paper(id=paper_id, version=1, title=title, authors=authors, abstract=abstract,
                 primary_category=categories[0], categories=categories,
                 published=published or datetime(2024, 1, 15, tzinfo=UTC), updated=None)


LIBRARY = [
    make_paper("1706.03762", "Attention Is All You Need",
               abstract="The dominant sequence transduction models.",
               authors=("Ashish Vaswani", "Noam Shazeer"), categories=("cs.CL", "cs.LG"),
               published=datetime(2017, 6, 12, tzinfo=UTC)),
    make_paper("2401.00001", "Attention is all you need for graphs, too",
               abstract="Attention on graphs is all we need.", categories=("cs.LG",),
               published=datetime(2024, 1, 2, tzinfo=UTC)),
    make_paper("2401.00002", "Sparse attention kernels",
               abstract="We need fast attention for all sizes.",
               categories=("cs.DC",), published=datetime(2024, 1, 3, tzinfo=UTC)),
    make_paper("2402.00003", "Control of power grids", abstract="Feedback control with attention.",
               categories=("eess.SY", "cs.SY"), published=datetime(2024, 2, 5, tzinfo=UTC)),
    make_paper("2403.00004", "Zebrafish fin regeneration", abstract="Biology, not attention.",
               authors=("Émile Borel",), categories=("q-bio.TO",),
               published=datetime(2024, 3, 1, tzinfo=UTC)),
    make_paper("hep-th/9901001", "Strings with attention", abstract="Old strings.", categories=("hep-th",),
               published=datetime(1999, 1, 4, tzinfo=UTC)),
    make_paper("2405.00005", "Power flows", abstract="Models of graphs and flows.", categories=("math.CO",),
               published=datetime(2024, 5, 20, tzinfo=UTC)),
]


@pytest.fixture
def store(db_location: Path | str) -> Iterator[Store]:
    opened = Store(db_location)
    opened.upsert_papers(LIBRARY)
    yield opened
    opened.close()


def ids(papers: list[Paper]) -> list[str]:
    return [paper.id for paper in papers]


NASTY = [
    'attention AND (', '"', '""', "'", "*", "attention*", "NEAR(attention kernels, 2)", "NEAR", "-attention",
    "title:attention", "{title}: attention", "attention OR", "AND", "NOT attention", "^attention", "(((",
    "))", "attention)", "a:b:c", "\\", "%_", "'; DROP TABLE papers; --", "\x00attention", "attention\u0000",
    "🧠🚀", "attention 🧠", "\ud800attention", "ａｔｔｅｎｔｉｏｎ", "ATTENTION", "attention" * 800,
    "attention " * 1000, "x" * 5000, " ", "", "\n\t", "+attention +kernels", "a-b-c-d", "_", "__init__",
]


@pytest.mark.parametrize("text", NASTY)
def test_any_text_is_searched_without_error(store: Store, text: str) -> None:
    assert isinstance(store.search(text), list)
    assert isinstance(store.title_suggestions(text), list)


@pytest.mark.parametrize("text", ['attention AND (', '"attention', "attention*", "NEAR(attention)",
                                  "-attention", "attention:", "🧠attention🚀", "ATTENTION!!!",
                                  "attention " * 1000])
def test_a_query_with_a_word_in_it_finds_that_word(store: Store, text: str) -> None:
    assert "2401.00002" in ids(store.search(text, limit=10))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(max_size=300))
def test_random_text_never_raises(store: Store, text: str) -> None:
    assert isinstance(store.search(text), list)
    assert isinstance(store.title_suggestions(text), list)


JUNK = st.text(alphabet=st.characters(categories=("P", "S", "Z", "Cc")), max_size=20)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(JUNK, JUNK)
def test_a_word_wrapped_in_any_punctuation_is_still_found(store: Store, before: str, after: str) -> None:
    assert ids(store.search(f"{before}zebrafish{after}")) == ["2403.00004"]


def test_a_pasted_title_comes_first_however_it_is_written(store: Store) -> None:
    pasted = "  attention is ALL you need\n"  # the 2017 paper; newer papers share every word
    assert ids(store.search(pasted))[0] == "1706.03762"
    assert ids(store.search("Attention Is All You Need."))[0] == "1706.03762"
    assert ids(store.search("Attention is all you need for graphs, too"))[0] == "2401.00001"


def test_a_title_match_outranks_a_newer_abstract_match(store: Store) -> None:
    assert ids(store.search("graphs")) == ["2401.00001", "2405.00005"]


def test_among_equal_matches_the_newer_paper_ranks_higher(db_location: Path | str) -> None:
    store = Store(db_location)
    store.upsert_papers([
        make_paper("1801.00001", "Graph neural networks", published=datetime(2018, 1, 1, tzinfo=UTC)),
        make_paper("2405.00001", "Graph neural networks", published=datetime(2024, 5, 1, tzinfo=UTC)),
        make_paper("2101.00001", "Graph neural networks", published=datetime(2021, 1, 1, tzinfo=UTC)),
    ])
    assert ids(store.search("neural graph")) == ["2405.00001", "2101.00001", "1801.00001"]
    store.close()


def test_authors_are_searched_with_or_without_accents(store: Store) -> None:
    assert ids(store.search("vaswani")) == ["1706.03762"]
    assert ids(store.search("Emile Borel")) == ["2403.00004"]
    assert ids(store.search("émile")) == ["2403.00004"]


def test_words_that_never_appear_together_still_return_the_closest_papers(store: Store) -> None:
    found = ids(store.search("zebrafish quasicrystal"))
    assert found == ["2403.00004"]


def test_category_filter_keeps_only_that_category(store: Store) -> None:
    assert set(ids(store.search("attention", category="cs.LG"))) == {"1706.03762", "2401.00001"}
    assert ids(store.search("attention", category="cs.DC")) == ["2401.00002"]
    assert ids(store.search("attention", category="hep-th")) == ["hep-th/9901001"]
    assert store.search("zebrafish", category="cs.LG") == []


def test_category_filter_resolves_archives_and_aliases(store: Store) -> None:
    assert set(ids(store.search("attention", category="cs"))) == {"1706.03762", "2401.00001", "2401.00002",
                                                                   "2402.00003"}
    assert ids(store.search("control", category="eess.SY")) == ["2402.00003"]
    assert ids(store.search("control", category="cs.sy")) == ["2402.00003"]
    assert ids(store.search("control", category="eess")) == ["2402.00003"]


def test_a_pasted_title_outside_the_category_is_not_returned(store: Store) -> None:
    assert "1706.03762" not in ids(store.search("Attention Is All You Need", category="cs.DC"))


def test_an_unknown_category_is_an_error_not_an_empty_result(store: Store) -> None:
    with pytest.raises(UnknownCategory, match=r"cs\.XX"):
        store.search("attention", category="cs.XX")


def test_date_filters_bound_the_first_publication_date(store: Store) -> None:
    found = ids(store.search("attention", since=date(2024, 1, 3), until=date(2024, 2, 29)))
    assert set(found) == {"2401.00002", "2402.00003"}
    assert ids(store.search("attention", until=date(2000, 1, 1))) == ["hep-th/9901001"]
    assert ids(store.search("attention is all you need", since=date(2020, 1, 1)))[0] == "2401.00001"


def test_limit_is_respected(store: Store) -> None:
    assert len(store.search("attention", limit=2)) == 2
    assert store.search("attention", limit=0) == []


def test_equally_good_matches_list_the_newest_first(db_location: Path | str) -> None:
    store = Store(db_location)
    store.upsert_papers([make_paper(f"2401.{n:05d}", "Paper on networks",
                                    published=datetime(2024, 1, 1, tzinfo=UTC) + timedelta(days=n))
                         for n in range(1, 81)])
    found = ids(store.search("networks", limit=10))
    assert found == [f"2401.{n:05d}" for n in range(80, 70, -1)]
    store.close()


def test_title_suggestions_complete_the_last_word(store: Store) -> None:
    assert ids(store.title_suggestions("sparse att")) == ["2401.00002"]
    assert set(ids(store.title_suggestions("atten"))) == {"1706.03762", "2401.00001", "2401.00002",
                                                           "hep-th/9901001"}
    assert ids(store.title_suggestions("atten"))[0] == "2401.00002"  # newest first
    assert ids(store.title_suggestions("Attention Is All You Need"))[0] == "1706.03762"
    assert store.title_suggestions("zzz") == []
    assert len(store.title_suggestions("atten", limit=2)) == 2


# ---- the command line


@pytest.fixture
def database(db_location: Path | str, monkeypatch: pytest.MonkeyPatch) -> Path | str:
    store = Store(db_location)
    store.upsert_papers(LIBRARY)
    store.close()
    point_cli_at(monkeypatch, db_location)
    monkeypatch.delenv("HOTPAPERS_CONFIG", raising=False)
    return db_location


def test_cli_search_json_has_the_documented_shape(database: Path | str, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli(["search", "Attention is all you need", "--json", "--limit", "3"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["query"] == "Attention is all you need"
    assert len(document["results"]) == 3  # the title first, then papers holding fewer of those words
    assert document["results"][1]["title"] == "Attention is all you need for graphs, too"
    first = document["results"][0]
    assert first == {
        "id": "1706.03762", "version": 1, "title": "Attention Is All You Need",
        "authors": ["Ashish Vaswani", "Noam Shazeer"], "primary_category": "cs.CL",
        "categories": ["cs.CL", "cs.LG"], "abstract": "The dominant sequence transduction models.",
        "published": "2017-06-12T00:00:00Z", "updated": None, "url": "https://arxiv.org/abs/1706.03762",
        "mailing": None, "comment": None, "journal_ref": None, "doi": None,
    }


def test_cli_search_prints_a_readable_list(database: Path | str, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli(["search", "zebrafish borel"]) == 0
    out = capsys.readouterr().out
    # The title with the matching word in bold, the year, the author who matched, the link.
    assert "1. **Zebrafish** fin regeneration\n" in out and "https://arxiv.org/abs/2403.00004" in out
    assert "· 2024 · author Émile Borel" in out


def test_cli_search_with_a_category(database: Path | str, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli(["search", "attention", "--category", "cs.DC", "--json"]) == 0
    assert [r["id"] for r in json.loads(capsys.readouterr().out)["results"]] == ["2401.00002"]


def test_cli_search_odd_text_is_searched(database: Path | str, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli(["search", 'attention AND (', "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["results"]


def test_cli_search_with_a_bad_category_fails_with_one_line(database: Path | str,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    assert cli(["search", "attention", "--category", "cs.XX"]) != 0
    captured = capsys.readouterr()
    assert captured.out == ""
    assert len(captured.err.strip().splitlines()) == 1 and "cs.XX" in captured.err


def test_cli_search_without_a_database_fails_with_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("HOTPAPERS_DB", str(tmp_path / "missing.db"))
    assert cli(["search", "attention"]) != 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no database" in err[0]
    assert not (tmp_path / "missing.db").exists()


def test_a_pasted_abstract_finds_its_paper(db_location: Path | str) -> None:
    vocabulary = ("graph", "neural", "network", "learning", "model", "quantum", "field", "theory", "sparse",
                  "random", "matrix", "spectral", "kernel", "method", "data", "optimal", "transport", "flow")
    store = Store(db_location)
    papers = []
    for n in range(1, 41):
        words = [vocabulary[(n * k) % len(vocabulary)] for k in range(1, 60)] + [f"marker{n}"]
        papers.append(make_paper(f"2401.{n:05d}", f"Paper {n}", abstract=" ".join(words)))
    store.upsert_papers(papers)

    pasted = papers[16].abstract + " " + papers[16].abstract
    assert ids(store.search(pasted))[0] == "2401.00017"
    store.close()


def test_scripts_with_composed_letters_are_found(db_location: Path | str) -> None:
    store = Store(db_location)
    store.upsert_papers([make_paper("2401.00001", "한국어 논문 on Émile's café")])
    for query in ("한국어", "논문", "Emile", "émile", "e\u0301mile", "CAFÉ"):
        assert ids(store.search(query)) == ["2401.00001"], query
    assert ids(store.title_suggestions("한국")) == ["2401.00001"]
    store.close()


def test_a_word_sqlite_splits_differently_is_still_searched(store: Store) -> None:
    # U+19B0 is a letter to Python's Unicode but not to SQLite's (6.1): SQLite sees "a" and "b" here.
    assert "2401.00002" in ids(store.search("sparse a\u19b0b"))
    assert isinstance(store.title_suggestions("sparse a\u19b0b"), list)


def test_cli_search_refuses_a_limit_out_of_range(database: Path | str, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli(["search", "attention", "--limit", "0"]) == 1
    assert "--limit" in capsys.readouterr().err


def test_engagement_lifts_an_equally_relevant_paper(db_location: Path | str) -> None:
    from bot.sources.observations import Observation

    store = Store(db_location)
    quiet = make_paper("2401.00001", "Sparse attention for graphs")
    talked_about = make_paper("2401.00002", "Sparse attention for meshes")
    store.upsert_papers([quiet, talked_about])
    assert [p.id for p in store.search("sparse attention")] == ["2401.00002", "2401.00001"]  # newer first on a tie

    when = datetime(2024, 1, 16, tzinfo=UTC)
    store.record_observations([Observation("hn", "story-1", ("2401.00001",), {"points": 120, "comments": 30},
                                           "https://news.ycombinator.com/item?id=1", when)])
    assert [p.id for p in store.search("sparse attention", now=when)] == ["2401.00001", "2401.00002"]
    # As of a moment before anyone engaged, the tie stands.
    before = datetime(2024, 1, 15, 12, tzinfo=UTC)
    assert [p.id for p in store.search("sparse attention", now=before)] == ["2401.00002", "2401.00001"]
