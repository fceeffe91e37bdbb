"""Ledger invariants: net liq always adds up, rejections change nothing, multi-leg fills are
atomic, the tape is reproducible, and the paper account survives a restart."""

from __future__ import annotations

import asyncio
import json
import random
import sqlite3
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from tastytrade import Account, Session
from tastytrade.account import AccountBalance
from tastytrade.order import FillBehavior, LimitOrder, MarketOrder, OrderStatus, PlacedOrder

from tastytui.domain.clock import ManualClock
from tastytui.domain.symbols import OptionSymbol
from tastytui.sim.config import FillModel
from tastytui.sim.server import SimServer
from tests.conftest import SIM_START, SimFactory, sdk_session
from tests.sim.simkit import (
    BTC,
    BTO,
    STC,
    STO,
    TERMINAL,
    Pushes,
    account_stream,
    holdings,
    leg,
    margin_account,
    marked_value,
    nets,
    pushed_leg_fractions,
    put,
    stored_leg_fractions,
    until_status,
)

ROUNDING = Decimal("0.05")
FAST: dict[str, Any] = {"live_tape": False, "tick_interval": 0.05}


@pytest.fixture
async def fsim(make_sim: SimFactory) -> SimServer:
    return await make_sim(**FAST)


@pytest.fixture
async def fsession(fsim: SimServer) -> AsyncIterator[Session]:
    async with sdk_session(fsim) as s:
        yield s


async def _check_net_liq(session: Session, account: Account) -> None:
    balance = await account.get_balances(session)
    positions = await account.get_positions(session)
    longs = balance.long_equity_value + balance.long_derivative_value
    shorts = balance.short_equity_value + balance.short_derivative_value
    assert balance.net_liquidating_value == balance.cash_balance + longs - shorts
    drift = balance.net_liquidating_value - balance.cash_balance - marked_value(positions)
    assert abs(drift) < ROUNDING, f"net liq is off the marks by {drift}"


def _check_atomic(sim: SimServer, pushes: Pushes) -> None:
    """Every pushed and every stored order has all legs filled in the same proportion."""
    for pushed in pushes.orders:
        assert len(set(pushed_leg_fractions(pushed))) == 1, f"uneven legs in push {pushed.id}"
    for order_id in sim.exchange.ledger.orders:
        fractions = stored_leg_fractions(sim, order_id)
        assert len(set(fractions)) == 1, f"uneven legs stored for order {order_id}"


async def test_net_liq_adds_up_through_a_random_sequence_of_orders(
    fsim: SimServer, fsession: Session
) -> None:
    rng = random.Random(20261118)
    account = await margin_account(fsession)
    working: list[int] = []
    async with account_stream(fsim, fsession, [account]) as pushes:
        await _check_net_liq(fsession, account)
        for _ in range(14):
            choice = rng.choice(["stock", "spread", "spread", "close", "step", "cancel"])
            order: Any = None
            if choice == "stock":
                symbol = rng.choice(["F", "KO", "BAC"])
                held = holdings(await account.get_positions(fsession)).get(symbol, Decimal(0))
                if held > 0 and rng.random() < 0.5:
                    order = MarketOrder(legs=[leg(symbol, STC, int(held))])
                else:
                    order = MarketOrder(legs=[leg(symbol, BTO, rng.randint(1, 300))])
            elif choice == "spread":
                quantity = rng.randint(1, 3)
                short = rng.randint(-6, -2)
                legs = [
                    leg(put(fsim, "SPY", short), STO, quantity),
                    leg(put(fsim, "SPY", short - rng.randint(1, 5)), BTO, quantity),
                ]
                prices = nets(fsim, legs)
                price = prices.at_natural if rng.random() < 0.7 else prices.beyond_mid
                order = LimitOrder(legs=legs, price=price)
            elif choice == "close":
                options = [
                    p
                    for p in await account.get_positions(fsession)
                    if p.instrument_type.value == "Equity Option"
                ]
                if options:
                    p = rng.choice(options)
                    action = STC if p.quantity_direction == "Long" else BTC
                    one = [leg(p.symbol, action, rng.randint(1, int(p.quantity)))]
                    order = LimitOrder(legs=one, price=nets(fsim, one).at_natural)
            elif choice == "step":
                fsim.control.step(rng.randint(1, 20))
            elif working:
                await account.delete_order(fsession, working.pop())
            if order is not None:
                placed = await account.place_order(fsession, order, dry_run=False)
                settled = await _settled(pushes, placed.order.id)
                if settled.status == OrderStatus.LIVE:
                    working.append(placed.order.id)
            await _check_net_liq(fsession, account)
            _check_atomic(fsim, pushes)
    assert len(pushes.orders) > 10


async def _settled(pushes: Pushes, order_id: int) -> PlacedOrder:
    """The order's first push that is working at the exchange or final."""
    settled = TERMINAL | {OrderStatus.LIVE}

    def found() -> PlacedOrder | None:
        return next((o for o in pushes.of(order_id) if o.status in settled), None)

    result = await pushes.wait_for(found)
    assert isinstance(result, PlacedOrder)
    return result


def _snapshot_balance(balance: AccountBalance) -> dict[str, Any]:
    return balance.model_dump(exclude={"updated_at", "snapshot_date"})


async def _account_state(session: Session, account: Account) -> tuple[Any, ...]:
    return (
        _snapshot_balance(await account.get_balances(session)),
        [p.model_dump() for p in await account.get_positions(session)],
        [t.id for t in await account.get_history(session, page_offset=None)],
    )


async def test_a_rejected_order_changes_nothing(fsim: SimServer, fsession: Session) -> None:
    account = await margin_account(fsession)
    legs = [leg(put(fsim, "SPY", -3), STO, 2), leg(put(fsim, "SPY", -6), BTO, 2)]
    before = await _account_state(fsession, account)
    fsim.control.reject_next_order("Insufficient liquidity")
    placed = await account.place_order(
        fsession, LimitOrder(legs=legs, price=nets(fsim, legs).at_natural), dry_run=False
    )
    rejected = await until_status(fsession, account, placed.order.id, OrderStatus.REJECTED)
    assert all(one.remaining_quantity == 2 and not one.fills for one in rejected.legs)
    assert await _account_state(fsession, account) == before
    # A preflight refusal does not even create an order.
    orders = len(fsim.exchange.ledger.orders)
    huge = [leg(put(fsim, "SPY", 0), STO, 500)]
    with pytest.raises(Exception, match="insufficient_buying_power"):
        await account.place_order(fsession, LimitOrder(legs=huge, price=Decimal("5")), False)
    assert len(fsim.exchange.ledger.orders) == orders
    assert await _account_state(fsession, account) == before


async def test_partial_fills_never_leave_one_leg_alone_in_any_push_or_stored_state(
    make_sim: SimFactory,
) -> None:
    sim = await make_sim(fill_model=FillModel.PARTIAL, **FAST)
    stored: list[list[Decimal]] = []
    ledger = sim.exchange.ledger
    original = ledger.save_order

    def spy(order: Any) -> None:  # record every state of the order as it is written
        original(order)
        if order.id:
            stored.append(stored_leg_fractions(sim, order.id))

    ledger.save_order = spy  # type: ignore[method-assign]
    async with sdk_session(sim) as session:
        account = await margin_account(session)
        legs = [
            leg(put(sim, "QQQ", -12), BTO, 6),
            leg(put(sim, "QQQ", -6), STO, 6),
            leg(put(sim, "QQQ", -3), STO, 6),
            leg(put(sim, "QQQ", 0), BTO, 6),
        ]
        async with account_stream(sim, session, [account]) as pushes:
            placed = await account.place_order(
                session, LimitOrder(legs=legs, price=nets(sim, legs).at_natural), dry_run=False
            )
            await pushes.status(placed.order.id, OrderStatus.FILLED)
        _check_atomic(sim, pushes)
    assert [f[0] for f in stored].count(Decimal("0.5")) >= 1
    assert all(len(set(f)) == 1 for f in stored)


def _tape(sim: SimServer, contracts: list[OptionSymbol]) -> tuple[Any, ...]:
    market = sim.exchange.market
    quotes = [market.option_quote(c) for c in contracts]
    return (
        market.prices(),
        [(q.bid, q.ask, round(q.iv, 10), round(q.delta, 10)) for q in quotes],
        [(market.equity_quote(s).bid, market.equity_quote(s).ask) for s in ("SPY", "AAPL")],
    )


async def test_the_same_seed_gives_the_same_tape(make_sim: SimFactory) -> None:
    tapes = []
    for seed in (11, 11, 12):
        sim = await make_sim(seed=seed, clock=ManualClock(SIM_START), live_tape=False)
        contracts = [put(sim, "SPY", -3), put(sim, "AAPL", 2, dte=45)]
        opening = _tape(sim, contracts)
        assert sim.control.step(25) == 25
        tapes.append((opening, _tape(sim, contracts)))
        await sim.stop()
    (open_a, after_a), (open_b, after_b), (open_c, after_c) = tapes
    assert open_a == open_b and after_a == after_b
    assert after_a != open_a  # the tape moved
    assert open_c[0] != open_a[0] and after_c[0] != after_a[0]  # another seed, another tape


async def test_the_paper_account_survives_a_restart(make_sim: SimFactory, tmp_path: Path) -> None:
    state = str(tmp_path / "paper.sqlite")
    first = await make_sim(state_path=state, **FAST)
    async with sdk_session(first) as session:
        account = await margin_account(session)
        legs = [leg(put(first, "SPY", -3), STO, 1), leg(put(first, "SPY", -5), BTO, 1)]
        filled = await account.place_order(
            session, LimitOrder(legs=legs, price=nets(first, legs).at_natural), dry_run=False
        )
        await until_status(session, account, filled.order.id, OrderStatus.FILLED)
        before = await _account_state(session, account)
        orders = [
            (o.id, o.status) for o in await account.get_order_history(session, page_offset=None)
        ]
    await first.stop()

    second = await make_sim(state_path=state, **FAST)
    async with sdk_session(second) as session:
        account = await margin_account(session)
        after = await _account_state(session, account)
        assert after[1:] == before[1:]  # positions and transactions
        assert after[0]["cash_balance"] == before[0]["cash_balance"]
        again = [
            (o.id, o.status) for o in await account.get_order_history(session, page_offset=None)
        ]
        assert again == orders
        deposits = await account.get_history(session, page_offset=None, type="Money Movement")
        assert len(deposits) == 1  # the starting book was not booked a second time
        nxt = await account.place_order(
            session, MarketOrder(legs=[leg("F", BTO, 1)]), dry_run=False
        )
        assert nxt.order.id > max(i for i, _ in orders)


async def test_fills_keep_unique_ids_across_restarts(make_sim: SimFactory, tmp_path: Path) -> None:
    state = str(tmp_path / "paper.sqlite")
    await (await make_sim(state_path=state, **FAST)).stop()  # creates and seeds the ledger
    # A long tick: the second half of the partial fill cannot happen before the stop.
    second = await make_sim(
        state_path=state, fill_model=FillModel.PARTIAL, live_tape=False, tick_interval=30
    )
    async with sdk_session(second) as session:
        account = await margin_account(session)
        legs = [leg(put(second, "SPY", -3), STO, 2), leg(put(second, "SPY", -5), BTO, 2)]
        placed = await account.place_order(
            session, LimitOrder(legs=legs, price=nets(second, legs).at_natural), dry_run=False
        )
        for _ in range(300):
            if (await account.get_order(session, placed.order.id)).legs[0].fills:
                break
            await asyncio.sleep(0.01)
    await second.stop()
    third = await make_sim(state_path=state, **FAST)
    async with sdk_session(third) as session:
        account = await margin_account(session)
        done = await until_status(session, account, placed.order.id, OrderStatus.FILLED)
    fill_ids = [f.fill_id for one in done.legs for f in one.fills or []]
    assert len(fill_ids) == 4 and len(set(fill_ids)) == 4
    groups = [[f.ext_group_fill_id for f in one.fills or []] for one in done.legs]
    assert groups[0] == groups[1]  # both legs of one execution share its group id
    assert len(set(groups[0])) == 2


async def test_reset_restores_the_starting_book(fsim: SimServer, fsession: Session) -> None:
    account = await margin_account(fsession)
    start_positions = holdings(await account.get_positions(fsession))
    start_history = len(await account.get_history(fsession, page_offset=None))
    for symbol in ("F", "KO"):
        placed = await account.place_order(
            fsession, MarketOrder(legs=[leg(symbol, BTO, 5)]), dry_run=False
        )
        await until_status(fsession, account, placed.order.id, OrderStatus.FILLED)
    fsim.control.close_position_silently("5WT00001", "AAPL")
    last_order = max(fsim.exchange.ledger.orders)
    last_transaction = max(fsim.exchange.ledger.transactions)
    fsim.control.reset()
    assert holdings(await account.get_positions(fsession)) == start_positions
    assert len(await account.get_history(fsession, page_offset=None)) == start_history
    assert not [o for o in await account.get_live_orders(fsession) if o.status == "Live"]
    await _check_net_liq(fsession, account)
    # Ids never come back: the app keys its caches by them.
    assert min(fsim.exchange.ledger.orders) > last_order
    assert min(fsim.exchange.ledger.transactions) > last_transaction


async def test_an_order_accepted_just_before_a_crash_is_routed_on_restart(
    make_sim: SimFactory, tmp_path: Path
) -> None:
    state = str(tmp_path / "paper.sqlite")
    first = await make_sim(state_path=state, **FAST)
    async with sdk_session(first) as session:
        account = await margin_account(session)
        legs = [leg(put(first, "SPY", -3), STO, 1), leg(put(first, "SPY", -5), BTO, 1)]
        placed = await account.place_order(
            session,
            LimitOrder(legs=legs, price=nets(first, legs).at_natural, behavior=FillBehavior.NEVER),
            dry_run=False,
        )
        await until_status(session, account, placed.order.id, OrderStatus.LIVE)
    await first.stop()
    # As stored by a simulator that died between accepting the order and routing it.
    db = sqlite3.connect(state)
    (raw,) = db.execute("SELECT body FROM orders WHERE id = ?", (placed.order.id,)).fetchone()
    body = json.loads(raw)
    body["status"], body["live_at"] = "Received", None
    db.execute("UPDATE orders SET body = ? WHERE id = ?", (json.dumps(body), placed.order.id))
    db.commit()
    db.close()
    second = await make_sim(state_path=state, **FAST)
    async with sdk_session(second) as session:
        account = await margin_account(session)
        routed = await until_status(session, account, placed.order.id, OrderStatus.LIVE)
    assert routed.live_at is not None
