"""Option symbols in both wire forms, equity tickers, and rounding prices onto tick grids."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tastytui.domain.symbols import (
    OptionSymbol,
    OptionType,
    SymbolError,
    is_option_symbol,
    normalize_equity,
    occ_to_streamer,
    parse_occ,
    parse_option,
    parse_streamer,
    streamer_to_occ,
)
from tastytui.domain.ticks import (
    NICKEL_DIME,
    PENNY_ALL,
    PENNY_PILOT,
    Rounding,
    TickBand,
    TickError,
    TickSchedule,
)

D = Decimal
DEC19 = date(2025, 12, 19)


# --- symbols -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("occ", "streamer", "strike"),
    [
        ("SPY   251219P00685000", ".SPY251219P685", D("685")),
        ("SPY   251219C00682500", ".SPY251219C682.5", D("682.5")),
        ("AAPL  251219C00001250", ".AAPL251219C1.25", D("1.25")),
        ("SPXW  251219P06800000", ".SPXW251219P6800", D("6800")),
        ("F     251219C00012500", ".F251219C12.5", D("12.5")),
    ],
)
def test_occ_and_streamer_forms_name_the_same_contract(
    occ: str, streamer: str, strike: Decimal
) -> None:
    option = parse_occ(occ)
    assert option.strike == strike
    assert option.expiration == DEC19
    assert option.streamer == streamer
    assert occ_to_streamer(occ) == streamer
    assert streamer_to_occ(streamer) == occ
    assert parse_option(streamer) == option == parse_option(occ)


def test_spxw_root_is_kept_separate_from_spx() -> None:
    weekly = parse_occ("SPXW  251219P06800000")
    monthly = parse_occ("SPX   251219P06800000")
    assert weekly.root == "SPXW"
    assert monthly.root == "SPX"
    assert weekly != monthly


def test_occ_symbol_is_21_characters_with_padded_root() -> None:
    option = OptionSymbol("F", DEC19, OptionType.CALL, D("12.5"))
    assert option.occ == "F     251219C00012500"
    assert len(option.occ) == 21


@pytest.mark.parametrize("text", ["BRK/B", "SPY", "AAPL", "BF/A"])
def test_equities_with_class_suffix_are_not_options(text: str) -> None:
    assert not is_option_symbol(text)
    assert normalize_equity(text.lower()) == text
    with pytest.raises(SymbolError):
        parse_option(text)


@pytest.mark.parametrize(
    "bad",
    [
        "SPY   251319P00685000",  # month 13
        "SPY   251219X00685000",  # not C/P
        "SPY251219P00685000",  # unpadded root
        ".SPY251219P",  # no strike
        ".SPY251232C685",  # day 32
    ],
)
def test_malformed_option_symbols_are_rejected(bad: str) -> None:
    with pytest.raises(SymbolError):
        parse_option(bad)


@pytest.mark.parametrize("bad", ["", "  ", "1SPY", "TOOLONGX", "SP Y"])
def test_bad_tickers_say_what_a_ticker_looks_like(bad: str) -> None:
    with pytest.raises(SymbolError, match="ticker"):
        normalize_equity(bad)


def test_strike_with_more_than_three_decimals_is_rejected() -> None:
    with pytest.raises(SymbolError, match="three decimals"):
        OptionSymbol("SPY", DEC19, OptionType.PUT, D("1.2345"))


roots = st.from_regex(r"[A-Z][A-Z0-9]{0,5}", fullmatch=True)
strikes = st.integers(min_value=1, max_value=99_999_999).map(lambda m: D(m) / 1000)
expirations = st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 12, 31))
options = st.builds(OptionSymbol, roots, expirations, st.sampled_from(OptionType), strikes)


@settings(max_examples=300, deadline=None)
@given(options)
def test_symbol_round_trip_through_both_forms(option: OptionSymbol) -> None:
    assert parse_occ(option.occ) == option
    assert parse_streamer(option.streamer) == option
    assert streamer_to_occ(option.streamer) == option.occ
    assert occ_to_streamer(option.occ) == option.streamer


# --- ticks -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("schedule", "price", "expected"),
    [
        (PENNY_PILOT, D("2.994"), D("2.99")),
        (PENNY_PILOT, D("2.996"), D("3.00")),  # rounds up across the threshold
        (PENNY_PILOT, D("3.02"), D("3.00")),
        (PENNY_PILOT, D("3.03"), D("3.05")),
        (NICKEL_DIME, D("2.97"), D("2.95")),
        (NICKEL_DIME, D("3.04"), D("3.00")),
        (NICKEL_DIME, D("3.06"), D("3.10")),
        (PENNY_PILOT, D("-3.03"), D("-3.05")),  # a debit keeps its sign
        (PENNY_ALL, D("12.345"), D("12.35")),
    ],
)
def test_round_to_nearest_tick(schedule: TickSchedule, price: Decimal, expected: Decimal) -> None:
    assert schedule.round(price) == expected


def test_round_up_and_down_bracket_an_off_grid_price() -> None:
    assert NICKEL_DIME.round(D("3.01"), Rounding.DOWN) == D("3.00")
    assert NICKEL_DIME.round(D("3.01"), Rounding.UP) == D("3.10")
    assert NICKEL_DIME.round(D("2.96"), Rounding.UP) == D("3.00")


def test_increment_depends_on_magnitude_not_sign() -> None:
    assert PENNY_PILOT.increment_at(D("2.99")) == D("0.01")
    assert PENNY_PILOT.increment_at(D("3.00")) == D("0.05")
    assert PENNY_PILOT.increment_at(D("-3.00")) == D("0.05")


def test_is_on_grid() -> None:
    assert PENNY_PILOT.is_on_grid(D("2.99"))
    assert not PENNY_PILOT.is_on_grid(D("3.01"))
    assert PENNY_PILOT.is_on_grid(D("-3.05"))


@pytest.mark.parametrize(
    ("schedule", "price", "ticks", "expected"),
    [
        (PENNY_PILOT, D("2.99"), 1, D("3.00")),
        (PENNY_PILOT, D("3.00"), 1, D("3.05")),
        (PENNY_PILOT, D("3.00"), -1, D("2.99")),  # steps down in the finer band below
        (NICKEL_DIME, D("3.00"), -2, D("2.90")),
        (PENNY_PILOT, D("-1.50"), 2, D("-1.52")),  # a larger debit
        (NICKEL_DIME, D("0.10"), -5, D("0.05")),  # never through zero
        (PENNY_ALL, D("0.01"), -1, D("0.01")),
        (PENNY_ALL, D("-0.01"), -3, D("-0.01")),
    ],
)
def test_nudge(schedule: TickSchedule, price: Decimal, ticks: int, expected: Decimal) -> None:
    assert schedule.nudge(price, ticks) == expected


def test_schedule_from_wire_round_trips() -> None:
    wire = [{"value": "0.01", "threshold": "3"}, {"value": "0.05"}]
    schedule = TickSchedule.from_wire(wire)
    assert schedule == PENNY_PILOT
    assert schedule.to_wire() == wire


def test_schedule_must_end_without_threshold() -> None:
    with pytest.raises(TickError, match="last tick band"):
        TickSchedule((TickBand(D("0.01"), D("3")),))


schedules = st.sampled_from([PENNY_ALL, PENNY_PILOT, NICKEL_DIME])
prices = st.decimals(min_value=D("-500"), max_value=D("500"), places=4)


@settings(max_examples=300, deadline=None)
@given(schedules, prices)
def test_nearest_rounding_lands_on_grid_within_half_a_tick(
    schedule: TickSchedule, price: Decimal
) -> None:
    rounded = schedule.round(price)
    assert schedule.is_on_grid(rounded)
    assert abs(rounded - price) <= schedule.increment_at(price) / 2
    assert rounded == 0 or (rounded < 0) == (price < 0)


@settings(max_examples=300, deadline=None)
@given(schedules, prices)
def test_up_and_down_rounding_bracket_the_price(schedule: TickSchedule, price: Decimal) -> None:
    up, down = schedule.round(price, Rounding.UP), schedule.round(price, Rounding.DOWN)
    assert schedule.is_on_grid(up) and schedule.is_on_grid(down)
    assert abs(down) <= abs(price) <= abs(up)


@settings(max_examples=300, deadline=None)
@given(schedules, prices.filter(lambda p: p != 0), st.integers(min_value=-50, max_value=50))
def test_nudge_stays_on_grid_and_never_crosses_zero(
    schedule: TickSchedule, price: Decimal, ticks: int
) -> None:
    start = schedule.round(price)
    if start == 0:
        return
    moved = schedule.nudge(start, ticks)
    assert schedule.is_on_grid(moved)
    assert moved != 0 and (moved < 0) == (start < 0)
    if ticks > 0:
        assert abs(moved) > abs(start)
