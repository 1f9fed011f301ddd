"""Per-user subscriptions, pure: what a follow is, which papers it matches and why, when a user's DM is due.

A paper matches a user when it hits any followed category (aliases resolved, an archive standing for all its
categories), keyword (a word or phrase in the title or abstract; case and accents ignored; ``transform*``
matches words starting with ``transform``) or author (surname plus first initial, case and accents ignored,
spaces inside the surname ignored so "Yann Le Cun" is "Y. LeCun"), and no exclude (a keyword starting with
``-``).

For each mailing old enough (``digest.min_age_hours`` after its 20:00 US Eastern announcement), a user whose
follows match gets one DM at their own time: the matching papers, hottest first, capped, each with the reason
it matched. Weekly subscribers get one DM on Mondays covering the mailings of the week before.

Nothing here talks to SQL or Discord; :class:`MailingIndex` is built once per mailing and answers for every
user.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Literal, get_args
from zoneinfo import ZoneInfo

from bot import digest
from bot.errors import HotPapersError, UnknownCategory
from bot.mailing import announced_at
from bot.models import Paper, RankedPaper
from bot.search_query import words
from bot.taxonomy import canonical_category, expand

FollowKind = Literal["category", "keyword", "author"]
Frequency = Literal["daily", "weekly"]
FOLLOW_KINDS: tuple[FollowKind, ...] = get_args(FollowKind)
FREQUENCIES: tuple[Frequency, ...] = get_args(Frequency)

# "keyword:" + value must fit an autocomplete choice (100 characters).
MAX_VALUE_LENGTH = 80
MAX_KEYWORD_WORDS = 6
WEEKLY_WEEKDAY = 0  # Monday
_SUFFIXES = frozenset({"jr", "sr", "ii", "iii", "iv"})
_SPLIT = re.compile(r"[\s.]+")


class InvalidFollow(HotPapersError, ValueError):
    """A follow value that cannot be followed; the message says what works."""


class InvalidSchedule(HotPapersError, ValueError):
    """A DM time, timezone or frequency that cannot be used; the message says what works."""


# ---- follows


@dataclass(frozen=True, slots=True)
class Follow:
    """One thing a user follows. ``value`` is what the user sees; ``key`` identifies it (no duplicates)."""

    kind: FollowKind
    value: str

    @property
    def exclude(self) -> bool:
        return self.kind == "keyword" and self.value.startswith("-")

    @property
    def label(self) -> str:
        """``kind:value``, as ``/unsubscribe`` autocompletes it."""
        return f"{self.kind}:{self.value}"

    @property
    def key(self) -> str:
        if self.kind == "category":
            return self.value
        if self.kind == "author":
            initial, surname = author_key(self.value)
            return f"{initial} {surname}"
        prefix = "-" if self.exclude else ""
        star = "*" if self.value.endswith("*") else ""
        return prefix + " ".join(words(self.value)) + star


def parse_follow(kind: str, value: str) -> Follow:
    """A checked follow from what a user typed; raises InvalidFollow or UnknownCategory saying what works."""
    if kind not in FOLLOW_KINDS:
        raise InvalidFollow(f"{kind!r} is not something to follow; use category, keyword or author")
    text = " ".join(value.split())
    if not text:
        raise InvalidFollow(f"give a {kind} to follow, e.g. {_EXAMPLES[kind]}")
    if len(text) > MAX_VALUE_LENGTH:
        raise InvalidFollow(f"that {kind} is {len(text)} characters; keep it to {MAX_VALUE_LENGTH}, "
                            f"e.g. {_EXAMPLES[kind]}")
    if kind == "category":
        try:
            return Follow("category", canonical_category(text))
        except UnknownCategory as exc:
            raise UnknownCategory(f"{exc}; e.g. {_EXAMPLES['category']}") from None
    if kind == "keyword":
        exclude = text.startswith("-")
        body = text.lstrip("-").strip()
        star = body.endswith("*")
        terms = words(body)
        if not terms:
            raise InvalidFollow(f"{text!r} has no letters or digits to look for; e.g. {_EXAMPLES['keyword']}")
        if len(terms) > MAX_KEYWORD_WORDS:
            raise InvalidFollow(f"a keyword is a word or a short phrase (at most {MAX_KEYWORD_WORDS} words); "
                                f"follow several keywords instead")
        return Follow("keyword", ("-" if exclude else "") + body.rstrip("*").strip() + ("*" if star else ""))
    initial, surname = author_key(text)
    if not initial or not surname:
        raise InvalidFollow(
            f"{text!r}: give a first name or initial and a surname, e.g. {_EXAMPLES['author']}")
    return Follow("author", text)


_EXAMPLES = {
    "category": "cs.LG, math.AG, hep-th or an archive such as cs",
    "keyword": "diffusion, \"graph neural network\", transform* or -survey to exclude",
    "author": "Y. LeCun or Yann LeCun",
}


def parse_label(text: str) -> tuple[FollowKind | None, str]:
    """Split ``kind:value`` (what /unsubscribe autocompletes); a bare value gives kind None."""
    kind, sep, value = text.strip().partition(":")
    if sep and kind.strip().lower() in FOLLOW_KINDS:
        return kind.strip().lower(), value.strip()  # type: ignore[return-value]
    return None, text.strip()


def find_follow(follows: Sequence[Follow], text: str) -> Follow | None:
    """Which of a user's follows ``text`` means: ``kind:value`` or a bare value, compared by key."""
    kind, value = parse_label(text)
    kinds = (kind,) if kind else FOLLOW_KINDS
    for candidate_kind in kinds:
        try:
            wanted = parse_follow(candidate_kind, value).key
        except HotPapersError:
            continue
        for follow in follows:
            if follow.kind == candidate_kind and follow.key == wanted:
                return follow
    return None


# ---- authors


def _fold(text: str) -> list[str]:
    """Name tokens: split on spaces and dots, accents and case removed, punctuation inside a token dropped."""
    tokens = []
    for raw in _SPLIT.split(text):
        token = "".join(words(raw))
        if token:
            tokens.append(token)
    while len(tokens) > 2 and tokens[-1] in _SUFFIXES:
        tokens.pop()
    return tokens


def author_key(name: str) -> tuple[str, str]:
    """(first initial, surname without spaces) of a name as a user types it: "Y. LeCun", "Yann Le Cun",
    "LeCun, Yann" → ("y", "lecun"). Middle initials are dropped from the surname."""
    if "," in name:
        surname, _, given = name.partition(",")
        given_tokens, surname_tokens = _fold(given), _fold(surname)
        if not given_tokens or not surname_tokens:
            return ("", "")
        return given_tokens[0][0], "".join(surname_tokens)
    tokens = _fold(name)
    if len(tokens) < 2:
        return ("", "")
    rest = tokens[1:]
    while len(rest) > 1 and len(rest[0]) == 1:  # "Yann A. LeCun": A is a middle initial
        rest = rest[1:]
    return tokens[0][0], "".join(rest)


def author_keys(name: str) -> frozenset[tuple[str, str]]:
    """Every (initial, surname) a paper's author name can stand for: any run of final words may be the surname
    ("Yann André Le Cun" is LeCun, Le Cun or André Le Cun to a follower)."""
    if "," in name:
        return frozenset({author_key(name)} - {("", "")})
    tokens = _fold(name)
    if len(tokens) < 2:
        return frozenset()
    initial = tokens[0][0]
    return frozenset((initial, "".join(tokens[start:])) for start in range(1, len(tokens)))


# ---- matching


@dataclass(frozen=True, slots=True)
class MatchedPaper:
    """A paper a user gets, and why (``reasons`` such as ``cs.LG``, ``keyword "diffusion"``)."""

    ranked: RankedPaper
    reasons: tuple[str, ...]


def _reason(follow: Follow) -> str:
    if follow.kind == "category":
        return follow.value
    if follow.kind == "keyword":
        return f"keyword “{follow.value}”"
    return f"author {follow.value}"


@dataclass
class _Doc:
    tokens: tuple[str, ...]  # title tokens, a separator, abstract tokens


class MailingIndex:
    """Ranked papers (hottest first) indexed for matching many users' follows quickly. Build once per mailing
    (or per set of mailings); each distinct follow is evaluated once and remembered."""

    _SEPARATOR = "\x00"

    def __init__(self, ranked: Iterable[RankedPaper]) -> None:
        ordered: dict[str, RankedPaper] = {}
        for item in sorted(ranked, key=lambda r: (-r.score, r.rank, r.paper.id)):
            ordered.setdefault(item.paper.id, item)
        self.papers: list[RankedPaper] = list(ordered.values())
        self._docs: list[_Doc] = []
        self._words: dict[str, set[int]] = {}
        self._categories: dict[str, set[int]] = {}
        self._authors: dict[tuple[str, str], set[int]] = {}
        self._cache: dict[tuple[str, str], frozenset[int]] = {}
        for index, item in enumerate(self.papers):
            self._add(index, item.paper)

    def _add(self, index: int, paper: Paper) -> None:
        tokens = (*words(paper.title), self._SEPARATOR, *words(paper.abstract))
        self._docs.append(_Doc(tokens))
        for token in set(tokens):
            self._words.setdefault(token, set()).add(index)
        for category in paper.categories:
            self._categories.setdefault(category.strip(), set()).add(index)
            try:
                canonical = canonical_category(category)
            except UnknownCategory:
                continue
            self._categories.setdefault(canonical, set()).add(index)
        for name in paper.authors:
            for key in author_keys(name):
                self._authors.setdefault(key, set()).add(index)

    def __len__(self) -> int:
        return len(self.papers)

    def hits(self, follow: Follow) -> frozenset[int]:
        """Indexes into ``papers`` of the papers ``follow`` hits (for an exclude: the papers it excludes)."""
        cache_key = (follow.kind, follow.key)
        found = self._cache.get(cache_key)
        if found is None:
            found = frozenset(self._compute(follow))
            self._cache[cache_key] = found
        return found

    def _compute(self, follow: Follow) -> set[int]:
        if follow.kind == "category":
            hit: set[int] = set()
            for code in expand([follow.value]):
                hit |= self._categories.get(code, set())
            return hit
        if follow.kind == "author":
            initial, surname = author_key(follow.value)
            return set(self._authors.get((initial, surname), set()))
        return self._keyword(follow.value.lstrip("-"))

    def _keyword(self, value: str) -> set[int]:
        prefix = value.endswith("*")
        terms = words(value)
        if not terms:
            return set()
        if prefix:
            last = terms[-1]
            last_candidates: set[int] = set()
            for word, postings in self._words.items():
                if word.startswith(last):
                    last_candidates |= postings
            candidate_sets = [self._words.get(term, set()) for term in terms[:-1]] + [last_candidates]
        else:
            candidate_sets = [self._words.get(term, set()) for term in terms]
        candidates = set.intersection(*candidate_sets) if candidate_sets else set()
        if len(terms) == 1:
            return candidates
        return {index for index in candidates if _has_phrase(self._docs[index].tokens, terms, prefix)}

    def matches(self, follows: Sequence[Follow], limit: int | None = None) -> list[MatchedPaper]:
        """The papers these follows get, hottest first, each with its reasons (the first ``limit`` only)."""
        return self.top_matches(follows, limit)[0]

    def top_matches(self, follows: Sequence[Follow], limit: int | None = None
                    ) -> tuple[list[MatchedPaper], int]:
        """The first ``limit`` matches, hottest first with their reasons, and how many there are in all.
        Reasons are worked out for the ones returned only (a broad follow hits a whole mailing)."""
        included: set[int] = set()
        excluded: set[int] = set()
        for follow in follows:
            (excluded if follow.exclude else included).update(self.hits(follow))
        chosen = sorted(included - excluded)
        shown = chosen if limit is None else chosen[:limit]
        matched = [MatchedPaper(self.papers[index], tuple(
            _reason(follow) for follow in follows if not follow.exclude and index in self.hits(follow)))
            for index in shown]
        return matched, len(chosen)


def _has_phrase(tokens: Sequence[str], terms: Sequence[str], prefix_last: bool) -> bool:
    size = len(terms)
    for start in range(len(tokens) - size + 1):
        if tokens[start] != terms[0]:
            continue
        window = tokens[start:start + size]
        if list(window[:-1]) == list(terms[:-1]) and (
                window[-1] == terms[-1] or (prefix_last and window[-1].startswith(terms[-1]))):
            return True
    return False


def paper_reasons(paper: Paper, follows: Sequence[Follow]) -> tuple[str, ...] | None:
    """Why ``paper`` matches ``follows`` (None when it does not, or an exclude hits it)."""
    matched = MailingIndex([RankedPaper(paper, 1, 0.0, {})]).matches(follows)
    return matched[0].reasons if matched else None


# ---- schedule


@dataclass(frozen=True, slots=True)
class Schedule:
    """When a user's DM comes: local ``time`` (HH:MM) in ``timezone``, ``daily`` or ``weekly`` (Mondays)."""

    time: str = "09:00"
    timezone: str = "UTC"
    frequency: Frequency = "daily"

    def describe(self) -> str:
        when = "every day" if self.frequency == "daily" else "every Monday"
        return f"{when} at {self.time} {self.timezone}"


def parse_time(text: str) -> str:
    try:
        return digest.parse_time(text)
    except digest.DigestSetupError as exc:
        raise InvalidSchedule(str(exc)) from None


def parse_timezone(text: str) -> str:
    """An IANA zone name, spelled as IANA does (``europe/paris`` → ``Europe/Paris``)."""
    try:
        return digest.parse_timezone(text[:64])
    except digest.DigestSetupError as exc:
        raise InvalidSchedule(str(exc)) from None


def parse_frequency(text: str) -> Frequency:
    value = text.strip().lower()
    if value not in FREQUENCIES:
        raise InvalidSchedule(f"{text.strip()[:20]!r} is not a frequency: use daily or weekly")
    return value


def ready_at(mailing: date, min_age_hours: float) -> datetime:
    """When a mailing is old enough to send: ``min_age_hours`` after its announcement."""
    return announced_at(mailing) + timedelta(hours=min_age_hours)


def last_slot(schedule: Schedule, now: datetime) -> datetime:
    """The latest scheduled instant at or before ``now`` (UTC); weekly slots fall on Mondays, local time."""
    slot = digest.latest_slot(schedule.time, schedule.timezone, now)
    if schedule.frequency == "daily":
        return slot
    zone = ZoneInfo(schedule.timezone)
    day = slot.astimezone(zone).date()
    while day.weekday() != WEEKLY_WEEKDAY:
        day -= timedelta(days=1)
    return digest.slot_on(day, schedule.time, zone)


def next_dm_slot(schedule: Schedule, now: datetime) -> datetime:
    """The first scheduled instant strictly after ``now`` (UTC); weekly slots fall on Mondays, local time."""
    if schedule.frequency == "daily":
        return digest.next_slot(schedule.time, schedule.timezone, now)
    zone = ZoneInfo(schedule.timezone)
    day = now.astimezone(zone).date() - timedelta(days=1)
    while True:
        if day.weekday() == WEEKLY_WEEKDAY:
            slot = digest.slot_on(day, schedule.time, zone)
            if slot > now:
                return slot
        day += timedelta(days=1)


@dataclass(frozen=True, slots=True)
class Subscriber:
    """Everything stored about one user: what ``/subscriptions list`` shows and what their DM needs."""

    user_id: int
    schedule: Schedule
    follows: tuple[Follow, ...]
    created_at: datetime
    dm_channel_id: int | None = None
    paused: bool = False
    last_mailing: date | None = None  # the newest mailing a DM was sent (or planned) for
    paused_reason: str | None = None
    notice: str | None = None  # to tell the user the next time they use a command


@dataclass(frozen=True, slots=True)
class DueDm:
    """One user's DM to send now: the mailings it covers (``key`` is the newest, the ledger's name for it)."""

    user_id: int
    slot: datetime
    mailings: tuple[date, ...]

    @property
    def key(self) -> date:
        return self.mailings[-1]


def due_dm(subscriber: Subscriber, mailings: Sequence[date], now: datetime, *, min_age_hours: float,
           grace_hours: float) -> DueDm | None:
    """The DM ``subscriber`` should get now, if any: at their latest slot (not older than ``grace_hours``, not
    before they subscribed), the newest mailing old enough then and not yet sent — for weekly subscribers
    every such mailing of the 7 days before the slot."""
    if subscriber.paused or not any(not follow.exclude for follow in subscriber.follows):
        return None
    slot = last_slot(subscriber.schedule, now)
    if slot < subscriber.created_at or now - slot > timedelta(hours=grace_hours):
        return None
    ready = sorted(m for m in mailings if ready_at(m, min_age_hours) <= slot)
    if subscriber.last_mailing is not None:
        ready = [m for m in ready if m > subscriber.last_mailing]
    if not ready:
        return None
    if subscriber.schedule.frequency == "daily":
        return DueDm(subscriber.user_id, slot, (ready[-1],))
    week_start = slot.date() - timedelta(days=7)
    chosen = tuple(m for m in ready if m > week_start)
    return DueDm(subscriber.user_id, slot, chosen) if chosen else None


@dataclass(frozen=True, slots=True)
class DmPlan:
    """The one DM a user gets for a set of mailings: matching papers hottest first, capped."""

    user_id: int
    mailings: tuple[date, ...]
    papers: tuple[MatchedPaper, ...]
    total: int = 0  # matches before the cap
    follows: tuple[Follow, ...] = field(default=())


def plan_dm(user_id: int, mailings: Sequence[date], follows: Sequence[Follow], index: MailingIndex,
            cap: int) -> DmPlan | None:
    """The DM for one user from an index of the mailings' ranked papers; None when nothing matches."""
    matched, total = index.top_matches(follows, cap)
    if not matched:
        return None
    return DmPlan(user_id, tuple(mailings), tuple(matched), total, tuple(follows))
