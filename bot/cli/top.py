"""``hotpapers top [--date D] [--category C] [--limit N] [--json]``: a mailing's papers, ranked."""

from __future__ import annotations

import argparse
import json
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any

from bot.clock import clock_from_env
from bot.config import Settings
from bot.errors import HotPapersError
from bot.mailing import parse_mailing_date as parse_day
from bot.models import Paper, RankedPaper, SourceSignal
from bot.ranking import DayRanking, display_score, rank_mailing
from bot.store import Store
from bot.taxonomy import canonical_category

MAX_LIMIT = 100


def parse_mailing_date(text: str | None) -> date | None:
    """``--date`` as a date, None when absent; a bad one is an expected failure with an example."""
    if text is None:
        return None
    day = parse_day(text)
    if day is None:
        raise HotPapersError(f"--date {text!r} is not a date like 2021-07-14")
    return day


def resolve_mailing(store: Store, wanted: date | None, categories: Sequence[str] | None = None) -> date:
    """The mailing asked for (it must be stored) or the latest one."""
    if wanted is None:
        latest = store.latest_mailing(categories)
        if latest is None:
            raise HotPapersError("no mailing is stored yet: run 'hotpapers ingest' first")
        return latest
    if not store.mailing_papers(wanted):
        raise HotPapersError(f"no mailing of {wanted.isoformat()} is stored (weekends and holidays have "
                             "none; 'hotpapers ingest' fetches the latest)")
    return wanted


def ranked_mailing(store: Store, settings: Settings, mailing: date, category: str | None,
                   now: datetime | None = None) -> DayRanking:
    """The ranking of ``mailing`` (in ``category``, cross-lists included) as of ``now`` (default: now): every
    paper with any engagement, as ``/top`` shows it (``ranking.min_score`` is for channel digests only)."""
    return rank_mailing(store, mailing, [category] if category else None, settings.ranking.weights,
                        now or clock_from_env().now())


def main(args: argparse.Namespace, settings: Settings) -> int:
    wanted = parse_mailing_date(args.date)
    category = canonical_category(args.category) if args.category else None
    if not 1 <= args.limit <= MAX_LIMIT:
        raise HotPapersError(f"--limit must be between 1 and {MAX_LIMIT}")
    if not settings.database_exists():  # never create an empty database somewhere by mistake
        raise HotPapersError(f"no database at {settings.db_path} (HOTPAPERS_DB): run 'hotpapers ingest' "
                             "first, or point HOTPAPERS_DB / HOTPAPERS_HOME at the bot's data")
    store = Store(settings.database)
    try:
        mailing = resolve_mailing(store, wanted, [category] if category else None)
        now = clock_from_env().now()
        day = ranked_mailing(store, settings, mailing, category, now)
        # The counts are those of the newest snapshot among the listed papers (the seed's "(07/15/2021 …)").
        as_of = store.last_observed([ranked.paper.id for ranked in day.papers[: args.limit]], now)
    finally:
        store.close()
    shown = day.papers[: args.limit]
    if args.json:
        document = {"mailing": mailing.isoformat(), "category": category,
                    "papers": [ranked_json(ranked) for ranked in shown]}
        print(json.dumps(document, ensure_ascii=False, indent=2))
    else:
        print(format_top(mailing, category, day, shown, as_of=as_of))
    return 0


def ranked_json(ranked: RankedPaper) -> dict[str, Any]:
    """The DESIGN.md paper object plus ``rank``, ``score``, ``signals`` (counts by source) and ``discussions``
    (the best link on each source)."""
    from bot.jsonout import paper_json

    return {**paper_json(ranked.paper), "rank": ranked.rank, "score": display_score(ranked.score),
            "signals": {source: dict(signal.counts) for source, signal in ranked.signals.items()},
            "discussions": {source: signal.url for source, signal in ranked.signals.items() if signal.url}}


def format_top(mailing: date, category: str | None, day: DayRanking, shown: Sequence[RankedPaper], *,
               as_of: datetime | None = None) -> str:
    """The ranking for a terminal, in the shape of the old "Hot Papers" posts; ``as_of`` is the moment the
    counts were observed."""
    title = f"Hot Papers {mailing.isoformat()}" + (f" · {category}" if category else "")
    if as_of is not None and not day.quiet:
        title += f"\nengagement as of {as_of.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC"
    if day.quiet:
        return f"{title}\n\nA quiet day: no paper of this mailing has any engagement yet."
    blocks = [title]
    for ranked in shown:
        blocks.append("\n".join([
            f"# {ranked.rank}. {_plain(ranked.paper.title)}",
            "",
            _plain(", ".join(ranked.paper.authors)),
            "",
            f"- score: {display_score(ranked.score)}",
            *(f"- {line}" for line in signal_lines(ranked.signals)),
            f"- links: {ranked.paper.abs_url} | {ranked.paper.pdf_url}",
            "- " + " | ".join(_categories(ranked.paper)),
        ]))
    return "\n\n\n".join(blocks)


def signal_lines(signals: Mapping[str, SourceSignal]) -> list[str]:
    """``x: retweets: 2826, likes: 217 (https://x.com/…)``, one line per source."""
    lines = []
    for source, signal in signals.items():
        counts = ", ".join(f"{metric}: {value}" for metric, value in signal.counts.items())
        lines.append(f"{source}: {counts}" + (f" ({signal.url})" if signal.url else ""))
    return lines


def _categories(paper: Paper) -> list[str]:
    return [paper.primary_category, *(c for c in paper.categories if c != paper.primary_category)]


def _plain(text: str) -> str:
    from bot.render import tidy
    from bot.text import strip_invisible

    return tidy(strip_invisible(text))
