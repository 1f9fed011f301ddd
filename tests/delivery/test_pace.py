"""The pace: at most its rate in any second, evenly spaced; a global 429 holds everyone and slows it down.

The pace runs on a stepped clock: time moves only when the pace waits, so nothing here waits for real."""

from __future__ import annotations

import asyncio

from bot.delivery import Pace
from tests.clocks import SteppedClock
from tests.polling import eventually


def stepped_pace(rate: float) -> tuple[Pace, SteppedClock]:
    clock = SteppedClock()
    return Pace(rate, monotonic=clock.monotonic, sleep=clock.sleep), clock


async def test_pacer_never_exceeds_its_rate_in_any_one_second_window() -> None:
    pacer, clock = stepped_pace(40)
    stamps: list[float] = []

    async def worker() -> None:
        for _ in range(10):
            async with pacer.slot():
                stamps.append(clock.now)

    started = clock.now
    await asyncio.gather(*(worker() for _ in range(6)))  # 60 requests from 6 concurrent senders
    stamps.sort()
    assert len(stamps) == 60
    for i, stamp in enumerate(stamps):
        in_window = sum(1 for other in stamps[i:] if other - stamp < 1.0)
        assert in_window <= 40
    assert stamps[-1] - started >= 59 / 40 - 1e-9  # evenly spaced, not bursty


async def test_a_global_refusal_holds_every_sender_and_slows_the_pace() -> None:
    pace, clock = stepped_pace(40)
    for _ in range(10):  # a quarter of a second at 40/s
        async with pace.slot():
            pass
    pace.refused(0.2)  # Discord refused the 10 requests of the last second
    refused_at = clock.now
    async with pace.slot():
        assert clock.now - refused_at >= 0.2  # nobody sends while Discord says wait
        assert pace.rate == 9  # a tenth below what was refused
    # It climbs back by 1/s every 5 s.
    clock.now += 5.0
    async with pace.slot():
        assert pace.rate == 10


async def test_a_refusal_when_it_sent_next_to_nothing_keeps_a_tenth_of_the_rate() -> None:
    pace, clock = stepped_pace(48)
    async with pace.slot():
        pass
    pace.refused(0.05)  # the token's budget was spent elsewhere: one request of ours in the last second
    started = clock.now
    for _ in range(10):
        async with pace.slot():
            pass
    assert pace.rate == 4.8
    assert clock.now - started < 3.0  # ten requests in about two seconds at 4.8/s, not ten at 1/s


async def test_a_request_still_on_its_way_keeps_its_place_in_the_window() -> None:
    """However late a request reaches Discord, it reached it before its answer came back: so it counts in the
    window until a second after its answer, and a slow answer delays the next requests, never bunches them."""
    pace, clock = stepped_pace(3)
    slow = [pace.slot() for _ in range(3)]
    for held in slow:
        await held.__aenter__()  # three requests sent, no answer yet
    sent = clock.now
    waiting = asyncio.create_task(pace.acquire())
    # The waiting sender polls the window, and the clock moves only as it waits.
    await eventually(lambda: clock.now >= sent + 1.2, 5, "1.2 s to pass on the pace's clock", interval=0)
    assert not waiting.done()  # a second has passed, but the three may still be arriving at Discord
    answered = clock.now
    await slow[0].__aexit__(None, None, None)
    await waiting
    assert clock.now - answered >= 1.0  # a second after the first answer
