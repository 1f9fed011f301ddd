"""The store: the only code that speaks SQL.

:class:`Store` is synchronous and bound to the thread that made it (the command line uses it directly).
:class:`AsyncStore` gives the bot the same methods from one dedicated thread, so SQLite never blocks the event loop:
``await store.run(Store.paper, "2107.05677")`` (on PostgreSQL, ``run_spread`` may use a few more connections).
"""

from __future__ import annotations

import asyncio
import functools
import sqlite3
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Concatenate, ParamSpec, TypeVar

import psycopg

from bot.errors import StoreBusy
from bot.store.base import BUSY_TIMEOUT_MS, StoreBase, error_line, is_locked, unusable
from bot.store.cluster import ClusterStore
from bot.store.digests import DigestsStore
from bot.store.harvest import HarvestState, HarvestStore
from bot.store.notices import NoticesStore
from bot.store.papers import IngestCounts, PaperStore
from bot.store.posts import PostsStore
from bot.store.saved import SavedPaper, SavedStore
from bot.store.signals import SignalsStore
from bot.store.subscriptions import SubscriptionsStore
from bot.store.votes import VotesStore

__all__ = ["AsyncStore", "HarvestState", "IngestCounts", "SavedPaper", "Store"]

P = ParamSpec("P")
T = TypeVar("T")


class Store(PaperStore, SignalsStore, DigestsStore, SubscriptionsStore, PostsStore, HarvestStore, SavedStore,
            VotesStore, NoticesStore, ClusterStore, StoreBase):
    MIGRATIONS = (
        ("papers", PaperStore.PAPER_MIGRATIONS),
        ("signals", SignalsStore.SIGNALS_MIGRATIONS),
        ("digests", DigestsStore.DIGESTS_MIGRATIONS),  # channel digests and the delivery ledger (DMs too)
        ("subscriptions", SubscriptionsStore.SUBSCRIPTIONS_MIGRATIONS),
        ("posts", PostsStore.POSTS_MIGRATIONS),  # what observed posts said (author, first line, counts, code)
        ("harvest", HarvestStore.HARVEST_MIGRATIONS),  # OAI-PMH harvest state per set
        ("saved", SavedStore.SAVED_MIGRATIONS),  # each person's reading list
        ("votes", VotesStore.VOTES_MIGRATIONS),  # members' votes per server
        ("notices", NoticesStore.NOTICES_MIGRATIONS),  # follow-up notices for saved and voted papers
        ("cluster", ClusterStore.CLUSTER_MIGRATIONS),  # the workers' leadership lease and delivery claims
    )


class AsyncStore:
    """Runs :class:`Store` methods on the one thread that owns the connection (a SQLite file, or a PostgreSQL
    URL: the synchronous psycopg connection lives on that thread just as sqlite3's does).

    On PostgreSQL, :meth:`run_spread` may also use a few more threads, each with its own connection (opened on
    first use): many deliveries' ledger trips then wait for the server side by side instead of in one queue."""

    SPREAD_CONNECTIONS = 4

    def __init__(self, path: Path | str, *, busy_timeout_ms: int = BUSY_TIMEOUT_MS) -> None:
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="store")
        self._path = path
        self._busy_timeout_ms = busy_timeout_ms
        self._store: Store | None = None
        self._spread: ThreadPoolExecutor | None = None
        self._spread_local = threading.local()
        self._spread_stores: list[Store] = []
        self._spread_lock = threading.Lock()

    async def open(self) -> None:
        loop = asyncio.get_running_loop()
        self._store = await loop.run_in_executor(
            self._executor, functools.partial(Store, self._path, busy_timeout_ms=self._busy_timeout_ms))
        if self._store.engine == "postgresql":
            self._spread = ThreadPoolExecutor(max_workers=self.SPREAD_CONNECTIONS,
                                              thread_name_prefix="store-spread")

    async def run(self, method: Callable[Concatenate[Store, P], T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Call ``method(store, *args, **kwargs)`` on the store's thread."""
        if self._store is None:
            raise RuntimeError("AsyncStore.open() was not awaited")
        return await self._call(self._executor, functools.partial(method, self._store, *args, **kwargs))

    async def run_spread(self, method: Callable[Concatenate[Store, P], T], *args: P.args,
                         **kwargs: P.kwargs) -> T:
        """Like :meth:`run`, but on PostgreSQL on any of a few connections: for a method that is its own
        transaction(s) and touches only the database (not the search index), called by many deliveries at once.
        On SQLite, the same as :meth:`run` (one connection)."""
        if self._spread is None:
            return await self.run(method, *args, **kwargs)
        return await self._call(self._spread, functools.partial(self._on_spread, method, args, kwargs))

    def _on_spread(self, method: Callable[..., T], args: tuple[object, ...], kwargs: dict[str, object]) -> T:
        store: Store | None = getattr(self._spread_local, "store", None)
        if store is None:
            store = Store(self._path, busy_timeout_ms=self._busy_timeout_ms)
            self._spread_local.store = store
            with self._spread_lock:
                self._spread_stores.append(store)
        return method(store, *args, **kwargs)

    async def _call(self, executor: ThreadPoolExecutor, call: Callable[[], T]) -> T:
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(executor, call)
        except (sqlite3.OperationalError, psycopg.Error) as exc:
            if is_locked(exc):
                raise StoreBusy("The database is busy (another program is writing to it); try again in a few "
                                "seconds.") from exc
            if isinstance(exc, psycopg.OperationalError):  # the server went away: one line, no password (the
                # next call connects again)
                raise unusable(self._path, f"connection lost ({error_line(exc)})") from None
            raise

    def _close_spread(self, spread: ThreadPoolExecutor) -> None:
        spread.shutdown(wait=True)
        for store in self._spread_stores:
            store.close()
        self._spread_stores.clear()

    async def close(self) -> None:
        loop = asyncio.get_running_loop()
        if self._spread is not None:
            await loop.run_in_executor(None, self._close_spread, self._spread)
            self._spread = None
        if self._store is not None:
            await loop.run_in_executor(self._executor, self._store.close)
            self._store = None
        self._executor.shutdown(wait=True)
