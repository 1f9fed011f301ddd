"""Feeds of a ranking (pure: data → bytes): RSS 2.0, Atom (RFC 4287) and JSON Feed 1.1.

A feed holds the ranked papers of recent mailings, newest mailing first, best first within it. Each item is
one paper of one mailing; its id (RSS ``guid``, Atom ``id``, JSON ``id``) names both, so it is unique within
the feed and stays the same as counts change. Dates: RSS uses RFC 822, Atom and JSON Feed RFC 3339. Text from
outside (titles, names, abstracts) is put in as text and escaped by the XML or JSON writer, never as markup.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from email.utils import format_datetime

from lxml import etree

from bot.mailing import announced_at
from bot.models import RankedPaper
from bot.ranking import display_score
from bot.render import tidy
from bot.text import strip_invisible

ATOM = "http://www.w3.org/2005/Atom"
GENERATOR = "Hot Papers"
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")  # characters XML 1.0 forbids


@dataclass(frozen=True, slots=True)
class FeedItem:
    mailing: date
    ranked: RankedPaper


@dataclass(frozen=True, slots=True)
class Feed:
    """``key`` names the feed in item ids (``cs.LG``, ``guild-123``); ``link`` is its HTML page, ``self_url``
    the feed's own address (each format's), ``updated`` when its counts were last taken."""

    key: str
    title: str
    description: str
    link: str
    self_url: str
    updated: datetime
    items: tuple[FeedItem, ...]


def clean(text: str) -> str:
    """Outside text made readable and safe to put in XML: TeX made readable, controls XML forbids removed."""
    return _NOT_XML.sub("", tidy(strip_invisible(text)))


def item_id(feed: Feed, item: FeedItem) -> str:
    """A tag URI (RFC 4151): unique per (feed, mailing, paper), stable as counts change."""
    return f"tag:hotpapers,{item.mailing.isoformat()}:{feed.key}/{item.ranked.paper.id}"


def item_title(item: FeedItem) -> str:
    return f"{item.ranked.rank}. {clean(item.ranked.paper.title)}"


def counts_line(ranked: RankedPaper) -> str:
    """``score 2 · x: retweets 2826, likes 217 · hn: points 12``."""
    parts = [f"score {display_score(ranked.score)}"]
    for source, signal in ranked.signals.items():
        parts.append(f"{source}: " + ", ".join(f"{metric} {value}" for metric, value in signal.counts.items()))
    return " · ".join(parts)


def item_text(item: FeedItem) -> str:
    """Authors, counts, categories and the abstract, as plain text."""
    paper = item.ranked.paper
    return "\n\n".join([clean(", ".join(paper.authors)), counts_line(item.ranked),
                        " | ".join(paper.categories), clean(paper.abstract)])


def item_date(item: FeedItem) -> datetime:
    """When the item's mailing was announced."""
    return announced_at(item.mailing).astimezone(UTC)


def rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def rss(feed: Feed) -> bytes:
    """RSS 2.0 with an ``atom:link rel=self``."""
    root = etree.Element("rss", version="2.0", nsmap={"atom": ATOM})
    channel = etree.SubElement(root, "channel")
    for name, value in (("title", clean(feed.title)), ("link", feed.link), ("description", feed.description),
                        ("lastBuildDate", format_datetime(feed.updated.astimezone(UTC), usegmt=True)),
                        ("generator", GENERATOR)):
        etree.SubElement(channel, name).text = value
    etree.SubElement(channel, f"{{{ATOM}}}link", href=feed.self_url, rel="self", type="application/rss+xml")
    for item in feed.items:
        node = etree.SubElement(channel, "item")
        etree.SubElement(node, "title").text = item_title(item)
        etree.SubElement(node, "link").text = item.ranked.paper.abs_url
        etree.SubElement(node, "description").text = item_text(item)
        etree.SubElement(node, "guid", isPermaLink="false").text = item_id(feed, item)
        etree.SubElement(node, "pubDate").text = format_datetime(item_date(item), usegmt=True)
        for category in item.ranked.paper.categories:
            etree.SubElement(node, "category").text = category
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True))


def atom(feed: Feed) -> bytes:
    """Atom 1.0: every required element (id, title, updated; an author for each entry)."""
    root = etree.Element(f"{{{ATOM}}}feed", nsmap={None: ATOM})  # type: ignore[dict-item]  # lxml: default ns

    def add(parent: etree._Element, name: str, text: str | None = None, **attributes: str) -> etree._Element:
        node = etree.SubElement(parent, f"{{{ATOM}}}{name}", attrib=attributes)
        if text is not None:
            node.text = text
        return node

    add(root, "id", f"tag:hotpapers,2026:{feed.key}")
    add(root, "title", clean(feed.title))
    add(root, "subtitle", feed.description)
    add(root, "updated", rfc3339(feed.updated))
    add(root, "link", href=feed.link, rel="alternate", type="text/html")
    add(root, "link", href=feed.self_url, rel="self", type="application/atom+xml")
    add(root, "generator", GENERATOR)
    for item in feed.items:
        paper = item.ranked.paper
        entry = add(root, "entry")
        add(entry, "id", item_id(feed, item))
        add(entry, "title", item_title(item))
        add(entry, "updated", rfc3339(item_date(item)))
        add(entry, "published", rfc3339(paper.published or item_date(item)))
        add(entry, "link", href=paper.abs_url, rel="alternate", type="text/html")
        add(entry, "link", href=paper.pdf_url, rel="related", type="application/pdf")
        for name in paper.authors[:50] or ("Unknown",):
            add(add(entry, "author"), "name", clean(name) or "Unknown")
        for category in paper.categories:
            add(entry, "category", term=category)
        add(entry, "summary", item_text(item), type="text")
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True))


def json_feed(feed: Feed) -> bytes:
    """JSON Feed 1.1."""
    document = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": clean(feed.title),
        "home_page_url": feed.link,
        "feed_url": feed.self_url,
        "description": feed.description,
        "items": [{
            "id": item_id(feed, item),
            "url": item.ranked.paper.abs_url,
            "title": item_title(item),
            "content_text": item_text(item),
            "date_published": rfc3339(item_date(item)),
            "authors": [{"name": clean(name)} for name in item.ranked.paper.authors[:50] if clean(name)],
            "tags": list(item.ranked.paper.categories),
            "_hotpapers": {"mailing": item.mailing.isoformat(), "rank": item.ranked.rank,
                           "score": display_score(item.ranked.score),
                           "signals": {s: dict(sig.counts) for s, sig in item.ranked.signals.items()}},
        } for item in feed.items],
    }
    return json.dumps(document, ensure_ascii=False, indent=1).encode()


LABELS = {"rss": "RSS", "atom": "Atom", "json": "JSON Feed"}
FORMATS = {"rss": ("application/rss+xml; charset=utf-8", rss),
           "atom": ("application/atom+xml; charset=utf-8", atom),
           "json": ("application/feed+json; charset=utf-8", json_feed)}


def items_of(days: Sequence[tuple[date, Sequence[RankedPaper]]]) -> tuple[FeedItem, ...]:
    """Feed items from (mailing, ranked papers) pairs, newest mailing first, each paper once per mailing."""
    items: list[FeedItem] = []
    for mailing, ranked in sorted(days, key=lambda pair: pair[0], reverse=True):
        seen: set[str] = set()
        for paper in ranked:
            if paper.paper.id not in seen:
                seen.add(paper.paper.id)
                items.append(FeedItem(mailing, paper))
    return tuple(items)
