"""Parsing arXiv's OAI-PMH responses: the recorded payloads (arXiv's servers in 2015 and 2018) and our own."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from bot.errors import UpstreamError
from bot.sources.oai import OaiError, decode_tex_accents, parse_list_records, split_raw_authors
from tests.fixtures.arxiv.oai import Rec, list_records, oai_error

OWN = Path(__file__).resolve().parents[1] / "fixtures" / "arxiv"


def recorded(shared: Path, name: str) -> bytes:
    return (shared / "arxiv_oaipmh" / name).read_bytes()


# ---- recorded payloads


def test_recorded_arxivraw_page_gives_versions_dates_doi_and_journal_ref(shared_fixtures: Path) -> None:
    page = parse_list_records(recorded(shared_fixtures, "mikesaelim_2015/ListRecordsResponse.xml"))

    assert [r.paper.id for r in page.records if r.paper] == [
        "0704.0471", "0704.0716", "0704.0874", "0704.1109", "0704.1114", "0704.1586"]
    richard = page.records[1]
    assert richard.datestamp == date(2014, 12, 22) and richard.sets == ("math", "physics:math-ph")
    paper = richard.paper
    assert paper is not None
    assert paper.version == 4
    assert paper.published == datetime(2007, 4, 5, 12, 45, 3, tzinfo=UTC)
    assert paper.updated == datetime(2008, 11, 14, 9, 7, 25, tzinfo=UTC)
    assert paper.title == "Limit distributions and scaling functions"
    assert paper.primary_category == "math-ph" and paper.categories == ("math-ph", "math.MP")
    assert paper.journal_ref == ("Polygons, polyominoes and polycubes, 247-299, Lecture Notes in Phys., 775, "
                                 "Springer, Dordrecht, 2009")
    assert paper.comment is not None and paper.comment.startswith("54 pages, 2 figures; v2 updated")
    assert paper.abstract.startswith("We discuss the asymptotic behaviour") and "\n" not in paper.abstract
    shetty = page.records[0].paper
    assert shetty is not None
    assert shetty.authors == ("D.V. Shetty", "S.J. Yennello", "G.A. Souliotis")  # "…, and G.A. Souliotis"
    assert shetty.doi == "10.1103/PhysRevC.76.024606"  # the first of two DOIs, so a DOI link works
    assert page.token is not None
    assert (page.token.value, page.token.complete_list_size, page.token.cursor) == ("726959|1001", 58011, 0)
    assert page.next_token == "726959|1001"
    assert page.response_date == datetime(2015, 1, 6, 20, 49, 59, tzinfo=UTC)


def test_recorded_arxiv_format_page_ends_the_list(shared_fixtures: Path) -> None:
    page = parse_list_records(recorded(shared_fixtures, "listrecords_should-list-identifiers-from-arxiv_1_http200.xml"))

    first, second = (r.paper for r in page.records)
    assert first is not None and second is not None
    assert (first.id, first.authors) == ("1412.8544", ("Sander Uijlen", "Bas Westerbaan"))
    assert first.doi == "10.4204/EPTCS.172.11" and first.journal_ref == "EPTCS 172, 2014, pp. 154-164"
    assert first.published == datetime(2014, 12, 29, tzinfo=UTC)
    assert first.version == 1  # the arXiv format has no version numbers: never mistaken for a newer version
    assert second.id == "hep-th/9504118" and second.categories == ("hep-th",)
    assert '"strength"' in second.abstract
    assert page.token is None and page.next_token is None


def test_recorded_get_record_is_read_too(shared_fixtures: Path) -> None:
    page = parse_list_records(recorded(shared_fixtures, "mikesaelim_2015/GetRecordResponse.xml"))
    [record] = page.records
    assert record.paper is not None
    assert record.paper.authors == ("Joshua Berger", "Maxim Perelstein", "Michael Saelim", "Philip Tanedo")
    assert record.paper.version == 2 and record.paper.primary_category == "hep-ph"


def test_recorded_no_records_match_is_an_empty_list(shared_fixtures: Path) -> None:
    page = parse_list_records(recorded(shared_fixtures, "mikesaelim_2015/ErrorResponseNoRecordsMatch.xml"))
    assert page.no_records and page.records == [] and page.next_token is None


@pytest.mark.parametrize(("name", "code"), [
    ("ErrorResponseBadArgument.xml", "badArgument"),
    ("ErrorResponseBadResumptionToken.xml", "badResumptionToken"),
    ("ErrorResponseBadVerb.xml", "badVerb"),
    ("ErrorResponseIdDoesNotExist.xml", "idDoesNotExist"),
])
def test_recorded_errors_name_their_code(shared_fixtures: Path, name: str, code: str) -> None:
    with pytest.raises(OaiError) as raised:
        parse_list_records(recorded(shared_fixtures, f"mikesaelim_2015/{name}"))
    assert raised.value.code == code
    assert code in str(raised.value) and "\n" not in str(raised.value)


def test_recorded_503_page_is_not_mistaken_for_records(shared_fixtures: Path) -> None:
    with pytest.raises(UpstreamError, match=r"not well-formed XML|not OAI-PMH"):
        parse_list_records(recorded(shared_fixtures, "listrecords_should-list-identifiers-from-arxiv_0_http503.html"))


# ---- our own payloads


def test_deleted_records_carry_no_paper() -> None:
    page = parse_list_records(list_records([
        Rec("2611.00001"), Rec("2611.00002", deleted=True, datestamp="2026-11-28"), Rec("2611.00003")]))

    assert [r.deleted for r in page.records] == [False, True, False]
    deleted = page.records[1]
    assert deleted.identifier == "oai:arXiv.org:2611.00002" and deleted.datestamp == date(2026, 11, 28)


def test_an_empty_token_ends_the_list_and_keeps_its_counts() -> None:
    page = parse_list_records(list_records([Rec("2611.00001")], last=True, list_size=3501, cursor=3500))
    assert page.next_token is None
    assert page.token is not None and page.token.complete_list_size == 3501 and page.token.cursor == 3500


def test_arxivs_current_token_has_an_expiry_and_no_counts() -> None:
    page = parse_list_records(list_records([Rec("2611.00001")], token="from%3D2026-11-27%26skip%3D3500"))
    assert page.token is not None
    assert page.next_token == "from%3D2026-11-27%26skip%3D3500"
    assert page.token.complete_list_size is None
    assert page.token.expires == datetime(2026, 11, 29, tzinfo=UTC)


def test_versions_give_first_and_latest_dates_whatever_their_order() -> None:
    page = parse_list_records(list_records([Rec(
        "2611.00001", versions=("Mon, 02 Nov 2026 18:00:00 GMT", "Tue, 24 Nov 2026 09:30:00 GMT"),
        extra="", doi="10.1000/xyz", journal_ref="J. Things 1 (2026)", comments="9 pages")]))
    paper = page.records[0].paper
    assert paper is not None
    assert paper.version == 2
    assert paper.published == datetime(2026, 11, 2, 18, tzinfo=UTC)
    assert paper.updated == datetime(2026, 11, 24, 9, 30, tzinfo=UTC)
    assert (paper.doi, paper.journal_ref, paper.comment) == ("10.1000/xyz", "J. Things 1 (2026)", "9 pages")


def test_a_bad_record_is_skipped_and_counted() -> None:
    no_title = Rec("2611.00002", title="   ")
    bad_id = Rec("not-an-id")
    no_category = Rec("2611.00004", categories="")
    no_metadata = ("<record><header><identifier>oai:arXiv.org:2611.00005</identifier>"
                   "<datestamp>2026-11-27</datestamp></header></record>")
    no_datestamp = "<record><header><identifier>oai:arXiv.org:2611.00006</identifier></header></record>"
    page = parse_list_records(list_records(
        [Rec("2611.00001"), no_title, bad_id, no_category, no_metadata, no_datestamp, Rec("2611.00007")]))
    assert [r.paper.id for r in page.records if r.paper] == ["2611.00001", "2611.00007"]
    assert page.skipped == 5


def test_an_error_beside_no_records_match_is_raised() -> None:
    body = oai_error("badArgument", "Illegal set").replace(
        b"</OAI-PMH>", b'<error code="noRecordsMatch">Nothing</error></OAI-PMH>')
    with pytest.raises(OaiError, match="badArgument: Illegal set"):
        parse_list_records(body)


@pytest.mark.parametrize("body", [
    b"", b"<html><body>Service Unavailable</body></html>", b"<OAI-PMH><ListRecords>",
    b'<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"/>',
    b'<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/"><responseDate>x</responseDate></OAI-PMH>',
])
def test_malformed_or_foreign_xml_is_one_clear_error(body: bytes) -> None:
    with pytest.raises(UpstreamError) as raised:
        parse_list_records(body)
    assert "OAI-PMH" in str(raised.value) and "\n" not in str(raised.value)


def test_entity_declarations_are_refused() -> None:
    with pytest.raises(UpstreamError, match=r"declares XML entities|not well-formed"):
        parse_list_records((OWN / "billion_laughs.atom").read_bytes())
    declared = list_records([Rec("2611.00001", extra="<note>&who;</note>")]).replace(
        b"<OAI-PMH ", b'<!DOCTYPE OAI-PMH [<!ENTITY who "Ada">]>\n<OAI-PMH ', 1)
    with pytest.raises(UpstreamError, match="declares XML entities"):
        parse_list_records(declared)


# ---- authors as arXiv writes them


@pytest.mark.parametrize(("raw", "names"), [
    ("Ada Lovelace and Alan Turing", ("Ada Lovelace", "Alan Turing")),
    ("A. One, B. Two, and C. Three", ("A. One", "B. Two", "C. Three")),
    ("A. Smith (MIT, Cambridge), B. Jones (Dept. of Physics and Astronomy)", ("A. Smith", "B. Jones")),
    ("C. Bal\\'azs, E. L. Berger", ("C. Balázs", "E. L. Berger")),
    ("The ATLAS Collaboration", ("The ATLAS Collaboration",)),
    ("Brandon Anderson, Sandra Andrews", ("Brandon Anderson", "Sandra Andrews")),
    ("", ()),
])
def test_raw_author_strings_become_names(raw: str, names: tuple[str, ...]) -> None:
    assert split_raw_authors(raw) == names


@pytest.mark.parametrize(("tex", "text"), [
    ("G\\\"unter", "Günter"), ("Fran\\c{c}ois", "François"), ("{\\L}ukasz Ma{\\l}ecki", "Łukasz Małecki"),
    ("\\v{S}koda", "Škoda"), ("Erd\\H{o}s", "Erdős"), ("{\\AA}ngstr\\\"om", "Ångström"),
    ("Ja\\'{\\i}me", "Jaíme"), ("M\\\"{u}ller", "Müller"), ("Plain Name", "Plain Name"),
])
def test_tex_accents_in_names_become_unicode(tex: str, text: str) -> None:
    assert decode_tex_accents(tex) == text
