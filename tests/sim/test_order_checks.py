"""Orders the simulator refuses or only previews: nothing here changes the book, so every test
shares one simulator (frozen tape)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
import pytest_asyncio
from tastytrade import Session
from tastytrade.order import Leg, LimitOrder, MarketOrder, OrderStatus, OrderTimeInForce
from tastytrade.utils import TastytradeError

from tastytui.sim.server import SimServer
from tests.conftest import sdk_session
from tests.sim.simkit import (
    BTO,
    EQUITY,
    OPTION,
    STC,
    STO,
    bearer,
    call,
    holdings,
    leg,
    margin_account,
    nets,
    put,
    put_vertical,
    raw_client,
    running_sim,
)

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def fsim() -> AsyncIterator[SimServer]:
    async with running_sim(live_tape=False, tick_interval=0.05) as sim:
        yield sim


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def fsession(fsim: SimServer) -> AsyncIterator[Session]:
    async with sdk_session(fsim) as s:
        yield s


@pytest_asyncio.fixture(autouse=True, loop_scope="module")
async def book_unchanged(fsim: SimServer) -> AsyncIterator[None]:
    """Every test here must leave the shared book exactly as it found it."""
    orders, transactions = len(fsim.exchange.ledger.orders), len(fsim.exchange.ledger.transactions)
    yield
    assert len(fsim.exchange.ledger.orders) == orders
    assert len(fsim.exchange.ledger.transactions) == transactions


async def test_dry_run_previews_effect_fees_and_warnings_and_places_nothing(
    fsim: SimServer, fsession: Session
) -> None:
    account = await margin_account(fsession)
    legs = put_vertical(fsim)
    history_before = await account.get_order_history(fsession, page_offset=None)
    preview = await account.place_order(
        fsession, LimitOrder(legs=legs, price=nets(fsim, legs).at_mid + 1), dry_run=True
    )
    effect = preview.buying_power_effect
    assert effect.is_spread
    assert effect.change_in_buying_power < 0  # a short spread uses buying power
    assert effect.new_buying_power == effect.current_buying_power + effect.change_in_buying_power
    assert preview.fee_calculation is not None
    assert preview.fee_calculation.total_fees < 0
    assert preview.fee_calculation.commission == Decimal("-2.00")  # $1 per opening contract
    assert preview.warnings and preview.warnings[0].code == "price_far_from_market"
    assert not preview.errors
    assert preview.order.status == OrderStatus.RECEIVED
    history_after = await account.get_order_history(fsession, page_offset=None)
    assert len(history_after) == len(history_before)


def _naked_puts(sim: SimServer, quantity: int) -> list[Any]:
    return [leg(put(sim, "SPY", 0), STO, quantity)]


async def test_dry_run_reports_insufficient_buying_power_in_a_2xx_body(
    fsim: SimServer, fsession: Session
) -> None:
    account = await margin_account(fsession)
    legs = _naked_puts(fsim, 500)
    preview = await account.place_order(
        fsession, LimitOrder(legs=legs, price=nets(fsim, legs).at_mid), dry_run=True
    )
    assert preview.errors is not None
    assert [e.code for e in preview.errors] == ["insufficient_buying_power"]
    assert "buying power" in preview.errors[0].message


async def test_live_order_without_buying_power_is_refused_with_422_naming_the_rule(
    fsim: SimServer, fsession: Session
) -> None:
    account = await margin_account(fsession)
    legs = _naked_puts(fsim, 500)
    order = LimitOrder(legs=legs, price=nets(fsim, legs).at_mid)
    with pytest.raises(TastytradeError, match="insufficient_buying_power"):
        await account.place_order(fsession, order, dry_run=False)
    async with raw_client(fsim) as client:
        response = await client.post(
            "/accounts/5WT00001/orders",
            content=order.model_dump_json(exclude_none=True, by_alias=True),
            headers=await bearer(client),
        )
    assert response.status_code == 422
    assert response.json()["error"]["errors"][0]["code"] == "insufficient_buying_power"


async def test_off_tick_price_is_rejected_with_the_valid_prices(
    fsim: SimServer, fsession: Session
) -> None:
    account = await margin_account(fsession)
    spx_call = call(fsim, "SPX", 0)  # a $100-ish contract: SPX trades in nickels above $3
    legs = [leg(spx_call, BTO)]
    off_tick = nets(fsim, legs).at_mid.quantize(Decimal("0.1")) - Decimal("0.03")
    with pytest.raises(TastytradeError, match="invalid_price_increment") as info:
        await account.place_order(fsession, LimitOrder(legs=legs, price=off_tick), dry_run=False)
    low = abs(off_tick) - Decimal("0.03")  # the nickels either side
    high = abs(off_tick) + Decimal("0.02")
    assert f"try {low} or {high}" in str(info.value)


async def test_closing_more_than_held_is_rejected(fsim: SimServer, fsession: Session) -> None:
    account = await margin_account(fsession)
    held = holdings(await account.get_positions(fsession))
    assert held["AAPL"] == 100
    order = MarketOrder(legs=[leg("AAPL", STC, 150)])
    with pytest.raises(TastytradeError, match="invalid_position_effect") as info:
        await account.place_order(fsession, order, dry_run=False)
    assert "holds 100" in str(info.value)


CONTRACT_ERRORS = [
    ("ZZZZ", "unknown symbol 'ZZZZ'"),
    ("SPY   261117P00680000", "has expired"),  # expired yesterday
    ("SPY   261204P00683500", "is not a listed contract"),  # no half-dollar SPY strikes
    ("ZZZZ  261218P00100000", "unknown option root ZZZZ"),
    ("SPY 261218P680", "is not an OCC option symbol"),
]


async def test_unknown_expired_or_unlisted_contract_gets_400_with_a_clear_message(
    fsim: SimServer, fsession: Session
) -> None:
    account = await margin_account(fsession)
    async with raw_client(fsim) as client:
        headers = await bearer(client)
        for symbol, message in CONTRACT_ERRORS:
            kind = EQUITY if symbol == "ZZZZ" else OPTION
            one = Leg(instrument_type=kind, symbol=symbol, action=BTO, quantity=1)
            order = LimitOrder(legs=[one], price=Decimal("-1.00"))
            with pytest.raises(TastytradeError, match=message):
                await account.place_order(fsession, order, dry_run=False)
            response = await client.post(
                "/accounts/5WT00001/orders/dry-run",
                content=order.model_dump_json(exclude_none=True, by_alias=True),
                headers=headers,
            )
            assert response.status_code == 400
            assert message in response.json()["error"]["message"]


async def test_unknown_behavior_is_a_400(fsim: SimServer) -> None:
    legs = put_vertical(fsim)
    body = LimitOrder(legs=legs, price=nets(fsim, legs).at_natural).model_dump(
        mode="json", exclude_none=True, by_alias=True
    )
    body["behavior"] = "sometimes"
    async with raw_client(fsim) as client:
        response = await client.post(
            "/accounts/5WT00001/orders", json=body, headers=await bearer(client)
        )
    assert response.status_code == 400
    assert "behavior 'sometimes' must be one of" in response.json()["error"]["message"]


async def test_gtd_date_in_the_past_is_refused(fsim: SimServer, fsession: Session) -> None:
    account = await margin_account(fsession)
    legs = put_vertical(fsim)
    order = LimitOrder(
        legs=legs,
        price=nets(fsim, legs).at_mid,
        time_in_force=OrderTimeInForce.GTD,
        gtc_date=fsim.exchange.market.today() - timedelta(days=1),
    )
    with pytest.raises(TastytradeError, match="invalid_gtc_date"):
        await account.place_order(fsession, order, dry_run=False)
