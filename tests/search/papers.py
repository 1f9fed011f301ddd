"""Papers and arXiv API answers made to order for the search tests (written here, in arXiv's formats)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from xml.sax.saxutils import escape

from bot.models import Paper
from bot.store import Store


def paper(paper_id: str, title: str, *, abstract: str = "Nothing in particular.",
          authors: tuple[str, ...] = ("Ada Lovelace",), categories: tuple[str, ...] = ("cs.LG",),
          year: int = 2024) -> Paper:
    return Paper(id=paper_id, version=1, title=title, authors=authors, abstract=abstract,
                 primary_category=categories[0], categories=categories,
                 published=datetime(year, 3, 1, tzinfo=UTC), updated=None)


def stored(tmp_path: Path, library: Sequence[Paper]) -> Iterator[Store]:
    """A store holding ``library`` (for a fixture to yield from), closed afterwards."""
    store = Store(tmp_path / "papers.db")
    store.upsert_papers(library)
    yield store
    store.close()


def api_feed(papers: Sequence[Paper], total: int | None = None) -> bytes:
    """An arXiv API search answer (Atom, as the API writes it) holding ``papers``."""
    entries = []
    for p in papers:
        stamp = (p.published or datetime(2020, 1, 1, tzinfo=UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")
        authors = "".join(f"<author><name>{escape(name)}</name></author>" for name in p.authors)
        categories = "".join(f'<category term="{c}" scheme="http://arxiv.org/schemas/atom"/>'
                             for c in p.categories)
        entries.append(
            f"<entry><id>http://arxiv.org/abs/{p.id}v1</id><title>{escape(p.title)}</title>"
            f"<updated>{stamp}</updated><summary>{escape(p.abstract)}</summary>{categories}"
            f"<published>{stamp}</published><arxiv:primary_category term=\"{p.primary_category}\"/>"
            f"{authors}</entry>")
    return (
        "<?xml version='1.0' encoding='UTF-8'?>"
        '<feed xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/" '
        'xmlns:arxiv="http://arxiv.org/schemas/atom" xmlns="http://www.w3.org/2005/Atom">'
        "<id>https://arxiv.org/api/x</id><title>arXiv Query</title><updated>2026-01-01T00:00:00Z</updated>"
        f"<opensearch:itemsPerPage>{len(papers)}</opensearch:itemsPerPage>"
        f"<opensearch:totalResults>{len(papers) if total is None else total}</opensearch:totalResults>"
        "<opensearch:startIndex>0</opensearch:startIndex>" + "".join(entries) + "</feed>"
    ).encode()
