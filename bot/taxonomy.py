"""The arXiv category taxonomy: names, archives, aliases, and matching a paper against followed categories.

The data ships as ``bot/data/taxonomy.json`` (made by ``scripts/make_taxonomy.py`` from arXiv's own taxonomy)
and is loaded once. Canonical codes follow arXiv: an alias resolves to the code arXiv calls canonical
(cs.SY → eess.SY, math.IT → cs.IT, math.MP → math-ph, q-fin.EC → econ.GN, stat.TH → math.ST,
cs.NA → math.NA), and an archive arXiv folded into a category means that category (cmp-lg → cs.CL).
An archive code (``cs``, ``math``, ``astro-ph``) stands for all its categories.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from bot.errors import UnknownCategory


@dataclass(frozen=True, slots=True)
class Category:
    """One canonical arXiv category; ``aliases`` are other codes arXiv gives the same category."""

    code: str
    name: str
    archive: str
    group: str
    active: bool
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Archive:
    """An arXiv archive (``cs``, ``hep-th``, ``solv-int``); inactive ones only appear in old-style ids."""

    code: str
    name: str
    group: str
    active: bool


@dataclass(frozen=True, slots=True)
class _Taxonomy:
    categories: dict[str, Category]  # canonical code → category
    archives: dict[str, Archive]
    canonical: dict[str, str]  # lower-cased category, alias or folded-away archive → canonical category
    archive_codes: dict[str, str]  # lower-cased archive code → archive code (subsumed archives excluded)
    members: dict[str, frozenset[str]]  # archive code → its category codes, aliases included
    spellings: dict[str, frozenset[str]]  # canonical category code → itself and every alias

    @property
    def spellings_by_code(self) -> list[str]:
        """Every accepted category spelling as arXiv writes it, aliases and folded-away archives included."""
        return [spelling for codes in self.spellings.values() for spelling in codes]


@cache
def _taxonomy() -> _Taxonomy:
    raw: dict[str, Any] = json.loads(resources.files("bot").joinpath("data/taxonomy.json").read_text("utf-8"))
    other_codes: dict[str, list[str]] = {}
    for alias, canonical in [*raw["aliases"].items(), *raw["subsumed"].items()]:
        other_codes.setdefault(canonical, []).append(alias)
    categories = {
        code: Category(code, entry["name"], entry["archive"], entry["group"], entry["active"],
                       tuple(sorted(other_codes.get(code, ()))))
        for code, entry in raw["categories"].items()
    }
    archives = {
        code: Archive(code, entry["name"], entry["group"], entry["active"])
        for code, entry in raw["archives"].items()
    }
    canonical = {code.lower(): code for code in categories}
    for alias, code in [*raw["aliases"].items(), *raw["subsumed"].items()]:
        canonical[alias.lower()] = code
    archive_codes = {code.lower(): code for code in archives if code not in raw["subsumed"]}
    members: dict[str, set[str]] = {code: set() for code in archives}
    for category in categories.values():
        members[category.archive].add(category.code)
    for alias, code in raw["aliases"].items():
        members[alias.split(".")[0]] |= {alias, code}  # cs.SY is listed in cs as well as in eess
    spellings = {code: frozenset({code, *category.aliases}) for code, category in categories.items()}
    for archive_members in members.values():
        archive_members |= {alias for code in list(archive_members) for alias in spellings.get(code, ())}
    return _Taxonomy(categories, archives, canonical, archive_codes,
                     {code: frozenset(codes) for code, codes in members.items()}, spellings)


def categories() -> list[Category]:
    """Every canonical category, sorted by code."""
    return sorted(_taxonomy().categories.values(), key=lambda category: category.code)


def archives() -> list[Archive]:
    """Every archive, old ones included, sorted by code."""
    return sorted(_taxonomy().archives.values(), key=lambda archive: archive.code)


def is_archive(code: str) -> bool:
    """True for an archive code such as ``cs`` or ``astro-ph`` (any case); false for folded-away archives."""
    return code.strip().lower() in _taxonomy().archive_codes


def canonical_category(code: str) -> str:
    """The canonical spelling of a category or archive code (``"CS.lg"`` → ``"cs.LG"``, ``"cs.SY"`` →
    ``"eess.SY"``, ``"MATH"`` → ``"math"``); raises UnknownCategory with a suggestion."""
    taxonomy = _taxonomy()
    key = code.strip().lower()
    if key in taxonomy.canonical:
        return taxonomy.canonical[key]
    if key in taxonomy.archive_codes:
        return taxonomy.archive_codes[key]
    raise UnknownCategory(_unknown_message(code))


def _unknown_message(code: str) -> str:
    shown = code.strip()
    shown = shown if len(shown) <= 40 else shown[:39] + "…"
    message = f"{shown!r} is not an arXiv category"
    taxonomy = _taxonomy()
    spelled = {code.lower(): code for code in taxonomy.spellings_by_code} | taxonomy.archive_codes
    close = difflib.get_close_matches(code.strip().lower(), spelled, n=1, cutoff=0.6)
    if close:
        return f"{message}; did you mean {spelled[close[0]]}?"
    by_name = search_categories(code, limit=1)
    if by_name:
        return f"{message}; did you mean {by_name[0].code} ({by_name[0].name})?"
    return f"{message}; use a code such as cs.LG, math.AG or hep-th, or an archive such as cs"


def resolve_categories(items: Iterable[str]) -> tuple[str, ...]:
    """Canonical codes of ``items`` (categories or archives): stripped, empties dropped, first occurrence
    kept; raises UnknownCategory naming the first unknown one."""
    resolved: dict[str, None] = {}
    for item in items:
        if item.strip():
            resolved.setdefault(canonical_category(item), None)
    return tuple(resolved)


def expand(codes: Iterable[str]) -> frozenset[str]:
    """Every category code ``codes`` stand for: archives become all their categories, and each category comes
    with all its aliases, so the result can be matched against categories spelled either way."""
    taxonomy = _taxonomy()
    expanded: set[str] = set()
    for code in codes:
        canonical = canonical_category(code)
        if canonical in taxonomy.members:
            expanded |= taxonomy.members[canonical]
        if canonical in taxonomy.spellings:
            expanded |= taxonomy.spellings[canonical]
    return frozenset(expanded)


def matches(paper_categories: Iterable[str], followed: Iterable[str]) -> bool:
    """True if any of the paper's categories is followed, aliases resolved and archives standing for all
    their categories. Unknown codes on the paper never match and never raise."""
    wanted = expand(followed)
    for category in paper_categories:
        key = category.strip().lower()
        canonical = _taxonomy().canonical.get(key, category.strip())
        if canonical in wanted or category.strip() in wanted:
            return True
    return False


def category_name(code: str) -> str:
    """The full name of a category or archive (``"cs.LG"`` → ``"Machine Learning"``); raises UnknownCategory.
    """
    canonical = canonical_category(code)
    taxonomy = _taxonomy()
    if canonical in taxonomy.categories:
        return taxonomy.categories[canonical].name
    return taxonomy.archives[canonical].name


_WORD = re.compile(r"[a-z0-9]+")


def search_categories(text: str, limit: int = 25) -> list[Category]:
    """Categories for autocomplete: by code prefix (also of an alias, or of the part after the dot: ``lg``)
    and by words of the name (every query word starts a word of the name). Active categories first; then an
    exact code, code prefixes, alias prefixes, prefixes after the dot, then name matches; ties by code.
    Each category appears once, under its canonical code. Empty text lists every category."""
    query = text.strip().lower()
    words = _WORD.findall(query)
    ranked: list[tuple[bool, int, str, Category]] = []
    for category in _taxonomy().categories.values():
        codes = [code.lower() for code in (category.code, *category.aliases)]
        name_words = _WORD.findall(category.name.lower())
        if not query or query in codes:
            tier = 0
        elif codes[0].startswith(query):
            tier = 1
        elif any(code.startswith(query) for code in codes):
            tier = 2
        elif any(code.partition(".")[2].startswith(query) for code in codes if "." in code):
            tier = 3
        elif words and all(any(name_word.startswith(word) for name_word in name_words) for word in words):
            tier = 4
        else:
            continue
        ranked.append((not category.active, tier, category.code, category))
    ranked.sort(key=lambda entry: entry[:3])
    return [entry[3] for entry in ranked[: max(limit, 0)]]
