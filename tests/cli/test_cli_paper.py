"""``hotpapers paper`` and ``hotpapers ingest`` from the command line, against the threaded replay server."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.cli import main
from tests.fakes.threaded import ThreadedUpstream, threaded_upstream  # noqa: F401  (fixture)
from tests.fixtures.arxiv.feeds import Item, rss_feed

OWN = Path(__file__).resolve().parents[1] / "fixtures" / "arxiv"
ATOM = "application/atom+xml"


@pytest.fixture
def env(threaded_upstream: ThreadedUpstream, tmp_path: Path,  # noqa: F811
        monkeypatch: pytest.MonkeyPatch) -> ThreadedUpstream:
    monkeypatch.chdir(tmp_path)  # no stray config/hotpapers.toml or .env
    for variable in ("HOTPAPERS_CONFIG", "HOTPAPERS_INGEST_CATEGORIES"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("HOTPAPERS_DB", str(tmp_path / "hp.db"))
    monkeypatch.setenv("HOTPAPERS_ARXIV_API", threaded_upstream.url + "/api/query")
    monkeypatch.setenv("HOTPAPERS_ARXIV_FEEDS", threaded_upstream.url + "/rss")
    monkeypatch.setenv("HOTPAPERS_ARXIV_INTERVAL", "0")
    return threaded_upstream


def recorded(shared: Path, name: str) -> bytes:
    return (shared / "arxiv_api" / name).read_bytes()


def test_paper_is_fetched_once_then_served_from_the_store(env: ThreadedUpstream, shared_fixtures: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    env.reply("/api/query", recorded(shared_fixtures, "arxivpy_2016/id_list_1111.2011v2.xml"),
              content_type=ATOM)

    assert main(["paper", "arXiv:1111.2011v2"]) == 0
    shown = capsys.readouterr().out
    assert ("Quantum Criticality for Extended Nodes on a Bethe Lattice in the Large Connectivity Limit"
            in shown)
    assert "James M. Murray, Adrian Del Maestro, Zlatko Tesanovic" in shown
    assert "cond-mat.str-el, cond-mat.stat-mech" in shown
    assert "published 2011-11-08" in shown and "updated 2012-04-02" in shown
    assert "https://arxiv.org/abs/1111.2011 | https://arxiv.org/pdf/1111.2011" in shown
    assert "Theoretical description of anisotropic systems" in shown

    assert main(["paper", "https://arxiv.org/abs/1111.2011"]) == 0
    assert "Quantum Criticality" in capsys.readouterr().out
    assert len(env.requests_to("/api/query")) == 1  # the second time came from the store


def test_paper_json_follows_the_contract(env: ThreadedUpstream, shared_fixtures: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("bot.jsonout", reason="bot/jsonout.py (paper_json) is written by the store engineer")
    name = "single_oldstyle_astro-ph_0601001_affiliations_journalref.xml"
    env.reply("/api/query", recorded(shared_fixtures, name), content_type=ATOM)
    assert main(["paper", "astro-ph/0601001", "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["id"] == "astro-ph/0601001" and document["version"] == 1
    assert document["authors"] == ["Andrew Gould", "Susan Dorsher", "B. Scott Gaudi", "Andrzej Udalski"]
    assert document["primary_category"] == "astro-ph" and document["categories"] == ["astro-ph"]
    assert document["published"].startswith("2006-01-02T14:57:58")
    assert document["url"] == "https://arxiv.org/abs/astro-ph/0601001"
    assert document["mailing"] is None
    assert document["title"].startswith("Frequency of Hot Jupiters")


def test_bad_id_is_refused_without_asking_arxiv(env: ThreadedUpstream,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["paper", "2107.5677x"]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    [line] = captured.err.strip().splitlines()
    assert line.startswith("hotpapers: ") and "2107.05677" in line  # shows an accepted form
    assert env.requests == []


def test_unknown_paper_exits_1(env: ThreadedUpstream, shared_fixtures: Path,
                               capsys: pytest.CaptureFixture[str]) -> None:
    env.reply("/api/query", recorded(shared_fixtures, "empty_nonexistent_id_0000.0000.xml"),
              content_type=ATOM)
    assert main(["paper", "2501.99999"]) == 1
    err = capsys.readouterr().err
    assert err.strip().splitlines()[-1] == ("hotpapers: arXiv has no paper 2501.99999. Check the id, or search "
                                            "with keywords.")


def test_unreachable_arxiv_is_one_line_no_traceback(env: ThreadedUpstream,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    env.reply("/api/query", b"busy", status=503)
    assert main(["paper", "2107.05677"]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert err.strip().splitlines()[-1] == ("hotpapers: arXiv is not answering right now, so I could not fetch "
                                            "2107.05677. Please try again in a few minutes.")
    assert len(env.requests_to("/api/query")) == 3  # the same bounded retries as the bot's /paper


def test_paper_from_a_feed_is_completed_from_the_api(env: ThreadedUpstream, shared_fixtures: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    env.reply("/rss/math.CO", rss_feed([Item("1605.08386", title="Heat-bath random walks with Markov bases",
                                            categories=("math.CO",))], title="math.CO"))
    env.reply("/api/query", recorded(shared_fixtures, "single_newstyle_1605.08386.xml"), content_type=ATOM)
    assert main(["ingest", "--categories", "math.CO"]) == 0
    capsys.readouterr()
    assert main(["paper", "1605.08386"]) == 0
    shown = capsys.readouterr().out
    assert "published 2016-05-26" in shown  # the feed has no dates; the API filled them in
    assert "announced in the 2025-11-26 mailing" in shown  # and the mailing was kept


# ---- hotpapers ingest


def test_ingest_prints_counts_and_reruns_change_nothing(env: ThreadedUpstream,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    env.reply("/rss/cs.LG+cs.AI", rss_feed([
        Item("2511.00001", categories=("cs.LG",)),
        Item("2511.00002", announce_type="cross", categories=("math.OC", "cs.AI")),
        Item("2409.00003", announce_type="replace", categories=("cs.LG",), version=2),
    ]))
    assert main(["ingest", "--categories", "cs.lg,CS.AI"]) == 0
    out = capsys.readouterr().out
    assert "mailing 2025-11-26 (cs.AI, cs.LG): 1 new," in out and "1 cross-listed" in out
    assert "1 request to arXiv" in out

    assert main(["ingest", "--categories", "cs.LG,cs.AI"]) == 0
    assert "0 new, 0 updated, 0 cross-listed, 3 skipped" in capsys.readouterr().out
    assert [r.path for r in env.requests] == ["/rss/cs.LG+cs.AI"] * 2


def test_ingest_on_a_holiday(env: ThreadedUpstream, capsys: pytest.CaptureFixture[str],
                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOTPAPERS_INGEST_CATEGORIES", "cs.LG")
    env.reply("/rss/cs.LG", (OWN / "holiday_empty.rss").read_bytes())
    assert main(["ingest"]) == 0
    assert "no mailing today (weekend or holiday) for cs.LG" in capsys.readouterr().out


def test_ingest_unknown_category_exits_1(env: ThreadedUpstream, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ingest", "--categories", "cs.LG,cs.XYZ"]) == 1
    assert "cs.XYZ" in capsys.readouterr().err
    assert env.requests == []


def test_ingest_of_a_truncated_feed_exits_1(env: ThreadedUpstream,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    whole = rss_feed([Item(f"2511.{n:05d}") for n in range(1, 30)])
    env.reply("/rss/cs.LG", whole[: len(whole) // 2])
    assert main(["ingest", "--categories", "cs.LG"]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert "not well-formed XML" in err.strip().splitlines()[-1]


def test_stored_paper_is_shown_when_arxiv_is_down(env: ThreadedUpstream,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    env.reply("/rss/cs.LG", rss_feed([Item("2511.00042", title="Kept from the feed")]))
    env.reply("/api/query", b"busy", status=503)
    assert main(["ingest", "--categories", "cs.LG"]) == 0
    capsys.readouterr()
    assert main(["paper", "2511.00042"]) == 0
    assert "Kept from the feed" in capsys.readouterr().out
    assert len(env.requests_to("/api/query")) == 1  # one quick try to complete it, no long retries


def test_ingest_with_no_categories_to_follow_fails_with_one_line_on_stderr(
        env: ThreadedUpstream, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "empty.toml"
    config.write_text("[ingest]\ncategories = []\n")
    monkeypatch.setenv("HOTPAPERS_CONFIG", str(config))
    assert main(["ingest"]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.strip() == (
        "hotpapers: no categories to ingest (give --categories or set [ingest] categories)")
    assert env.requests == []


@pytest.mark.parametrize(("text", "reason"), [("0612.0001", "0704"), ("2113.00001", "month 13"),
                                              ("1501.0001", "5 digits"), ("https://arxiv.org/abs/hep-th/9107001",
                                                                          "9108")])
def test_an_id_that_cannot_exist_is_refused_locally_in_one_line(
        env: ThreadedUpstream, capsys: pytest.CaptureFixture[str], text: str, reason: str) -> None:
    assert main(["paper", text, "--json"]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    [line] = captured.err.strip().splitlines()
    assert line.startswith("hotpapers: ") and "cannot be an arXiv id" in line and reason in line
    assert "arXiv:2107.05677v2" in line  # an accepted form
    assert env.requests == []
