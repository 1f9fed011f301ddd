"""Parsing arXiv's XML: recorded API responses (2016 and 2026 formats), the recorded RSS feed, nasty cases."""

from __future__ import annotations

import json
import time
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from bot.errors import UpstreamError
from bot.sources.arxiv_parse import ArxivApiError, parse_announcement_feed, parse_api_feed, split_authors
from tests.fixtures.arxiv.feeds import Item, big_feed, rss_feed, rss_item

OWN = Path(__file__).resolve().parents[1] / "fixtures" / "arxiv"


def api(shared: Path, name: str) -> bytes:
    return (shared / "arxiv_api" / name).read_bytes()


def recorded_rss(shared: Path) -> bytes:
    return (shared / "arxiv_rss" / "rss_quant-ph_2025-04-28.xml").read_bytes()


def cassette(shared: Path, name: str) -> bytes:
    recorded = json.loads((shared / "arxiv_api" / "arxivpy_cassettes_2026" / name).read_text())
    return str(recorded["body"]).encode("latin-1")


# ---- the query API


def test_2016_format_entry_is_read_by_namespace(shared_fixtures: Path) -> None:
    page = parse_api_feed(api(shared_fixtures, "arxivpy_2016/id_list_1111.2011v2.xml"))
    [paper] = page.papers
    assert (paper.id, paper.version) == ("1111.2011", 2)
    assert paper.title == ("Quantum Criticality for Extended Nodes on a Bethe Lattice in the Large "
                           "Connectivity Limit")
    assert paper.authors == ("James M. Murray", "Adrian Del Maestro", "Zlatko Tesanovic")
    assert paper.abstract.startswith("Theoretical description of anisotropic systems, such as layered "
                                     "superconductors")
    assert "\n" not in paper.abstract and "  " not in paper.abstract
    assert paper.primary_category == "cond-mat.str-el"
    assert paper.categories == ("cond-mat.str-el", "cond-mat.stat-mech")
    assert paper.doi == "10.1103/PhysRevB.85.115117"
    assert paper.journal_ref == "Phys. Rev. B 85, 115117 (2012)"
    assert paper.comment == "8 pages, 3 figures. Published version"
    assert paper.published == datetime(2011, 11, 8, 18, 48, 36, tzinfo=UTC)
    assert paper.updated == datetime(2012, 4, 2, 12, 38, 54, tzinfo=UTC)
    assert page.total_results == 1


def test_2026_format_old_style_id_with_affiliations(shared_fixtures: Path) -> None:
    name = "single_oldstyle_astro-ph_0601001_affiliations_journalref.xml"
    [paper] = parse_api_feed(api(shared_fixtures, name)).papers
    assert (paper.id, paper.version) == ("astro-ph/0601001", 1)
    assert paper.authors == ("Andrew Gould", "Susan Dorsher", "B. Scott Gaudi", "Andrzej Udalski")
    assert paper.primary_category == "astro-ph"
    assert paper.journal_ref == "ActaAstron.56:1-50,2006"
    assert paper.doi is None
    assert paper.abstract.startswith("We derive the frequencies of hot Jupiters")
    assert "Gould & Morgan (2003)" in paper.abstract


def test_2026_cassette_body_decodes_to_the_same_papers_as_the_extracted_file(shared_fixtures: Path) -> None:
    from_cassette = parse_api_feed(cassette(shared_fixtures, "q_testing_s10_m10_34e56e15aaac.json"))
    from_file = parse_api_feed(api(shared_fixtures, "search_all_testing_start10_max10.xml"))
    assert from_cassette.papers == from_file.papers
    assert (from_file.start, from_file.items_per_page, from_file.total_results) == (10, 10, 214881)
    sample = from_file.papers[0]
    assert (sample.id, sample.version, sample.primary_category) == ("2403.16981", 2, "math.ST")
    assert sample.categories == ("math.ST", "cs.IT", "stat.ML")


def test_non_ascii_author_survives(shared_fixtures: Path) -> None:
    [paper] = parse_api_feed(api(shared_fixtures, "idlist_two_ids_one_invalid.xml")).papers
    assert paper.id == "1707.08567"
    assert "Dirk Wübben" in paper.authors


def test_error_feed_raises_with_arxivs_message(shared_fixtures: Path) -> None:
    with pytest.raises(ArxivApiError, match="incorrect id format for abc") as caught:
        parse_api_feed(api(shared_fixtures, "error_malformed_id_abc_http400.xml"))
    assert caught.value.message == "incorrect id format for abc"


def test_unknown_id_is_an_empty_page_not_an_error(shared_fixtures: Path) -> None:
    page = parse_api_feed(api(shared_fixtures, "empty_nonexistent_id_0000.0000.xml"))
    assert page.papers == [] and page.total_results == 0


def test_entity_expansion_is_refused_quickly() -> None:
    started = time.perf_counter()
    with pytest.raises(UpstreamError) as caught:
        parse_api_feed((OWN / "billion_laughs.atom").read_bytes())
    assert time.perf_counter() - started < 1.0
    assert "lollol" not in str(caught.value)


def test_external_entity_is_never_read(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    data = f"""<?xml version="1.0"?>
<!DOCTYPE feed [<!ENTITY xxe SYSTEM "file://{secret}">]>
<feed xmlns="http://www.w3.org/2005/Atom"><entry><id>http://arxiv.org/abs/2107.05677v1</id>
<title>&xxe;</title><category term="cs.LG"/></entry></feed>""".encode()
    with pytest.raises(UpstreamError, match="declares XML entities") as caught:
        parse_api_feed(data)
    assert "TOP-SECRET" not in str(caught.value)


def test_html_maintenance_page_is_a_clear_error() -> None:
    with pytest.raises(UpstreamError, match="not an Atom feed"):
        parse_api_feed((OWN / "maintenance.html").read_bytes())


def test_api_entry_without_id_is_skipped_and_counted() -> None:
    data = b"""<feed xmlns="http://www.w3.org/2005/Atom" xmlns:arxiv="http://arxiv.org/schemas/atom">
      <entry><title>No id here</title><category term="cs.LG"/></entry>
      <entry><id>http://arxiv.org/abs/2107.05677v3</id><title>Fine</title><summary>ok</summary>
        <category term="cs.LG"/></entry>
    </feed>"""
    page = parse_api_feed(data)
    assert [(p.id, p.version, p.primary_category) for p in page.papers] == [("2107.05677", 3, "cs.LG")]
    assert page.skipped == 1


# ---- announcement feeds


def test_recorded_rss_feed(shared_fixtures: Path) -> None:
    feed = parse_announcement_feed(recorded_rss(shared_fixtures), ["quant-ph"])
    assert feed.mailing == date(2025, 4, 28)
    assert (feed.entries, feed.skipped) == (81, 0)
    kinds = [a.announce_type for a in feed.announcements]
    counted = tuple(kinds.count(kind) for kind in ("new", "cross", "replace", "replace-cross"))
    assert counted == (40, 10, 22, 9)
    by_id = {a.paper.id: a for a in feed.announcements}
    first = by_id["2504.17830"]
    assert first.paper.title == "Self-Adjoint Time Operator in a Weighted Energy Space"
    assert first.paper.authors == ("Radmir Kokoulin",)
    assert first.paper.abstract.startswith("We introduce a self-adjoint time operator")
    assert first.mailing == date(2025, 4, 28) and first.feed_category == "quant-ph"
    cross = by_id["2504.16299"]
    assert cross.announce_type == "cross"
    assert cross.paper.primary_category == "cs.IT"  # listed first; quant-ph is the cross-list
    assert cross.paper.categories == ("cs.IT", "math.IT", "quant-ph")
    replaced = by_id["2112.14988"]
    assert (replaced.announce_type, replaced.paper.version) == ("replace", 4)


def test_recorded_rss_authors_with_comma_affiliations(shared_fixtures: Path) -> None:
    feed = parse_announcement_feed(recorded_rss(shared_fixtures))
    affiliated = [a.paper for a in feed.announcements if a.paper.authors[0].startswith("M. R. Nirmal")]
    assert len(affiliated) == 1
    assert len(affiliated[0].authors) == 4
    assert affiliated[0].authors[1].startswith("Ankit Khandelwal (Department of Chemistry, Indian Institute")


def test_combined_feed_lists_each_followed_category() -> None:
    data = rss_feed([Item("2511.00001", announce_type="new", categories=("cs.LG", "cs.AI", "stat.ML")),
                     Item("2511.00002", announce_type="cross", categories=("math.OC", "cs.AI")),
                     Item("2409.00003", announce_type="replace", categories=("cs.LG", "cs.CV"), version=2)],
                    title="cs.LG+cs.AI")
    feed = parse_announcement_feed(data, ["cs.LG", "cs.AI"])
    listed = {(a.paper.id, a.feed_category): a.announce_type for a in feed.announcements}
    assert listed == {
        ("2511.00001", "cs.LG"): "new", ("2511.00001", "cs.AI"): "cross",
        ("2511.00002", "cs.AI"): "cross",
        ("2409.00003", "cs.LG"): "replace",
    }


def test_alias_and_archive_follow_match_the_feeds_spelling() -> None:
    data = rss_feed([Item("2511.00001", categories=("cs.SY", "math.OC")),
                     Item("2511.00002", categories=("math.AG",))], title="eess.SY+math")
    listed = {(a.paper.id, a.feed_category) for a in parse_announcement_feed(data, ["eess.SY", "math"]
                                                                             ).announcements}
    assert listed == {("2511.00001", "eess.SY"), ("2511.00001", "math"), ("2511.00002", "math")}


def test_holiday_feed_is_empty_not_an_error() -> None:
    feed = parse_announcement_feed((OWN / "holiday_empty.rss").read_bytes(), ["cs.LG"])
    assert feed.is_empty and feed.announcements == [] and feed.skipped == 0
    assert feed.mailing == date(2025, 11, 27)


def test_bad_items_are_skipped_counted_and_logged(caplog: pytest.LogCaptureFixture) -> None:
    no_id = ("    <item>\n      <title>Lost paper</title>\n"
             "      <description>Abstract: nothing</description>\n"
             "      <category>cs.LG</category>\n    </item>\n")
    odd_type = rss_item(Item("2511.00009", announce_type="withdrawn"))
    no_title = rss_item(Item("2511.00010", title="   "))
    data = rss_feed([no_id, rss_item(Item("2511.00001")), odd_type, no_title])
    feed = parse_announcement_feed(data, ["cs.LG"])
    assert [a.paper.id for a in feed.announcements] == ["2511.00001"]
    assert (feed.entries, feed.skipped) == (4, 3)
    skipped = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert len(skipped) == 3 and all(m.startswith("arXiv feed: skipping item ") for m in skipped)
    assert [m.split(":")[1].split()[-1] for m in skipped] == ["1", "3", "4"]


def test_title_with_everyone_mention_is_kept_verbatim() -> None:
    data = rss_feed([Item("2511.00001", title="@everyone   look: <b>bold</b> & $\\alpha$")])
    [announcement] = parse_announcement_feed(data, ["cs.LG"]).announcements
    assert announcement.paper.title == "@everyone look: <b>bold</b> & $\\alpha$"


def test_atom_announcement_feed_variant() -> None:
    feed = parse_announcement_feed((OWN / "announce_cs_lg.atom").read_bytes(), ["cs.LG"])
    assert feed.mailing == date(2025, 11, 26)
    [new, revised] = feed.announcements
    assert (new.paper.id, new.announce_type) == ("2511.20001", "new")
    assert new.paper.abstract == "We revisit attention."
    assert new.paper.authors == ("Grace Hopper", "Edsger W. Dijkstra")
    assert (revised.paper.id, revised.paper.version) == ("2409.00002", 3)
    assert revised.announce_type == "replace-cross"
    assert revised.paper.primary_category == "math.OC"
    assert (revised.paper.doi, revised.paper.journal_ref) == ("10.1000/jopt.2025.1", "J. Opt. 12 (2025) 1-20")


def test_mailing_date_is_the_eastern_date_of_pubdate() -> None:
    feed = parse_announcement_feed(rss_feed([Item("2511.00001")], pub="Thu, 27 Nov 2025 04:30:00 +0000"))
    assert feed.mailing == date(2025, 11, 26)  # 23:30 on the 26th in New York


def test_malformed_feed_is_a_clear_error() -> None:
    with pytest.raises(UpstreamError, match="not well-formed XML"):
        parse_announcement_feed((OWN / "malformed.rss").read_bytes())


def test_truncated_feed_is_a_clear_error() -> None:
    whole = big_feed(50)
    with pytest.raises(UpstreamError, match=r"not well-formed XML.*truncated"):
        parse_announcement_feed(whole[: len(whole) * 2 // 3])


def test_empty_body_is_a_clear_error() -> None:
    with pytest.raises(UpstreamError, match="not well-formed"):
        parse_announcement_feed(b"")


def test_two_thousand_entry_feed() -> None:
    feed = parse_announcement_feed(big_feed(2000), ["cs.LG", "cs.AI"])
    assert feed.entries == 2000 and feed.skipped == 0
    assert len({a.paper.id for a in feed.announcements}) == 2000


@pytest.mark.parametrize(("creators", "expected"), [
    ("Antonin Monteil, Paul Pegon", ("Antonin Monteil", "Paul Pegon")),
    ("A. Author (Univ. X, Dept. Y), B. Author", ("A. Author (Univ. X, Dept. Y)", "B. Author")),
    ("  Solo   Author  ", ("Solo Author",)),
    ("", ()),
])
def test_split_authors(creators: str, expected: tuple[str, ...]) -> None:
    assert split_authors(creators) == expected
