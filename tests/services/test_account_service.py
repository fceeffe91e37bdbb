"""The account service on the simulator through the real SDK: accounts and switching, balances
and positions, history (all pages), watchlists, metrics, market status, search, New York time,
the chain as a domain model with DTE and expected move, quotes for tickets and the risk context.

Tests that change the simulator undo their change, so the module shares one simulator.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from decimal import Decimal

import pytest
import pytest_asyncio
from tastytrade.market_sessions import MarketStatus
from tastytrade.order import (
    InstrumentType,
    Leg,
    LimitOrder,
    OrderAction,
    OrderStatus,
    OrderTimeInForce,
)

from tastytui.domain.clock import NEW_YORK, OffsetClock
from tastytui.services.accounts import AccountService
from tastytui.services.broker import Broker, Credentials, Endpoint
from tastytui.services.errors import BrokerRejected
from tastytui.services.events import BalancesChanged, EventBus, PositionsChanged
from tastytui.services.health import Health
from tastytui.services.http import RestPolicy
from tastytui.services.quotes import DEFAULT_EVENT_FIELDS, QuoteStore
from tastytui.sim.config import (
    SIM_CASH_ACCOUNT,
    SIM_CLIENT_SECRET,
    SIM_MARGIN_ACCOUNT,
    SIM_REFRESH_TOKEN,
)
from tastytui.sim.server import SimServer
from tests.conftest import SIM_START
from tests.sim.simkit import running_sim

pytestmark = pytest.mark.asyncio(loop_scope="module")
POLICY = RestPolicy(rate=200.0, burst=200.0, backoff_base=0.01, backoff_max=0.02)
QUOTE = DEFAULT_EVENT_FIELDS["Quote"]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def shared() -> AsyncIterator[tuple[SimServer, Broker]]:
    async with running_sim(live_tape=False, tick_interval=0.05) as sim:
        endpoint = Endpoint(
            "sim",
            sim.base_url,
            sim.streamer_url,
            Credentials(SIM_CLIENT_SECRET, SIM_REFRESH_TOKEN),
        )
        async with Broker(endpoint, POLICY, Health()) as broker:
            await broker.login()
            yield sim, broker


@pytest_asyncio.fixture(loop_scope="module")
async def svc(shared: tuple[SimServer, Broker]) -> AsyncIterator[AccountService]:
    sim, broker = shared
    clock = OffsetClock(SIM_START)
    service = AccountService(broker, QuoteStore(clock), EventBus(), clock)
    service.choose(SIM_MARGIN_ACCOUNT)
    yield service
    assert sim.control.state()["pending-http-faults"] == 0, "a test left a fault behind"


# ------------------------------------------------------------------ accounts


async def test_accounts_choose_and_switch(svc: AccountService) -> None:
    seen: list[object] = []
    svc.events.subscribe(seen.append)
    assert svc.account_numbers() == [SIM_MARGIN_ACCOUNT, SIM_CASH_ACCOUNT]
    assert svc.choose("") == SIM_MARGIN_ACCOUNT
    assert svc.choose(SIM_CASH_ACCOUNT) == SIM_CASH_ACCOUNT
    assert svc.choose("5WT99999") == SIM_MARGIN_ACCOUNT  # an unknown default falls back
    svc.switch(SIM_CASH_ACCOUNT)
    assert svc.current == SIM_CASH_ACCOUNT
    assert BalancesChanged(SIM_CASH_ACCOUNT) in seen and PositionsChanged(SIM_CASH_ACCOUNT) in seen
    with pytest.raises(BrokerRejected, match=r"5WT00001, 5WT00002"):
        svc.switch("5WT99999")
    assert svc.current == SIM_CASH_ACCOUNT


async def test_balances_and_signed_positions(svc: AccountService) -> None:
    balance = await svc.refresh_balances()
    assert svc.balances() is balance and balance.net_liquidating_value > 0
    held = await svc.fetch_positions()
    svc.install_positions(SIM_MARGIN_ACCOUNT, held)
    assert svc.positions_loaded(SIM_MARGIN_ACCOUNT)
    assert any(p.quantity < 0 for p in svc.held()), "short positions are negative"
    assert any(p.option is not None and p.streamer_symbol.startswith(".") for p in svc.held())
    underlyings, options = svc.watched_symbols()
    assert "SPY" in underlyings and options and all(o.startswith(".") for o in options)


# ------------------------------------------------------------------ history


async def test_transactions_and_order_history_come_back_whole(
    shared: tuple[SimServer, Broker], svc: AccountService
) -> None:
    sim, _ = shared
    everything = await svc.transactions()
    assert len(everything) == len(sim.exchange.ledger.account_transactions(SIM_MARGIN_ACCOUNT))
    aapl = await svc.transactions(symbol="AAPL")
    assert aapl and all(t.symbol == "AAPL" for t in aapl)
    orders = await svc.order_history()
    assert len(orders) == len(sim.exchange.ledger.account_orders(SIM_MARGIN_ACCOUNT))


async def test_net_liq_history_by_period_and_start_time(svc: AccountService) -> None:
    month = await svc.net_liq_history(time_back="1m")
    assert month and all(p.close > 0 for p in month)
    week = await svc.net_liq_history(start_time=svc.new_york_time() - timedelta(days=7))
    assert 0 < len(week) <= len(month)


# ------------------------------------------------------------------ watchlists


async def test_watchlists_read_create_change_delete(svc: AccountService) -> None:
    assert [w.name for w in await svc.watchlists()] == ["My Watchlist"]
    assert await svc.public_watchlists()
    await svc.save_watchlist("Svc Test", ["aapl", "BRK/B"], create=True)
    [mine] = [w for w in await svc.watchlists() if w.name == "Svc Test"]
    assert [e["symbol"] for e in mine.watchlist_entries or []] == ["AAPL", "BRK/B"]
    await svc.save_watchlist("Svc Test", ["BRK/B", "NVDA"], create=False)  # add and remove
    [mine] = [w for w in await svc.watchlists() if w.name == "Svc Test"]
    assert [e["symbol"] for e in mine.watchlist_entries or []] == ["BRK/B", "NVDA"]
    with pytest.raises(BrokerRejected, match="Svc Test"):
        await svc.save_watchlist("Svc Test", ["SPY"], create=True)  # the name is taken
    await svc.delete_watchlist("Svc Test")
    assert [w.name for w in await svc.watchlists()] == ["My Watchlist"]
    with pytest.raises(BrokerRejected, match="delete watchlist"):
        await svc.delete_watchlist("Svc Test")


# ------------------------------------------------------------------ market information


async def test_metrics_are_read_once_and_cached(
    shared: tuple[SimServer, Broker], svc: AccountService
) -> None:
    sim, _ = shared
    first = await svc.metrics(["AAPL", "SPY", "NOPE"])
    assert set(first) == {"AAPL", "SPY"}
    aapl = first["AAPL"]
    assert aapl.implied_volatility_index_rank is not None and aapl.beta is not None
    assert aapl.liquidity_rating is not None and aapl.earnings is not None
    sim.control.http_fault(500, fraction=1.0, path_prefix="/market-metrics")
    try:
        again = await svc.metrics(["AAPL", "SPY"])  # the cache answers: no request fails
    finally:
        sim.control.clear_http_faults()
    assert again == {"AAPL": aapl, "SPY": first["SPY"]}


async def test_market_status_and_new_york_time(svc: AccountService) -> None:
    [session] = await svc.market_status()
    assert session.status is MarketStatus.OPEN
    now = svc.new_york_time()
    assert now.tzinfo == NEW_YORK
    assert (now.hour, now.date()) == (10, SIM_START.astimezone(NEW_YORK).date())
    assert svc.today() == now.date()


async def test_search_survives_a_token_that_died(
    shared: tuple[SimServer, Broker], svc: AccountService
) -> None:
    sim, _ = shared
    sim.control.expire_tokens()  # the SDK's own search would silently return nothing
    found = await svc.search("AAP")
    assert found and found[0].symbol == "AAPL"
    assert await svc.search("   ") == []


async def test_chain_expirations_with_dte_and_expected_move(svc: AccountService) -> None:
    chain = await svc.chain("spy")
    assert chain.underlying == "SPY" and len(chain.expirations) >= 30
    row = chain.expirations[5].strikes[10]
    assert row.call.occ.startswith("SPY ") and row.call.streamer.startswith(".SPY")
    assert await svc.chain("SPY") is chain, "cached for the day"
    assert (await svc.tick_schedule("SPY")) == chain.tick_schedule

    no_spot = await svc.expirations("SPY")
    assert all(e.expected_move is None for e in no_spot), "no live price, no expected move"
    svc.store.apply_compact("Quote", QUOTE, ["SPY", 680.0, 680.02, 100, 100])
    infos = await svc.expirations("SPY")
    today = svc.today()
    assert [i.dte for i in infos] == [(i.expiration.expiration - today).days for i in infos]
    assert infos[0].dte >= 0
    month = next(i for i in infos if i.dte >= 28)
    assert month.expected_move is not None
    # One standard deviation over a month for an index ETF: a few percent of the price.
    assert 0.01 * 680 < month.expected_move < 0.15 * 680
    moves = [i.expected_move for i in infos if i.expected_move is not None]
    assert moves == sorted(moves), "further out, a wider expected move"
    with pytest.raises(BrokerRejected, match="NOPE"):
        await svc.chain("NOPE")


async def test_an_index_chain_is_read_whole_and_its_contracts_built_on_first_use(
    shared: tuple[SimServer, Broker], svc: AccountService
) -> None:
    sim, _ = shared
    listed = sim.exchange.market.chain("SPX")  # what the exchange lists: SPX and SPXW
    chain = await svc.chain("SPX")
    assert {e.root for e in chain.expirations} == {"SPX", "SPXW"}
    assert len(chain.expirations) == len(listed.expirations) >= 50
    assert chain.tick_schedule == listed.tick_schedule and chain.shares_per_contract == 100
    assert not any(e.loaded for e in chain.expirations), "no contract is built up front"
    front = chain.expirations[0]
    assert len(front.strikes) >= 200 and front.loaded
    assert sum(e.loaded for e in chain.expirations) == 1
    # Every expiration, strike and contract is the exchange's, in order.
    assert chain.expirations == listed.expirations
    assert all(e.strike_prices() == tuple(sorted(e.strike_prices())) for e in chain.expirations)


async def test_leg_quotes_use_the_stream_when_fresh_else_a_snapshot(
    shared: tuple[SimServer, Broker], svc: AccountService
) -> None:
    sim, _ = shared
    chain = await svc.chain("SPY")
    occ = chain.expirations[3].strikes[20].put.occ
    svc.store.apply_compact("Quote", QUOTE, ["QQQ", 1.0, 1.02, 1, 1])  # an odd live quote
    quotes = await svc.leg_quotes(["QQQ", occ, "AAPL"])
    assert (quotes["QQQ"].bid, quotes["QQQ"].ask) == (Decimal("1.0"), Decimal("1.02"))
    market = sim.exchange.market.option_quote(chain.expirations[3].strikes[20].put)
    assert quotes[occ].bid == Decimal(str(market.bid))  # from the REST snapshot
    assert quotes["AAPL"].ask > quotes["AAPL"].bid > 0


async def test_risk_context_counts_contracts_and_lots(svc: AccountService) -> None:
    svc.install_positions(SIM_MARGIN_ACCOUNT, await svc.fetch_positions())
    ctx = await svc.risk_context(SIM_MARGIN_ACCOUNT, ["AAPL"])
    assert ctx.account == SIM_MARGIN_ACCOUNT and ctx.net_liq > 0
    for underlying, count in ctx.contracts_by_underlying.items():
        held = [p for p in svc.held() if p.underlying == underlying]
        expected = sum(abs(p.quantity) if p.option else abs(p.quantity) / 100 for p in held)
        assert count == expected
    assert "AAPL" in ctx.earnings and ctx.earnings["AAPL"] is not None
    assert ctx.today == svc.today()


# ------------------------------------------------------------------ live orders


async def test_rereading_live_orders_parses_only_what_changed(
    shared: tuple[SimServer, Broker], svc: AccountService
) -> None:
    _, broker = shared
    account = svc.sdk_account(SIM_MARGIN_ACCOUNT)
    resting = LimitOrder(
        time_in_force=OrderTimeInForce.DAY,
        legs=[
            Leg(
                instrument_type=InstrumentType.EQUITY,
                symbol="F",
                action=OrderAction.BUY_TO_OPEN,
                quantity=Decimal(1),
            )
        ],
        price=Decimal("-0.50"),  # far under the market: it rests
    )
    kept, cancelled = [
        (await account.place_order(broker.session, resting, dry_run=False)).order.id
        for _ in range(2)
    ]
    try:
        # An event named an order the cache has not seen: one order is read, not the day's.
        assert svc.order(kept) is None
        one = await svc.refresh_order(kept)
        assert one.id == kept and svc.order(kept) is one
        async with asyncio.timeout(10):
            while True:  # routed: Received, then Live
                first = {o.id: o for o in await svc.refresh_orders()}
                if all(first[i].status == OrderStatus.LIVE for i in (kept, cancelled)):
                    break
                await asyncio.sleep(0.05)
        await account.delete_order(broker.session, cancelled)
        second = {o.id: o for o in await svc.refresh_orders()}
        # A busy day re-reads thousands of orders a cycle: the unchanged one is not rebuilt.
        assert second[kept] is first[kept]
        assert second[cancelled] is not first[cancelled]
        assert second[cancelled].status == OrderStatus.CANCELLED
        assert svc.order(cancelled) is second[cancelled]
        # A push changed the cached order since the read: the next read takes the broker's word.
        svc.apply_order(first[kept].model_copy(update={"status": OrderStatus.FILLED}))
        third = {o.id: o for o in await svc.refresh_orders()}
        assert third[kept].status == OrderStatus.LIVE
        assert svc.order(kept) is third[kept]
    finally:
        await account.delete_order(broker.session, kept)
