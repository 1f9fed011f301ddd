"""``hotpapers paper ID_OR_URL [--json]``: one paper, from the store or else from arXiv (then kept)."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import textwrap
from collections.abc import Callable, Mapping

from bot.clock import clock_from_env
from bot.config import Settings
from bot.ids import ArxivId, parse_arxiv_id
from bot.lookup import PaperView, find_paper
from bot.models import Paper, SourceSignal
from bot.store import AsyncStore
from bot.text import strip_invisible


def main(args: argparse.Namespace, settings: Settings) -> int:
    view = asyncio.run(_lookup(settings, parse_arxiv_id(args.query)))
    if args.json:
        from bot.jsonout import paper_json

        document = {**paper_json(view.paper),
                    "signals": {source: dict(signal.counts) for source, signal in view.signals.items()}}
        print(json.dumps(document, ensure_ascii=False, indent=2))
    else:
        print(format_paper(view.paper, view.signals))
    return 0


async def _lookup(settings: Settings, arxiv_id: ArxivId) -> PaperView:
    """The same lookup as the bot's ``/paper``: the store, else arXiv (and kept); a stored paper is shown
    even when arXiv has lost it or does not answer."""
    store = AsyncStore(settings.db_path)
    await store.open()
    try:
        return await find_paper(store, settings, arxiv_id, clock_from_env().now())
    finally:
        await store.close()


def format_paper(paper: Paper, signals: Mapping[str, SourceSignal] | None = None, width: int = 100) -> str:
    """The paper for a terminal: title, authors, categories, dates, engagement, links, abstract (TeX made
    readable, invisible controls removed)."""
    from bot.cli.top import signal_lines
    from bot.render import tidy

    paper = _readable(paper, tidy)
    others = [c for c in paper.categories if c != paper.primary_category]
    categories = ", ".join([paper.primary_category, *others])
    lines = [
        f"{paper.title}  [{paper.id}v{paper.version}]",
        textwrap.fill(", ".join(paper.authors) or "(no authors listed)", width),
        f"categories: {categories}",
    ]
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
        lines.append(f"journal: {paper.journal_ref}")
    if paper.doi:
        lines.append(f"doi: https://doi.org/{paper.doi}")
    if paper.comment:
        lines.append(textwrap.fill(f"comment: {paper.comment}", width))
    lines += [f"engagement {line}" for line in signal_lines(signals or {})]
    lines.append(f"{paper.abs_url} | {paper.pdf_url}")
    lines.append("")
    lines.append(textwrap.fill(paper.abstract, width) if paper.abstract else "(no abstract)")
    return "\n".join(lines)


def _readable(paper: Paper, tidy: Callable[[str], str]) -> Paper:
    def clean(text: str) -> str:
        return tidy(strip_invisible(text))

    return dataclasses.replace(paper, title=clean(paper.title), abstract=clean(paper.abstract),
                               authors=tuple(clean(author) for author in paper.authors),
                               comment=clean(paper.comment) if paper.comment else paper.comment)
