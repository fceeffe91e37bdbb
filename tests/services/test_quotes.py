"""QuoteStore and its COMPACT decoder: what lands in the store, what is dropped, and that
nothing a server sends can make it raise."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tastytui.domain.clock import ManualClock
from tastytui.services.quotes import (
    DEFAULT_EVENT_FIELDS,
    QuoteRec,
    QuoteStore,
    candle_symbol,
)
from tastytui.sim.dxlink import EVENT_FIELDS as SDK_FIELDS

QUOTE = DEFAULT_EVENT_FIELDS["Quote"]  # eventSymbol, bidPrice, askPrice, bidSize, askSize
TRADE = DEFAULT_EVENT_FIELDS["Trade"]
GREEKS = DEFAULT_EVENT_FIELDS["Greeks"]
PROFILE = DEFAULT_EVENT_FIELDS["Profile"]
SUMMARY = DEFAULT_EVENT_FIELDS["Summary"]


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime(2026, 11, 18, 15, 0, tzinfo=UTC))


@pytest.fixture
def store(clock: ManualClock) -> QuoteStore:
    return QuoteStore(clock)


# ---------------------------------------------------------------- the happy path


def test_compact_frame_writes_latest_records_and_marks_symbols_dirty(store: QuoteStore) -> None:
    written = store.apply_compact(
        "Quote", QUOTE, ["SPY", 681.6, 681.62, 300, 200, "QQQ", 520.1, 520.12, 10, 12]
    )

    assert written == 2
    spy = store.quote("SPY")
    assert spy is not None
    assert (spy.bid, spy.ask, spy.bid_size, spy.ask_size) == (681.6, 681.62, 300, 200)
    assert store.mid("SPY") == pytest.approx(681.61)
    assert store.drain_dirty() == {"SPY", "QQQ"}
    assert store.drain_dirty() == set()  # drained means cleared


def test_a_later_event_replaces_the_record_and_the_last_in_a_frame_wins(
    store: QuoteStore, clock: ManualClock
) -> None:
    store.apply_compact("Quote", QUOTE, ["SPY", 1.0, 2.0, 1, 1])
    first = store.quote("SPY")
    clock.advance(1.0)
    store.apply_compact("Quote", QUOTE, ["SPY", 3.0, 4.0, 1, 1, "SPY", 5.0, 6.0, 1, 1])

    latest = store.quote("SPY")
    assert latest is not None and (latest.bid, latest.ask) == (5.0, 6.0)
    assert first == QuoteRec(1.0, 2.0, 1, 1, first.at if first else 0.0)  # untouched object
    assert latest.at == pytest.approx(first.at + 1.0 if first else 0.0)


def test_fields_are_found_by_name_in_any_layout(store: QuoteStore) -> None:
    """The SDK's full 12-field Quote layout, as a server following it would send."""
    layout = SDK_FIELDS["Quote"]
    event = ["SPY", 0, 0, 0, 1, "Q", 1, "Q", 742.59, 742.62, 170.0, "NaN"]
    assert store.apply_compact("Quote", layout, event) == 1

    quote = store.quote("SPY")
    assert quote is not None
    assert (quote.bid, quote.ask, quote.bid_size, quote.ask_size) == (742.59, 742.62, 170.0, None)


def test_every_kind_has_its_record(store: QuoteStore, clock: ManualClock) -> None:
    opt = ".SPY261218C600"
    store.apply_compact("Trade", TRADE, ["SPY", 681.64, 106, 3_309_299, 0.37])
    store.apply_compact("Greeks", GREEKS, [opt, 45.6, 0.22, 0.61, 0.01, -0.05, 0.3, 0.2])
    store.apply_compact("Summary", SUMMARY, ["SPY", 680.0, 683.0, 679.5, "NaN", 681.27, 0])
    store.apply_compact("Profile", PROFILE, ["SPY", "SPDR S&P 500 ETF Trust", 772.4, 630.0, 1.0])
    clock.advance(2.5)

    spy = store.get("SPY")
    assert spy is not None and spy.trade is not None and spy.summary is not None
    assert spy.trade.price == 681.64 and spy.trade.day_volume == 3_309_299
    assert spy.summary.day_close is None and spy.summary.prev_close == 681.27
    assert spy.profile is not None and spy.profile.description == "SPDR S&P 500 ETF Trust"
    assert store.last("SPY") == 681.64
    greeks = store.greeks(opt)
    assert greeks is not None and greeks.delta == 0.61 and greeks.rho == 0.2
    assert store.age("SPY") == pytest.approx(2.5)
    assert store.age("QQQ") is None


def test_last_falls_back_to_the_close_without_trades(store: QuoteStore) -> None:
    store.apply_compact("Summary", SUMMARY, ["SPX", "NaN", "NaN", "NaN", 5900.5, 5880.0, 0])
    assert store.last("SPX") == 5900.5
    assert store.last("NOPE") is None
    assert store.mid("SPX") is None


def test_occ_and_streamer_symbols_reach_the_same_quote(store: QuoteStore) -> None:
    store.apply_compact("Quote", QUOTE, [".SPY261218C600", 84.1, 84.5, 10, 12])

    assert store.quote("SPY   261218C00600000") == store.quote(".SPY261218C600")
    assert store.lookup("SPY   261218C00600000") is not None
    assert store.mid("SPY   261218C00600000") == pytest.approx(84.3)


def test_feed_data_applies_every_pair_and_full_format(store: QuoteStore) -> None:
    data = ["Quote", ["SPY", 1.0, 2.0, 1, 1], "Trade", ["SPY", 1.5, 10, 100, 0.1]]
    assert store.apply_feed_data(data, DEFAULT_EVENT_FIELDS) == 2

    full = [
        {"eventType": "Quote", "eventSymbol": "QQQ", "bidPrice": 5.0, "askPrice": 5.1},
        {"eventType": "Greeks", "eventSymbol": ".QQQ261218C500", "delta": 0.5},
    ]
    assert store.apply_feed_data(full, DEFAULT_EVENT_FIELDS) == 2
    qqq = store.quote("QQQ")
    assert qqq is not None and qqq.ask == 5.1 and qqq.bid_size is None  # missing → None
    greeks = store.greeks(".QQQ261218C500")
    assert greeks is not None and greeks.delta == 0.5 and greeks.gamma is None


def test_stale_symbols_by_age(store: QuoteStore, clock: ManualClock) -> None:
    store.apply_compact("Quote", QUOTE, ["SPY", 1.0, 2.0, 1, 1, "QQQ", 1.0, 2.0, 1, 1])
    clock.advance(10)
    store.apply_compact("Quote", QUOTE, ["QQQ", 1.0, 2.0, 1, 1])
    clock.advance(6)

    assert store.stale_symbols(15.0, ["SPY", "QQQ", "IWM"]) == ["SPY", "IWM"]
    # Stale is only a flag: the old values are still there to show, dimmed, with their age.
    assert store.quote("SPY") is not None


# ---------------------------------------------------------------- hostile and broken input


def test_nan_forms_become_none_without_an_error(store: QuoteStore) -> None:
    values = [
        ["A", "NaN", "Infinity", "-Infinity", None],
        ["B", math.nan, math.inf, -math.inf, 5],
    ]
    for event in values:
        store.apply_compact("Quote", QUOTE, event)

    for symbol in ("A", "B"):
        quote = store.quote(symbol)
        assert quote is not None
        assert (quote.bid, quote.ask, quote.bid_size) == (None, None, None)
    assert store.stats.bad_values == 0
    assert store.stats.decode_errors == 0


def test_wrong_types_become_none_and_are_counted(store: QuoteStore) -> None:
    store.apply_compact("Quote", QUOTE, ["X", "abc", [1], {"a": 1}, 10**400])
    store.apply_compact("Quote", QUOTE, ["Y", "12.5", 13, "NaN", 7])  # numeric strings are fine

    x = store.quote("X")
    assert x is not None and (x.bid, x.ask, x.bid_size, x.ask_size) == (None, None, None, None)
    assert store.stats.bad_values == 4
    y = store.quote("Y")
    assert y is not None and (y.bid, y.ask, y.ask_size) == (12.5, 13, 7)


def test_length_mismatch_skips_the_whole_array(store: QuoteStore) -> None:
    truncated = ["SPY", 1.0, 2.0, 3, 4, "QQQ", 1.0]
    assert store.apply_compact("Quote", QUOTE, truncated) == 0

    assert store.get("SPY") is None  # a shifted layout cannot be trusted at all
    assert store.stats.decode_errors == 1
    assert store.drain_dirty() == set()


@pytest.mark.parametrize("values", [None, "SPY", 42, {}, [], [[]]])
def test_values_that_are_not_an_event_array_are_counted(store: QuoteStore, values: Any) -> None:
    assert store.apply_compact("Quote", QUOTE, values) == 0
    assert store.stats.decode_errors == 1


def test_an_event_without_a_string_symbol_is_dropped_alone(store: QuoteStore) -> None:
    values = [None, 1.0, 2.0, 1, 1, "SPY", 3.0, 4.0, 1, 1, 7, 1.0, 2.0, 1, 1]
    assert store.apply_compact("Quote", QUOTE, values) == 1

    assert store.symbols() == ["SPY"]
    assert store.stats.decode_errors == 2


@pytest.mark.parametrize(
    "data", [None, [], "Quote", ["Quote"], [1, ["SPY"]], ["Nope", [1, 2]], [None, None]]
)
def test_malformed_feed_data_never_raises(store: QuoteStore, data: Any) -> None:
    assert store.apply_feed_data(data, DEFAULT_EVENT_FIELDS) == 0


def test_hostile_descriptions_are_stored_verbatim(store: QuoteStore) -> None:
    hostile = "[bold red]BUY NOW[/] \x1b[2J\x1b]0;pwned\x07 <script>alert(1)</script> ‮gnp.exe"
    store.apply_compact("Profile", PROFILE, ["EVIL", hostile, "NaN", 1.0, {"x": 1}])

    profile = store.profile("EVIL")
    assert profile is not None
    assert profile.description == hostile  # the UI renders it inert; the store keeps it exact
    assert (profile.high_52, profile.low_52, profile.beta) == (None, 1.0, None)
    assert store.stats.bad_values == 1


def test_kinds_the_store_does_not_keep_are_ignored(store: QuoteStore) -> None:
    assert store.apply_compact("TimeAndSale", ("eventSymbol", "price"), ["SPY", 1.0]) == 0
    assert store.stats.ignored == 1 and store.stats.decode_errors == 0


# ---------------------------------------------------------------- candles


def test_candle_snapshot_builds_a_close_series(store: QuoteStore) -> None:
    sym = candle_symbol("SPY", "5m")
    fields = DEFAULT_EVENT_FIELDS["Candle"]  # eventSymbol, eventFlags, time, o, h, l, c, volume
    store.apply_compact("Candle", fields, [sym, 0, 50, 1, 1, 1, 0.5, 1])  # left from before
    snapshot = [
        [sym, 0x4, 300, 3, 3, 3, 3.5, 10],  # SNAPSHOT_BEGIN on the newest: replaces the series
        [sym, 0, 200, 2, 2, 2, 2.5, 10],
        [sym, 0x8, 100, 1, 1, 1, 1.5, 10],  # SNAPSHOT_END on the oldest
    ]
    store.apply_compact("Candle", fields, [v for row in snapshot for v in row])
    store.apply_compact("Candle", fields, [sym, 0, 300, 3, 4, 3, 3.75, 12])  # live update
    store.apply_compact("Candle", fields, [sym, 0x2, 200, "NaN", "NaN", "NaN", "NaN", 0])

    series = store.candles(sym)
    assert series is not None
    assert series.closes() == [1.5, 3.75]
    assert store.drain_dirty_candles() == {sym}


def test_candle_series_keeps_only_the_newest_bars(clock: ManualClock) -> None:
    store = QuoteStore(clock, candle_limit=3)
    fields = DEFAULT_EVENT_FIELDS["Candle"]
    rows = [["SPY{=1m}", 0, t, 1, 1, 1, float(t), 1] for t in range(10)]
    store.apply_compact("Candle", fields, [v for row in rows for v in row])

    series = store.candles("SPY{=1m}")
    assert series is not None and series.closes() == [7.0, 8.0, 9.0]


# ---------------------------------------------------------------- fuzz

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(["NaN", "Infinity", "-Infinity", "", "1.5", "SPY"]),
    st.text(max_size=8),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(
    kind=st.sampled_from([*DEFAULT_EVENT_FIELDS, "Bogus"]),
    values=st.lists(json_values, max_size=40),
    layout=st.sampled_from(["ours", "sdk"]),
)
def test_arbitrary_value_arrays_never_raise_and_store_only_numbers(
    kind: str, values: list[Any], layout: str
) -> None:
    store = QuoteStore(ManualClock(datetime(2026, 11, 18, tzinfo=UTC)))
    fields = DEFAULT_EVENT_FIELDS.get(kind, QUOTE)
    if layout == "sdk" and kind in SDK_FIELDS:
        fields = SDK_FIELDS[kind]
    store.apply_compact(kind, fields, values)

    for symbol in store.symbols():
        data = store.get(symbol)
        assert data is not None
        for record in (data.quote, data.trade, data.greeks, data.summary, data.theo):
            for value in record or ():
                assert value is None or (isinstance(value, int | float) and math.isfinite(value)), (
                    value
                )
