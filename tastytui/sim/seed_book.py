"""The starting book of a fresh paper ledger: two accounts with a few typical positions.

A console that opens on empty panes teaches nothing, so a new simulator state starts with a
margin account holding stock, a covered call, a put spread, an iron condor, long calls and a
naked put, and a cash account with stock and a long put — all booked as real fills (orders and
transactions exist) at prices derived from the seeded market, plus a year of net-liq history.
"""

from __future__ import annotations

import math
import random
from datetime import datetime, time, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from tastytui.domain.chain import ChainExpiration
from tastytui.domain.clock import NEW_YORK
from tastytui.domain.orders import InstrumentType, OrderAction, OrderStatus, OrderType, TimeInForce
from tastytui.domain.symbols import OptionSymbol
from tastytui.sim.accounting import money, to_decimal
from tastytui.sim.config import SIM_CASH_ACCOUNT, SIM_MARGIN_ACCOUNT
from tastytui.sim.ledger import Account, Order, OrderLeg, Transaction

if TYPE_CHECKING:
    from tastytui.sim.engine import Engine

BOA = OrderAction.BUY_TO_OPEN
SOA = OrderAction.SELL_TO_OPEN
OPT = InstrumentType.EQUITY_OPTION
EQ = InstrumentType.EQUITY


def _expiration(engine: Engine, symbol: str, dte: int, monthly: bool = True) -> ChainExpiration:
    chain = engine.market.chain(symbol)
    today = engine.market.today()
    candidates = [e for e in chain.upcoming(today) if e.is_monthly or not monthly]
    return min(candidates, key=lambda e: abs(e.dte(today) - dte))


def _strike(exp: ChainExpiration, price: float, is_call: bool) -> OptionSymbol:
    row = exp.strikes[exp.nearest_index(price)]
    return row.call if is_call else row.put


def seed_book(engine: Engine) -> None:
    """Create the accounts, book the starting trades and write the net-liq history.

    All in one SQLite transaction: a ledger is either fully seeded or empty (an interrupted
    first start is seeded again on the next one, never left half-booked), and one commit
    instead of hundreds keeps a first start on disk fast.
    """
    with engine.ledger.atomic():
        _seed(engine)


def _seed(engine: Engine) -> None:
    ledger = engine.ledger
    market = engine.market
    now = engine.clock.now()
    opened = (now - timedelta(days=400)).replace(microsecond=0)
    margin = Account(SIM_MARGIN_ACCOUNT, "Paper Margin", True, opened, Decimal(0))
    cash = Account(SIM_CASH_ACCOUNT, "Paper Cash", False, opened, Decimal(0))
    for account, deposit in ((margin, Decimal(100_000)), (cash, Decimal(25_000))):
        account.cash = deposit
        account.day_start_cash = deposit
        ledger.save_account(account)
        ledger.save_transaction(
            Transaction(
                id=ledger.next_transaction_id(),
                account=account.number,
                transaction_type="Money Movement",
                transaction_sub_type="Deposit",
                description="ACH deposit",
                executed_at=opened,
                transaction_date=opened.astimezone(NEW_YORK).date(),
                value=deposit,
                net_value=deposit,
            )
        )
    rng = random.Random(f"book:{engine.x.config.seed}")

    def spot(symbol: str) -> float:
        return market.spot(symbol)

    aapl = spot("AAPL")
    aapl_exp = _expiration(engine, "AAPL", 35)
    spy = spot("SPY")
    spy_exp = _expiration(engine, "SPY", 35)
    qqq = spot("QQQ")
    qqq_exp = _expiration(engine, "QQQ", 45)
    nvda_exp = _expiration(engine, "NVDA", 60)
    iwm_exp = _expiration(engine, "IWM", 21, monthly=False)
    spy_short = _strike(spy_exp, spy * 0.95, False)
    spy_long = _strike(spy_exp, float(spy_short.strike) - 5, False)
    trades: list[tuple[Account, int, list[tuple[InstrumentType, str, OrderAction, int]], float]] = [
        (margin, 32, [(EQ, "AAPL", BOA, 100)], 0.95),
        (margin, 9, [(OPT, _strike(aapl_exp, aapl * 1.07, True).occ, SOA, 1)], 1.25),
        (margin, 6, [(OPT, spy_short.occ, SOA, 2), (OPT, spy_long.occ, BOA, 2)], 1.15),
        (
            margin,
            4,
            [
                (OPT, _strike(qqq_exp, qqq * 0.94 - 5, False).occ, BOA, 1),
                (OPT, _strike(qqq_exp, qqq * 0.94, False).occ, SOA, 1),
                (OPT, _strike(qqq_exp, qqq * 1.06, True).occ, SOA, 1),
                (OPT, _strike(qqq_exp, qqq * 1.06 + 5, True).occ, BOA, 1),
            ],
            1.1,
        ),
        (margin, 12, [(OPT, _strike(nvda_exp, spot("NVDA"), True).occ, BOA, 2)], 0.85),
        (margin, 2, [(OPT, _strike(iwm_exp, spot("IWM") * 0.95, False).occ, SOA, 1)], 1.2),
        (cash, 60, [(EQ, "KO", BOA, 50)], 0.97),
        (cash, 3, [(OPT, _strike(spy_exp, spy * 0.97, False).occ, BOA, 1)], 0.9),
    ]
    for account, days_ago, legs, factor in trades:
        when = _market_time(now - timedelta(days=days_ago), rng)
        order_legs = [OrderLeg(t, s, a, Decimal(q), Decimal(q)) for t, s, a, q in legs]
        order = Order(
            id=ledger.next_order_id(),
            account=account.number,
            order_type=OrderType.LIMIT,
            time_in_force=TimeInForce.DAY,
            status=OrderStatus.LIVE,
            legs=order_legs,
            underlying="",
            underlying_instrument_type=EQ,
            size=Decimal(math.gcd(*(q for *_, q in legs))),
            received_at=when,
            updated_at=when,
            source="tastytui-sim-seed",
            trading_day=when.astimezone(NEW_YORK).date(),
        )
        order.underlying, order.underlying_instrument_type = engine._underlying(order_legs)
        _, mid, _ = engine.nets(order)
        # Scale the net price (signed) so the book opens with some winners and some losers.
        price = to_decimal(float(mid) * factor, 2)
        order.price = engine.tick_schedule(order).round(price)
        order.live_at = when
        ledger.save_order(order)
        engine._fill(order, order.size, order.price, when=when, notify=False)
    # One cancelled order so the history shows more than fills.
    when = _market_time(now - timedelta(days=1), rng)
    cancelled = Order(
        id=ledger.next_order_id(),
        account=margin.number,
        order_type=OrderType.LIMIT,
        time_in_force=TimeInForce.DAY,
        status=OrderStatus.CANCELLED,
        legs=[OrderLeg(EQ, "TSLA", BOA, Decimal(10), Decimal(10))],
        underlying="TSLA",
        underlying_instrument_type=EQ,
        size=Decimal(10),
        received_at=when,
        updated_at=when + timedelta(minutes=7),
        price=-money(to_decimal(spot("TSLA") * 0.9, 2)),
        source="tastytui-sim-seed",
        live_at=when,
        cancelled_at=when + timedelta(minutes=7),
        terminal_at=when + timedelta(minutes=7),
        trading_day=when.astimezone(NEW_YORK).date(),
    )
    ledger.save_order(cancelled)
    _net_liq_history(engine, now, rng)


def _market_time(moment: datetime, rng: random.Random) -> datetime:
    """A weekday time inside regular hours near ``moment`` (seeded trades look plausible)."""
    local = moment.astimezone(NEW_YORK)
    while local.weekday() >= 5:
        local -= timedelta(days=1)
    minute = int(rng.random() * 360)
    return datetime.combine(local.date(), time(9, 45), NEW_YORK).astimezone(
        moment.tzinfo
    ) + timedelta(minutes=minute)


def _net_liq_history(engine: Engine, now: datetime, rng: random.Random) -> None:
    """A year of daily closes walking back from today's value, then today's 5-minute samples."""
    rows: list[tuple[str, datetime, Decimal]] = []
    for account in engine.ledger.accounts.values():
        value = float(engine.valuation(account).net_liq)
        local = now.astimezone(NEW_YORK)
        day = local.date()
        daily: list[tuple[datetime, float]] = []
        walk = value
        for _ in range(260):
            day = engine.x.calendar.previous_trading_day(day)
            close = datetime.combine(day, time(16, 0), NEW_YORK).astimezone(now.tzinfo)
            daily.append((close, walk))
            walk = walk / math.exp(rng.gauss(0.0004, 0.008))
        for when, amount in daily:
            rows.append((account.number, when, Decimal(str(round(amount, 2)))))
        open_at = datetime.combine(local.date(), time(9, 30), NEW_YORK).astimezone(now.tzinfo)
        probe, walk = open_at, daily[0][1]
        while probe < now:
            rows.append((account.number, probe, Decimal(str(round(walk, 2)))))
            walk *= math.exp(rng.gauss(0.0, 0.0008))
            probe += timedelta(minutes=5)
    engine.ledger.record_net_liq_many(rows)
