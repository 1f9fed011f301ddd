"""Pure parsing of arXiv's XML: query-API Atom → :class:`Paper`, announcement feeds → :class:`Announcement`.

Elements are found by namespace and name, never by position: the API's 2016 and 2026 formats order them
differently. XML is parsed without entity expansion, DTD loading or network access, and a document that
declares entities is refused outright (no arXiv feed needs one). Broken XML is an
:class:`~bot.errors.UpstreamError`; a single bad entry is skipped, logged and counted.

Announcement feeds (``rss.arxiv.org/rss/cat1+cat2``) list an item's categories with the primary first (in the
recorded quant-ph feed every ``new`` item starts with quant-ph, and cross-lists start with their own primary,
e.g. ``cs.IT, math.IT, quant-ph``), so the first category is taken as primary; an API lookup later corrects it
if that ever proves wrong. The feeds carry no submission dates: ``published`` and ``updated`` stay unknown.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from email.utils import parsedate_to_datetime
from typing import Any, cast

from lxml import etree

from bot.errors import InvalidPaperId, UnknownCategory, UpstreamError
from bot.ids import parse_arxiv_id
from bot.mailing import EASTERN
from bot.models import ANNOUNCE_TYPES, Announcement, AnnounceType, Paper
from bot.taxonomy import expand

log = logging.getLogger(__name__)

ATOM = "http://www.w3.org/2005/Atom"
ARXIV = "http://arxiv.org/schemas/atom"
OPENSEARCH = "http://a9.com/-/spec/opensearch/1.1/"
DC = "http://purl.org/dc/elements/1.1/"

_A = f"{{{ATOM}}}"
_X = f"{{{ARXIV}}}"
_DC = f"{{{DC}}}"
_OS = f"{{{OPENSEARCH}}}"

# "arXiv:2504.17830v1 Announce Type: new \nAbstract: …"
_DESCRIPTION = re.compile(
    r"^\s*arXiv:(?P<id>\S+?)(?:v(?P<version>\d+))?\s+Announce Type:\s*(?P<type>[\w-]+)\s*(?:Abstract:\s*)?",
    re.IGNORECASE,
)
_API_ERROR_ID = re.compile(r"^https?://(?:www\.)?arxiv\.org/api/errors", re.IGNORECASE)


class ArxivApiError(UpstreamError):
    """The API answered with its error feed; ``message`` is arXiv's own words."""

    def __init__(self, message: str) -> None:
        super().__init__(f"arXiv API refused the query: {message}")
        self.message = message


@dataclass(frozen=True, slots=True)
class ApiPage:
    """One page of query-API results."""

    papers: list[Paper]
    total_results: int | None
    start: int
    items_per_page: int | None
    skipped: int = 0  # entries that could not be read


@dataclass(frozen=True, slots=True)
class AnnouncementFeed:
    """One announcement feed: the mailing it carries (None when unknown, e.g. an empty holiday feed)."""

    mailing: date | None
    announcements: list[Announcement]
    entries: int  # items in the feed, readable or not
    skipped: int  # items that could not be read

    @property
    def is_empty(self) -> bool:
        """No items at all: a weekend or holiday, not an error."""
        return self.entries == 0


class _BadEntry(ValueError):
    """Why one entry was skipped."""


def parse_xml(data: bytes, *, what: str) -> etree._Element:
    """The root element of ``data``; UpstreamError (naming ``what``) for anything not safe, whole XML."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, load_dtd=False)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        raise UpstreamError(f"{what} is not well-formed XML ({exc.msg or exc}); "
                            f"it may be truncated or an error page") from None
    dtd: Any = root.getroottree().docinfo.internalDTD  # lxml-stubs lack DTD.iterentities
    if dtd is not None and any(True for _ in dtd.iterentities()):
        raise UpstreamError(f"{what} declares XML entities; refused (arXiv feeds never need them)")
    return root


# ---- the query API (Atom)


def parse_api_feed(data: bytes) -> ApiPage:
    """Papers of one query-API response (2016 or 2026 format). Raises ArxivApiError for arXiv's error feed."""
    root = parse_xml(data, what="arXiv API response")
    if root.tag != f"{_A}feed":
        raise UpstreamError(f"arXiv API response is not an Atom feed (root element {_local(root.tag)!r})")
    entries = root.findall(f"{_A}entry")
    for entry in entries:
        if _API_ERROR_ID.match(_text(entry, f"{_A}id")):
            raise ArxivApiError(_clean(_text(entry, f"{_A}summary")) or "unspecified error")
    papers: list[Paper] = []
    skipped = 0
    for index, entry in enumerate(entries):
        try:
            papers.append(_api_paper(entry))
        except _BadEntry as reason:
            skipped += 1
            log.warning("arXiv API: skipping entry %d: %s", index + 1, reason)
    return ApiPage(
        papers=papers,
        total_results=_int(root.findtext(f"{_OS}totalResults")),
        start=_int(root.findtext(f"{_OS}startIndex")) or 0,
        items_per_page=_int(root.findtext(f"{_OS}itemsPerPage")),
        skipped=skipped,
    )


def _api_paper(entry: etree._Element) -> Paper:
    entry_id = _text(entry, f"{_A}id")
    if not entry_id:
        raise _BadEntry("no <id>")
    try:
        arxiv_id = parse_arxiv_id(entry_id)
    except InvalidPaperId:
        raise _BadEntry(f"unreadable id {entry_id[:80]!r}") from None
    title = _clean(_text(entry, f"{_A}title"))
    if not title:
        raise _BadEntry(f"{arxiv_id.id} has no title")
    categories = [term for element in entry.iterfind(f"{_A}category")
                  if (term := (element.get("term") or "").strip())]
    primary_element = entry.find(f"{_X}primary_category")
    primary = (primary_element.get("term") or "").strip() if primary_element is not None else ""
    primary = primary or (categories[0] if categories else "")
    if not primary:
        raise _BadEntry(f"{arxiv_id.id} has no category")
    authors = tuple(name for author in entry.iterfind(f"{_A}author")
                    if (name := _clean(author.findtext(f"{_A}name"))))
    return Paper(
        id=arxiv_id.id,
        version=arxiv_id.version or 1,
        title=title,
        authors=authors,
        abstract=_clean(_text(entry, f"{_A}summary")),
        primary_category=primary,
        categories=_unique([primary, *categories]),
        published=_iso_datetime(entry.findtext(f"{_A}published")),
        updated=_iso_datetime(entry.findtext(f"{_A}updated")),
        comment=_clean(entry.findtext(f"{_X}comment")) or None,
        journal_ref=_clean(entry.findtext(f"{_X}journal_ref")) or None,
        doi=_clean(entry.findtext(f"{_X}doi")) or None,
    )


# ---- announcement feeds (RSS 2.0, or the Atom variant)


def parse_announcement_feed(data: bytes, categories: Sequence[str] = ()) -> AnnouncementFeed:
    """The mailing and announcements of one feed, e.g. of ``{feeds}/cs.LG+cs.AI`` with ``categories`` the
    categories asked for. Each item becomes one announcement per asked category it is listed in (the primary
    keeps the item's type, the others are its cross-list type); without ``categories``, one in its primary."""
    root = parse_xml(data, what="arXiv announcement feed")
    wanted = _expanded(categories)
    if root.tag == "rss":
        channel = root.find("channel")
        if channel is None:
            raise UpstreamError("arXiv announcement feed has no <channel>")
        items = channel.findall("item")
        mailing = (_mailing_date(channel.findtext("pubDate"))
                   or _mailing_date(channel.findtext("lastBuildDate"))
                   or next((d for item in items if (d := _mailing_date(item.findtext("pubDate")))), None))
        read_item: Callable[[etree._Element, date], tuple[Paper, AnnounceType]] = _rss_item
    elif root.tag == f"{_A}feed":
        items = root.findall(f"{_A}entry")
        mailing = next((d for item in items if (d := _mailing_date(item.findtext(f"{_A}published")))), None)
        read_item = _atom_item
    else:
        raise UpstreamError(f"arXiv announcement feed is neither RSS nor Atom (root {_local(root.tag)!r})")

    announcements: list[Announcement] = []
    seen: set[tuple[str, str]] = set()
    skipped = 0
    for index, item in enumerate(items):
        try:
            if mailing is None:
                raise _BadEntry("the feed carries no date")
            paper, announce_type = read_item(item, mailing)
        except _BadEntry as reason:
            skipped += 1
            log.warning("arXiv feed: skipping item %d: %s", index + 1, reason)
            continue
        for feed_category, category_type in _listings(paper, announce_type, categories, wanted):
            if (paper.id, feed_category) not in seen:
                seen.add((paper.id, feed_category))
                announcements.append(Announcement(paper, mailing, category_type, feed_category))
    return AnnouncementFeed(mailing, announcements, len(items), skipped)


def _rss_item(item: etree._Element, mailing: date) -> tuple[Paper, AnnounceType]:
    description = item.findtext("description") or ""
    return _feed_paper(
        mailing=mailing,
        description=description,
        title=item.findtext("title"),
        fallback_ids=(item.findtext("guid"), item.findtext("link")),
        announce_type=item.findtext(f"{_X}announce_type"),
        categories=[element.text or "" for element in item.iterfind("category")],
        creators=item.findtext(f"{_DC}creator"),
        journal_ref=item.findtext(f"{_X}journal_reference"),
        doi=item.findtext(f"{_X}DOI"),
    )


def _atom_item(entry: etree._Element, mailing: date) -> tuple[Paper, AnnounceType]:
    link = next((element.get("href") for element in entry.iterfind(f"{_A}link")
                 if element.get("rel", "alternate") == "alternate"), None)
    return _feed_paper(
        mailing=mailing,
        description=entry.findtext(f"{_A}summary") or "",
        title=entry.findtext(f"{_A}title"),
        fallback_ids=(entry.findtext(f"{_A}id"), link),
        announce_type=entry.findtext(f"{_X}announce_type"),
        categories=[element.get("term") or "" for element in entry.iterfind(f"{_A}category")],
        creators=entry.findtext(f"{_DC}creator"),
        journal_ref=entry.findtext(f"{_X}journal_reference"),
        doi=entry.findtext(f"{_X}DOI"),
    )


def _feed_paper(*, mailing: date, description: str, title: str | None, fallback_ids: Iterable[str | None],
                announce_type: str | None, categories: list[str], creators: str | None,
                journal_ref: str | None, doi: str | None) -> tuple[Paper, AnnounceType]:
    head = _DESCRIPTION.match(description)
    candidates: list[str | None] = list(fallback_ids)
    if head:
        candidates.insert(0, head["id"] + (f"v{head['version']}" if head["version"] else ""))
    arxiv_id = None
    for candidate in candidates:
        if candidate and candidate.strip():
            try:
                arxiv_id = parse_arxiv_id(candidate.strip().removeprefix("oai:arXiv.org:"))
                break
            except InvalidPaperId:
                continue
    if arxiv_id is None:
        raise _BadEntry("no readable arXiv id in its description, guid or link")
    kind = (announce_type or (head["type"] if head else "") or "").strip().lower()
    if kind not in ANNOUNCE_TYPES:
        raise _BadEntry(f"{arxiv_id.id} has unknown announce type {kind!r}")
    clean_title = _clean(title)
    if not clean_title:
        raise _BadEntry(f"{arxiv_id.id} has no title")
    codes = _unique(code.strip() for code in categories if code and code.strip())
    if not codes:
        raise _BadEntry(f"{arxiv_id.id} has no category")
    abstract = description[head.end():] if head else description
    paper = Paper(
        id=arxiv_id.id,
        version=arxiv_id.version or 1,
        title=clean_title,
        authors=split_authors(creators or ""),
        abstract=_clean(abstract),
        primary_category=codes[0],
        categories=codes,
        journal_ref=_clean(journal_ref) or None,
        doi=_clean(doi) or None,
        mailing=mailing if kind in ("new", "cross") else None,
    )
    return paper, cast(AnnounceType, kind)


def _listings(paper: Paper, announce_type: AnnounceType, asked: Sequence[str], wanted: dict[str, str]
              ) -> list[tuple[str, AnnounceType]]:
    """(feed category, announce type) for each asked category the paper is listed in."""
    if not asked:
        return [(paper.primary_category, announce_type)]
    cross_type: AnnounceType = "cross" if announce_type in ("new", "cross") else "replace-cross"
    listings: dict[str, AnnounceType] = {}
    for code in paper.categories:
        feed_category = wanted.get(code.lower())
        if feed_category is None or feed_category in listings:
            continue
        listings[feed_category] = announce_type if code == paper.primary_category else cross_type
    if not listings:  # listed under a spelling we do not know: keep it under the first asked category
        listings[asked[0]] = announce_type
    return list(listings.items())


def _expanded(categories: Sequence[str]) -> dict[str, str]:
    """Lower-case code (every alias, every member of an archive) → the asked category it belongs to."""
    wanted: dict[str, str] = {}
    for asked in categories:
        try:
            codes = expand([asked])
        except UnknownCategory:
            codes = frozenset()
        for code in (asked, *sorted(codes)):
            wanted.setdefault(code.lower(), asked)
    return wanted


def split_authors(creators: str) -> tuple[str, ...]:
    """Authors of a feed's comma-separated ``dc:creator``; commas inside an affiliation's parentheses stay."""
    if "(" not in creators:
        return tuple(name for raw in creators.split(",") if (name := _clean(raw)))
    names: list[str] = []
    depth = 0
    current: list[str] = []
    for character in creators:
        if character == "(":
            depth += 1
        elif character == ")":
            depth = max(0, depth - 1)
        if character == "," and depth == 0:
            names.append("".join(current))
            current = []
        else:
            current.append(character)
    names.append("".join(current))
    return tuple(name for raw in names if (name := _clean(raw)))


# ---- small helpers


def _mailing_date(text: str | None) -> date | None:
    """The US Eastern calendar date of an RFC 822 or ISO 8601 timestamp (the mailing a feed belongs to)."""
    if not text or not text.strip():
        return None
    when: datetime | None
    try:
        when = parsedate_to_datetime(text.strip())
    except (TypeError, ValueError, IndexError):
        when = _iso_datetime(text)
    if when is None or when.tzinfo is None:
        return None
    return when.astimezone(EASTERN).date()


def _iso_datetime(text: str | None) -> datetime | None:
    if not text or not text.strip():
        return None
    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    return when.astimezone(UTC) if when.tzinfo is not None else None


def _text(element: etree._Element, path: str) -> str:
    return (element.findtext(path) or "").strip()


def _clean(text: str | None) -> str:
    """Whitespace runs (line breaks of wrapped titles and abstracts included) become single spaces."""
    return " ".join(text.split()) if text else ""


def _unique(items: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))


def _int(text: str | None) -> int | None:
    try:
        return int(text.strip()) if text else None
    except ValueError:
        return None


def _local(tag: object) -> str:
    return str(tag).rpartition("}")[2]
