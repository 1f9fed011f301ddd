"""The one harness for end-to-end tests of the bot against the local Discord.

- :func:`make_paper` builds a :class:`Paper`; :func:`seed_store` fills a temporary store through the store's own
  methods (``record_announcements``, ``record_observations``): by default a mailing of papers in cs.LG / cs.CV
  with Hacker News points plus a previous mailing, or the papers, upvotes and mailing a test gives.
- :func:`bot_settings` builds validated :class:`Settings` pointing at the fake and the store (arXiv unreachable).
- :func:`running_bot` runs the real :class:`HotPapersBot` in-process against the fake (use a ``ManualClock``
  and ``await bot.scheduler.tick_now()`` to make time pass).
- :func:`reply` is the message an interaction ended with; :func:`slash_reply` runs a command and returns it;
  :func:`text_of` is everything a user reads in a message.
- :class:`BotProcess` runs ``hotpapers run [args]`` in its own process (kill -9, restart), pointed at the fake only
  through ``HOTPAPERS_DISCORD_API`` / ``HOTPAPERS_DISCORD_GATEWAY``, with ``HOTPAPERS_DB`` and a
  ``HOTPAPERS_TEST_CLOCK`` file (move time with :meth:`BotProcess.set_time`).

Fixtures (tests/conftest.py makes them available everywhere): ``seeded`` (a :class:`Seed`), ``world`` (a fake
with the standard world, and a fast channel message window).

Two dates: :data:`MAILING` (2026-11-25) for digest tests, and :data:`LOOKUP_MAILING` (2024-11-06, seen at
:data:`LOOKUP_NOW`) for the ``/paper``, ``/top``, subscription and DM tests.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.clock import Clock, FileClock, ManualClock
from bot.config import Settings, load_settings
from bot.models import Announcement, Paper
from bot.sources.observations import Observation
from bot.store import Store
from tests.fakes.discord import FakeDiscord, run_client
from tests.fakes.discord.models import Interaction, Message
from tests.polling import eventually

ROOT = Path(__file__).resolve().parent.parent

MAILING = date(2026, 11, 25)  # a Wednesday: announced Tuesday 2026-11-24 20:00 EST (01:00 UTC on the 25th)
PREVIOUS = date(2026, 11, 24)
OBSERVED = datetime(2026, 11, 25, 6, 0, tzinfo=UTC)
LOOKUP_MAILING = date(2024, 11, 6)  # a Wednesday: announced Tuesday 20:00 EST = 01:00 UTC; 12 h old at 13:00 UTC
LOOKUP_NOW = datetime(2024, 11, 6, 15, 0, tzinfo=UTC)
LOOKUP_OBSERVED = LOOKUP_NOW - timedelta(hours=1)


@dataclass
class Seed:
    db: Path
    mailing: date
    previous: date
    paper_ids: list[str] = field(default_factory=list)
    titles: dict[str, str] = field(default_factory=dict)


def make_paper(
    pid: str,
    title: str,
    *,
    categories: Sequence[str] = ("cs.LG",),
    abstract: str | None = None,
    authors: Sequence[str] = ("Ada Lovelace", "Alan Turing"),
    mailing: date | None = None,
    version: int = 1,
) -> Paper:
    """A paper submitted two days before ``mailing`` (default :data:`MAILING`) at 18:00 UTC; ``Paper.mailing``
    is set only when ``mailing`` is given."""
    published = datetime.combine((mailing or MAILING) - timedelta(days=2), time(18), tzinfo=UTC)
    return Paper(
        id=pid,
        version=version,
        title=title,
        authors=tuple(authors),
        abstract=abstract or f"We present {title.lower()}. It improves on prior work.",
        primary_category=categories[0],
        categories=tuple(categories),
        published=published,
        updated=published,
        mailing=mailing,
    )


def seed_store(
    db: Path,
    papers: int | Sequence[Paper] = 12,
    *,
    special: Sequence[Paper] = (),
    points: Sequence[int] | None = (),
    hf: Mapping[str, int] | None = None,
    mailing: date = MAILING,
    previous: date | None = PREVIOUS,
    observed: datetime = OBSERVED,
) -> Seed:
    """A store with ``papers`` announced (as new) in ``mailing``: that many generated papers on learning, or the
    papers given; then ``special`` ones. Hacker News points for each (``points[i]``, default 1000 - 50·i;
    ``points=None`` for none), Hugging Face upvotes by id from ``hf``, all seen at ``observed``; and, unless
    ``previous`` is None, one paper with 500 points in the ``previous`` mailing."""
    seed = Seed(db, mailing, previous or mailing)
    store = Store(db)
    try:
        if isinstance(papers, int):
            batch = [
                make_paper(
                    f"2611.{10000 + i}",
                    f"Paper number {i + 1} on learning",
                    categories=("cs.LG", "cs.CV") if i % 2 else ("cs.LG",),
                )
                for i in range(papers)
            ]
        else:
            batch = list(papers)
        batch += list(special)
        store.record_announcements(Announcement(p, mailing, "new", p.categories[0]) for p in batch)
        if previous is not None:
            old = make_paper("2611.09999", "Yesterday's paper")
            store.record_announcements([Announcement(old, previous, "new", "cs.LG")])
            store.record_observations(
                [
                    Observation(
                        "hn",
                        "hn-old",
                        (old.id,),
                        {"points": 500},
                        "https://news.ycombinator.com/item?id=9",
                        observed,
                    )
                ]
            )
        observations = []
        if points is not None:
            for i, p in enumerate(batch):
                value = points[i] if i < len(points) else 1000 - 50 * i
                observations.append(
                    Observation(
                        "hn",
                        f"hn-{p.id}",
                        (p.id,),
                        {"points": value, "comments": 3},
                        f"https://news.ycombinator.com/item?id={i + 1}",
                        observed,
                    )
                )
        observations += [
            Observation("hf", f"hf-{pid}", (pid,), {"upvotes": votes}, f"https://huggingface.co/papers/{pid}", observed)
            for pid, votes in (hf or {}).items()
        ]
        store.record_observations(observations)
        seed.paper_ids = [p.id for p in batch]
        seed.titles = {p.id: p.title for p in batch}
    finally:
        store.close()
    return seed


def bot_settings(fake: FakeDiscord, db: Path, **env: str) -> Settings:
    """Settings for a bot on the fake (nothing read from the developer's .env or config file)."""
    values = {
        "HOTPAPERS_DB": str(db),
        "HOTPAPERS_DISCORD_API": fake.api_url,
        "HOTPAPERS_DISCORD_GATEWAY": fake.gateway_url,
        "DISCORD_TOKEN": fake.token,
        "HOTPAPERS_DISCORD_READY_TIMEOUT": "0.1",
        "HOTPAPERS_CONFIG": str(_empty_config(db.parent)),
        "HOTPAPERS_ARXIV_API": "http://127.0.0.1:9/api/query",  # nothing listens: no test reaches arXiv
        "HOTPAPERS_ARXIV_FEEDS": "http://127.0.0.1:9/rss",
        "HOTPAPERS_ARXIV_OAI": "http://127.0.0.1:9/oai",
        "HOTPAPERS_ARXIV_INTERVAL": "0",
        "HOTPAPERS_S2_API": "http://127.0.0.1:9/graph/v1",  # nothing listens: no test reaches Semantic Scholar
    }
    values.update(env)
    return load_settings(values, dotenv=None)


def cli_on(monkeypatch: pytest.MonkeyPatch, db: Path, now: datetime) -> None:
    """Point the ``hotpapers`` command line, run in this process, at ``db`` with no settings file, and at
    ``now`` on the test clock (a file beside ``db``)."""
    monkeypatch.delenv("HOTPAPERS_CONFIG", raising=False)
    monkeypatch.setenv("HOTPAPERS_DB", str(db))
    clock = db.parent / "clock"
    FileClock.write(clock, now)
    monkeypatch.setenv("HOTPAPERS_TEST_CLOCK", str(clock))


def _empty_config(directory: Path) -> Path:
    path = directory / "hotpapers-test.toml"
    if not path.exists():
        path.write_text("# test settings: defaults\n")
    return path


@contextlib.asynccontextmanager
async def running_bot(
    fake: FakeDiscord,
    settings: Settings,
    clock: Clock | None = None,
    *,
    tick_seconds: float = 3600.0,
    extensions: tuple[str, ...] | None = None,
    catch_up: bool = False,
) -> AsyncIterator[Any]:
    """The real bot, in-process, logged in and ready on the fake. The periodic tick is made rare so tests
    decide when time passes (``await bot.scheduler.tick_now()``)."""
    from bot.client import EXTENSIONS, HotPapersBot

    bot = HotPapersBot(
        settings,
        clock=clock or ManualClock(datetime(2026, 11, 25, 12, tzinfo=UTC)),
        tick_seconds=tick_seconds,
        extensions=extensions or EXTENSIONS,
        retry_delays=(0.05, 0.1),
        catch_up=catch_up,  # off: tests decide when ingestion runs
    )
    try:
        async with run_client(fake, bot, guild_ready_timeout=0.05):
            # on_ready schedules a background tick; let it settle so tests start from a quiet bot
            await asyncio.sleep(0)
            await bot.scheduler.tick_now()
            yield bot
    finally:
        await bot.close()  # also when start-up failed (idempotent otherwise)


async def reply(fake: FakeDiscord, interaction: Interaction, within: float = 5.0) -> Message:
    """The message an interaction ended with: its direct answer, or its first follow-up after a defer."""
    response = await fake.wait_for_response(interaction, within)
    if response.type == 5:  # deferred: the answer is the first follow-up
        return (await fake.wait_for_followups(interaction, 1, within))[0]
    assert interaction.original is not None
    return interaction.original


async def slash_reply(
    fake: FakeDiscord,
    command: str,
    options: dict[str, Any] | None = None,
    *,
    user: Any = None,
    channel: Any = None,
    force: bool = False,
    within: float = 5.0,
) -> tuple[str, bool, list[dict[str, Any]]]:
    """Run a slash command and return (text, ephemeral, embeds) of the :func:`reply` the user sees."""
    interaction = await fake.slash(command, options or {}, user=user, channel=channel, force=force)
    message = await reply(fake, interaction, within)
    return message.content, message.ephemeral, message.embeds


def text_of(message: Message) -> str:
    """Everything a user reads in a message: content and embed texts."""
    parts = [message.content]
    for embed in message.embeds:
        parts += [embed.get("title", ""), embed.get("description", "")]
        parts += [f"{f.get('name')}: {f.get('value')}" for f in embed.get("fields", [])]
        parts.append((embed.get("footer") or {}).get("text", ""))
    return "\n".join(p for p in parts if p)


# ---- a bot in its own process ------------------------------------------------------------------------------


class BotProcess:
    """``hotpapers run`` in a subprocess against the fake; restartable; its log lands in ``log_path``."""

    def __init__(
        self,
        fake: FakeDiscord,
        db: Path,
        workdir: Path,
        *,
        start_time: datetime,
        env: dict[str, str] | None = None,
        args: Sequence[str] = (),
    ) -> None:
        self.fake = fake
        self.args = tuple(args)  # after `hotpapers run`, e.g. ("--role", "worker")
        self.db = db
        self.clock_file = workdir / "bot-clock.txt"
        self.log_path = workdir / "bot.log"
        self.workdir = workdir
        FileClock.write(self.clock_file, start_time)
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("HOTPAPERS_", "DISCORD_"))},
            **fake.env(clock_file=self.clock_file),
            "HOTPAPERS_ARXIV_API": "http://127.0.0.1:9/api/query",  # nothing listens: no test reaches arXiv
            "HOTPAPERS_ARXIV_FEEDS": "http://127.0.0.1:9/rss",
            "HOTPAPERS_ARXIV_OAI": "http://127.0.0.1:9/oai",
            "HOTPAPERS_DB": str(db),
            "HOTPAPERS_HOME": str(workdir),
            "HOTPAPERS_CONFIG": str(_empty_config(workdir)),
            "HOTPAPERS_DISCORD_READY_TIMEOUT": "0.2",
            "HOTPAPERS_LOG_LEVEL": os.environ.get("HOTPAPERS_TEST_BOT_LOG_LEVEL", "INFO"),
            "PYTHONUNBUFFERED": "1",
            **(env or {}),
        }
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def set_time(self, when: datetime) -> None:
        FileClock.write(self.clock_file, when)

    async def start(self, *, wait_ready: bool = True, within: float = 15.0) -> None:
        readies = self.fake.stats.readies
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(  # noqa: ASYNC220 - starting it does not block
            [str(Path(sys.executable).parent / "hotpapers"), "run", *self.args],
            cwd=self.workdir,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        self.starts += 1
        if wait_ready:
            await self.fake.wait_until(
                lambda: self.fake.stats.readies > readies or self.exited,
                within,
                "the bot process to connect",
            )
            if self.exited:
                raise RuntimeError(f"the bot exited ({self.proc.returncode}):\n{self.log()}")
            await self.wait_log("ready as", within)

    @property
    def exited(self) -> bool:
        return self.proc is not None and self.proc.poll() is not None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    async def wait_log(self, text: str, within: float = 10.0, *, count: int = 1) -> None:
        """Wait for the bot's log to contain ``text`` (``count`` times). The log is the process's own output,
        so this polls a file: there is nothing to await across processes."""
        def logged() -> bool:
            if self.log().count(text) >= count:
                return True
            if self.exited:
                raise RuntimeError(f"the bot exited before logging {text!r}:\n{self.log()}")
            return False

        try:
            await eventually(logged, within, f"the bot to log {text!r}", interval=0.05)
        except TimeoutError:
            raise TimeoutError(f"the bot did not log {text!r} within {within}s:\n{self.log()[-3000:]}") from None

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    async def terminate(self, within: float = 15.0, *, sig: signal.Signals = signal.SIGTERM) -> int:
        """Stop the bot with ``sig`` (SIGTERM, or SIGINT as Ctrl-C sends) and return its exit code."""
        assert self.proc is not None
        self.proc.send_signal(sig)
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(None, self.proc.wait, within)

    def close(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


# ---- fixtures ----------------------------------------------------------------------------------------------


@pytest.fixture
def seeded(tmp_path: Path) -> Seed:
    """A store with the 2026-11-25 mailing (12 papers with engagement) and one 2026-11-24 paper."""
    return seed_store(tmp_path / "hotpapers.db")


@pytest.fixture
async def world() -> AsyncIterator[FakeDiscord]:
    """The fake Discord with its standard world (``fake.world``) and a fast per-channel message window."""
    async with FakeDiscord(channel_message_period=0.5) as fake:
        fake.build_standard_world()
        yield fake
