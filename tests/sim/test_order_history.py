"""Order history through the SDK (pagination and filters), the customer, and the market-closed
rejection under the NYSE calendar."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
import pytest_asyncio
from tastytrade import Session
from tastytrade.order import LimitOrder, MarketOrder, OrderStatus, OrderTimeInForce
from tastytrade.utils import TastytradeError

from tastytui.domain.clock import OffsetClock
from tastytui.sim.config import MarketHours
from tastytui.sim.server import SimServer
from tests.conftest import SimFactory, sdk_session
from tests.sim.simkit import (
    BTO,
    bearer,
    leg,
    margin_account,
    nets,
    put_vertical,
    raw_client,
    running_sim,
    until_status,
)

SHARED = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def booked() -> AsyncIterator[tuple[SimServer, Session, dict[str, int]]]:
    """A simulator with a known set of orders: two filled stock orders, one working spread,
    one cancelled spread."""
    async with running_sim(live_tape=False, tick_interval=0.05) as sim, sdk_session(sim) as s:
        account = await margin_account(s)
        ids: dict[str, int] = {}
        for name in ("f1", "f2"):
            placed = await account.place_order(
                s, MarketOrder(legs=[leg("F", BTO, 1)]), dry_run=False
            )
            await until_status(s, account, placed.order.id, OrderStatus.FILLED)
            ids[name] = placed.order.id
        legs = put_vertical(sim)
        resting = LimitOrder(
            legs=legs, price=nets(sim, legs).beyond_mid, time_in_force=OrderTimeInForce.GTC
        )
        for name in ("working", "cancelled"):
            placed = await account.place_order(s, resting, dry_run=False)
            await until_status(s, account, placed.order.id, OrderStatus.LIVE)
            ids[name] = placed.order.id
        await account.delete_order(s, ids["cancelled"])
        await until_status(s, account, ids["cancelled"], OrderStatus.CANCELLED)
        yield sim, s, ids


@SHARED
async def test_history_pages_add_up_to_everything(
    booked: tuple[SimServer, Session, dict[str, int]],
) -> None:
    _, session, ids = booked
    account = await margin_account(session)
    everything = await account.get_order_history(session, per_page=2, page_offset=None)
    assert {o.id for o in everything} >= set(ids.values())
    assert len({o.id for o in everything}) == len(everything), "no order on two pages"
    first = await account.get_order_history(session, per_page=2, page_offset=0)
    second = await account.get_order_history(session, per_page=2, page_offset=1)
    assert [o.id for o in first + second] == [o.id for o in everything[:4]]
    newest_first = [(o.received_at, o.id) for o in everything]
    assert newest_first == sorted(newest_first, reverse=True)


@SHARED
async def test_history_filters_by_status_underlying_and_date(
    booked: tuple[SimServer, Session, dict[str, int]],
) -> None:
    sim, session, ids = booked
    account = await margin_account(session)
    filled = await account.get_order_history(
        session, page_offset=None, statuses=[OrderStatus.FILLED]
    )
    assert {o.id for o in filled} >= {ids["f1"], ids["f2"]}
    assert all(o.status == OrderStatus.FILLED for o in filled)
    spy = await account.get_order_history(session, page_offset=None, underlying_symbol="SPY")
    assert {o.id for o in spy} >= {ids["working"], ids["cancelled"]}
    assert ids["f1"] not in {o.id for o in spy}
    assert all(o.underlying_symbol == "SPY" for o in spy)
    cancelled_spy = await account.get_order_history(
        session, page_offset=None, underlying_symbol="SPY", statuses=[OrderStatus.CANCELLED]
    )
    assert [o.id for o in cancelled_spy] == [ids["cancelled"]]
    tomorrow = sim.exchange.market.today() + timedelta(days=1)
    assert await account.get_order_history(session, page_offset=None, start_date=tomorrow) == []
    today = await account.get_order_history(
        session, page_offset=None, start_date=sim.exchange.market.today()
    )
    assert set(ids.values()) <= {o.id for o in today}


@SHARED
async def test_live_orders_are_working_plus_todays_finished(
    booked: tuple[SimServer, Session, dict[str, int]],
) -> None:
    _, session, ids = booked
    account = await margin_account(session)
    live = {o.id: o.status for o in await account.get_live_orders(session)}
    assert live[ids["working"]] == OrderStatus.LIVE
    assert live[ids["cancelled"]] == OrderStatus.CANCELLED
    assert live[ids["f1"]] == OrderStatus.FILLED


@SHARED
async def test_customer_me(booked: tuple[SimServer, Session, dict[str, int]]) -> None:
    _, session, _ = booked
    customer = await session.get_customer()
    assert customer.id and customer.email and customer.first_name


async def test_market_order_is_refused_while_the_market_is_closed(make_sim: SimFactory) -> None:
    saturday = datetime(2026, 11, 21, 16, 0, tzinfo=UTC)
    sim = await make_sim(
        clock=OffsetClock(saturday), market_hours=MarketHours.NYSE, live_tape=False
    )
    async with sdk_session(sim) as session:
        account = await margin_account(session)
        before = len(sim.exchange.ledger.orders)
        with pytest.raises(TastytradeError, match="market_closed"):
            await account.place_order(session, MarketOrder(legs=[leg("F", BTO, 1)]), dry_run=False)
        preview = await account.place_order(
            session, MarketOrder(legs=[leg("F", BTO, 1)]), dry_run=True
        )
        assert any(e.code == "market_closed" for e in preview.errors or [])
        assert len(sim.exchange.ledger.orders) == before, "a refused order books nothing"
        # A resting limit order is still accepted: it waits for the next session.
        legs = put_vertical(sim)
        resting = await account.place_order(
            session, LimitOrder(legs=legs, price=nets(sim, legs).beyond_mid), dry_run=False
        )
        assert resting.order.status in (OrderStatus.RECEIVED, OrderStatus.ROUTED, OrderStatus.LIVE)
    async with raw_client(sim) as client:
        state = await client.get(
            "/market-time/sessions/current?instrument-collections[]=Equity",
            headers=await bearer(client),
        )
    assert state.json()["data"]["items"][0]["state"] == "Closed"
