"""Orders through the unmodified SDK: multi-leg fills, previews, rejections, edits, fill models.

The tape is frozen (``live_tape=False``) so the limit prices computed from the simulated market
stay valid while the order travels; the engine still runs every ``tick_interval``.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from tastytrade import Account, Session
from tastytrade.order import (
    FillBehavior,
    LimitOrder,
    MarketOrder,
    OrderStatus,
    OrderTimeInForce,
    StopOrder,
)
from tastytrade.utils import TastytradeError

from tastytui.domain.clock import ManualClock
from tastytui.domain.orders import InstrumentType as DomainType
from tastytui.sim.config import FillModel, MarketHours
from tastytui.sim.server import SimServer
from tests.conftest import SIM_START, SimFactory, sdk_session
from tests.sim.simkit import (
    BTO,
    STC,
    STO,
    account_stream,
    call,
    holdings,
    iron_condor,
    leg,
    margin_account,
    nets,
    pushed_leg_fractions,
    put,
    put_vertical,
    stored_leg_fractions,
    until_status,
)

FAST = {"live_tape": False, "tick_interval": 0.05}


@pytest.fixture
async def fsim(make_sim: SimFactory) -> SimServer:
    return await make_sim(**FAST)


@pytest.fixture
async def fsession(fsim: SimServer) -> AsyncIterator[Session]:
    async with sdk_session(fsim) as s:
        yield s


async def _order_transactions(session: Session, account: Account, order_id: int) -> list[Any]:
    history = await account.get_history(session, page_offset=None)
    return [t for t in history if t.order_id == order_id]


# ---------------------------------------------------------------- multi-leg lifecycle


async def test_vertical_lifecycle_moves_positions_balances_and_transactions_together(
    fsim: SimServer, fsession: Session
) -> None:
    account = await margin_account(fsession)
    legs = put_vertical(fsim, quantity=2)
    before_positions = holdings(await account.get_positions(fsession))
    before_cash = (await account.get_balances(fsession)).cash_balance
    price = nets(fsim, legs).at_mid
    assert price > 0, "a short put vertical is a credit"
    async with account_stream(fsim, fsession, [account]) as pushes:
        placed = await account.place_order(
            fsession, LimitOrder(legs=legs, price=price), dry_run=False
        )
        order_id = placed.order.id
        filled = await pushes.status(order_id, OrderStatus.FILLED)
        await pushes.wait_for(lambda: len(pushes.positions) >= 2 and pushes.balances)
    assert pushes.statuses(order_id) == [
        OrderStatus.RECEIVED,
        OrderStatus.ROUTED,
        OrderStatus.LIVE,
        OrderStatus.FILLED,
    ]
    assert placed.order.status == OrderStatus.RECEIVED
    assert placed.order.price == price
    assert all(one.remaining_quantity == 0 for one in filled.legs)

    after_positions = holdings(await account.get_positions(fsession))
    for one in legs:
        sign = 1 if one.action == BTO else -1
        assert after_positions[one.symbol] - before_positions.get(one.symbol, Decimal(0)) == (
            sign * 2
        )
    transactions = await _order_transactions(fsession, account, order_id)
    assert sorted(t.symbol for t in transactions) == sorted(one.symbol for one in legs)
    fees = sum(
        (t.commission + t.clearing_fees + t.regulatory_fees for t in transactions), Decimal(0)
    )
    leg_values = Decimal(0)
    for one in filled.legs:
        sign = -1 if one.action == BTO else 1
        for fill in one.fills or []:
            leg_values += sign * fill.fill_price * fill.quantity * 100
    after_cash = (await account.get_balances(fsession)).cash_balance
    assert after_cash - before_cash == leg_values + fees  # fees are negative (debits)
    assert sum((t.net_value for t in transactions), Decimal(0)) == after_cash - before_cash
    assert fees < 0
    # The order's net price per unit is what the legs add up to.
    assert leg_values / 2 / 100 >= price


async def test_iron_condor_fills_as_one_order(fsim: SimServer, fsession: Session) -> None:
    account = await margin_account(fsession)
    legs = iron_condor(fsim)
    price = nets(fsim, legs).at_natural
    async with account_stream(fsim, fsession, [account]) as pushes:
        placed = await account.place_order(
            fsession, LimitOrder(legs=legs, price=price), dry_run=False
        )
        await pushes.status(placed.order.id, OrderStatus.FILLED)
    for pushed in pushes.of(placed.order.id):
        assert len(set(pushed_leg_fractions(pushed))) == 1, "legs filled unevenly"
    transactions = await _order_transactions(fsession, account, placed.order.id)
    assert len(transactions) == 4
    assert {t.order_id for t in transactions} == {placed.order.id}
    held = holdings(await account.get_positions(fsession))
    assert [held[one.symbol] for one in legs] == [1, -1, -1, 1]


# ---------------------------------------------------------------- previews and rejections


# ---------------------------------------------------------------- replace and cancel


async def test_replace_cancels_the_old_order_and_links_both(
    fsim: SimServer, fsession: Session
) -> None:
    account = await margin_account(fsession)
    legs = put_vertical(fsim)
    prices = nets(fsim, legs)
    async with account_stream(fsim, fsession, [account]) as pushes:
        placed = await account.place_order(
            fsession,
            LimitOrder(legs=legs, price=prices.beyond_mid, external_identifier="ticket-7"),
            dry_run=False,
        )
        old_id = placed.order.id
        await pushes.status(old_id, OrderStatus.LIVE)
        new = await account.replace_order(
            fsession, old_id, LimitOrder(legs=legs, price=prices.at_natural)
        )
        cancelled = await pushes.status(old_id, OrderStatus.CANCELLED)
        filled = await pushes.status(new.id, OrderStatus.FILLED)
    assert new.id != old_id
    assert new.replaces_order_id == old_id
    assert new.price == prices.at_natural
    assert cancelled.replacing_order_id == new.id
    assert [(one.symbol, one.action, one.quantity) for one in new.legs] == [
        (one.symbol, one.action, one.quantity) for one in legs
    ]
    old = await account.get_order(fsession, old_id)
    assert old.status == OrderStatus.CANCELLED
    assert old.replacing_order_id == new.id
    assert filled.external_identifier == "ticket-7"


async def test_cancel_a_working_order_then_cancelling_a_filled_one_fails(
    make_sim: SimFactory,
) -> None:
    sim = await make_sim(fill_model=FillModel.NEVER, **FAST)
    async with sdk_session(sim) as session:
        account = await margin_account(session)
        legs = put_vertical(sim)
        async with account_stream(sim, session, [account]) as pushes:
            placed = await account.place_order(
                session, LimitOrder(legs=legs, price=nets(sim, legs).at_natural), dry_run=False
            )
            await pushes.status(placed.order.id, OrderStatus.LIVE)
            await account.delete_order(session, placed.order.id)
            cancelled = await pushes.status(placed.order.id, OrderStatus.CANCELLED)
        assert cancelled.cancelled_at is not None
        assert holdings(await account.get_positions(session)).get(legs[0].symbol) is None
        sim.control.set_fill_model("mid")
        filled = await account.place_order(
            session, MarketOrder(legs=[leg("AAPL", BTO, 1)]), dry_run=False
        )
        await until_status(session, account, filled.order.id, OrderStatus.FILLED)
        with pytest.raises(TastytradeError, match="order_not_cancellable"):
            await account.delete_order(session, filled.order.id)


async def test_external_identifier_is_returned_everywhere(
    fsim: SimServer, fsession: Session
) -> None:
    account = await margin_account(fsession)
    legs = put_vertical(fsim)
    order = LimitOrder(
        legs=legs,
        price=nets(fsim, legs).beyond_mid,
        external_identifier="tastytui-42",
        behavior=FillBehavior.NEVER,
    )
    async with account_stream(fsim, fsession, [account]) as pushes:
        placed = await account.place_order(fsession, order, dry_run=False)
        live = await pushes.status(placed.order.id, OrderStatus.LIVE)
    assert placed.order.external_identifier == "tastytui-42"
    assert live.external_identifier == "tastytui-42"
    assert all(o.external_identifier == "tastytui-42" for o in pushes.of(placed.order.id))
    working = [o for o in await account.get_live_orders(fsession) if o.id == placed.order.id]
    assert working[0].external_identifier == "tastytui-42"
    history = await account.get_order_history(fsession, page_offset=None)
    assert next(o for o in history if o.id == placed.order.id).external_identifier == (
        "tastytui-42"
    )
    assert (await account.get_order(fsession, placed.order.id)).external_identifier == (
        "tastytui-42"
    )


# ---------------------------------------------------------------- fill models


async def _still_working(sim: SimServer, session: Session, account: Account, order_id: int) -> None:
    """Run the engine several times; the order must still be working."""
    for _ in range(5):
        sim.exchange.engine.on_step()
    assert (await account.get_order(session, order_id)).status == OrderStatus.LIVE


async def _place_and_settle(
    sim: SimServer, session: Session, order: Any, pushes: Any
) -> tuple[int, Any]:
    account = await margin_account(session)
    placed = await account.place_order(session, order, dry_run=False)
    return placed.order.id, await pushes.status(placed.order.id, OrderStatus.LIVE)


async def test_cross_fills_only_at_the_natural_price(make_sim: SimFactory) -> None:
    sim = await make_sim(fill_model=FillModel.CROSS, **FAST)
    async with sdk_session(sim) as session:
        account = await margin_account(session)
        legs = put_vertical(sim)
        prices = nets(sim, legs)
        assert prices.at_mid > prices.at_natural
        async with account_stream(sim, session, [account]) as pushes:
            at_mid, _ = await _place_and_settle(
                sim, session, LimitOrder(legs=legs, price=prices.at_mid), pushes
            )
            await _still_working(sim, session, account, at_mid)
            at_natural, _ = await _place_and_settle(
                sim, session, LimitOrder(legs=legs, price=prices.at_natural), pushes
            )
            await pushes.status(at_natural, OrderStatus.FILLED)


async def test_mid_fills_at_the_mid_but_not_better(make_sim: SimFactory) -> None:
    sim = await make_sim(fill_model=FillModel.MID, **FAST)
    async with sdk_session(sim) as session:
        account = await margin_account(session)
        legs = put_vertical(sim)
        prices = nets(sim, legs)
        async with account_stream(sim, session, [account]) as pushes:
            better, _ = await _place_and_settle(
                sim, session, LimitOrder(legs=legs, price=prices.beyond_mid), pushes
            )
            await _still_working(sim, session, account, better)
            at_mid, _ = await _place_and_settle(
                sim, session, LimitOrder(legs=legs, price=prices.at_mid), pushes
            )
            filled = await pushes.status(at_mid, OrderStatus.FILLED)
    # Filled at the limit: the legs add up to the order's price.
    total = sum(
        (
            (1 if one.action.value.startswith("Sell") else -1) * one.fills[0].fill_price
            for one in filled.legs
            if one.fills
        ),
        Decimal(0),
    )
    assert total == prices.at_mid


async def test_touch_fills_at_the_mid_with_the_configured_probability(
    make_sim: SimFactory,
) -> None:
    sim = await make_sim(fill_model=FillModel.TOUCH, touch_probability=0.0, **FAST)
    async with sdk_session(sim) as session:
        account = await margin_account(session)
        legs = put_vertical(sim)
        prices = nets(sim, legs)
        async with account_stream(sim, session, [account]) as pushes:
            at_mid, _ = await _place_and_settle(
                sim, session, LimitOrder(legs=legs, price=prices.at_mid), pushes
            )
            await _still_working(sim, session, account, at_mid)
            at_natural, _ = await _place_and_settle(
                sim, session, LimitOrder(legs=legs, price=prices.at_natural), pushes
            )
            await pushes.status(at_natural, OrderStatus.FILLED)
            sim.control.set_fill_model("touch", probability=1.0)
            await pushes.status(at_mid, OrderStatus.FILLED)


async def test_touch_is_deterministic_under_the_seed(make_sim: SimFactory) -> None:
    attempts = []
    for _ in range(2):
        sim = await make_sim(fill_model=FillModel.TOUCH, touch_probability=0.2, **FAST)
        sim.control.set_fill_model("never")  # place first, then count engine passes
        async with sdk_session(sim) as session:
            account = await margin_account(session)
            legs = put_vertical(sim)
            placed = await account.place_order(
                session, LimitOrder(legs=legs, price=nets(sim, legs).at_mid), dry_run=False
            )
            await until_status(session, account, placed.order.id, OrderStatus.LIVE)
            sim.control.set_fill_model("touch")
            order = sim.exchange.ledger.orders[placed.order.id]
            count = 0
            while order.status.value == "Live" and count < 200:
                sim.exchange.engine._try_fill(order)
                count += 1
            attempts.append(count)
        await sim.stop()
    assert attempts[0] == attempts[1] and 1 < attempts[0] < 200


async def test_delayed_fills_after_the_delay(make_sim: SimFactory) -> None:
    sim = await make_sim(fill_model=FillModel.DELAYED, fill_delay=0.4, **FAST)
    async with sdk_session(sim) as session:
        account = await margin_account(session)
        legs = put_vertical(sim)
        async with account_stream(sim, session, [account]) as pushes:
            order_id, live = await _place_and_settle(
                sim, session, LimitOrder(legs=legs, price=nets(sim, legs).at_natural), pushes
            )
            filled = await pushes.status(order_id, OrderStatus.FILLED)
    assert live.live_at is not None and filled.terminal_at is not None
    waited = (filled.terminal_at - live.live_at).total_seconds()
    assert 0.4 <= waited < 1.5


async def test_partial_fills_a_four_lot_spread_two_then_two_never_one_leg_alone(
    make_sim: SimFactory,
) -> None:
    sim = await make_sim(fill_model=FillModel.PARTIAL, **FAST)
    async with sdk_session(sim) as session:
        account = await margin_account(session)
        legs = put_vertical(sim, quantity=4)
        async with account_stream(sim, session, [account]) as pushes:
            placed = await account.place_order(
                session, LimitOrder(legs=legs, price=nets(sim, legs).at_natural), dry_run=False
            )
            await pushes.status(placed.order.id, OrderStatus.FILLED)
    steps = pushes.of(placed.order.id)
    fractions = [pushed_leg_fractions(o) for o in steps]
    for one in fractions:
        assert len(set(one)) == 1, f"legs filled unevenly: {one}"
    assert [f[0] for f in fractions] == [0, 0, 0, Decimal("0.5"), 1]
    assert [o.status for o in steps][-2:] == [OrderStatus.LIVE, OrderStatus.FILLED]
    assert all(len(one.fills or []) == 2 for one in steps[-1].legs)
    assert all(f.quantity == 2 for one in steps[-1].legs for f in one.fills or [])
    assert set(stored_leg_fractions(sim, placed.order.id)) == {Decimal(1)}


async def test_never_leaves_the_order_working(make_sim: SimFactory) -> None:
    sim = await make_sim(fill_model=FillModel.NEVER, **FAST)
    async with sdk_session(sim) as session:
        account = await margin_account(session)
        legs = put_vertical(sim)
        async with account_stream(sim, session, [account]) as pushes:
            order_id, _ = await _place_and_settle(
                sim, session, LimitOrder(legs=legs, price=nets(sim, legs).at_natural), pushes
            )
            await _still_working(sim, session, account, order_id)
        live = await account.get_live_orders(session)
        assert any(o.id == order_id and o.status == OrderStatus.LIVE for o in live)


async def test_reject_model_rejects_with_a_reason(make_sim: SimFactory) -> None:
    sim = await make_sim(fill_model=FillModel.REJECT, **FAST)
    async with sdk_session(sim) as session:
        account = await margin_account(session)
        legs = put_vertical(sim)
        before = holdings(await account.get_positions(session))
        async with account_stream(sim, session, [account]) as pushes:
            placed = await account.place_order(
                session, LimitOrder(legs=legs, price=nets(sim, legs).at_natural), dry_run=False
            )
            rejected = await pushes.terminal(placed.order.id)
        assert rejected.status == OrderStatus.REJECTED
        assert rejected.reject_reason and "rejected" in rejected.reject_reason
        assert holdings(await account.get_positions(session)) == before


async def test_reject_next_order_uses_the_given_reason_once(
    fsim: SimServer, fsession: Session
) -> None:
    account = await margin_account(fsession)
    legs = put_vertical(fsim)
    fsim.control.reject_next_order("Insufficient liquidity")
    order = LimitOrder(legs=legs, price=nets(fsim, legs).at_natural)
    async with account_stream(fsim, fsession, [account]) as pushes:
        first = await account.place_order(fsession, order, dry_run=False)
        rejected = await pushes.terminal(first.order.id)
        second = await account.place_order(fsession, order, dry_run=False)
        filled = await pushes.terminal(second.order.id)
    assert rejected.status == OrderStatus.REJECTED
    assert rejected.reject_reason == "Insufficient liquidity"
    assert filled.status == OrderStatus.FILLED


BEHAVIORS: list[tuple[FillBehavior, timedelta | None, list[OrderStatus]]] = [
    (FillBehavior.NEVER, None, [OrderStatus.LIVE]),
    (FillBehavior.REJECT, None, [OrderStatus.REJECTED]),
    (FillBehavior.PARTIAL, None, [OrderStatus.LIVE, OrderStatus.LIVE, OrderStatus.FILLED]),
    (FillBehavior.DELAYED, timedelta(seconds=0.3), [OrderStatus.LIVE, OrderStatus.FILLED]),
    (FillBehavior.IMMEDIATE, None, [OrderStatus.LIVE, OrderStatus.FILLED]),
]


async def test_sdk_behavior_field_is_honoured(fsim: SimServer, fsession: Session) -> None:
    account = await margin_account(fsession)
    legs = put_vertical(fsim, quantity=2)
    async with account_stream(fsim, fsession, [account]) as pushes:
        for behavior, delay, expected in BEHAVIORS:
            order = LimitOrder(
                legs=legs, price=nets(fsim, legs).at_natural, behavior=behavior, delay=delay
            )
            started = time.monotonic()
            placed = await account.place_order(fsession, order, dry_run=False)
            if expected[-1] in (OrderStatus.FILLED, OrderStatus.REJECTED):
                await pushes.terminal(placed.order.id)
            else:
                await pushes.status(placed.order.id, OrderStatus.LIVE)
                await _still_working(fsim, fsession, account, placed.order.id)
            elapsed = time.monotonic() - started
            statuses = pushes.statuses(placed.order.id)
            skip = 1 if expected[0] == OrderStatus.REJECTED else 2  # Received (and Routed)
            assert statuses[skip:] == expected, behavior
            if delay is not None:
                assert elapsed >= 0.3


async def test_scheduled_behavior_fills_at_the_scheduled_time(
    fsim: SimServer, fsession: Session
) -> None:
    account = await margin_account(fsession)
    legs = put_vertical(fsim)
    at = fsim.exchange.clock.now() + timedelta(seconds=0.4)
    order = LimitOrder(
        legs=legs, price=nets(fsim, legs).at_natural, behavior=FillBehavior.SCHEDULED, schedule=at
    )
    async with account_stream(fsim, fsession, [account]) as pushes:
        placed = await account.place_order(fsession, order, dry_run=False)
        filled = await pushes.status(placed.order.id, OrderStatus.FILLED)
    assert filled.terminal_at is not None and filled.terminal_at >= at


async def test_market_order_fills_at_the_natural_price(fsim: SimServer, fsession: Session) -> None:
    account = await margin_account(fsession)
    ask = fsim.exchange.engine.leg_quote(DomainType.EQUITY, "MSFT").ask
    async with account_stream(fsim, fsession, [account]) as pushes:
        placed = await account.place_order(
            fsession, MarketOrder(legs=[leg("MSFT", BTO, 10)]), dry_run=False
        )
        filled = await pushes.status(placed.order.id, OrderStatus.FILLED)
    assert placed.order.price is None
    assert filled.legs[0].fills and filled.legs[0].fills[0].fill_price == ask
    assert holdings(await account.get_positions(fsession))["MSFT"] == 10


async def test_ioc_fills_when_marketable_and_cancels_otherwise(
    fsim: SimServer, fsession: Session
) -> None:
    account = await margin_account(fsession)
    legs = put_vertical(fsim)
    prices = nets(fsim, legs)
    async with account_stream(fsim, fsession, [account]) as pushes:
        unmarketable = await account.place_order(
            fsession,
            LimitOrder(legs=legs, price=prices.beyond_mid, time_in_force=OrderTimeInForce.IOC),
            dry_run=False,
        )
        marketable = await account.place_order(
            fsession,
            LimitOrder(legs=legs, price=prices.at_natural, time_in_force=OrderTimeInForce.IOC),
            dry_run=False,
        )
        never = await account.place_order(
            fsession,
            LimitOrder(
                legs=legs,
                price=prices.at_natural,
                time_in_force=OrderTimeInForce.IOC,
                behavior=FillBehavior.NEVER,
            ),
            dry_run=False,
        )
        assert (await pushes.terminal(unmarketable.order.id)).status == OrderStatus.CANCELLED
        assert (await pushes.terminal(marketable.order.id)).status == OrderStatus.FILLED
        # An IOC that cannot fill now (here: a never-fill behavior) does not rest either.
        assert (await pushes.terminal(never.order.id)).status == OrderStatus.CANCELLED


async def test_stop_order_rests_until_triggered(fsim: SimServer, fsession: Session) -> None:
    account = await margin_account(fsession)
    spot = Decimal(str(round(fsim.exchange.market.spot("AAPL"), 2)))
    async with account_stream(fsim, fsession, [account]) as pushes:
        far = await account.place_order(
            fsession,
            StopOrder(legs=[leg("AAPL", STC, 50)], stop_trigger=spot - 20),
            dry_run=False,
        )
        await pushes.status(far.order.id, OrderStatus.LIVE)
        await _still_working(fsim, fsession, account, far.order.id)
        near = await account.place_order(
            fsession,
            StopOrder(legs=[leg("AAPL", STC, 50)], stop_trigger=spot + 1),
            dry_run=False,
        )
        filled = await pushes.status(near.order.id, OrderStatus.FILLED)
    assert far.order.stop_trigger == spot - 20
    bid = fsim.exchange.engine.leg_quote(DomainType.EQUITY, "AAPL").bid
    assert filled.legs[0].fills and filled.legs[0].fills[0].fill_price == bid


# ---------------------------------------------------------------- expiry of orders and options


@pytest.fixture
async def clock() -> ManualClock:
    return ManualClock(SIM_START)


@pytest.fixture
async def csim(make_sim: SimFactory, clock: ManualClock) -> SimServer:
    # Tokens outlive the jumps of the manual clock (the SDK refreshes by wall-clock time).
    return await make_sim(clock=clock, token_lifetime=10**8, **FAST)


async def test_day_order_expires_when_the_session_ends_gtc_stays(
    csim: SimServer, clock: ManualClock
) -> None:
    async with sdk_session(csim) as session:
        account = await margin_account(session)
        legs = put_vertical(csim)
        price = nets(csim, legs).beyond_mid
        async with account_stream(csim, session, [account]) as pushes:
            day = await account.place_order(
                session, LimitOrder(legs=legs, price=price), dry_run=False
            )
            gtc = await account.place_order(
                session,
                LimitOrder(legs=legs, price=price, time_in_force=OrderTimeInForce.GTC),
                dry_run=False,
            )
            await pushes.status(gtc.order.id, OrderStatus.LIVE)
            clock.advance(6 * 3600)  # 16:00 New York: still the same trading day
            csim.exchange.engine.on_step()
            assert (await account.get_order(session, day.order.id)).status == OrderStatus.LIVE
            clock.advance(8 * 3600 + 60)  # past midnight
            csim.exchange.engine.on_step()
            expired = await pushes.status(day.order.id, OrderStatus.EXPIRED)
        assert expired.terminal_at is not None
        assert (await account.get_order(session, gtc.order.id)).status == OrderStatus.LIVE


async def test_day_order_expires_at_the_close_under_nyse_hours(
    make_sim: SimFactory, clock: ManualClock
) -> None:
    sim = await make_sim(clock=clock, token_lifetime=10**8, market_hours=MarketHours.NYSE, **FAST)
    async with sdk_session(sim) as session:
        account = await margin_account(session)
        legs = put_vertical(sim)
        placed = await account.place_order(
            session, LimitOrder(legs=legs, price=nets(sim, legs).beyond_mid), dry_run=False
        )
        await until_status(session, account, placed.order.id, OrderStatus.LIVE)
        clock.advance(6 * 3600 - 60)  # 15:59
        sim.exchange.engine.on_step()
        assert (await account.get_order(session, placed.order.id)).status == OrderStatus.LIVE
        clock.advance(120)  # 16:01
        sim.exchange.engine.on_step()
        assert (await account.get_order(session, placed.order.id)).status == OrderStatus.EXPIRED


async def test_gtd_order_expires_after_its_date(csim: SimServer, clock: ManualClock) -> None:
    async with sdk_session(csim) as session:
        account = await margin_account(session)
        legs = put_vertical(csim)
        until = csim.exchange.market.today() + timedelta(days=2)
        placed = await account.place_order(
            session,
            LimitOrder(
                legs=legs,
                price=nets(csim, legs).beyond_mid,
                time_in_force=OrderTimeInForce.GTD,
                gtc_date=until,
            ),
            dry_run=False,
        )
        assert placed.order.gtc_date == until
        await until_status(session, account, placed.order.id, OrderStatus.LIVE)
        clock.advance(2 * 86400)
        csim.exchange.engine.on_step()
        assert (await account.get_order(session, placed.order.id)).status == OrderStatus.LIVE
        clock.advance(86400)
        csim.exchange.engine.on_step()
        assert (await account.get_order(session, placed.order.id)).status == OrderStatus.EXPIRED


async def test_expiring_options_are_removed_cash_settled_or_exercised(
    csim: SimServer, clock: ManualClock
) -> None:
    market = csim.exchange.market
    today = market.today()
    spy = market.spot("SPY")
    spx = market.spot("SPX")
    otm_call = call(csim, "SPY", 15, dte=0)
    itm_call = call(csim, "SPY", -5, dte=0)
    itm_short_put = put(csim, "SPY", 5, dte=0)
    spx_exp = market.chain("SPX").expiration(today, "SPXW")
    assert spx_exp is not None and otm_call.expiration == today
    spx_put = spx_exp.strikes[spx_exp.nearest_index(spx) + 4].put  # in the money
    async with sdk_session(csim) as session:
        account = await margin_account(session)
        for legs in (
            [leg(otm_call, BTO, 2)],
            [leg(itm_call, BTO, 1)],
            [leg(itm_short_put, STO, 1)],
            [leg(spx_put, BTO, 1)],
        ):
            placed = await account.place_order(session, MarketOrder(legs=legs), dry_run=False)
            await until_status(session, account, placed.order.id, OrderStatus.FILLED)
        before = holdings(await account.get_positions(session))
        cash_before = (await account.get_balances(session)).cash_balance
        clock.advance(6 * 3600 + 60)  # 16:01 on expiration day
        csim.exchange.engine.on_step()
        after = holdings(await account.get_positions(session))
        cash_after = (await account.get_balances(session)).cash_balance
        settled = await account.get_history(
            session, page_offset=None, types=["Receive Deliver"], start_date=today
        )
    for contract in (otm_call, itm_call, itm_short_put, spx_put):
        assert contract.occ in before and contract.occ not in after
    # Long ITM call: +100 shares; short ITM put assigned: +100 shares.
    assert after["SPY"] - before.get("SPY", Decimal(0)) == 200
    spy_cost = (itm_call.strike + itm_short_put.strike) * 100
    spx_cash = (spx_put.strike - Decimal(str(round(spx, 2)))) * 100
    assert spx_cash > 0 and spy < float(itm_short_put.strike)
    assert cash_after - cash_before == spx_cash - spy_cost
    subtypes = sorted(t.transaction_sub_type for t in settled)
    assert subtypes == [
        "Assignment",
        "Buy to Open",
        "Buy to Open",
        "Cash Settled Exercise",
        "Exercise",
        "Expiration",
    ]


async def test_realized_gains_reset_on_a_new_trading_day(
    csim: SimServer, clock: ManualClock
) -> None:
    async with sdk_session(csim) as session:
        account = await margin_account(session)
        placed = await account.place_order(
            session, MarketOrder(legs=[leg("AAPL", STC, 40)]), dry_run=False
        )
        await until_status(session, account, placed.order.id, OrderStatus.FILLED)
        (aapl,) = await account.get_positions(session, symbol="AAPL")
        assert aapl.quantity == 60
        assert aapl.realized_today != 0 and aapl.realized_day_gain == aapl.realized_today
        clock.advance(86400)
        csim.exchange.engine.on_step()
        (aapl,) = await account.get_positions(session, symbol="AAPL")
        assert aapl.realized_today == 0 and aapl.realized_day_gain == 0
