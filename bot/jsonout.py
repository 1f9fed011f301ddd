"""The JSON paper object of the command line (DESIGN.md "Command line"), shared by paper, search and top."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from bot.models import Paper


def _iso(when: datetime | None) -> str | None:
    if when is None:
        return None
    return when.astimezone(UTC).isoformat().replace("+00:00", "Z")


def paper_json(paper: Paper) -> dict[str, Any]:
    """A paper as DESIGN.md's JSON object: ``id`` (canonical), ``version`` (int), ``title``, ``authors``
    (list), ``primary_category``, ``categories``, ``abstract``, ``published``/``updated`` (ISO 8601 UTC or
    null), ``url`` (versionless abs URL), ``mailing`` (YYYY-MM-DD or null), plus ``comment``, ``journal_ref``
    and ``doi``."""
    return {
        "id": paper.id,
        "version": paper.version,
        "title": paper.title,
        "authors": list(paper.authors),
        "primary_category": paper.primary_category,
        "categories": list(paper.categories),
        "abstract": paper.abstract,
        "published": _iso(paper.published),
        "updated": _iso(paper.updated),
        "url": paper.abs_url,
        "mailing": paper.mailing.isoformat() if paper.mailing else None,
        "comment": paper.comment,
        "journal_ref": paper.journal_ref,
        "doi": paper.doi,
    }
