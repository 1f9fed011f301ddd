"""Channel digests, the pure part: when a digest is due, what it holds, and validating what an admin typed.

When. Each channel has a local time (HH:MM in an IANA zone). Its *slot* on a local date is that wall time;
a slot that does not exist (spring-forward gap) falls at the offset before the change (02:30 → 03:30), and an
ambiguous one (fall-back) is its first occurrence, so there is exactly one slot per local date. At a slot the
channel is owed the most recent mailing of its categories that is at least ``min_age_hours`` old at the slot,
counted from 20:00 US Eastern of the announcement (the evening before the mailing's date). A mailing already
in the ledger for the channel (sent, sending or skipped) is owed nothing: that is what makes a double-firing
DST hour or a restart harmless. A bot that comes back after a slot posts within ``grace_hours``, else
records a skip. Slots before the digest was set up or resumed do not count.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo, available_timezones

from bot import taxonomy
from bot.errors import HotPapersError, UnknownCategory
from bot.mailing import ANNOUNCEMENT_TIME, EASTERN
from bot.mailing import announced_at as announced_at  # re-exported: the digest rules are read with it
from bot.models import ChannelDigest, RankedPaper

MAX_SIZE = 25


class DigestSetupError(HotPapersError, ValueError):
    """A /digest setup value that cannot be used; the message says what would work."""


# ---- when --------------------------------------------------------------------------------------------------


def newest_mailing_allowed(at: datetime, min_age_hours: float) -> date:
    """The newest mailing date that is at least ``min_age_hours`` old at ``at``."""
    eastern = (at - timedelta(hours=min_age_hours)).astimezone(EASTERN)
    return eastern.date() + timedelta(days=1) if eastern.time() >= ANNOUNCEMENT_TIME else eastern.date()


def _parse_hhmm(text: str) -> time:
    hour, minute = text.split(":")
    return time(int(hour), int(minute))


def slot_on(local_day: date, hhmm: str, zone: ZoneInfo) -> datetime:
    """The channel's slot on a local date, in UTC (gap → shifted forward, overlap → first occurrence)."""
    return datetime.combine(local_day, _parse_hhmm(hhmm), tzinfo=zone).astimezone(UTC)


def latest_slot(hhmm: str, timezone: str, now: datetime) -> datetime:
    """The most recent slot at or before ``now``."""
    zone = ZoneInfo(timezone)
    today = now.astimezone(zone).date()
    for day in (today + timedelta(days=1), today, today - timedelta(days=1), today - timedelta(days=2)):
        slot = slot_on(day, hhmm, zone)
        if slot <= now:
            return slot
    raise AssertionError("unreachable: a slot exists every local day")


def next_slot(hhmm: str, timezone: str, now: datetime) -> datetime:
    """The first slot strictly after ``now``."""
    zone = ZoneInfo(timezone)
    today = now.astimezone(zone).date()
    for offset in range(-1, 3):
        slot = slot_on(today + timedelta(days=offset), hhmm, zone)
        if slot > now:
            return slot
    raise AssertionError("unreachable: a slot exists every local day")


@dataclass(frozen=True, slots=True)
class SlotQuery:
    """What to look up in the store for a channel's latest slot: its newest mailing up to ``newest``."""

    slot: datetime
    newest: date


@dataclass(frozen=True, slots=True)
class Post:
    mailing: date
    slot: datetime


@dataclass(frozen=True, slots=True)
class Skip:
    mailing: date
    slot: datetime
    reason: str


def slot_query(digest: ChannelDigest, now: datetime, *, min_age_hours: float, max_failures: int
               ) -> SlotQuery | None:
    """The slot to consider now, or None when the digest is off (paused, channel gone, too many failures)
    or its latest slot came before it was set up or resumed."""
    if digest.paused or digest.disabled_reason or digest.failures >= max_failures:
        return None
    slot = latest_slot(digest.time, digest.timezone, now)
    if slot < digest.active_since:
        return None
    return SlotQuery(slot, newest_mailing_allowed(slot, min_age_hours))


def decide(query: SlotQuery, mailing: date | None, handled: bool, now: datetime, *, grace_hours: float
           ) -> Post | Skip | None:
    """Given the newest eligible mailing for the slot and whether the ledger already has it: post, skip, or
    nothing (no mailing, e.g. weekend or holiday; or already handled)."""
    if mailing is None or handled:
        return None
    late = now - query.slot
    if late > timedelta(hours=grace_hours):
        hours = late.total_seconds() / 3600
        return Skip(mailing, query.slot,
                    f"the bot was offline at {query.slot:%Y-%m-%d %H:%M} UTC and came back"
                    f" {hours:.1f} h later, beyond the {grace_hours:g} h grace period")
    return Post(mailing, query.slot)


# ---- what --------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Digest:
    """One mailing's top papers for one audience; ``papers`` are re-ranked 1..n within the digest."""

    mailing: date
    categories: tuple[str, ...]
    papers: tuple[RankedPaper, ...]
    min_score: float
    rising: tuple[RankedPaper, ...] = ()  # papers of the mailing posted before, risen since (ranked there)
    rising_since: date | None = None

    @property
    def quiet(self) -> bool:
        return not self.papers

    @property
    def period(self) -> str:
        return self.mailing.isoformat()


def build_digest(mailing: date, ranked: Sequence[RankedPaper], *, categories: Sequence[str], size: int,
                 min_score: float) -> Digest:
    """The papers of ``ranked`` (best first, as ``bot.ranking.rank`` returns them) in the channel's
    categories scoring at least ``min_score``, at most ``size``, ranked from 1. Stops at ``size`` matches,
    so a thousand channels over one mailing cost little."""
    chosen: list[RankedPaper] = []
    for r in ranked:
        if len(chosen) >= size:
            break
        if r.score >= min_score and taxonomy.matches(r.paper.categories, categories):
            chosen.append(r)
    papers = tuple(
        RankedPaper(paper=r.paper, rank=i, score=r.score, signals=r.signals)
        for i, r in enumerate(chosen, start=1))
    return Digest(mailing, tuple(categories), papers, min_score)


# ---- validating /digest setup ------------------------------------------------------------------------------


def parse_time(text: str) -> str:
    match = re.fullmatch(r"\s*([01]?\d|2[0-3])[:.h]([0-5]\d)\s*", text)
    if not match:
        raise DigestSetupError(
            f"{text.strip()[:20]!r} is not a time: use 24-hour HH:MM, such as 09:00 or 18:30")
    return f"{int(match[1]):02d}:{match[2]}"


def parse_timezone(text: str) -> str:
    """An IANA zone name, spelled as IANA does (``europe/paris`` → ``Europe/Paris``)."""
    name = _zones_lower().get(text.strip().lower())
    if name is None:
        raise DigestSetupError(
            f"{text.strip()[:40]!r} is not a timezone: pick an IANA name from the list, such as Europe/Paris,"
            " America/New_York or UTC")
    return name


def parse_categories(text: str) -> tuple[str, ...]:
    items = [item for item in re.split(r"[,\s]+", text) if item.strip()]
    if not items:
        raise DigestSetupError("categories is empty: give a comma list such as cs.LG, cs.CV (or an archive)")
    if len(items) > 20:
        raise DigestSetupError("too many categories: list at most 20 (an archive such as cs covers cs.*)")
    try:
        return taxonomy.resolve_categories(items)
    except UnknownCategory as exc:
        raise DigestSetupError(f"{exc}. Pick categories from the suggestions, comma-separated.") from None


def parse_size(size: int) -> int:
    if not 1 <= size <= MAX_SIZE:
        raise DigestSetupError(f"size must be between 1 and {MAX_SIZE} papers")
    return size


def parse_min_score(score: float | None) -> float | None:
    if score is not None and (score != score or score < 0):
        raise DigestSetupError("min_score must be 0 or more (leave it out to use the bot's default)")
    return score


# Names in the system's zone list that are not places (the machine's own zone, tzdata's placeholder): refused.
NOT_TIMEZONES = frozenset({"localtime", "Factory", "posixrules"})


@cache
def _zones_lower() -> dict[str, str]:
    return {name.lower(): name for name in available_timezones()
            if not name.startswith(("posix/", "right/")) and name not in NOT_TIMEZONES}


@cache
def _zones_sorted() -> tuple[str, ...]:
    return tuple(sorted(_zones_lower().values()))


def timezone_choices(text: str, limit: int = 25) -> list[str]:
    """IANA zones for autocomplete: prefix matches of the name or of its city part first, then substrings."""
    query = text.strip().lower().replace(" ", "_")
    if not query:
        popular = ("UTC", "Europe/London", "Europe/Paris", "Europe/Berlin", "America/New_York",
                   "America/Chicago", "America/Los_Angeles", "Asia/Tokyo", "Asia/Shanghai", "Asia/Kolkata",
                   "Australia/Sydney")
        return list(popular[:limit])
    first: list[str] = []
    second: list[str] = []
    for name in _zones_sorted():
        lower = name.lower()
        if lower.startswith(query) or lower.rsplit("/", 1)[-1].startswith(query):
            first.append(name)
        elif query in lower:
            second.append(name)
    return (first + second)[:limit]


def category_choices(text: str, limit: int = 25) -> list[tuple[str, str]]:
    """(name, value) choices completing the last item of a comma list of categories; each ≤ 100 chars."""
    head, _, last = text.rpartition(",")
    done = [item.strip() for item in head.split(",") if item.strip()]
    prefix = ", ".join(done) + (", " if done else "")
    if len(prefix) > 80:
        return []
    choices: list[tuple[str, str]] = []
    for category in taxonomy.search_categories(last.strip(), limit=limit):
        value = prefix + category.code
        label = f"{value} — {category.name}"
        choices.append((label if len(label) <= 100 else label[:99] + "…", value[:100]))
    return choices


# ---- describing a digest to its admins ---------------------------------------------------------------------


def _local(when: datetime, timezone: str) -> str:
    return when.astimezone(ZoneInfo(timezone)).strftime("%a %Y-%m-%d %H:%M")


def describe_digest(cfg: ChannelDigest, now: datetime, *, default_min_score: float, min_age_hours: float
                    ) -> str:
    """One paragraph: what the channel gets, when, and when the next post comes."""
    score = cfg.min_score if cfg.min_score is not None else default_min_score
    extras = []
    if cfg.thread:
        extras.append("in a thread per digest")
    if cfg.mention_role:
        extras.append(f"mentioning <@&{cfg.mention_role}>")
    extra = (", " + ", ".join(extras)) if extras else ""
    cats = ", ".join(cfg.categories)
    lines = [f"<#{cfg.channel_id}> gets the top {cfg.size} papers of each arXiv mailing in {cats}"
             f" (score ≥ {score:g}), every day at {cfg.time} {cfg.timezone}{extra}."]
    if cfg.disabled_reason:
        lines.append(f"**Stopped:** {cfg.disabled_reason}.")
    elif cfg.paused:
        lines.append("**Paused** — `/digest resume` to restart it.")
    else:
        upcoming = next_slot(cfg.time, cfg.timezone, max(now, cfg.active_since))
        lines.append(f"Next post: {_local(upcoming, cfg.timezone)} ({cfg.timezone}) — the newest mailing at "
                     f"least {min_age_hours:g} h old by then. Weekends and arXiv holidays have no mailing, "
                     "so no post.")
    return "\n".join(lines)


def describe_problems(cfg: ChannelDigest, *, max_failures: int) -> str | None:
    """The channel's delivery problem, if any, with what to do."""
    if cfg.disabled_reason:
        return None  # already in describe_digest
    if not cfg.failures or not cfg.last_error:
        return None
    when = f" (last at {cfg.last_error_at:%Y-%m-%d %H:%M} UTC)" if cfg.last_error_at else ""
    if cfg.failures >= max_failures:
        return (f"**Stopped after {cfg.failures} failed attempts{when}:** {cfg.last_error}")
    return f"**Delivery problem, {cfg.failures} of {max_failures} attempts{when}:** {cfg.last_error}"
