"""The simulator's DXLink market-data WebSocket (protocol reference §4).

One :class:`DxLinkSession` per connection speaks the dxLink JSON protocol the way the unmodified
SDK's ``DXLinkStreamer`` expects it: SETUP, one AUTH_STATE UNAUTHORIZED, one AUTHORIZED (or an
``ERROR`` and a close for a bad quote token), FEED channels with COMPACT data in exactly the field
order the client asked for, KEEPALIVEs both ways and a drop of clients that go silent.

Events are cheap by construction: every (event type, kind of symbol) has a builder that returns a
tuple in the canonical field order of :data:`EVENT_FIELDS`; FEED_SETUP turns the client's field
list into an ``itemgetter`` over that tuple once, so a step costs one tuple and one C-level pick
per event plus one ``json`` encode per batch of at most :data:`BATCH_EVENTS` events.

Candle history is sent newest first, like dxFeed: SNAPSHOT_BEGIN on the newest candle and
SNAPSHOT_END on the oldest; live updates of the current candle follow with flags 0.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from operator import itemgetter
from typing import Any

from aiohttp import WSMsgType, web

from tastytui.domain.clock import NEW_YORK
from tastytui.domain.symbols import OptionSymbol, SymbolError, parse_streamer
from tastytui.sim.exchange import Exchange
from tastytui.sim.market import RISK_FREE_RATE, MarketModel, MinuteBar
from tastytui.sim.universe import UnderlyingSpec

log = logging.getLogger(__name__)

#: Production closes a connection whose inbound message is longer than this with 1009.
MAX_INBOUND_BYTES = 65_536
#: Our own ceiling for an outbound message: well under the client's 64 KiB limit.
MAX_OUTBOUND_BYTES = 48_000
#: Events per FEED_DATA message before the size check splits further.
BATCH_EVENTS = 250
#: Candles in a history snapshot at most (the SDK's default fromTime means "since 1970").
CANDLE_HISTORY_LIMIT = 1_000
#: Seconds the server waits before giving up on a client's close handshake.
CLOSE_TIMEOUT = 2.0
NAN = "NaN"
USER_ID = "sim-paper-trader"
SERVER_VERSION = "1.0-tastytui-sim"

# eventFlags bits (dxFeed IndexedEvent).
REMOVE_EVENT = 0x2
SNAPSHOT_BEGIN = 0x4
SNAPSHOT_END = 0x8

#: Every event type's fields in the SDK's request order (§4.3); builders return tuples in it.
EVENT_FIELDS: dict[str, tuple[str, ...]] = {
    "Quote": (
        "eventSymbol", "eventTime", "sequence", "timeNanoPart", "bidTime", "bidExchangeCode",
        "askTime", "askExchangeCode", "bidPrice", "askPrice", "bidSize", "askSize",
    ),
    "Trade": (
        "eventSymbol", "eventTime", "time", "timeNanoPart", "sequence", "exchangeCode", "dayId",
        "tickDirection", "extendedTradingHours", "price", "change", "size", "dayVolume",
        "dayTurnover",
    ),
    "Greeks": (
        "eventSymbol", "eventTime", "eventFlags", "index", "time", "sequence", "price",
        "volatility", "delta", "gamma", "theta", "rho", "vega",
    ),
    "Summary": (
        "eventSymbol", "eventTime", "dayId", "dayClosePriceType", "prevDayId",
        "prevDayClosePriceType", "openInterest", "dayOpenPrice", "dayHighPrice", "dayLowPrice",
        "dayClosePrice", "prevDayClosePrice", "prevDayVolume",
    ),
    "Profile": (
        "eventSymbol", "eventTime", "description", "shortSaleRestriction", "tradingStatus",
        "haltStartTime", "haltEndTime", "exDividendDayId", "statusReason", "high52WeekPrice",
        "low52WeekPrice", "beta", "shares", "highLimitPrice", "lowLimitPrice",
        "earningsPerShare", "exDividendAmount", "dividendFrequency", "freeFloat",
    ),
    "TheoPrice": (
        "eventSymbol", "eventTime", "eventFlags", "index", "time", "sequence", "price",
        "underlyingPrice", "delta", "gamma", "dividend", "interest",
    ),
    "TimeAndSale": (
        "eventSymbol", "eventTime", "eventFlags", "index", "time", "timeNanoPart", "sequence",
        "exchangeCode", "price", "size", "bidPrice", "askPrice", "tradeThroughExempt",
        "aggressorSide", "spreadLeg", "extendedTradingHours", "validTick", "type", "buyer",
        "seller", "exchangeSaleConditions",
    ),
    "Underlying": (
        "eventSymbol", "eventTime", "eventFlags", "index", "time", "sequence", "volatility",
        "frontVolatility", "backVolatility", "callVolume", "putVolume", "optionVolume",
        "putCallRatio",
    ),
    "Candle": (
        "eventSymbol", "eventTime", "eventFlags", "index", "time", "sequence", "count", "volume",
        "vwap", "bidVolume", "askVolume", "impVolatility", "openInterest", "open", "high", "low",
        "close",
    ),
}  # fmt: skip

Row = tuple[Any, ...]
Builder = Callable[["_Tick"], Row]
_ENCODE = json.JSONEncoder(separators=(",", ":"), allow_nan=False).encode
_EPOCH_DAY = date(1970, 1, 1)


# --------------------------------------------------------------------------- entry point


async def serve_dxlink(request: web.Request, exchange: Exchange) -> web.StreamResponse:
    """Upgrade ``request`` to a DXLink WebSocket and serve it until either side goes away."""
    ws = web.WebSocketResponse(
        # aiohttp closes with 1009 at ``>= max_msg_size``; production only *over* 64 KiB.
        max_msg_size=MAX_INBOUND_BYTES + 1,
        compress=False,  # the SDK never negotiates permessage-deflate; raw clients get none
        timeout=CLOSE_TIMEOUT,
    )
    await ws.prepare(request)
    session = DxLinkSession(ws, request, exchange)
    exchange.dxlink_sessions.add(session)
    try:
        await session.run()
    finally:
        exchange.dxlink_sessions.discard(session)
    return ws


# --------------------------------------------------------------------------- per-step values


@dataclass(slots=True)
class _Tick:
    """What every event of one emission shares: the market, the time and the day ids."""

    market: MarketModel
    step: int
    now_ms: int
    index: int  # dxFeed time-based index: seconds << 32 | millis << 22
    day_id: int
    prev_day_id: int
    today: date


def _index_of(ms: int) -> int:
    return ((ms // 1000) << 32) | ((ms % 1000) << 22)


def _day_id(day: date) -> int:
    return (day - _EPOCH_DAY).days


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


class _Direction:
    """Tick direction of a last price, updated once per step (Trade, TimeAndSale)."""

    __slots__ = ("_last", "_step", "value")

    def __init__(self) -> None:
        self._last: float | None = None
        self._step = -1
        self.value = "UNDEFINED"

    def update(self, price: float, step: int) -> str:
        if step != self._step:
            self._step = step
            last = self._last
            if last is not None:
                if price > last:
                    self.value = "UP"
                elif price < last:
                    self.value = "DOWN"
                elif self.value in ("UP", "ZERO_UP"):
                    self.value = "ZERO_UP"
                elif self.value in ("DOWN", "ZERO_DOWN"):
                    self.value = "ZERO_DOWN"
            self._last = price
        return self.value


# --------------------------------------------------------------------------- sources


class _Equity:
    """A stock, ETF or index of the simulated universe."""

    def __init__(self, spec: UnderlyingSpec) -> None:
        self.symbol = spec.symbol
        self.spec = spec
        self.exchange_code = "Q"
        self.direction = _Direction()
        self._profile: tuple[float | str, float | str, float | str, float | str] | None = None

    def builder(self, event_type: str) -> Builder | None:
        return {
            "Quote": self.quote,
            "Trade": self.trade,
            "Summary": self.summary,
            "Profile": self.profile,
            "TimeAndSale": self.time_and_sale,
            "Underlying": self.underlying,
        }.get(event_type)

    def quote(self, t: _Tick) -> Row:
        q = t.market.equity_quote(self.symbol)
        ms, code = t.now_ms, self.exchange_code
        if self.spec.is_index:  # an index has no market: bid == ask == last, no sizes
            return (self.symbol, ms, 0, 0, ms, code, ms, code, q.bid, q.ask, NAN, NAN)
        return (self.symbol, ms, 0, 0, ms, code, ms, code, q.bid, q.ask, q.bid_size, q.ask_size)

    def trade(self, t: _Tick) -> Row:
        q = t.market.equity_quote(self.symbol)
        last = q.last
        return (
            self.symbol, t.now_ms, t.now_ms, 0, 0, self.exchange_code, t.day_id,
            self.direction.update(last, t.step), False, last, round(last - q.prev_close, 2),
            q.last_size, q.volume, round(q.volume * (q.day_high + q.day_low + last) / 3.0, 2),
        )  # fmt: skip

    def summary(self, t: _Tick) -> Row:
        q = t.market.equity_quote(self.symbol)
        return (
            self.symbol, t.now_ms, t.day_id, "PRELIMINARY", t.prev_day_id, "FINAL", 0,
            q.day_open, q.day_high, q.day_low, q.last, q.prev_close, NAN,
        )  # fmt: skip

    def profile(self, t: _Tick) -> Row:
        q = t.market.equity_quote(self.symbol)
        if self._profile is None:
            self._profile = self._static_profile(t.market, q.last)
        high52, low52, beta, shares = self._profile
        if isinstance(high52, float) and isinstance(low52, float):
            high52, low52 = max(high52, q.day_high), min(low52, q.day_low)
        dividend = self.spec.dividend_yield
        ex_amount: float | str = round(q.last * dividend / 4.0, 4) if dividend else NAN
        frequency: int | str = 4 if dividend else NAN
        return (
            self.symbol, t.now_ms, self.spec.description, "INACTIVE", "ACTIVE", 0, 0, 0, NAN,
            high52, low52, beta, shares, NAN, NAN, NAN, ex_amount, frequency, NAN,
        )  # fmt: skip

    def _static_profile(
        self, market: MarketModel, last: float
    ) -> tuple[float | str, float | str, float | str, float | str]:
        """52-week range from the daily history, beta and shares from the metrics (once)."""
        bars = market.candles(self.symbol, timedelta(days=1), datetime(1970, 1, 2, tzinfo=UTC))
        high52: float | str = round(max(b.high for b in bars), 2) if bars else NAN
        low52: float | str = round(min(b.low for b in bars), 2) if bars else NAN
        metrics = market.metrics(self.symbol)
        shares: float | str = round(metrics.market_cap / last) if metrics.market_cap else NAN
        return high52, low52, metrics.beta, shares

    def time_and_sale(self, t: _Tick) -> Row:
        q = t.market.equity_quote(self.symbol)
        direction = self.direction.update(q.last, t.step)
        side = "SELL" if direction in ("DOWN", "ZERO_DOWN") else "BUY"
        return (
            self.symbol, t.now_ms, 0, t.index, t.now_ms, 0, 0, self.exchange_code, q.last,
            q.last_size, q.bid, q.ask, "X", side, False, False, True, "NEW", NAN, NAN, NAN,
        )  # fmt: skip

    def underlying(self, t: _Tick) -> Row:
        market, spec = t.market, self.spec
        q = market.equity_quote(self.symbol)
        calls, puts = int(q.volume * 0.05), int(q.volume * 0.04)
        return (
            self.symbol, t.now_ms, 0, t.index, t.now_ms, 0,
            market.atm_vol(spec, 30 / 365.0), market.atm_vol(spec, 7 / 365.0),
            market.atm_vol(spec, 60 / 365.0), calls, puts, calls + puts,
            round(puts / calls, 4) if calls else NAN,
        )  # fmt: skip


class _Option:
    """A listed option contract, named by its streamer symbol."""

    def __init__(self, symbol: str, option: OptionSymbol, spec: UnderlyingSpec) -> None:
        self.symbol = symbol
        self.option = option
        self.spec = spec
        self.exchange_code = "C"
        self.direction = _Direction()
        kind = "Call" if option.is_call else "Put"
        strike = format(option.strike.normalize(), "f")
        self.description = f"{option.root} {option.expiration:%m/%d/%Y} {strike} {kind}"

    def builder(self, event_type: str) -> Builder | None:
        return {
            "Quote": self.quote,
            "Greeks": self.greeks,
            "TheoPrice": self.theo_price,
            "Trade": self.trade,
            "Summary": self.summary,
            "Profile": self.profile,
            "TimeAndSale": self.time_and_sale,
        }.get(event_type)

    def quote(self, t: _Tick) -> Row:
        q = t.market.option_quote(self.option)
        ms, code = t.now_ms, self.exchange_code
        return (self.symbol, ms, 0, 0, ms, code, ms, code, q.bid, q.ask, q.bid_size, q.ask_size)

    def greeks(self, t: _Tick) -> Row:
        q = t.market.option_quote(self.option)
        return (
            self.symbol, t.now_ms, 0, t.index, t.now_ms, 0, round((q.bid + q.ask) / 2.0, 3),
            q.iv, q.delta, q.gamma, q.theta, q.rho, q.vega,
        )  # fmt: skip

    def theo_price(self, t: _Tick) -> Row:
        q = t.market.option_quote(self.option)
        return (
            self.symbol, t.now_ms, 0, t.index, t.now_ms, 0, q.theo, q.underlying_price,
            q.delta, q.gamma, self.spec.dividend_yield, RISK_FREE_RATE,
        )  # fmt: skip

    def _last(self, t: _Tick) -> tuple[float, int, int]:
        """A last sale at the mid; its size and the day's volume."""
        q = t.market.option_quote(self.option)
        return round((q.bid + q.ask) / 2.0, 2), 1 + q.volume % 9, q.volume

    def trade(self, t: _Tick) -> Row:
        q = t.market.option_quote(self.option)
        price, size, volume = self._last(t)
        return (
            self.symbol, t.now_ms, t.now_ms, 0, 0, self.exchange_code, t.day_id,
            self.direction.update(price, t.step), False, price,
            round(price - q.prev_close, 2), size, volume, round(volume * price * 100.0, 2),
        )  # fmt: skip

    def summary(self, t: _Tick) -> Row:
        q = t.market.option_quote(self.option)
        price = round((q.bid + q.ask) / 2.0, 2)
        return (
            self.symbol, t.now_ms, t.day_id, "PRELIMINARY", t.prev_day_id, "FINAL",
            q.open_interest, NAN, NAN, NAN, price, round(q.prev_close, 2), NAN,
        )  # fmt: skip

    def profile(self, t: _Tick) -> Row:
        return (
            self.symbol, t.now_ms, self.description, "INACTIVE", "ACTIVE", 0, 0, 0, NAN, NAN,
            NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN,
        )  # fmt: skip

    def time_and_sale(self, t: _Tick) -> Row:
        q = t.market.option_quote(self.option)
        price, size, _ = self._last(t)
        direction = self.direction.update(price, t.step)
        side = "SELL" if direction in ("DOWN", "ZERO_DOWN") else "BUY"
        return (
            self.symbol, t.now_ms, 0, t.index, t.now_ms, 0, 0, self.exchange_code, price, size,
            q.bid, q.ask, "X", side, False, False, True, "NEW", NAN, NAN, NAN,
        )  # fmt: skip


# --------------------------------------------------------------------------- candles


_PERIOD_RE = re.compile(r"^(\d+(?:\.\d+)?)?([a-z]+)$")
_UNIT_MINUTES = {
    "s": 1 / 60, "sec": 1 / 60, "second": 1 / 60,
    "m": 1, "min": 1, "minute": 1,
    "h": 60, "hour": 60,
}  # fmt: skip
_UNIT_DAYS = {
    "d": "d", "day": "d", "w": "w", "week": "w", "mo": "mo", "month": "mo", "y": "y", "year": "y",
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class CandlePeriod:
    """A candle width the simulator can serve: whole minutes, or days, weeks, months, years."""

    minutes: int = 0  # intraday width; 0 for day-based periods
    unit: str = ""  # "d", "w", "mo" or "y" for day-based periods
    count: int = 1


def parse_candle_symbol(symbol: str) -> tuple[str, CandlePeriod] | None:
    """``'SPY{=5m,tho=true}'`` → ``('SPY', 5-minute period)``; None when we cannot serve it.

    Sub-minute, tick, volume and price candles are unsupported: the market keeps minute bars.
    """
    base, brace, rest = symbol.partition("{")
    if not brace or not rest.endswith("}") or not base:
        return None
    period_text = "d"  # dxFeed's default aggregation is daily
    for attribute in rest[:-1].split(","):
        if attribute.startswith("="):
            period_text = attribute[1:]
    match = _PERIOD_RE.match(period_text.strip().lower())
    if match is None:
        return None
    count = float(match.group(1) or 1)
    unit = match.group(2)
    if unit in _UNIT_MINUTES:
        minutes = count * _UNIT_MINUTES[unit]
        if minutes < 1 or not math.isclose(minutes, round(minutes)):
            return None
        return base, CandlePeriod(minutes=round(minutes))
    if unit in _UNIT_DAYS and count >= 1 and count.is_integer():
        return base, CandlePeriod(unit=_UNIT_DAYS[unit], count=int(count))
    return None


def _merge(bars: Sequence[MinuteBar]) -> MinuteBar:
    first = bars[0]
    return MinuteBar(
        first.start,
        first.open,
        max(b.high for b in bars),
        min(b.low for b in bars),
        bars[-1].close,
        sum(b.volume for b in bars),
    )


class _CandleSeries:
    """Candles of one underlying at one period, named by the braced symbol."""

    def __init__(self, symbol: str, base: str, period: CandlePeriod) -> None:
        self.symbol = symbol
        self.base = base
        self.period = period
        self._group: tuple[object, list[MinuteBar]] | None = None  # day-based: current group

    def row(self, t: _Tick, bar: MinuteBar, flags: int) -> Row:
        start = _ms(bar.start)
        o, h, lo, c = round(bar.open, 2), round(bar.high, 2), round(bar.low, 2), round(bar.close, 2)
        return (
            self.symbol, t.now_ms, flags, _index_of(start), start, 0, max(1, bar.volume // 100),
            bar.volume, round((h + lo + c) / 3.0, 4), NAN, NAN, NAN, NAN, o, h, lo, c,
        )  # fmt: skip

    # ---- intraday

    def _bucket_start(self, now: datetime) -> datetime:
        minute = now.replace(second=0, microsecond=0)
        offset = (minute.hour * 60 + minute.minute) % self.period.minutes
        return minute - timedelta(minutes=offset)

    # ---- day-based

    def _key(self, day: date) -> object:
        unit, count = self.period.unit, self.period.count
        if unit == "w":
            return day.isocalendar()[:2]
        if unit == "mo":
            return (day.year, day.month)
        if unit == "y":
            return day.year
        return _day_id(day) // count

    def _today_bar(self, t: _Tick) -> MinuteBar:
        q = t.market.equity_quote(self.base)
        start = datetime.combine(t.today, time(9, 30), NEW_YORK).astimezone(UTC)
        return MinuteBar(start, q.day_open, q.day_high, q.day_low, q.last, q.volume)

    def _grouped(self, bars: list[MinuteBar]) -> list[MinuteBar]:
        if self.period.unit == "d" and self.period.count == 1:
            return bars
        out: list[MinuteBar] = []
        run: list[MinuteBar] = []
        key: object = None
        for bar in bars:
            bar_key = self._key(bar.start.astimezone(NEW_YORK).date())
            if run and bar_key != key:
                out.append(_merge(run))
                run = []
            key = bar_key
            run.append(bar)
        if run:
            out.append(_merge(run))
        return out

    # ---- public

    def history(self, t: _Tick, from_ms: int) -> list[MinuteBar]:
        """Bars from ``from_ms`` on, oldest first, the current (live) bar included."""
        since = datetime.fromtimestamp(max(0, from_ms) / 1000.0, UTC)
        if self.period.minutes:
            period = timedelta(minutes=self.period.minutes)
            first = self._bucket_start(since)
            if first < since:  # whole candles only: the first one starting at or after fromTime
                first += period
            return t.market.candles(self.base, period, first, CANDLE_HISTORY_LIMIT)
        daily = t.market.candles(self.base, timedelta(days=1), since, limit=10_000)
        bars = self._grouped([*daily, self._today_bar(t)])
        return bars[-CANDLE_HISTORY_LIMIT:]

    def live(self, t: _Tick) -> Row | None:
        """The current candle, with flags 0."""
        if self.period.minutes:
            start = self._bucket_start(t.market.clock.now())
            period = timedelta(minutes=self.period.minutes)
            bars = t.market.candles(self.base, period, start, 1)
            return self.row(t, bars[-1], 0) if bars else None
        return self.row(t, _merge([*self._completed_days(t), self._today_bar(t)]), 0)

    def _completed_days(self, t: _Tick) -> list[MinuteBar]:
        """Earlier days of the current week/month/…: merged into every live update."""
        key = self._key(t.today)
        if self._group is None or self._group[0] != key:
            if self.period.unit == "d" and self.period.count == 1:
                days: list[MinuteBar] = []
            else:
                since = datetime.combine(t.today - timedelta(days=400), time(0), UTC)
                daily = t.market.candles(self.base, timedelta(days=1), since, limit=10_000)
                days = [b for b in daily if self._key(b.start.astimezone(NEW_YORK).date()) == key]
            self._group = (key, days)
        return self._group[1]

    def snapshot_rows(self, t: _Tick, from_ms: int) -> list[Row]:
        """The history newest first, flagged as a dxFeed snapshot (an empty one if no bars)."""
        bars = self.history(t, from_ms)
        if not bars:
            flags = SNAPSHOT_BEGIN | SNAPSHOT_END | REMOVE_EVENT
            return [(self.symbol, t.now_ms, flags, 0, 0, 0, 0, *([NAN] * 10))]
        rows = [self.row(t, bar, 0) for bar in reversed(bars)]
        rows[0] = (*rows[0][:2], rows[0][2] | SNAPSHOT_BEGIN, *rows[0][3:])
        rows[-1] = (*rows[-1][:2], rows[-1][2] | SNAPSHOT_END, *rows[-1][3:])
        return rows


# --------------------------------------------------------------------------- channel state


@dataclass(frozen=True, slots=True)
class _Layout:
    """The client's field list for one event type, and how to pick it from a canonical row."""

    fields: tuple[str, ...]
    pick: Callable[[Row], Row] | None  # None: the canonical order itself


_NAN_SLOT: Row = (NAN,)


def _make_layout(event_type: str, fields: Sequence[str]) -> _Layout:
    canon = EVENT_FIELDS[event_type]
    if not fields or tuple(fields) == canon:
        return _Layout(canon, None)
    position = {name: i for i, name in enumerate(canon)}
    unknown = len(canon)  # index of the NaN slot appended for fields we do not know
    indexes = [position.get(name, unknown) for name in fields]
    if len(indexes) == 1:
        only = indexes[0]

        def pick_one(row: Row) -> Row:
            return ((*row, NAN)[only],)

        return _Layout(tuple(fields), pick_one)
    getter = itemgetter(*indexes)
    if unknown not in indexes:
        return _Layout(tuple(fields), getter)

    def pick_padded(row: Row) -> Row:
        return getter(row + _NAN_SLOT)  # type: ignore[no-any-return]

    return _Layout(tuple(fields), pick_padded)


@dataclass(slots=True)
class _Subscription:
    symbol: str
    base: str  # the symbol the stale-symbol fault names (the candle's underlying)
    build: Builder | None  # None for candles (built by ``series``)
    series: _CandleSeries | None = None
    failed: bool = False


@dataclass(slots=True)
class _Channel:
    number: int
    parameters: dict[str, Any]
    aggregation: float = 0.1
    layouts: dict[str, _Layout] = field(default_factory=dict)
    subscriptions: dict[str, dict[str, _Subscription]] = field(default_factory=dict)
    batch: dict[str, int] = field(default_factory=dict)  # learned events per message

    def layout(self, event_type: str) -> _Layout:
        layout = self.layouts.get(event_type)
        if layout is None:  # no FEED_SETUP for this type: dxLink's default field set
            layout = self.layouts[event_type] = _make_layout(event_type, ())
        return layout


class _ProtocolError(Exception):
    """A message we cannot act on; answered with an ERROR (the connection stays open)."""

    def __init__(self, error: str, message: str) -> None:
        super().__init__(message)
        self.error = error
        self.message = message


def _int_field(message: dict[str, Any], name: str) -> int:
    value = message.get(name)
    if not isinstance(value, int) or isinstance(value, bool):
        raise _ProtocolError("INVALID_MESSAGE", f"{message.get('type')}: {name} must be an integer")
    return value


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return NAN
    return value


# --------------------------------------------------------------------------- the session


class DxLinkSession:
    """One DXLink connection: protocol state, subscriptions and the streaming task."""

    def __init__(self, ws: web.WebSocketResponse, request: web.Request, exchange: Exchange):
        self.ws = ws
        self.request = request
        self.exchange = exchange
        self.authorized = False
        self.channels: dict[int, _Channel] = {}
        self._setup = False
        self._dropped = False
        self._lock = asyncio.Lock()  # orders sends; guards channel state across awaits
        self._sources: dict[str, _Equity | _Option | None] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._days: tuple[date, int, int] | None = None

    # ------------------------------------------------------------ lifecycle

    async def run(self) -> None:
        """Read client messages until the connection ends; streaming runs alongside."""
        try:
            while not self._dropped:
                try:
                    message = await self.ws.receive(timeout=self._silence_limit())
                except TimeoutError:
                    await self._fail(
                        "TIMEOUT",
                        f"no message from the client for {self._silence_limit():g} s",
                    )
                    return
                if message.type is WSMsgType.TEXT:
                    await self._on_text(message.data)
                elif message.type is WSMsgType.BINARY:
                    await self._error("INVALID_MESSAGE", "binary messages are not supported")
                elif message.type is WSMsgType.ERROR:
                    log.info("dxlink client closed: %s", message.data)
                    return
                else:  # CLOSE, CLOSING, CLOSED
                    return
        except ConnectionError:  # the client vanished while we were answering it
            return
        finally:
            await self._stop_tasks()

    async def drop(self) -> None:
        """Cut the connection without a close frame, like a network failure."""
        self._dropped = True
        transport = self.request.transport
        if transport is not None:
            transport.abort()
        for task in self._tasks:
            task.cancel()

    def _silence_limit(self) -> float:
        return max(0.01, float(self.exchange.config.keepalive_timeout))

    async def _stop_tasks(self) -> None:
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        # gather, not suppress(CancelledError): our own cancellation must still propagate.
        await asyncio.gather(*tasks, return_exceptions=True)

    def _start(self, coro: Any, name: str) -> None:
        self._tasks.append(asyncio.create_task(coro, name=name))

    # ------------------------------------------------------------ sending

    async def _send(self, message: dict[str, Any]) -> None:
        await self.ws.send_str(_ENCODE(message))

    async def _error(self, error: str, message: str) -> None:
        async with self._lock:
            await self._send({"type": "ERROR", "channel": 0, "error": error, "message": message})

    async def _fail(self, error: str, message: str) -> None:
        """Send a fatal ERROR and close (the SDK raises 'Fatal streamer error: …')."""
        with contextlib.suppress(ConnectionError):
            await self._error(error, message)
            await self.ws.close()

    # ------------------------------------------------------------ inbound

    async def _on_text(self, text: str) -> None:
        try:
            message = json.loads(text)
        except json.JSONDecodeError:
            await self._error("INVALID_MESSAGE", "message is not JSON")
            return
        if not isinstance(message, dict) or not isinstance(message.get("type"), str):
            await self._error("INVALID_MESSAGE", "message must be an object with a type")
            return
        kind = message["type"]
        try:
            if kind == "KEEPALIVE":
                return  # receiving it already reset the silence timer
            if kind == "SETUP":
                await self._on_setup(message)
            elif kind == "AUTH":
                await self._on_auth(message)
            elif not self._setup:
                raise _ProtocolError("INVALID_MESSAGE", "SETUP must be the first message")
            elif not self.authorized:
                raise _ProtocolError("UNAUTHORIZED", f"{kind} before AUTH was accepted")
            elif kind == "CHANNEL_REQUEST":
                await self._on_channel_request(message)
            elif kind == "CHANNEL_CANCEL":
                await self._on_channel_cancel(message)
            elif kind == "FEED_SETUP":
                await self._on_feed_setup(message)
            elif kind == "FEED_SUBSCRIPTION":
                await self._on_feed_subscription(message)
            else:
                raise _ProtocolError("UNSUPPORTED_MESSAGE", f"unknown message type {kind!r}")
        except _ProtocolError as problem:
            await self._error(problem.error, problem.message)

    async def _on_setup(self, message: dict[str, Any]) -> None:
        accept = message.get("acceptKeepaliveTimeout", 60)
        client_accepts = float(accept) if isinstance(accept, int | float) else 60.0
        first = not self._setup
        self._setup = True
        async with self._lock:
            await self._send(
                {
                    "type": "SETUP",
                    "channel": 0,
                    "keepaliveTimeout": self.exchange.config.keepalive_timeout,
                    "acceptKeepaliveTimeout": message.get("keepaliveTimeout", 60),
                    "version": SERVER_VERSION,
                }
            )
            if first:
                await self._send({"type": "AUTH_STATE", "channel": 0, "state": "UNAUTHORIZED"})
        if first:
            # Half the client's tolerance, so one late KEEPALIVE does not trip it.
            interval = max(0.05, min(30.0, client_accepts / 2.0))
            self._start(self._keepalive(interval), "dxlink-keepalive")

    async def _on_auth(self, message: dict[str, Any]) -> None:
        if not self._setup:
            raise _ProtocolError("INVALID_MESSAGE", "SETUP must come before AUTH")
        token = message.get("token")
        if not isinstance(token, str) or not self.exchange.auth.is_valid_quote_token(token):
            # ERROR, not another UNAUTHORIZED: that would make the SDK loop on AUTH forever.
            await self._fail(
                "UNAUTHORIZED",
                "quote token is invalid or expired: get a new one from /api-quote-tokens",
            )
            self._dropped = True
            return
        if self.authorized:
            return  # a second AUTHORIZED kills the SDK's streamer
        self.authorized = True
        async with self._lock:
            await self._send(
                {"type": "AUTH_STATE", "channel": 0, "state": "AUTHORIZED", "userId": USER_ID}
            )
        self._start(self._pump(), "dxlink-pump")

    async def _on_channel_request(self, message: dict[str, Any]) -> None:
        number = _int_field(message, "channel")
        service = message.get("service")
        if number <= 0:
            raise _ProtocolError("BAD_ACTION", "channel 0 is the control channel")
        if service != "FEED":
            raise _ProtocolError("BAD_ACTION", f"service {service!r} is not available")
        parameters = message.get("parameters")
        echoed = dict(parameters) if isinstance(parameters, dict) else {}
        echoed.setdefault("contract", "AUTO")
        async with self._lock:
            self.channels[number] = _Channel(number, echoed)  # a re-request starts afresh
            await self._send(
                {
                    "type": "CHANNEL_OPENED",
                    "channel": number,
                    "service": "FEED",
                    "parameters": echoed,
                }
            )

    async def _on_channel_cancel(self, message: dict[str, Any]) -> None:
        number = _int_field(message, "channel")
        async with self._lock:
            if self.channels.pop(number, None) is None:
                return  # CHANNEL_CLOSED for an unknown channel raises KeyError in the SDK
            await self._send({"type": "CHANNEL_CLOSED", "channel": number})

    async def _on_feed_setup(self, message: dict[str, Any]) -> None:
        number = _int_field(message, "channel")
        async with self._lock:
            channel = self.channels.get(number)
            if channel is None:
                return  # the SDK can race a CHANNEL_CANCEL; an ERROR would kill it
            period = message.get("acceptAggregationPeriod")
            if isinstance(period, int | float) and not isinstance(period, bool):
                channel.aggregation = float(period)
            accepted = message.get("acceptEventFields")
            if isinstance(accepted, dict):
                for event_type, names in accepted.items():
                    if event_type in EVENT_FIELDS and isinstance(names, list):
                        fields = [n for n in names if isinstance(n, str)]
                        channel.layouts[event_type] = _make_layout(event_type, fields)
                        channel.batch.pop(event_type, None)
            await self._send(
                {
                    "type": "FEED_CONFIG",
                    "channel": number,
                    "aggregationPeriod": channel.aggregation,
                    "dataFormat": "COMPACT",  # the only format served, whatever was asked
                    "eventFields": {k: list(v.fields) for k, v in channel.layouts.items()},
                }
            )

    async def _on_feed_subscription(self, message: dict[str, Any]) -> None:
        number = _int_field(message, "channel")
        adds = message.get("add") or []
        removes = message.get("remove") or []
        if not isinstance(adds, list) or not isinstance(removes, list):
            raise _ProtocolError("INVALID_MESSAGE", "add and remove must be lists")
        async with self._lock:
            channel = self.channels.get(number)
            if channel is None:
                return
            if message.get("reset") is True:
                channel.subscriptions.clear()
            for entry in removes:
                if isinstance(entry, dict):
                    subs = channel.subscriptions.get(str(entry.get("type")))
                    if subs is not None:
                        subs.pop(str(entry.get("symbol")), None)
            added: dict[str, list[tuple[_Subscription, int]]] = {}
            for entry in adds:
                if not isinstance(entry, dict):
                    continue
                event_type, symbol = entry.get("type"), entry.get("symbol")
                if not isinstance(event_type, str) or not isinstance(symbol, str):
                    continue
                sub = self._subscription(event_type, symbol)
                if sub is None:
                    continue  # unknown symbol or type: nothing will ever arrive for it
                channel.subscriptions.setdefault(event_type, {})[symbol] = sub
                from_time = entry.get("fromTime")
                since = from_time if isinstance(from_time, int | float) else 0
                added.setdefault(event_type, []).append((sub, int(since)))
            if added:
                await self._send_snapshot(channel, added)

    # ------------------------------------------------------------ subscriptions

    def _subscription(self, event_type: str, symbol: str) -> _Subscription | None:
        if event_type not in EVENT_FIELDS:
            return None
        if event_type == "Candle":
            parsed = parse_candle_symbol(symbol)
            if parsed is None or parsed[0] not in self.exchange.market.symbols():
                return None
            base, period = parsed
            return _Subscription(symbol, base, None, _CandleSeries(symbol, base, period))
        source = self._source(symbol)
        if source is None:
            return None
        build = source.builder(event_type)
        return None if build is None else _Subscription(symbol, symbol, build)

    def _source(self, symbol: str) -> _Equity | _Option | None:
        if symbol in self._sources:
            return self._sources[symbol]
        market = self.exchange.market
        source: _Equity | _Option | None = None
        if symbol.startswith("."):
            try:
                option = parse_streamer(symbol)
            except SymbolError:
                option = None
            spec = market.underlying_of_root(option.root) if option else None
            if option is not None and spec is not None and market.is_listed(option):
                source = _Option(symbol, option, spec)
        else:
            equity = market.spec(symbol)
            if equity is not None:
                source = _Equity(equity)
        self._sources[symbol] = source
        return source

    # ------------------------------------------------------------ outbound data

    def _tick(self) -> _Tick:
        market = self.exchange.market
        now = self.exchange.clock.now()
        now_ms = _ms(now)
        today = now.astimezone(NEW_YORK).date()
        if self._days is None or self._days[0] != today:
            previous = self.exchange.calendar.previous_trading_day(today)
            self._days = (today, _day_id(today), _day_id(previous))
        _, day_id, prev_day_id = self._days
        return _Tick(market, market.step, now_ms, _index_of(now_ms), day_id, prev_day_id, today)

    def _stale(self) -> set[str]:
        return self.exchange.faults.stale_symbols

    def _rows(self, t: _Tick, subs: Iterable[_Subscription], stale: set[str]) -> list[Row]:
        rows: list[Row] = []
        for sub in subs:
            if sub.failed or sub.base in stale or sub.symbol in stale:
                continue
            try:
                if sub.build is not None:
                    row: Row | None = sub.build(t)
                else:
                    assert sub.series is not None
                    row = sub.series.live(t)
            except Exception:  # one bad symbol must not end everyone's stream
                sub.failed = True
                log.exception("dxlink: cannot build an event for %s; dropping it", sub.symbol)
                continue
            if row is not None:
                rows.append(row)
        return rows

    async def _send_snapshot(
        self, channel: _Channel, added: dict[str, list[tuple[_Subscription, int]]]
    ) -> None:
        """Current values of new subscriptions at once (a frozen tape still delivers one)."""
        t = self._tick()
        stale = self._stale()
        for event_type, entries in added.items():
            if event_type != "Candle":
                rows = self._rows(t, (sub for sub, _ in entries), stale)
                await self._send_rows(channel, event_type, rows)
                continue
            for sub, since in entries:
                if sub.base in stale or sub.series is None:
                    continue
                try:
                    rows = sub.series.snapshot_rows(t, since)
                except Exception:
                    sub.failed = True
                    log.exception("dxlink: cannot build candle history for %s", sub.symbol)
                    continue
                await self._send_rows(channel, event_type, rows)

    async def _send_step(self) -> None:
        t = self._tick()
        stale = self._stale()
        for channel in list(self.channels.values()):
            for event_type, subs in list(channel.subscriptions.items()):
                rows = self._rows(t, list(subs.values()), stale)
                await self._send_rows(channel, event_type, rows)

    async def _send_rows(self, channel: _Channel, event_type: str, rows: list[Row]) -> None:
        """FEED_DATA messages of at most ``BATCH_EVENTS`` events and ``MAX_OUTBOUND_BYTES``."""
        if not rows:
            return  # never an empty FEED_DATA: the SDK raises IndexError on it
        pick = channel.layout(event_type).pick
        if pick is not None:
            rows = [pick(row) for row in rows]
        for text in self._encode(channel, event_type, rows):
            await self.ws.send_str(text)

    def _encode(self, channel: _Channel, event_type: str, rows: list[Row]) -> Iterator[str]:
        head = f'{{"type":"FEED_DATA","channel":{channel.number},"data":["{event_type}",'
        size = channel.batch.get(event_type, BATCH_EVENTS)
        start = 0
        while start < len(rows):
            chunk = rows[start : start + size]
            text = head + _encode_values(chunk) + "]}"
            if len(text) > MAX_OUTBOUND_BYTES and len(chunk) > 1:
                # Too big: learn a smaller batch for this type and retry the same events.
                size = max(1, int(len(chunk) * MAX_OUTBOUND_BYTES / len(text) * 0.9))
                channel.batch[event_type] = size
                continue
            if len(text) > MAX_OUTBOUND_BYTES:
                log.warning("dxlink: dropping a %d-byte %s event", len(text), event_type)
            else:
                yield text
            start += len(chunk)

    # ------------------------------------------------------------ background tasks

    async def _pump(self) -> None:
        """One event per subscribed (type, symbol) on every market step."""
        steps = self.exchange.steps
        last = steps.step
        try:
            while True:
                # Returns the newest step: a slow client skips steps instead of queueing them.
                last = await steps.wait_after(last)
                async with self._lock:
                    await self._send_step()
        except ConnectionError:
            return  # the client went away; run() notices and cleans up
        except Exception:
            # A frozen stream would look like a quiet market: cut the line so the client knows.
            log.exception("dxlink: streaming failed; dropping the connection")
            await self.drop()

    async def _keepalive(self, interval: float) -> None:
        try:
            while True:
                await asyncio.sleep(interval)
                async with self._lock:
                    await self._send({"type": "KEEPALIVE", "channel": 0})
        except ConnectionError:
            return


def _encode_values(rows: list[Row]) -> str:
    """The flat COMPACT value array; non-finite floats become the string "NaN"."""
    flat = [value for row in rows for value in row]
    try:
        return _ENCODE(flat)
    except ValueError:  # a NaN or infinity slipped in: the SDK drops JSON NaN, so send "NaN"
        return _ENCODE([_finite(value) for value in flat])
