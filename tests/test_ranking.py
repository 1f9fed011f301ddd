"""The score and the ranking: X alone reduces to retweets + likes; weights; minimum score; quiet days."""

from __future__ import annotations

from bot.models import Paper, SourceSignal
from bot.ranking import rank, rank_day, score

WEIGHTS = {"x": 1.0, "hf": 5.0, "hn": 1.0, "bluesky": 1.0}


def paper(paper_id: str) -> Paper:
    return Paper(paper_id, 1, f"Title {paper_id}", ("A. Author",), "Abstract.", "cs.LG", ("cs.LG",))


def x(retweets: int, likes: int) -> SourceSignal:
    return SourceSignal("x", {"retweets": retweets, "likes": likes}, "https://x.com/i/web/status/1")


def test_x_alone_is_retweets_plus_likes() -> None:
    assert score({"x": x(2826, 217)}, WEIGHTS) == 3043


def test_each_source_adds_its_weighted_engagement_and_comments_do_not_score() -> None:
    signals = {
        "x": x(10, 5),
        "hf": SourceSignal("hf", {"upvotes": 4, "comments": 100}),
        "hn": SourceSignal("hn", {"points": 30, "comments": 200}),
        "bluesky": SourceSignal("bluesky", {"likes": 7, "reposts": 2, "quotes": 1, "replies": 50}),
    }
    assert score(signals, WEIGHTS) == 15 + 5 * 4 + 30 + 10
    assert score(signals, {**WEIGHTS, "hf": 0.0, "hn": 2.0}) == 15 + 60 + 10


def test_rank_orders_by_score_keeps_breakdown_and_drops_papers_below_the_minimum() -> None:
    papers = [paper("2107.00001"), paper("2107.00002"), paper("2107.00003"), paper("2107.00004")]
    signals = {
        "2107.00001": {"x": x(30, 19)},                                   # 49: below 50
        "2107.00002": {"x": x(40, 20), "hn": SourceSignal("hn", {"points": 100}, "https://hn/2")},
        "2107.00003": {"hf": SourceSignal("hf", {"upvotes": 50}, "https://hf/3")},
    }
    ranked = rank(papers, signals, WEIGHTS, 50)
    assert [(r.rank, r.paper.id, r.score) for r in ranked] == [(1, "2107.00003", 250), (2, "2107.00002", 160)]
    assert ranked[1].signals["hn"].url == "https://hn/2"
    assert set(ranked[1].signals) == {"hn", "x"}


def test_equal_scores_rank_by_id_for_stable_output() -> None:
    papers = [paper("2107.00009"), paper("2107.00005")]
    signals = {"2107.00009": {"x": x(50, 0)}, "2107.00005": {"x": x(0, 50)}}
    assert [r.paper.id for r in rank(papers, signals, WEIGHTS, 50)] == ["2107.00005", "2107.00009"]


def test_a_day_nobody_engaged_with_is_quiet() -> None:
    papers = [paper("2107.00001"), paper("2107.00002")]
    day = rank_day(papers, {"2107.00001": {"x": x(3, 4)}}, WEIGHTS, 50)
    assert day.papers == [] and day.quiet and day.engaged == 1
    busy = rank_day(papers, {"2107.00001": {"x": x(30, 40)}}, WEIGHTS, 50)
    assert not busy.quiet and [r.paper.id for r in busy.papers] == ["2107.00001"]
