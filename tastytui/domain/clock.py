"""Injectable clocks.

Everything that shows or decides by time (DTE, staleness, token expiry, the simulator's market
session) reads a :class:`Clock` instead of the global time, so tests inject a manual clock rather
than freezing time (which breaks asyncio and Textual timers).
"""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

NEW_YORK = ZoneInfo("America/New_York")


class Clock(Protocol):
    """A source of wall-clock time (aware UTC) and of monotonic seconds."""

    def now(self) -> datetime: ...

    def monotonic(self) -> float: ...


class SystemClock:
    """The real clock."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def monotonic(self) -> float:
        return time.monotonic()


class ManualClock:
    """A clock that only moves when told to; for deterministic tests and snapshots."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("ManualClock needs an aware datetime")
        self._now = start.astimezone(UTC)
        self._mono = 1000.0

    def now(self) -> datetime:
        return self._now

    def monotonic(self) -> float:
        return self._mono

    def advance(self, seconds: float) -> None:
        self._now += timedelta(seconds=seconds)
        self._mono += seconds

    def set(self, when: datetime) -> None:
        delta = (when.astimezone(UTC) - self._now).total_seconds()
        self.advance(delta)


class OffsetClock:
    """Real time shifted to start at a chosen instant; keeps moving like the real clock."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("OffsetClock needs an aware datetime")
        self._offset = start.astimezone(UTC) - datetime.now(UTC)

    def now(self) -> datetime:
        return datetime.now(UTC) + self._offset

    def monotonic(self) -> float:
        return time.monotonic()


def new_york_now(clock: Clock) -> datetime:
    """The clock's time in New York."""
    return clock.now().astimezone(NEW_YORK)


def new_york_today(clock: Clock) -> date:
    """The clock's date in New York (the trading date)."""
    return new_york_now(clock).date()
