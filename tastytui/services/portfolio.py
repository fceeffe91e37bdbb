"""Positions marked live: P&L, greeks, DTE, strategy groups and beta-weighted delta.

Pure computation over plain inputs (held positions, a mark source, betas), so every formula is
tested directly — the anchors' issue trackers are full of sign and scale bugs in exactly these
numbers (day P&L on shorts, BWD using the option's price, P&L not multiplied by quantity).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache

from tastytui.domain.clock import NEW_YORK
from tastytui.domain.strategies import StrategyGroup, StrategyKind, group_positions
from tastytui.domain.symbols import OptionSymbol, SymbolError, parse_occ
from tastytui.services.errors import BrokerRejected

_ZERO = Decimal(0)
#: Beyond any real position or price: such data is corrupt, not a trade.
_ABSURD = Decimal(10) ** 12
_MAX_MULTIPLIER = 100_000


@dataclass(frozen=True, slots=True)
class HeldPosition:
    """A broker position in our terms (quantities signed)."""

    account: str
    symbol: str  # OCC for options, the ticker for stock
    underlying: str
    option: OptionSymbol | None
    quantity: Decimal
    multiplier: int
    average_open: Decimal
    close_price: Decimal  # previous close (per share / per option unit)
    opened_at: datetime
    realized_today: Decimal = Decimal(0)
    broker_mark: Decimal | None = None  # the REST snapshot's mark, per unit

    @property
    def streamer_symbol(self) -> str:
        return self.option.streamer if self.option is not None else self.symbol


@dataclass(frozen=True, slots=True)
class Mark:
    """A live price (mid) and greeks per unit, with the age of the data in seconds."""

    price: float | None
    age: float | None = None
    delta: float | None = None
    gamma: float | None = None
    theta: float | None = None
    vega: float | None = None
    iv: float | None = None


MarkSource = Callable[[str], Mark]


@dataclass(frozen=True, slots=True)
class PositionView:
    held: HeldPosition
    mark: float | None
    mark_age: float | None
    stale: bool
    open_pnl: float | None
    day_pnl: float | None
    delta: float | None  # position delta in shares (Δ × qty × multiplier)
    gamma: float | None
    theta: float | None  # dollars per day
    vega: float | None  # dollars per vol point
    beta_delta: float | None  # SPY-equivalent shares
    dte: int | None

    @property
    def symbol(self) -> str:
        return self.held.symbol


@dataclass(slots=True)
class Totals:
    open_pnl: float = 0.0
    day_pnl: float = 0.0
    delta: float = 0.0
    gamma: float = 0.0
    theta: float = 0.0
    vega: float = 0.0
    beta_delta: float = 0.0
    incomplete: bool = False  # some member had no mark or greeks

    def add(self, view: PositionView) -> None:
        for name in ("open_pnl", "day_pnl", "delta", "gamma", "theta", "vega", "beta_delta"):
            value = getattr(view, name)
            if value is None:
                self.incomplete = True
            else:
                setattr(self, name, getattr(self, name) + value)


@dataclass(frozen=True, slots=True)
class StrategyView:
    kind: StrategyKind
    label: str
    legs: tuple[PositionView, ...]
    totals: Totals


@dataclass(frozen=True, slots=True)
class UnderlyingView:
    underlying: str
    strategies: tuple[StrategyView, ...]
    totals: Totals
    spot: float | None


@dataclass(frozen=True, slots=True)
class Portfolio:
    account: str
    underlyings: tuple[UnderlyingView, ...]
    totals: Totals
    beta_symbol: str
    positions: tuple[PositionView, ...] = field(default=())

    def find(self, symbol: str) -> PositionView | None:
        for view in self.positions:
            if view.symbol == symbol:
                return view
        return None


def view_position(
    held: HeldPosition,
    mark: Mark,
    *,
    underlying_price: float | None,
    beta: float | None,
    beta_price: float | None,
    today: date,
    stale_after: float,
) -> PositionView:
    """Mark one position: P&L in dollars, greeks per position, beta-weighted delta."""
    qty = float(held.quantity)
    mult = held.multiplier
    price = (
        mark.price
        if mark.price is not None
        else (float(held.broker_mark) if held.broker_mark is not None else None)
    )
    open_pnl = day_pnl = None
    if price is not None:
        open_pnl = (price - float(held.average_open)) * qty * mult
        # Opened today: the day's P&L starts from the fill, not from yesterday's close.
        opened = held.opened_at.astimezone(NEW_YORK).date()
        reference = held.average_open if opened >= today else held.close_price
        day_pnl = (price - float(reference)) * qty * mult + float(held.realized_today)
    if held.option is None:
        delta: float | None = qty  # one share = one delta
        gamma: float | None = 0.0
        theta: float | None = 0.0
        vega: float | None = 0.0
    else:
        delta = mark.delta * qty * mult if mark.delta is not None else None
        gamma = mark.gamma * qty * mult if mark.gamma is not None else None
        theta = mark.theta * qty * mult if mark.theta is not None else None
        vega = mark.vega * qty * mult if mark.vega is not None else None
    beta_delta = None
    if delta is not None and beta is not None and underlying_price and beta_price:
        # Shares of the beta symbol with the same dollar sensitivity: the *underlying's*
        # price, never the option's (tastytrade-cli once got this 100x wrong).
        beta_delta = delta * beta * underlying_price / beta_price
    dte = (held.option.expiration - today).days if held.option is not None else None
    stale = mark.price is None or (mark.age is not None and mark.age > stale_after)
    return PositionView(
        held, price, mark.age, stale, open_pnl, day_pnl, delta, gamma, theta, vega, beta_delta, dte
    )


def build_portfolio(
    account: str,
    positions: Sequence[HeldPosition],
    marks: MarkSource,
    *,
    betas: Mapping[str, float],
    beta_symbol: str,
    today: date,
    stale_after: float = 15.0,
) -> Portfolio:
    """Group positions by underlying and recognised strategy, with totals at every level."""
    beta_mark = marks(beta_symbol).price
    by_underlying: dict[str, list[HeldPosition]] = defaultdict(list)
    for held in positions:
        if held.quantity != 0:
            by_underlying[held.underlying].append(held)
    views: dict[str, PositionView] = {}
    underlyings: list[UnderlyingView] = []
    grand = Totals()
    for underlying in sorted(by_underlying):
        held_list = by_underlying[underlying]
        spot = marks(underlying).price
        for held in held_list:
            views[held.symbol] = view_position(
                held,
                marks(held.streamer_symbol),
                underlying_price=spot,
                beta=betas.get(underlying),
                beta_price=beta_mark,
                today=today,
                stale_after=stale_after,
            )
        groups = _grouped(tuple((h.symbol, h.option, h.quantity) for h in held_list))
        strategies: list[StrategyView] = []
        sub = Totals()
        for group in groups:
            legs = []
            totals = Totals()
            for symbol, quantity in group.members:
                base = views[symbol]
                # A position split across strategies shows each part's share of it.
                share = float(quantity / base.held.quantity) if base.held.quantity else 1.0
                part = _scaled(base, share, quantity)
                legs.append(part)
                totals.add(part)
            strategies.append(StrategyView(group.kind, group.label, tuple(legs), totals))
            for leg in legs:
                sub.add(leg)
        for leg_view in (v for s in strategies for v in s.legs):
            grand.add(leg_view)
        underlyings.append(UnderlyingView(underlying, tuple(strategies), sub, spot))
    return Portfolio(account, tuple(underlyings), grand, beta_symbol, tuple(views.values()))


@lru_cache(maxsize=64)
def _grouped(
    book: tuple[tuple[str, OptionSymbol | None, Decimal], ...],
) -> tuple[StrategyGroup, ...]:
    """The strategies of one underlying's book, remembered: the status bar and the positions
    pane rebuild the portfolio every second and on every event, the book rarely changes."""
    return tuple(group_positions(book))


def _scaled(view: PositionView, share: float, quantity: Decimal) -> PositionView:
    if share == 1.0:
        return view

    def s(value: float | None) -> float | None:
        return None if value is None else value * share

    held = replace(view.held, quantity=quantity)
    return replace(
        view,
        held=held,
        open_pnl=s(view.open_pnl),
        day_pnl=s(view.day_pnl),
        delta=s(view.delta),
        gamma=s(view.gamma),
        theta=s(view.theta),
        vega=s(view.vega),
        beta_delta=s(view.beta_delta),
    )


def held_from_wire(
    account: str,
    symbol: str,
    underlying: str,
    quantity: Decimal,
    direction: str,
    multiplier: Decimal,
    average_open: Decimal,
    close_price: Decimal,
    created_at: datetime,
    realized_today: Decimal = Decimal(0),
    mark_price: Decimal | None = None,
    is_option: bool = False,
) -> HeldPosition:
    """Build from the API's magnitude + direction form; BrokerRejected for impossible data."""
    amounts = (quantity, average_open, close_price, realized_today, mark_price or _ZERO)
    if not all(a.is_finite() and abs(a) < _ABSURD for a in amounts) or not (
        multiplier.is_finite() and 1 <= multiplier <= _MAX_MULTIPLIER
    ):
        raise BrokerRejected(
            f"tastytrade sent an impossible position for {symbol!r} (quantity {quantity}, "
            f"multiplier {multiplier}): it is left out until the broker sends a readable one"
        )
    signed = -abs(quantity) if direction == "Short" else abs(quantity)
    try:
        option = parse_occ(symbol) if is_option else None
    except SymbolError as exc:
        raise BrokerRejected(f"tastytrade sent a position with a bad symbol: {exc}") from None
    return HeldPosition(
        account=account,
        symbol=symbol,
        underlying=underlying,
        option=option,
        quantity=signed,
        multiplier=int(multiplier),
        average_open=average_open,
        close_price=close_price,
        opened_at=created_at,
        realized_today=realized_today,
        broker_mark=mark_price,
    )
