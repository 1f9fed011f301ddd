"""What a user typed, cut into the parts search treats differently. Pure."""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field

from bot.search_query import MAX_TERM_LENGTH, words

MAX_TERMS = 24  # a pasted abstract is searched by its first words; titles are far shorter
_AUTHOR = re.compile(r'\b(?:author|au):\s*(?:"([^"]*)"|(\S+))', re.IGNORECASE)
_PHRASE = re.compile(r'"([^"]+)"')
# "we call it X", "dubbed X", "(BERT)": names a paper gives itself, which people later search by.
_CALLED = re.compile(r"\b(?:[Ww]e\s+(?:call|name|term|dub|present|introduce|propose|train)|called|dubbed|named|"
                     r"termed|coined)\s+"
                     r"(?:it\s+|this\s+|them\s+|our\s+[\w-]+\s+)?([A-Z][\w-]*[A-Z0-9][\w-]*)")
_CUES = ("call", "dub", "name", "term", "coin", "we present", "we introduce", "we propose", "we train")
_PARENTHESISED = re.compile(r"\(([A-Z][A-Za-z0-9-]*[A-Z0-9][A-Za-z0-9-]*)\)")
_TITLE_NAME = re.compile(r"^\s*([A-Z0-9][\w.+-]*(?:\s[\w.+-]+)?)\s*:")


@dataclass(frozen=True)
class ParsedQuery:
    """A query's parts: ``terms`` (every word, in order, including those of phrases and authors),
    ``phrases`` (quoted word sequences), ``authors`` (words that must be in the authors), and ``prefix``
    (the last word, when it may be a word still being typed)."""

    text: str
    terms: tuple[str, ...]
    phrases: tuple[tuple[str, ...], ...] = ()
    authors: tuple[str, ...] = ()
    prefix: str | None = None
    free: tuple[str, ...] = field(default=())  # terms not tied to an author: clause

    @property
    def empty(self) -> bool:
        return not self.terms


def _distinct(items: list[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(item for item in items if len(item) <= MAX_TERM_LENGTH))


def parse(text: str) -> ParsedQuery:
    """Cut ``text`` into terms, ``"quoted phrases"`` and ``author:name`` (or ``author:"first last"``)."""
    authors: list[str] = []
    for match in _AUTHOR.finditer(text):
        authors += words(match[1] if match[1] is not None else match[2])
    rest = _AUTHOR.sub(" ", text)
    phrases = tuple(tuple(words(m[1])) for m in _PHRASE.finditer(rest) if len(words(m[1])) > 1)
    free = _distinct(words(rest))[:MAX_TERMS]
    terms = _distinct([*free, *authors])
    last = words(text)[-1:] if text and not text[-1].isspace() and not text.rstrip().endswith('"') else []
    prefix = last[0] if last and len(last[0]) >= 2 and last[0] in free else None
    return ParsedQuery(text, terms, phrases, _distinct(authors), prefix, free)


def joined_pairs(terms: tuple[str, ...]) -> list[str]:
    """Adjacent words written together (``gpt 3`` → ``gpt3``, ``res net`` → ``resnet``), for nicknames."""
    return [a + b for a, b in itertools.pairwise(terms)]


def nicknames(title: str, abstract: str) -> list[str]:
    """Names a paper gives itself (``BERT: …``, "we call it ResNet", "we present YOLO", "(GAN)"), as index
    words: lowercase, hyphens and spaces dropped (``U-Net`` → ``unet``), and each name's first word
    (``DeepSeek-R1`` → ``deepseekr1``, ``deepseek``)."""
    return list(named(title, abstract))


def named(title: str, abstract: str) -> dict[str, bool]:
    """:func:`nicknames`, each with whether it is a whole name (``deepseekr1``) rather than a name's first
    word only (``deepseek``, shared by every paper of a family)."""
    found: list[str] = []
    head = _TITLE_NAME.match(title)
    if head and (" " not in head[1] or any(ch.isupper() or ch.isdigit() for ch in head[1][1:])):
        found.append(head[1])  # "Adam: …", "BERT: …", "YOLOv3: …", "U-Net: …", "GPT 4o: …"
    lowered = abstract.lower()
    if any(cue in lowered for cue in _CUES):  # cheap test first: most abstracts name nothing
        found += _CALLED.findall(abstract)[:3]
    if "(" in abstract:
        found += _PARENTHESISED.findall(abstract)[:3]
    names: dict[str, bool] = {}
    for name in found:
        whole = "".join(words(name))
        for variant in (whole, *words(name)[:1]):
            if variant and len(variant) >= 2:
                names[variant] = names.get(variant, False) or variant == whole
    return names
