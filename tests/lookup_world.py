"""What the lookup and subscription tests share: a seeded store, settings pointing at the fakes, and the real
bot running in-process against the fake Discord (restartable on the same database)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Sequence
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from bot.clock import ManualClock
from bot.config import DiscordSettings, Settings
from bot.models import Announcement, Paper
from bot.sources.observations import Observation
from bot.store import Store
from tests.fakes.discord.client import run_client
from tests.fakes.discord.models import Interaction, Message
from tests.fakes.discord.server import FakeDiscord

MAILING = date(2024, 11, 6)  # a Wednesday: announced Tuesday 20:00 EST = 01:00 UTC; 12 h old at 13:00 UTC
NOW = datetime(2024, 11, 6, 15, 0, tzinfo=UTC)


def make_paper(pid: str, title: str, *, categories: Sequence[str] = ("cs.LG",), authors: Sequence[str] = (
        "Ada Lovelace", "Alan Turing"), abstract: str = "We study things.", mailing: date | None = MAILING,
        version: int = 1) -> Paper:
    published = datetime(2024, 11, 4, 18, 0, tzinfo=UTC)
    return Paper(pid, version, title, tuple(authors), abstract, categories[0], tuple(categories),
                 published=published, updated=published, mailing=mailing)


def seed(db_path: Path, papers: Sequence[Paper], *, hf: dict[str, int] | None = None,
         mailing: date = MAILING, observed: datetime = NOW - timedelta(hours=1)) -> None:
    """Announce ``papers`` in ``mailing`` (as new; as cross for papers whose primary is not first asked)
    and give some of them Hugging Face upvotes."""
    store = Store(db_path)
    try:
        store.record_announcements(
            Announcement(paper, mailing, "new", paper.primary_category) for paper in papers)
        store.upsert_papers(papers)  # full metadata (dates) as the API gives it
        store.record_observations(
            Observation("hf", f"hf-{pid}", (pid,), {"upvotes": votes}, f"https://huggingface.co/papers/{pid}",
                        observed)
            for pid, votes in (hf or {}).items())
    finally:
        store.close()


def settings_for(fake: FakeDiscord, db_path: Path, **changes: Any) -> Settings:
    base = Settings(db_path=db_path, discord_api=fake.api_url, discord_gateway=fake.gateway_url,
                    arxiv_interval=0.0, arxiv_api="http://127.0.0.1:9/api/query",
                    discord=DiscordSettings(ready_timeout=0.1, requests_per_second=45.0))
    return replace(base, **changes)


@contextlib.asynccontextmanager
async def running_bot(fake: FakeDiscord, settings: Settings, clock: ManualClock | None = None
                      ) -> AsyncIterator[Any]:
    """The real HotPapersBot, logged in to the fake and ready (its scheduler ticks only when told)."""
    from bot.client import HotPapersBot

    bot = HotPapersBot(settings, clock=clock or ManualClock(NOW), tick_seconds=3600.0, retry_delays=(0.05,))
    async with run_client(fake, bot):
        yield bot


async def reply(fake: FakeDiscord, interaction: Interaction, wait: float = 5.0) -> Message:
    """The message an interaction ended with: its direct answer, or its first follow-up after a defer."""
    response = await fake.wait_for_response(interaction, wait)
    if response.type == 5:
        return (await fake.wait_for_followups(interaction, 1, wait))[0]
    assert interaction.original is not None
    return interaction.original


def text_of(message: Message) -> str:
    """Everything a user reads in a message: content and embed texts."""
    parts = [message.content]
    for embed in message.embeds:
        parts += [embed.get("title", ""), embed.get("description", "")]
        parts += [f"{f.get('name')}: {f.get('value')}" for f in embed.get("fields", [])]
        parts.append((embed.get("footer") or {}).get("text", ""))
    return "\n".join(p for p in parts if p)
