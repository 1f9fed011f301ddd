"""Plain data shared by every layer: what sources produce, the store keeps, and ranking and rendering read."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Literal

AnnounceType = Literal["new", "cross", "replace", "replace-cross"]
ANNOUNCE_TYPES: tuple[AnnounceType, ...] = ("new", "cross", "replace", "replace-cross")


@dataclass(frozen=True, slots=True)
class Paper:
    """One arXiv paper, at its latest known version. ``id`` is canonical and versionless."""

    id: str
    version: int
    title: str
    authors: tuple[str, ...]
    abstract: str
    primary_category: str
    categories: tuple[str, ...]
    published: datetime | None = None  # first version, UTC
    updated: datetime | None = None  # latest version, UTC
    comment: str | None = None
    journal_ref: str | None = None
    doi: str | None = None
    mailing: date | None = None  # the mailing that announced it as new/cross, if any

    @property
    def abs_url(self) -> str:
        return f"https://arxiv.org/abs/{self.id}"

    @property
    def pdf_url(self) -> str:
        return f"https://arxiv.org/pdf/{self.id}"

    @property
    def html_url(self) -> str:
        return f"https://arxiv.org/html/{self.id}"


@dataclass(frozen=True, slots=True)
class Announcement:
    """A feed entry: ``paper`` was announced in ``mailing`` under ``announce_type`` in ``category``'s feed."""

    paper: Paper
    mailing: date
    announce_type: AnnounceType
    feed_category: str


@dataclass(frozen=True, slots=True)
class SourceSignal:
    """One source's engagement with one paper at one moment: counts keyed by metric, and the best link."""

    source: str
    counts: dict[str, int] = field(default_factory=dict)
    url: str | None = None


@dataclass(frozen=True, slots=True)
class DiscussionPost:
    """One post about a paper as it was last observed: who wrote it, its first line, its own counts."""

    source: str
    url: str
    author: str | None
    text: str | None  # the first line, as written (not escaped)
    counts: Mapping[str, int]
    observed_at: datetime

    @property
    def engagement(self) -> int:
        return sum(self.counts.values())


@dataclass(frozen=True, slots=True)
class CodeLink:
    """A paper's code repository (and its stars when a source counted them)."""

    url: str
    stars: int | None = None


@dataclass(frozen=True, slots=True)
class PaperExtras:
    """What the post shows beyond a paper's counts: the best posts about it (most engaged first), its code,
    and when its counts were last observed."""

    posts: tuple[DiscussionPost, ...] = ()
    code: CodeLink | None = None
    as_of: datetime | None = None


@dataclass(frozen=True, slots=True)
class PostContext:
    """The extras of a set of papers (a digest, a DM, one paper) and when their counts were taken."""

    papers: Mapping[str, PaperExtras] = field(default_factory=dict)
    as_of: datetime | None = None

    def of(self, paper_id: str) -> PaperExtras:
        return self.papers.get(paper_id) or PaperExtras()

    def only(self, paper_ids: Iterable[str]) -> PostContext:
        """The context of just these papers (as the store would give for them alone)."""
        papers = {paper_id: self.papers[paper_id] for paper_id in paper_ids if paper_id in self.papers}
        return PostContext(papers, max((e.as_of for e in papers.values() if e.as_of), default=None))


@dataclass(frozen=True, slots=True)
class RankedPaper:
    paper: Paper
    rank: int
    score: float
    signals: dict[str, SourceSignal]


@dataclass(frozen=True, slots=True)
class ChannelDigest:
    """One channel's daily digest settings (one per channel)."""

    guild_id: int
    channel_id: int
    time: str  # HH:MM in ``timezone``
    timezone: str  # IANA name
    categories: tuple[str, ...]
    size: int
    active_since: datetime  # slots before this instant never post (set by setup and resume)
    thread: bool = False
    min_score: float | None = None  # None: the ranking's default
    mention_role: int | None = None
    paused: bool = False
    failures: int = 0  # permission failures in a row
    last_error: str | None = None
    last_error_at: datetime | None = None
    disabled_reason: str | None = None  # set when the channel is gone; cleared by setup


@dataclass(frozen=True, slots=True)
class Notice:
    """A follow-up for someone watching a paper: ``event`` is ``v<N>`` (detail: that version's comment),
    ``code`` (the repository) or ``published`` (the journal reference or DOI)."""

    user_id: int
    paper_id: str
    event: str
    detail: str
    created_at: datetime
