"""The OAI-PMH client and the harvest loop against the local upstream fake: pages behind resumption tokens,
flow control, error codes, incremental runs, expired tokens, pacing, and what the store ends up holding."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from bot.clock import ManualClock
from bot.config import HarvestSettings, Settings
from bot.errors import UnknownCategory, UpstreamError
from bot.harvest import (
    HarvestError,
    HarvestProgress,
    default_sets,
    harvest,
    harvest_daily,
    parse_sets,
    set_spec,
)
from bot.models import Announcement, Paper
from bot.sources.http import Pacer, RetryPolicy
from bot.sources.oai import OaiClient, OaiError
from bot.store import AsyncStore, HarvestState, Store
from tests.clocks import SteppedClock
from tests.fakes.upstream import UpstreamServer
from tests.fixtures.arxiv.oai import Pages, Rec, list_records, oai_error, papers

NOW = datetime(2026, 11, 28, 8, 0, tzinfo=UTC)
FAST = RetryPolicy(attempts=3, backoff=0.01, max_backoff=0.05, max_retry_after=60.0, timeout=5.0)


def settings_for(upstream: UpstreamServer, db: Path | None = None, interval: float = 0.0) -> Settings:
    return Settings(arxiv_oai=upstream.url + "/oai", arxiv_interval=interval,
                    db_path=db or Path("unused.db"))


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[AsyncStore]:
    opened = AsyncStore(tmp_path / "hp.db")
    await opened.open()
    try:
        yield opened
    finally:
        await opened.close()


async def run(upstream: UpstreamServer, store: AsyncStore, sets: tuple[str, ...] = ("cs",), *,
              from_date: date | None = None, pacer: Pacer | None = None, interval: float = 0.0,
              progress: list[HarvestProgress] | None = None):  # type: ignore[no-untyped-def]
    async with OaiClient(settings_for(upstream, interval=interval), retry=FAST, pacer=pacer) as oai:
        return await harvest(oai, store, sets, clock=ManualClock(NOW), from_date=from_date,
                             progress=progress.append if progress is not None else None)


def oai_requests(upstream: UpstreamServer) -> list[dict[str, str]]:
    return [request.query for request in upstream.requests_to("/oai")]


# ---- which sets


@pytest.mark.parametrize(("code", "spec"), [
    ("cs", "cs"), ("stat", "stat"), ("math", "math"), ("physics", "physics:physics"), ("hep-th", "physics:hep-th"),
    ("astro-ph", "physics:astro-ph"), ("math-ph", "physics:math-ph"), ("cs.LG", "cs:cs:LG"),
    ("cond-mat.str-el", "physics:cond-mat:str-el"), ("q-bio.NC", "q-bio:q-bio:NC"), ("all", ""),
    ("physics:hep-lat", "physics:hep-lat"), ("CS", "cs"), ("cs.SY", "eess:eess:SY"), ("econ", "econ"),
    ("q-fin", "q-fin"), ("physics.optics", "physics:physics:optics"),
])
def test_set_specs_follow_arxivs_group_archive_category_form(code: str, spec: str) -> None:
    assert set_spec(code) == spec


def test_default_sets_are_the_archives_of_the_followed_categories() -> None:
    assert default_sets(("cs.LG", "cs.CV", "cs.CL", "cs.AI", "stat.ML")) == ("cs", "stat")
    assert default_sets(("hep-th", "astro-ph.CO", "math.AG", "cs")) == ("physics:hep-th", "physics:astro-ph",
                                                                        "math", "cs")
    assert parse_sets(["cs", "all", "stat"]) == ("",)


def test_an_unknown_set_is_refused_with_a_suggestion() -> None:
    with pytest.raises(UnknownCategory, match="did you mean"):
        parse_sets(["cs", "sttat"])


# ---- the client


async def test_a_recorded_503_retry_after_is_flow_control(upstream: UpstreamServer, shared_fixtures: Path) -> None:
    busy = (shared_fixtures / "arxiv_oaipmh" / "listrecords_should-list-identifiers-from-arxiv_0_http503.html")
    upstream.reply("/oai", busy.read_bytes(), status=503, headers={"Retry-After": "10"}, content_type="text/html")
    upstream.reply("/oai", list_records([Rec("2611.00001")]), content_type="text/xml")
    clock = SteppedClock()
    async with OaiClient(settings_for(upstream), retry=FAST,
                         pacer=Pacer(monotonic=clock.monotonic, sleep=clock.sleep)) as oai:
        page = await oai.list_records(set_spec="cs")
    assert [r.paper.id for r in page.records if r.paper] == ["2611.00001"]
    first, second = oai_requests(upstream)
    assert first == second == {"verb": "ListRecords", "metadataPrefix": "arXivRaw", "set": "cs"}
    assert clock.waits == [pytest.approx(10.0)]  # the server's 10 s, through the shared pacer's clock


async def test_an_oai_error_over_http_400_is_raised_with_its_code(upstream: UpstreamServer) -> None:
    upstream.reply("/oai", oai_error("badArgument", "Unallowed parameter."), status=400, content_type="text/xml")
    async with OaiClient(settings_for(upstream), retry=FAST) as oai:
        with pytest.raises(OaiError) as raised:
            await oai.list_records(set_spec="cs")
    assert raised.value.code == "badArgument"
    assert len(upstream.requests_to("/oai")) == 1  # an answer, not worth a retry


async def test_a_server_that_stays_down_is_one_clear_error(upstream: UpstreamServer) -> None:
    upstream.reply("/oai", b"<html>Internal error</html>", status=500, content_type="text/html")
    async with OaiClient(settings_for(upstream), retry=FAST) as oai:
        with pytest.raises(UpstreamError) as raised:
            await oai.list_records()
    assert "arXiv is unavailable: HTTP 500 after 3 tries" in str(raised.value)
    upstream.clear()
    upstream.reply("/oai", b"Not here", status=404, content_type="text/plain")
    async with OaiClient(settings_for(upstream), retry=FAST) as oai:
        with pytest.raises(UpstreamError, match="arXiv OAI-PMH answered HTTP 404"):
            await oai.list_records()


async def test_a_resumption_token_is_sent_alone(upstream: UpstreamServer) -> None:
    upstream.reply("/oai", list_records([Rec("2611.00001")], last=True), content_type="text/xml")
    async with OaiClient(settings_for(upstream)) as oai:
        await oai.resume("from%3D2026-11-27%26skip%3D3500")
    assert oai_requests(upstream) == [{"verb": "ListRecords", "resumptionToken": "from%3D2026-11-27%26skip%3D3500"}]


# ---- the harvest


async def test_a_harvest_walks_every_page_and_stores_every_record(upstream: UpstreamServer,
                                                                  store: AsyncStore) -> None:
    records = (papers(4, datestamp="2026-11-20") + papers(4, start=5, datestamp="2026-11-25")
               + [Rec("2611.00009", deleted=True, datestamp="2026-11-26")]
               + papers(2, start=10, datestamp="2026-11-27"))
    Pages(records, per_page=3, list_size=True).script(upstream)
    progress: list[HarvestProgress] = []

    report = await run(upstream, store, progress=progress)

    [result] = report.sets
    assert (result.records, result.pages, result.deleted) == (11, 4, 1)
    assert (result.counts.new, result.counts.updated, result.counts.skipped) == (10, 0, 0)
    assert result.completed and result.next_from == date(2026, 11, 27)
    assert report.requests == 4
    assert oai_requests(upstream) == [
        {"verb": "ListRecords", "metadataPrefix": "arXivRaw", "set": "cs"},
        {"verb": "ListRecords", "resumptionToken": "t1"},
        {"verb": "ListRecords", "resumptionToken": "t2"},
        {"verb": "ListRecords", "resumptionToken": "t3"},
    ]
    assert await store.run(Store.paper_count) == 10
    stored = await store.run(Store.paper, "2611.00007")
    assert stored is not None and stored.title == "Harvested paper number 7"
    assert stored.published == datetime(2026, 11, 2, 18, tzinfo=UTC)
    assert [(p.records, p.list_size) for p in progress] == [(3, 11), (6, 11), (9, 11), (11, 11)]
    assert progress[1].fraction() == pytest.approx(6 / 11)
    state = await store.run(Store.harvest_state, "cs")
    assert state == HarvestState("cs", next_from=date(2026, 11, 27), completed_at=NOW)


async def test_the_next_run_is_incremental_from_the_last_datestamp(upstream: UpstreamServer,
                                                                   store: AsyncStore) -> None:
    Pages(papers(5, datestamp="2026-11-26"), per_page=2).script(upstream)
    await run(upstream, store)
    upstream.clear()
    upstream.reply("/oai", list_records([Rec("2611.00003", versions=(
        "Mon, 2 Nov 2026 18:00:00 GMT", "Sat, 28 Nov 2026 01:00:00 GMT"), datestamp="2026-11-28")]),
        content_type="text/xml")

    report = await run(upstream, store)

    assert oai_requests(upstream) == [
        {"verb": "ListRecords", "metadataPrefix": "arXivRaw", "set": "cs", "from": "2026-11-26"}]
    [result] = report.sets
    assert (result.counts.new, result.counts.updated, result.next_from) == (0, 1, date(2026, 11, 28))
    stored = await store.run(Store.paper, "2611.00003")
    assert stored is not None and stored.version == 2

    upstream.clear()
    upstream.reply("/oai", oai_error("noRecordsMatch", "No records."), content_type="text/xml")
    nothing = await run(upstream, store)
    assert oai_requests(upstream)[0]["from"] == "2026-11-28"
    assert nothing.sets[0].records == 0 and nothing.sets[0].next_from == date(2026, 11, 28)


async def test_from_starts_a_new_list_and_each_set_keeps_its_own_state(upstream: UpstreamServer,
                                                                       store: AsyncStore) -> None:
    upstream.reply("/oai", list_records(papers(1)), content_type="text/xml", query={"set": "cs"})
    upstream.reply("/oai", list_records(papers(1, month="2610", datestamp="2026-10-30")),
                   content_type="text/xml", query={"set": "stat"})

    report = await run(upstream, store, ("cs", "stat"), from_date=date(2026, 10, 1))

    assert [q.get("from") for q in oai_requests(upstream)] == ["2026-10-01", "2026-10-01"]
    assert [r.next_from for r in report.sets] == [date(2026, 11, 27), date(2026, 10, 30)]
    states = await store.run(Store.harvest_states)
    assert [(s.set_spec, s.next_from) for s in states] == [("cs", date(2026, 11, 27)),
                                                           ("stat", date(2026, 10, 30))]


async def test_a_paper_first_seen_in_a_feed_gets_dates_versions_doi_and_journal_ref(
        upstream: UpstreamServer, store: AsyncStore) -> None:
    feed_paper = Paper(id="2611.00001", version=2, title="A paper", authors=("Ada Lovelace",),
                       abstract="We study things.", primary_category="cs.LG", categories=("cs.LG",),
                       mailing=date(2026, 11, 25))
    newer = Paper(id="2611.00002", version=3, title="Newest title", authors=("Alan Turing",),
                  abstract="v3 abstract", primary_category="cs.LG", categories=("cs.LG",))
    await store.run(Store.record_announcements, [Announcement(feed_paper, date(2026, 11, 25), "new", "cs.LG")])
    await store.run(Store.upsert_papers, [newer])
    upstream.reply("/oai", list_records([
        Rec("2611.00001", versions=("Mon, 2 Nov 2026 18:00:00 GMT", "Tue, 24 Nov 2026 09:30:00 GMT"),
            doi="10.1000/xyz", journal_ref="J. Things 1 (2026)", authors="Ada Lovelace"),
        Rec("2611.00002", title="An older title", versions=("Mon, 2 Nov 2026 18:00:00 GMT",)),
    ]), content_type="text/xml")

    report = await run(upstream, store)

    assert (report.sets[0].counts.updated, report.sets[0].counts.skipped) == (1, 1)
    enriched = await store.run(Store.paper, "2611.00001")
    assert enriched is not None
    assert enriched.published == datetime(2026, 11, 2, 18, tzinfo=UTC)
    assert enriched.updated == datetime(2026, 11, 24, 9, 30, tzinfo=UTC)
    assert (enriched.version, enriched.doi, enriched.journal_ref) == (2, "10.1000/xyz", "J. Things 1 (2026)")
    assert enriched.mailing == date(2026, 11, 25)  # still the mailing that announced it
    kept = await store.run(Store.paper, "2611.00002")
    assert kept is not None and (kept.version, kept.title) == (3, "Newest title")


async def test_a_run_resumes_the_list_an_earlier_run_left(upstream: UpstreamServer, store: AsyncStore) -> None:
    pages = Pages(papers(9), per_page=3)
    pages.script(upstream)
    left = HarvestState("cs", token="t1", records=3, newest=date(2026, 11, 27))
    await store.run(Store.store_harvest_page, [], left)

    report = await run(upstream, store)

    assert oai_requests(upstream) == [{"verb": "ListRecords", "resumptionToken": "t1"},
                                      {"verb": "ListRecords", "resumptionToken": "t2"}]
    assert report.sets[0].resumed and report.sets[0].counts.new == 6


async def test_an_expired_token_restarts_from_the_newest_datestamp_stored(upstream: UpstreamServer,
                                                                          store: AsyncStore) -> None:
    left = HarvestState("cs", token="yesterdays", list_from=date(2026, 1, 1), records=7000,
                        newest=date(2026, 6, 3))
    await store.run(Store.store_harvest_page, [], left)
    upstream.reply("/oai", oai_error("badResumptionToken", "Token expired."), content_type="text/xml",
                   query={"resumptionToken": "yesterdays"})
    upstream.reply("/oai", list_records(papers(2, datestamp="2026-06-03"), last=True), content_type="text/xml",
                   query={"metadataPrefix": "arXivRaw"})

    report = await run(upstream, store)

    assert [q.get("from") for q in oai_requests(upstream)] == [None, "2026-06-03"]
    [result] = report.sets
    assert result.restarted and result.restarted_from == date(2026, 6, 3) and result.completed


async def test_an_expired_token_of_an_unordered_list_restarts_the_whole_list(upstream: UpstreamServer,
                                                                             store: AsyncStore) -> None:
    left = HarvestState("cs", token="old", list_from=date(2026, 1, 1), newest=date(2026, 6, 3), ordered=False)
    await store.run(Store.store_harvest_page, [], left)
    upstream.reply("/oai", oai_error("badResumptionToken"), content_type="text/xml", query={"resumptionToken": "old"})
    upstream.reply("/oai", list_records(papers(1), last=True), content_type="text/xml",
                   query={"metadataPrefix": "arXivRaw"})

    await run(upstream, store)

    assert oai_requests(upstream)[1]["from"] == "2026-01-01"  # records may be read again, never skipped


async def test_other_oai_errors_stop_the_harvest_naming_the_set(upstream: UpstreamServer,
                                                                store: AsyncStore) -> None:
    upstream.reply("/oai", oai_error("badArgument", "Invalid set: moo"), content_type="text/xml")
    with pytest.raises(HarvestError) as raised:
        await run(upstream, store, ("physics:moo",))
    assert str(raised.value) == ("harvest of physics:moo failed: arXiv OAI-PMH refused the request "
                                 "(badArgument: Invalid set: moo)")
    assert await store.run(Store.harvest_state, "physics:moo") is None


async def test_arxiv_down_mid_list_stops_with_one_line_and_keeps_what_was_stored(upstream: UpstreamServer,
                                                                                 store: AsyncStore) -> None:
    pages = Pages(papers(6), per_page=2)
    upstream.reply("/oai", pages.bodies[0], content_type="text/xml", query={"metadataPrefix": "arXivRaw"})
    upstream.reply("/oai", b"<html>Service Unavailable</html>", status=503, content_type="text/html",
                   query={"resumptionToken": "t1"})

    with pytest.raises(HarvestError) as raised:
        await run(upstream, store)

    assert str(raised.value) == ("harvest of cs stopped: arXiv is unavailable: HTTP 503 after 3 tries; try again "
                                 "in 1 min; every page received is stored, so the same command continues where "
                                 "it stopped")
    state = await store.run(Store.harvest_state, "cs")
    assert state is not None and state.token == "t1" and await store.run(Store.paper_count) == 2


async def test_pages_are_paced_one_interval_apart(upstream: UpstreamServer, store: AsyncStore) -> None:
    Pages(papers(8), per_page=2).script(upstream)
    clock = SteppedClock()

    await run(upstream, store, pacer=Pacer(monotonic=clock.monotonic, sleep=clock.sleep), interval=3.0)

    # Four requests; each after the first waited the whole interval on the pacer's clock (no real sleep).
    assert len(upstream.requests_to("/oai")) == 4
    assert clock.waits == pytest.approx([3.0, 3.0, 3.0])


def test_progress_is_estimated_from_the_datestamp_when_arxiv_sends_no_list_size() -> None:
    progress = HarvestProgress("cs", None, 700_000, None, date(2016, 3, 16), 700_000, 200, date(2026, 11, 28))
    fraction = progress.fraction()
    assert fraction is not None and 0.49 < fraction < 0.51  # 2005-09-16 → 2026-11-28, half-way in days
    assert HarvestProgress("cs", None, 5, None, None, 5, 1, date(2026, 11, 28)).fraction() is None


async def test_the_daily_harvest_brings_in_the_configured_sets_then_continues(upstream: UpstreamServer,
                                                                              store: AsyncStore) -> None:
    settings = replace(settings_for(upstream), harvest=HarvestSettings(sets=("stat",)))
    upstream.reply("/oai", list_records(papers(2, datestamp="2026-11-26"), last=True), content_type="text/xml")

    first = await harvest_daily(settings, store, ManualClock(NOW))
    second = await harvest_daily(settings, store, ManualClock(NOW))

    assert first is not None and second is not None
    assert [(r.set_spec, r.counts.new) for r in first.sets] == [("stat", 2)]
    assert second.sets[0].counts.skipped == 2
    assert [(q["set"], q.get("from")) for q in oai_requests(upstream)] == [("stat", None), ("stat", "2026-11-26")]
    upstream.clear()
    upstream.reply("/oai", oai_error("badArgument", "Try later."), content_type="text/xml")
    assert await harvest_daily(settings, store, ManualClock(NOW)) is None  # logged; tomorrow continues


async def test_a_503_mid_list_is_waited_out_and_no_record_is_lost_or_repeated(upstream: UpstreamServer,
                                                                               store: AsyncStore) -> None:
    pages = Pages(papers(6), per_page=2)
    upstream.reply("/oai", pages.bodies[0], content_type="text/xml", query={"metadataPrefix": "arXivRaw"})
    upstream.reply("/oai", b"<html><body><h1>Retry after 7 seconds</h1></body></html>", status=503,
                   headers={"Retry-After": "7"}, content_type="text/html", query={"resumptionToken": "t1"})
    upstream.reply("/oai", pages.bodies[1], content_type="text/xml", query={"resumptionToken": "t1"})
    upstream.reply("/oai", pages.bodies[2], content_type="text/xml", query={"resumptionToken": "t2"})
    clock = SteppedClock()

    report = await run(upstream, store, pacer=Pacer(monotonic=clock.monotonic, sleep=clock.sleep), interval=3.0)

    assert [q.get("resumptionToken") for q in oai_requests(upstream)] == [None, "t1", "t1", "t2"]
    assert clock.waits == pytest.approx([3.0, 7.0, 3.0])  # the interval, the server's 7 s, the interval
    assert report.sets[0].counts.new == 6 and await store.run(Store.paper_count) == 6


def test_the_harvest_state_is_its_own_versioned_part_of_the_store(tmp_path: Path) -> None:
    class OldStore(Store):
        MIGRATIONS = tuple(part for part in Store.MIGRATIONS if part[0] != "harvest")

    old = OldStore(tmp_path / "old.db")
    assert "harvest" not in old.schema_versions()
    old.close()
    upgraded = Store(tmp_path / "old.db")
    assert upgraded.schema_versions()["harvest"] == 1
    assert upgraded.harvest_state("cs") is None
    upgraded.close()
