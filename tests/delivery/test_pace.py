"""The pace: at most its rate in any second, evenly spaced; a global 429 holds everyone and slows it down."""

from __future__ import annotations

import asyncio

from bot.delivery import Pace


async def test_pacer_never_exceeds_its_rate_in_any_one_second_window() -> None:
    pacer = Pace(40)
    loop = asyncio.get_running_loop()
    stamps: list[float] = []

    async def worker() -> None:
        for _ in range(10):
            await pacer.acquire()
            stamps.append(loop.time())

    started = loop.time()
    await asyncio.gather(*(worker() for _ in range(6)))  # 60 requests from 6 concurrent senders
    stamps.sort()
    assert len(stamps) == 60
    for i, stamp in enumerate(stamps):
        in_window = sum(1 for other in stamps[i:] if other - stamp < 1.0)
        assert in_window <= 40
    assert stamps[-1] - started >= 59 / 40 - 0.01  # evenly spaced, not bursty


async def test_a_global_refusal_holds_every_sender_and_slows_the_pace() -> None:
    pace = Pace(40)
    loop = asyncio.get_running_loop()
    for _ in range(10):  # a quarter of a second at 40/s
        await pace.acquire()
    pace.refused(0.2)  # Discord refused the 10 requests of the last second
    started = loop.time()
    await pace.acquire()
    assert loop.time() - started >= 0.2 - 0.005  # nobody sends while Discord says wait
    assert pace.rate == 9  # a tenth below what was refused (it climbs back by 1/s every 5 s)
