"""Accounts through the unmodified SDK: the seeded book, balances, positions, history, margin.

Read-only tests share one simulator with a frozen tape (marks cannot move between two calls);
tests that trade start their own.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from decimal import Decimal

import pytest
import pytest_asyncio
from tastytrade import Account, Session
from tastytrade.account import MarginReportEntry
from tastytrade.order import InstrumentType, MarketOrder, OrderStatus
from tastytrade.utils import TastytradeError

from tastytui.domain.symbols import parse_occ
from tastytui.sim.server import SimServer
from tests.conftest import sdk_session
from tests.sim.simkit import (
    BTO,
    STO,
    bearer,
    holdings,
    leg,
    margin_account,
    marked_value,
    raw_client,
    running_sim,
    until_status,
)

# Marks are rounded to cents per balance category (long/short × equity/derivative).
ROUNDING = Decimal("0.05")


pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def fsim() -> AsyncIterator[SimServer]:
    async with running_sim(live_tape=False, tick_interval=0.05) as sim:
        yield sim


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def fsession(fsim: SimServer) -> AsyncIterator[Session]:
    async with sdk_session(fsim) as s:
        yield s


@pytest_asyncio.fixture(loop_scope="module")
async def trading() -> AsyncIterator[tuple[SimServer, Session]]:
    """A simulator of its own for a test that changes the book."""
    async with running_sim(live_tape=False, tick_interval=0.05) as sim, sdk_session(sim) as s:
        yield sim, s


async def test_customer_has_a_margin_and_a_cash_account(fsession: Session) -> None:
    session = fsession
    accounts = await Account.get(session)
    assert [(a.account_number, a.margin_or_cash) for a in accounts] == [
        ("5WT00001", "Margin"),
        ("5WT00002", "Cash"),
    ]
    one = await Account.get(session, "5WT00002")
    assert one.nickname == "Paper Cash" and not one.is_closed


async def test_unknown_account_is_404(fsim: SimServer) -> None:
    async with raw_client(fsim) as client:
        response = await client.get("/accounts/5WT99999/balances/USD", headers=await bearer(client))
    assert response.status_code == 404
    assert "5WT99999" in response.json()["error"]["message"]


@pytest.mark.parametrize("number", ["5WT00001", "5WT00002"])
async def test_net_liq_is_cash_plus_longs_minus_shorts_and_matches_the_marks(
    fsession: Session, number: str
) -> None:
    account = await Account.get(fsession, number)
    balance = await account.get_balances(fsession)
    positions = await account.get_positions(fsession)
    assert positions, "the seeded book holds positions"
    longs = balance.long_equity_value + balance.long_derivative_value
    shorts = balance.short_equity_value + balance.short_derivative_value
    assert balance.net_liquidating_value == balance.cash_balance + longs - shorts
    assert abs(balance.net_liquidating_value - balance.cash_balance - marked_value(positions)) < (
        ROUNDING
    )
    assert balance.margin_equity == balance.net_liquidating_value
    assert balance.maintenance_requirement >= 0
    # Cash and margin alike: the margin rules charge every position (cash stock at 100 %).
    assert balance.derivative_buying_power == max(
        Decimal(0), balance.net_liquidating_value - balance.maintenance_requirement
    )


async def test_positions_carry_occ_and_streamer_symbols(fsim: SimServer, fsession: Session) -> None:
    account = await margin_account(fsession)
    positions = await account.get_positions(fsession)
    options = [p for p in positions if p.instrument_type == InstrumentType.EQUITY_OPTION]
    assert len(options) >= 8  # covered call, put spread, iron condor, long calls, naked put
    for p in options:
        assert len(p.symbol) == 21 and parse_occ(p.symbol).occ == p.symbol
        assert p.multiplier == 100
        assert p.mark == p.mark_price * 100 if p.mark_price else False
        assert p.expires_at is not None
    async with raw_client(fsim) as client:
        raw = await client.get("/accounts/5WT00001/positions", headers=await bearer(client))
    for item in raw.json()["data"]["items"]:
        if item["instrument-type"] == "Equity Option":
            assert item["streamer-symbol"] == parse_occ(item["symbol"]).streamer
            assert item["streamer-symbol"].startswith(".")
        else:
            assert "streamer-symbol" not in item or item["streamer-symbol"] == item["symbol"]
    spy_only = await account.get_positions(fsession, underlying_symbols=["SPY"])
    assert spy_only and {p.underlying_symbol for p in spy_only} == {"SPY"}
    aapl = await account.get_positions(fsession, symbol="AAPL")
    assert [(p.symbol, p.quantity, p.quantity_direction) for p in aapl] == [
        ("AAPL", Decimal(100), "Long")
    ]


async def test_transactions_paginate_and_filter(fsim: SimServer, fsession: Session) -> None:
    account = await margin_account(fsession)
    everything = await account.get_history(fsession, page_offset=None)
    assert len(everything) > 5
    paged = await account.get_history(fsession, per_page=2, page_offset=None)
    assert [t.id for t in paged] == [t.id for t in everything]
    first_page = await account.get_history(fsession, per_page=2)
    assert [t.id for t in first_page] == [t.id for t in everything[:2]]
    # Newest first by default; ascending on request.
    times = [t.executed_at for t in everything]
    assert times == sorted(times, reverse=True)
    ascending = await account.get_history(fsession, page_offset=None, sort="Asc")
    assert [t.id for t in ascending] == [t.id for t in reversed(everything)]

    deposits = await account.get_history(fsession, page_offset=None, type="Money Movement")
    assert [(t.transaction_sub_type, t.value) for t in deposits] == [("Deposit", Decimal(100_000))]
    trades = await account.get_history(fsession, page_offset=None, types=["Trade"])
    assert trades and all(t.transaction_type == "Trade" for t in trades)
    assert len(trades) + len(deposits) == len(everything)
    aapl = await account.get_history(fsession, page_offset=None, symbol="AAPL")
    assert [t.symbol for t in aapl] == ["AAPL"]
    today = fsim.exchange.market.today()
    recent = await account.get_history(
        fsession, page_offset=None, start_date=today - timedelta(days=7)
    )
    assert recent and all(t.transaction_date >= today - timedelta(days=7) for t in recent)
    assert len(recent) < len(trades)
    old = await account.get_history(fsession, page_offset=None, end_date=today - timedelta(days=7))
    assert len(old) + len(recent) == len(everything)
    one = await account.get_transaction(fsession, aapl[0].id)
    assert one.description == aapl[0].description


async def test_trade_fees_for_today_are_totalled(trading: tuple[SimServer, Session]) -> None:
    fsim, fsession = trading
    account = await margin_account(fsession)
    assert (await account.get_total_fees(fsession, fsim.exchange.market.today())).total_fees == 0
    placed = await account.place_order(
        fsession, MarketOrder(legs=[leg("F", BTO, 1000)]), dry_run=False
    )
    await until_status(fsession, account, placed.order.id, OrderStatus.FILLED)
    fees = await account.get_total_fees(fsession, fsim.exchange.market.today())
    assert fees.total_fees == Decimal("-0.80")  # clearing: $0.0008 per share


@pytest.mark.parametrize("time_back", ["1d", "1m", "3m", "6m", "1y", "all"])
async def test_net_liq_history_for_each_time_back(fsession: Session, time_back: str) -> None:
    account = await margin_account(fsession)
    history = await account.get_net_liquidating_value_history(fsession, time_back=time_back)
    now = (await account.get_balances(fsession)).net_liquidating_value
    minimum = {"1d": 5, "1m": 15, "3m": 50, "6m": 100, "1y": 200, "all": 200}[time_back]
    assert len(history) >= minimum
    assert [h.time for h in history] == sorted(h.time for h in history)
    assert history[-1].close == now
    for h in history:
        assert h.low <= min(h.open, h.close) <= max(h.open, h.close) <= h.high
        assert h.total_close == h.close
    if time_back != "all":
        longer = {"1d": "1m", "1m": "3m", "3m": "6m", "6m": "1y", "1y": "all"}[time_back]
        wider = await account.get_net_liquidating_value_history(fsession, time_back=longer)
        assert len(wider) > len(history) or time_back == "1y"


async def test_net_liq_history_since_a_start_time_and_bad_time_back(
    fsim: SimServer, fsession: Session
) -> None:
    account = await margin_account(fsession)
    year = await account.get_net_liquidating_value_history(fsession, time_back="1y")
    start = fsim.exchange.clock.now() - timedelta(days=10)
    since = await account.get_net_liquidating_value_history(fsession, start_time=start)
    assert 5 <= len(since) < len(year)
    async with raw_client(fsim) as client:
        response = await client.get(
            "/accounts/5WT00001/net-liq/history",
            params={"time-back": "2w"},
            headers=await bearer(client),
        )
    assert response.status_code == 400
    assert "1d, 1m, 3m, 6m, 1y, all" in response.json()["error"]["message"]


async def test_margin_report_adds_up_and_matches_balances(fsession: Session) -> None:
    account = await margin_account(fsession)
    report = await account.get_margin_requirements(fsession)
    balance = await account.get_balances(fsession)
    groups = {g.code: g for g in report.groups if isinstance(g, MarginReportEntry)}
    held = {p.underlying_symbol for p in await account.get_positions(fsession)}
    assert set(groups) == held
    total = sum((g.margin_requirement for g in groups.values()), Decimal(0))
    assert total == report.margin_requirement  # requirements are debits (negative)
    assert -report.maintenance_requirement == balance.maintenance_requirement
    assert report.option_buying_power == balance.derivative_buying_power
    assert report.margin_equity == balance.net_liquidating_value


async def test_trading_status_reflects_the_account_type(fsession: Session) -> None:
    margin = await (await margin_account(fsession)).get_trading_status(fsession)
    cash = await (await Account.get(fsession, "5WT00002")).get_trading_status(fsession)
    assert margin.account_number == "5WT00001" and margin.short_calls_enabled
    assert cash.account_number == "5WT00002" and not cash.short_calls_enabled
    assert not margin.is_frozen and not margin.is_closing_only
    assert margin.options_level != cash.options_level


async def test_balance_snapshots_are_daily_and_paginate(fsim: SimServer, fsession: Session) -> None:
    account = await margin_account(fsession)
    today = fsim.exchange.market.today()
    start = today - timedelta(days=30)
    snapshots = await account.get_balance_snapshots(
        fsession, start_date=start, end_date=today, page_offset=None, per_page=5
    )
    dates = [s.snapshot_date for s in snapshots]
    assert 15 <= len(dates) <= 23  # trading days in a month
    assert dates == sorted(set(dates), reverse=True)
    assert all(start <= d < today for d in dates)
    assert len({s.net_liquidating_value for s in snapshots}) > 1  # history, not today repeated


async def test_cash_account_cannot_sell_short(fsession: Session) -> None:
    # Refused before anything is booked, so the shared simulator stays untouched.
    account = await Account.get(fsession, "5WT00002")
    order = MarketOrder(legs=[leg("F", STO, 10)])
    with pytest.raises(TastytradeError, match="cash_account_short"):
        await account.place_order(fsession, order, dry_run=False)
    assert "F" not in holdings(await account.get_positions(fsession))
