"""Buying-power requirements: what a position ties up beyond its mark value."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tastytui.domain.margin import (
    MarginError,
    MarginPosition,
    order_requirement_change,
    requirement,
)
from tastytui.domain.symbols import OptionSymbol, OptionType

D = Decimal
DEC19 = date(2025, 12, 19)
JAN16 = date(2026, 1, 16)
SPOT = D(680)


def put(qty: int, strike: str, mark: str, when: date = DEC19) -> MarginPosition:
    return MarginPosition(
        OptionSymbol("SPY", when, OptionType.PUT, D(strike)), D(qty), D(mark), 100
    )


def call(qty: int, strike: str, mark: str, when: date = DEC19) -> MarginPosition:
    option = OptionSymbol("SPY", when, OptionType.CALL, D(strike))
    return MarginPosition(option, D(qty), D(mark), 100)


def shares(qty: int, mark: str = "680") -> MarginPosition:
    return MarginPosition(None, D(qty), D(mark), 1)


def margin(*positions: MarginPosition) -> Decimal:
    return requirement(list(positions), SPOT, True)


def cash(*positions: MarginPosition) -> Decimal:
    return requirement(list(positions), SPOT, False)


def test_nothing_held_needs_nothing() -> None:
    assert margin() == 0


def test_stock_is_half_on_margin_and_whole_in_cash() -> None:
    assert margin(shares(100)) == D(34000)
    assert cash(shares(100)) == D(68000)
    assert margin(shares(-100)) == D(34000)


def test_short_stock_needs_a_margin_account() -> None:
    with pytest.raises(MarginError, match="short stock needs a margin account"):
        cash(shares(-10))


def test_long_options_tie_up_their_value() -> None:
    assert margin(call(2, "700", "3.10")) == D(620)
    assert cash(put(1, "650", "2.00")) == D(200)


def test_credit_spread_is_width_less_credit() -> None:
    # 5-wide put spread sold for 1.50.
    assert margin(put(-1, "670", "2.50"), put(1, "665", "1.00")) == D(350)
    assert cash(put(-3, "670", "2.50"), put(3, "665", "1.00")) == D(1050)


def test_debit_spread_is_the_debit() -> None:
    assert margin(call(1, "680", "7.00"), call(-1, "690", "3.00")) == D(400)


def test_iron_condor_charges_only_the_wider_side() -> None:
    condor = [
        put(1, "640", "0.50"),
        put(-1, "645", "1.00"),
        call(-1, "720", "1.00"),
        call(1, "730", "0.40"),
    ]
    # Puts 5 wide, calls 10 wide; 1.10 credit in all: 1000 − 110.
    assert margin(*condor) == D(890)
    # Each side alone costs more than the condor.
    assert margin(*condor[:2]) + margin(*condor[2:]) > margin(*condor)


def test_iron_butterfly() -> None:
    fly = [put(2, "670", "1"), put(-2, "680", "5"), call(-2, "680", "5"), call(2, "690", "1")]
    assert margin(*fly) == 2 * (1000 - 800)


def test_calendar_is_the_debit() -> None:
    assert margin(call(-1, "680", "5", DEC19), call(1, "680", "8", JAN16)) == D(300)


def test_a_long_expiring_before_the_short_does_not_cover_it() -> None:
    reverse = [call(1, "680", "5", DEC19), call(-1, "680", "8", JAN16)]
    naked = (D("0.20") * 680) * 100 + 800
    assert margin(*reverse) == 500 + naked


def test_naked_put_uses_the_twenty_percent_rule() -> None:
    # 20% of 680 less 30 out of the money = 106 a share, plus the 3.00 premium.
    assert margin(put(-1, "650", "3.00")) == D(10600 + 300)
    # Far out of the money the 10%-of-strike floor applies: 0.10 × 500 = 50.
    assert margin(put(-2, "500", "0.10")) == 2 * (D(5000) + 10)


def test_naked_call_uses_the_twenty_percent_rule() -> None:
    # 20% of 680 less 20 out of the money = 116, plus 2.50.
    assert margin(call(-1, "700", "2.50")) == D(11600 + 250)
    # Far out: 10% of the underlying, 68.
    assert margin(call(-1, "900", "0.05")) == D(6800 + 5)


def test_cash_secured_put_is_the_strike_less_the_premium_in_cash() -> None:
    assert cash(put(-1, "650", "3.00")) == D(65000 - 300)


def test_naked_calls_need_a_margin_account() -> None:
    with pytest.raises(MarginError, match="naked calls need a margin account"):
        cash(call(-1, "700", "2.50"))


def test_covered_call_needs_only_the_stocks_requirement() -> None:
    assert margin(shares(100), call(-1, "700", "2.50")) == D(34000)
    assert cash(shares(100), call(-1, "700", "2.50")) == D(68000)
    # 150 shares cover one call; the second is naked.
    assert margin(shares(150), call(-2, "700", "2.50")) == D(51000) + 11600 + 250


def test_short_is_paired_with_the_cheapest_long() -> None:
    # The 665 put makes a 5-wide spread; the 600 put would leave a 70-wide one.
    positions = [put(-1, "670", "2.50"), put(1, "665", "1.00"), put(1, "600", "0.05")]
    assert margin(*positions) == 350 + 5


def test_a_very_wide_spread_costs_no_more_than_the_naked_short() -> None:
    wide = [put(-1, "670", "9.00"), put(1, "100", "0.01")]
    naked = margin(put(-1, "670", "9.00"))
    assert margin(*wide) == naked + 1  # the long still counts its own value


def test_order_requirement_change() -> None:
    before = [put(-1, "670", "2.50")]
    after = [put(-1, "670", "2.50"), put(1, "665", "1.00")]
    change = order_requirement_change(before, after, SPOT, True)
    assert change == D(350) - margin(put(-1, "670", "2.50"))
    assert change < 0  # buying the wing frees buying power


def test_positions_are_merged_by_contract() -> None:
    assert margin(put(-1, "670", "2.50"), put(-1, "670", "2.50"), put(2, "665", "1.00")) == 700


# --- properties --------------------------------------------------------------------------------

marks = st.decimals(min_value=D("0.01"), max_value=D("40"), places=2)
strikes = st.integers(min_value=120, max_value=150).map(lambda n: D(n * 5))
quantities = st.integers(min_value=-3, max_value=3).filter(bool)
option_positions = st.builds(
    lambda kind, k, q, m, when: MarginPosition(OptionSymbol("SPY", when, kind, k), D(q), m, 100),
    st.sampled_from(OptionType),
    strikes,
    quantities,
    marks,
    st.sampled_from([DEC19, JAN16]),
)
stock_positions = st.builds(
    lambda q: MarginPosition(None, D(q), SPOT, 1), st.integers(min_value=0, max_value=300)
)


@settings(max_examples=200, deadline=None)
@given(st.lists(option_positions | stock_positions, max_size=6))
def test_requirement_is_never_negative(positions: list[MarginPosition]) -> None:
    assert margin(*positions) >= 0


@settings(max_examples=200, deadline=None)
@given(strikes, st.integers(min_value=1, max_value=6), marks, marks, st.sampled_from(OptionType))
def test_adding_a_protective_long_never_costs_more_than_its_own_value(
    short_strike: Decimal, steps: int, short_mark: Decimal, long_mark: Decimal, kind: OptionType
) -> None:
    long_strike = short_strike - 5 * steps if kind is OptionType.PUT else short_strike + 5 * steps
    short = MarginPosition(OptionSymbol("SPY", DEC19, kind, short_strike), D(-1), short_mark, 100)
    long = MarginPosition(OptionSymbol("SPY", DEC19, kind, long_strike), D(1), long_mark, 100)
    assert margin(short, long) <= margin(short) + long_mark * 100
    # A defined-risk spread never ties up more than its width (plus any debit).
    assert margin(short, long) <= 5 * steps * 100 + max(D(0), (long_mark - short_mark) * 100)
