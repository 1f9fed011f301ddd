"""``hotpapers top`` and ``hotpapers signals`` as a user runs them."""

from __future__ import annotations

import asyncio
import importlib.util
import json
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from bot import cli
from bot.models import Announcement, Paper
from bot.sources.observations import Observation
from bot.store import Store
from tests.harness import cli_on

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "engagement"
MAILING = date(2021, 7, 14)
NOW = datetime(2021, 7, 15, 12, 0, tzinfo=UTC)
needs_paper_json = pytest.mark.skipif(importlib.util.find_spec("bot.jsonout") is None,
                                      reason="bot/jsonout.py (paper_json) is written by the store engineer")


def paper(paper_id: str, *categories: str) -> Paper:
    return Paper(paper_id, 1, f"Paper {paper_id}", ("A. Author", "B. Author"), "Abstract.", categories[0],
                 categories)


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    for name in ("HOTPAPERS_X_BEARER", "HOTPAPERS_BLUESKY_HANDLE", "HOTPAPERS_BLUESKY_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    db = tmp_path / "hotpapers.db"
    cli_on(monkeypatch, db, NOW)
    store = Store(db)
    store.record_announcements([
        Announcement(paper("2107.05677", "cs.SD", "cs.LG"), MAILING, "new", "cs.SD"),
        Announcement(paper("2107.06263", "cs.CV"), MAILING, "new", "cs.CV"),
        # Announced in eess.AS as a cross-list: it counts for eess.AS (and cs.SD, its primary) too.
        Announcement(paper("2107.05944", "cs.SD", "eess.AS"), MAILING, "cross", "eess.AS"),
        Announcement(paper("2107.05999", "math.CO"), date(2021, 7, 13), "new", "math.CO"),
    ])
    store.record_observations([
        Observation("x", "1", ("2107.05677",), {"retweets": 100, "likes": 20}, "https://x.com/a/status/1",
                    NOW),
        Observation("hn", "9", ("2107.06263",), {"points": 80, "comments": 4},
                    "https://news.ycombinator.com/item?id=9", NOW),
        Observation("hf", "2107.05944", ("2107.05944",), {"upvotes": 11, "comments": 0},
                    "https://huggingface.co/papers/2107.05944", NOW),
    ])
    store.close()
    return db


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@needs_paper_json
def test_category_includes_cross_lists_and_keeps_each_sources_breakdown(env, capsys) -> None:  # type: ignore[no-untyped-def]
    code, out, _ = run(capsys, "top", "--category", "eess.AS", "--json")
    assert code == 0
    document = json.loads(out)
    assert (document["mailing"], document["category"]) == ("2021-07-14", "eess.AS")
    assert [(p["id"], p["rank"], p["score"], p["signals"]) for p in document["papers"]] == [
        ("2107.05944", 1, 55, {"hf": {"upvotes": 11, "comments": 0}})]
    code, out, _ = run(capsys, "top", "--json")  # latest mailing, every category
    assert [(p["id"], p["score"]) for p in json.loads(out)["papers"]] == [
        ("2107.05677", 120), ("2107.06263", 80), ("2107.05944", 55)]


def test_a_quiet_day_says_so(env, capsys) -> None:  # type: ignore[no-untyped-def]
    code, out, _ = run(capsys, "top", "--date", "2021-07-13")
    assert code == 0
    assert "quiet day" in out and "no paper of this mailing has any engagement" in out
    code, out, _ = run(capsys, "top", "--date", "2021-07-13", "--json")
    assert json.loads(out) == {"mailing": "2021-07-13", "category": None, "papers": []}


@pytest.mark.parametrize(("argv", "message"), [
    (("top", "--date", "14/07/2021"), "is not a date like 2021-07-14"),
    (("top", "--date", "2021-07-10"), "no mailing of 2021-07-10 is stored"),
    (("top", "--category", "cs.NOPE"), "cs.NOPE"),
    (("top", "--limit", "0"), "--limit must be between 1 and 100"),
])
def test_expected_failures_are_one_line_without_traceback(env, capsys, argv, message) -> None:  # type: ignore[no-untyped-def]
    code, out, err = run(capsys, *argv)
    assert code != 0 and out == ""
    assert message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


@needs_paper_json
async def test_signals_refreshes_now_and_summarises_each_source(env, capsys, upstream, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    upstream.reply("/hf/daily_papers", json.loads((FIXTURES / "hf_daily_papers_2021-07-15.json").read_text()),
                   query={"date": "2021-07-15"})
    upstream.reply("/hf/daily_papers", [], query={"date": "2021-07-14"})
    upstream.reply("/hn/search_by_date", {"message": "down for maintenance"}, status=503,
                   headers={"Retry-After": "0"})
    monkeypatch.setenv("HOTPAPERS_HF_API", upstream.url + "/hf")
    monkeypatch.setenv("HOTPAPERS_HN_API", upstream.url + "/hn")
    monkeypatch.setenv("HOTPAPERS_SIGNALS_HF_DAYS", "2")
    code = await asyncio.to_thread(cli.main, ["signals", "--date", "2021-07-14"])
    out = capsys.readouterr().out
    assert code == 0
    lines = {line.split()[0]: line for line in out.splitlines()[2:]}
    # status, queried, matched, requests: two days scanned, and one engaged paper the scan missed looked up
    assert lines["hf"].split()[1:5] == ["ok", "3", "2", "3"]
    assert lines["hn"].split()[1:2] == ["failed"] and "down: HTTP 503" in lines["hn"]
    assert len(upstream.requests_to("/hn/search_by_date")) == 3  # tried, retried twice, reported
    assert "off" in lines["x"] and "HOTPAPERS_X_BEARER" in lines["x"]
    code = await asyncio.to_thread(cli.main, ["top", "--json"])
    top = json.loads(capsys.readouterr().out)
    assert top["papers"][0]["id"] == "2107.05677"
    assert top["papers"][0]["signals"] == {"hf": {"upvotes": 41, "comments": 3},
                                           "x": {"retweets": 100, "likes": 20}}
    # The refresh's time is what the counts are "as of" now.
    code = await asyncio.to_thread(cli.main, ["top", "--limit", "1"])
    assert "engagement as of 2021-07-15 12:00:00 UTC" in capsys.readouterr().out
    # doctor reports each source's last refresh, the failed one with its reason.
    monkeypatch.setenv("HOTPAPERS_ARXIV_API", upstream.url + "/api/query")
    monkeypatch.setenv("HOTPAPERS_ARXIV_FEEDS", upstream.url + "/rss")
    monkeypatch.setenv("HOTPAPERS_ARXIV_INTERVAL", "0")
    monkeypatch.setenv("HOTPAPERS_BLUESKY_API", upstream.url + "/xrpc")
    monkeypatch.setenv("HOTPAPERS_X_API", upstream.url + "/x")
    await asyncio.to_thread(cli.main, ["doctor"])
    out = capsys.readouterr().out
    section = out[out.index("engagement (each source's last refresh)"):].splitlines()[1:5]
    doctor = {line.split()[0]: line for line in section}
    assert set(doctor) == {"bluesky", "hf", "hn", "x"}
    assert doctor["hn"].split()[1:2] == ["failed"] and "at 2021-07-15 12:00 UTC" in doctor["hn"]
    assert doctor["hn"].endswith("3 requests, 0 of 3 papers engaged: down: HTTP 503, Retry-After 0 s")
    assert doctor["hf"].split()[1:2] == ["ok"] and "2 of 3 papers engaged" in doctor["hf"]
    assert doctor["x"].split()[1:2] == ["off"] and "HOTPAPERS_X_BEARER" in doctor["x"]


def test_doctor_before_any_refresh_says_so(env, capsys, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    for name in ("HF", "HN", "BLUESKY", "X", "ARXIV"):  # nothing listens on port 9: each probe fails at once
        monkeypatch.setenv(f"HOTPAPERS_{name}_API", "http://127.0.0.1:9")
    monkeypatch.setenv("HOTPAPERS_ARXIV_FEEDS", "http://127.0.0.1:9")
    monkeypatch.setenv("HOTPAPERS_ARXIV_INTERVAL", "0")
    cli.main(["doctor"])
    out = capsys.readouterr().out
    assert "engagement (each source's last refresh)\n  no refresh yet ('hotpapers signals' runs one)" in out


@needs_paper_json
def test_weights_come_from_the_settings_and_min_score_is_for_digests_only(env, capsys, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    # One rule for `hotpapers top` and `/top` (README): every engaged paper is listed, whatever min_score.
    monkeypatch.setenv("HOTPAPERS_RANKING_MIN_SCORE", "100")
    code, out, _ = run(capsys, "top", "--json")
    assert code == 0
    assert [(p["id"], p["score"]) for p in json.loads(out)["papers"]] == [
        ("2107.05677", 120), ("2107.06263", 80), ("2107.05944", 55)]
    monkeypatch.setenv("HOTPAPERS_RANKING_WEIGHTS_HF", "10")  # 11 upvotes now weigh 110
    monkeypatch.setenv("HOTPAPERS_RANKING_WEIGHTS_X", "0.5")  # 120 retweets + likes now weigh 60
    code, out, _ = run(capsys, "top", "--json")
    assert code == 0
    assert [(p["id"], p["score"], p["signals"]) for p in json.loads(out)["papers"]][:1] == [
        ("2107.05944", 110, {"hf": {"upvotes": 11, "comments": 0}})]
