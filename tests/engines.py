"""The store's two engines in tests: SQLite files, and PostgreSQL schemas on a real local server.

:func:`postgresql_server` creates one throwaway database per test session (``hp_test_<pid>_<hex>``, dropped at
the end); each test that asks for PostgreSQL gets its own schema in it (a ``search_path`` in the URL), dropped
after the test. Where no server answers at ``HOTPAPERS_TEST_POSTGRESQL`` (default
``postgresql://postgres@127.0.0.1:5432``), those tests skip and say why, except under CI (``CI`` set), where they
fail: CI runs beside a server, and a silent skip would hide a broken engine.

``HOTPAPERS_TEST_DATABASE_URL`` (any URL of that server) runs the WHOLE suite on PostgreSQL: every SQLite path a
test opens a store at is given a schema of its own instead (tests/conftest.py). Tests that start ``hotpapers``
in another process, or read SQLite files directly, are marked ``@pytest.mark.sqlite_only(reason)`` with one of
the reasons below and stay on SQLite; the run's summary lists them.
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import psycopg
import pytest

ENGINES = ("sqlite", "postgresql")
# Why a test stays on SQLite in the whole-suite PostgreSQL mode (@pytest.mark.sqlite_only(...)).
CHILD_PROCESS = "another process (hotpapers, or a Python child) opens the SQLite file this test prepared"
SQLITE_FILE = "reads or writes the SQLite file itself"
DEFAULT_SERVER = "postgresql://postgres@127.0.0.1:5432"


def server_url() -> str:
    """The server tests use: ``HOTPAPERS_TEST_DATABASE_URL`` or ``HOTPAPERS_TEST_POSTGRESQL`` (its database part
    is ignored), else the local default."""
    url = os.environ.get("HOTPAPERS_TEST_DATABASE_URL") or os.environ.get("HOTPAPERS_TEST_POSTGRESQL") \
        or DEFAULT_SERVER
    return re.sub(r"^(postgres(?:ql)?://[^/?]*).*$", r"\1", url)


def unreachable(reason: str) -> None:
    """Skip, or fail under CI, because PostgreSQL is not there."""
    message = f"PostgreSQL not reachable at {server_url()} ({reason}); set HOTPAPERS_TEST_POSTGRESQL"
    if os.environ.get("CI"):
        pytest.fail(f"{message} — CI must run the PostgreSQL tests", pytrace=False)
    pytest.skip(message)


class PostgresServer:
    """One throwaway database on the server for this test session; schemas in it for tests."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.database = f"hp_test_{os.getpid()}_{secrets.token_hex(3)}"
        with psycopg.connect(f"{base}/postgres", autocommit=True, connect_timeout=3) as admin:
            admin.execute(f'CREATE DATABASE "{self.database}"')
        self.url = f"{base}/{self.database}"

    def schema_url(self, schema: str) -> str:
        return f"{self.url}?options={quote(f'-csearch_path={schema}')}"

    def new_schema(self) -> str:
        """A fresh, empty schema; returns the URL of the store in it."""
        schema = f"t_{secrets.token_hex(6)}"
        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute(f"CREATE SCHEMA {schema}")
        return self.schema_url(schema)

    def drop_schema(self, url: str) -> None:
        schema = re.search(r"search_path%3D(\w+)", url)
        if schema:
            try:
                with psycopg.connect(self.url, autocommit=True) as conn:
                    conn.execute("SET lock_timeout = '5s'")  # a store a test left open: the session drop cleans up
                    conn.execute(f"DROP SCHEMA IF EXISTS {schema[1]} CASCADE")
            except psycopg.Error:
                pass

    def close(self) -> None:
        with psycopg.connect(f"{self.base}/postgres", autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')


@pytest.fixture(scope="session")
def postgresql_server() -> Iterator[PostgresServer]:
    """The session's throwaway PostgreSQL database (skips, or fails under CI, when no server answers)."""
    try:
        server = PostgresServer(server_url())
    except psycopg.OperationalError as exc:
        unreachable(str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__)
    try:
        yield server
    finally:
        server.close()


class NewDatabase:
    def __init__(self, engine: str, directory: Path, request: pytest.FixtureRequest) -> None:
        self.engine = engine
        self.directory = directory
        self.request = request
        self.urls: list[str] = []

    def __call__(self, name: str = "store") -> Path | str:
        """A location for a new, empty store: a SQLite file ``<tmp>/<name>.db`` or a PostgreSQL schema URL."""
        if self.engine == "sqlite":
            return self.directory / f"{name}.db"
        server: PostgresServer = self.request.getfixturevalue("postgresql_server")
        url = server.new_schema()
        self.urls.append(url)
        return url

    def drop(self) -> None:
        if self.urls:
            server: PostgresServer = self.request.getfixturevalue("postgresql_server")
            for url in self.urls:
                server.drop_schema(url)


@pytest.fixture(params=ENGINES)
def engine(request: pytest.FixtureRequest) -> str:
    """Runs the test once per engine."""
    return str(request.param)


@pytest.fixture
def db_location(engine: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Path | str]:
    """Where a test's store lives, once per engine: a SQLite file, or a fresh PostgreSQL schema."""
    made = NewDatabase(engine, tmp_path, request)
    try:
        yield made()
    finally:
        made.drop()


@pytest.fixture
def make_location(engine: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[NewDatabase]:
    """Makes several stores' locations on the test's engine (``make_location("name")``)."""
    made = NewDatabase(engine, tmp_path, request)
    try:
        yield made
    finally:
        made.drop()


def point_cli_at(monkeypatch: pytest.MonkeyPatch, location: Path | str) -> None:
    """Point settings (and so the command line run in this process) at the store at ``location``."""
    if isinstance(location, Path):
        monkeypatch.setenv("HOTPAPERS_DB", str(location))
        monkeypatch.delenv("HOTPAPERS_DATABASE_URL", raising=False)
    else:
        monkeypatch.setenv("HOTPAPERS_DATABASE_URL", location)
