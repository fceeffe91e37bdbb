"""The risk guard, rule by rule: each refuses what it should and allows what it should.

Plain data in, a verdict out (no broker).  The integration through a real review is in
``test_orders.py``.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

import pytest

from tastytui.config import RiskLimits
from tastytui.domain.orders import InstrumentType, Leg, OrderAction
from tastytui.domain.payoff import PayoffSummary, analyze, from_ticket
from tastytui.domain.ticket import Ticket
from tastytui.services.risk import RiskContext, RiskGuard, order_contracts

D = Decimal
TODAY = date(2026, 11, 18)
BTO, STO = OrderAction.BUY_TO_OPEN, OrderAction.SELL_TO_OPEN
BTC, STC = OrderAction.BUY_TO_CLOSE, OrderAction.SELL_TO_CLOSE
P670 = "SPY   261218P00670000"
P665 = "SPY   261218P00665000"
C700 = "SPY   261218C00700000"


def opt(symbol: str, action: OrderAction, quantity: int = 1) -> Leg:
    return Leg(InstrumentType.EQUITY_OPTION, symbol, action, D(quantity))


def put_spread(quantity: int = 1, *, closing: bool = False) -> Ticket:
    """Short 670/665 put vertical for a 1.00 credit: max loss 400 per spread."""
    short, long = (BTC, STC) if closing else (STO, BTO)
    return Ticket(
        (opt(P670, short, quantity), opt(P665, long, quantity)),
        price=D("-1.00") if closing else D("1.00"),
    )


def payoff(ticket: Ticket, prices: dict[str, Decimal]) -> PayoffSummary:
    return analyze(from_ticket(ticket, prices), D(680))


def spread_payoff(quantity: int = 1) -> PayoffSummary:
    return payoff(put_spread(quantity), {P670: D("3.00"), P665: D("2.00")})


def ctx(**changes: object) -> RiskContext:
    base = RiskContext(
        account="5WT00001",
        net_liq=D(100_000),
        derivative_buying_power=D(50_000),
        day_pnl=D(0),
        today=TODAY,
        contracts_by_underlying={"SPY": D(10)},
        earnings={"SPY": None, "AAPL": TODAY + timedelta(days=10)},
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def guard(**limits: object) -> RiskGuard:
    return RiskGuard(RiskLimits(**limits))  # type: ignore[arg-type]


def check(g: RiskGuard, ticket: Ticket, context: RiskContext | None = None, **kw: object):  # type: ignore[no-untyped-def]
    kw.setdefault("bp_change", D(-400))
    kw.setdefault("payoff", spread_payoff())
    return g.check(ticket, context or ctx(), **kw)  # type: ignore[arg-type]


def test_a_normal_defined_risk_spread_is_allowed() -> None:
    verdict = check(guard(), put_spread())
    assert verdict.allowed and verdict.rule is None


# ------------------------------------------------------------------ read_only


def test_read_only_refuses_opening_and_closing_orders() -> None:
    g = guard(read_only=True)
    for ticket in (put_spread(), put_spread(closing=True)):
        verdict = check(g, ticket, bp_change=D(300), payoff=None)
        assert not verdict.allowed and verdict.rule == "read_only"
        assert "read-only" in verdict.message


# ------------------------------------------------------------------ max_contracts_per_order


def test_contracts_are_summed_over_legs_with_stock_in_lots() -> None:
    assert order_contracts(put_spread(5)) == 10
    stock = Ticket((Leg(InstrumentType.EQUITY, "SPY", BTO, D(150)),), price=D("-680"))
    assert order_contracts(stock) == 2


def test_max_contracts_refuses_above_the_limit_and_names_the_numbers() -> None:
    verdict = check(guard(max_contracts_per_order=20), put_spread(13), payoff=spread_payoff(13))
    assert not verdict.allowed
    assert verdict.message == "max_contracts_per_order: 26 contracts > limit 20"


def test_max_contracts_allows_exactly_the_limit() -> None:
    verdict = check(
        guard(max_contracts_per_order=20, max_loss_per_trade=D(10_000)),
        put_spread(10),
        payoff=spread_payoff(10),
        bp_change=D(-4000),
    )
    assert verdict.allowed, verdict.message


# ------------------------------------------------------------------ max_bp_effect_per_order


def test_buying_power_above_the_limit_is_refused() -> None:
    verdict = check(guard(max_bp_effect_per_order=D(1000)), put_spread(), bp_change=D("-1500.50"))
    assert verdict.rule == "max_bp_effect_per_order"
    assert "$1,500.50" in verdict.message and "$1,000.00" in verdict.message


def test_buying_power_within_the_limit_or_freed_is_allowed() -> None:
    g = guard(max_bp_effect_per_order=D(1000))
    assert check(g, put_spread(), bp_change=D(-1000)).allowed
    assert check(g, put_spread(closing=True), bp_change=D(5000), payoff=None).allowed


def test_unknown_buying_power_refuses_an_opening_order_but_not_a_close() -> None:
    g = guard()
    assert check(g, put_spread(), bp_change=None).rule == "max_bp_effect_per_order"
    assert check(g, put_spread(closing=True), bp_change=None, payoff=None).allowed


# ------------------------------------------------------------------ max_loss_per_trade


def test_max_loss_above_the_limit_is_refused() -> None:
    verdict = check(guard(max_loss_per_trade=D(300)), put_spread())
    assert verdict.rule == "max_loss_per_trade"
    assert "max loss $400.00 > limit $300.00" in verdict.message


def test_max_loss_at_the_limit_is_allowed() -> None:
    assert check(guard(max_loss_per_trade=D(400)), put_spread()).allowed


def naked_call() -> Ticket:
    return Ticket((opt(C700, STO),), price=D("2.00"))


def test_undefined_risk_is_blocked_unless_allowed() -> None:
    summary = payoff(naked_call(), {C700: D("2.00")})
    assert summary.max_loss is None  # unlimited
    refused = check(guard(), naked_call(), payoff=summary)
    assert refused.rule == "max_loss_per_trade" and "undefined risk" in refused.message
    allowed = check(guard(allow_undefined_risk=True), naked_call(), payoff=summary)
    assert allowed.allowed, allowed.message


def test_an_unknown_max_loss_refuses_an_opening_order() -> None:
    verdict = check(guard(), put_spread(), payoff=None)
    assert verdict.rule == "max_loss_per_trade" and "could not be computed" in verdict.message


# ------------------------------------------------------------------ daily_loss_limit


def test_daily_loss_beyond_the_limit_stops_opening_orders() -> None:
    verdict = check(guard(daily_loss_limit=D(2500)), put_spread(), ctx(day_pnl=D("-2500.01")))
    assert verdict.rule == "daily_loss_limit"
    assert "-$2,500.01" in verdict.message


def test_daily_loss_at_the_limit_still_allows_and_closing_is_always_allowed() -> None:
    g = guard(daily_loss_limit=D(2500))
    assert check(g, put_spread(), ctx(day_pnl=D(-2500))).allowed
    closing = check(g, put_spread(closing=True), ctx(day_pnl=D(-9000)), bp_change=D(400))
    assert closing.allowed, closing.message


# ------------------------------------------------------------------ max_position_per_underlying


def test_position_per_underlying_counts_held_plus_opened() -> None:
    verdict = check(
        guard(max_position_per_underlying=12), put_spread(2), ctx(), payoff=spread_payoff(2)
    )
    assert verdict.rule == "max_position_per_underlying"
    assert "10 SPY contracts held + 4 opened = 14 > limit 12" in verdict.message


def test_position_per_underlying_allows_up_to_the_limit_and_ignores_closes() -> None:
    g = guard(max_position_per_underlying=12)
    assert check(g, put_spread(1), ctx()).allowed
    many = ctx(contracts_by_underlying={"SPY": D(50)})
    assert check(g, put_spread(2, closing=True), many, bp_change=D(800)).allowed
    # Other underlyings' positions do not count.
    assert check(g, put_spread(1), ctx(contracts_by_underlying={"QQQ": D(50)})).allowed


# ------------------------------------------------------------------ earnings_blackout_days


def aapl_put() -> Ticket:
    return Ticket((opt("AAPL  261218P00200000", STO),), price=D("2.00"))


def aapl_payoff() -> PayoffSummary:
    return payoff(aapl_put(), {"AAPL  261218P00200000": D("2.00")})


def test_earnings_blackout_refuses_opening_orders_within_n_days() -> None:
    g = guard(earnings_blackout_days=10, max_loss_per_trade=D(50_000))
    verdict = check(g, aapl_put(), payoff=aapl_payoff())
    assert verdict.rule == "earnings_blackout_days"
    assert "AAPL reports earnings on 2026-11-28 (10 days away)" in verdict.message


def test_earnings_blackout_allows_outside_the_window_and_when_off() -> None:
    loose = {"max_loss_per_trade": D(50_000)}
    assert check(guard(earnings_blackout_days=9, **loose), aapl_put(), payoff=aapl_payoff()).allowed
    assert check(guard(earnings_blackout_days=0, **loose), aapl_put(), payoff=aapl_payoff()).allowed
    past = ctx(earnings={"AAPL": TODAY - timedelta(days=1)})
    assert check(
        guard(earnings_blackout_days=10, **loose), aapl_put(), past, payoff=aapl_payoff()
    ).allowed


def test_earnings_blackout_allows_closing_orders() -> None:
    close = Ticket((opt("AAPL  261218P00200000", BTC),), price=D("-2.00"))
    verdict = check(guard(earnings_blackout_days=30), close, bp_change=D(1000), payoff=None)
    assert verdict.allowed


@pytest.mark.parametrize(
    "limits",
    [
        {"max_loss_per_trade": D(1)},
        {"daily_loss_limit": D(0)},
        {"max_position_per_underlying": 0},
        {"earnings_blackout_days": 365},
    ],
)
def test_opening_only_rules_never_block_a_pure_close(limits: dict[str, object]) -> None:
    context = ctx(day_pnl=D(-1), earnings={"SPY": TODAY}, contracts_by_underlying={"SPY": D(99)})
    verdict = check(
        guard(**limits), put_spread(closing=True), context, bp_change=D(400), payoff=None
    )
    assert verdict.allowed, verdict.message
