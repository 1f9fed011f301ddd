"""The test-only clock file: how a test moves a bot process's time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from bot.clock import FileClock, ManualClock, SystemClock, clock_from_env


def test_file_clock_follows_what_the_test_writes(tmp_path: Path) -> None:
    path = tmp_path / "clock"
    FileClock.write(path, datetime(2026, 11, 25, 14, 0, tzinfo=UTC))
    clock = FileClock(path)
    assert clock.now() == datetime(2026, 11, 25, 14, 0, tzinfo=UTC)
    assert not clock.changed()
    FileClock.write(path, datetime(2026, 11, 25, 9, 30, tzinfo=timezone(timedelta(hours=-5))))
    assert clock.changed()
    assert clock.now() == datetime(2026, 11, 25, 14, 30, tzinfo=UTC)


def test_environment_selects_the_clock(tmp_path: Path) -> None:
    assert isinstance(clock_from_env({}), SystemClock)
    assert isinstance(clock_from_env({"HOTPAPERS_TEST_CLOCK": str(tmp_path / "c")}), FileClock)


def test_manual_clock_refuses_naive_times() -> None:
    clock = ManualClock(datetime(2026, 1, 1, tzinfo=UTC))
    clock.advance(timedelta(hours=1))
    assert clock.now().hour == 1
    with pytest.raises(ValueError):
        clock.set(datetime(2026, 1, 1))
