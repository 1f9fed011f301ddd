"""Shared pytest fixtures: recorded payloads, the upstream fake, the fake Discord (``fake_discord``: the
standard world; ``fake_discord_empty``; ``fake_discord_env``) and the harness's ``seeded`` / ``world``."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.engines import db_location, engine, make_location, postgresql_server  # noqa: F401
from tests.fakes.discord.fixtures import fake_discord, fake_discord_empty, fake_discord_env  # noqa: F401
from tests.harness import seeded, world  # noqa: F401

ROOT = Path(__file__).resolve().parent.parent
# Real payloads recorded from the services; CI has them beside the checkout. Never copied into the project.
SHARED_FIXTURES = Path(os.environ.get("HOTPAPERS_SHARED_FIXTURES", ROOT.parent / "shared" / "fixtures"))
OWN_FIXTURES = Path(__file__).resolve().parent / "fixtures"


@pytest.fixture(autouse=True)
def _home_in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Relative paths, ``.env`` and ``config/`` resolve against HOTPAPERS_HOME: a test's own directory, never
    the developer's checkout."""
    monkeypatch.setenv("HOTPAPERS_HOME", str(tmp_path))


@pytest.fixture
def shared_fixtures() -> Path:
    """The directory of recorded upstream payloads; skips the test when it is absent."""
    if not SHARED_FIXTURES.is_dir():
        pytest.skip(f"recorded payloads not found at {SHARED_FIXTURES} (set HOTPAPERS_SHARED_FIXTURES)")
    return SHARED_FIXTURES


@pytest.fixture
async def upstream():  # type: ignore[no-untyped-def]
    """A local server replaying scripted upstream responses (see tests/fakes/upstream.py)."""
    from tests.fakes.upstream import UpstreamServer

    async with UpstreamServer() as server:
        yield server
