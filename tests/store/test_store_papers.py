"""The paper store: round trips, idempotent ingests, and which papers a mailing holds."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from bot.models import Announcement, AnnounceType, Paper
from bot.store import IngestCounts, Store

MONDAY = date(2026, 11, 23)
TUESDAY = date(2026, 11, 24)
WEDNESDAY = date(2026, 11, 25)


def make_paper(paper_id: str = "2411.00001", *, version: int = 1, title: str = "A paper about graphs",
               categories: tuple[str, ...] = ("cs.LG",), **fields: object) -> Paper:
    values: dict[str, object] = {
        "authors": ("Ada Lovelace", "Émile Borel"),
        "abstract": "We study graphs.",
        "published": datetime(2024, 11, 1, 12, 0, tzinfo=UTC),
        "updated": datetime(2024, 11, 1, 12, 0, tzinfo=UTC),
        "comment": "12 pages",
        "journal_ref": None,
        "doi": "10.1000/xyz",
    }
    values.update(fields)
    return Paper(id=paper_id, version=version, title=title, primary_category=categories[0],
                 categories=categories, **values)  # type: ignore[arg-type]


def announce(paper: Paper, mailing: date, kind: AnnounceType, feed: str = "cs.LG") -> Announcement:
    return Announcement(paper=paper, mailing=mailing, announce_type=kind, feed_category=feed)


@pytest.fixture
def store(db_location: Path | str) -> Store:
    opened = Store(db_location)
    yield opened  # type: ignore[misc]
    opened.close()


def test_a_paper_comes_back_as_it_was_stored(store: Store) -> None:
    paper = make_paper(title="Ünïcode “quotes” and $\\alpha$-TeX", journal_ref="Phys. Rev. D 1 (2025)",
                       updated=datetime(2024, 12, 2, 8, 30, tzinfo=UTC), version=3)

    assert store.upsert_papers([paper]) == IngestCounts(new=1)
    assert store.paper("2411.00001") == paper
    assert store.paper("2411.00002") is None


def test_old_style_ids_and_papers_without_dates_are_kept(store: Store) -> None:
    old = make_paper("hep-th/9901001", categories=("hep-th",), published=None, updated=None, comment=None,
                     doi=None)

    store.upsert_papers([old])

    assert store.paper("hep-th/9901001") == old


def test_upserting_the_same_papers_again_changes_nothing(store: Store) -> None:
    papers = [make_paper(f"2411.0000{n}") for n in range(1, 4)]
    store.upsert_papers(papers)

    assert store.upsert_papers(papers) == IngestCounts(skipped=3)


def test_a_new_version_updates_and_an_older_one_is_ignored(store: Store) -> None:
    store.upsert_papers([make_paper(version=1)])
    newer = make_paper(version=2, title="A better paper about graphs")

    assert store.upsert_papers([newer]) == IngestCounts(updated=1)
    assert store.upsert_papers([make_paper(version=1)]) == IngestCounts(skipped=1)
    assert store.paper("2411.00001") == newer


def test_a_source_lacking_a_field_does_not_erase_it(store: Store) -> None:
    store.upsert_papers([make_paper(doi="10.1000/keep")])

    store.upsert_papers([make_paper(doi=None, published=None)])

    kept = store.paper("2411.00001")
    assert kept is not None and kept.doi == "10.1000/keep" and kept.published is not None


def test_recording_a_feed_twice_reports_everything_skipped(store: Store) -> None:
    feed = [
        announce(make_paper("2411.00001"), TUESDAY, "new"),
        announce(make_paper("2411.00002", categories=("math.AG", "cs.LG")), TUESDAY, "cross"),
        announce(make_paper("2410.00099", version=2), TUESDAY, "replace"),
    ]

    first = store.record_announcements(feed)
    second = store.record_announcements(feed)

    assert first == IngestCounts(new=1, cross_listed=1, updated=1)  # the replacement brought a paper
    assert second == IngestCounts(skipped=3)
    assert [p.id for p in store.mailing_papers(TUESDAY)] == ["2411.00001", "2411.00002"]


def test_a_replacement_updates_metadata_but_stays_in_its_first_mailing(store: Store) -> None:
    store.record_announcements([announce(make_paper(), MONDAY, "new")])

    counts = store.record_announcements([announce(make_paper(version=2, title="Graphs, revised"), WEDNESDAY,
                                                  "replace")])

    assert counts == IngestCounts(updated=1)
    stored = store.paper("2411.00001")
    assert stored is not None and stored.version == 2 and stored.title == "Graphs, revised"
    assert stored.mailing == MONDAY
    assert [p.id for p in store.mailing_papers(MONDAY)] == ["2411.00001"]
    assert store.mailing_papers(WEDNESDAY) == []
    assert store.mailings() == [MONDAY]
    assert store.latest_mailing() == MONDAY


def test_a_paper_seen_only_as_replaced_belongs_to_no_mailing(store: Store) -> None:
    counts = store.record_announcements([announce(make_paper(), WEDNESDAY, "replace-cross")])

    assert counts == IngestCounts(updated=1)

    stored = store.paper("2411.00001")
    assert stored is not None and stored.mailing is None
    assert store.mailing_papers(WEDNESDAY) == []
    assert store.latest_mailing() is None


def test_a_cross_list_counts_for_the_papers_categories(store: Store) -> None:
    paper = make_paper(categories=("math.AG", "cs.LG"))
    store.record_announcements([announce(paper, TUESDAY, "cross", feed="cs.LG")])

    assert [p.id for p in store.mailing_papers(TUESDAY, ["cs.LG"])] == ["2411.00001"]
    assert [p.id for p in store.mailing_papers(TUESDAY, ["math"])] == ["2411.00001"]
    assert store.mailing_papers(TUESDAY, ["hep-th"]) == []
    stored = store.paper("2411.00001")
    assert stored is not None and stored.mailing == TUESDAY


def test_category_aliases_match_either_spelling(store: Store) -> None:
    store.record_announcements([announce(make_paper(categories=("cs.SY",)), TUESDAY, "new", feed="cs.SY")])

    assert [p.id for p in store.mailing_papers(TUESDAY, ["eess.SY"])] == ["2411.00001"]
    assert store.latest_mailing(["eess.SY"]) == TUESDAY
    assert store.latest_mailing(["hep-th"]) is None


def test_the_same_paper_in_two_feeds_counts_once_as_new(store: Store) -> None:
    paper = make_paper(categories=("cs.LG", "cs.AI"))

    counts = store.record_announcements([announce(paper, TUESDAY, "new", "cs.LG"),
                                         announce(paper, TUESDAY, "cross", "cs.AI")])

    assert counts == IngestCounts(new=1)  # papers, not listings
    assert len(store.mailing_papers(TUESDAY)) == 1


def test_the_first_mailing_wins_even_when_feeds_arrive_out_of_order(store: Store) -> None:
    store.record_announcements([announce(make_paper(categories=("cs.LG", "cs.AI")), WEDNESDAY, "cross",
                                         "cs.AI")])
    store.record_announcements([announce(make_paper(categories=("cs.LG", "cs.AI")), TUESDAY, "new")])

    stored = store.paper("2411.00001")
    assert stored is not None and stored.mailing == TUESDAY
    assert store.mailings() == [TUESDAY, WEDNESDAY]
    assert store.mailings(since=WEDNESDAY) == [WEDNESDAY]


def test_latest_mailing_on_or_before_a_date(store: Store) -> None:
    store.record_announcements([announce(make_paper("2411.00001"), MONDAY, "new"),
                                announce(make_paper("2411.00002"), WEDNESDAY, "new")])

    assert store.latest_mailing() == WEDNESDAY
    assert store.latest_mailing(on_or_before=TUESDAY) == MONDAY
    assert store.latest_mailing(on_or_before=date(2026, 1, 1)) is None


def test_updated_papers_are_found_by_their_new_words_only(store: Store) -> None:
    store.upsert_papers([make_paper(title="Percolation thresholds")])
    store.upsert_papers([make_paper(version=2, title="Spectral sparsification")])

    assert [p.id for p in store.search("sparsification")] == ["2411.00001"]
    assert store.search("percolation") == []


def test_a_feed_of_two_thousand_entries_is_stored_in_one_go(store: Store) -> None:
    feed = [announce(replace(make_paper(f"2411.{n:05d}"), title=f"Paper number {n}"), TUESDAY, "new")
            for n in range(1, 2001)]

    counts = store.record_announcements(feed)

    assert counts == IngestCounts(new=2000)
    assert len(store.mailing_papers(TUESDAY)) == 2000
    assert store.paper_count() == 2000


def test_papers_are_listed_in_id_order_whatever_order_they_arrived_in(store: Store) -> None:
    store.record_announcements([announce(make_paper(paper_id), TUESDAY, "new")
                                for paper_id in ("2411.00002", "hep-th/9901001", "2411.00010", "0704.0001")])

    assert [p.id for p in store.mailing_papers(TUESDAY)] == ["hep-th/9901001", "0704.0001", "2411.00002",
                                                             "2411.00010"]


def test_an_id_outside_arxivs_schemes_is_still_kept_and_found(store: Store) -> None:
    odd = make_paper("local/odd-1", title="An oddly numbered note")
    store.upsert_papers([odd, make_paper("2411.00001")])

    assert store.paper("local/odd-1") == odd
    assert [p.id for p in store.search("oddly numbered")] == ["local/odd-1"]
