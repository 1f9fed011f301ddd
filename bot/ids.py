"""arXiv identifiers: parse what users paste, find ids in free text, refuse ids that cannot exist.

New-style ids are ``YYMM.NNNN`` (April 2007 to December 2014) or ``YYMM.NNNNN`` (from January 2015),
old-style ids ``archive(.SUBJECT)?/YYMMNNN`` (August 1991 to March 2007); either may carry a version ``vN``.
The canonical id is versionless and, for old-style ids, drops the subject class
(``math.GT/0309136`` → ``math/0309136``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from bot.errors import InvalidPaperId, UnknownCategory

EXAMPLES = "try 2107.05677, arXiv:2107.05677v2 or https://arxiv.org/abs/2107.05677"
_ECHO_LIMIT = 40


@dataclass(frozen=True, slots=True)
class ArxivId:
    """A checked arXiv id: ``id`` is canonical and versionless; ``version`` is None when none was given."""

    id: str
    version: int | None = None

    def __str__(self) -> str:
        return self.id if self.version is None else f"{self.id}v{self.version}"


_ID = (
    r"(?:(?P<yymm>\d{4})\.(?P<number>\d{4,5})"
    r"|(?P<archive>[a-z]+(?:-[a-z]+)?)(?:\.(?P<subject>[a-z]+(?:-[a-z]+)?))?/(?P<old_yymm>\d{4})(?P<old_number>\d{3}))"
    r"(?:v(?P<version>\d{1,4}))?"
)
_HOST_AND_ROUTE = (
    r"(?:(?:www\.|export\.)?arxiv\.org/(?:abs|pdf|html)"
    r"|(?:www\.)?alphaxiv\.org/(?:abs|overview)"
    r"|(?:www\.)?huggingface\.co/papers)/"
)
# A whole pasted value: optional URL, path or "arXiv:" prefix; optional ".pdf", trailing slash, query,
# fragment, or the " [cs.LG]" that arXiv prints after an id.
_WHOLE = re.compile(
    rf"(?:(?:https?://)?{_HOST_AND_ROUTE}|/(?:abs|pdf|html)/|arxiv:\s*)?{_ID}"
    r"(?:\.pdf)?/?(?:[?#].*)?(?:\s*\[[a-z.-]+\])?",
    re.IGNORECASE | re.DOTALL | re.ASCII,
)
# An id inside free text needs an arXiv context: a link to a page about the paper, or an "arXiv:" mention.
_IN_TEXT = re.compile(
    rf"(?:(?<![\w.-])(?:https?://)?{_HOST_AND_ROUTE}|(?<![\w.-])arxiv:[ \t]?){_ID}(?![\d])",
    re.IGNORECASE | re.ASCII,
)
_HOST_HINT = re.compile(
    r"(?:arxiv\.org|alphaxiv\.org|huggingface\.co/papers)/|^arxiv:|^/(?:abs|pdf|html)/",
    re.IGNORECASE | re.ASCII,
)
_ID_SHAPE = re.compile(
    r"\d{4}\.\d{4,5}(?:v\d+)?(?:\.pdf)?|[a-z]+(?:-[a-z]+)?(?:\.[a-z-]+)?/\d{7}(?:v\d+)?",
    re.IGNORECASE | re.ASCII,
)


def parse_arxiv_id(text: str) -> ArxivId:
    """The arXiv id in ``text``: a bare id, ``arXiv:…``, or an arxiv.org, alphaxiv or huggingface.co/papers
    URL. Raises InvalidPaperId, showing accepted forms, for anything else or an id that cannot exist.
    """
    value = text.strip().removeprefix("<").removesuffix(">").strip()
    match = _WHOLE.fullmatch(value)
    if match is None:
        raise InvalidPaperId(f"{_echo(text)} is not an arXiv id or URL; {EXAMPLES}")
    try:
        return _checked(match)
    except _Impossible as reason:
        raise InvalidPaperId(f"{_echo(text)} cannot be an arXiv id: {reason}; {EXAMPLES}") from None


def find_arxiv_ids(text: str) -> list[ArxivId]:
    """Every valid arXiv id mentioned in ``text`` as a link or an ``arXiv:`` mention, in order of first
    appearance, one per canonical id (the first mention's version wins). Never raises."""
    found: dict[str, ArxivId] = {}
    for match in _IN_TEXT.finditer(text):
        try:
            arxiv_id = _checked(match)
        except _Impossible:
            continue
        found.setdefault(arxiv_id.id, arxiv_id)
    return list(found.values())


def looks_like_arxiv_id(text: str) -> bool:
    """True when ``text`` is one token that tries to be an id or an arXiv link (so a bad one deserves a
    refusal), false for anything with words in it (to be searched as keywords)."""
    value = text.strip().removeprefix("<").removesuffix(">").strip()
    value = re.sub(r"^(arxiv:)\s+", r"\1", value, flags=re.IGNORECASE)
    if not value or any(character.isspace() for character in value):
        return False
    return bool(_HOST_HINT.search(value) or _ID_SHAPE.fullmatch(value))


class _Impossible(Exception):
    """Why a well-shaped id cannot exist."""


def _checked(match: re.Match[str]) -> ArxivId:
    version = match["version"]
    if version is not None and int(version) == 0:
        raise _Impossible("versions start at v1")
    parsed_version = int(version) if version is not None else None
    if match["yymm"] is not None:
        return ArxivId(_new_style(match["yymm"], match["number"]), parsed_version)
    return ArxivId(_old_style(match["archive"], match["subject"], match["old_yymm"], match["old_number"]),
                   parsed_version)


def _new_style(yymm: str, number: str) -> str:
    month = int(yymm[2:])
    if not 1 <= month <= 12:
        raise _Impossible(f"month {yymm[2:]} does not exist")
    if yymm < "0704":
        raise _Impossible("ids like 2107.05677 start at 0704 (April 2007); older ones: hep-th/9901001")
    if yymm < "1501" and len(number) != 4:
        raise _Impossible("ids from 0704 to 1412 have 4 digits after the dot")
    if yymm >= "1501" and len(number) != 5:
        raise _Impossible("ids from 1501 on have 5 digits after the dot")
    if int(number) == 0:
        raise _Impossible("numbers start at 1")
    return f"{yymm}.{number}"


def _old_style(archive: str, subject: str | None, yymm: str, number: str) -> str:
    archive = archive.lower()
    if archive not in _old_style_archives():
        raise _Impossible(f"there is no arXiv archive {archive!r}")
    if subject is not None and not _is_subject_class(archive, subject):
        raise _Impossible(f"{archive}.{subject} is not a subject class of {archive}")
    month = int(yymm[2:])
    if not 1 <= month <= 12:
        raise _Impossible(f"month {yymm[2:]} does not exist")
    year = (1900 if yymm >= "91" else 2000) + int(yymm[:2])
    if not 199108 <= year * 100 + month <= 200703:
        raise _Impossible("ids like hep-th/9901001 run from 9108 to 0703; newer papers look like 2107.05677")
    if number == "000":
        raise _Impossible("numbers start at 001")
    return f"{archive}/{yymm}{number}"


@cache
def _old_style_archives() -> frozenset[str]:
    from bot.taxonomy import archives

    return frozenset(archive.code for archive in archives())


def _is_subject_class(archive: str, subject: str) -> bool:
    from bot.taxonomy import canonical_category

    code = f"{archive}.{subject}"
    try:
        canonical_category(code)
    except UnknownCategory:
        return False
    return True


def _echo(text: str) -> str:
    shown = text.strip()
    return repr(shown if len(shown) <= _ECHO_LIMIT else shown[: _ECHO_LIMIT - 1] + "…")
