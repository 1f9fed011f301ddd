"""Re-scoring the index's candidates, and saying why each matched. Pure: data in, data out.

Each candidate gets a text score from what a reader would check first:

- ``title``: the share of the query's weight (idf: rare words weigh more) found in the title;
- ``anywhere``: the share found in the title, the authors or the abstract;
- ``abstract``: the share found in the abstract (a paper about the query says so in both places);
- ``exactness``: for a title-like query (4 words or more), how much of the title the query covers (the paper
  titled just "Attention Is All You Need" before "… for Graphs"), counted only as far as the title matches;
- ``phrase``: the query's words in a row in the title (small words like "of", "with" skipped on both sides,
  either number);
- ``nick``: the query names the paper as it names itself ("BERT: …", "we call it ResNet", "(PPO)"), times the
  share of the query's weight the name covers ("rest" names "REST: …", "yet rest apis" hardly); half as much
  for a name's first word only ("deepseek"), which a whole family of papers shares;
- ``author``: the share of the query's weight found in the authors' names (a surname typed means that
  author, more than a paper citing the name in its abstract; BM25 alone drowns one name among 30 authors);
- ``whole``: every title word (small words aside) typed, in any order ("generative networks adversarial"); half
  as much for a title of three words or more typed with one word left out and nothing else ("proximal
  optimization algorithms" for "Proximal Policy Optimization Algorithms": a title remembered but for a word);
- ``bm25``: the index's own BM25 score, relative to the best candidate's.

``text = Σ WEIGHTS[feature] · feature``. A tie-breaker then reorders near-ties and never lifts a paper whose
text match is clearly worse: for a paper whose citation count is known it adds at most ``CITED_TIE_BREAK``
(0.10, as much as the BM25 feature) times how often the paper is cited (log-scaled, :func:`cited`) or its
engagement, whichever is higher; otherwise at most ``TIE_BREAK`` (0.02) times half recency, half engagement.
A typed word no paper holds (a typo) counts as found in a word at edit distance 1 (2 for words of 8 letters or
more). A word counts as found, a little less (OTHER_NUMBER), in its other number ("network" in "… Adversarial
Networks", "computer" in an abstract saying "quantum computers"): people type either, and the form typed still
wins a tie. A candidate holding none of the query's words (a fuzzy match that is no typo of them) is dropped.
"""

from __future__ import annotations

import functools
import itertools
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from bot.models import Paper
from bot.search.query import ParsedQuery, named
from bot.search_query import words

# Weights kept only where a held-out query set (bench/bench_search.py) agreed with the first one.
WEIGHTS = {"title": 0.35, "anywhere": 0.15, "abstract": 0.05, "exactness": 0.15, "phrase": 0.05, "nick": 0.30,
           "bm25": 0.10, "author": 0.20, "whole": 0.10}
OTHER_NUMBER = 0.9  # a word found only in its other number ("networks" for "network"): below the form typed
NEARLY_WHOLE = 0.5  # the whole feature for a title typed but for one word
NAME_FAMILY = 0.5  # the nick feature when only a name's first word was typed ("deepseek" of "DeepSeek-R1")
# Words people leave out when they type a title from memory.
STOP = frozenset({"a", "an", "and", "as", "at", "by", "for", "from", "in", "into", "is", "of", "on", "or", "the",
                  "to", "via", "with"})
TITLE_LIKE = 4  # query words from which a query may be a (partly remembered) title
TIE_BREAK = 0.02
# A known citation count may move a paper as far as the BM25 feature can (its weight): both order papers that
# hold the query's words in the same places, and a paper cited 8,000 times is what a reader means far more
# often than a shorter title. It stays below what one title word of a short query weighs (about 0.1 or more).
CITED_TIE_BREAK = WEIGHTS["bm25"]
RECENCY_HALF_LIFE_DAYS = 3 * 365.0
# Citations at which the citation tie-breaker is full: about the most cited arXiv papers (log-scaled, so 100
# citations are 0.4 of it and 10 are 0.2).
CITATIONS_FULL = 100_000


@dataclass(frozen=True, slots=True)
class Hit:
    """One search result: the paper, its score, and why it matched (query words in its title, and the
    authors whose names hold query words)."""

    paper: Paper
    score: float
    title_terms: frozenset[str]
    authors: tuple[str, ...]
    coverage: float = 1.0  # share of the query's weight the paper holds anywhere
    text: float = 0.0  # the text score alone (``score`` less the tie-breaker)
    hot: float = 0.0  # engagement, 0 to 1 (for the tie-breaker)
    recent: float = 0.0  # recency, 1 today, halving every RECENCY_HALF_LIFE_DAYS (for the tie-breaker)
    pinned: bool = False  # a pasted whole title: first whatever the tie-breaker says


def describe(query: ParsedQuery, paper: Paper) -> Hit:
    """A hit for a paper found elsewhere (arXiv's own search): which query words its title holds, and
    which authors match."""
    title = set(words(paper.title))
    authors = tuple(name for name in paper.authors if set(words(name)) & set(query.terms))
    return Hit(paper, 0.0, frozenset(term for term in query.terms if term in title), authors)


def cited(citations: int | None) -> float:
    """A citation count as a share of the tie-breaker, from 0 (none, or unknown to the source) to 1."""
    return min(1.0, math.log1p(max(citations or 0, 0)) / math.log1p(CITATIONS_FULL))


def tie_break(hot: float, recent: float, citations: Mapping[str, int | None], paper_id: str) -> float:
    """What the tie-breaker adds to a paper's text score: its citations (or engagement) when its count is
    known, else recency and engagement (see the module's docstring)."""
    if paper_id in citations:
        return CITED_TIE_BREAK * max(cited(citations[paper_id]), hot)
    # Newest first would make an old classic lose every tie: a known count replaces recency.
    return TIE_BREAK * (0.5 * recent + 0.5 * hot)


def with_citations(hits: Sequence[Hit], citations: Mapping[str, int | None]) -> list[Hit]:
    """``hits`` (best first) ordered again once the citation counts of some of them are known: no index query
    and no text scoring again. Pinned hits (a pasted whole title) stay first."""
    rescored = [replace(hit, score=hit.text + tie_break(hit.hot, hit.recent, citations, hit.paper.id))
                if hit.paper.id in citations and not hit.pinned else hit for hit in hits]
    order = sorted(range(len(rescored)), key=lambda i: (not rescored[i].pinned, -rescored[i].score, i))
    return [rescored[i] for i in order]


def tied_at_top(hits: Sequence[Hit]) -> list[Hit]:
    """The hits whose text score is within the citation tie-breaker's reach of the best one: those citation
    counts may reorder."""
    if not hits:
        return []
    best = max(hit.text for hit in hits)
    return [hit for hit in hits if hit.text >= best - CITED_TIE_BREAK]


def within(term: str, word: str) -> bool:
    """True if ``word`` is ``term`` mistyped: edit distance ≤ 1 (≤ 2 from 8 letters), same first letter."""
    if not word or word[0] != term[0] or abs(len(word) - len(term)) > 2:
        return False
    limit = 1 if len(term) < 8 else 2
    previous = list(range(len(word) + 1))
    for i, a in enumerate(term, start=1):
        current = [i]
        for j, b in enumerate(word, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a != b)))
        previous = current
        if min(previous) > limit:
            return False
    return previous[-1] <= limit


@functools.lru_cache(maxsize=65_536)
def forms(term: str) -> tuple[str, ...]:
    """``term`` and its English singular or plural (regular forms only): ``network``/``networks``,
    ``theory``/``theories``, ``box``/``boxes``. Words that only end like a plural are left alone: ``analysis``,
    ``class``, ``news``, and the ``-ics`` of a field (``dynamics`` is not many ``dynamic``)."""
    if not term.isalpha() or term.endswith(("ic", "ics")) or term in _NOT_PLURALS:
        return (term,)
    if term.endswith("s"):
        if len(term) < 4:
            return (term,)
        if term.endswith("ies"):
            return term, term[:-3] + "y"
        if term.endswith(("sses", "xes", "ches", "shes")):
            return term, term[:-2]
        if term.endswith(("ss", "us", "is", "as", "os")):
            return term, term + "es"
        return term, term[:-1]
    if len(term) < 3:
        return (term,)
    if term.endswith("y") and term[-2] not in "aeiou":
        return term, term[:-1] + "ies"
    if term.endswith(("x", "ch", "sh")):
        return term, term + "es"
    return term, term + "s"


@functools.lru_cache(maxsize=65_536)
def base(term: str) -> str:
    """The shorter of ``term``'s :func:`forms`: one key for a word in either number."""
    return min(forms(term), key=len)


_NOT_PLURALS = frozenset({"news", "series", "species", "means", "lens", "thus", "does", "always", "perhaps"})


def _found(term: str, vocabulary: set[str], typo: bool) -> str | None:
    for form in forms(term):
        if form in vocabulary:
            return form
    if typo:
        return next((word for word in vocabulary if within(term, word)), None)
    return None


def _abstract_terms(abstract: str, terms: Sequence[str]) -> dict[str, float]:
    """Which of ``terms`` the abstract holds as words: 1 as typed, OTHER_NUMBER in the other number only (a
    substring test per form on the abstract with every separator made a space: cheaper than cutting the whole
    abstract into words for a short query)."""
    if not abstract.isascii():
        held = set(words(abstract))

        def holds(word: str) -> bool:
            return word in held
    else:
        spaced = " " + abstract.lower().translate(_SEPARATORS) + " "

        def holds(word: str) -> bool:
            return f" {word} " in spaced
    found: dict[str, float] = {}
    for term in terms:
        if holds(term):
            found[term] = 1.0
        elif any(holds(form) for form in forms(term)[1:]):
            found[term] = OTHER_NUMBER
    return found


_SEPARATORS = str.maketrans({chr(c): " " for c in range(128) if not chr(c).isalnum()})


def _in_row(sequence: Sequence[str], text: Sequence[str]) -> bool:
    size = len(sequence)
    return size > 0 and any(list(text[i:i + size]) == list(sequence) for i in range(len(text) - size + 1))


def rank(query: ParsedQuery, candidates: Sequence[tuple[Paper, float]], frequency: Mapping[str, int],
         total: int, typos: Sequence[str], reference: datetime, hotness: Mapping[str, float],
         citations: Mapping[str, int | None] | None = None) -> list[Hit]:
    """Candidates (paper, BM25) best first; phrases and ``author:`` words must match as written.
    ``citations`` holds the known citation counts by paper id (None: unknown to the source, counted as 0)."""
    citations = citations or {}
    if not candidates:
        return []
    weight = {term: math.log(1.0 + max(total, 1) / max(frequency.get(term, 0), 1)) for term in query.terms}
    full = sum(weight.values()) or 1.0
    best_bm25 = max(score for _, score in candidates) or 1.0
    content = [term for term in query.free if term not in STOP]  # "random walks markov" ~ "random walks with markov"
    scored: list[tuple[float, int, float, Hit]] = []
    for position, (paper, bm25) in enumerate(candidates):
        title = words(paper.title)
        title_set = set(title)
        author_words = [set(words(name)) for name in paper.authors]
        if query.authors and any(not any(term in names for names in author_words) for term in query.authors):
            continue
        if query.phrases:
            abstract = words(paper.abstract)
            if any(not _in_row(p, title) and not _in_row(p, abstract) and not any(
                    _in_row(p, words(name)) for name in paper.authors) for p in query.phrases):
                continue
        in_abstract = _abstract_terms(paper.abstract, query.terms)
        author_set = set().union(*author_words)
        names = named(paper.title, paper.abstract)
        called = {term for term in query.free if term in names}  # the paper's own name counts as its title
        pairs = [(a, b) for a, b in itertools.pairwise(query.free) if a + b in names]
        called.update(word for pair in pairs for word in pair)
        # A whole name typed ("bert", "gpt 3") names this paper; a family's first word ("deepseek") half does.
        nick = 1.0 if any(names[t] for t in called & names.keys()) or pairs else NAME_FAMILY if called else 0.0
        in_title: set[str] = set()
        outside = 0  # query words (small words aside) not in the title
        title_weight = anywhere_weight = author_weight = 0.0
        for term in query.terms:
            typo = term in typos
            hit = _found(term, title_set, typo)
            outside += hit is None and term not in STOP
            elsewhere = max(in_abstract.get(term, 0.0), 1.0 if term in author_set or (
                typo and _found(term, author_set, True)) else 0.0)
            if hit is None and term in called:
                title_weight += weight[term]
                anywhere_weight += weight[term]
            elif hit is not None:
                in_title.add(hit)
                credit = OTHER_NUMBER if hit != term and hit in forms(term) else 1.0
                title_weight += weight[term] * credit
                anywhere_weight += weight[term] * max(credit, elsewhere)
            else:
                anywhere_weight += weight[term] * elsewhere
            if term in author_set:
                author_weight += weight[term]
        exactness = len(in_title) / max(len(title_set), 1) if len(query.free) >= TITLE_LIKE else 0.0
        untyped = len(title_set - STOP - in_title)
        whole = 0.0 if len(content) < 2 or not title_set - STOP else 1.0 if not untyped else (
            NEARLY_WHOLE if untyped == 1 and not outside and len(title_set - STOP) >= 3 else 0.0)
        features = {
            "title": title_weight / full,
            "anywhere": anywhere_weight / full,
            "abstract": sum(weight[t] * credit for t, credit in in_abstract.items()) / full,
            "exactness": exactness * (title_weight / full),
            "phrase": 1.0 if len(content) > 1 and _in_row(
                [base(w) for w in content], [base(w) for w in title if w not in STOP]) else 0.0,
            "nick": nick * sum(weight[t] for t in called) / full,
            "author": author_weight / full,
            "whole": whole,
            "bm25": bm25 / best_bm25,
        }
        text = sum(WEIGHTS[name] * value for name, value in features.items())
        age_days = ((reference - paper.published).total_seconds() / 86400.0) if paper.published else None
        recent = 0.0 if age_days is None else float(2.0 ** (-max(age_days, 0.0) / RECENCY_HALF_LIFE_DAYS))
        hot = 1.0 - 1.0 / (1.0 + math.log1p(max(hotness.get(paper.id, 0.0), 0.0)))
        total_score = text + tie_break(hot, recent, citations, paper.id)
        authors = tuple(name for name, names in zip(paper.authors, author_words, strict=True)
                        if any(term in names for term in query.terms))
        scored.append((-total_score, position, features["anywhere"],
                       Hit(paper, total_score, frozenset(in_title), authors, features["anywhere"], text, hot,
                           recent)))
    scored.sort(key=lambda item: (item[0], item[1]))
    return [item[3] for item in scored if item[2] > 0.0]


def explain(hit: Hit) -> str:
    """Why a result is listed, besides the bold title words: its year and the authors the query named."""
    paper = hit.paper
    year = paper.published.year if paper.published else paper.mailing.year if paper.mailing else None
    parts = [str(year) if year else "year unknown"]
    if hit.authors:
        shown = ", ".join(hit.authors[:2]) + (" …" if len(hit.authors) > 2 else "")
        parts.append(f"author {shown}")
    elif not hit.title_terms:
        parts.append("words in the abstract")
    return " · ".join(parts)


def highlight(title: str, terms: frozenset[str], escape: Callable[[str], str] | None = None, *,
              mark: tuple[str, str] = ("**", "**")) -> str:
    """``title`` with the words in ``terms`` between ``mark`` (Markdown bold by default); other text passes
    through ``escape`` when one is given (e.g. Discord's markdown escape)."""

    out: list[str] = []
    last = 0
    for match in re.finditer(r"[^\W_]+", title):
        if words(match[0]) and words(match[0])[0] in terms:
            chunk = title[last:match.start()]
            out.append(escape(chunk) if escape else chunk)
            out.append(f"{mark[0]}{match[0]}{mark[1]}")
            last = match.end()
    chunk = title[last:]
    out.append(escape(chunk) if escape else chunk)
    return "".join(out)
