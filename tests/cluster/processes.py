"""A cluster of ``hotpapers run`` processes on one database, one test clock and the local Discord: gateways
and workers started with the real command line (``--role``, ``--shards``, ``--shard-count``), for the process
tests and the cluster benchmark."""

from __future__ import annotations

import signal
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.clock import FileClock
from bot.store import Store
from bot.store.digests import ChannelDigest
from tests.fakes.discord import Channel, FakeDiscord, Guild
from tests.harness import BotProcess

SLOT = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)  # every digest's time: 09:00 UTC, the day after the mailing
# The processes start shortly before the slot: a test moves the clock by less than a lease except to let one run
# out (a jump past the lease ends every worker's lease at once, whoever was renewing).
BEFORE = SLOT - timedelta(seconds=10)
SET_UP = datetime(2026, 11, 20, tzinfo=UTC)
LEADING = "leading the workers"
WAITING = "waiting for the lead"


class Cluster:
    """Processes sharing ``db`` and one clock file (move it with :meth:`set_time`)."""

    def __init__(self, fake: FakeDiscord, db: Path | str, workdir: Path, *, start_time: datetime = BEFORE,
                 env: dict[str, str] | None = None) -> None:
        self.fake = fake
        self.db = db
        self.workdir = workdir
        self.clock_file = workdir / "cluster-clock.txt"
        self.now = start_time
        FileClock.write(self.clock_file, start_time)
        self.env = {
            "HOTPAPERS_TEST_CLOCK": str(self.clock_file),
            "HOTPAPERS_CLUSTER_RENEW_SECONDS": "0.2",  # a waiting worker looks often; the lease runs on the clock
            **({"HOTPAPERS_DATABASE_URL": db} if isinstance(db, str) else {}),  # PostgreSQL
            **(env or {}),
        }
        self.processes: dict[str, BotProcess] = {}
        Store(db).close()  # migrated once, before the processes start (as an upgrade would be)

    def process(self, name: str, args: Sequence[str]) -> BotProcess:
        """``hotpapers run ARGS`` as process ``name`` (its log in ``workdir/name/bot.log``), not started."""
        home = self.workdir / name
        home.mkdir(parents=True, exist_ok=True)
        sqlite = self.db if isinstance(self.db, Path) else home / "unused.db"
        proc = BotProcess(self.fake, sqlite, home, start_time=self.now, env=self.env, args=args)
        self.processes[name] = proc
        return proc

    async def gateway(self, name: str, *args: str) -> BotProcess:
        """A gateway (``--role gateway`` and ``args``), started and ready."""
        proc = self.process(name, ("--role", "gateway", *args))
        await proc.start(within=30)
        return proc

    async def worker(self, name: str, *, leads: bool) -> BotProcess:
        """A worker, started; waits until it leads (``leads``) or waits for the lead."""
        proc = self.process(name, ("--role", "worker"))
        await proc.start(wait_ready=False)
        await proc.wait_log(LEADING if leads else WAITING, within=30)
        return proc

    def set_time(self, when: datetime) -> None:
        self.now = when
        FileClock.write(self.clock_file, when)

    def kill_when(self, proc: BotProcess, condition: Callable[[], bool]) -> Callable[[], bool]:
        """A predicate for ``fake.wait_until``: SIGKILLs ``proc`` the moment ``condition`` holds, inside the fake
        (Discord has just stored a message the process will never hear about: the worst moment)."""
        def check() -> bool:
            if not condition():
                return False
            assert proc.proc is not None
            proc.proc.send_signal(signal.SIGKILL)
            return True
        return check

    def close(self) -> None:
        for proc in self.processes.values():
            proc.close()


def digest_channels(fake: FakeDiscord, db: Path | str, guilds: Sequence[Guild], count: int) -> list[Channel]:
    """``count`` channels spread over ``guilds``, each with a 09:00 UTC digest of cs.LG (3 papers)."""
    channels = [fake.add_channel(guilds[i % len(guilds)], f"papers-{i}") for i in range(count)]
    store = Store(db)
    try:
        for channel in channels:
            assert channel.guild_id is not None
            store.save_channel_digest(ChannelDigest(channel.guild_id, channel.id, "09:00", "UTC", ("cs.LG",), 3,
                                                    SET_UP))
    finally:
        store.close()
    return channels


def received(fake: FakeDiscord, channels: Sequence[Channel]) -> list[int]:
    """How many messages each channel holds."""
    return [len(fake.messages(channel)) for channel in channels]


def assert_each_digest_once(fake: FakeDiscord, channels: Sequence[Channel]) -> int:
    """Every channel holds the same digest exactly once (each planned message once, none twice); returns how
    many messages a digest is."""
    per_channel = [[m.nonce for m in fake.messages(channel)] for channel in channels]
    assert all(len(set(nonces)) == len(nonces) for nonces in per_channel), "a message was sent twice"
    counts = {len(nonces) for nonces in per_channel}
    assert len(counts) == 1 and min(counts) > 0, f"channels hold different numbers of messages: {sorted(counts)}"
    return counts.pop()
