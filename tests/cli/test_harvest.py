"""``hotpapers harvest`` from the command line against the threaded replay server: the summary and progress
lines, one-line errors, Ctrl-C, and a harvest SIGKILLed mid-way that resumes without losing or repeating
records."""

from __future__ import annotations

import asyncio
import io
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from aiohttp import web

from bot.cli import main
from bot.cli.harvest import ProgressLine, format_progress
from bot.clock import FileClock
from bot.config import SettingsError, load_settings
from bot.harvest import HarvestProgress
from bot.store import Store
from tests.engines import CHILD_PROCESS
from tests.fakes.threaded import ThreadedUpstream, threaded_upstream  # noqa: F401  (fixture)
from tests.fakes.upstream import Reply
from tests.fixtures.arxiv.oai import Pages, oai_error, papers
from tests.polling import eventually

TODAY = datetime(2026, 11, 28, 8, 0, tzinfo=UTC)


@pytest.fixture
def env(threaded_upstream: ThreadedUpstream, tmp_path: Path,  # noqa: F811
        monkeypatch: pytest.MonkeyPatch) -> Iterator[ThreadedUpstream]:
    """The settings a user would set, pointing at the replay server; also exported for subprocesses."""
    monkeypatch.chdir(tmp_path)  # no stray config/hotpapers.toml or .env
    (tmp_path / "empty.toml").write_text("")
    FileClock.write(tmp_path / "clock.txt", TODAY)
    for variable, value in (("HOTPAPERS_CONFIG", str(tmp_path / "empty.toml")),
                            ("HOTPAPERS_DB", str(tmp_path / "hp.db")),
                            ("HOTPAPERS_ARXIV_OAI", threaded_upstream.url + "/oai"),
                            ("HOTPAPERS_ARXIV_INTERVAL", "0"),
                            ("HOTPAPERS_TEST_CLOCK", str(tmp_path / "clock.txt")),
                            ("HOTPAPERS_LOG_LEVEL", "WARNING")):
        monkeypatch.setenv(variable, value)
    for variable in ("HOTPAPERS_INGEST_CATEGORIES", "HOTPAPERS_HARVEST_SETS"):
        monkeypatch.delenv(variable, raising=False)
    yield threaded_upstream


def tokens_asked(upstream: ThreadedUpstream) -> list[str | None]:
    return [request.query.get("resumptionToken") for request in upstream.requests_to("/oai")]


def stored_ids(db: Path) -> list[str]:
    store = Store(db)
    try:
        return [row[0] for row in store.db.conn.execute("SELECT id FROM papers ORDER BY id")]
    finally:
        store.close()


def harvest_token(db: Path) -> str | None:
    store = Store(db)
    try:
        state = store.harvest_state("cs")
        return state.token if state else None
    finally:
        store.close()


def hotpapers(*args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([str(Path(sys.executable).parent / "hotpapers"), *args], env=dict(os.environ),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def test_harvest_prints_progress_and_a_summary(env: ThreadedUpstream, tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    Pages(papers(7, datestamp="2026-11-27"), per_page=3).script(env)

    assert main(["harvest", "--sets", "cs.LG"]) == 0

    out, err = capsys.readouterr()
    assert out.splitlines() == [
        "cs:cs:LG: 7 records: 7 new, 0 updated, 0 unchanged; next run from 2026-11-27",
        "3 requests to arXiv",
    ]
    # stderr is not a terminal here: the first page's line, then at most one every 30 s.
    assert err.splitlines()[0].startswith("harvest cs:cs:LG: 3 records (")
    assert "up to 2026-11-27" in err and "Traceback" not in err
    assert env.requests_to("/oai")[0].query["set"] == "cs:cs:LG"
    assert len(stored_ids(tmp_path / "hp.db")) == 7


def test_the_default_sets_are_the_archives_of_the_followed_categories(env: ThreadedUpstream,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOTPAPERS_INGEST_CATEGORIES", "cs.LG,stat.ML,hep-th")
    env.reply("/oai", oai_error("noRecordsMatch", "No records."), content_type="text/xml")

    assert main(["harvest", "--from", "2026-11-01"]) == 0

    asked = [(r.query["set"], r.query["from"]) for r in env.requests_to("/oai")]
    assert asked == [("cs", "2026-11-01"), ("stat", "2026-11-01"), ("physics:hep-th", "2026-11-01")]


@pytest.mark.parametrize(("args", "message"), [
    (["--from", "28/11/2026"], "hotpapers: --from '28/11/2026' is not a date; give it as YYYY-MM-DD"),
    (["--sets", "cs,sttat"], "hotpapers: 'sttat' is not an arXiv category; did you mean stat?"),
])
def test_bad_arguments_are_one_line(env: ThreadedUpstream, capsys: pytest.CaptureFixture[str],
                                    args: list[str], message: str) -> None:
    assert main(["harvest", *args]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(message)
    assert env.requests_to("/oai") == []


def test_an_oai_error_is_one_line(env: ThreadedUpstream, capsys: pytest.CaptureFixture[str]) -> None:
    env.reply("/oai", oai_error("badArgument", "Invalid set: moo"), content_type="text/xml")
    assert main(["harvest", "--sets", "physics:moo"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["hotpapers: harvest of physics:moo failed: arXiv OAI-PMH refused the request "
                   "(badArgument: Invalid set: moo)"]


@pytest.mark.sqlite_only(CHILD_PROCESS)
def test_a_harvest_sigkilled_after_page_k_resumes_without_losing_or_repeating_records(
        env: ThreadedUpstream, tmp_path: Path) -> None:
    records = papers(12, datestamp="2026-11-27")
    pages = Pages(records, per_page=3)  # pages 1-4 behind tokens t1, t2, t3
    pages.script(env)
    first = hotpapers("harvest", "--sets", "cs")
    killed = False

    async def kill_when_page_3_is_asked(request: web.Request) -> Reply:
        # Page 3 is asked while page 2 is being stored: once page 2 and its token are in, kill the harvest
        # before page 3 arrives.
        nonlocal killed
        if not killed:
            killed = True
            await eventually(lambda: harvest_token(tmp_path / "hp.db") == "t2", 10, "page 2 and its token stored")
            first.send_signal(signal.SIGKILL)
            await asyncio.get_running_loop().run_in_executor(None, first.wait)
            return Reply(drop=True)
        return Reply(body=pages.bodies[2], content_type="text/xml")

    env.handle("/oai", kill_when_page_3_is_asked, query={"resumptionToken": "t2"})
    try:
        assert first.wait(timeout=30) == -signal.SIGKILL
    finally:
        if first.poll() is None:
            first.kill()
    assert len(stored_ids(tmp_path / "hp.db")) == 6
    assert tokens_asked(env) == [None, "t1", "t2"]

    second = hotpapers("harvest", "--sets", "cs")
    out, err = second.communicate(timeout=30)

    assert second.returncode == 0, err.decode()
    assert tokens_asked(env) == [None, "t1", "t2", "t2", "t3"]  # page 3 asked again, nothing else
    assert stored_ids(tmp_path / "hp.db") == [r.id for r in records]
    assert "cs: 6 records (resumed): 6 new, 0 updated, 0 unchanged" in out.decode()


@pytest.mark.sqlite_only(CHILD_PROCESS)
def test_ctrl_c_says_how_to_resume_and_the_same_command_resumes(env: ThreadedUpstream, tmp_path: Path) -> None:
    pages = Pages(papers(9), per_page=3)
    pages.script(env)
    first = hotpapers("harvest", "--sets", "cs", "--from", "2026-11-01")
    interrupted = False

    async def ctrl_c_while_page_2_is_on_its_way(request: web.Request) -> Reply:
        nonlocal interrupted
        if not interrupted:
            interrupted = True
            first.send_signal(signal.SIGINT)
            await asyncio.get_running_loop().run_in_executor(None, first.wait)
            return Reply(drop=True)
        return Reply(body=pages.bodies[1], content_type="text/xml")

    env.handle("/oai", ctrl_c_while_page_2_is_on_its_way, query={"resumptionToken": "t1"})
    _, err = first.communicate(timeout=30)

    assert first.returncode == 130
    lines = err.decode().strip().splitlines()
    assert lines[-1] == ("hotpapers: harvest interrupted; every page received is stored: run the same command "
                         "again to continue where it stopped")
    assert "Traceback" not in err.decode()

    again = hotpapers("harvest", "--sets", "cs", "--from", "2026-11-01")
    out, _ = again.communicate(timeout=30)
    assert again.returncode == 0
    assert tokens_asked(env) == [None, "t1", "t1", "t2"]
    assert "cs: 6 records changed since 2026-11-01 (resumed): 6 new" in out.decode()
    assert len(stored_ids(tmp_path / "hp.db")) == 9


# ---- the progress line


def test_the_progress_line_gives_share_rate_and_time_left() -> None:
    progress = HarvestProgress("cs", None, 7000, 58011, date(2015, 1, 3), 7000, 2, date(2026, 11, 28))
    assert format_progress(progress, 100.0) == (
        "harvest cs: 7,000 / 58,011 records (12.1%) · 4,200 records/min · ~12 min left · up to 2015-01-03")
    by_date = HarvestProgress("", None, 700_000, None, date(2016, 3, 16), 350_000, 100, date(2026, 11, 28))
    assert format_progress(by_date, 3600.0) == (
        "harvest all of arXiv: 700,000 records (49.5% by date) · 5,833 records/min · ~2.0 h left"
        " · up to 2016-03-16")


def test_without_a_terminal_progress_lines_are_spaced_out() -> None:
    stream = io.StringIO()
    now = [0.0]
    line = ProgressLine(stream, monotonic=lambda: now[0])
    progress = HarvestProgress("cs", None, 3, None, date(2026, 11, 27), 3, 1, date(2026, 11, 28))
    for moment in (1.0, 10.0, 31.5, 40.0):
        now[0] = moment
        line(progress)
    assert len(stream.getvalue().splitlines()) == 2  # at 1 s and 31.5 s


# ---- settings


def test_harvest_settings_are_read_and_checked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    settings = load_settings({"HOTPAPERS_HARVEST_SETS": "cs,hep-th", "HOTPAPERS_HARVEST_TIME": "off",
                              "HOTPAPERS_ARXIV_OAI": "http://mirror.example/oai/"}, dotenv=None)
    assert settings.harvest.sets == ("cs", "physics:hep-th") and settings.harvest.time == "off"
    assert settings.arxiv_oai == "http://mirror.example/oai"
    defaults = load_settings({}, dotenv=None)
    assert (defaults.harvest.time, defaults.harvest.sets) == ("03:00", ())
    assert defaults.arxiv_oai == "https://oaipmh.arxiv.org/oai"
    for variable, value, message in (
            ("HOTPAPERS_HARVEST_TIME", "25:00", "setting HOTPAPERS_HARVEST_TIME: '25:00' is not a time"),
            ("HOTPAPERS_HARVEST_SETS", "cs,sttat", "setting HOTPAPERS_HARVEST_SETS: 'sttat' is not an arXiv"),
            ("HOTPAPERS_ARXIV_OAI", "oaipmh.arxiv.org", "setting HOTPAPERS_ARXIV_OAI: 'oaipmh.arxiv.org' is not")):
        with pytest.raises(SettingsError) as raised:
            load_settings({variable: value}, dotenv=None)
        assert str(raised.value).startswith(message)
