"""The latest-value market-data store the UI drains, and the DXLink COMPACT decoder that fills it.

Conflation happens here, at the source (textual-practices §3): the stream only overwrites the
latest record of each (symbol, event kind) and adds the symbol to a dirty set; panes drain the
set on their own timer.  Nothing is queued per tick, so a slow UI skips values instead of
building a backlog.

The decoder is the hot path.  A COMPACT payload is one flat list of ``len(fields)``-value
events; for each ``(kind, fields)`` layout we compute once which positions we need (a
:class:`_Plan`), then take every column with a C-level strided slice, validate a whole column at
once (``sum`` raises on anything that is not a number and is not finite when a NaN slipped in)
and fall back to a per-value check only for columns that fail.  Records are ``zip`` tuples of
the columns stored with ``dict.update``: on the clean path no Python bytecode runs per event at
all — no dicts per event, no pydantic.

Values are plain ``float``/``int`` or ``None``: dxFeed's ``"NaN"``/``"Infinity"`` strings,
JSON ``NaN`` and ``null`` all mean "no value" and become ``None``; anything else malformed is
counted in :class:`StreamStats` and never raises.  Once a value exists it is only ever replaced
by a newer one: stale data keeps showing, with its age, and is never blanked.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from itertools import repeat
from math import isfinite
from typing import Any, Final, NamedTuple, TypeVar

from tastytui.domain.clock import Clock
from tastytui.domain.symbols import SymbolError, occ_to_streamer

Number = float | int  # ints stay ints (sizes, volumes, open interest); both format as numbers
_NO_VALUE: Final = frozenset({"NaN", "Infinity", "-Infinity", "", "-NaN"})
_BIG: Final = 1e300  # an int beyond this is garbage, not a size (and would not fit a float)

# eventFlags bits of dxFeed indexed events (candles).
_REMOVE_EVENT: Final = 0x2
_SNAPSHOT_BEGIN: Final = 0x4


# --------------------------------------------------------------------------- records
# Records are immutable named tuples (``__slots__ = ()``, C-level field getters).  The decoder
# stores the plain tuples ``zip`` builds from the columns; the store gives them their record type
# on first read.  A newer event replaces the record, so whoever holds one sees one consistent
# event.  ``at`` is the store clock's monotonic time when it arrived (the per-kind update time).


class QuoteRec(NamedTuple):
    bid: Number | None
    ask: Number | None
    bid_size: Number | None
    ask_size: Number | None
    at: float


class TradeRec(NamedTuple):
    price: Number | None
    size: Number | None
    day_volume: Number | None
    change: Number | None
    at: float


class GreeksRec(NamedTuple):
    price: Number | None
    volatility: Number | None
    delta: Number | None
    gamma: Number | None
    theta: Number | None
    vega: Number | None
    rho: Number | None
    at: float


class SummaryRec(NamedTuple):
    day_open: Number | None
    day_high: Number | None
    day_low: Number | None
    day_close: Number | None
    prev_close: Number | None
    open_interest: Number | None
    at: float


class ProfileRec(NamedTuple):
    #: Untrusted broker text, stored exactly as received: the UI must render it inert.
    description: str | None
    high_52: Number | None
    low_52: Number | None
    beta: Number | None
    at: float


class TheoRec(NamedTuple):
    price: Number | None
    underlying_price: Number | None
    delta: Number | None
    gamma: Number | None
    at: float


class CandleRec(NamedTuple):
    time: int  # epoch ms of the candle's start
    open: Number | None
    high: Number | None
    low: Number | None
    close: Number | None
    volume: Number | None


@dataclass(frozen=True, slots=True)
class SymbolData:
    """Everything known about one (streamer) symbol: the latest record of each kind.

    A snapshot assembled by :meth:`QuoteStore.get`; the store keeps one dict per kind so the
    decoder writes a whole frame with C-level ``dict.update`` calls.
    """

    symbol: str
    #: Monotonic time of the last event of any kind (each record has its own ``at``).
    updated: float
    quote: QuoteRec | None = None
    trade: TradeRec | None = None
    greeks: GreeksRec | None = None
    summary: SummaryRec | None = None
    profile: ProfileRec | None = None
    theo: TheoRec | None = None


class CandleSeries:
    """A short close series for one candle symbol (sparklines), at most ``limit`` bars."""

    __slots__ = ("_bars", "limit", "symbol", "updated")

    def __init__(self, symbol: str, limit: int) -> None:
        self.symbol = symbol
        self.limit = limit
        self.updated = 0.0
        self._bars: dict[int, CandleRec] = {}

    def put(self, bar: CandleRec) -> None:
        self._bars[bar.time] = bar
        if len(self._bars) > self.limit:
            for old in sorted(self._bars)[: len(self._bars) - self.limit]:
                del self._bars[old]

    def remove(self, time: int) -> None:
        self._bars.pop(time, None)

    def clear(self) -> None:
        self._bars.clear()

    def bars(self) -> list[CandleRec]:
        """Bars oldest first."""
        return [self._bars[t] for t in sorted(self._bars)]

    def closes(self) -> list[float]:
        """Closing prices oldest first (bars without a close are skipped)."""
        return [float(b.close) for b in self.bars() if b.close is not None]


# --------------------------------------------------------------------------- layouts

#: The dxFeed fields each kind's record is built from, in record order (after the symbol).
RECORD_FIELDS: Final[dict[str, tuple[str, ...]]] = {
    "Quote": ("bidPrice", "askPrice", "bidSize", "askSize"),
    "Trade": ("price", "size", "dayVolume", "change"),
    "Greeks": ("price", "volatility", "delta", "gamma", "theta", "vega", "rho"),
    "Summary": (
        "dayOpenPrice",
        "dayHighPrice",
        "dayLowPrice",
        "dayClosePrice",
        "prevDayClosePrice",
        "openInterest",
    ),
    "Profile": ("description", "high52WeekPrice", "low52WeekPrice", "beta"),
    "TheoPrice": ("price", "underlyingPrice", "delta", "gamma"),
    "Candle": ("eventFlags", "time", "open", "high", "low", "close", "volume"),
}

#: What the client asks DXLink for (acceptEventFields): only what the store keeps.
DEFAULT_EVENT_FIELDS: Final[dict[str, tuple[str, ...]]] = {
    kind: ("eventSymbol", *names) for kind, names in RECORD_FIELDS.items()
}

#: Record type of each kind the store keeps (Candle has its own series).
_RECORDS: Final[dict[str, type[tuple[Any, ...]]]] = {
    "Quote": QuoteRec,
    "Trade": TradeRec,
    "Greeks": GreeksRec,
    "Summary": SummaryRec,
    "Profile": ProfileRec,
    "TheoPrice": TheoRec,
}
_TEXT_FIELDS: Final = frozenset({"description"})
_PLAN_CACHE_LIMIT: Final = 512  # a hostile FULL-format stream could invent layouts forever
_new_tuple: Final = tuple.__new__  # types a zipped tuple as a record without NamedTuple's __new__
R = TypeVar("R", bound=tuple[Any, ...])


@dataclass(frozen=True, slots=True)
class _Plan:
    """How to pull one kind's record out of a COMPACT array with a given field list."""

    kind: str
    stride: int
    symbol_at: int
    #: (position in the event or None when the server did not send the field, is text)
    columns: tuple[tuple[int | None, bool], ...]


@dataclass(slots=True)
class StreamStats:
    """Counters for benchmarks and health; they only ever grow."""

    #: FEED_DATA payloads handled.
    frames: int = 0
    #: Events written into the store.
    events: int = 0
    #: Payloads, pairs or single events skipped as malformed (length mismatch, bad symbol…).
    decode_errors: int = 0
    #: Individual values of the wrong type, stored as ``None``.
    bad_values: int = 0
    #: Events of kinds the store does not keep (ignored, not an error).
    ignored: int = 0


# --------------------------------------------------------------------------- the store


class QuoteStore:
    """Latest value per symbol and kind, a dirty set, and ages from an injected clock.

    Storage is kind-major — one ``symbol → record`` dict per kind plus ``symbol → updated`` —
    because that lets a frame be written with C-level ``dict.update`` calls (half the cost of
    touching one object per symbol, measured).  :meth:`get` assembles a :class:`SymbolData`.
    """

    def __init__(self, clock: Clock, *, candle_limit: int = 390) -> None:
        self._clock = clock
        #: kind → symbol → latest record, stored as the plain tuple ``zip`` made and given its
        #: record type on first read (reads are rare next to writes: type them lazily).
        self._latest: dict[str, dict[str, tuple[Any, ...]]] = {kind: {} for kind in _RECORDS}
        self._updated: dict[str, float] = {}
        self._dirty: set[str] = set()
        self._candles: dict[str, CandleSeries] = {}
        self._dirty_candles: set[str] = set()
        self._plans: dict[tuple[str, tuple[str, ...]], _Plan | None] = {}
        self._keys: dict[str, str] = {}
        self._candle_limit = candle_limit
        self.stats = StreamStats()

    # ------------------------------------------------------------ reading (UI side)

    def drain_dirty(self) -> set[str]:
        """Symbols updated since the last drain (the set is handed over and replaced)."""
        dirty, self._dirty = self._dirty, set()
        return dirty

    def drain_dirty_candles(self) -> set[str]:
        """Candle symbols whose series changed since the last drain."""
        dirty, self._dirty_candles = self._dirty_candles, set()
        return dirty

    def get(self, symbol: str) -> SymbolData | None:
        """The symbol's data keyed by its streamer symbol, or None if nothing arrived yet."""
        updated = self._updated.get(symbol)
        if updated is None:
            return None
        return SymbolData(
            symbol,
            updated,
            self._read("Quote", QuoteRec, symbol),
            self._read("Trade", TradeRec, symbol),
            self._read("Greeks", GreeksRec, symbol),
            self._read("Summary", SummaryRec, symbol),
            self._read("Profile", ProfileRec, symbol),
            self._read("TheoPrice", TheoRec, symbol),
        )

    def lookup(self, symbol: str) -> SymbolData | None:
        """Like :meth:`get`, but also accepts an OCC option symbol (``'SPY   261218C00600000'``)."""
        return self.get(self.streamer_key(symbol))

    # Single-kind reads for hot UI paths (a chain grid): one dict lookup each.  They accept
    # streamer or OCC symbols.

    def quote(self, symbol: str) -> QuoteRec | None:
        return self._read("Quote", QuoteRec, self.streamer_key(symbol))

    def trade(self, symbol: str) -> TradeRec | None:
        return self._read("Trade", TradeRec, self.streamer_key(symbol))

    def greeks(self, symbol: str) -> GreeksRec | None:
        return self._read("Greeks", GreeksRec, self.streamer_key(symbol))

    def summary(self, symbol: str) -> SummaryRec | None:
        return self._read("Summary", SummaryRec, self.streamer_key(symbol))

    def profile(self, symbol: str) -> ProfileRec | None:
        return self._read("Profile", ProfileRec, self.streamer_key(symbol))

    def theo(self, symbol: str) -> TheoRec | None:
        return self._read("TheoPrice", TheoRec, self.streamer_key(symbol))

    def _read(self, kind: str, record: type[R], symbol: str) -> R | None:
        table = self._latest[kind]
        raw = table.get(symbol)
        if raw is None or raw.__class__ is record:
            return raw  # None, or already typed
        typed: R = _new_tuple(record, raw)
        table[symbol] = typed  # the next read of the same event is a plain lookup
        return typed

    def streamer_key(self, symbol: str) -> str:
        """The streamer form of ``symbol``: OCC options are converted, anything else kept."""
        key = self._keys.get(symbol)
        if key is None:
            key = symbol
            if " " in symbol or (len(symbol) == 21 and not symbol.startswith(".")):
                try:
                    key = occ_to_streamer(symbol)
                except SymbolError:
                    key = symbol
            if len(self._keys) < 100_000:  # bounded: keys come from user input too
                self._keys[symbol] = key
        return key

    def symbols(self) -> list[str]:
        """Every symbol the store has data for."""
        return list(self._updated)

    def age(self, symbol: str) -> float | None:
        """Seconds since the symbol's last event (None if none ever arrived)."""
        updated = self._updated.get(self.streamer_key(symbol))
        if updated is None:
            return None
        return self._clock.monotonic() - updated

    def stale_symbols(self, after: float, among: Iterable[str]) -> list[str]:
        """Symbols of ``among`` with nothing newer than ``after`` seconds (or nothing at all)."""
        horizon = self._clock.monotonic() - after
        updated = self._updated
        return [s for s in among if updated.get(s, -math.inf) < horizon]

    def mid(self, symbol: str) -> float | None:
        """(bid + ask) / 2 of the latest quote, when both sides exist and the ask is positive."""
        quote = self.quote(symbol)
        if quote is None or quote.bid is None or quote.ask is None or quote.ask <= 0:
            return None
        return (quote.bid + quote.ask) / 2.0

    def last(self, symbol: str) -> float | None:
        """The last trade price, else the day's close, else the previous close."""
        key = self.streamer_key(symbol)
        trade = self.trade(key)
        if trade is not None and trade.price is not None:
            return float(trade.price)
        summary = self.summary(key)
        if summary is not None:
            for value in (summary.day_close, summary.prev_close):
                if value is not None:
                    return float(value)
        return None

    def candles(self, candle_symbol: str) -> CandleSeries | None:
        """The bar series of a braced candle symbol such as ``'SPY{=5m}'``."""
        return self._candles.get(candle_symbol)

    # ------------------------------------------------------------ writing (stream side)

    def apply_feed_data(self, data: Any, layouts: Mapping[str, tuple[str, ...]]) -> int:
        """Apply the ``data`` member of a FEED_DATA message; returns the events written.

        COMPACT data is ``[kind, values, kind, values, …]`` (every pair is applied, unlike the
        SDK which reads only the first); FULL data is a list of event objects.  ``layouts``
        gives the field list the server was asked for (or announced in FEED_CONFIG) per kind.
        """
        stats = self.stats
        stats.frames += 1
        if data.__class__ is not list or not data:
            stats.decode_errors += 1
            return 0
        if data[0].__class__ is dict:
            return self.apply_full(None, data)
        applied = 0
        if len(data) % 2:
            stats.decode_errors += 1  # a dangling kind: apply the complete pairs anyway
        for i in range(0, len(data) - 1, 2):
            kind, values = data[i], data[i + 1]
            if kind.__class__ is not str:
                stats.decode_errors += 1
                continue
            if values.__class__ is list and values and values[0].__class__ is dict:
                applied += self.apply_full(kind, values)
                continue
            fields = layouts.get(kind)
            if fields is None:
                stats.ignored += 1
                continue
            applied += self.apply_compact(kind, fields, values)
        return applied

    def apply_full(self, kind: str | None, events: list[Any]) -> int:
        """FULL format: one object per event, ``eventType`` naming its kind (else ``kind``)."""
        applied = 0
        for event in events:
            if event.__class__ is not dict:
                self.stats.decode_errors += 1
                continue
            event_kind = event.get("eventType", kind)
            fields = tuple(event)
            if event_kind.__class__ is not str or not all(f.__class__ is str for f in fields):
                self.stats.decode_errors += 1
                continue
            applied += self.apply_compact(event_kind, fields, list(event.values()))
        return applied

    def apply_compact(self, kind: str, fields: tuple[str, ...], values: Any) -> int:
        """Write a flat COMPACT array of ``kind`` events laid out as ``fields``; the hot path.

        Returns the number of events written.  A length that is not a multiple of the field
        count skips the whole array (and counts a decode error): the layout is not what we
        think, so no value in it can be trusted.
        """
        plan = self._plans.get((kind, fields), _MISSING)
        if plan is _MISSING:
            plan = self._plan(kind, fields)
        if plan is None:
            self.stats.ignored += 1
            return 0
        stride = plan.stride
        if values.__class__ is not list or not values or len(values) % stride:
            self.stats.decode_errors += 1
            return 0
        symbols = values[plan.symbol_at :: stride]
        try:
            "".join(symbols)  # C-speed check that every symbol is a str
        except TypeError:
            values, symbols = self._drop_bad_symbols(values, symbols, stride, plan.symbol_at)
            if not symbols:
                return 0
        if plan.kind == "Candle":
            return self._apply_candles(plan, values, symbols)
        now = self._clock.monotonic()
        count = len(symbols)
        columns = [
            (self._texts if text else self._numbers)(values[at::stride])
            if at is not None
            else [None] * count
            for at, text in plan.columns
        ]
        # Three C-level passes: zip the records, store them, stamp the symbols.  Within a
        # frame a later event of the same symbol wins, as it would one by one.
        records = zip(*columns, repeat(now))
        self._latest[plan.kind].update(zip(symbols, records, strict=True))
        self._updated.update(zip(symbols, repeat(now)))
        self._dirty.update(symbols)
        self.stats.events += count
        return count

    # ------------------------------------------------------------ internals

    def _plan(self, kind: str, fields: tuple[str, ...]) -> _Plan | None:
        """Build (and cache) the extraction plan for one layout; None for kinds we do not keep."""
        if len(self._plans) >= _PLAN_CACHE_LIMIT:
            self._plans.clear()
        plan: _Plan | None = None
        wanted = RECORD_FIELDS.get(kind)
        if wanted is not None and "eventSymbol" in fields:
            position = {name: i for i, name in reversed(list(enumerate(fields)))}
            plan = _Plan(
                kind=kind,
                stride=len(fields),
                symbol_at=position["eventSymbol"],
                columns=tuple((position.get(name), name in _TEXT_FIELDS) for name in wanted),
            )
        self._plans[(kind, fields)] = plan
        return plan

    def _numbers(self, column: list[Any]) -> list[Any]:
        """The column as numbers or None; checked as a whole first (the common, clean case)."""
        try:
            # sum() raises TypeError on any non-number and is not finite if a NaN/inf is in it.
            if isfinite(sum(column)):
                return column
        except (TypeError, OverflowError):
            pass
        number = self._number
        return [
            v
            if ((c := v.__class__) is float and v - v == 0.0) or (c is int and -_BIG < v < _BIG)
            else number(v)
            for v in column
        ]

    def _number(self, value: Any) -> Number | None:
        """One value that failed the fast path: a number, or None ("NaN" & co. or garbage)."""
        if value is None:
            return None
        if isinstance(value, float):
            return value if isfinite(value) else None  # JSON NaN / Infinity literals
        if isinstance(value, int):
            try:
                float(value)  # an int too big for a float is garbage, not a price
            except OverflowError:
                self.stats.bad_values += 1
                return None
            return value
        if isinstance(value, str):
            if value in _NO_VALUE:
                return None
            try:
                number = float(value)  # dxFeed may send numbers as strings
            except ValueError:
                self.stats.bad_values += 1
                return None
            return number if isfinite(number) else None
        self.stats.bad_values += 1
        return None

    def _texts(self, column: list[Any]) -> list[Any]:
        out: list[Any] = []
        for value in column:
            if isinstance(value, str):
                out.append(None if value == "NaN" else str(value))
            else:
                if value is not None:
                    self.stats.bad_values += 1
                out.append(None)
        return out

    def _drop_bad_symbols(
        self, values: list[Any], symbols: list[Any], stride: int, symbol_at: int
    ) -> tuple[list[Any], list[str]]:
        """Remove events whose symbol is not a string (each counts as a decode error)."""
        keep = [i for i, symbol in enumerate(symbols) if isinstance(symbol, str)]
        self.stats.decode_errors += len(symbols) - len(keep)
        kept = [v for i in keep for v in values[i * stride : (i + 1) * stride]]
        return kept, kept[symbol_at::stride]

    def _apply_candles(self, plan: _Plan, values: list[Any], symbols: list[str]) -> int:
        """Candles are rare (history once, then one live bar per step): a plain loop."""
        stride = plan.stride
        now = self._clock.monotonic()
        columns = [
            self._numbers(values[at::stride]) if at is not None else [None] * len(symbols)
            for at, _ in plan.columns
        ]
        count = 0
        for symbol, flags, time, o, h, lo, c, v in zip(symbols, *columns, strict=True):
            series = self._candles.get(symbol)
            if series is None:
                series = self._candles[symbol] = CandleSeries(symbol, self._candle_limit)
            bits = flags if isinstance(flags, int) else 0
            if bits & _SNAPSHOT_BEGIN:
                series.clear()  # a new snapshot replaces whatever we had
            if isinstance(time, float) and time.is_integer():
                time = int(time)
            if not isinstance(time, int):
                if not bits & _REMOVE_EVENT:  # an empty snapshot carries no bar: fine
                    self.stats.decode_errors += 1
                continue
            if bits & _REMOVE_EVENT:
                series.remove(time)
            else:
                series.put(CandleRec(time, o, h, lo, c, v))
                count += 1
            series.updated = now
            self._dirty_candles.add(symbol)
        self.stats.events += count
        return count


_MISSING: Final[Any] = object()


def candle_symbol(symbol: str, period: str) -> str:
    """The dxFeed candle symbol of ``symbol`` at ``period`` (``'5m'``, ``'1h'``, ``'1d'``)."""
    return f"{symbol}{{={period}}}"
