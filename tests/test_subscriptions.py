"""Which papers a user's follows bring them, why, and when their DM is due (pure; no store, no Discord)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from bot.errors import HotPapersError, UnknownCategory
from bot.models import Paper, RankedPaper
from bot.subscriptions import (
    DueDm,
    Follow,
    InvalidFollow,
    InvalidSchedule,
    MailingIndex,
    Schedule,
    Subscriber,
    due_dm,
    find_follow,
    paper_reasons,
    parse_follow,
    parse_frequency,
    parse_time,
    parse_timezone,
    plan_dm,
)


def paper(pid: str = "2411.00001", *, title: str = "A paper", abstract: str = "Nothing to see.",
          authors: tuple[str, ...] = ("Ada Lovelace",), categories: tuple[str, ...] = ("math.CO",)) -> Paper:
    return Paper(pid, 1, title, authors, abstract, categories[0], categories)


def follows(*pairs: tuple[str, str]) -> list[Follow]:
    return [parse_follow(kind, value) for kind, value in pairs]


# ---- categories


def test_followed_category_matches_primary_and_cross_list() -> None:
    wanted = follows(("category", "cs.LG"))
    assert paper_reasons(paper(categories=("cs.LG",)), wanted) == ("cs.LG",)
    assert paper_reasons(paper(categories=("stat.ML", "cs.LG")), wanted) == ("cs.LG",)
    assert paper_reasons(paper(categories=("cs.CV",)), wanted) is None


def test_category_alias_and_archive_follows() -> None:
    # cs.SY and eess.SY are one category; following either brings papers listed under the other.
    assert paper_reasons(paper(categories=("eess.SY",)), follows(("category", "cs.SY"))) is not None
    assert paper_reasons(paper(categories=("cs.SY",)), follows(("category", "eess.SY"))) is not None
    # An archive stands for all its categories.
    assert paper_reasons(paper(categories=("cs.CL",)), follows(("category", "cs"))) == ("cs",)
    assert paper_reasons(paper(categories=("math.AG",)), follows(("category", "cs"))) is None


def test_category_follow_is_spelled_canonically_and_unknown_ones_are_refused() -> None:
    assert parse_follow("category", "  CS.lg ").value == "cs.LG"
    with pytest.raises(UnknownCategory, match=r"cs\.LG"):
        parse_follow("category", "cs.LGG")


# ---- keywords


def test_keyword_matches_whole_words_in_title_or_abstract_ignoring_case_and_accents() -> None:
    wanted = follows(("keyword", "diffusion"))
    assert paper_reasons(paper(title="Latent DIFFUSION models"), wanted) == ("keyword “diffusion”",)
    assert paper_reasons(paper(abstract="We study diffusion."), wanted) is not None
    assert paper_reasons(paper(title="Diffusions everywhere"), wanted) is None
    assert paper_reasons(paper(title="Nothing here", authors=("Diffusion Smith",)), wanted) is None
    assert paper_reasons(paper(title="Schrödinger bridges"), follows(("keyword", "schrodinger"))) is not None


def test_phrase_needs_its_words_in_order_and_prefix_star() -> None:
    phrase = follows(("keyword", "graph neural network"))
    assert paper_reasons(paper(abstract="A Graph-Neural Network for molecules."), phrase) is not None
    assert paper_reasons(paper(abstract="A neural network on a graph."), phrase) is None
    # The title and the abstract are separate: a phrase does not run from one into the other.
    assert paper_reasons(paper(title="On the graph", abstract="neural network training"), phrase) is None
    star = follows(("keyword", "transform*"))
    assert paper_reasons(paper(title="Transformers are RNNs"), star) is not None
    assert paper_reasons(paper(title="Vision transformation"), star) is not None
    assert paper_reasons(paper(title="Trans formers"), star) is None


def test_exclude_keyword_removes_papers_another_follow_brought() -> None:
    wanted = follows(("category", "cs.LG"), ("keyword", "-survey"))
    assert paper_reasons(paper(categories=("cs.LG",), title="A survey of bandits"), wanted) is None
    assert paper_reasons(paper(categories=("cs.LG",), title="Bandits"), wanted) == ("cs.LG",)
    # An exclude alone brings nothing.
    assert paper_reasons(paper(title="Bandits"), follows(("keyword", "-survey"))) is None


def test_keyword_values_are_checked() -> None:
    with pytest.raises(InvalidFollow, match="letters or digits"):
        parse_follow("keyword", "- !!")
    with pytest.raises(InvalidFollow, match="80"):
        parse_follow("keyword", "x" * 81)
    with pytest.raises(InvalidFollow, match="give a keyword"):
        parse_follow("keyword", "   ")
    assert parse_follow("keyword", "  -  Survey  ").value == "-Survey"
    assert parse_follow("keyword", "Diffusion").key == parse_follow("keyword", "diffusion").key


# ---- authors


@pytest.mark.parametrize("followed", ["Y. LeCun", "Yann LeCun", "yann lecun", "LeCun, Yann", "Y LeCun"])
@pytest.mark.parametrize("written", ["Yann LeCun", "Yann Le Cun", "Y. LeCun", "Yann A. LeCun", "YANN LECUN"])
def test_author_follow_matches_surname_and_first_initial(followed: str, written: str) -> None:
    assert paper_reasons(paper(authors=("Someone Else", written)), follows(("author", followed))) is not None


def test_author_follow_ignores_accents_and_particles() -> None:
    assert paper_reasons(paper(authors=("Léon Bottou",)), follows(("author", "L. Bottou"))) is not None
    assert paper_reasons(paper(authors=("L. Bottou",)), follows(("author", "Léon Bottóu"))) is not None
    assert paper_reasons(paper(authors=("J. D. van der Waals",)),
                         follows(("author", "Johannes van der Waals"))) is not None


def test_author_follow_needs_the_same_initial_and_surname() -> None:
    wanted = follows(("author", "Yann LeCun"))
    assert paper_reasons(paper(authors=("Xavier LeCun",)), wanted) is None
    assert paper_reasons(paper(authors=("Yann Cun",)), wanted) is None
    assert paper_reasons(paper(authors=("Yann LeCunn",)), wanted) is None
    with pytest.raises(InvalidFollow, match="initial"):
        parse_follow("author", "LeCun")


# ---- which follow /unsubscribe means


def test_find_follow_by_label_or_bare_value() -> None:
    mine = follows(("category", "cs.LG"), ("keyword", "diffusion"), ("author", "Y. LeCun"))
    assert find_follow(mine, "keyword:Diffusion") == mine[1]
    assert find_follow(mine, "cs.lg") == mine[0]
    assert find_follow(mine, "author:Yann LeCun") == mine[2]
    assert find_follow(mine, "keyword:transformers") is None


# ---- the DM plan


def ranked(pid: str, score: float, **kwargs: object) -> RankedPaper:
    return RankedPaper(paper(pid, **kwargs), 1, score, {})  # type: ignore[arg-type]


def test_dm_lists_matching_papers_hottest_first_capped_with_reasons() -> None:
    index = MailingIndex([
        ranked("2411.00001", 3.0, categories=("cs.LG",)),
        ranked("2411.00002", 90.0, categories=("cs.CV",), title="Diffusion for video"),
        ranked("2411.00003", 0.0, categories=("cs.LG",), title="Diffusion"),
        ranked("2411.00004", 500.0, categories=("math.AG",)),
        ranked("2411.00005", 40.0, categories=("cs.LG",)),
    ])
    mine = follows(("category", "cs.LG"), ("keyword", "diffusion"))
    dm = plan_dm(7, [date(2024, 11, 5)], mine, index, cap=3)
    assert dm is not None
    assert [m.ranked.paper.id for m in dm.papers] == ["2411.00002", "2411.00005", "2411.00001"]
    assert dm.total == 4  # one more matched (score 0: no minimum score) but the cap is 3
    assert dm.papers[0].reasons == ("keyword “diffusion”",)
    big = plan_dm(7, [date(2024, 11, 5)], follows(("category", "cs.LG"), ("keyword", "diffusion")), index,
                  cap=10)
    assert big is not None and big.papers[-1].reasons == ("cs.LG", "keyword “diffusion”")


def test_no_match_no_dm() -> None:
    index = MailingIndex([ranked("2411.00001", 3.0, categories=("cs.LG",))])
    assert plan_dm(7, [date(2024, 11, 5)], follows(("category", "math.AG")), index, cap=10) is None


def test_index_answers_many_users_consistently() -> None:
    papers = [ranked(f"2411.{i:05d}", float(i), categories=("cs.LG" if i % 2 else "cs.CV",),
                     title=f"Paper {i} on {'diffusion' if i % 3 == 0 else 'graphs'}") for i in range(1, 301)]
    index = MailingIndex(papers)
    user = follows(("category", "cs.CV"), ("keyword", "-diffusion"))
    first = index.matches(user)
    # Even ids are cs.CV; those divisible by 3 mention diffusion and are excluded.
    assert {m.ranked.paper.id for m in first} == {f"2411.{i:05d}" for i in range(1, 301) if i % 6 in (2, 4)}
    assert index.matches(user) == first


# ---- schedule


def subscriber(schedule: Schedule, *, created: datetime = datetime(2024, 1, 1, tzinfo=UTC),
               last: date | None = None, paused: bool = False) -> Subscriber:
    return Subscriber(1, schedule, tuple(follows(("category", "cs.LG"))), created, None, paused, last)


# Wednesday 2024-11-06's mailing is announced Tuesday 20:00 EST = Wednesday 01:00 UTC; with min_age 12 h it
# is ready at 13:00 UTC.
MAILINGS = [date(2024, 11, 4), date(2024, 11, 5), date(2024, 11, 6), date(2024, 11, 7), date(2024, 11, 8)]


def test_daily_dm_at_the_users_time_for_the_newest_mailing_old_enough_then() -> None:
    user = subscriber(Schedule("09:00", "UTC", "daily"))
    now = datetime(2024, 11, 6, 9, 5, tzinfo=UTC)
    due = due_dm(user, MAILINGS, now, min_age_hours=12, grace_hours=6)
    assert due == DueDm(1, datetime(2024, 11, 6, 9, 0, tzinfo=UTC), (date(2024, 11, 5),))
    # At 14:00 local (Paris = UTC+1) the Wednesday mailing is 12 h old.
    paris = subscriber(Schedule("14:30", "Europe/Paris", "daily"))
    due = due_dm(paris, MAILINGS, datetime(2024, 11, 6, 13, 31, tzinfo=UTC), min_age_hours=12, grace_hours=6)
    assert due is not None and due.key == date(2024, 11, 6)


def test_daily_dm_not_twice_not_before_time_not_after_grace() -> None:
    user = subscriber(Schedule("09:00", "UTC", "daily"), last=date(2024, 11, 5))
    assert due_dm(user, MAILINGS, datetime(2024, 11, 6, 9, 5, tzinfo=UTC), min_age_hours=12,
                  grace_hours=6) is None
    fresh = subscriber(Schedule("09:00", "UTC", "daily"))
    # 08:59: the latest slot is yesterday's, more than 6 h ago.
    assert due_dm(fresh, MAILINGS, datetime(2024, 11, 6, 8, 59, tzinfo=UTC), min_age_hours=12,
                  grace_hours=6) is None
    assert due_dm(fresh, MAILINGS, datetime(2024, 11, 6, 15, 1, tzinfo=UTC), min_age_hours=12,
                  grace_hours=6) is None


def test_no_dm_for_a_slot_before_subscribing_or_while_paused() -> None:
    late = subscriber(Schedule("09:00", "UTC", "daily"), created=datetime(2024, 11, 6, 9, 30, tzinfo=UTC))
    assert due_dm(late, MAILINGS, datetime(2024, 11, 6, 10, 0, tzinfo=UTC), min_age_hours=12,
                  grace_hours=6) is None
    paused = subscriber(Schedule("09:00", "UTC", "daily"), paused=True)
    assert due_dm(paused, MAILINGS, datetime(2024, 11, 6, 9, 5, tzinfo=UTC), min_age_hours=12,
                  grace_hours=6) is None


def test_weekly_dm_on_monday_covers_the_week_not_yet_sent() -> None:
    user = subscriber(Schedule("08:00", "America/New_York", "weekly"), last=date(2024, 11, 4))
    monday = datetime(2024, 11, 11, 13, 30, tzinfo=UTC)  # 08:30 EST
    due = due_dm(user, MAILINGS, monday, min_age_hours=12, grace_hours=6)
    assert due is not None
    assert due.mailings == (date(2024, 11, 5), date(2024, 11, 6), date(2024, 11, 7), date(2024, 11, 8))
    assert due.slot == datetime(2024, 11, 11, 13, 0, tzinfo=UTC)
    # Not on Tuesday.
    assert due_dm(user, MAILINGS, monday + timedelta(days=1), min_age_hours=12, grace_hours=6) is None


def test_schedule_values_are_checked() -> None:
    assert parse_time("9:05") == "09:05"
    assert parse_timezone("europe/paris") == "Europe/Paris"
    assert parse_frequency("Weekly") == "weekly"
    for bad, call in (("25:00", parse_time), ("Mars/Olympus", parse_timezone), ("hourly", parse_frequency)):
        with pytest.raises(InvalidSchedule):
            call(bad)
    assert issubclass(InvalidSchedule, HotPapersError)
