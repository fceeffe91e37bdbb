"""The NYSE calendar for the simulator: trading days, early closes and session states.

Uses ``pandas_market_calendars`` (already required by the tastytrade SDK) rather than
hand-written holiday rules; it is imported lazily and the schedule is computed once.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache

from tastytui.domain.clock import NEW_YORK

REGULAR_OPEN = time(9, 30)
REGULAR_CLOSE = time(16, 0)
PRE_MARKET_START = time(4, 0)
EXTENDED_END = time(20, 0)


@lru_cache(maxsize=4)
def _schedule(start: date, end: date) -> dict[date, tuple[datetime, datetime]]:
    import pandas_market_calendars as pmc

    frame = pmc.get_calendar("NYSE").schedule(start_date=start, end_date=end)
    out: dict[date, tuple[datetime, datetime]] = {}
    for day, row in frame.iterrows():
        out[day.date()] = (
            row["market_open"].to_pydatetime().astimezone(UTC),
            row["market_close"].to_pydatetime().astimezone(UTC),
        )
    return out


class TradingCalendar:
    """Trading days between about a year back and two years ahead of ``anchor``."""

    def __init__(self, anchor: date) -> None:
        start = date(anchor.year - 1, 1, 1)
        end = date(anchor.year + 2, 12, 31)
        self._days = _schedule(start, end)

    def is_trading_day(self, day: date) -> bool:
        return day in self._days

    def session(self, day: date) -> tuple[datetime, datetime] | None:
        """Regular-session open and close (UTC) for a trading day, else None."""
        return self._days.get(day)

    def previous_trading_day(self, day: date) -> date:
        probe = day - timedelta(days=1)
        for _ in range(15):
            if probe in self._days:
                return probe
            probe -= timedelta(days=1)
        return probe

    def next_trading_day(self, day: date) -> date:
        probe = day + timedelta(days=1)
        for _ in range(15):
            if probe in self._days:
                return probe
            probe += timedelta(days=1)
        return probe

    def adjust_back(self, day: date) -> date:
        """Move an expiration that falls on a holiday to the previous trading day."""
        probe = day
        for _ in range(15):
            if probe in self._days:
                return probe
            probe -= timedelta(days=1)
        return day

    def state(self, now: datetime) -> str:
        """'Pre-market', 'Open', 'Extended' or 'Closed' for an instant."""
        local = now.astimezone(NEW_YORK)
        session = self._days.get(local.date())
        if session is None:
            return "Closed"
        open_at, close_at = session
        if open_at <= now < close_at:
            return "Open"
        if local.time() >= PRE_MARKET_START and now < open_at:
            return "Pre-market"
        if now >= close_at and local.time() < EXTENDED_END:
            return "Extended"
        return "Closed"
