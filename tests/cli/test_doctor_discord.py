"""``hotpapers doctor`` checks Discord through its REST API (token, gateway, command sync, each digest channel's
permissions) and the Bluesky login; the doctor runs as its own process against the local Discord."""

from __future__ import annotations

import asyncio
import os
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.cli import main
from bot.models import ChannelDigest
from bot.store import Store
from tests.engines import CHILD_PROCESS
from tests.fakes.discord import FakeDiscord
from tests.fakes.threaded import ThreadedUpstream, threaded_upstream  # noqa: F401  (fixture)
from tests.harness import bot_settings, running_bot

HOTPAPERS = str(Path(sys.executable).parent / "hotpapers")
NOWHERE = "http://127.0.0.1:9"  # nothing listens: the doctor's upstream checks fail fast, offline


async def doctor(fake: FakeDiscord, tmp_path: Path, **env: str) -> tuple[int, list[str]]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("HOTPAPERS_", "DISCORD_"))}
    environ.update(fake.env(), HOTPAPERS_HOME=str(tmp_path), HOTPAPERS_DB=str(tmp_path / "hp.db"),
                   HOTPAPERS_ARXIV_API=f"{NOWHERE}/api", HOTPAPERS_ARXIV_FEEDS=f"{NOWHERE}/rss",
                   HOTPAPERS_HF_API=f"{NOWHERE}/hf", HOTPAPERS_HN_API=f"{NOWHERE}/hn", **env)
    process = await asyncio.create_subprocess_exec(HOTPAPERS, "doctor", env=environ, cwd=tmp_path,
                                                   stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert b"Traceback" not in err, err.decode()
    assert process.returncode is not None
    return process.returncode, out.decode().splitlines()


def line(lines: list[str], name: str) -> str:
    [found] = [text for text in lines if text.startswith(f"  {name} ")]
    return found


@pytest.mark.sqlite_only(CHILD_PROCESS)
async def test_doctor_checks_the_token_gateway_commands_and_each_digest_channel(
        world: FakeDiscord, tmp_path: Path) -> None:
    w = world.world
    db = tmp_path / "hp.db"
    async with running_bot(world, bot_settings(world, db)):
        pass  # syncs the slash commands and records it in the database
    store = Store(db)
    for channel, thread in ((w.papers, True), (w.staff, False), (w.read_only, False)):
        store.save_channel_digest(ChannelDigest(w.guild.id, channel.id, "09:00", "UTC", ("cs.LG",), 5,
                                                datetime(2026, 11, 20, tzinfo=UTC), thread=thread))
    store.close()

    code, lines = await doctor(world, tmp_path)
    assert code == 1 and lines[0] == "not ready: arXiv API, arXiv feeds"  # the verdict first
    assert " ok " in line(lines, "Discord token") and world.bot.username in line(lines, "Discord token")
    assert " ok " in line(lines, "Discord gateway") and "HELLO" in line(lines, "Discord gateway")
    commands = line(lines, "slash commands")
    assert " ok " in commands and "/paper" in commands and "/digest" in commands
    assert " ok " in line(lines, "digest #papers") and "Create Public Threads" in line(lines, "digest #papers")
    assert "warning" in line(lines, f"digest #{w.staff.id}") and "cannot see it" in line(lines, f"digest #{w.staff.id}")
    read_only = line(lines, "digest #read-only")
    assert "warning" in read_only and "missing Send Messages" in read_only and "View Channel" not in read_only


async def test_doctor_with_a_rejected_token_or_a_silent_gateway_is_not_ready(
        world: FakeDiscord, tmp_path: Path) -> None:
    code, lines = await doctor(world, tmp_path, DISCORD_TOKEN="not-the-token")
    assert code == 1 and "Discord token" in lines[0]
    assert "FAILED" in line(lines, "Discord token") and "rejected DISCORD_TOKEN" in line(lines, "Discord token")
    assert "not-the-token" not in "\n".join(lines)

    code, lines = await doctor(world, tmp_path, HOTPAPERS_DISCORD_GATEWAY="ws://127.0.0.1:9/gateway")
    gateway = line(lines, "Discord gateway")
    assert code == 1 and "FAILED" in gateway and "HOTPAPERS_DISCORD_GATEWAY" in gateway
    assert " ok " in line(lines, "Discord token")


@pytest.mark.parametrize(("status", "body", "expected"), [
    (401, {"error": "AuthenticationRequired"}, "HOTPAPERS_BLUESKY_PASSWORD"),
    (200, {"accessJwt": "jwt", "did": "did:plc:x"}, "logged in as lab.bsky.social"),
])
def test_doctor_logs_in_to_bluesky(threaded_upstream: ThreadedUpstream, tmp_path: Path,  # noqa: F811
                                   capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
                                   status: int, body: object, expected: str) -> None:
    url = threaded_upstream.url
    for name, value in {"HOTPAPERS_DB": str(tmp_path / "hp.db"), "HOTPAPERS_ARXIV_API": f"{url}/api",
                        "HOTPAPERS_ARXIV_FEEDS": f"{url}/rss", "HOTPAPERS_HF_API": f"{url}/hf",
                        "HOTPAPERS_HN_API": f"{url}/hn", "HOTPAPERS_BLUESKY_API": f"{url}/bsky",
                        "HOTPAPERS_BLUESKY_HANDLE": "lab.bsky.social",
                        "HOTPAPERS_BLUESKY_PASSWORD": "app-pass-word"}.items():
        monkeypatch.setenv(name, value)
    for name in ("DISCORD_TOKEN", "HOTPAPERS_X_BEARER"):
        monkeypatch.delenv(name, raising=False)
    threaded_upstream.reply("/bsky/com.atproto.server.createSession", body, status=status, method="POST")
    main(["doctor"])
    bluesky = line(capsys.readouterr().out.splitlines(), "Bluesky")
    assert ("warning" if status != 200 else " ok ") in bluesky and expected in bluesky
    assert "app-pass-word" not in bluesky
    [login] = threaded_upstream.requests_to("/bsky/com.atproto.server.createSession")
    assert b"lab.bsky.social" in login.body
