"""Runs the fake Discord on its own: ``python -m tests.fakes.discord --port 0 --state-file state.json``.

It builds the standard world and writes a JSON state file (URLs, token, ids) once listening, then serves until
interrupted. Driving it (slash commands, faults) needs the in-process API; this mode is for poking at a bot by
hand or from a script that only needs the URLs.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
from pathlib import Path

from .server import FakeDiscord


async def _main(args: argparse.Namespace) -> None:
    fake = FakeDiscord(token=args.token)
    await fake.start(port=args.port)
    world = fake.build_standard_world()
    state = {
        **fake.env(),
        "api_url": fake.api_url,
        "gateway_url": fake.gateway_url,
        "token": fake.token,
        "application_id": str(fake.application_id),
        "guild_id": str(world.guild.id),
        "channels": {c.name: str(c.id) for c in world.guild.channels.values()},
    }
    text = json.dumps(state, indent=2)
    if args.state_file:
        Path(args.state_file).write_text(text)  # noqa: ASYNC240 - once, at start-up
    print(text, flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await fake.close()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.fakes.discord", description=__doc__)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--token", default="fake-bot-token")
    parser.add_argument("--state-file")
    asyncio.run(_main(parser.parse_args()))


if __name__ == "__main__":
    main()
