"""Plain HTML pages of the rankings (pure: data → bytes), in the spirit of the old "Hot Papers" posts: per
paper its rank, title, authors, counts per source, abs | pdf links, categories and abstract. No JavaScript, no
outside resource; everything from outside goes through :func:`html.escape`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from html import escape

from bot.feeds import clean
from bot.models import RankedPaper
from bot.ranking import display_score

STYLE = """body{font:16px/1.5 system-ui,sans-serif;max-width:52rem;margin:2rem auto;padding:0 1rem;color:#222}
h1{font-size:1.6rem}h2{font-size:1.15rem;margin:1.8rem 0 .2rem}a{color:#b31b1b}
.authors{margin:.2rem 0;color:#444}.meta{margin:.2rem 0;padding-left:1.2rem}.abstract{color:#333}
.as-of,footer{color:#666;font-size:.9rem}"""


@dataclass(frozen=True, slots=True)
class MailingPage:
    """One mailing's ranking (in ``category``, or every category when None) as of ``as_of``."""

    mailing: date
    category: str | None
    papers: tuple[RankedPaper, ...]
    as_of: datetime | None
    feeds: Sequence[tuple[str, str]] = ()  # (label, url) of the feeds of the same ranking
    home: str = "/"  # the index page


def _document(title: str, body: str, feeds: Sequence[tuple[str, str]] = ()) -> bytes:
    alternates = "".join(
        f'<link rel="alternate" type="{kind}" title="{escape(label)}" href="{escape(url)}">\n'
        for label, url in feeds
        for kind in [{"rss": "application/rss+xml", "atom": "application/atom+xml",
                      "json": "application/feed+json"}[url.rsplit(".", 1)[-1]]])
    return (f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>{escape(title)}</title>\n{alternates}<style>{STYLE}</style>\n</head>\n<body>\n{body}\n"
            f"<footer><p>Made by Hot Papers from arXiv's listings and public engagement counts.</p></footer>\n"
            f"</body>\n</html>\n").encode()


def page_title(mailing: date, category: str | None) -> str:
    return f"Hot Papers {mailing.isoformat()}" + (f" · {category}" if category else "")


def _paper(ranked: RankedPaper) -> str:
    paper = ranked.paper
    counts = "".join(
        f"<li>{escape(source)}: "
        + escape(", ".join(f"{metric}: {value}" for metric, value in signal.counts.items()))
        + (f' (<a href="{escape(signal.url)}">post</a>)' if signal.url and signal.url.startswith("https://")
           else "") + "</li>"
        for source, signal in ranked.signals.items())
    categories = " | ".join(
        f'<a href="https://arxiv.org/list/{escape(c)}/recent">{escape(c)}</a>' for c in paper.categories)
    return (f'<article id="{escape(paper.id)}">\n'
            f'<h2 class="title">{ranked.rank}. {escape(clean(paper.title))}</h2>\n'
            f'<p class="authors">{escape(clean(", ".join(paper.authors)))}</p>\n'
            f'<ul class="meta">\n<li>score: {display_score(ranked.score)}</li>\n{counts}\n'
            f'<li>links: <a href="{escape(paper.abs_url)}">abs</a> | <a href="{escape(paper.pdf_url)}">pdf</a>'
            f"</li>\n<li>{categories}</li>\n</ul>\n"
            f'<p class="abstract">{escape(clean(paper.abstract))}</p>\n</article>')


def mailing_html(page: MailingPage) -> bytes:
    """The page of one mailing's ranking."""
    title = page_title(page.mailing, page.category)
    as_of = (f'<p class="as-of">engagement as of {page.as_of.astimezone(UTC):%Y-%m-%d %H:%M} UTC</p>'
             if page.as_of else "")
    feeds = " · ".join(f'<a href="{escape(url)}">{escape(label)}</a>' for label, url in page.feeds)
    body = "\n".join(_paper(r) for r in page.papers) or (
        "<p>A quiet day: no paper of this mailing has any engagement yet.</p>")
    top = f'<p><a href="{escape(page.home)}">All mailings</a></p>\n<h1>{escape(title)}</h1>\n{as_of}\n'
    return _document(title, top + (f"<p>Feeds: {feeds}</p>\n" if feeds else "") + body, page.feeds)


def index_html(mailings: Sequence[date], categories: Sequence[str], base: str,
               feeds: Sequence[tuple[str, str]] = ()) -> bytes:
    """The recent mailings, newest first, each linked to its page and its categories' pages."""
    rows = []
    for day in mailings:
        links = " · ".join(f'<a href="{escape(base)}/m/{day.isoformat()}/{escape(c)}/">{escape(c)}</a>'
                           for c in categories)
        rows.append(f'<li><a href="{escape(base)}/m/{day.isoformat()}/">{day.isoformat()}</a>'
                    + (f" — {links}" if links else "") + "</li>")
    listing = "<ul>\n" + "\n".join(rows) + "\n</ul>" if rows else "<p>No mailing is stored yet.</p>"
    feed_list = "".join(f'<li><a href="{escape(url)}">{escape(label)}</a></li>' for label, url in feeds)
    body = (f"<h1>Hot Papers</h1>\n<p>Each arXiv mailing's papers, ranked by public engagement.</p>\n"
            f"<h2>Recent mailings</h2>\n{listing}\n"
            + (f"<h2>Feeds</h2>\n<ul>{feed_list}</ul>\n" if feed_list else ""))
    return _document("Hot Papers", body, feeds)
