"""Payoff at expiration: max profit, max loss and breakevens a trader reads off the ticket."""

from __future__ import annotations

import itertools
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tastytui.domain.orders import InstrumentType, Leg, OrderAction
from tastytui.domain.payoff import (
    PayoffError,
    PayoffLeg,
    analyze,
    from_positions,
    from_ticket,
    pnl_at,
)
from tastytui.domain.symbols import OptionSymbol, OptionType
from tastytui.domain.ticket import Ticket

D = Decimal
DEC19 = date(2025, 12, 19)
JAN16 = date(2026, 1, 16)
SPOT = D(680)


def call(qty: int, strike: str, price: str, when: date = DEC19) -> PayoffLeg:
    return PayoffLeg("call", D(qty), D(strike), when, 100, D(price))


def put(qty: int, strike: str, price: str, when: date = DEC19) -> PayoffLeg:
    return PayoffLeg("put", D(qty), D(strike), when, 100, D(price))


def shares(qty: int, price: str) -> PayoffLeg:
    return PayoffLeg("stock", D(qty), None, None, 1, D(price))


def summary(*legs: PayoffLeg) -> tuple[Decimal | None, Decimal | None, tuple[Decimal, ...]]:
    result = analyze(list(legs), SPOT)
    return result.max_profit, result.max_loss, result.breakevens


@pytest.mark.parametrize(
    ("legs", "expected"),
    [
        ([call(1, "685", "4.20")], (None, D("420"), (D("689.20"),))),
        ([call(-1, "685", "4.20")], (D("420"), None, (D("689.20"),))),
        ([put(1, "675", "3.10")], (D("67190"), D("310"), (D("671.90"),))),
        ([put(-2, "675", "3.10")], (D("620"), D("134380"), (D("671.90"),))),
        # Short put vertical 670/665 for 1.50: keep 150, risk 350.
        ([put(-1, "670", "2.50"), put(1, "665", "1.00")], (D("150"), D("350"), (D("668.50"),))),
        # Long call vertical 680/690 for a 4.00 debit.
        ([call(1, "680", "7"), call(-1, "690", "3")], (D("600"), D("400"), (D("684"),))),
        # Short straddle for 15: unlimited loss above, a large finite loss at zero.
        (
            [put(-1, "680", "7"), call(-1, "680", "8")],
            (D("1500"), None, (D("665"), D("695"))),
        ),
        (
            [put(1, "660", "2"), call(1, "700", "3")],
            (None, D("500"), (D("655"), D("705"))),
        ),
        # Iron condor 640/645/720/725 for 1.00.
        (
            [put(1, "640", ".5"), put(-1, "645", "1"), call(-1, "720", "1"), call(1, "725", ".5")],
            (D("100"), D("400"), (D("644"), D("721"))),
        ),
        # Iron butterfly 670/680/690 for 6.
        (
            [put(1, "670", "1"), put(-1, "680", "4"), call(-1, "680", "4"), call(1, "690", "1")],
            (D("600"), D("400"), (D("674"), D("686"))),
        ),
        # Long call butterfly 680/685/690 for 1.00.
        (
            [call(1, "680", "6"), call(-2, "685", "3"), call(1, "690", "1")],
            (D("400"), D("100"), (D("681"), D("689"))),
        ),
        # Covered call: 100 shares at 680, 690 call sold for 2.
        ([shares(100, "680"), call(-1, "690", "2")], (D("1200"), D("67800"), (D("678"),))),
        ([shares(100, "680")], (None, D("68000"), (D("680"),))),
        ([shares(-50, "680")], (D("34000"), None, (D("680"),))),
    ],
    ids=[
        "long call",
        "short call",
        "long put",
        "short puts",
        "put credit spread",
        "call debit spread",
        "short straddle",
        "long strangle",
        "iron condor",
        "iron butterfly",
        "butterfly",
        "covered call",
        "long stock",
        "short stock",
    ],
)
def test_single_expiration_summaries(
    legs: list[PayoffLeg], expected: tuple[Decimal | None, Decimal | None, tuple[Decimal, ...]]
) -> None:
    assert summary(*legs) == expected


def test_calendar_with_volatility_has_bounded_loss_and_two_breakevens() -> None:
    legs = [call(-1, "680", "5", DEC19), call(1, "680", "8", JAN16)]
    result = analyze(legs, SPOT, vol=0.20)
    assert result.max_loss is not None and result.max_profit is not None
    assert D("299") <= result.max_loss <= D("300")  # the 3.00 debit is the most at risk
    # At the strike the back month keeps about 0.4·S·σ·√t of time value.
    assert D("1150") < result.max_profit < D("1250")
    low, high = result.breakevens
    assert low < SPOT < high
    for breakeven in result.breakevens:
        assert abs(result.pnl_at(breakeven)) < 2  # within a cent's move of zero


def test_calendar_without_volatility_values_the_back_month_at_intrinsic() -> None:
    legs = [call(-1, "680", "5", DEC19), call(1, "680", "8", JAN16)]
    assert pnl_at(legs, D(700)) == D(-300)
    assert pnl_at(legs, D(700), vol=0.2) > D(-300)  # time value left in the back month


def test_diagonal_with_volatility() -> None:
    legs = [call(-1, "690", "3", DEC19), call(1, "680", "10", JAN16)]
    result = analyze(legs, SPOT, vol=0.2)
    # Long the lower strike for later: no unlimited risk either side.
    assert result.max_loss is not None and result.max_profit is not None
    assert result.max_loss <= D("700")


def test_curve_spans_the_range_evenly() -> None:
    result = analyze([put(-1, "670", "2.50"), put(1, "665", "1.00")], SPOT)
    curve = result.curve(D(660), D(680), 5)
    assert [price for price, _ in curve] == [D(660), D(665), D(670), D(675), D(680)]
    assert [pnl for _, pnl in curve] == [D(-350), D(-350), D(150), D(150), D(150)]
    with pytest.raises(ValueError, match="at least 2"):
        result.curve(D(1), D(2), 1)


def test_from_ticket_uses_leg_directions_and_prices() -> None:
    short = OptionSymbol("SPY", DEC19, OptionType.PUT, D(670)).occ
    long = OptionSymbol("SPY", DEC19, OptionType.PUT, D(665)).occ
    ticket = Ticket(
        (
            Leg(InstrumentType.EQUITY_OPTION, short, OrderAction.SELL_TO_OPEN, D(2)),
            Leg(InstrumentType.EQUITY_OPTION, long, OrderAction.BUY_TO_OPEN, D(2)),
        )
    )
    legs = from_ticket(ticket, {short: D("2.50"), long: D("-1.00")})
    assert legs == [put(-2, "670", "2.50"), put(2, "665", "1.00")]
    assert analyze(legs, SPOT).max_loss == D(700)
    with pytest.raises(PayoffError, match="no price"):
        from_ticket(ticket, {short: D("2.50")})


def test_from_positions() -> None:
    legs = from_positions(
        [
            ("SPY", D(100), D("650.25")),
            (".SPY251219C690", D(-1), D("2.00")),
            ("SPY   251219P00600000", D(0), D("1")),  # flat: ignored
        ]
    )
    assert legs == [shares(100, "650.25"), call(-1, "690", "2.00")]


def test_option_leg_needs_strike_and_expiration() -> None:
    with pytest.raises(PayoffError, match="strike"):
        PayoffLeg("call", D(1), None, DEC19, 100, D(1))


def test_no_legs() -> None:
    with pytest.raises(PayoffError, match="no legs"):
        analyze([], SPOT)


# --- properties --------------------------------------------------------------------------------

strike_steps = st.integers(min_value=10, max_value=200).map(lambda n: D(n) * D("2.5"))


@settings(max_examples=200, deadline=None)
@given(
    strike_steps,
    st.integers(min_value=1, max_value=8).map(lambda n: D(n) * D("2.5")),
    st.sampled_from(["call", "put"]),
    st.booleans(),
    st.integers(min_value=0, max_value=100),
    st.integers(min_value=1, max_value=10),
)
def test_vertical_max_loss_is_width_less_credit_or_the_debit(
    low: Decimal, width: Decimal, kind: str, credit: bool, percent: int, size: int
) -> None:
    high = low + width
    net = (width * percent / 100).quantize(D("0.01"))  # what the spread trades for
    # The more valuable leg: the lower call or the higher put.
    inner, outer = (low, high) if kind == "call" else (high, low)
    sign = -1 if credit else 1  # credit spreads sell the inner strike
    legs = [
        PayoffLeg(kind, D(sign * size), inner, DEC19, 100, net),  # type: ignore[arg-type]
        PayoffLeg(kind, D(-sign * size), outer, DEC19, 100, D(0)),  # type: ignore[arg-type]
    ]
    result = analyze(legs, low)
    if credit:
        assert result.max_loss == (width - net) * 100 * size
        assert result.max_profit == net * 100 * size
    else:
        assert result.max_loss == net * 100 * size
        assert result.max_profit == (width - net) * 100 * size


payoff_legs = st.builds(
    PayoffLeg,
    st.sampled_from(["call", "put", "call", "put", "stock"]),
    st.integers(min_value=-3, max_value=3).filter(bool).map(D),
    st.integers(min_value=18, max_value=24).map(lambda n: D(n * 5)),
    st.just(DEC19),
    st.just(100),
    st.decimals(min_value=0, max_value=15, places=2),
).map(
    lambda leg: (
        leg
        if leg.kind != "stock"
        else PayoffLeg("stock", leg.quantity * 100, None, None, 1, leg.strike or D(100))
    )
)


@settings(max_examples=200, deadline=None)
@given(st.lists(payoff_legs, min_size=1, max_size=4))
def test_curve_stays_within_max_profit_and_max_loss(legs: list[PayoffLeg]) -> None:
    result = analyze(legs, D(100))
    points = [pnl for _, pnl in result.curve(D(0), D(400), 161)]
    points += [_cents(result.pnl_at(leg.strike)) for leg in legs if leg.strike is not None]
    if result.max_profit is not None:
        assert max(points) <= result.max_profit
        assert result.max_profit in points  # the maximum is actually reached
    if result.max_loss is not None:
        assert min(points) >= -result.max_loss
    slope = sum(abs(leg.quantity * leg.multiplier) for leg in legs)
    for breakeven in result.breakevens:
        # Breakevens are rounded to cents: P&L there is within half a cent's move of zero.
        assert abs(result.pnl_at(breakeven)) <= slope * D("0.005")


@settings(max_examples=100, deadline=None)
@given(st.lists(payoff_legs, min_size=1, max_size=4))
def test_pnl_changes_sign_only_across_breakevens(legs: list[PayoffLeg]) -> None:
    result = analyze(legs, D(100))
    curve = result.curve(D(0), D(400), 201)
    bounds = [D(0), *result.breakevens, D(401)]
    for lo, hi in itertools.pairwise(bounds):
        inside = [pnl for price, pnl in curve if lo + 1 < price < hi - 1]
        assert all(p >= 0 for p in inside) or all(p <= 0 for p in inside)


def _cents(value: Decimal) -> Decimal:
    return value.quantize(D("0.01"))
