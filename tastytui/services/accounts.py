"""Account data: accounts and switching, balances, positions marked live, history, market info.

One service shared by the console, the chat and command-line verbs.  Caches are fed by REST
(on start-up, reconnects and reconciliation) and by account-stream pushes; the portfolio view is
computed on demand from the caches and the live QuoteStore.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from tastytrade import Account
from tastytrade.account import AccountBalance, CurrentPosition, NetLiqOhlc, Transaction
from tastytrade.market_data import get_market_data_by_type
from tastytrade.market_sessions import ExchangeType, MarketSession, get_market_sessions
from tastytrade.metrics import MarketMetricInfo, get_market_metrics
from tastytrade.order import InstrumentType, PlacedOrder
from tastytrade.search import SymbolData, symbol_search
from tastytrade.watchlists import PrivateWatchlist, PublicWatchlist

from tastytui.domain import blackscholes as bs
from tastytui.domain.chain import ChainExpiration, OptionChain
from tastytui.domain.clock import Clock, new_york_now
from tastytui.domain.symbols import normalize_equity, parse_occ
from tastytui.domain.ticket import LegQuote
from tastytui.domain.ticks import TickSchedule
from tastytui.services.broker import Broker, guarded
from tastytui.services.chain_wire import decode_nested_chain, nested_chain_path
from tastytui.services.errors import BrokerRejected, ServiceError
from tastytui.services.events import BalancesChanged, EventBus, PositionsChanged
from tastytui.services.portfolio import (
    HeldPosition,
    Mark,
    Portfolio,
    build_portfolio,
    held_from_wire,
)
from tastytui.services.risk import RiskContext

_METRICS_TTL = 300.0
_TERMINAL = frozenset(
    {"Filled", "Cancelled", "Expired", "Rejected", "Removed", "Partially Removed"}
)

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ExpirationInfo:
    """An expiration as the chain pane shows it."""

    expiration: ChainExpiration
    dte: int
    expected_move: float | None


def held_from_sdk(position: CurrentPosition) -> HeldPosition:
    return held_from_wire(
        account=position.account_number,
        symbol=position.symbol,
        underlying=position.underlying_symbol,
        quantity=position.quantity,
        direction=position.quantity_direction,
        multiplier=position.multiplier,
        average_open=position.average_open_price,
        close_price=position.close_price,
        created_at=position.created_at,
        realized_today=position.realized_today,
        mark_price=position.mark_price,
        is_option=position.instrument_type == InstrumentType.EQUITY_OPTION,
    )


class AccountService:
    """Caches and queries for the accounts of one broker connection."""

    def __init__(
        self,
        broker: Broker,
        store: Any,
        events: EventBus,
        clock: Clock,
        *,
        beta_symbol: str = "SPY",
        stale_after: float = 15.0,
    ) -> None:
        self.broker = broker
        self.store = store
        self.events = events
        self.clock = clock
        self.beta_symbol = beta_symbol
        self.stale_after = stale_after
        self.current: str = ""
        self._positions: dict[str, dict[str, HeldPosition]] = {}
        self._balances: dict[str, AccountBalance] = {}
        self._orders: dict[str, dict[int, PlacedOrder]] = {}
        #: Per account: order id → (its wire form at the last REST read, the order built).
        self._order_wire: dict[str, dict[int, tuple[Any, PlacedOrder]]] = {}
        self._metrics: dict[str, tuple[float, MarketMetricInfo]] = {}
        self._chains: dict[tuple[str, date], OptionChain] = {}

    # ------------------------------------------------------------------ accounts

    @property
    def session(self) -> Any:
        return self.broker.session

    def account_numbers(self) -> list[str]:
        return [a.account_number for a in self.broker.accounts]

    def sdk_account(self, number: str | None = None) -> Account:
        wanted = number or self.current
        for account in self.broker.accounts:
            if account.account_number == wanted:
                return account
        known = ", ".join(self.account_numbers()) or "none"
        raise BrokerRejected(f"account {wanted!r} is not one of this login's accounts ({known})")

    def choose(self, preferred: str = "") -> str:
        """Pick the account to show: the configured one if it exists, else the first."""
        numbers = self.account_numbers()
        if not numbers:
            raise BrokerRejected("this login has no open accounts")
        self.current = preferred if preferred in numbers else numbers[0]
        return self.current

    def switch(self, number: str) -> None:
        self.sdk_account(number)
        self.current = number
        self.events.publish(BalancesChanged(number))
        self.events.publish(PositionsChanged(number))

    # ------------------------------------------------------------------ refresh

    async def refresh_balances(self, number: str | None = None) -> AccountBalance:
        account = self.sdk_account(number)
        balance = await guarded(account.get_balances(self.session), "read balances")
        self._balances[account.account_number] = balance
        self.events.publish(BalancesChanged(account.account_number))
        return balance

    async def refresh_orders(self, number: str | None = None) -> list[PlacedOrder]:
        """Read the day's orders (working and finished today) into the cache and return them.

        Reconciliation reads them every cycle, and a busy day has thousands: an order whose
        wire form is what the last read returned, and which no push has changed since, keeps
        its object instead of being parsed again (the SDK's models took ~30 µs an order, and
        5,000 fresh objects a cycle filled the collector's oldest generation: ui/heap.py).
        """
        number = self.sdk_account(number).account_number
        orders, wire = await guarded(self._read_live_orders(number), "read live orders")
        self._orders[number] = {o.id: o for o in orders}
        self._order_wire[number] = wire
        return orders

    async def refresh_order(self, order_id: int, number: str | None = None) -> PlacedOrder:
        """Read one order into the cache (an event named an order the cache lacks or is
        behind on): one order's request instead of the whole day's."""
        account = self.sdk_account(number)
        order = await guarded(account.get_order(self.session, order_id), f"read order #{order_id}")
        self.apply_order(order)
        return order

    async def _read_live_orders(
        self, number: str
    ) -> tuple[list[PlacedOrder], dict[int, tuple[Any, PlacedOrder]]]:
        data = await self.session._get(f"/accounts/{number}/orders/live")
        cached = self._orders.get(number, {})
        last_read = self._order_wire.get(number, {})
        orders: list[PlacedOrder] = []
        wire: dict[int, tuple[Any, PlacedOrder]] = {}
        for item in data["items"]:  # malformed answers: guarded() says what is wrong
            known = last_read.get(item["id"])
            if known is not None and known[0] == item and cached.get(known[1].id) is known[1]:
                # The earlier read's dict is kept, this one dropped: nothing of an unchanged
                # order outlives the read (long-lived copies are what full collections walk).
                orders.append(known[1])
                wire[known[1].id] = known
                continue
            order = PlacedOrder(**item)  # as the SDK's get_live_orders does
            orders.append(order)
            wire[order.id] = (item, order)
        return orders, wire

    async def fetch_positions(self, number: str | None = None) -> list[HeldPosition]:
        """The broker's positions now (the caller decides whether to install them)."""
        account = self.sdk_account(number)
        raw = await guarded(account.get_positions(self.session), "read positions")
        return [held_from_sdk(p) for p in raw if p.quantity != 0]

    def install_positions(self, number: str, positions: Iterable[HeldPosition]) -> None:
        self._positions[number] = {p.symbol: p for p in positions}
        self.events.publish(PositionsChanged(number))

    def positions_loaded(self, number: str) -> bool:
        return number in self._positions

    def held(self, number: str | None = None) -> list[HeldPosition]:
        return sorted(
            self._positions.get(number or self.current, {}).values(), key=lambda p: p.symbol
        )

    # ------------------------------------------------------------------ stream

    def apply_position(self, position: CurrentPosition) -> None:
        book = self._positions.setdefault(position.account_number, {})
        if position.quantity == 0 or position.quantity_direction == "Zero":
            book.pop(position.symbol, None)
        else:
            try:
                book[position.symbol] = held_from_sdk(position)
            except BrokerRejected as exc:  # one unreadable push; the next reconciliation re-reads
                log.warning("%s", exc)
                return
        self.events.publish(PositionsChanged(position.account_number))

    def apply_balance(self, balance: AccountBalance) -> None:
        self._balances[balance.account_number] = balance
        self.events.publish(BalancesChanged(balance.account_number))

    def apply_order(self, order: PlacedOrder) -> None:
        book = self._orders.setdefault(order.account_number, {})
        previous = book.get(order.id)
        # Never let a late push regress a finished order (e.g. Live arriving after Filled).
        if (
            previous is not None
            and previous.status.value in _TERMINAL
            and (order.status.value not in _TERMINAL)
        ):
            return
        book[order.id] = order

    # ------------------------------------------------------------------ views

    def balances(self, number: str | None = None) -> AccountBalance | None:
        return self._balances.get(number or self.current)

    def live_orders(self, number: str | None = None) -> list[PlacedOrder]:
        orders = self._orders.get(number or self.current, {}).values()
        return sorted(orders, key=lambda o: o.id, reverse=True)

    def order(self, order_id: int, number: str | None = None) -> PlacedOrder | None:
        return self._orders.get(number or self.current, {}).get(order_id)

    def mark(self, symbol: str) -> Mark:
        """The live mark of a ticker or a streamer option symbol from the QuoteStore."""
        data = self.store.get(symbol) if self.store is not None else None
        if data is None:
            return Mark(None)
        age = self.store.age(symbol)
        price = self.store.mid(symbol)
        greeks = getattr(data, "greeks", None)
        if greeks is None:
            return Mark(price, age)
        return Mark(
            price, age, greeks.delta, greeks.gamma, greeks.theta, greeks.vega, greeks.volatility
        )

    def portfolio(self, number: str | None = None) -> Portfolio:
        account = number or self.current
        betas = {
            symbol: float(info.beta)
            for symbol, (_, info) in self._metrics.items()
            if info.beta is not None
        }
        betas.setdefault(self.beta_symbol, 1.0)
        return build_portfolio(
            account,
            self.held(account),
            self.mark,
            betas=betas,
            beta_symbol=self.beta_symbol,
            today=self.today(),
            stale_after=self.stale_after,
        )

    def day_pnl(self, number: str | None = None) -> float:
        return self.portfolio(number).totals.day_pnl

    def watched_symbols(self, number: str | None = None) -> tuple[list[str], list[str]]:
        """(underlyings and stock, option streamer symbols) the positions pane needs streamed."""
        held = self.held(number)
        underlyings = sorted({p.underlying for p in held} | {self.beta_symbol})
        options = sorted(p.streamer_symbol for p in held if p.option is not None)
        return underlyings, options

    # ------------------------------------------------------------------ market

    def today(self) -> date:
        return new_york_now(self.clock).date()

    def new_york_time(self) -> datetime:
        return new_york_now(self.clock)

    async def metrics(self, symbols: Sequence[str]) -> dict[str, MarketMetricInfo]:
        """Market metrics (IV rank, beta, liquidity, earnings), cached for five minutes."""
        now = time.monotonic()
        wanted = [
            s for s in symbols if s not in self._metrics or now - self._metrics[s][0] > _METRICS_TTL
        ]
        for start in range(0, len(wanted), 50):
            batch = wanted[start : start + 50]
            rows = await guarded(get_market_metrics(self.session, batch), "read market metrics")
            for info in rows:
                self._metrics[info.symbol] = (now, info)
        return {s: self._metrics[s][1] for s in symbols if s in self._metrics}

    async def market_status(self) -> list[MarketSession]:
        return await guarded(
            get_market_sessions(self.session, [ExchangeType.NYSE]), "read the market status"
        )

    async def search(self, query: str) -> list[SymbolData]:
        text = query.strip()
        if not text:
            return []
        # The SDK's search never refreshes the token and returns [] on any error: refresh
        # first so an expired token does not look like "no results".
        await self.session.refresh()
        return await guarded(symbol_search(self.session, text), "search symbols")

    async def chain(self, underlying: str) -> OptionChain:
        """The option chain as a domain object (all roots, e.g. SPX and SPXW), cached daily."""
        symbol = normalize_equity(underlying)
        key = (symbol, self.today())
        cached = self._chains.get(key)
        if cached is not None:
            return cached
        # Decoded here, not by the SDK's models: see services/chain_wire.py (issue 6, item 4).
        data = await guarded(
            self.session._get(nested_chain_path(symbol)), f"read the {symbol} chain"
        )
        chain = decode_nested_chain(symbol, data)
        self._chains[key] = chain
        return chain

    async def tick_schedule(self, underlying: str) -> TickSchedule:
        return (await self.chain(underlying)).tick_schedule

    async def expirations(self, underlying: str) -> list[ExpirationInfo]:
        """Expirations with DTE and the expected move (1σ from the expiration's ATM IV)."""
        chain = await self.chain(underlying)
        metrics = (await self.metrics([chain.underlying])).get(chain.underlying)
        ivs = {}
        if metrics is not None and metrics.option_expiration_implied_volatilities:
            for item in metrics.option_expiration_implied_volatilities:
                if item.implied_volatility is not None:
                    ivs[item.expiration_date] = float(item.implied_volatility)
        spot = self.mark(chain.underlying).price
        today = self.today()
        out = []
        for exp in chain.upcoming(today):
            dte = exp.dte(today)
            iv = ivs.get(exp.expiration)
            move = None
            if iv is not None and spot is not None:
                move = bs.expected_move(spot, iv, max(dte, 0.5) / 365.0)
            out.append(ExpirationInfo(exp, dte, move))
        return out

    async def leg_quotes(self, symbols: Sequence[str]) -> dict[str, LegQuote]:
        """Live bid/ask per OCC or ticker symbol: the stream when fresh, else a REST snapshot."""
        out: dict[str, LegQuote] = {}
        missing: list[str] = []
        for symbol in symbols:
            key = _streamer_key(symbol)
            data = self.store.get(key) if self.store is not None else None
            quote = getattr(data, "quote", None)
            age = self.store.age(key) if data is not None else None
            if (
                quote is not None
                and quote.bid is not None
                and quote.ask is not None
                and (age is not None and age <= self.stale_after)
            ):
                out[symbol] = LegQuote(_dec(quote.bid), _dec(quote.ask))
            else:
                missing.append(symbol)
        if missing:
            options = [s for s in missing if _is_occ(s)]
            equities = [s for s in missing if not _is_occ(s)]
            rows = await guarded(
                get_market_data_by_type(
                    self.session, equities=equities or None, options=options or None
                ),
                "read quotes",
            )
            for row in rows:
                if row.bid is not None and row.ask is not None:
                    out[row.symbol] = LegQuote(row.bid, row.ask)
        return out

    async def positions_map(self, number: str) -> dict[str, Decimal]:
        return {p.symbol: p.quantity for p in self.held(number)}

    async def risk_context(self, number: str, underlyings: Sequence[str] = ()) -> RiskContext:
        """What the risk guard needs: balances, day P&L, holdings and earnings dates."""
        balance = self.balances(number) or await self.refresh_balances(number)
        held = self.held(number)
        contracts: dict[str, Decimal] = defaultdict(Decimal)
        for p in held:
            # Options count contracts; stock counts 100-share lots.
            contracts[p.underlying] += abs(p.quantity) if p.option else abs(p.quantity) / 100
        wanted = sorted(
            {p.underlying for p in held} | set(underlyings) | {k[0] for k in self._chains}
        )
        earnings: dict[str, date | None] = {}
        try:
            for symbol, info in (await self.metrics(wanted)).items():
                earnings[symbol] = info.earnings.expected_report_date if info.earnings else None
        except ServiceError:
            pass  # unknown earnings: the blackout rule cannot apply, the others still do
        return RiskContext(
            account=number,
            net_liq=balance.net_liquidating_value,
            derivative_buying_power=balance.derivative_buying_power,
            day_pnl=Decimal(str(round(self.day_pnl(number), 2))),
            today=self.today(),
            contracts_by_underlying=dict(contracts),
            earnings=earnings,
        )

    # ------------------------------------------------------------------ history

    async def net_liq_history(
        self,
        number: str | None = None,
        time_back: str = "1m",
        *,
        start_time: datetime | None = None,
    ) -> list[NetLiqOhlc]:
        """Net-liq OHLC samples, oldest first.

        ``time_back`` is one of the API's periods (1d, 1m, 3m, 6m, 1y, all); ``start_time``
        (aware) takes precedence and covers other spans such as one week.
        """
        account = self.sdk_account(number)
        # The SDK formats start_time with a literal "Z": hand it UTC.
        start = start_time.astimezone(UTC) if start_time is not None else None
        return await guarded(
            account.get_net_liquidating_value_history(
                self.session, time_back=None if start else time_back, start_time=start
            ),
            "read net-liq history",
        )

    async def transactions(self, number: str | None = None, **filters: Any) -> list[Transaction]:
        account = self.sdk_account(number)
        return await guarded(
            account.get_history(self.session, page_offset=None, **filters), "read transactions"
        )

    async def order_history(self, number: str | None = None, **filters: Any) -> list[PlacedOrder]:
        account = self.sdk_account(number)
        return await guarded(
            account.get_order_history(self.session, page_offset=None, **filters),
            "read order history",
        )

    # ------------------------------------------------------------------ watchlists

    async def watchlists(self) -> list[PrivateWatchlist]:
        return await guarded(PrivateWatchlist.get(self.session), "read watchlists")

    async def public_watchlists(self) -> list[PublicWatchlist]:
        return await guarded(PublicWatchlist.get(self.session), "read public watchlists")

    async def save_watchlist(
        self, name: str, symbols: Sequence[str], *, create: bool
    ) -> PrivateWatchlist:
        entries = [{"symbol": normalize_equity(s), "instrument-type": "Equity"} for s in symbols]
        watchlist = PrivateWatchlist(name=name, watchlist_entries=entries)
        action = watchlist.upload if create else watchlist.update
        await guarded(action(self.session), f"save watchlist {name!r}")
        return watchlist

    async def delete_watchlist(self, name: str) -> None:
        await guarded(PrivateWatchlist.remove(self.session, name), f"delete watchlist {name!r}")


def _is_occ(symbol: str) -> bool:
    return len(symbol) == 21 and symbol[6:12].isdigit()


def _streamer_key(symbol: str) -> str:
    return parse_occ(symbol).streamer if _is_occ(symbol) else symbol


def _dec(value: float) -> Decimal:
    return Decimal(repr(round(value, 4)))
