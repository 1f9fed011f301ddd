"""Votes on the local Discord: how many votes per second the bot takes without missing Discord's 3 s answer
window.

    .venv/bin/python -m bench votes

Members of one server pick papers in a channel digest's "Vote…" menu at a steady offered rate (each vote
toggles one member's vote, updates the menu's counts on the message, and tells the voter in a follow-up). A
vote is *missed* when its callback did not reach Discord within 3 s (the fake answers 10062 after that).
Latency runs from the fake dispatching INTERACTION_CREATE to the callback reaching it (one process, one event
loop: it includes the gateway and REST hops and the fake's own work).

Environment (optional): ``HOTPAPERS_BENCH_VOTE_RATES`` (default ``100,200,300``) offered votes/s, and
``HOTPAPERS_BENCH_VOTE_SECONDS`` (default 5) per rate.
"""

from __future__ import annotations

import asyncio
import os
import random
import tempfile
import time
from pathlib import Path
from typing import Any

from tests.fakes.discord.models import Interaction
from tests.fakes.discord.server import FakeDiscord
from tests.harness import bot_settings, make_paper, running_bot, seed_store, slash_reply

DEADLINE = 3.0


async def _answered(fake: FakeDiscord, inter: Interaction, sent: float) -> float | None:
    try:
        await fake.wait_for_response(inter, DEADLINE + 2)
    except (TimeoutError, AssertionError, LookupError):
        return None
    took = time.perf_counter() - sent
    return took if took <= DEADLINE else None


async def _offer(fake: FakeDiscord, message: Any, guild: Any, members: list[Any], papers: list[str],
                 rate: float, seconds: float) -> tuple[int, list[float], float]:
    rng = random.Random(rate)
    waiters: list[asyncio.Task[float | None]] = []
    started = time.perf_counter()
    total = int(rate * seconds)
    for i in range(total):
        delay = started + i / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        sent = time.perf_counter()
        inter = await fake.click(message, f"hp:vote:{guild.id}", values=[rng.choice(papers)],
                                 user=rng.choice(members))
        waiters.append(asyncio.create_task(_answered(fake, inter, sent)))
    results = await asyncio.gather(*waiters)
    elapsed = time.perf_counter() - started
    return total, [r for r in results if r is not None], elapsed


async def _run(directory: Path) -> None:
    papers = [make_paper(f"2611.{10000 + i}", f"Paper {i} on votes") for i in range(10)]
    seed = seed_store(directory / "votes.db", papers=papers, points=[100] * 10)
    rates = [float(r) for r in os.environ.get("HOTPAPERS_BENCH_VOTE_RATES", "100,200,300").split(",")]
    seconds = float(os.environ.get("HOTPAPERS_BENCH_VOTE_SECONDS", "5"))
    async with FakeDiscord() as fake:
        w = fake.build_standard_world()
        members = [fake.add_member(w.guild) for _ in range(500)]
        async with running_bot(fake, bot_settings(fake, seed.db)):
            setup = {"channel": w.papers, "time": "09:00", "timezone": "UTC", "categories": "cs.LG", "size": 10}
            await slash_reply(fake, "digest setup", setup, user=w.admin)
            await slash_reply(fake, "digest now", {"channel": w.papers}, user=w.admin)
            (message,) = fake.messages(w.papers)
            await _offer(fake, message, w.guild, members, seed.paper_ids, 50, 1)  # warm up
            for rate in rates:
                total, answered, elapsed = await _offer(fake, message, w.guild, members, seed.paper_ids, rate,
                                                        seconds)
                ordered = sorted(answered)
                p95 = ordered[int(0.95 * (len(ordered) - 1))] * 1000 if ordered else float("nan")
                missed = total - len(answered)
                print(f"offered {rate:5.0f} votes/s for {seconds:g} s: {len(answered)}/{total} answered within 3 s"
                      f" ({len(answered) / elapsed:6.1f}/s), missed {missed}, p95 {p95:7.1f} ms,"
                      f" max {ordered[-1] * 1000 if ordered else float('nan'):7.1f} ms", flush=True)


def main() -> None:
    with tempfile.TemporaryDirectory() as directory:
        asyncio.run(_run(Path(directory)))


if __name__ == "__main__":
    main()
