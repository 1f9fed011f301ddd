"""Operating ``hotpapers run``: a bad database or an unreachable gateway is one line naming the setting or
path; the start says what it uses; the loss and return of the Discord connection are logged once each."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.store import Store
from tests.engines import SQLITE_FILE
from tests.fakes.discord import FakeDiscord
from tests.harness import BotProcess, seed_store

HOTPAPERS = str(Path(sys.executable).parent / "hotpapers")


def run_once(tmp_path: Path, fake: FakeDiscord | None, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("HOTPAPERS_", "DISCORD_"))}
    environ.update(fake.env() if fake else {"DISCORD_TOKEN": "x.y.z"}, HOTPAPERS_HOME=str(tmp_path),
                   HOTPAPERS_ARXIV_API="http://127.0.0.1:9/api", HOTPAPERS_ARXIV_FEEDS="http://127.0.0.1:9/rss",
                   **env)
    return subprocess.run([HOTPAPERS, "run"], cwd=tmp_path, env=environ, capture_output=True, text=True,
                          timeout=60)


def _blocked_parent(tmp_path: Path) -> str:
    (tmp_path / "a-file").write_text("not a directory")
    return str(tmp_path / "a-file" / "data" / "hp.db")


def _a_directory(tmp_path: Path) -> str:
    (tmp_path / "dir.db").mkdir()
    return str(tmp_path / "dir.db")


def _not_sqlite(tmp_path: Path) -> str:
    (tmp_path / "notes.db").write_text("these are my notes, not a database\n" * 50)
    return str(tmp_path / "notes.db")


@pytest.mark.parametrize(("make", "problem"), [
    (_blocked_parent, "cannot create the directory"),
    (_a_directory, "is a directory"),
    (_not_sqlite, "is not a Hot Papers SQLite database"),
])
def test_a_bad_database_is_one_line_naming_the_setting_and_path(tmp_path: Path, make, problem) -> None:  # type: ignore[no-untyped-def]
    path = make(tmp_path)
    result = run_once(tmp_path, None, HOTPAPERS_DB=path)  # never reaches for Discord
    assert result.returncode == 2
    assert result.stderr.strip() == f"hotpapers: database {path} (HOTPAPERS_DB): " + result.stderr.split(
        "(HOTPAPERS_DB): ", 1)[1].strip()
    assert len(result.stderr.strip().splitlines()) == 1 and problem in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


async def test_an_unreachable_gateway_with_a_working_rest_api_is_one_line(world: FakeDiscord, tmp_path: Path
                                                                          ) -> None:
    import asyncio

    environ = {k: v for k, v in os.environ.items() if not k.startswith(("HOTPAPERS_", "DISCORD_"))}
    environ.update(world.env(), HOTPAPERS_HOME=str(tmp_path), HOTPAPERS_DB=str(tmp_path / "hp.db"),
                   HOTPAPERS_DISCORD_GATEWAY="ws://127.0.0.1:9/gateway",
                   HOTPAPERS_ARXIV_API="http://127.0.0.1:9/api", HOTPAPERS_ARXIV_FEEDS="http://127.0.0.1:9/rss")
    process = await asyncio.create_subprocess_exec(HOTPAPERS, "run", env=environ, cwd=tmp_path,
                                                   stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    _, err = await asyncio.wait_for(process.communicate(), 60)
    errors = [line for line in err.decode().splitlines() if line.startswith(("hotpapers", "Traceback"))]
    assert process.returncode == 1
    assert errors == ["hotpapers: cannot reach the Discord gateway at ws://127.0.0.1:9/gateway "
                      "(ClientConnectorError); check the network or HOTPAPERS_DISCORD_GATEWAY"]


async def test_start_says_what_it_uses_and_connection_loss_and_return_are_logged_once(
        world: FakeDiscord, tmp_path: Path) -> None:
    db = tmp_path / "hp.db"
    seed_store(db)
    bot = BotProcess(world, db, tmp_path, start_time=datetime(2026, 11, 25, 12, tzinfo=UTC),
                     env={"HOTPAPERS_DIGEST_MIN_AGE_HOUR": "3"})
    try:
        await bot.start()
        log = bot.log()
        assert f"database {db}; settings file {tmp_path / 'hotpapers-test.toml'}; sources: hf, hn, " \
               "bluesky off (no credentials), x off (no credentials)" in log
        assert "HOTPAPERS_DIGEST_MIN_AGE_HOUR is not a setting and is ignored; did you mean " \
               "HOTPAPERS_DIGEST_MIN_AGE_HOURS?" in log
        for outage in (1, 2):
            resumes = world.stats.resumes
            await world.drop_connections(4000)  # twice in a row: the bot retries and resumes
            await world.drop_connections(4000)
            await world.wait_until(lambda: world.stats.resumes > resumes, 15, "the bot to resume")  # noqa: B023
            await bot.wait_log("connected to Discord again", count=outage)
        log = bot.log()
        assert log.count("lost the connection to Discord") == 2
        assert log.count("connected to Discord again") == 2
        assert "Attempting a reconnect" not in log and "Traceback" not in log
    finally:
        bot.close()


def _add_probe_table(db) -> None:  # type: ignore[no-untyped-def]
    db.execute("CREATE TABLE upgrade_probe (id INTEGER PRIMARY KEY)")


class NewerStore(Store):
    """The store as the next version would bring it: one more migration."""

    MIGRATIONS = tuple((domain, (*migrations, _add_probe_table) if domain == "digests" else migrations)
                       for domain, migrations in Store.MIGRATIONS)


@pytest.mark.sqlite_only(SQLITE_FILE)
def test_run_backs_the_database_up_before_an_upgrade_and_the_backup_opens(tmp_path: Path) -> None:
    from bot.cli.backup import open_for_upgrade

    db = tmp_path / "hp.db"
    when = datetime(2026, 11, 30, 3, 0, tzinfo=UTC)
    assert open_for_upgrade(db, when) != []  # a new database: created, nothing to back up
    assert [p.name for p in tmp_path.iterdir() if "before-upgrade" in p.name] == []
    seed_store(db)
    before = Store(db).schema_versions()
    assert open_for_upgrade(db, when) == []  # up to date: nothing to do
    upgrade = f"digests:{before['digests'] + 1}"
    assert open_for_upgrade(db, when, NewerStore) == [upgrade]
    backup = tmp_path / "hp.before-upgrade-20261130-030000.db"
    with sqlite3.connect(backup) as connection:
        versions = dict(connection.execute(
            "SELECT domain, max(version) FROM schema_migrations GROUP BY domain").fetchall())
        papers = connection.execute("SELECT count(*) FROM papers").fetchone()[0]
        probe = connection.execute("SELECT count(*) FROM sqlite_master WHERE name = 'upgrade_probe'").fetchone()[0]
    assert versions == before and probe == 0  # the database as it was before the upgrade
    assert papers == 13  # the seeded mailing and the previous day's paper
    assert open_for_upgrade(db, when, NewerStore) == []
    assert len([p for p in tmp_path.iterdir() if "before-upgrade" in p.name]) == 1
