"""Pure rendering: papers and digests → Discord embeds and messages, and → plain text for the terminal.

Everything here respects Discord's limits (DESIGN.md): a message holds at most 10 embeds and 6,000 characters
over all of them; an embed title 256, a description 4,096, a field 1,024, a footer 2,048. Text from arXiv is
tidied (whitespace, TeX made readable) and markdown-escaped, so a title cannot format, link or ping.
"""

from __future__ import annotations

import re
import textwrap
import unicodedata
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from functools import lru_cache
from typing import Any

import discord

from bot import ranking, taxonomy
from bot.digest import Digest
from bot.models import (
    CodeLink,
    DiscussionPost,
    Notice,
    Paper,
    PaperExtras,
    PostContext,
    RankedPaper,
    SourceSignal,
)
from bot.subscriptions import DmPlan, Follow, author_key, author_keys
from bot.text import strip_invisible

EMBED_TITLE_LIMIT = 256
EMBED_DESCRIPTION_LIMIT = 4096
EMBED_FIELD_LIMIT = 1024
MESSAGE_EMBEDS = 10
MESSAGE_EMBED_CHARS = 6000
CONTENT_LIMIT = 2000
COLOR = 0xB31B1B  # arXiv red

SOURCE_LABELS = {"x": "X", "hf": "Hugging Face", "hn": "Hacker News", "bluesky": "Bluesky", "discord": "Discord"}
SOURCE_ORDER = ("x", "hf", "hn", "bluesky", "discord")
# Metric order within a source (others follow alphabetically).
METRIC_ORDER = (
    "retweets", "likes", "favorites", "upvotes", "points", "reposts", "quotes", "replies", "comments")


# ---- text tidying ------------------------------------------------------------------------------------------

_TEX_SYMBOLS = {
    "alpha": "α", "beta": "β", "gamma": "γ", "delta": "δ", "epsilon": "ε", "varepsilon": "ε", "zeta": "ζ",
    "eta": "η", "theta": "θ", "vartheta": "ϑ", "iota": "ι", "kappa": "κ", "lambda": "λ", "mu": "μ", "nu": "ν",
    "xi": "ξ", "pi": "π", "rho": "ρ", "sigma": "σ", "tau": "τ", "upsilon": "υ", "phi": "φ", "varphi": "φ",
    "chi": "χ", "psi": "ψ", "omega": "ω", "Gamma": "Γ", "Delta": "Δ", "Theta": "Θ", "Lambda": "Λ", "Xi": "Ξ",
    "Pi": "Π", "Sigma": "Σ", "Phi": "Φ", "Psi": "Ψ", "Omega": "Ω", "ell": "ℓ", "infty": "∞", "partial": "∂",
    "nabla": "∇", "leq": "≤", "le": "≤", "geq": "≥", "ge": "≥", "neq": "≠", "ne": "≠", "approx": "≈",
    "sim": "~", "simeq": "≃", "equiv": "≡", "propto": "∝", "times": "×", "cdot": "·", "cdots": "⋯",
    "ldots": "…", "dots": "…", "pm": "±", "mp": "∓", "to": "→", "rightarrow": "→", "leftarrow": "←",
    "Rightarrow": "⇒", "mapsto": "↦", "in": "∈", "notin": "∉", "subset": "⊂", "subseteq": "⊆", "cup": "∪",
    "cap": "∩", "forall": "∀", "exists": "∃", "sum": "∑", "prod": "∏", "int": "∫", "sqrt": "√",
    "log": "log", "exp": "exp", "min": "min", "max": "max", "sin": "sin", "cos": "cos", "lim": "lim",
    "mathbb{R}": "ℝ", "mathbb{N}": "ℕ", "mathbb{Z}": "ℤ", "mathbb{C}": "ℂ", "mathbb{E}": "𝔼",
    "%": "%", "&": "&", "_": "_", "#": "#", "$": "$", "{": "{", "}": "}", "quad": " ", "qquad": " ",
    ",": " ", ";": " ", "!": "",
}
_TEX_WRAPPERS = re.compile(
    r"\\(?:textbf|textit|texttt|textrm|textsc|emph|mathrm|mathbf|mathit|mathsf|mathtt|mathcal|boldsymbol"
    r"|operatorname|text|mbox|bm|widetilde|tilde|hat|widehat|bar|overline|vec)\s*\{([^{}]*)\}")
_TEX_COMMAND = re.compile(r"\\(mathbb\{[A-Z]\}|[A-Za-z]+|[%&_#${},;!])")
# Accents (combining marks, composed with NFC) and letters arXiv author names are full of.
_TEX_ACCENTS = {
    "'": "\u0301", "`": "\u0300", "^": "\u0302", '"': "\u0308", "~": "\u0303", "=": "\u0304", ".": "\u0307",
    "c": "\u0327", "v": "\u030c", "u": "\u0306", "H": "\u030b", "k": "\u0328", "r": "\u030a",
}
_TEX_LETTERS = {"l": "ł", "L": "Ł", "o": "ø", "O": "Ø", "ss": "ß", "aa": "å", "AA": "Å", "ae": "æ", "AE": "Æ",
                "oe": "œ", "OE": "Œ", "i": "i", "j": "j"}
_TEX_LETTER = re.compile(r"\\(ss|aa|AA|ae|AE|oe|OE|[lLoOij])(?![A-Za-z])\s?")
_TEX_SYMBOL_ACCENT = re.compile(r"\\(['`^\"~=.])\s*(?:\{\s*([A-Za-z])\s*\}|([A-Za-z]))")
_TEX_LETTER_ACCENT = re.compile(r"\\([cvuHkr])(?:\s*\{\s*([A-Za-z])\s*\}|\s+([A-Za-z]))")
_SUPERSCRIPT = str.maketrans("0123456789+-=()n", "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁼⁽⁾ⁿ")
_SUBSCRIPT = str.maketrans("0123456789+-=()", "₀₁₂₃₄₅₆₇₈₉₊₋₌₍₎")


def _script(match: re.Match[str], table: dict[int, int], mark: str) -> str:
    body = match.group(1) if match.group(1) is not None else match.group(2)
    converted = body.translate(table)
    if all(ord(c) in table.values() for c in converted if not c.isspace()):
        return converted
    return f"{mark}{body}" if len(body) == 1 or body.startswith("(") else f"{mark}({body})"


def _accented(text: str) -> str:
    """TeX accents and special letters as Unicode: ``Stanis{\\l}aw \\'Swierczewski`` → ``Stanisław Świerczewski``."""
    text = _TEX_LETTER.sub(lambda m: _TEX_LETTERS[m.group(1)], text)
    text = _TEX_SYMBOL_ACCENT.sub(lambda m: (m.group(2) or m.group(3)) + _TEX_ACCENTS[m.group(1)], text)
    text = _TEX_LETTER_ACCENT.sub(lambda m: (m.group(2) or m.group(3)) + _TEX_ACCENTS[m.group(1)], text)
    text = unicodedata.normalize("NFC", text)
    return re.sub(r"\{([^\x00-\x7f])\}", r"\1", text)  # {Ś} left by {\\'S}


def tex_to_text(text: str) -> str:
    """Make TeX in titles and abstracts readable as plain text: ``$O(n^2 \\log n)$`` → ``O(n² log n)``."""
    if "\\" not in text and "$" not in text and "^" not in text:
        return text
    text = _accented(text)
    previous = None
    while previous != text:  # unwrap nested \textbf{\emph{x}}
        previous = text
        text = _TEX_WRAPPERS.sub(r"\1", text)
    text = _TEX_COMMAND.sub(lambda m: _TEX_SYMBOLS.get(m.group(1), m.group(1)), text)
    text = re.sub(r"\^\{([^{}]*)\}|\^(\w)", lambda m: _script(m, _SUPERSCRIPT, "^"), text)
    text = re.sub(r"_\{([^{}]*)\}|(?<=[A-Za-z0-9)])_(\d)", lambda m: _script(m, _SUBSCRIPT, "_"), text)
    text = re.sub(r"(?<!\\)\$", "", text)  # math delimiters
    text = re.sub(r"\{([^{}]*)\}", r"\1", text)  # bare groups
    return text


# The same titles and authors are rendered for many digests and DMs in a tick; an abstract is a few KB, so the
# bound keeps each cache under ~20 MB.
@lru_cache(maxsize=4096)
def tidy(text: str) -> str:
    """Whitespace collapsed (arXiv wraps lines and indents), TeX made readable, invisible controls removed."""
    return re.sub(r"\s+", " ", tex_to_text(strip_invisible(text))).strip()


@lru_cache(maxsize=4096)
def safe(text: str) -> str:
    """Invisible controls removed (bidi overrides spoof text), markdown and mentions neutralised
    (``@everyone`` gets a zero-width space)."""
    return discord.utils.escape_mentions(discord.utils.escape_markdown(strip_invisible(text)))


def trim_at_sentence(text: str, limit: int) -> str:
    """``text`` if it fits; else cut at the last sentence end within ``limit`` (or a word, with "…")."""
    if len(text) <= limit:
        return text
    if limit <= 1:
        return "…"[:limit]
    window = text[: limit]
    ends = [m.end() for m in re.finditer(r"[.!?](?=\s)", window)]
    if ends and ends[-1] >= limit * 0.4:
        return window[: ends[-1]]
    cut = window[: limit - 1]
    space = cut.rfind(" ")
    if space >= limit * 0.5:
        cut = cut[:space]
    return cut.rstrip(" ,;:") + "…"


def _trim(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def shorten_authors(authors: Sequence[str], limit: int = 4, *, unknown: str = "Unknown authors") -> str:
    """``A, B, C, D`` or, when there are more than ``limit``, the first ``limit - 1`` (at least one) and
    "et al."; ``unknown`` when there are none. Plain text: callers escape it for Markdown."""
    names = [tidy(a) for a in authors if a.strip()]
    if not names:
        return unknown
    if len(names) <= limit:
        return ", ".join(names)
    return ", ".join(names[: max(limit - 1, 1)]) + " et al."


def author_line(authors: Sequence[str], budget: int, *, bold: Collection[str] = (), markdown: bool = True,
                unknown: str = "Unknown authors") -> str:
    """Every author, in order, while they fit ``budget`` characters, then "+N more"; an author in ``bold``
    (as the paper writes the name) always appears, in bold. Escaped for Markdown unless ``markdown`` is off."""
    names = [a for a in authors if a.strip()]
    if not names:
        return unknown

    def shown(name: str) -> str:
        text = tidy(name)
        if not markdown:
            return text
        return f"**{safe(text)}**" if name in bold else safe(text)

    rendered = [shown(name) for name in names]
    must = [i for i, name in enumerate(names) if name in bold]
    kept: list[int] = []
    used = 0
    for i, text in enumerate(rendered):
        rest = len(names) - i - 1
        tail = sum(len(rendered[j]) + 2 for j in must if j > i) + (len(f", +{rest} more") if rest else 0)
        if used + len(text) + 2 + tail > budget and i not in must:
            break
        kept.append(i)
        used += len(text) + 2
    kept += [j for j in must if j not in kept]
    parts = [rendered[i] for i in kept]
    if kept and kept[-1] != len(kept) - 1:  # a followed author was pulled from past the cut
        parts.insert(next(n for n, i in enumerate(kept) if i != n), "…")
    hidden = len(names) - len(kept)
    return ", ".join(parts) + (f", +{hidden} more" if hidden else "")


def _number(value: int) -> str:
    return f"{value:,}"


def compact_number(value: int) -> str:
    """``1234`` → ``1.2k``, ``56000`` → ``56k``, ``2500000`` → ``2.5M``."""
    for size, suffix in ((1_000_000, "M"), (1_000, "k")):
        if value >= size:
            scaled = value / size
            return (f"{scaled:.1f}".rstrip("0").rstrip(".") if scaled < 10 else f"{scaled:.0f}") + suffix
    return str(value)


def _metrics(counts: Mapping[str, int]) -> list[tuple[str, int]]:
    order = {name: i for i, name in enumerate(METRIC_ORDER)}
    return sorted(counts.items(), key=lambda kv: (order.get(kv[0], len(order)), kv[0]))


def _link(label: str, url: str) -> str:
    return f"[{label}](<{url}>)" if " " in url else f"[{label}]({url})"


def engagement_line(signals: Mapping[str, SourceSignal], *, markdown: bool = True) -> str:
    """``X: 2,826 retweets · 217 likes | Hugging Face: 34 upvotes``, each source linked to its discussion."""
    parts: list[str] = []
    known = [s for s in SOURCE_ORDER if s in signals] + sorted(set(signals) - set(SOURCE_ORDER))
    for source in known:
        signal = signals[source]
        counts = " · ".join(f"{_number(v)} {k}" for k, v in _metrics(signal.counts) if v)
        if not counts:
            continue
        label = SOURCE_LABELS.get(source, source)
        if markdown and signal.url:
            parts.append(f"{_link(label, signal.url)}: {counts}")
        else:
            parts.append(f"{label}: {counts}")
    return " | ".join(parts)


def as_of_text(moment: datetime | None, *, today: date | None = None) -> str:
    """``engagement as of 2021-07-15 08:02 UTC`` (the date left out when it is ``today``)."""
    if moment is None:
        return ""
    utc = moment.astimezone(UTC)
    return (f"engagement as of {utc:%H:%M} UTC" if today == utc.date()
            else f"engagement as of {utc:%Y-%m-%d %H:%M} UTC")


# ---- who is talking, and the code ----------------------------------------------------------------------------

_GITHUB = re.compile(r"https?://(?:www\.)?github\.com/[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]*[A-Za-z0-9_-]")


def code_link(paper: Paper, extras: PaperExtras) -> CodeLink | None:
    """The paper's code: what a source linked (with stars), else a GitHub link in its abstract or comment."""
    if extras.code is not None:
        return extras.code
    for text in (paper.abstract, paper.comment or ""):
        match = _GITHUB.search(text)
        if match:
            return CodeLink(match.group(0).removesuffix(".git"))
    return None


def code_text(code: CodeLink | None, *, markdown: bool = True) -> str:
    """``code · ★ 1.2k`` linked to the repository (``code: URL · ★ 1.2k`` as plain text)."""
    if code is None:
        return ""
    stars = f" · ★ {compact_number(code.stars)}" if code.stars is not None else ""
    return f"{_link('code', code.url)}{stars}" if markdown else f"code: {code.url}{stars}"


def post_line(post: DiscussionPost, limit: int = 300, *, markdown: bool = True, linked: bool = True,
              counted: bool = True) -> str:
    """One post: ``**[handle](link)** (Bluesky): “first line…” · 300 likes · 12 reposts`` within ``limit``
    (``handle (Bluesky): “…” · 300 likes · link`` as plain text). Without ``linked`` the handle is not a
    link, without ``counted`` no counts (the counts line already links this post, or has its counts)."""
    source = SOURCE_LABELS.get(post.source, post.source)
    who = re.sub(r"[\[\]()<>]", "", post.author or "") or "a post"
    counts = " · ".join(f"{compact_number(v)} {k}" for k, v in _metrics(post.counts) if v) if counted else ""
    if markdown:
        url = f"<{post.url}>" if re.search(r"[\s()]", post.url) else post.url
        head = f"**[{safe(who)}]({url})** ({source})" if linked else f"**{safe(who)}** ({source})"
        tail = f" · {counts}" if counts else ""
    else:
        head = f"{who} ({source})"
        tail = (f" · {counts}" if counts else "") + f" · {post.url}"
    room = limit - len(head) - len(tail) - 4
    text = ""
    if post.text and room >= 20:
        words = tidy(post.text)
        text = _fit_escaped(words, room) if markdown else _trim(words, room)
        text = f": “{text}”"
    return _trim(head + text + tail, limit)


def _fit_escaped(text: str, limit: int) -> str:
    """``text`` escaped, cut (with "…") so the escaped form fits ``limit``."""
    escaped = safe(text)
    cut = len(text)
    while len(escaped) > limit and cut > 1:
        cut -= max(len(escaped) - limit, 1)
        escaped = safe(text[: max(cut, 1)].rstrip() + "…")
    return escaped


def _posts_block(posts: Sequence[DiscussionPost], budget: int, *, most: int, per_post: int = 260) -> str:
    lines: list[str] = []
    used = 0
    for post in posts[:most]:
        line = "› " + post_line(post, min(per_post, budget - used - 3))
        if budget - used < 80:
            break
        lines.append(line)
        used += len(line) + 1
    return "\n".join(lines)


# ---- Discord embeds ----------------------------------------------------------------------------------------


def digest_header(mailing: date, categories: Sequence[str]) -> str:
    """``Hot Papers 2026-11-25 · cs.LG, cs.CV``"""
    cats = ", ".join(categories)
    return f"Hot Papers {mailing.isoformat()} · {cats}" if cats else f"Hot Papers {mailing.isoformat()}"


def _links(paper: Paper) -> str:
    return f"[abs]({paper.abs_url}) | [pdf]({paper.pdf_url}) | [html]({paper.html_url})"


DIGEST_AUTHOR_BUDGET = 160


def summary_sentence(abstract: str, limit: int) -> str:
    """The abstract's first sentence (escaped), within ``limit`` characters."""
    text = tidy(abstract)
    match = re.search(r"[.!?](?=\s+[A-Z(\[])", text)
    first = text[: match.end()] if match and match.end() >= 40 else text
    return _abstract(first, limit)


def paper_digest_embed(ranked: RankedPaper, *, budget: int = 590, extras: PaperExtras | None = None,
                       bold: Collection[str] = ()) -> discord.Embed:
    """One paper of a digest: rank and linked title; authors up to a budget; counts per source; pdf,
    categories and code; the top one or two posts about it; its one-sentence summary. ``budget`` bounds the
    embed's length: the second post, then the first, then the summary give way."""
    paper = ranked.paper
    extras = extras or PaperExtras()
    title = _trim(f"{ranked.rank}. {safe(tidy(paper.title))}", EMBED_TITLE_LIMIT)
    authors = author_line(paper.authors, min(DIGEST_AUTHOR_BUDGET, max(budget // 3, 60)), bold=bold)
    links = [f"[pdf]({paper.pdf_url})", ", ".join(paper.categories)]
    code = code_text(code_link(paper, extras))
    if code:
        links.append(code)
    engagement = engagement_line(ranked.signals)
    room = (min(budget - len(title), EMBED_DESCRIPTION_LIMIT) - len(authors) - len(" · ".join(links))
            - len(engagement) - 3)
    summary = summary_sentence(paper.abstract, min(room, 220)) if room >= 60 else ""
    room -= len(summary) + 1 if summary else 0
    posts: list[str] = []
    for post in extras.posts[:2]:
        signal = ranked.signals.get(post.source)
        # The counts line links each source's most engaged post (and sums its posts' counts): such a post
        # needs no second link, nor its counts again when it is the source's only one.
        best = signal is not None and signal.url == post.url and any(signal.counts.values())
        line = "› " + post_line(post, 190, linked=not best,
                                counted=not (best and signal is not None and dict(signal.counts) == dict(post.counts)))
        if sum(len(p) + 1 for p in [*posts, line]) > room:
            break
        posts.append(line)
    lines = [authors, *([engagement] if engagement else []), " · ".join(links), *posts,
             *([summary] if summary else [])]
    description = _trim("\n".join(lines), EMBED_DESCRIPTION_LIMIT)
    return discord.Embed(title=title, url=paper.abs_url, description=description, color=COLOR)


def _abstract(abstract: str, limit: int) -> str:
    """Tidied, trimmed at a sentence and escaped, within ``limit`` characters after escaping."""
    text = tidy(abstract)
    target = limit
    while True:
        escaped = safe(trim_at_sentence(text, target))
        if len(escaped) <= limit or target <= 10:
            return escaped[:limit]
        target -= max(len(escaped) - limit, 10)


CHART_FILENAME = "engagement.png"


def paper_embed(paper: Paper, signals: Mapping[str, SourceSignal], extras: PaperExtras | None = None, *,
                chart: bool = False) -> discord.Embed:
    """A paper on its own (``/paper``): title, authors, engagement and its time, links and code, the
    abstract, who is talking, categories with names, versions, and comment / journal ref / DOI where
    present; with ``chart``, the attached engagement chart as its image."""
    extras = extras or PaperExtras()
    title = _trim(safe(tidy(paper.title)), EMBED_TITLE_LIMIT)
    head = [author_line(paper.authors, 700)]
    engagement = engagement_line(signals)
    if engagement:
        head.append(engagement + (f" ({as_of_text(extras.as_of)})" if extras.as_of else ""))
    code = code_text(code_link(paper, extras))
    head.append(_links(paper) + (f" · {code}" if code else ""))
    description = "\n".join(head)
    room = min(1500, EMBED_DESCRIPTION_LIMIT - len(description) - 2)
    description += "\n\n" + _abstract(paper.abstract, room)
    embed = discord.Embed(title=title, url=paper.abs_url, description=description, color=COLOR)
    talk = _posts_block(extras.posts, EMBED_FIELD_LIMIT, most=3, per_post=330)
    if talk:
        embed.add_field(name="Who is talking", value=talk, inline=False)
    names = []
    for code_name in paper.categories:
        try:
            names.append(f"{code_name} ({taxonomy.category_name(code_name)})")
        except ValueError:
            names.append(code_name)
    embed.add_field(name="Categories", value=_trim(", ".join(names) or paper.primary_category,
                                                   EMBED_FIELD_LIMIT), inline=False)
    dates = []
    if paper.published:
        dates.append(f"v1 {paper.published:%Y-%m-%d}")
    if paper.updated and paper.version > 1:
        dates.append(f"v{paper.version} {paper.updated:%Y-%m-%d}")
    if dates:
        embed.add_field(name="Versions", value=" · ".join(dates), inline=True)
    if paper.mailing:
        embed.add_field(name="Mailing", value=paper.mailing.isoformat(), inline=True)
    for name, value in (("Comment", paper.comment), ("Journal ref", paper.journal_ref)):
        if value and value.strip():
            embed.add_field(name=name, value=_trim(safe(tidy(value)), EMBED_FIELD_LIMIT), inline=False)
    if paper.doi:
        embed.add_field(name="DOI", value=f"[{paper.doi}](https://doi.org/{paper.doi})", inline=False)
    if chart:
        embed.set_image(url=f"attachment://{CHART_FILENAME}")
    embed.set_footer(text=f"arXiv:{paper.id}v{paper.version}")
    return embed


# ---- controls, as plain data (the sender turns them into a view) ------------------------------------------

ABSTRACT_ID = "hp:abs"
DISCUSSION_ID = "hp:talk"
Component = dict[str, Any]


SAVE_ID = "hp:save"
BIBTEX_ID = "hp:bib"
BUTTON_LABELS = {ABSTRACT_ID: "Abstract", DISCUSSION_ID: "Discussion", SAVE_ID: "Save", BIBTEX_ID: "BibTeX"}
MENU_PLACEHOLDERS = {ABSTRACT_ID: "Abstract of…", DISCUSSION_ID: "Discussion of…", SAVE_ID: "Save…"}


def paper_buttons(paper_id: str) -> tuple[Component, ...]:
    """One row: "Abstract", "Discussion", "Save" (to the clicker's reading list) and "BibTeX" for one paper
    (``/paper``); the arXiv id is in each custom_id."""
    return ({"type": 1, "components": [
        {"type": 2, "style": 2, "label": label, "custom_id": f"{base}:{paper_id}"}
        for base, label in BUTTON_LABELS.items()]},)


def paper_menus(papers: Sequence[tuple[int, Paper]]) -> tuple[Component, ...]:
    """Three rows for a message of up to 25 papers: "Abstract of…", "Discussion of…" and "Save…" menus, one
    option per paper (its number and title), the arXiv id as the value."""
    if not papers:
        return ()
    rows = []
    for base, placeholder in MENU_PLACEHOLDERS.items():
        options = [{"label": _trim(f"{number}. {tidy(paper.title)}", 100), "value": paper.id,
                    "description": _trim(f"arXiv:{paper.id}", 100)} for number, paper in papers[:25]]
        rows.append({"type": 1, "components": [
            {"type": 3, "custom_id": f"{base}-menu", "placeholder": placeholder, "min_values": 1,
             "max_values": 1, "options": options}]})
    return tuple(rows)


VOTE_ID = "hp:vote"  # + ":<guild id>": the server whose members may vote there
DISCUSS_ID = "hp:discuss"
_VOTE_LABEL = re.compile(r"^▲ \d+ · ")


def vote_label(number: int, paper: Paper, votes: int) -> str:
    """A "Vote…" option: the paper's votes in the server, its number and title."""
    return _trim(f"▲ {votes} · {number}. {tidy(paper.title)}", 100)


def community_menus(papers: Sequence[RankedPaper], guild_id: int, *, discuss: bool = True
                    ) -> tuple[Component, ...]:
    """A channel digest message's "Vote…" menu (each option shows the paper's votes in the server; picking it
    again takes the vote back) and "Discuss…" menu (a thread on the message; not for messages in a thread)."""
    if not papers:
        return ()
    shown = papers[:25]
    votes = [{"label": vote_label(r.rank, r.paper, _votes(r)), "value": r.paper.id,
              "description": "Vote for it here (pick it again to take your vote back)"} for r in shown]
    rows: list[Component] = [{"type": 1, "components": [
        {"type": 3, "custom_id": f"{VOTE_ID}:{guild_id}", "placeholder": "Vote…", "min_values": 1,
         "max_values": 1, "options": votes}]}]
    if discuss:
        options = [{"label": _trim(f"{r.rank}. {tidy(r.paper.title)}", 100), "value": r.paper.id,
                    "description": "Open (or reopen) a thread about it"} for r in shown]
        rows.append({"type": 1, "components": [
            {"type": 3, "custom_id": f"{DISCUSS_ID}-menu", "placeholder": "Discuss…", "min_values": 1,
             "max_values": 1, "options": options}]})
    return tuple(rows)


def _votes(ranked: RankedPaper) -> int:
    signal = ranked.signals.get("discord")
    return signal.counts.get("votes", 0) if signal else 0


def menu_paper_ids(components: Sequence[Component]) -> list[str]:
    """The arXiv ids a digest message's "Abstract of…" menu lists, in order (its papers)."""
    return [str(option["value"]) for row in components for item in row.get("components", ())
            if item.get("custom_id") == f"{ABSTRACT_ID}-menu" for option in item.get("options", ())]


def recount_votes(components: Sequence[Component], counts: Mapping[str, int]) -> tuple[Component, ...]:
    """``components`` with every "Vote…" option showing ``counts`` (paper id → votes; missing: 0)."""
    rows = []
    for row in components:
        items = []
        for item in row.get("components", ()):
            if str(item.get("custom_id", "")).startswith(VOTE_ID + ":"):
                item = {**item, "options": [
                    {**o, "label": _VOTE_LABEL.sub(f"▲ {counts.get(o['value'], 0)} · ", o["label"], count=1)}
                    for o in item.get("options", ())]}
            items.append(item)
        rows.append({**row, "components": items})
    return tuple(rows)


def view_of(components: Sequence[Component]) -> discord.ui.View | None:
    """A view carrying ``components`` (buttons and string selects). It is stopped: discord.py then keeps no
    per-message state; clicks reach the bot's persistent dynamic items by custom_id."""
    if not components:
        return None
    view = discord.ui.View(timeout=None)
    for row_number, row in enumerate(components):
        for item in row.get("components", ()):
            if item.get("type") == 2:
                view.add_item(discord.ui.Button(
                    label=item.get("label"), custom_id=item.get("custom_id"), row=row_number,
                    style=discord.ButtonStyle(item.get("style", 2))))
            elif item.get("type") == 3:
                view.add_item(discord.ui.Select(
                    custom_id=str(item["custom_id"]), placeholder=item.get("placeholder"), row=row_number,
                    min_values=item.get("min_values", 1), max_values=item.get("max_values", 1),
                    options=[discord.SelectOption(label=o["label"], value=o["value"],
                                                  description=o.get("description"))
                             for o in item.get("options", ())]))
    view.stop()
    return view


@dataclass(frozen=True)
class OutgoingMessage:
    """One message to send: plain content, embeds and components (plain data); ``in_thread`` messages go to
    the digest's thread; ``marker`` identifies it in the channel's history."""

    content: str | None
    embeds: tuple[discord.Embed, ...] = ()
    marker: str = ""
    in_thread: bool = False
    mention_role: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    components: tuple[Component, ...] = ()

    def payload(self) -> dict[str, Any]:
        """JSON-able form kept in the delivery ledger."""
        return {"content": self.content, "embeds": [e.to_dict() for e in self.embeds],
                "mention_role": self.mention_role, "components": list(self.components), **self.extra}

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any], marker: str = "", in_thread: bool = False
                     ) -> OutgoingMessage:
        return cls(content=payload.get("content"),
                   embeds=tuple(discord.Embed.from_dict(e) for e in payload.get("embeds") or ()),
                   marker=marker, in_thread=in_thread, mention_role=payload.get("mention_role"),
                   components=tuple(payload.get("components") or ()))

    def view(self) -> discord.ui.View | None:
        """The components as a view to send (None without components)."""
        return view_of(self.components)


def _embed_budget(size: int) -> int:
    per_message = min(max(size, 1), MESSAGE_EMBEDS)
    return min(1500, (MESSAGE_EMBED_CHARS - 100) // per_message)


def quiet_line(digest: Digest) -> str:
    return (f"**{safe(digest_header(digest.mailing, digest.categories))}** — a quiet day: no paper reached a "
            f"score of {digest.min_score:g}.")


def digest_messages(digest: Digest, *, thread: bool = False, mention_role: int | None = None,
                    context: PostContext | None = None, guild_id: int | None = None) -> list[OutgoingMessage]:
    """The messages of a digest, in order, each within Discord's limits.

    Without a thread the first message carries the header (with the time the counts were taken) and the
    first embeds; with one, the first message is the header alone (the thread starts from it) and the embeds
    follow in the thread. Each message of papers carries an "Abstract of…" and a "Discussion of…" menu for
    its papers. A quiet day is one line. The last embed of each message carries ``Hot Papers DATE · i/n`` in
    its footer, the message's marker. A server's digest (``guild_id``) also has "Vote…" and "Discuss…".
    """
    context = context or PostContext()
    header = safe(digest_header(digest.mailing, digest.categories))
    mention = f"<@&{mention_role}> " if mention_role else ""
    if digest.quiet:
        line = quiet_line(digest)
        return [OutgoingMessage(content=_trim(mention + line, CONTENT_LIMIT), marker=line,
                                mention_role=mention_role)]
    budget = _embed_budget(len(digest.papers))
    embeds = [paper_digest_embed(ranked, budget=budget, extras=context.of(ranked.paper.id))
              for ranked in digest.papers]
    as_of = as_of_text(context.as_of)
    groups: list[list[int]] = [[]]
    used = 0
    footer_room = 40 + len(as_of)  # the first embed of each message says when the counts were taken
    for index, embed in enumerate(embeds):
        size = len(embed)
        full = len(groups[-1]) >= MESSAGE_EMBEDS or used + size + footer_room > MESSAGE_EMBED_CHARS
        if groups[-1] and full:
            groups.append([])
            used = 0
        groups[-1].append(index)
        used += size
    total = len(groups)
    messages: list[OutgoingMessage] = []
    title = f"**{header}**"
    if thread:
        messages.append(OutgoingMessage(content=mention + title, marker=title, mention_role=mention_role))
    for i, group in enumerate(groups, start=1):
        marker = f"Hot Papers {digest.period} · {i}/{total}"
        embeds[group[-1]].set_footer(text=marker)
        if as_of:
            embeds[group[0]].set_author(name=as_of)
        content = None if thread or i > 1 else mention + title
        papers = [(digest.papers[n].rank, digest.papers[n].paper) for n in group]
        messages.append(OutgoingMessage(content=content, embeds=tuple(embeds[n] for n in group), marker=marker,
                                        in_thread=thread, mention_role=mention_role if content else None,
                                        components=paper_menus(papers)))
    if digest.rising and digest.rising_since is not None:
        messages.append(rising_message(digest, thread=thread, context=context))
    return messages if guild_id is None else with_community_menus(messages, digest, guild_id, thread=thread)


def with_community_menus(messages: Sequence[OutgoingMessage], digest: Digest, guild_id: int, *, thread: bool
                         ) -> list[OutgoingMessage]:
    """A server's digest messages: each message of papers gets that server's "Vote…" and "Discuss…" menus (so
    servers can share the rest of one rendering)."""
    by_id = {r.paper.id: r for r in (*digest.papers, *digest.rising)}
    shown = []
    for message in messages:
        ids = menu_paper_ids(message.components)
        if ids and all(paper_id in by_id for paper_id in ids):
            extra = community_menus([by_id[paper_id] for paper_id in ids], guild_id, discuss=not thread)
            message = replace(message, components=message.components + extra)
        shown.append(message)
    return shown


RISING_MARK = "rising since"


def rising_message(digest: Digest, *, thread: bool, context: PostContext) -> OutgoingMessage:
    """The digest's last message: the papers of an earlier mailing that rose after it was posted (numbered
    as they rank there now), with the same menus."""
    assert digest.rising_since is not None
    since = digest.rising_since.isoformat()
    budget = _embed_budget(len(digest.rising))
    embeds = [paper_digest_embed(r, budget=budget, extras=context.of(r.paper.id)) for r in digest.rising]
    marker = f"Hot Papers {digest.period} · {RISING_MARK} {since}"
    embeds[-1].set_footer(text=marker)
    components = paper_menus([(r.rank, r.paper) for r in digest.rising])
    return OutgoingMessage(content=f"**Rising since {since}** (the {since} mailing, risen after it was posted)",
                           embeds=tuple(embeds), marker=marker, in_thread=thread, components=components)


def thread_name(digest: Digest) -> str:
    return _trim(digest_header(digest.mailing, digest.categories), 100)


def paper_thread_name(paper: Paper) -> str:
    """A "Discuss" thread's name: the paper's title, within Discord's 100 characters."""
    return _trim(tidy(paper.title), 100) or paper.id


# ---- what the buttons show (only to the person who clicked) ------------------------------------------------


def _chunks(text: str, limit: int) -> list[str]:
    """``text`` in pieces of at most ``limit`` characters, cut at line ends, else at spaces."""
    pieces: list[str] = []
    while len(text) > limit:
        cut = text.rfind("\n", 0, limit)
        if cut < limit // 2:
            cut = text.rfind(" ", 0, limit)
        if cut < limit // 2:
            cut = limit
        pieces.append(text[:cut].rstrip())
        text = text[cut:].lstrip()
    if text:
        pieces.append(text)
    return pieces


def _pack(title: str, url: str, sections: Sequence[str], footer: str) -> list[OutgoingMessage]:
    """Sections as embeds of at most 4,000 characters, packed into messages within 10 embeds and 6,000
    characters each: the first embed has the (linked) title, the last the footer."""
    pieces = [piece for section in sections for piece in _chunks(section, 4000)]
    embeds = [discord.Embed(description=piece, color=COLOR) for piece in pieces] or [
        discord.Embed(description="—", color=COLOR)]
    embeds[0].title = _trim(title, EMBED_TITLE_LIMIT)
    embeds[0].url = url
    embeds[-1].set_footer(text=_trim(footer, 2048))
    messages: list[list[discord.Embed]] = [[]]
    used = 0
    for embed in embeds:
        if messages[-1] and (len(messages[-1]) >= MESSAGE_EMBEDS or used + len(embed) > MESSAGE_EMBED_CHARS):
            messages.append([])
            used = 0
        messages[-1].append(embed)
        used += len(embed)
    return [OutgoingMessage(content=None, embeds=tuple(group)) for group in messages]


def abstract_messages(paper: Paper) -> list[OutgoingMessage]:
    """The "Abstract" answer: every author and the whole abstract (TeX made readable), then the comment,
    over as many messages as Discord's limits need (a 10,000-character abstract takes two)."""
    authors = author_line(paper.authors, 10**9)
    sections = [f"**Authors ({len(paper.authors)})**: {authors}",
                "**Abstract**\n" + (safe(tidy(paper.abstract)) or "(no abstract)")]
    if paper.comment and paper.comment.strip():
        sections.append(f"**Comment**: {safe(tidy(paper.comment))}")
    return _pack(safe(tidy(paper.title)), paper.abs_url, sections, f"arXiv:{paper.id}v{paper.version}")


def discussion_messages(paper: Paper, signals: Mapping[str, SourceSignal], extras: PaperExtras
                        ) -> list[OutgoingMessage]:
    """The "Discussion" answer: the counts per source with their time, then every stored post about the
    paper, most engaged first, from the store (so it still shows when a source is down)."""
    engagement = engagement_line(signals) or "No engagement seen yet."
    if extras.as_of:
        engagement += f"\n{as_of_text(extras.as_of)}"
    posts = "\n".join("› " + post_line(post, 400) for post in extras.posts) or (
        "No post with words about this paper was seen yet.")
    code = code_text(code_link(paper, extras))
    sections = [engagement + (f"\n{code}" if code else ""), posts]
    return _pack(f"Who is talking about: {safe(tidy(paper.title))}", paper.abs_url, sections,
                 f"arXiv:{paper.id}")


# ---- plain text (the terminal, in the seed's shape) --------------------------------------------------------


def _paper_text_lines(paper: Paper, signals: Mapping[str, SourceSignal], extras: PaperExtras, *,
                      score: float | None, posts: int) -> list[str]:
    lines = [author_line(paper.authors, 10**9, markdown=False), ""]
    engagement = engagement_line(signals, markdown=False)
    extra = ", ".join(part for part in (f"score {score:g}" if score is not None else "",
                                        as_of_text(extras.as_of)) if part)
    if engagement or extra:
        lines.append(f"- {engagement} ({extra})" if engagement and extra else f"- {engagement or extra}")
        lines.append("")
    code = code_text(code_link(paper, extras), markdown=False)
    lines.append(f"- links: [abs]({paper.abs_url}) | [pdf]({paper.pdf_url}) | [html]({paper.html_url})"
                 + (f" | {code}" if code else ""))
    lines.append("- " + " | ".join(f"[{c}](https://arxiv.org/list/{c}/recent)" for c in paper.categories))
    lines += ["", tidy(paper.abstract)]
    talk = [f"> {post_line(post, 400, markdown=False)}" for post in extras.posts[:posts]]
    if talk:
        lines += ["", *talk]
    return lines


def digest_text(digest: Digest, context: PostContext | None = None) -> str:
    """The digest as text: ``# 1. Title``, every author, per-source counts and their time, links and code,
    categories, abstract, and the top posts about each paper."""
    context = context or PostContext()
    lines = [digest_header(digest.mailing, digest.categories), ""]
    if digest.quiet:
        lines.append(f"A quiet day: no paper reached a score of {digest.min_score:g}.")
        return "\n".join(lines) + "\n"
    for ranked in digest.papers:
        lines += [f"# {ranked.rank}. {tidy(ranked.paper.title)}", ""]
        lines += _paper_text_lines(ranked.paper, ranked.signals, context.of(ranked.paper.id),
                                   score=ranked.score, posts=2)
        lines += ["", ""]
    return "\n".join(lines).rstrip() + "\n"


def paper_text(paper: Paper, signals: Mapping[str, SourceSignal], extras: PaperExtras | None = None, *,
               width: int = 100) -> str:
    """One paper for a terminal (``hotpapers paper``): what ``/paper`` shows — title, every author,
    categories, dates, references, links and code, engagement and its time, the abstract — and every post
    about it."""
    extras = extras or PaperExtras()
    others = [c for c in paper.categories if c != paper.primary_category]
    lines = [f"{tidy(paper.title)}  [{paper.id}v{paper.version}]",
             textwrap.fill(author_line(tuple(tidy(name) for name in paper.authors), 10**9, markdown=False,
                                       unknown="(no authors listed)"), width),
             f"categories: {', '.join([paper.primary_category, *others])}"]
    dates = []
    if paper.published:
        dates.append(f"published {paper.published:%Y-%m-%d}")
    if paper.updated and paper.updated != paper.published:
        dates.append(f"updated {paper.updated:%Y-%m-%d}")
    if paper.mailing:
        dates.append(f"announced in the {paper.mailing:%Y-%m-%d} mailing")
    if dates:
        lines.append("; ".join(dates))
    if paper.journal_ref:
        lines.append(f"journal: {tidy(paper.journal_ref)}")
    if paper.doi:
        lines.append(f"doi: https://doi.org/{paper.doi}")
    if paper.comment:
        lines.append(textwrap.fill(f"comment: {tidy(paper.comment)}", width))
    code = code_text(code_link(paper, extras), markdown=False)
    lines.append(f"{paper.abs_url} | {paper.pdf_url}" + (f" | {code}" if code else ""))
    engagement = engagement_line(signals, markdown=False) or "no engagement seen yet"
    lines.append(f"engagement: {engagement}" + (f" ({as_of_text(extras.as_of)})" if extras.as_of else ""))
    lines += ["", textwrap.fill(tidy(paper.abstract), width) if paper.abstract.strip() else "(no abstract)"]
    if extras.posts:
        lines += ["", "who is talking:"]
        lines += [f"> {post_line(post, 400, markdown=False)}" for post in extras.posts]
    return "\n".join(lines) + "\n"


# ---- compact lists (/paper keyword results, DM digests) ----------------------------------------------------


def paper_list_embed(title: str, entries: Sequence[tuple[Paper, str]], *, start: int = 1,
                     footer: str | None = None, empty: str = "Nothing found.",
                     bold_words: Sequence[frozenset[str]] | None = None) -> discord.Embed:
    """A numbered list of papers, one short line each: linked title, first author, and a note (engagement,
    why it matched) — up to 25 entries within one embed's limits. ``bold_words`` (one set per entry): title
    words to show in bold, as search does for the words that matched."""
    from bot.search.rank import highlight

    per_entry = max(120, (EMBED_DESCRIPTION_LIMIT - 100) // max(len(entries), 1))
    lines = []
    for number, (paper, note) in enumerate(entries, start=start):
        plain = _trim(tidy(paper.title).replace("[", "(").replace("]", ")"), 110)
        name = highlight(plain, bold_words[number - start], safe) if bold_words else safe(plain)
        who = safe(shorten_authors(paper.authors, limit=1, unknown=""))
        line = f"**{number}.** [{name}]({paper.abs_url}) · {paper.id}"
        extra = " · ".join(part for part in (who, note) if part)
        if extra:
            line += "\n" + _trim(extra, max(per_entry - len(line) - 1, 20))
        lines.append(line)
    embed = discord.Embed(title=_trim(title, EMBED_TITLE_LIMIT), description="\n".join(lines) or empty,
                          color=COLOR)
    if footer:
        embed.set_footer(text=_trim(footer, 2048))
    return embed


# ---- DM digests --------------------------------------------------------------------------------------------

DM_AUTHOR_BUDGET = 160


def followed_authors(paper: Paper, follows: Sequence[Follow]) -> frozenset[str]:
    """The paper's author names (as it writes them) that one of ``follows`` (author follows) matches."""
    wanted = {author_key(f.value) for f in follows if f.kind == "author"}
    return frozenset(name for name in paper.authors if wanted & author_keys(name))


TEST_MARK = "🧪 **Test** (not today's DM: that one still comes at your time) — "


FOLLOWUPS_TITLE = "**Follow-ups on papers you saved or voted for**"


def notice_line(notice: Notice, paper: Paper) -> str:
    """One follow-up: the paper, what happened, and where to look."""
    title = f"**{_fit_escaped(tidy(paper.title), 100)}** ({paper.id})"  # five lines fit in one message
    if notice.event == "code":
        return f"• {title}: code released: <{notice.detail[:150]}>"
    if notice.event == "published":
        return f"• {title}: published in {_fit_escaped(tidy(notice.detail), 160)}"
    comment = f" ({_fit_escaped(tidy(notice.detail), 160)})" if notice.detail else ""
    return f"• {title}: {notice.event} is out{comment} <{paper.abs_url}{notice.event}>"


def followups_message(notices: Sequence[tuple[Notice, Paper]], shown: int) -> OutgoingMessage:
    """A DM's follow-ups: the first ``shown`` in full, the rest summarised in one line."""
    lines = [FOLLOWUPS_TITLE, *(notice_line(n, p) for n, p in notices[:shown])]
    rest = notices[shown:]
    if rest:
        papers = len({n.paper_id for n, _ in rest})
        lines.append(f"…and {len(rest)} more follow-up{'s' if len(rest) != 1 else ''} on {papers} "
                     f"paper{'s' if papers != 1 else ''}: `/saved list` shows your papers.")
    return OutgoingMessage(content=_trim("\n".join(lines), CONTENT_LIMIT), marker=FOLLOWUPS_TITLE)


def dm_messages(dm: DmPlan, context: PostContext | None = None, *, test: bool = False) -> list[OutgoingMessage]:
    """The one DM: a header line (with the time the counts were taken) and a list, each paper with its
    authors (a followed author always shown, in bold), engagement and why it matched; and the paper menus.
    A ``test`` DM (``/subscriptions test``) says so and has a marker of its own."""
    context = context or PostContext()
    newest = dm.mailings[-1].isoformat()
    span = newest if len(dm.mailings) == 1 else f"{dm.mailings[0].isoformat()} to {newest}"
    shown = len(dm.papers)
    count = f"{dm.total} matching paper{'s' if dm.total != 1 else ''}"
    if dm.total > shown:
        count += f", the {shown} hottest"
    per_entry = max(150, (EMBED_DESCRIPTION_LIMIT - 100) // max(shown, 1))
    lines = []
    for number, matched in enumerate(dm.papers, start=1):
        paper = matched.ranked.paper
        name = safe(_trim(tidy(paper.title).replace("[", "(").replace("]", ")"), 110))
        line = f"**{number}.** [{name}]({paper.abs_url}) · {paper.id}"
        bold = followed_authors(paper, dm.follows)
        authors = author_line(paper.authors, min(DM_AUTHOR_BUDGET, per_entry - len(line) - 40), bold=bold)
        score = ranking.display_score(matched.ranked.score)
        note = (f"score {score} · " if matched.ranked.score else "") + "matched " + ", ".join(
            safe(reason) for reason in matched.reasons)
        line += "\n" + authors + "\n" + _trim(note, max(per_entry - len(line) - len(authors) - 2, 20))
        lines.append(line)
    marker = f"Hot Papers {'test ' if test else ''}DM {newest}"
    embed = discord.Embed(title=_trim(f"Your Hot Papers · {span}", EMBED_TITLE_LIMIT),
                          description="\n".join(lines) or "Nothing found.", color=COLOR)
    embed.set_footer(text=f"{marker} · /subscriptions to change what you follow")
    plural = "s" if len(dm.mailings) > 1 else ""
    if context.as_of:
        embed.set_author(name=as_of_text(context.as_of))
    content = (TEST_MARK if test else "") + f"**Your Hot Papers** for the {span} mailing{plural} — {count}."
    menus = paper_menus([(n, m.ranked.paper) for n, m in enumerate(dm.papers, start=1)])
    return [OutgoingMessage(content=content, embeds=(embed,), marker=marker, components=menus)]
