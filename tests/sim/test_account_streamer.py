"""The account streamer through the SDK's AlertStreamer: acks, pushes and refusals."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from types import SimpleNamespace

import pytest
from tastytrade import AlertStreamer, Session
from tastytrade.order import LimitOrder, MarketOrder, OrderStatus
from tastytrade.utils import TastytradeError

from tastytui.sim.server import SimServer
from tests.conftest import SimFactory, sdk_session
from tests.sim.simkit import (
    BTO,
    STC,
    account_stream,
    cash_account,
    holdings,
    leg,
    margin_account,
    nets,
    put_vertical,
)


@pytest.fixture
async def fsim(make_sim: SimFactory) -> SimServer:
    return await make_sim(live_tape=False, tick_interval=0.05)


@pytest.fixture
async def fsession(fsim: SimServer) -> AsyncIterator[Session]:
    async with sdk_session(fsim) as s:
        yield s


async def test_a_fill_pushes_the_order_every_position_and_the_balance(
    fsim: SimServer, fsession: Session
) -> None:
    account = await margin_account(fsession)
    legs = put_vertical(fsim)
    async with account_stream(fsim, fsession, [account]) as pushes:
        placed = await account.place_order(
            fsession, LimitOrder(legs=legs, price=nets(fsim, legs).at_natural), dry_run=False
        )
        await pushes.status(placed.order.id, OrderStatus.FILLED)
        await pushes.wait_for(lambda: len(pushes.positions) >= 2 and pushes.balances)
    positions = {p.symbol: p for p in await account.get_positions(fsession)}
    for pushed in pushes.positions:
        rest = positions[pushed.symbol]
        assert (pushed.quantity, pushed.quantity_direction) == (
            rest.quantity,
            rest.quantity_direction,
        )
        assert pushed.average_open_price == rest.average_open_price
    assert {p.symbol for p in pushes.positions} == {one.symbol for one in legs}
    balance = await account.get_balances(fsession)
    pushed_balance = pushes.balances[-1]
    assert pushed_balance.account_number == "5WT00001"
    assert pushed_balance.cash_balance == balance.cash_balance
    assert pushed_balance.net_liquidating_value == balance.net_liquidating_value


async def test_closing_a_position_pushes_quantity_zero(fsim: SimServer, fsession: Session) -> None:
    account = await margin_account(fsession)
    async with account_stream(fsim, fsession, [account]) as pushes:
        placed = await account.place_order(
            fsession, MarketOrder(legs=[leg("AAPL", STC, 100)]), dry_run=False
        )
        await pushes.status(placed.order.id, OrderStatus.FILLED)
        closed = await pushes.wait_for(lambda: [p for p in pushes.positions if p.symbol == "AAPL"])
    assert isinstance(closed, list)
    assert (closed[-1].quantity, closed[-1].quantity_direction) == (Decimal(0), "Zero")
    assert closed[-1].realized_day_gain != 0
    assert "AAPL" not in holdings(await account.get_positions(fsession))


async def test_pushes_reach_only_the_subscribed_account(fsim: SimServer, fsession: Session) -> None:
    margin = await margin_account(fsession)
    cash = await cash_account(fsession)
    async with account_stream(fsim, fsession, [cash]) as pushes:
        elsewhere = await margin.place_order(
            fsession, MarketOrder(legs=[leg("F", BTO, 10)]), dry_run=False
        )
        mine = await cash.place_order(fsession, MarketOrder(legs=[leg("F", BTO, 5)]), dry_run=False)
        await pushes.status(mine.order.id, OrderStatus.FILLED)
        await pushes.wait_for(
            lambda: any(p.symbol == "F" for p in pushes.positions) and pushes.balances
        )
    assert not pushes.of(elsewhere.order.id)
    assert {o.account_number for o in pushes.orders} == {"5WT00002"}
    assert {p.account_number for p in pushes.positions} == {"5WT00002"}
    assert {b.account_number for b in pushes.balances} == {"5WT00002"}


async def test_an_invalid_token_gets_an_error_ack_that_ends_the_streamer(
    fsim: SimServer, fsession: Session
) -> None:
    account = await margin_account(fsession)
    fsim.control.expire_tokens()  # the SDK still believes its token is good
    streamer = AlertStreamer(fsession)
    streamer.base_url = fsim.streamer_url
    with pytest.raises(ExceptionGroup) as info:
        async with streamer:
            await streamer.subscribe_accounts([account])
    assert info.group_contains(TastytradeError, match="invalid-auth-token", depth=2)


async def test_an_unknown_account_is_refused(fsim: SimServer, fsession: Session) -> None:
    streamer = AlertStreamer(fsession)
    streamer.base_url = fsim.streamer_url
    with pytest.raises(ExceptionGroup) as info:
        async with streamer:
            await streamer.subscribe_accounts([SimpleNamespace(account_number="5WT99999")])  # type: ignore[list-item]
    assert info.group_contains(TastytradeError, match="invalid-account", depth=2)


async def test_other_subscriptions_need_connect_first(fsim: SimServer, fsession: Session) -> None:
    streamer = AlertStreamer(fsession)
    streamer.base_url = fsim.streamer_url
    with pytest.raises(ExceptionGroup) as info:
        async with streamer:
            await streamer.subscribe_quote_alerts()
    assert info.group_contains(TastytradeError, match="subscribe_accounts", depth=2)
    account = await margin_account(fsession)
    streamer = AlertStreamer(fsession)
    streamer.base_url = fsim.streamer_url
    async with streamer:
        await streamer.subscribe_accounts([account])
        await streamer.subscribe_quote_alerts()  # acknowledged: no exception
        await streamer.subscribe_public_watchlists()
