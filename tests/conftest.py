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
SQLITE_ONLY = pytest.StashKey[list[tuple[str, str]]]()  # the collected tests marked sqlite_only, and why


@pytest.fixture(autouse=True)
def _home_in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Relative paths, ``.env`` and ``config/`` resolve against HOTPAPERS_HOME: a test's own directory, never
    the developer's checkout; and no test, in process or in a child process, can reach Semantic Scholar."""
    monkeypatch.setenv("HOTPAPERS_HOME", str(tmp_path))
    # Semantic Scholar is on by default; a test that wants it points this at its local fake.
    monkeypatch.setenv("HOTPAPERS_S2_API", "http://127.0.0.1:9/graph/v1")  # nothing listens there


def on_postgresql() -> bool:
    """True when ``HOTPAPERS_TEST_DATABASE_URL`` runs the whole suite on PostgreSQL."""
    return bool(os.environ.get("HOTPAPERS_TEST_DATABASE_URL"))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Every ``sqlite_only`` marker says why in one string: a test never stays on SQLite silently."""
    for item in items:
        for marker in item.iter_markers("sqlite_only"):
            if len(marker.args) != 1 or not isinstance(marker.args[0], str) or not marker.args[0].strip():
                raise pytest.UsageError(f"{item.nodeid}: @pytest.mark.sqlite_only needs one reason string")
    config.stash[SQLITE_ONLY] = [(item.nodeid, marker.args[0]) for item in items
                                 if (marker := item.get_closest_marker("sqlite_only"))]


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    """In the whole-suite PostgreSQL mode, say how many tests stayed on SQLite and why."""
    kept = config.stash.get(SQLITE_ONLY, [])
    if not on_postgresql() or not kept:
        return
    terminalreporter.write_sep("-", f"{len(kept)} tests stayed on SQLite (@pytest.mark.sqlite_only)")
    for nodeid, reason in kept:
        terminalreporter.write_line(f"{nodeid}: {reason}")


@pytest.fixture(autouse=True)
def _whole_suite_on_postgresql(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """With ``HOTPAPERS_TEST_DATABASE_URL`` set (README "Running on PostgreSQL"), every store a test opens at a
    SQLite path is opened in a PostgreSQL schema of its own instead (the same schema for the same path within a
    test; the file is created empty so "no database yet" checks pass; the search index stays beside the path).
    Tests marked ``sqlite_only(reason)`` stay on SQLite, and the run's summary counts them. Off by default."""
    if not on_postgresql() or request.node.get_closest_marker("sqlite_only"):
        yield
        return
    from bot.store.base import StoreBase
    from bot.store.postgres import is_database_url

    server = request.getfixturevalue("postgresql_server")
    schemas: dict[str, str] = {}
    open_store = StoreBase.__init__

    def open_on_postgresql(self: StoreBase, path: Path | str, *args: object, **kwargs: object) -> None:
        if not is_database_url(path) and str(path) != ":memory:":
            key = str(Path(path).absolute())
            if key not in schemas:
                schemas[key] = server.new_schema()
                Path(key).parent.mkdir(parents=True, exist_ok=True)
                Path(key).touch()
            path = schemas[key]
            kwargs.setdefault("index_dir", Path(key).with_name(Path(key).name + ".index"))  # where tests look
        open_store(self, path, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(StoreBase, "__init__", open_on_postgresql)
    yield
    for url in schemas.values():
        server.drop_schema(url)


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
