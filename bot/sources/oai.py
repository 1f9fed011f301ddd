"""arXiv's OAI-PMH interface (``HOTPAPERS_ARXIV_OAI``): ``ListRecords`` pages parsed into papers.

Facts (``reference/arxiv-docs/oa_index.md`` and arXiv's own server, github.com/arXiv/oaipmh):

- One page holds up to 3,500 records (``RECORDS_LIMIT``), sorted by datestamp; a ``resumptionToken`` asks for
  the next page. The token is exclusive (no other argument beside the verb), expires at the next midnight UTC,
  and no longer carries ``completeListSize``/``cursor`` (older servers did; both are read when present). An
  empty ``<resumptionToken/>`` (or none) ends the list.
- Datestamps are days (granularity ``YYYY-MM-DD``), the last change of the record, in UTC.
- ``noRecordsMatch`` means an empty list (nothing changed since ``from``), not a failure; every other OAI error
  code is raised as :class:`OaiError`. Deleted records (``<header status="deleted">``) carry no metadata.
- ``arXivRaw`` (what the harvest asks for) is the only format with every version's date; the ``arXiv`` format
  (structured authors, no version numbers) is read too, as version 1.

Requests share the arXiv politeness of every other arXiv client (one at a time, ``HOTPAPERS_ARXIV_INTERVAL``
apart, 503 + ``Retry-After`` honoured): :class:`OaiClient` is an :class:`~bot.sources.arxiv.ArxivClient`.
"""

from __future__ import annotations

import asyncio
import logging
import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, date, datetime
from email.utils import parsedate_to_datetime

import aiohttp
from lxml import etree

from bot.config import Settings
from bot.errors import InvalidPaperId, UpstreamError
from bot.ids import parse_arxiv_id
from bot.models import Paper
from bot.sources.arxiv import ArxivClient
from bot.sources.arxiv_parse import _clean, _int, _iso_datetime, _local, parse_xml
from bot.sources.http import Pacer, RetryPolicy

log = logging.getLogger(__name__)

OAI = "http://www.openarchives.org/OAI/2.0/"
ARXIV_RAW = "http://arxiv.org/OAI/arXivRaw/"
ARXIV_FORMAT = "http://arxiv.org/OAI/arXiv/"
_O = f"{{{OAI}}}"
_RAW = f"{{{ARXIV_RAW}}}"
_RAW_LENGTH, _RAW_DATE = len(_RAW), f"{_RAW}date"
_FMT = f"{{{ARXIV_FORMAT}}}"
_HEADER, _METADATA = f"{_O}header", f"{_O}metadata"
_IDENTIFIER, _DATESTAMP, _SET_SPEC = f"{_O}identifier", f"{_O}datestamp", f"{_O}setSpec"

METADATA_PREFIX = "arXivRaw"
RECORDS_PER_PAGE = 3500  # arXiv's RECORDS_LIMIT (arXiv/oaipmh, oaipmh/data/oai_config.py)
EARLIEST_DATESTAMP = date(2005, 9, 16)  # arXiv's Identify <earliestDatestamp> since the 2025 rewrite


class OaiError(UpstreamError):
    """arXiv answered with an OAI-PMH error code (``badArgument``, ``badResumptionToken``, …)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"arXiv OAI-PMH refused the request ({code}: {message})")
        self.code = code
        self.message = message


@dataclass(frozen=True, slots=True)
class OaiRecord:
    """One record of a list: a paper, or a deleted record (``paper`` None)."""

    identifier: str  # oai:arXiv.org:…
    datestamp: date
    sets: tuple[str, ...]
    paper: Paper | None

    @property
    def deleted(self) -> bool:
        return self.paper is None


@dataclass(frozen=True, slots=True)
class ResumptionToken:
    """Where the list goes on: ``value`` None (an empty token) means the list is complete."""

    value: str | None
    complete_list_size: int | None = None
    cursor: int | None = None
    expires: datetime | None = None


@dataclass(frozen=True, slots=True)
class OaiPage:
    """One ``ListRecords`` response. ``no_records``: arXiv said ``noRecordsMatch`` (an empty list)."""

    response_date: datetime | None
    records: list[OaiRecord]
    token: ResumptionToken | None
    skipped: int = 0  # records that could not be read
    no_records: bool = False

    @property
    def next_token(self) -> str | None:
        """The token of the next page; None when this page ends the list."""
        return self.token.value if self.token is not None else None


class _BadRecord(ValueError):
    """Why one record was skipped."""


# ---- parsing


def parse_list_records(data: bytes) -> OaiPage:
    """The records of one ``ListRecords`` (or ``GetRecord``) response; OaiError for an OAI error other than
    ``noRecordsMatch``, UpstreamError for anything that is not an OAI-PMH response."""
    root = parse_xml(data, what="arXiv OAI-PMH response")
    if root.tag != f"{_O}OAI-PMH":
        raise UpstreamError(f"arXiv OAI-PMH response has root element {_local(root.tag)!r}, not OAI-PMH; "
                            f"is HOTPAPERS_ARXIV_OAI the OAI-PMH base URL?")
    response_date = _iso_datetime(root.findtext(f"{_O}responseDate"))
    errors = root.findall(f"{_O}error")
    if errors:
        codes = [(element.get("code") or "unknown", _clean(element.text)) for element in errors]
        if all(code == "noRecordsMatch" for code, _ in codes):
            return OaiPage(response_date, [], None, no_records=True)
        code, message = next((c, m) for c, m in codes if c != "noRecordsMatch")
        raise OaiError(code, message or "no explanation given")
    listing = root.find(f"{_O}ListRecords")
    if listing is None:
        listing = root.find(f"{_O}GetRecord")
    if listing is None:
        raise UpstreamError("arXiv OAI-PMH response holds neither records nor an error")
    records: list[OaiRecord] = []
    skipped = 0
    for index, element in enumerate(listing.iterfind(f"{_O}record")):
        try:
            records.append(_record(element))
        except _BadRecord as reason:
            skipped += 1
            log.warning("arXiv OAI-PMH: skipping record %d: %s", index + 1, reason)
    return OaiPage(response_date, records, _token(listing.find(f"{_O}resumptionToken")), skipped)


def _record(element: etree._Element) -> OaiRecord:
    # Children are walked, not searched: find() costs more than the parse itself at 3,500 records a page.
    header = metadata = None
    for part in element:
        if part.tag == _HEADER:
            header = part
        elif part.tag == _METADATA:
            metadata = part
    if header is None:
        raise _BadRecord("no <header>")
    identifier, stamp, specs = "", "", []
    for child in header:
        if child.tag == _SET_SPEC:
            specs.append(_clean(child.text))
        elif child.tag == _IDENTIFIER:
            identifier = _clean(child.text)
        elif child.tag == _DATESTAMP:
            stamp = child.text or ""
    datestamp = _datestamp(stamp)
    if datestamp is None:
        raise _BadRecord(f"{identifier or 'a record'} has no readable datestamp")
    sets = tuple(spec for spec in specs if spec)
    if header.get("status") == "deleted":
        return OaiRecord(identifier, datestamp, sets, None)
    for content in metadata if metadata is not None else ():
        if content.tag == f"{_RAW}arXivRaw":
            return OaiRecord(identifier, datestamp, sets, _raw_paper(content))
        if content.tag == f"{_FMT}arXiv":
            return OaiRecord(identifier, datestamp, sets, _format_paper(content))
    raise _BadRecord(f"{identifier or 'a record'} has no arXivRaw or arXiv metadata")


def _raw_paper(raw: etree._Element) -> Paper:
    """A paper from the ``arXivRaw`` format: every version with its date, authors as one string."""
    fields: dict[str, str] = {}
    versions: list[tuple[int, datetime | None]] = []
    for child in raw:
        name = str(child.tag)[_RAW_LENGTH:]
        if name == "version":
            number = (child.get("version") or "").strip().lstrip("vV")
            if number.isdigit():
                date_text = next((part.text for part in child if part.tag == _RAW_DATE), None)
                versions.append((int(number), _rfc822(date_text)))
        else:
            fields[name] = child.text or ""
    versions.sort(key=lambda version: version[0])
    return _paper(
        fields,
        version=versions[-1][0] if versions else 1,
        authors=split_raw_authors(fields.get("authors", "")),
        published=versions[0][1] if versions else None,
        updated=versions[-1][1] if versions else None,
    )


def _format_paper(element: etree._Element) -> Paper:
    """A paper from the ``arXiv`` format: no version numbers (taken as 1, so it never hides a newer one)."""
    fields = {_local(child.tag): child.text or "" for child in element}
    authors = []
    for author in element.iterfind(f"{_FMT}authors/{_FMT}author"):
        parts = [_clean(author.findtext(f"{_FMT}{name}")) for name in ("forenames", "keyname", "suffix")]
        if name := decode_tex_accents(" ".join(part for part in parts if part)):
            authors.append(name)
    return _paper(fields, version=1, authors=tuple(authors),
                  published=_midnight(_datestamp(fields.get("created"))),
                  updated=_midnight(_datestamp(fields.get("updated"))))


def _paper(fields: dict[str, str], *, version: int, authors: tuple[str, ...], published: datetime | None,
           updated: datetime | None) -> Paper:
    raw_id = _clean(fields.get("id"))
    try:
        arxiv_id = parse_arxiv_id(raw_id)
    except InvalidPaperId:
        raise _BadRecord(f"unreadable id {raw_id[:80]!r}") from None
    title = _clean(fields.get("title"))
    if not title:
        raise _BadRecord(f"{arxiv_id.id} has no title")
    categories = tuple(dict.fromkeys(fields.get("categories", "").split()))
    if not categories:
        raise _BadRecord(f"{arxiv_id.id} has no category")
    doi = fields.get("doi", "").split()  # several DOIs are separated by spaces
    return Paper(
        id=arxiv_id.id,
        version=version,
        title=title,
        authors=authors,
        abstract=_clean(fields.get("abstract")),
        primary_category=categories[0],  # arXiv lists the primary category first
        categories=categories,
        published=published,
        updated=updated if updated is not None else published,
        comment=_clean(fields.get("comments")) or None,
        journal_ref=_clean(fields.get("journal-ref")) or None,
        doi=doi[0] if doi else None,
    )


def _token(element: etree._Element | None) -> ResumptionToken | None:
    if element is None:
        return None
    return ResumptionToken(
        value=(element.text or "").strip() or None,
        complete_list_size=_int(element.get("completeListSize")),
        cursor=_int(element.get("cursor")),
        expires=_iso_datetime(element.get("expirationDate") or element.get("expires")),
    )


# ---- authors as arXiv writes them ("A. Smith (MIT), B. Jones and C. Bal\'azs")

_AND = re.compile(r"\s+and\s+|^and\s+", re.IGNORECASE)
_SEPARATOR = re.compile(r",\s*(?:and\s+)?|\s+and\s+", re.IGNORECASE)
_SPECIAL_LETTERS = {"ss": "ß", "o": "ø", "O": "Ø", "l": "ł", "L": "Ł", "aa": "å", "AA": "Å", "ae": "æ",
                    "AE": "Æ", "oe": "œ", "OE": "Œ", "i": "ı", "j": "ȷ"}
_ACCENTS = {"`": "\u0300", "'": "\u0301", "^": "\u0302", "~": "\u0303", "=": "\u0304", ".": "\u0307",
            '"': "\u0308", "u": "\u0306", "v": "\u030c", "H": "\u030b", "r": "\u030a", "c": "\u0327",
            "k": "\u0328"}
# \'a  \'{a}  {\'a}  \v{S}  \c c  \"{\i}
_ACCENT = re.compile(r"\{?\\([`'^~=.\"]|[uvHrck](?=[\s{]))\s*\{?\s*(\\[ij](?![A-Za-z])|[A-Za-z])\s*\}?\}?")
_SPECIAL = re.compile(r"\{?\\(ss|aa|AA|ae|AE|oe|OE|o|O|l|L|i|j)(?![A-Za-z])\s*(?:\{\})?\}?")


def decode_tex_accents(text: str) -> str:
    """TeX accents in a name as Unicode (``Bal\\'azs`` → ``Balázs``, ``{\\L}ukasz`` → ``Łukasz``), as the
    arXiv API writes names, so author search finds them."""
    if "\\" not in text:
        return text

    def accent(match: re.Match[str]) -> str:
        base = match[2].removeprefix("\\")  # an accented dotless \i or \j is a plain i or j
        return unicodedata.normalize("NFC", base + _ACCENTS[match[1]])

    decoded = _ACCENT.sub(accent, text)
    decoded = _SPECIAL.sub(lambda match: _SPECIAL_LETTERS[match[1]], decoded)
    return decoded.replace("{", "").replace("}", "")


def split_raw_authors(text: str) -> tuple[str, ...]:
    """Names of an ``arXivRaw`` author string: split at commas and "and" outside parentheses; affiliations
    (in parentheses) dropped; TeX accents decoded."""
    if "(" not in text:
        return tuple(name for raw in _SEPARATOR.split(text) if (name := decode_tex_accents(_clean(raw))))
    names: list[str] = []
    depth = 0
    current: list[str] = []
    for character in " ".join(text.split()) + ",":
        if character == "(":
            depth += 1
        elif character == ")":
            depth = max(0, depth - 1)
        elif character == "," and depth == 0:
            names.extend(_AND.split("".join(current)))
            current = []
        elif depth == 0:
            current.append(character)
    return tuple(name for raw in names if (name := decode_tex_accents(_clean(raw))))


# ---- small helpers


def _datestamp(text: str | None) -> date | None:
    """A day from ``YYYY-MM-DD`` (or the day of a ``YYYY-MM-DDThh:mm:ssZ`` datestamp)."""
    try:
        return date.fromisoformat(text.strip()[:10]) if text else None
    except ValueError:
        return None


def _midnight(day: date | None) -> datetime | None:
    return None if day is None else datetime(day.year, day.month, day.day, tzinfo=UTC)


_GMT = re.compile(r"\s*(?:\w{3},\s*)?(\d{1,2}) (\w{3}) (\d{4}) (\d\d):(\d\d):(\d\d) GMT\s*")
_MONTHS = {name: number for number, name in enumerate(
    ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), start=1)}


def _rfc822(text: str | None) -> datetime | None:
    """``Fri, 8 Feb 2013 21:00:01 GMT`` → aware UTC."""
    if not text or not text.strip():
        return None
    fast = _GMT.fullmatch(text)
    if fast and fast[2] in _MONTHS:  # arXiv's own form, read without the email parser (7,000 a page)
        try:
            return datetime(int(fast[3]), _MONTHS[fast[2]], int(fast[1]), int(fast[4]), int(fast[5]),
                            int(fast[6]), tzinfo=UTC)
        except ValueError:
            return None
    try:
        when = parsedate_to_datetime(text.strip())
    except (TypeError, ValueError, IndexError):
        return None
    return when.astimezone(UTC) if when.tzinfo is not None else when.replace(tzinfo=UTC)


# ---- the client


def harvest_retry(interval: float) -> RetryPolicy:
    """Patient retries for a long harvest: big pages take a while to build, and arXiv's 503 + Retry-After is
    flow control (honoured up to ten minutes), not a failure."""
    return RetryPolicy(attempts=8, backoff=max(interval, 0.05), max_backoff=300.0, max_retry_after=600.0,
                       timeout=300.0)


class OaiClient(ArxivClient):
    """``ListRecords`` over ``HOTPAPERS_ARXIV_OAI``, paced with every other arXiv request of the process.

    Use as ``async with OaiClient(settings) as oai:``.
    """

    def __init__(self, settings: Settings, *, session: aiohttp.ClientSession | None = None,
                 retry: RetryPolicy | None = None, pacer: Pacer | None = None) -> None:
        super().__init__(settings, session=session, retry=retry or harvest_retry(settings.arxiv_interval),
                         pacer=pacer)
        self.oai_url = settings.arxiv_oai

    async def __aenter__(self) -> OaiClient:
        return self

    async def list_records(self, *, set_spec: str | None = None, from_date: date | None = None,
                           metadata_prefix: str = METADATA_PREFIX) -> OaiPage:
        """The first page of a list (all of arXiv, or ``set_spec``; changed on or after ``from_date``)."""
        params = {"verb": "ListRecords", "metadataPrefix": metadata_prefix}
        if set_spec:
            params["set"] = set_spec
        if from_date is not None:
            params["from"] = from_date.isoformat()
        return await self._list(params)

    async def resume(self, token: str) -> OaiPage:
        """The page a resumption token points at (OaiError ``badResumptionToken`` once it has expired)."""
        return await self._list({"verb": "ListRecords", "resumptionToken": token})

    async def _list(self, params: dict[str, str]) -> OaiPage:
        response = await self.http.get(self.oai_url, params=params)
        if response.ok or (400 <= response.status < 500 and response.body.lstrip().startswith(b"<")):
            try:
                # Off the event loop: a 3,500-record page takes a few hundred ms to read.
                return await asyncio.to_thread(parse_list_records, response.body)
            except OaiError:
                raise
            except UpstreamError:
                if response.ok:
                    raise
        raise UpstreamError(f"arXiv OAI-PMH answered HTTP {response.status}")
