"""Helpers for the simulator's account/order tests: contracts, prices and a push recorder.

Everything here drives the simulator the way a user's SDK would; the only shortcuts are reads of
the simulated market (to pick contracts and limit prices) and of its SQLite file (to check what
was stored).
"""

from __future__ import annotations

import asyncio
import json
import ssl
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Any, TypeVar

import httpx
from tastytrade import Account, AlertStreamer, Session
from tastytrade.account import AccountBalance, CurrentPosition
from tastytrade.order import InstrumentType, Leg, OrderAction, OrderStatus, PlacedOrder

from tastytui.domain.symbols import OptionSymbol
from tastytui.sim.server import SimServer

CENT = Decimal("0.01")
T = TypeVar("T")

BTO = OrderAction.BUY_TO_OPEN
STO = OrderAction.SELL_TO_OPEN
BTC = OrderAction.BUY_TO_CLOSE
STC = OrderAction.SELL_TO_CLOSE
OPTION = InstrumentType.EQUITY_OPTION
EQUITY = InstrumentType.EQUITY
TERMINAL = {
    OrderStatus.FILLED,
    OrderStatus.CANCELLED,
    OrderStatus.EXPIRED,
    OrderStatus.REJECTED,
    OrderStatus.REMOVED,
    OrderStatus.PARTIALLY_REMOVED,
}


# ---------------------------------------------------------------- contracts and prices


def expiration_near(sim: SimServer, underlying: str, dte: int) -> Any:
    """The listed expiration of ``underlying`` closest to ``dte`` days out."""
    market = sim.exchange.market
    found = market.chain(underlying).nearest_dte(market.today(), dte)
    assert found is not None
    return found


def strike_row(sim: SimServer, underlying: str, dte: int, offset: int) -> Any:
    """The chain row ``offset`` strikes above (+) or below (−) the money."""
    exp = expiration_near(sim, underlying, dte)
    atm = exp.nearest_index(sim.exchange.market.spot(underlying))
    return exp.strikes[atm + offset]


def put(sim: SimServer, underlying: str, offset: int, dte: int = 30) -> OptionSymbol:
    row = strike_row(sim, underlying, dte, offset)
    contract: OptionSymbol = row.put
    return contract


def call(sim: SimServer, underlying: str, offset: int, dte: int = 30) -> OptionSymbol:
    row = strike_row(sim, underlying, dte, offset)
    contract: OptionSymbol = row.call
    return contract


def leg(symbol: str | OptionSymbol, action: OrderAction, quantity: int = 1) -> Leg:
    if isinstance(symbol, OptionSymbol):
        return Leg(instrument_type=OPTION, symbol=symbol.occ, action=action, quantity=quantity)
    kind = OPTION if len(symbol) == 21 else EQUITY
    return Leg(instrument_type=kind, symbol=symbol, action=action, quantity=quantity)


def put_vertical(sim: SimServer, quantity: int = 1, underlying: str = "SPY") -> list[Leg]:
    """A short put vertical below the money: sell the higher strike, buy the lower."""
    return [
        leg(put(sim, underlying, -4), STO, quantity),
        leg(put(sim, underlying, -8), BTO, quantity),
    ]


def iron_condor(sim: SimServer, quantity: int = 1, underlying: str = "SPY") -> list[Leg]:
    return [
        leg(put(sim, underlying, -12), BTO, quantity),
        leg(put(sim, underlying, -6), STO, quantity),
        leg(call(sim, underlying, 6), STO, quantity),
        leg(call(sim, underlying, 12), BTO, quantity),
    ]


@dataclass(frozen=True)
class Nets:
    """An order's market per unit, signed like the SDK's price (credit +, debit −)."""

    natural: Decimal
    mid: Decimal

    @property
    def at_natural(self) -> Decimal:
        """A limit at the natural price, on the cent grid (marketable)."""
        return self.natural.quantize(CENT, rounding=ROUND_FLOOR)

    @property
    def at_mid(self) -> Decimal:
        """A limit at the mid, rounded to the cent that still fills at the mid."""
        return self.mid.quantize(CENT, rounding=ROUND_FLOOR)

    @property
    def beyond_mid(self) -> Decimal:
        """A limit a little better than the mid for us: never fills under mid or cross."""
        return (self.mid + Decimal("0.05")).quantize(CENT, rounding=ROUND_CEILING)


def nets(sim: SimServer, legs: Sequence[Leg]) -> Nets:
    """Natural and mid of a whole order per unit (options quoted per share)."""
    engine = sim.exchange.engine
    quantities = [int(leg.quantity or 0) for leg in legs]
    size = quantities[0]
    for q in quantities[1:]:
        size = _gcd(size, q)
    natural = mid = Decimal(0)
    has_option = any(leg.instrument_type == OPTION for leg in legs)
    for one in legs:
        kind = _domain_type(one.instrument_type)
        quote = engine.leg_quote(kind, one.symbol)
        ratio = Decimal(int(one.quantity or 0)) / size
        mult = Decimal(100 if one.instrument_type == OPTION else 1) / (100 if has_option else 1)
        side = -1 if one.action.value.startswith("Buy") else 1
        natural += side * ratio * mult * (quote.ask if side < 0 else quote.bid)
        mid += side * ratio * mult * quote.mid
    return Nets(natural, mid)


def _gcd(a: int, b: int) -> int:
    while b:
        a, b = b, a % b
    return a


def _domain_type(kind: InstrumentType) -> Any:
    from tastytui.domain.orders import InstrumentType as DomainType

    return DomainType(kind.value)


# ---------------------------------------------------------------- account helpers


async def margin_account(session: Session) -> Account:
    return await Account.get(session, "5WT00001")


async def cash_account(session: Session) -> Account:
    return await Account.get(session, "5WT00002")


def holdings(positions: Sequence[CurrentPosition]) -> dict[str, Decimal]:
    """Signed quantity per symbol."""
    out: dict[str, Decimal] = {}
    for p in positions:
        sign = -1 if p.quantity_direction == "Short" else 1
        out[p.symbol] = sign * p.quantity
    return out


def marked_value(positions: Sequence[CurrentPosition]) -> Decimal:
    """Σ signed quantity × mark (the position's mark is already × multiplier)."""
    total = Decimal(0)
    for p in positions:
        assert p.mark is not None, f"{p.symbol} carries no mark"
        sign = -1 if p.quantity_direction == "Short" else 1
        total += sign * p.quantity * p.mark
    return total


def stored_order(sim: SimServer, order_id: int) -> dict[str, Any]:
    """The order as written to the simulator's SQLite ledger."""
    row = sim.exchange.ledger.db.execute(
        "SELECT body FROM orders WHERE id = ?", (order_id,)
    ).fetchone()
    assert row is not None, f"order {order_id} is not stored"
    body: dict[str, Any] = json.loads(row[0])
    return body


def stored_leg_fractions(sim: SimServer, order_id: int) -> list[Decimal]:
    """Filled fraction of every leg of a stored order (equal when the order is atomic)."""
    body = stored_order(sim, order_id)
    fractions = []
    for one in body["legs"]:
        quantity = Decimal(one["quantity"]["$d"])
        remaining = Decimal(one["remaining"]["$d"])
        fractions.append((quantity - remaining) / quantity)
    return fractions


def pushed_leg_fractions(order: PlacedOrder) -> list[Decimal]:
    fractions = []
    for one in order.legs:
        quantity = Decimal(one.quantity or 0)
        filled = sum((f.quantity for f in one.fills or []), Decimal(0))
        remaining = one.remaining_quantity
        assert remaining is not None
        assert filled == quantity - remaining, f"fills and remaining disagree on {one.symbol}"
        fractions.append(filled / quantity)
    return fractions


# ---------------------------------------------------------------- the account streamer


class Pushes:
    """Everything the account streamer delivered, with event-driven waits."""

    def __init__(self) -> None:
        self.orders: list[PlacedOrder] = []
        self.positions: list[CurrentPosition] = []
        self.balances: list[AccountBalance] = []
        self._changed = asyncio.Event()

    def _add(self, sink: list[Any], item: Any) -> None:
        sink.append(item)
        self._changed.set()

    async def wait_for(
        self, predicate: Callable[[], T | bool | None], within: float = 5.0
    ) -> T | bool:
        """Wait until ``predicate()`` is truthy and return its value."""
        async with asyncio.timeout(within):
            while True:
                result = predicate()
                if result:
                    return result
                self._changed.clear()
                await self._changed.wait()

    def of(self, order_id: int) -> list[PlacedOrder]:
        return [o for o in self.orders if o.id == order_id]

    def statuses(self, order_id: int) -> list[OrderStatus]:
        return [o.status for o in self.of(order_id)]

    async def status(self, order_id: int, status: OrderStatus, within: float = 5.0) -> PlacedOrder:
        """The first push of ``order_id`` with ``status``."""

        def found() -> PlacedOrder | None:
            return next((o for o in self.of(order_id) if o.status == status), None)

        result = await self.wait_for(found, within)
        assert isinstance(result, PlacedOrder)
        return result

    async def terminal(self, order_id: int, within: float = 5.0) -> PlacedOrder:
        def found() -> PlacedOrder | None:
            return next((o for o in self.of(order_id) if o.status in TERMINAL), None)

        result = await self.wait_for(found, within)
        assert isinstance(result, PlacedOrder)
        return result


@asynccontextmanager
async def account_stream(
    sim: SimServer, session: Session, accounts: Sequence[Account]
) -> AsyncIterator[Pushes]:
    """An SDK AlertStreamer on the simulator, subscribed to ``accounts``, recording pushes."""
    streamer = AlertStreamer(session)
    streamer.base_url = sim.streamer_url
    pushes = Pushes()

    async def pump(kind: type[Any], sink: list[Any]) -> None:
        async for item in streamer.listen(kind):
            pushes._add(sink, item)

    async with streamer:
        await streamer.subscribe_accounts(accounts)
        tasks = [
            asyncio.create_task(pump(PlacedOrder, pushes.orders)),
            asyncio.create_task(pump(CurrentPosition, pushes.positions)),
            asyncio.create_task(pump(AccountBalance, pushes.balances)),
        ]
        try:
            yield pushes
        finally:
            for task in tasks:
                task.cancel()
            for task in tasks:
                with suppress(asyncio.CancelledError):
                    await task


# ---------------------------------------------------------------- raw HTTP


async def bearer(client: httpx.AsyncClient) -> dict[str, str]:
    """Headers with a fresh access token from the simulator's refresh grant."""
    from tastytui.sim.config import SIM_CLIENT_SECRET, SIM_REFRESH_TOKEN

    response = await client.post(
        "/oauth/token",
        json={
            "grant_type": "refresh_token",
            "client_secret": SIM_CLIENT_SECRET,
            "refresh_token": SIM_REFRESH_TOKEN,
        },
    )
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


#: One TLS context for every raw client: building one loads the CA bundle (tens of ms), and the
#: simulator speaks plain HTTP anyway.
_TLS = ssl.create_default_context()


def raw_client(sim: SimServer) -> httpx.AsyncClient:
    """A plain HTTP client on the simulator (for what the SDK hides: statuses, headers)."""
    return httpx.AsyncClient(base_url=sim.base_url, trust_env=False, timeout=10, verify=_TLS)


async def until_status(
    session: Session, account: Account, order_id: int, status: OrderStatus
) -> PlacedOrder:
    """Poll the order over REST until it reaches ``status`` (for tests without a streamer)."""
    for _ in range(500):
        order = await account.get_order(session, order_id)
        if order.status == status:
            return order
        await asyncio.sleep(0.01)
    raise AssertionError(f"order {order_id} never reached {status.value}")


@asynccontextmanager
async def running_sim(**overrides: Any) -> AsyncIterator[SimServer]:
    """A simulator with the conftest factory's defaults, for module-scoped fixtures."""
    from tastytui.domain.clock import OffsetClock
    from tastytui.sim.config import SimConfig
    from tests.conftest import SIM_START

    overrides.setdefault("seed", 7)
    overrides.setdefault("clock", OffsetClock(SIM_START))
    server = SimServer(SimConfig(**overrides))
    await server.start()
    try:
        yield server
    finally:
        await server.stop()
