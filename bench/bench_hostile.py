"""Hostile upstreams, measured on the real command line: ``python -m bench hostile``.

1. Peak memory (RSS) of ``hotpapers ingest`` against a 500 MB feed (target ≤ 300 MB): sent with a
   Content-Length, chunked without one, and as a gzip bomb (500 MB that inflates from about 0.5 MB); and,
   for scale, against the largest feed that is accepted (just under the 32 MB cap, parsed and stored).
2. The longest a person waits on a throttled or silent arXiv (target: the command has ended within 30 s,
   start-up included; ``PERSON_DEADLINE`` bounds the time on arXiv): ``hotpapers ingest`` and
   ``hotpapers paper`` at the production pace (3 s) against
   429 with short and long Retry-After, 503 without one, 200 "Rate exceeded." and a server that never answers.

Each command runs in its own process (its peak RSS comes from ``wait4``); the upstream is a local server on
a thread of this process.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile
import threading
import time
import zlib
from collections.abc import Iterator
from pathlib import Path

from aiohttp import web

from bot.sources.http import PERSON_DEADLINE
from tests.fixtures.arxiv.feeds import big_feed

ROOT = Path(__file__).resolve().parents[1]
HUGE = 500 * 2**20
CHUNK = 2**20
RSS_TARGET_MB = 300
WAIT_TARGET = 30.0


def _rss_head() -> bytes:
    return b'<?xml version="1.0"?><rss version="2.0"><channel><title>cs.LG</title>'


def _huge_chunks() -> Iterator[bytes]:
    head = _rss_head()
    yield head
    filler = b" " * CHUNK
    sent = len(head)
    while sent < HUGE:
        piece = filler[: min(CHUNK, HUGE - sent)]
        sent += len(piece)
        yield piece


def _gzip_bomb() -> bytes:
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)  # 31: a gzip wrapper
    return b"".join([*(packer.compress(chunk) for chunk in _huge_chunks()), packer.flush()])


class Upstream:
    """A local arXiv stand-in on its own thread: ``/{scenario}/…`` answers as the scenario says."""

    def __init__(self) -> None:
        self.bomb = _gzip_bomb()
        self.near_cap = big_feed(17_000)  # about 30 MB: the biggest body the default cap accepts
        self.url = ""
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._runner: web.AppRunner | None = None
        threading.Thread(target=self._serve, daemon=True).start()
        self._ready.wait()

    def _serve(self) -> None:
        asyncio.set_event_loop(self._loop)
        app = web.Application()
        app.router.add_route("*", "/{scenario}/{tail:.*}", self._answer)
        self._runner = web.AppRunner(app, access_log=None)
        self._loop.run_until_complete(self._runner.setup())
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        self._loop.run_until_complete(site.start())
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"
        self._ready.set()
        self._loop.run_forever()

    async def _answer(self, request: web.Request) -> web.StreamResponse:
        scenario = request.match_info["scenario"]
        if scenario in ("huge-length", "huge-chunked"):
            response = web.StreamResponse(headers={"Content-Type": "application/rss+xml"})
            if scenario == "huge-length":
                response.content_length = HUGE
            else:
                response.enable_chunked_encoding()
            await response.prepare(request)
            try:
                for chunk in _huge_chunks():
                    await response.write(chunk)
            except (ConnectionError, RuntimeError):
                pass  # the client hung up, as it should
            return response
        if scenario == "bomb":
            return web.Response(body=self.bomb, headers={"Content-Encoding": "gzip",
                                                         "Content-Type": "application/rss+xml"})
        if scenario == "near-cap":
            return web.Response(body=self.near_cap, content_type="application/rss+xml")
        if scenario == "429-short":
            return web.Response(status=429, text="slow down", headers={"Retry-After": "10"})
        if scenario == "429-long":
            return web.Response(status=429, text="slow down", headers={"Retry-After": "3600"})
        if scenario == "503":
            return web.Response(status=503, text="down")
        if scenario == "rate-exceeded":
            return web.Response(text="Rate exceeded.")
        if scenario == "silent":
            await asyncio.sleep(3600)
        return web.Response(status=404)


# The command's own peak (VmHWM of its memory after exec), printed as it exits: ru_maxrss from wait4 would
# also count this process's pages, which the child shares until it execs.
_COMMAND = """import atexit, re, sys
def peak():
    status = open("/proc/self/status").read()
    print("PEAK_KB", re.search(r"VmHWM:\\s*(\\d+)", status).group(1), file=sys.stderr)
atexit.register(peak)
from bot.cli import main
sys.exit(main(sys.argv[1:]))
"""


def _run(args: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float, int, str]:
    """Seconds, peak RSS in MB, exit status and the last stderr line of ``hotpapers ARGS``."""
    started = time.perf_counter()
    with tempfile.TemporaryFile() as err:
        code = subprocess.call([sys.executable, "-c", _COMMAND, *args], cwd=cwd, env=env,
                               stdout=subprocess.DEVNULL, stderr=err)
        elapsed = time.perf_counter() - started
        err.seek(0)
        lines = err.read().decode(errors="replace").strip().splitlines()
    peaks = [int(line.split()[1]) for line in lines if line.startswith("PEAK_KB ")]
    said = [line for line in lines if not line.startswith("PEAK_KB ")]
    return elapsed, (peaks[-1] / 1024 if peaks else float("nan")), code, said[-1] if said else ""


def main() -> None:
    upstream = Upstream()
    with tempfile.TemporaryDirectory() as directory:
        cwd = Path(directory)
        base = {k: v for k, v in os.environ.items() if not k.startswith("HOTPAPERS_")}
        base.update({"PYTHONPATH": str(ROOT), "HOTPAPERS_DB": str(cwd / "bench.db"),
                     "HOTPAPERS_CONFIG": str(cwd / "empty.toml")})
        (cwd / "empty.toml").write_text("")

        print(f"1. peak RSS of `hotpapers ingest` (target ≤ {RSS_TARGET_MB} MB)")
        idle = _run(["--help"], base, cwd)
        print(f"   {'the interpreter and the bot, doing nothing (--help)':<58} {idle[1]:6.0f} MB")
        worst = 0.0
        for scenario, what in [("huge-length", "500 MB feed with a Content-Length"),
                               ("huge-chunked", "500 MB feed, chunked (no length)"),
                               ("bomb", f"500 MB gzip bomb ({len(upstream.bomb) / 2**20:.1f} MB sent)"),
                               ("near-cap", f"a {len(upstream.near_cap) / 2**20:.0f} MB feed (accepted)")]:
            env = {**base, "HOTPAPERS_ARXIV_FEEDS": f"{upstream.url}/{scenario}", "HOTPAPERS_ARXIV_INTERVAL": "0"}
            seconds, rss, code, line = _run(["ingest", "--categories", "cs.LG"], env, cwd)
            worst = max(worst, rss)
            print(f"   {what:<58} {rss:6.0f} MB  {seconds:5.1f} s  exit {code}  {line[:110]}")
        print(f"   worst: {worst:.0f} MB ({'PASS' if worst <= RSS_TARGET_MB else 'FAIL'})")

        print(f"\n2. the longest a person waits on arXiv (production pace 3 s; {PERSON_DEADLINE:g} s on arXiv "
              f"at most; target: ended within {WAIT_TARGET:g} s)")
        longest = 0.0
        for scenario in ("429-short", "429-long", "503", "rate-exceeded", "silent"):
            for command in (["ingest", "--categories", "cs.LG"], ["paper", "2501.00001"]):
                env = {**base, "HOTPAPERS_ARXIV_FEEDS": f"{upstream.url}/{scenario}",
                       "HOTPAPERS_ARXIV_API": f"{upstream.url}/{scenario}/api/query",
                       "HOTPAPERS_ARXIV_INTERVAL": "3"}
                seconds, _, code, line = _run(command, env, cwd)
                longest = max(longest, seconds)
                print(f"   {scenario:<14} {command[0]:<7} {seconds:5.1f} s  exit {code}  {line[:120]}")
        print(f"   longest: {longest:.1f} s ({'PASS' if longest <= WAIT_TARGET else 'FAIL'})")
