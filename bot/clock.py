"""The one source of time for the whole bot.

Production uses :class:`SystemClock`. Tests use :class:`ManualClock` in-process, or, for a bot running in its
own process, the test-only setting ``HOTPAPERS_TEST_CLOCK``: the path of a file holding one ISO-8601 instant
(e.g. ``2026-11-25T14:00:00+00:00``). The bot then reads the time from that file, and :meth:`FileClock.changed`
lets the scheduler react at once when a test moves time forward.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current instant, timezone-aware, in UTC."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class ManualClock:
    """A clock that moves only when told to."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("ManualClock needs an aware datetime")
        self._now = start.astimezone(UTC)

    def now(self) -> datetime:
        return self._now

    def set(self, when: datetime) -> None:
        if when.tzinfo is None:
            raise ValueError("ManualClock needs an aware datetime")
        self._now = when.astimezone(UTC)

    def advance(self, delta: timedelta) -> None:
        self._now += delta


class FileClock:
    """Reads the instant from a file a test writes (``HOTPAPERS_TEST_CLOCK``)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._stamp: tuple[int, int] = (-1, -1)
        self._cached = datetime.fromtimestamp(0, UTC)

    def now(self) -> datetime:
        self.changed()
        return self._cached

    def changed(self) -> bool:
        """Re-read the file if it changed; True when it did."""
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            return False
        stamp = (stat.st_ino, stat.st_mtime_ns)  # os.replace gives a new inode even within one mtime tick
        if stamp == self._stamp:
            return False
        text = self.path.read_text().strip()
        when = datetime.fromisoformat(text)
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        self._stamp = stamp
        self._cached = when.astimezone(UTC)
        return True

    @staticmethod
    def write(path: Path, when: datetime) -> None:
        """What a test calls to move the bot's time (atomically, so the bot never reads half a line)."""
        tmp = path.with_suffix(".tmp")
        tmp.write_text(when.astimezone(UTC).isoformat())
        os.replace(tmp, path)


def clock_from_env(env: dict[str, str] | None = None) -> Clock:
    """SystemClock, or a FileClock when the test-only ``HOTPAPERS_TEST_CLOCK`` is set."""
    path = (env if env is not None else os.environ).get("HOTPAPERS_TEST_CLOCK")
    return FileClock(Path(path)) if path else SystemClock()
