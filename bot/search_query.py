"""Turning any text a user types into a safe full-text query, and the ranking formula for search results.

Pure functions: no SQL runs here. The store asks SQLite FTS5 for candidates with :func:`match_expression`
and orders them with :func:`score`.

Which papers match: the query is cut into words the way the index cuts text (letters and digits; case and
accents ignored; everything else, FTS5 syntax included, is a separator), and each word is quoted, so no text
is ever a syntax error. A paper matches when it holds every word in its title, authors or abstract, except
that words found in more than 5% of papers are not required when the query also has rarer ones; a long query
is searched by its 8 rarest words (of its 16 longest). If no paper holds them all, papers holding any of them
are ranked instead. A word in more papers than the candidate bound (300) makes only its 300 newest matches
candidates, so a common word lists recent papers instead of scoring a million.

Ranking (what ``hotpapers search`` and ``/paper`` keywords return, best first):

1. A paper whose whole title equals the query (case, punctuation and spacing ignored) comes first.
2. Every other candidate is scored ``relevance × recency × hotness`` where

   - ``relevance = Σ_term idf(term) · Σ_field weight(field) · tf / (tf + 1.2)`` over the query's terms, with
     field weights title 3, authors 2, abstract 1, ``tf`` the term's count in that field and
     ``idf = ln(1 + N / df)`` (N papers, df papers containing the term, estimated for common words) — a
     BM25F-style sum without length normalisation;
   - ``recency = 1 + 2^(−age_days / 365)``: a paper published today counts up to twice as much as a very old
     one, with a one-year half-life, ``age`` measured from the newest candidate (or the ``now`` given);
   - ``hotness = 1 + ln(1 + h)`` where ``h`` is the paper's engagement score (:mod:`bot.ranking`, as of
     ``now``); a paper nobody engaged with has factor 1.

   Ties keep the newer paper first.
"""

from __future__ import annotations

import hashlib
import math
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime

# FTS5's unicode61 tokenizer keeps letters, digits and private-use characters together and splits on the rest.
_WORD = re.compile(r"[^\W_]+")
_ASCII_WORD = re.compile(r"[a-z0-9]+")
FIELD_WEIGHTS: Mapping[str, float] = {"title": 3.0, "authors": 2.0, "abstract": 1.0}
TF_SATURATION = 1.2
RECENCY_HALF_LIFE_DAYS = 365.0
MAX_QUERY_TERMS = 8  # a pasted abstract is searched by its rarest words, not by hundreds of them
COMMON_SHARE = 0.05
MAX_CONSIDERED_TERMS = 16  # of a long query, the longest words are weighed to find the rarest
MAX_TERM_LENGTH = 64


def words(text: str, *, conservative: bool = False) -> list[str]:
    """Lowercase words of ``text`` without diacritics, split where the search index splits text.

    SQLite's tokenizer knows Unicode 6.1; Python knows a newer Unicode. ``conservative`` also splits on every
    character that was not a letter, digit or private-use character as far back as Unicode 3.2, for when
    Python saw one word where SQLite sees two.
    """
    if text.isascii():
        return _ASCII_WORD.findall(text.lower())
    composed = unicodedata.normalize("NFC", text).lower()  # "e" + U+0301 is the letter "é", as in the index
    if conservative:
        composed = "".join(ch if _old_token_character(ch) else " " for ch in composed)
    return [_without_diacritics(word) for word in _WORD.findall(composed)]


def _without_diacritics(word: str) -> str:
    if word.isascii():
        return word
    decomposed = unicodedata.normalize("NFD", word)
    return unicodedata.normalize("NFC", "".join(ch for ch in decomposed if not unicodedata.combining(ch)))


def _old_token_character(ch: str) -> bool:
    category = unicodedata.ucd_3_2_0.category(ch)
    return category[0] in "LN" or category == "Co"


def query_terms(text: str, *, conservative: bool = False) -> list[str]:
    """The distinct words of a query, in order, each short enough to be a real word."""
    seen: dict[str, None] = {}
    for word in words(text, conservative=conservative):
        if len(word) <= MAX_TERM_LENGTH:
            seen.setdefault(word, None)
    return list(seen)


def title_key(text: str) -> str:
    """A title reduced to its words, so a pasted title matches however it was wrapped or punctuated."""
    return " ".join(words(text))


def title_hash(text: str) -> int:
    """A signed 64-bit hash of :func:`title_key` (what the store indexes to find a pasted title)."""
    digest = hashlib.blake2b(title_key(text).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def fts_string(term: str) -> str:
    """``term`` as an FTS5 string literal: nothing inside it is syntax."""
    return '"' + term.replace('"', '""') + '"'


def match_expression(terms: Sequence[str], *, columns: Sequence[str] = ("title", "authors", "abstract"),
                     any_term: bool = False, prefix_last: bool = False) -> str:
    """An FTS5 MATCH expression requiring every term (or any, with ``any_term``) in ``columns``."""
    quoted = [fts_string(term) for term in terms]
    if prefix_last and quoted:
        quoted[-1] += "*"
    joined = (" OR " if any_term else " ").join(quoted)
    return "{" + " ".join(columns) + "}: (" + joined + ")"


def category_token(category: str) -> str:
    """The single index word standing for a category (``cs.LG`` → ``zccsxlg``): no separators inside."""
    return "zc" + category.lower().replace(".", "x").replace("-", "q")


def archive_token(category: str) -> str:
    """The index word standing for a category's archive (``cs.LG`` → ``zacs``)."""
    return "za" + category.split(".")[0].lower().replace("-", "q")


def category_tags(categories: Iterable[str]) -> str:
    """What the store indexes in the hidden ``category_tags`` column of a paper."""
    tags: dict[str, None] = {}
    for category in categories:
        tags.setdefault(category_token(category), None)
        tags.setdefault(archive_token(category), None)
    return " ".join(tags)


def rarest(terms: Sequence[str], document_frequency: Mapping[str, int], limit: int = MAX_QUERY_TERMS
           ) -> list[str]:
    """At most ``limit`` of ``terms``, the rarest first kept, in their original order."""
    if len(terms) <= limit:
        return list(terms)
    keep = set(sorted(terms, key=lambda term: (document_frequency.get(term, 0), terms.index(term)))[:limit])
    return [term for term in terms if term in keep]


def required_terms(terms: Sequence[str], document_frequency: Mapping[str, int], total: int) -> list[str]:
    """The terms a match must contain: all of them, except that words in more than COMMON_SHARE of papers
    are left out when rarer ones remain (they add little, and make the index walk long lists)."""
    rarer = [term for term in terms if document_frequency.get(term, 0) <= COMMON_SHARE * total]
    return rarer or list(terms)


def longest(terms: Sequence[str], limit: int = MAX_CONSIDERED_TERMS) -> list[str]:
    """At most ``limit`` of ``terms``, the longest (long words tend to be rare), in their original order."""
    keep = set(sorted(terms, key=lambda term: (-len(term), terms.index(term)))[:limit])
    return [term for term in terms if term in keep]


def idf(document_frequency: int, total: int) -> float:
    """Inverse document frequency, ``ln(1 + N / df)``; an unknown term counts as rare."""
    return math.log(1.0 + max(total, 1) / max(document_frequency, 1))


def relevance(fields: Mapping[str, list[str]], weights: Mapping[str, float]) -> float:
    """The BM25F-style relevance of one paper whose fields are given as word lists, for query terms weighted
    by ``weights`` (their idf; see the module docstring)."""
    total = 0.0
    for field, field_words in fields.items():
        field_weight = FIELD_WEIGHTS.get(field, 1.0)
        for term, weight in weights.items():
            tf = field_words.count(term)
            if tf:
                total += weight * field_weight * tf / (tf + TF_SATURATION)
    return total


def recency(published: datetime | None, reference: datetime) -> float:
    """``1 + 2^(−age_days / 365)``; a paper of unknown date gets the minimum, 1."""
    if published is None:
        return 1.0
    age_days = max((reference - published).total_seconds() / 86400.0, 0.0)
    return 1.0 + float(2.0 ** (-age_days / RECENCY_HALF_LIFE_DAYS))


def score(relevance_value: float, published: datetime | None, reference: datetime, hotness: float = 0.0
          ) -> float:
    """The final search score: ``relevance × recency × (1 + ln(1 + hotness))``."""
    return relevance_value * recency(published, reference) * (1.0 + math.log1p(max(hotness, 0.0)))
