"""BibTeX entries from stored paper metadata (pure).

An entry is ``@misc`` with arXiv's eprint fields (``eprint``, ``archivePrefix = {arXiv}``, ``primaryClass``),
``year`` and ``url``; it becomes ``@article`` with ``journal`` when arXiv knows a journal reference (BibTeX's
standard styles require a journal for an article, so a DOI alone stays ``@misc`` with a ``doi`` field). The key
is the first author's ASCII surname, the year of the first version and the arXiv id (``castellon2021:2107.05677``):
unique because the id is, and the same in every export. Text is made plain first (TeX in arXiv titles turned into
Unicode), then written back as safe TeX: special characters escaped, accented letters as TeX accents
(``{\\"o}``), Greek and math symbols as inline math, so the file works with 7-bit ``bibtex`` and any engine.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

from bot.models import Paper
from bot.render import _TEX_SYMBOLS, tidy

# Combining marks → TeX accent commands (the inverse of the accents arXiv metadata writes in TeX).
_ACCENTS = {"\u0301": "'", "\u0300": "`", "\u0302": "^", "\u0308": '"', "\u0303": "~", "\u0304": "=",
            "\u0307": ".", "\u0327": "c", "\u030c": "v", "\u0306": "u", "\u030b": "H", "\u0328": "k",
            "\u030a": "r"}
_LETTERS = {"ł": r"{\l}", "Ł": r"{\L}", "ø": r"{\o}", "Ø": r"{\O}", "ß": r"{\ss}", "æ": r"{\ae}",
            "Æ": r"{\AE}", "œ": r"{\oe}", "Œ": r"{\OE}", "ı": r"{\i}", "đ": r"{\dj}", "Đ": r"{\DJ}",
            "þ": r"{\th}", "Þ": r"{\TH}", "ð": r"{\dh}", "Ð": r"{\DH}"}
_SPECIAL = {"\\": r"\textbackslash{}", "{": r"\{", "}": r"\}", "$": r"\$", "&": r"\&", "%": r"\%",
            "#": r"\#", "_": r"\_", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
            "<": r"\textless{}", ">": r"\textgreater{}", "|": r"\textbar{}"}
_PUNCTUATION = {"–": "--", "—": "---", "‘": "`", "’": "'", "“": "``", "”": "''", "…": r"\ldots{}",
                "\u00a0": "~", "·": r"\textperiodcentered{}", "×": r"$\times$", "±": r"$\pm$"}
# Greek letters and math symbols the title tidier produced from TeX: back to math (``α`` → ``$\alpha$``).
_MATH = {value: f"${{\\{name}}}$" for name, value in _TEX_SYMBOLS.items()
         if len(value) == 1 and not value.isascii() and name.isalpha()}


def _character(char: str) -> str:
    if char.isascii():
        return _SPECIAL.get(char, char)
    for table in (_LETTERS, _PUNCTUATION, _MATH):
        if char in table:
            return table[char]
    compatible = unicodedata.normalize("NFKC", char)
    if compatible.isascii() and compatible.isalnum():  # ² ₂
        script = "super" if "SUPERSCRIPT" in unicodedata.name(char, "") else "sub"
        return f"\\text{script}script{{{compatible}}}"
    decomposed = unicodedata.normalize("NFD", char)
    base, marks = decomposed[0], decomposed[1:]
    if base.isascii() and base.isalpha() and marks and all(mark in _ACCENTS for mark in marks):
        out = r"\i" if base == "i" else base  # a dotless i under the accent, as TeX wants
        for mark in marks:
            out = f"\\{_ACCENTS[mark]}{{{out}}}"
        return "{" + out + "}"
    return char  # other scripts (CJK, Cyrillic…) stay UTF-8: bibtex copies them through


def tex_escape(text: str) -> str:
    """``text`` (plain Unicode) as TeX that typesets it, with no unbalanced brace and no special character."""
    return "".join(_character(char) for char in unicodedata.normalize("NFC", text))


def plain(text: str) -> str:
    """TeX in arXiv metadata made plain, whitespace collapsed."""
    return tidy(text)


def ascii_word(text: str) -> str:
    """Letters of ``text`` in ASCII, accents dropped (``Świerczewski`` → ``swierczewski``)."""
    stripped = "".join(_LETTERS.get(c, c).strip("{}\\") if c in _LETTERS else c
                       for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    return re.sub(r"[^a-z]", "", stripped.lower())


def year(paper: Paper) -> int | None:
    """The year of the first version: from ``published``, else from the id (``2107.05677`` → 2021)."""
    if paper.published is not None:
        return paper.published.year
    match = re.search(r"(?:^|/)(\d{2})(\d{2})", paper.id)
    if match is None:
        return None
    yy = int(match[1])
    return (1900 if yy >= 91 else 2000) + yy


def surname(name: str) -> str:
    """The last word of a name as arXiv writes it (``Alexander G. Schwing`` → ``Schwing``)."""
    words = plain(name).replace(",", " ").split()
    return words[-1] if words else ""


def cite_key(paper: Paper) -> str:
    """``surname + year + ':' + id``; an old-style id's slash becomes a dash (``hep-th/9901001``)."""
    first = ascii_word(surname(paper.authors[0])) if paper.authors else ""
    when = year(paper)
    return f"{first or 'anon'}{when or ''}:{paper.id.replace('/', '-')}"


def _author(name: str) -> str:
    text = tex_escape(plain(name))
    # a name containing the word "and" (a collaboration) would split into two authors: keep it whole
    return "{" + text + "}" if re.search(r"\band\b", text, re.IGNORECASE) or "," in text else text


def entry(paper: Paper) -> str:
    """One BibTeX entry (see the module docstring for the choices)."""
    fields: list[tuple[str, str]] = [
        ("author", " and ".join(_author(name) for name in paper.authors if name.strip()) or "{Anonymous}"),
        ("title", "{" + tex_escape(plain(paper.title)) + "}"),  # double braces keep its capitals
    ]
    kind = "misc"
    if paper.journal_ref and paper.journal_ref.strip():
        kind = "article"
        fields.append(("journal", tex_escape(plain(paper.journal_ref))))
    when = year(paper)
    if when is not None:
        fields.append(("year", str(when)))
    fields += [("eprint", paper.id), ("archivePrefix", "arXiv"), ("primaryClass", paper.primary_category)]
    if paper.doi and paper.doi.strip() and not re.search(r"[{}%\\\s]", paper.doi.strip()):
        fields.append(("doi", paper.doi.strip()))  # verbatim, as biblatex reads it; plain.bst ignores it
    fields.append(("url", paper.abs_url))
    body = ",\n".join(f"  {name} = {{{value}}}" for name, value in fields)
    return f"@{kind}{{{cite_key(paper)},\n{body}\n}}\n"


def bibliography(papers: Iterable[Paper]) -> str:
    """Entries for ``papers`` (each once, in the order given), separated by blank lines."""
    seen: set[str] = set()
    entries = []
    for paper in papers:
        if paper.id not in seen:
            seen.add(paper.id)
            entries.append(entry(paper))
    return "\n".join(entries)
