"""Pure rendering: papers and digests → Discord embeds and messages, and → plain text for the terminal.

Everything here respects Discord's limits (DESIGN.md): a message holds at most 10 embeds and 6,000 characters
over all of them; an embed title 256, a description 4,096, a field 1,024, a footer 2,048. Text from arXiv is
tidied (whitespace, TeX made readable) and markdown-escaped, so a title cannot format, link or ping.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import discord

from bot import taxonomy
from bot.digest import Digest
from bot.models import Paper, RankedPaper, SourceSignal

EMBED_TITLE_LIMIT = 256
EMBED_DESCRIPTION_LIMIT = 4096
EMBED_FIELD_LIMIT = 1024
MESSAGE_EMBEDS = 10
MESSAGE_EMBED_CHARS = 6000
CONTENT_LIMIT = 2000
COLOR = 0xB31B1B  # arXiv red

SOURCE_LABELS = {"x": "X", "hf": "Hugging Face", "hn": "Hacker News", "bluesky": "Bluesky"}
SOURCE_ORDER = ("x", "hf", "hn", "bluesky")
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


def tidy(text: str) -> str:
    """Whitespace collapsed (arXiv wraps lines and indents), TeX made readable."""
    return re.sub(r"\s+", " ", tex_to_text(text)).strip()


def safe(text: str) -> str:
    """Markdown and mentions neutralised (``@everyone`` gets a zero-width space)."""
    return discord.utils.escape_mentions(discord.utils.escape_markdown(text))


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


def _number(value: int) -> str:
    return f"{value:,}"


def _metrics(counts: Mapping[str, int]) -> list[tuple[str, int]]:
    order = {name: i for i, name in enumerate(METRIC_ORDER)}
    return sorted(counts.items(), key=lambda kv: (order.get(kv[0], len(order)), kv[0]))


def engagement_line(signals: Mapping[str, SourceSignal], *, markdown: bool = True) -> str:
    """``X: 2,826 retweets · 217 likes | Hugging Face: 34 upvotes``, each source linked to its discussion."""
    parts: list[str] = []
    known = [s for s in SOURCE_ORDER if s in signals] + sorted(set(signals) - set(SOURCE_ORDER))
    for source in known:
        signal = signals[source]
        counts = " · ".join(f"{_number(v)} {k}" for k, v in _metrics(signal.counts))
        if not counts:
            continue
        label = SOURCE_LABELS.get(source, source)
        if markdown and signal.url:
            parts.append(f"[{label}](<{signal.url}>): {counts}" if " " in signal.url else
                         f"[{label}]({signal.url}): {counts}")
        else:
            parts.append(f"{label}: {counts}")
    return " | ".join(parts)


# ---- Discord embeds ----------------------------------------------------------------------------------------


def digest_header(mailing: date, categories: Sequence[str]) -> str:
    """``Hot Papers 2026-11-25 · cs.LG, cs.CV``"""
    cats = ", ".join(categories)
    return f"Hot Papers {mailing.isoformat()} · {cats}" if cats else f"Hot Papers {mailing.isoformat()}"


def _links(paper: Paper) -> str:
    return f"[abs]({paper.abs_url}) | [pdf]({paper.pdf_url}) | [html]({paper.html_url})"


def paper_digest_embed(ranked: RankedPaper, *, budget: int = 590) -> discord.Embed:
    """One paper of a digest: ``budget`` bounds the embed's length (the abstract gives way)."""
    paper = ranked.paper
    title = _trim(f"{ranked.rank}. {safe(tidy(paper.title))}", EMBED_TITLE_LIMIT)
    head = [safe(shorten_authors(paper.authors))]
    engagement = engagement_line(ranked.signals)
    if engagement:
        head.append(engagement)
    head.append(_links(paper))
    head.append(" · ".join(paper.categories))
    description = "\n".join(head)
    room = min(budget - len(title) - len(description) - 2, EMBED_DESCRIPTION_LIMIT - len(description) - 2)
    if room >= 80:
        description += "\n\n" + _abstract(paper.abstract, room)
    embed = discord.Embed(title=title, url=paper.abs_url, description=description, color=COLOR)
    return embed


def _abstract(abstract: str, limit: int) -> str:
    """Tidied, trimmed at a sentence and escaped, within ``limit`` characters after escaping."""
    text = tidy(abstract)
    target = limit
    while True:
        escaped = safe(trim_at_sentence(text, target))
        if len(escaped) <= limit or target <= 10:
            return escaped[:limit]
        target -= max(len(escaped) - limit, 10)


def paper_embed(paper: Paper, signals: Mapping[str, SourceSignal]) -> discord.Embed:
    """A paper on its own (``/paper``): title, authors, engagement, links, the abstract, categories with
    names, versions, and comment / journal ref / DOI where present."""
    title = _trim(safe(tidy(paper.title)), EMBED_TITLE_LIMIT)
    head = [safe(shorten_authors(paper.authors, limit=12))]
    engagement = engagement_line(signals)
    if engagement:
        head.append(engagement)
    head.append(_links(paper))
    description = "\n".join(head)
    room = min(1800, EMBED_DESCRIPTION_LIMIT - len(description) - 2)
    description += "\n\n" + _abstract(paper.abstract, room)
    embed = discord.Embed(title=title, url=paper.abs_url, description=description, color=COLOR)
    names = []
    for code in paper.categories:
        try:
            names.append(f"{code} ({taxonomy.category_name(code)})")
        except ValueError:
            names.append(code)
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
    embed.set_footer(text=f"arXiv:{paper.id}v{paper.version}")
    return embed


@dataclass(frozen=True)
class OutgoingMessage:
    """One message to send: plain content and embeds; ``in_thread`` messages go to the digest's thread;
    ``marker`` identifies it in the channel's history."""

    content: str | None
    embeds: tuple[discord.Embed, ...] = ()
    marker: str = ""
    in_thread: bool = False
    mention_role: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def payload(self) -> dict[str, Any]:
        """JSON-able form kept in the delivery ledger."""
        return {"content": self.content, "embeds": [e.to_dict() for e in self.embeds],
                "mention_role": self.mention_role, **self.extra}

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any], marker: str = "", in_thread: bool = False
                     ) -> OutgoingMessage:
        return cls(content=payload.get("content"),
                   embeds=tuple(discord.Embed.from_dict(e) for e in payload.get("embeds") or ()),
                   marker=marker, in_thread=in_thread, mention_role=payload.get("mention_role"))


def _embed_budget(size: int) -> int:
    per_message = min(max(size, 1), MESSAGE_EMBEDS)
    return min(1500, (MESSAGE_EMBED_CHARS - 60) // per_message)


def quiet_line(digest: Digest) -> str:
    return (f"**{safe(digest_header(digest.mailing, digest.categories))}** — a quiet day: no paper reached a "
            f"score of {digest.min_score:g}.")


def digest_messages(digest: Digest, *, thread: bool = False, mention_role: int | None = None
                    ) -> list[OutgoingMessage]:
    """The messages of a digest, in order, each within Discord's limits.

    Without a thread the first message carries the header and the first embeds; with one, the first message is
    the header alone (the thread starts from it) and the embeds follow in the thread. A quiet day is one line.
    The last embed of each message carries ``Hot Papers DATE · i/n`` in its footer, the message's marker.
    """
    header = safe(digest_header(digest.mailing, digest.categories))
    mention = f"<@&{mention_role}> " if mention_role else ""
    if digest.quiet:
        line = quiet_line(digest)
        return [OutgoingMessage(content=_trim(mention + line, CONTENT_LIMIT), marker=line,
                                mention_role=mention_role)]
    budget = _embed_budget(len(digest.papers))
    embeds = [paper_digest_embed(ranked, budget=budget) for ranked in digest.papers]
    groups: list[list[discord.Embed]] = [[]]
    used = 0
    footer_room = 40
    for embed in embeds:
        size = len(embed)
        full = len(groups[-1]) >= MESSAGE_EMBEDS or used + size + footer_room > MESSAGE_EMBED_CHARS
        if groups[-1] and full:
            groups.append([])
            used = 0
        groups[-1].append(embed)
        used += size
    total = len(groups)
    messages: list[OutgoingMessage] = []
    title = f"**{header}**"
    if thread:
        messages.append(OutgoingMessage(content=mention + title, marker=title, mention_role=mention_role))
    for i, group in enumerate(groups, start=1):
        marker = f"Hot Papers {digest.period} · {i}/{total}"
        group[-1].set_footer(text=marker)
        content = None if thread or i > 1 else mention + title
        messages.append(OutgoingMessage(content=content, embeds=tuple(group), marker=marker, in_thread=thread,
                                        mention_role=mention_role if content else None))
    return messages


def thread_name(digest: Digest) -> str:
    return _trim(digest_header(digest.mailing, digest.categories), 100)


# ---- plain text (the terminal, in the seed's shape) --------------------------------------------------------


def digest_text(digest: Digest) -> str:
    """The digest as text: ``# 1. Title``, authors, per-source counts, links, categories, abstract."""
    lines = [digest_header(digest.mailing, digest.categories), ""]
    if digest.quiet:
        lines.append(f"A quiet day: no paper reached a score of {digest.min_score:g}.")
        return "\n".join(lines) + "\n"
    for ranked in digest.papers:
        paper = ranked.paper
        lines += [f"# {ranked.rank}. {tidy(paper.title)}", "", shorten_authors(paper.authors, limit=12), ""]
        engagement = engagement_line(ranked.signals, markdown=False)
        score = f"score {ranked.score:g}"
        lines.append(f"- {engagement} ({score})" if engagement else f"- {score}")
        lines.append("")
        lines.append(f"- links: [abs]({paper.abs_url}) | [pdf]({paper.pdf_url}) | [html]({paper.html_url})")
        lines.append("- " + " | ".join(f"[{c}](https://arxiv.org/list/{c}/recent)" for c in paper.categories))
        lines += ["", tidy(paper.abstract), "", ""]
    return "\n".join(lines).rstrip() + "\n"


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
