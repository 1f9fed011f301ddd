"""Roles: the ``[cluster]`` settings and ``hotpapers run`` flags, what each role's process is made of, the one
list of jobs tagged by role, and a gateway in-process (commands answered, no job, claims respected)."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from bot.client import HotPapersBot, ShardedHotPapersBot, make_bot
from bot.config import SettingsError, load_settings
from bot.scheduler import jobs
from bot.store import Store
from tests.fakes.discord import FakeDiscord
from tests.harness import Seed, bot_settings, running_bot, slash_reply

HOTPAPERS = str(Path(sys.executable).parent / "hotpapers")


def _settings(**env: str):  # type: ignore[no-untyped-def]
    return load_settings({"HOTPAPERS_HOME": os.environ["HOTPAPERS_HOME"], **env}, dotenv=None)


def test_a_single_bot_by_default_and_a_gateway_on_a_range_of_shards() -> None:
    assert _settings().cluster.role == "all"
    cluster = _settings(HOTPAPERS_CLUSTER_ROLE="Gateway", HOTPAPERS_CLUSTER_SHARDS="0-2,5",
                        HOTPAPERS_CLUSTER_SHARD_COUNT="8").cluster
    assert (cluster.role, cluster.shards, cluster.shard_count) == ("gateway", (0, 1, 2, 5), 8)


@pytest.mark.parametrize(("env", "problem"), [
    ({"HOTPAPERS_CLUSTER_ROLE": "leader"}, "HOTPAPERS_CLUSTER_ROLE: 'leader' is not one of all, gateway, worker"),
    ({"HOTPAPERS_CLUSTER_SHARDS": "0-8", "HOTPAPERS_CLUSTER_SHARD_COUNT": "8"},
     "[cluster] shards: shard 8 is not below shard_count 8"),
    ({"HOTPAPERS_CLUSTER_SHARDS": "3-1"}, "HOTPAPERS_CLUSTER_SHARDS: '3-1' is not a shard id or a range"),
    ({"HOTPAPERS_CLUSTER_ROLE": "worker", "HOTPAPERS_CLUSTER_SHARDS": "0", "HOTPAPERS_CLUSTER_SHARD_COUNT": "2"},
     "a worker has no gateway connection"),
    ({"HOTPAPERS_CLUSTER_RENEW_SECONDS": "30"}, "renew_seconds: 30 must be at most half of lease_seconds (45)"),
])
def test_cluster_settings_that_do_not_fit_are_one_line_naming_the_setting(env: dict[str, str], problem: str) -> None:
    with pytest.raises(SettingsError) as caught:
        _settings(**env)
    assert problem in str(caught.value) and "\n" not in str(caught.value)


def test_a_bad_flag_of_hotpapers_run_is_one_line_before_anything_starts(tmp_path: Path) -> None:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("HOTPAPERS_", "DISCORD_"))}
    environ.update(DISCORD_TOKEN="x.y.z", HOTPAPERS_HOME=str(tmp_path))
    result = subprocess.run([HOTPAPERS, "run", "--role", "gateway", "--shards", "0-3", "--shard-count", "2"],
                            cwd=tmp_path, env=environ, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "hotpapers: setting --shards/--shard-count/--role and [cluster] shards: shard 2 is not below shard_count 2"
        " (shards count from 0)"]
    assert not (tmp_path / "data").exists()  # no database was opened


def test_every_job_runs_in_a_single_bot_and_in_the_leading_worker_and_none_in_a_gateway() -> None:
    found = jobs(_settings(), 30.0)
    assert {job.id for job in found} == {"tick", "ingest-00:30", "ingest-02:00", "signals", "harvest"}
    assert all(job.roles == {"all", "worker"} for job in found)


def test_each_role_gets_its_own_kind_of_bot() -> None:
    single = make_bot(_settings())
    assert type(single) is HotPapersBot and single.runs("commands") and single.runs("jobs")
    assert single.syncs_commands and not single.runs("claims") and not single.runs("leadership")
    worker = make_bot(_settings(HOTPAPERS_CLUSTER_ROLE="worker", HOTPAPERS_CLUSTER_SHARD_COUNT="2"))
    assert type(worker) is HotPapersBot and not worker.runs("commands") and worker.runs("leadership")
    first = make_bot(_settings(HOTPAPERS_CLUSTER_ROLE="gateway", HOTPAPERS_CLUSTER_SHARDS="0-1",
                               HOTPAPERS_CLUSTER_SHARD_COUNT="4"))
    second = make_bot(_settings(HOTPAPERS_CLUSTER_ROLE="gateway", HOTPAPERS_CLUSTER_SHARDS="2-3",
                                HOTPAPERS_CLUSTER_SHARD_COUNT="4"))
    assert isinstance(first, ShardedHotPapersBot) and (first.my_shards, first.shard_count) == ((0, 1), 4)
    assert first.syncs_commands and not second.syncs_commands  # one sync: the gateway holding shard 0
    assert not first.runs("jobs") and first.runs("claims")
    guild_on_shard_2 = (1 << 22) * 6  # (id >> 22) % 4 == 2
    assert second.owns_guild(guild_on_shard_2) and not first.owns_guild(guild_on_shard_2)


async def test_a_gateway_answers_commands_runs_no_job_and_its_digest_now_waits_for_a_workers_claim(
        world: FakeDiscord, seeded: Seed) -> None:
    w = world.world
    settings = bot_settings(world, seeded.db, HOTPAPERS_CLUSTER_ROLE="gateway")
    async with running_bot(world, settings) as bot:
        assert bot.scheduler._scheduler is not None and bot.scheduler._scheduler.get_jobs() == []
        assert await bot.scheduler.tick_now() is None  # a gateway never ticks
        await slash_reply(world, "digest setup", {"channel": w.news, "time": "08:00", "timezone": "UTC",
                                                  "categories": "cs.CV", "size": 3}, user=w.admin)
        key = ("channel", w.news.id, "2026-11-25")
        now = bot.clock.now()
        assert await bot.store.run(Store.claim_delivery, *key, "a-worker", now, now + timedelta(seconds=45))
        text, ephemeral, _ = await slash_reply(world, "digest now", {"channel": w.news}, user=w.admin)
        assert ephemeral and "being posted" in text and "right now" in text
        assert world.messages(w.news) == []  # the worker holding the claim sends it, not the gateway
        await bot.store.run(Store.release_claim, *key, "a-worker")
        text, _, _ = await slash_reply(world, "digest now", {"channel": w.news}, user=w.admin)
        assert "Posted the 2026-11-25 mailing" in text and len(world.messages(w.news)) == 1
