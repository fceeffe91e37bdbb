"""Fuzzing the service layer against the simulator: bad tickets, drifted REST answers, hostile
account-streamer pushes.

- Bad tickets through ``OrderService.review`` / ``send`` never place an order and always end
  in a :class:`TicketError` or :class:`ServiceError` that says why.
- REST answers mutated on their way out of the simulator (fields dropped, unknown enum values,
  NaN / Infinity / huge numbers, wrong types, truncated or non-JSON bodies, extra fields) give
  the caller either a usable result or a ``ServiceError`` with a message — never a raw
  ``JSONDecodeError``, ``KeyError`` or ``decimal`` signal.
- Account-streamer pushes of the same kinds never end the stream service: it keeps listening
  or reconnects, and a good push afterwards is applied.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from tastytui.config import Config
from tastytui.domain.clock import OffsetClock
from tastytui.domain.orders import InstrumentType, Leg, OrderAction, OrderType, TimeInForce
from tastytui.domain.ticket import PriceMode, Ticket, TicketError
from tastytui.services.errors import ServiceError
from tastytui.services.orders import OrderRefused
from tastytui.services.runtime import Services, endpoint_for
from tastytui.sim.config import SIM_MARGIN_ACCOUNT
from tastytui.sim.routing import Params, Route
from tastytui.sim.schemas_account import order_json
from tastytui.sim.server import SimServer
from tests.conftest import SIM_START, SimFactory
from tests.sim.simkit import put

D = Decimal
ACCOUNT = SIM_MARGIN_ACCOUNT
BTO, STO = OrderAction.BUY_TO_OPEN, OrderAction.SELL_TO_OPEN
#: Examples per fuzz target (each one is a real round trip to the simulator).
EXAMPLES = {"bad tickets": 150, "rest drift": 400, "stream pushes": 80}
SLOW = {
    "deadline": None,
    "suppress_health_check": [HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
}


# ------------------------------------------------------------------ the rig


class Drift:
    """Rewrites chosen REST answers of a simulator on their way out."""

    def __init__(self, sim: SimServer) -> None:
        self.mutate: Callable[[str], str] | None = None
        self.paths: tuple[str, ...] = ()
        self.applied = 0
        original = sim.router.resolve

        def resolve(method: str, raw_path: str) -> tuple[Route, Params]:
            route, params = original(method, raw_path)
            if self.mutate is None or not any(p in raw_path for p in self.paths):
                return route, params

            async def handler(request: web.Request, params: Params) -> web.StreamResponse:
                response = await route.handler(request, params)
                mutate = self.mutate
                if mutate is None or not isinstance(response, web.Response) or not response.text:
                    return response
                self.applied += 1
                return web.Response(
                    text=mutate(response.text),
                    status=response.status,
                    content_type="application/json",
                )

            return Route(route.method, route.segments, handler, route.auth), params

        sim.router.resolve = resolve  # type: ignore[method-assign]


@dataclass
class Rig:
    sim: SimServer
    services: Services
    drift: Drift
    #: A resting order of ours the fill tracker follows (made on first use).
    tracked: int | None = None

    def order_count(self) -> int:
        return len(self.sim.exchange.ledger.orders)

    async def tracked_order(self) -> int:
        if self.tracked is None:
            # A limit far below the market: it rests, tracked, for the whole test.
            leg = Leg(InstrumentType.EQUITY, "F", BTO, D(1))
            ticket = Ticket((leg,), price=D("-0.50"))
            review = await self.services.orders.review(ticket, ACCOUNT, price_mode=PriceMode.CUSTOM)
            sent = await self.services.orders.send(review)
            self.tracked = sent.order_id
        return self.tracked


@pytest.fixture
async def rig(make_sim: SimFactory, tmp_path: Path) -> AsyncIterator[Rig]:
    sim = await make_sim(live_tape=False, tick_interval=0.05)
    drift = Drift(sim)
    config = Config()
    config.rest.rate = 500.0
    config.rest.burst = 500.0
    config.rest.read_retries = 0  # a drifted answer is not retried away
    config.rest.breaker_threshold = 10_000  # garbage must not open the breaker mid-fuzz
    name, profile = config.active("sim")
    endpoint = endpoint_for(name, profile, sim_url=sim.base_url)
    services = await Services.connect(
        config, name, profile, endpoint, clock=OffsetClock(SIM_START), state_dir=tmp_path
    )
    services.orders.resolve_delays = (0.01,)
    try:
        yield Rig(sim, services, drift)
    finally:
        await services.close()


# ------------------------------------------------------------------ bad tickets


def _vertical(sim: SimServer) -> tuple[Leg, Leg]:
    return (
        Leg(InstrumentType.EQUITY_OPTION, put(sim, "SPY", -4).occ, STO, D(1)),
        Leg(InstrumentType.EQUITY_OPTION, put(sim, "SPY", -8).occ, BTO, D(1)),
    )


DEFECTS = [
    "unlisted strike",
    "expired",
    "garbage symbol",
    "equity as option",
    "option as equity",
    "index",
    "duplicate legs",
    "five legs",
    "two underlyings",
    "close unheld",
    "quantity",
    "price off grid",
    "price sign",
    "price huge",
    "price nan",
    "market with price",
    "limit without price",
    "gtd without date",
    "gtd in the past",
    "date on day",
    "unsupported type",
    "huge quantity",
]


def spoil(sim: SimServer, defect: str, value: Any) -> tuple[Ticket, PriceMode]:
    short, long = _vertical(sim)
    legs: tuple[Leg, ...] = (short, long)
    price: Decimal | None = D("1.00")
    kind, tif, gtd = OrderType.LIMIT, TimeInForce.DAY, None
    mode = PriceMode.CUSTOM
    if defect == "unlisted strike":
        legs = (replace(short, symbol=short.symbol[:-3] + "123"), long)
    elif defect == "expired":
        legs = (replace(short, symbol=short.symbol[:6] + "200117" + short.symbol[12:]), long)
    elif defect == "garbage symbol":
        legs = (replace(short, symbol=str(value)), long)
    elif defect == "equity as option":
        legs = (replace(short, symbol="SPY"), long)
    elif defect == "option as equity":
        legs = (replace(short, instrument_type=InstrumentType.EQUITY), long)
    elif defect == "index":
        legs = (Leg(InstrumentType.INDEX, "SPX", BTO, D(1)),)
    elif defect == "duplicate legs":
        legs = (short, short)
    elif defect == "five legs":
        legs = (short, long, *(replace(long, symbol=put(sim, "SPY", -9 - i).occ) for i in range(3)))
    elif defect == "two underlyings":
        legs = (short, replace(long, symbol=put(sim, "QQQ", -8).occ))
    elif defect == "close unheld":
        legs = (replace(short, action=OrderAction.BUY_TO_CLOSE), long)
    elif defect == "quantity":
        legs = (replace(short, quantity=value), replace(long, quantity=value))
    elif defect == "huge quantity":
        legs = (replace(short, quantity=D("1e999999")), replace(long, quantity=D("1e999999")))
    elif defect == "price off grid":
        price = D("1.003")
    elif defect == "price sign":
        legs, price = (long,), D("2.00")  # buying one put "for a credit"
    elif defect == "price huge":
        price = D("1e12")
    elif defect == "price nan":
        price = D(value) if value in ("sNaN", "-Infinity") else D("NaN")
    elif defect == "market with price":
        kind = OrderType.MARKET
    elif defect == "limit without price":
        price = None
    elif defect == "gtd without date":
        tif = TimeInForce.GTD
    elif defect == "gtd in the past":
        tif, gtd = TimeInForce.GTD, SIM_START.date().replace(year=2020)
    elif defect == "date on day":
        gtd = SIM_START.date().replace(year=2027)
    elif defect == "unsupported type":
        kind = OrderType.STOP_LIMIT
    return Ticket(legs, kind, price, tif, gtd), mode


@settings(max_examples=EXAMPLES["bad tickets"], **SLOW)
@given(
    defect=st.sampled_from(DEFECTS),
    value=st.one_of(
        st.text(max_size=30),
        st.sampled_from([D(0), D(-1), D("1.5"), D("NaN"), D("Infinity"), "sNaN", "-Infinity"]),
    ),
)
async def test_bad_tickets_never_place_an_order_and_always_explain(
    rig: Rig, defect: str, value: Any
) -> None:
    if defect == "quantity" and not isinstance(value, Decimal):
        value = D(0)
    ticket, mode = spoil(rig.sim, defect, value)
    before = rig.order_count()
    try:
        review = await rig.services.orders.review(ticket, ACCOUNT, price_mode=mode)
    except (TicketError, ServiceError) as exc:
        assert str(exc).strip() and ":" in str(exc), f"{defect}: no reason given: {exc!r}"
    else:
        assert not review.sendable, f"{defect}: a bad ticket passed review: {ticket}"
        assert review.problems, f"{defect}: refused without saying why"
        with pytest.raises(OrderRefused) as refused:
            await rig.services.orders.send(review)
        assert str(refused.value).strip()
    assert rig.order_count() == before, f"{defect}: an order reached the broker"


# ------------------------------------------------------------------ drifted REST answers


@st.composite
def mutations(draw: st.DrawFn) -> Callable[[str], str]:
    """A rewrite of a JSON body: one value changed, a key dropped, or the body broken."""
    how = draw(
        st.sampled_from(
            ["drop", "enum", "nan", "type", "extra", "truncate", "empty", "html", "huge", "null"]
        )
    )
    pick = draw(st.integers(0, 10_000))
    cut = draw(st.floats(0.0, 0.99))
    junk = draw(
        st.sampled_from(
            [
                "NaN",
                "Infinity",
                "-Infinity",
                "sNaN",
                "1e999999",
                None,
                [],
                {},
                True,
                -1,
                "",
                "Exploded",
                "9" * 400,
                "2026-13-45T99:99:99Z",
                "[bold]x[/]\x1b]52;c;x\x07",
            ]
        )
    )

    def leaves(node: Any, out: list[tuple[Any, Any]]) -> list[tuple[Any, Any]]:
        if isinstance(node, dict):
            for key, value in node.items():
                out.append((node, key))
                leaves(value, out)
        elif isinstance(node, list):
            for i, value in enumerate(node):
                out.append((node, i))
                leaves(value, out)
        return out

    def mutate(text: str) -> str:
        if how == "truncate":
            return text[: int(len(text) * cut)]
        if how == "html":
            return "<html><body>502 Bad Gateway</body></html>"
        if how == "empty":
            return draw_empty
        body = json.loads(text)
        spots = leaves(body.get("data", body) if isinstance(body, dict) else body, [])
        if not spots:
            return text
        node, key = spots[pick % len(spots)]
        if how == "drop" and isinstance(node, dict):
            del node[key]
        elif how == "enum":
            node[key] = "Exploded-Unknown-Value"
        elif how in ("nan", "type"):
            node[key] = junk
        elif how == "huge":
            node[key] = 10**400
        elif how == "null":
            node[key] = None
        elif how == "extra" and isinstance(node, dict):
            node[f"x-new-field-{pick}"] = {"nested": [1, "two"]}
        return json.dumps(body)

    draw_empty = draw(st.sampled_from(["{}", '{"data": {}}', "[]", "null", '"data"', ""]))
    return mutate


CALLS: dict[str, tuple[str, ...]] = {
    "balances": ("/balances",),
    "positions": ("/positions",),
    "live orders": ("/orders/live",),
    "order history": ("/orders",),
    "chain": ("/option-chains/",),
    "quotes": ("/market-data/",),
    "market status": ("/market-time/",),
    "metrics": ("/market-metrics",),
    "accounts": ("/customers/me/accounts",),
    "dry run": ("/dry-run",),
    "order": ("/orders/",),
}


async def call(rig: Rig, name: str) -> object:
    services = rig.services
    accounts = services.accounts
    if name == "balances":
        return await accounts.refresh_balances(ACCOUNT)
    if name == "positions":
        return accounts.install_positions(ACCOUNT, await accounts.fetch_positions(ACCOUNT))
    if name == "live orders":
        return await accounts.refresh_orders(ACCOUNT)
    if name == "order history":
        return await accounts.order_history(ACCOUNT)
    if name == "chain":
        accounts._chains.clear()
        chain = await accounts.chain("SPY")
        for expiration in chain.expirations:  # contracts are built on first use: build them all
            assert all(s.call.is_call and not s.put.is_call for s in expiration.strikes)
        return chain
    if name == "quotes":
        return await accounts.leg_quotes(["SPY", put(rig.sim, "SPY", -4).occ])
    if name == "market status":
        return await accounts.market_status()
    if name == "metrics":
        accounts._metrics.clear()
        return await accounts.metrics(["SPY", "QQQ"])
    if name == "accounts":
        return await services.broker.login()
    if name == "dry run":
        ticket = Ticket(_vertical(rig.sim))
        return await services.orders.review(ticket, ACCOUNT, price_mode=PriceMode.MID)
    seed = next(iter(rig.sim.exchange.ledger.orders))
    return await services.fills.fetch(ACCOUNT, seed)


@settings(max_examples=EXAMPLES["rest drift"], **SLOW)
@given(name=st.sampled_from(sorted(CALLS)), mutate=mutations())
async def test_drifted_rest_answers_give_a_result_or_a_clear_service_error(
    rig: Rig, name: str, mutate: Callable[[str], str]
) -> None:
    rig.drift.paths = CALLS[name]
    rig.drift.mutate = mutate
    applied = rig.drift.applied
    try:
        await call(rig, name)
    except ServiceError as exc:
        assert str(exc).strip(), f"{name}: an error without a message"
    except TicketError as exc:  # a review may refuse what drifted quotes cannot price
        assert str(exc).strip()
    finally:
        rig.drift.mutate = None
    assert rig.drift.applied > applied, f"{name}: the drifted answer was never requested"
    if name == "accounts":
        await rig.services.broker.login()  # a drifted list may have lost an account
    # The connection is still usable for the next request.
    await rig.services.accounts.refresh_balances(ACCOUNT)


# ------------------------------------------------------------------ hostile pushes


@st.composite
def pushes(draw: st.DrawFn) -> str:
    kind = draw(st.sampled_from(["Order", "CurrentPosition", "AccountBalance", "Exploded", None]))
    data = draw(
        st.one_of(
            st.just("template"),
            st.dictionaries(st.text(max_size=10), st.text(max_size=10), max_size=4),
            st.sampled_from([None, [], "x", 7]),
        )
    )
    return (
        json.dumps({"type": kind, "data": data, "timestamp": 1})
        if data != "template"
        else (f"template:{kind}")
    )


async def wait_for(condition: Callable[[], object], within: float = 15.0) -> None:
    async with asyncio.timeout(within):
        while not condition():
            await asyncio.sleep(0.01)


@settings(max_examples=EXAMPLES["stream pushes"], **SLOW)
@given(push=pushes(), mutate=mutations(), raw_cut=st.floats(0.1, 0.9))
async def test_hostile_account_pushes_never_end_the_stream_service(
    rig: Rig, push: str, mutate: Callable[[str], str], raw_cut: float
) -> None:
    services = rig.services
    stream = services.account_stream
    stream.backoff_max = 0.05
    # Whoever consumes a push (the account cache, the fill tracker) must not raise on it.
    consumer_errors: list[str] = []

    def spy(consume: Callable[[Any], Any]) -> Callable[[Any], Any]:
        def wrapped(pushed: Any) -> Any:
            try:
                return consume(pushed)
            except Exception as exc:
                consumer_errors.append(f"{consume.__qualname__}: {exc!r}")
                raise

        return wrapped

    tracked = await rig.tracked_order()
    stream.on_order = spy(services.fills.on_order)
    services.accounts.apply_order = spy(services.accounts.apply_order)  # type: ignore[method-assign]
    task = asyncio.create_task(stream.run())
    try:
        await wait_for(stream.connected.is_set)
        # A real order's push, mutated; or a push that was never valid; or cut mid-JSON.
        order = rig.sim.exchange.ledger.orders[tracked]
        if push.startswith("template:"):
            text = json.dumps({"type": "Order", "data": order_json(order), "timestamp": 1})
            text = mutate(text)
        else:
            text = push
        if raw_cut < 0.2:
            text = text[: int(len(text) * raw_cut * 5)]
        reconnects = stream.reconnects
        for sink in list(rig.sim.exchange.alert_sinks):
            await sink.ws.send_str(text)
        # Either it is still listening, or it went down and comes back on its own.
        await asyncio.sleep(0.05)
        await wait_for(lambda: stream.connected.is_set() and not task.done())
        assert not task.done(), "the stream service ended"
        # A good push afterwards is applied (the service is really listening).
        placed = rig.sim.exchange.engine.place(
            ACCOUNT,
            {
                "order-type": "Market",
                "time-in-force": "Day",
                "legs": [
                    {
                        "instrument-type": "Equity",
                        "symbol": "F",
                        "action": "Buy to Open",
                        "quantity": 1,
                    }
                ],
            },
        )
        new_id = placed["order"]["id"]
        await wait_for(lambda: services.accounts.order(new_id, ACCOUNT) is not None)
        event("the push ended the connection" if stream.reconnects > reconnects else "survived")
        assert not consumer_errors, consumer_errors
        # The journal still reads (no garbage state or quantity made it in).
        entry = services.journal.by_broker_id(tracked, "sim")
        assert entry is not None and entry.filled_quantity.is_finite()
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        del services.accounts.apply_order  # back to the class's method
