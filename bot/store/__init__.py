"""The store: the only code that speaks SQL.

:class:`Store` is synchronous and bound to the thread that made it (the command line uses it directly).
:class:`AsyncStore` gives the bot the same methods from one dedicated thread, so SQLite never blocks the event loop:
``await store.run(Store.paper, "2107.05677")``.
"""

from __future__ import annotations

import asyncio
import functools
import sqlite3
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
    URL: the synchronous psycopg connection lives on that thread just as sqlite3's does)."""

    def __init__(self, path: Path | str, *, busy_timeout_ms: int = BUSY_TIMEOUT_MS) -> None:
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="store")
        self._path = path
        self._busy_timeout_ms = busy_timeout_ms
        self._store: Store | None = None

    async def open(self) -> None:
        loop = asyncio.get_running_loop()
        self._store = await loop.run_in_executor(
            self._executor, functools.partial(Store, self._path, busy_timeout_ms=self._busy_timeout_ms))

    async def run(self, method: Callable[Concatenate[Store, P], T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Call ``method(store, *args, **kwargs)`` on the store's thread."""
        if self._store is None:
            raise RuntimeError("AsyncStore.open() was not awaited")
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(
                self._executor, functools.partial(method, self._store, *args, **kwargs))
        except (sqlite3.OperationalError, psycopg.Error) as exc:
            if is_locked(exc):
                raise StoreBusy("The database is busy (another program is writing to it); try again in a few "
                                "seconds.") from exc
            if isinstance(exc, psycopg.OperationalError):  # the server went away: one line, no password (the
                # next call connects again)
                raise unusable(self._path, f"connection lost ({error_line(exc)})") from None
            raise

    async def close(self) -> None:
        if self._store is not None:
            loop = asyncio.get_running_loop()
            await loop.run_in_executor(self._executor, self._store.close)
            self._store = None
        self._executor.shutdown(wait=True)
