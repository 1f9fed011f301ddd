"""Cutting text into words the way search does, and the keys of the pasted-title shortcut. Pure.

Search itself lives in :mod:`bot.search` (a Tantivy index beside the store, and the re-scoring of its
candidates); this module holds what the store and the index share: :func:`words` (letters and digits, case and
accents ignored, everything else a separator, so no text is ever a syntax error) and :func:`title_hash` (the
store's index for a pasted whole title).
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Sequence

# Letters, digits and private-use characters make words; everything else separates them.
_WORD = re.compile(r"[^\W_]+")
_ASCII_WORD = re.compile(r"[a-z0-9]+")
MAX_CONSIDERED_TERMS = 16  # of a long autocomplete query, the longest words are used
MAX_TERM_LENGTH = 64


def words(text: str) -> list[str]:
    """Lowercase words of ``text`` without diacritics: what the search index holds and what a query asks for
    (the index gets non-ASCII text already cut by this function, so both sides always agree)."""
    if text.isascii():
        return _ASCII_WORD.findall(text.lower())
    composed = unicodedata.normalize("NFC", text).lower()  # "e" + U+0301 is the letter "é"
    return [_without_diacritics(word) for word in _WORD.findall(composed)]


def _without_diacritics(word: str) -> str:
    if word.isascii():
        return word
    decomposed = unicodedata.normalize("NFD", word)
    return unicodedata.normalize("NFC", "".join(ch for ch in decomposed if not unicodedata.combining(ch)))


def title_key(text: str) -> str:
    """A title reduced to its words, so a pasted title matches however it was wrapped or punctuated."""
    return " ".join(words(text))


def title_hash(text: str) -> int:
    """A signed 64-bit hash of :func:`title_key` (what the store indexes to find a pasted title)."""
    digest = hashlib.blake2b(title_key(text).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def longest(terms: Sequence[str], limit: int = MAX_CONSIDERED_TERMS) -> list[str]:
    """At most ``limit`` of ``terms``, the longest (long words tend to be rare), in their original order."""
    keep = set(sorted(terms, key=lambda term: (-len(term), terms.index(term)))[:limit])
    return [term for term in terms if term in keep]


