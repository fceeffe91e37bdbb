"""Golden numbers for P&L, greeks and beta-weighted delta (the anchors' favourite bugs)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from tastytui.domain.strategies import StrategyKind
from tastytui.domain.symbols import parse_occ
from tastytui.services.portfolio import HeldPosition, Mark, build_portfolio, view_position

TODAY = date(2026, 11, 18)
LAST_WEEK = datetime(2026, 11, 10, 15, 0, tzinfo=UTC)
THIS_MORNING = datetime(2026, 11, 18, 15, 0, tzinfo=UTC)


def option(
    symbol: str, qty: str, avg: str, close: str, opened: datetime = LAST_WEEK
) -> HeldPosition:
    occ = parse_occ(symbol)
    return HeldPosition(
        "A1", symbol, "SPY", occ, Decimal(qty), 100, Decimal(avg), Decimal(close), opened
    )


def stock(
    symbol: str, qty: str, avg: str, close: str, opened: datetime = LAST_WEEK
) -> HeldPosition:
    return HeldPosition(
        "A1", symbol, symbol, None, Decimal(qty), 1, Decimal(avg), Decimal(close), opened
    )


def view(held: HeldPosition, mark: Mark, spot: float = 680.0, beta: float = 1.0):  # type: ignore[no-untyped-def]
    return view_position(
        held, mark, underlying_price=spot, beta=beta, beta_price=680.0, today=TODAY, stale_after=15
    )


def test_short_option_day_pnl_has_the_right_sign() -> None:
    # Sold 2 puts at 3.00; yesterday's close 2.50; now 2.00: the short is winning.
    held = option("SPY   261218P00650000", "-2", "3.00", "2.50")
    v = view(held, Mark(2.0, 1.0, delta=-0.30, theta=-0.05))
    assert v.open_pnl == pytest.approx(200.0)  # (2.00 - 3.00) * -2 * 100
    assert v.day_pnl == pytest.approx(100.0)  # (2.00 - 2.50) * -2 * 100
    assert v.delta == pytest.approx(60.0)  # -0.30 * -2 * 100 shares
    assert v.theta == pytest.approx(10.0)  # short options earn theta


def test_position_opened_today_measures_day_pnl_from_the_fill() -> None:
    held = stock("AAPL", "100", "230.00", "225.00", opened=THIS_MORNING)
    v = view(held, Mark(231.0, 0.5), spot=231.0)
    assert v.day_pnl == pytest.approx(100.0)  # not (231 - 225) * 100
    assert v.open_pnl == pytest.approx(100.0)


def test_beta_weighted_delta_uses_the_underlying_price_not_the_option_price() -> None:
    held = option("SPY   261218C00700000", "1", "5.00", "5.00")
    v = view_position(
        held,
        Mark(5.0, 0.1, delta=0.5),
        underlying_price=340.0,
        beta=1.5,
        beta_price=680.0,
        today=TODAY,
        stale_after=15,
    )
    # 50 deltas of a $340 stock with beta 1.5 = 37.5 SPY-equivalent shares at $680.
    assert v.beta_delta == pytest.approx(37.5)


def test_stale_marks_are_flagged_not_blanked() -> None:
    held = stock("KO", "50", "68.00", "70.00")
    v = view(held, Mark(70.5, 60.0), spot=70.5)
    assert v.stale is True
    assert v.mark == 70.5
    assert v.open_pnl == pytest.approx(125.0)


def test_missing_live_mark_falls_back_to_the_broker_snapshot() -> None:
    held = HeldPosition(
        "A1",
        "KO",
        "KO",
        None,
        Decimal(10),
        1,
        Decimal(60),
        Decimal(61),
        LAST_WEEK,
        broker_mark=Decimal("62"),
    )
    v = view(held, Mark(None), spot=62.0)
    assert v.mark == 62.0
    assert v.stale is True
    assert v.open_pnl == pytest.approx(20.0)


def test_portfolio_groups_by_underlying_and_strategy_with_totals() -> None:
    positions = [
        option("SPY   261218P00650000", "-1", "3.00", "2.90"),
        option("SPY   261218P00645000", "1", "2.00", "1.95"),
        stock("AAPL", "100", "200.00", "210.00"),
    ]
    marks = {
        ".SPY261218P650": Mark(2.50, 0.2, delta=-0.30, gamma=0.01, theta=-0.10, vega=0.5),
        ".SPY261218P645": Mark(1.80, 0.2, delta=-0.25, gamma=0.009, theta=-0.09, vega=0.45),
        "AAPL": Mark(220.0, 0.1),
        "SPY": Mark(680.0, 0.1),
    }
    portfolio = build_portfolio(
        "A1",
        positions,
        lambda s: marks.get(s, Mark(None)),
        betas={"AAPL": 1.2, "SPY": 1.0},
        beta_symbol="SPY",
        today=TODAY,
    )
    assert [u.underlying for u in portfolio.underlyings] == ["AAPL", "SPY"]
    spy = portfolio.underlyings[1]
    assert spy.strategies[0].kind is StrategyKind.VERTICAL
    spread = spy.strategies[0].totals
    assert spread.open_pnl == pytest.approx((2.50 - 3.00) * -100 + (1.80 - 2.00) * 100)
    assert spread.delta == pytest.approx(30.0 - 25.0)
    aapl = portfolio.underlyings[0].totals
    assert aapl.open_pnl == pytest.approx(2000.0)
    assert aapl.beta_delta == pytest.approx(100 * 1.2 * 220.0 / 680.0)
    assert portfolio.totals.open_pnl == pytest.approx(spread.open_pnl + aapl.open_pnl)
    assert not portfolio.totals.incomplete


def test_impossible_broker_positions_are_refused_with_a_reason() -> None:
    from tastytui.services.errors import BrokerRejected
    from tastytui.services.portfolio import held_from_wire

    def wire(quantity: str, multiplier: str) -> None:
        held_from_wire(
            "A1", "KO", "KO", Decimal(quantity), "Long", Decimal(multiplier),
            Decimal(60), Decimal(61), LAST_WEEK,
        )  # fmt: skip

    wire("10", "1")  # a real position is accepted
    for quantity, multiplier in (("10", "1e400"), ("1e300", "1"), ("NaN", "1"), ("10", "0")):
        with pytest.raises(BrokerRejected, match="impossible position for 'KO'"):
            wire(quantity, multiplier)
