"""The daily ranking: engagement signals → one score per paper, with each source's counts kept for display.

The score (also in the README)::

    score = Σ over sources s of  weight[s] × engagement[s]

    engagement[x]       = retweets + likes                  (summed over the distinct posts linking the paper)
    engagement[hf]      = upvotes                           (the paper's Hugging Face page)
    engagement[hn]      = points                            (summed over the stories linking the paper)
    engagement[bluesky] = likes + reposts + quotes          (summed over the distinct posts linking the paper)
    engagement[discord] = votes                             (members' votes on digests: a server's own, or
                                                             every server's together for a global ranking)

Weights come from ``[ranking.weights]`` (defaults x = 1, hf = 5, hn = 1, bluesky = 1, discord = 5). With X data
alone and its default weight the score is retweets + likes, exactly what the old "Hot Papers" posts counted. Comments
and replies are shown but not scored: they measure discussion, not approval, and X's never counted. Papers
scoring below ``ranking.min_score`` are dropped; a day where none is left is a quiet day.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol

from bot.models import Paper, RankedPaper, SourceSignal

SCORED_METRICS: Mapping[str, tuple[str, ...]] = {
    "x": ("retweets", "likes"),
    "hf": ("upvotes",),
    "hn": ("points",),
    "bluesky": ("likes", "reposts", "quotes"),
    "discord": ("votes",),
}
VOTES = "discord"  # the source members' votes become

Signals = Mapping[str, Mapping[str, SourceSignal]]  # paper id → source → signal


def engagement(signal: SourceSignal) -> int:
    """One source's engagement with a paper: the sum of its scored metrics (0 for a source not scored)."""
    return sum(signal.counts.get(metric, 0) for metric in SCORED_METRICS.get(signal.source, ()))


def score(signals: Mapping[str, SourceSignal], weights: Mapping[str, float]) -> float:
    """The weighted sum of each source's engagement; a source without a weight counts for nothing."""
    return sum(weights.get(source, 0.0) * engagement(signal) for source, signal in signals.items())


def rank(papers: Iterable[Paper], signals: Signals, weights: Mapping[str, float],
         min_score: float) -> list[RankedPaper]:
    """Papers scoring at least ``min_score``, best first (ties by id), numbered from 1, with breakdowns."""
    scored = []
    for paper in papers:
        breakdown = dict(sorted(signals.get(paper.id, {}).items()))
        value = score(breakdown, weights)
        if breakdown and value >= min_score:
            scored.append((value, paper, breakdown))
    scored.sort(key=lambda item: (-item[0], item[1].id))
    return [RankedPaper(paper, position, value, breakdown)
            for position, (value, paper, breakdown) in enumerate(scored, start=1)]


@dataclass(frozen=True, slots=True)
class DayRanking:
    """A mailing's ranking: ``quiet`` when no paper reached the minimum score; ``engaged`` counts the papers
    with any signal at all (so a quiet day can say how close it came)."""

    papers: list[RankedPaper]
    quiet: bool
    engaged: int
    unranked: tuple[Paper, ...] = ()  # the mailing's other papers (no signal, or under the minimum)

    def everything(self) -> list[RankedPaper]:
        """Every paper: the ranked ones best first, then the rest with score 0 (DMs have no minimum)."""
        return [*self.papers, *(RankedPaper(paper, 0, 0.0, {}) for paper in self.unranked)]


def rank_day(papers: Iterable[Paper], signals: Signals, weights: Mapping[str, float],
             min_score: float) -> DayRanking:
    """:func:`rank`, plus whether the day was quiet."""
    papers = list(papers)
    ranked = rank(papers, signals, weights, min_score)
    engaged = sum(1 for paper in papers if signals.get(paper.id))
    chosen = {r.paper.id for r in ranked}
    return DayRanking(ranked, not ranked, engaged, tuple(p for p in papers if p.id not in chosen))


class MailingSource(Protocol):
    """What ranking a mailing reads (``bot.store.Store``)."""

    def mailing_papers(self, mailing: date, categories: Sequence[str] | None = None) -> list[Paper]: ...

    def latest_signals(self, paper_ids: Sequence[str], as_of: datetime
                       ) -> Mapping[str, Mapping[str, SourceSignal]]: ...

    def vote_counts(self, paper_ids: Sequence[str], guild_id: int | None = None) -> Mapping[str, int]: ...


def with_votes(signals: Signals, votes: Mapping[str, int]) -> dict[str, Mapping[str, SourceSignal]]:
    """``signals`` with each voted paper's votes added as the ``discord`` source."""
    merged: dict[str, Mapping[str, SourceSignal]] = dict(signals)
    for paper_id, count in votes.items():
        merged[paper_id] = {**signals.get(paper_id, {}), VOTES: SourceSignal(VOTES, {"votes": count})}
    return merged


def rank_mailing(store: MailingSource, mailing: date, categories: Sequence[str] | None,
                 weights: Mapping[str, float], now: datetime, min_score: float = 0.0,
                 guild_id: int | None = None) -> DayRanking:
    """The one way to rank a mailing for an audience (a channel digest, a DM, /top, the command line): its
    papers in ``categories`` (all when None; cross-lists included) by engagement as of ``now``, with the
    votes of ``guild_id``'s members (every server's votes when None)."""
    papers = store.mailing_papers(mailing, list(categories) if categories else None)
    ids = [paper.id for paper in papers]
    signals = with_votes(store.latest_signals(ids, now), store.vote_counts(ids, guild_id))
    return rank_day(papers, signals, weights, min_score)


def display_score(value: float) -> int | float:
    """A score as people read it: a whole number when it is one."""
    rounded = round(value, 2)
    return int(rounded) if rounded.is_integer() else rounded
