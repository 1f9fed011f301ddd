"""The store on PostgreSQL: delivery planning at a large scale, database size, and the delivery rounds of
bench_delivery on PostgreSQL beside SQLite (same generator, same bot process; the engine is a parameter).

1. ``planning``: 1,000,000 DM subscribers and 100,000 channel digests on PostgreSQL, 1,000 due: a tick with
   nothing due, and planning the 1,000 due deliveries (BENCH_PG_SUBSCRIBERS, BENCH_PG_DIGESTS).
2. ``size``: PostgreSQL's size per million subscribers (their rows, follows and indexes), from that store.
3. ``channels`` / ``dms-stored`` / ``dms-first``: bench_delivery's 1,000-channel and 10,000-DM rounds on
   SQLite, then on PostgreSQL (target: within 10 %). ``dms-first`` takes ~15 minutes for both: not by default.

Each PostgreSQL part gets a database of its own (``hp_bench_<pid>_<part>``), dropped afterwards. Without a server
at BENCH_POSTGRESQL (default ``postgresql://postgres@127.0.0.1:5432``) it says so and measures nothing.

    .venv/bin/python -m bench pgstore      (BENCH_PARTS=planning,size,channels,dms-stored,dms-first)
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Iterator

import psycopg

from bench import bench_delivery

SERVER = os.environ.get("BENCH_POSTGRESQL", "postgresql://postgres@127.0.0.1:5432").rstrip("/")


@contextlib.contextmanager
def fresh_database(part: str, server: str = SERVER) -> Iterator[str]:
    """A new, empty PostgreSQL database on ``server`` for one part; dropped afterwards."""
    name = f"hp_bench_{os.getpid()}_{part.replace('-', '_')}"
    with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{server}/{name}"
    finally:
        with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def reachable() -> bool:
    try:
        psycopg.connect(f"{SERVER}/postgres", connect_timeout=3).close()
    except psycopg.OperationalError as exc:
        print(f"skipped: no PostgreSQL at {SERVER} ({str(exc).strip().splitlines()[0]}); set BENCH_POSTGRESQL")
        return False
    return True


def size_report(url: str, subscribers: int, digests: int) -> None:
    with psycopg.connect(url) as conn:
        def total(table: str) -> int:
            return int(conn.execute("SELECT pg_total_relation_size(%s)", [table]).fetchone()[0])  # type: ignore[index]

        users = total("sub_users") + total("sub_follows")
        channels = total("channel_digests")
        database = int(conn.execute("SELECT pg_database_size(current_database())").fetchone()[0])  # type: ignore[index]
        follows = int(conn.execute("SELECT count(*) FROM sub_follows").fetchone()[0])  # type: ignore[index]
    print(f"size (PostgreSQL): {subscribers:,} subscribers with {follows:,} follows take {users / 2**20:.0f} MiB "
          f"(rows and indexes): {users / 2**20 * 1_000_000 / subscribers:.0f} MiB per million subscribers")
    print(f"  {digests:,} channel digests {channels / 2**20:.1f} MiB; whole database {database / 2**20:.0f} MiB "
          "(with one seeded mailing)")


def main() -> None:
    if not reachable():
        return
    parts = os.environ.get("BENCH_PARTS", "planning,size,channels,dms-stored").split(",")
    subscribers = int(os.environ.get("BENCH_PG_SUBSCRIBERS", "1000000"))
    digests = int(os.environ.get("BENCH_PG_DIGESTS", "100000"))
    guilds = int(os.environ.get("BENCH_GUILDS", "1000"))
    users = int(os.environ.get("BENCH_USERS", "10000"))
    rate = os.environ.get("BENCH_RATE")
    if "planning" in parts or "size" in parts:
        with fresh_database("planning") as url:
            bench_delivery.planning(subscribers, digests, 1_000, location=url)
            if "size" in parts:
                size_report(url, subscribers, digests)
    if "channels" in parts:
        asyncio.run(bench_delivery.channels(guilds, rate, None))
        with fresh_database("channels") as url:
            asyncio.run(bench_delivery.channels(guilds, rate, None, location=url))
    for part, stored in (("dms-stored", True), ("dms-first", False)):
        if part in parts:
            asyncio.run(bench_delivery.dms(users, rate, stored))
            with fresh_database(part) as url:
                asyncio.run(bench_delivery.dms(users, rate, stored, location=url))


if __name__ == "__main__":
    main()
