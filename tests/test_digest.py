"""When a channel digest posts, and what it holds (pure rules, no Discord, no store)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from bot import digest as rules
from bot.digest import DigestSetupError, Post, Skip
from bot.models import Paper, RankedPaper, SourceSignal
from bot.store.digests import ChannelDigest

LONG_AGO = datetime(2020, 1, 1, tzinfo=UTC)


def cfg(
    time: str = "09:00", tz: str = "Europe/Paris", *, active_since: datetime = LONG_AGO, **kw: object
) -> ChannelDigest:
    values: dict[str, object] = {
        "guild_id": 1,
        "channel_id": 10,
        "time": time,
        "timezone": tz,
        "categories": ("cs.LG",),
        "size": 5,
        "active_since": active_since,
    }
    values.update(kw)
    return ChannelDigest(**values)  # type: ignore[arg-type]


def weekday_mailings(start: date, end: date, holidays: frozenset[date] = frozenset()) -> set[date]:
    """arXiv mailing dates (Monday–Friday) between start and end."""
    days = set()
    day = start
    while day <= end:
        if day.weekday() < 5 and day not in holidays:
            days.add(day)
        day += timedelta(days=1)
    return days


def simulate(
    digest: ChannelDigest,
    mailings: set[date],
    start: datetime,
    end: datetime,
    step: timedelta = timedelta(minutes=5),
    *,
    min_age: float = 12,
    grace: float = 6,
    down: tuple[datetime, datetime] | None = None,
) -> tuple[list[tuple[datetime, date]], list[Skip]]:
    """Tick every ``step`` from start to end (except while ``down``), keeping a ledger like the bot's."""
    ledger: set[date] = set()
    posts: list[tuple[datetime, date]] = []
    skips: list[Skip] = []
    now = start
    while now <= end:
        if down is None or not (down[0] <= now < down[1]):
            query = rules.slot_query(digest, now, min_age_hours=min_age, max_failures=3)
            if query is not None:
                eligible = [m for m in mailings if m <= query.newest]
                mailing = max(eligible) if eligible else None
                decision = rules.decide(query, mailing, mailing in ledger, now, grace_hours=grace)
                if isinstance(decision, Post):
                    ledger.add(decision.mailing)
                    posts.append((now, decision.mailing))
                elif isinstance(decision, Skip):
                    ledger.add(decision.mailing)
                    skips.append(decision)
        now += step
    return posts, skips


def test_min_age_counts_from_20h_eastern_the_evening_before() -> None:
    # The 2026-11-25 (Wednesday) mailing went out Tuesday 20:00 EST = 01:00 UTC Wednesday.
    assert rules.announced_at(date(2026, 11, 25)) == datetime(2026, 11, 25, 1, 0, tzinfo=UTC)
    assert rules.newest_mailing_allowed(datetime(2026, 11, 25, 12, 59, tzinfo=UTC), 12) == date(2026, 11, 24)
    assert rules.newest_mailing_allowed(datetime(2026, 11, 25, 13, 0, tzinfo=UTC), 12) == date(2026, 11, 25)


def test_a_week_posts_each_mailing_once_at_local_time_and_nothing_on_weekend_or_holiday() -> None:
    thanksgiving = date(2026, 11, 26)
    mailings = weekday_mailings(date(2026, 11, 16), date(2026, 12, 4), frozenset({thanksgiving}))
    posts, skips = simulate(
        cfg("09:00", "Europe/Paris", active_since=datetime(2026, 11, 22, tzinfo=UTC)),
        mailings,
        datetime(2026, 11, 22, tzinfo=UTC),
        datetime(2026, 11, 30, 23, tzinfo=UTC),
    )
    # 09:00 Paris = 08:00 UTC; the mailing of date D is 12 h old from 13:00 UTC on D, so at 08:00 UTC on D+1.
    assert posts == [
        (datetime(2026, 11, 22, 8, 0, tzinfo=UTC), date(2026, 11, 20)),  # Sunday: Friday's, not yet posted
        # Monday: Monday's mailing is not 12 h old at 09:00, and Friday's is done.
        (datetime(2026, 11, 24, 8, 0, tzinfo=UTC), date(2026, 11, 23)),
        (datetime(2026, 11, 25, 8, 0, tzinfo=UTC), date(2026, 11, 24)),
        (datetime(2026, 11, 26, 8, 0, tzinfo=UTC), date(2026, 11, 25)),
        # Friday 27th: the Thanksgiving holiday had no mailing, so nothing new.
        (datetime(2026, 11, 28, 8, 0, tzinfo=UTC), date(2026, 11, 27)),  # Saturday: Friday's mailing
        # Sunday and Monday: no new mailing until Monday's (2026-11-30), which is old enough on Tuesday.
    ]
    assert skips == []


def test_dst_fall_back_posts_once() -> None:
    # America/New_York falls back on Sunday 2026-11-01: 01:30 happens twice (EDT, then EST).
    # Set up on Saturday afternoon, so Friday's mailing is still owed when Sunday's 01:30 comes (twice).
    mailings = {date(2026, 10, 29), date(2026, 10, 30)}
    late = cfg("01:30", "America/New_York", active_since=datetime(2026, 10, 31, 18, tzinfo=UTC))
    posts, _ = simulate(
        late,
        mailings,
        datetime(2026, 10, 31, 18, tzinfo=UTC),
        datetime(2026, 11, 1, 12, tzinfo=UTC),
        timedelta(minutes=1),
    )
    assert posts == [(datetime(2026, 11, 1, 5, 30, tzinfo=UTC), date(2026, 10, 30))]  # the first 01:30 (EDT)


def test_dst_spring_forward_never_skips() -> None:
    # America/New_York springs forward on Sunday 2026-03-08: 02:30 does not exist that day.
    late = cfg("02:30", "America/New_York", active_since=datetime(2026, 3, 7, 12, tzinfo=UTC))
    posts, _ = simulate(
        late,
        {date(2026, 3, 6)},
        datetime(2026, 3, 7, 12, tzinfo=UTC),
        datetime(2026, 3, 8, 12, tzinfo=UTC),
        timedelta(minutes=1),
    )
    # It posts at 03:30 EDT (07:30 UTC), the moment the missing 02:30 EST would have been.
    assert posts == [(datetime(2026, 3, 8, 7, 30, tzinfo=UTC), date(2026, 3, 6))]


def test_back_within_grace_posts_late_beyond_grace_skips_and_says_why() -> None:
    mailings = {date(2026, 11, 24)}
    digest = cfg("09:00", "UTC")
    start, end = datetime(2026, 11, 25, 0, tzinfo=UTC), datetime(2026, 11, 25, 23, tzinfo=UTC)
    posts, skips = simulate(
        digest,
        mailings,
        start,
        end,
        down=(datetime(2026, 11, 25, 8, tzinfo=UTC), datetime(2026, 11, 25, 14, tzinfo=UTC)),
    )
    assert posts == [(datetime(2026, 11, 25, 14, 0, tzinfo=UTC), date(2026, 11, 24))]
    assert skips == []
    posts, skips = simulate(
        digest,
        mailings,
        start,
        end,
        down=(datetime(2026, 11, 25, 8, tzinfo=UTC), datetime(2026, 11, 25, 15, 5, tzinfo=UTC)),
    )
    assert posts == []
    assert [s.mailing for s in skips] == [date(2026, 11, 24)]
    assert "offline" in skips[0].reason and "6 h grace" in skips[0].reason


def test_setup_after_todays_time_waits_for_tomorrow() -> None:
    digest = cfg("09:00", "UTC", active_since=datetime(2026, 11, 25, 10, tzinfo=UTC))
    posts, skips = simulate(
        digest,
        {date(2026, 11, 24), date(2026, 11, 25)},
        datetime(2026, 11, 25, 10, tzinfo=UTC),
        datetime(2026, 11, 26, 12, tzinfo=UTC),
    )
    assert posts == [(datetime(2026, 11, 26, 9, 0, tzinfo=UTC), date(2026, 11, 25))]
    assert skips == []


@pytest.mark.parametrize("change", [{"paused": True}, {"disabled_reason": "gone"}, {"failures": 3}])
def test_paused_gone_or_failing_digests_are_not_due(change: dict[str, object]) -> None:
    now = datetime(2026, 11, 25, 12, tzinfo=UTC)
    assert rules.slot_query(cfg(**change), now, min_age_hours=12, max_failures=3) is None
    assert rules.slot_query(cfg(), now, min_age_hours=12, max_failures=3) is not None


def _ranked(pid: str, score: float, categories: tuple[str, ...]) -> RankedPaper:
    paper = Paper(pid, 1, f"Paper {pid}", ("A",), "Abstract.", categories[0], categories)
    return RankedPaper(paper, 0, score, {"hn": SourceSignal("hn", {"points": int(score)})})


def test_build_digest_filters_by_category_alias_archive_and_score_then_ranks_from_one() -> None:
    ranked = [
        _ranked("1", 500, ("cs.CV",)),
        _ranked("2", 400, ("cs.LG",)),
        _ranked("3", 300, ("eess.SY",)),
        _ranked("5", 200, ("math.AG",)),
        _ranked("6", 100, ("stat.ML", "cs.LG")),
        _ranked("4", 40, ("cs.LG",)),
    ]
    digest = rules.build_digest(
        date(2026, 11, 25), ranked, categories=("cs.LG", "cs.SY"), size=10, min_score=50
    )
    assert [(r.rank, r.paper.id) for r in digest.papers] == [(1, "2"), (2, "3"), (3, "6")]
    whole_cs = rules.build_digest(date(2026, 11, 25), ranked, categories=("cs",), size=2, min_score=50)
    assert [r.paper.id for r in whole_cs.papers] == ["1", "2"]
    quiet = rules.build_digest(date(2026, 11, 25), ranked, categories=("q-bio",), size=5, min_score=50)
    assert quiet.quiet and quiet.period == "2026-11-25"


@pytest.mark.parametrize(("text", "expected"), [("9:05", "09:05"), ("18:30", "18:30"), (" 00:00 ", "00:00")])
def test_setup_time_accepts_hh_mm(text: str, expected: str) -> None:
    assert rules.parse_time(text) == expected


@pytest.mark.parametrize("text", ["25:00", "9", "noon", "12:60", ""])
def test_setup_time_refuses_other_text_and_says_what_works(text: str) -> None:
    with pytest.raises(DigestSetupError, match="HH:MM"):
        rules.parse_time(text)


def test_setup_timezone_and_categories_validation() -> None:
    assert rules.parse_timezone("europe/paris") == "Europe/Paris"
    assert rules.parse_timezone("UTC") == "UTC"
    with pytest.raises(DigestSetupError, match="Europe/Paris"):
        rules.parse_timezone("Mars/Olympus")
    assert rules.parse_categories("cs.lg, CS.SY , math") == ("cs.LG", "eess.SY", "math")
    with pytest.raises(DigestSetupError, match=r"cs\.LGG.*(did you mean|Pick)"):
        rules.parse_categories("cs.LG, cs.LGG")
    with pytest.raises(DigestSetupError):
        rules.parse_categories(" , ")
    with pytest.raises(DigestSetupError, match="between 1 and 25"):
        rules.parse_size(26)


def test_autocomplete_suggests_timezones_and_completes_the_last_category() -> None:
    assert "Europe/Paris" in rules.timezone_choices("paris")
    assert rules.timezone_choices("america/new")[0] == "America/New_York"
    assert len(rules.timezone_choices("")) <= 25
    choices = rules.category_choices("cs.LG, computer vis")
    assert "cs.LG, cs.CV" in [value for _, value in choices]
    assert all(len(name) <= 100 and len(value) <= 100 for name, value in choices)
    assert len(rules.category_choices("cs")) <= 25


def test_describe_says_what_and_when() -> None:
    digest = cfg("09:00", "Europe/Paris", categories=("cs.LG", "cs.CV"), size=10)
    text = rules.describe_digest(
        digest, datetime(2026, 11, 25, 12, tzinfo=UTC), default_min_score=50, min_age_hours=12
    )
    assert "top 10 papers" in text and "cs.LG, cs.CV" in text and "09:00 Europe/Paris" in text
    assert "Next post: Thu 2026-11-26 09:00" in text
