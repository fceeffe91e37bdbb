"""Profit and loss at expiration: the payoff diagram, max profit, max loss and breakevens.

P&L is measured at the first expiration.  Legs expiring later (calendars, diagonals) are valued
there with Black-Scholes when a volatility is given, else at intrinsic value, which keeps the
payoff piecewise linear so max profit/loss and breakevens are exact.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Literal

from tastytui.domain import blackscholes
from tastytui.domain.orders import InstrumentType
from tastytui.domain.symbols import OptionType, SymbolError, is_option_symbol, parse_option
from tastytui.domain.ticket import Ticket, multiplier

PayoffKind = Literal["stock", "call", "put"]
_PnlFn = Callable[[Decimal], Decimal]

CENT = Decimal("0.01")
_ZERO = Decimal(0)
_SCAN_POINTS = 2000
_BISECTIONS = 60
#: Black-Scholes needs a positive spot; this stands in for a worthless underlying.
_MIN_SPOT = 1e-6


class PayoffError(ValueError):
    """Legs that cannot be turned into a payoff (missing strike, missing price...)."""


@dataclass(frozen=True, slots=True)
class PayoffLeg:
    """One position or order leg as the payoff sees it.

    ``quantity`` is signed (+ long, − short), in contracts for options and shares for stock.
    ``entry_price`` is the positive price per share paid or received; the sign comes from quantity.
    """

    kind: PayoffKind
    quantity: Decimal
    strike: Decimal | None
    expiration: date | None
    multiplier: int
    entry_price: Decimal

    def __post_init__(self) -> None:
        if self.kind != "stock" and (self.strike is None or self.expiration is None):
            raise PayoffError(f"a {self.kind} leg needs a strike and an expiration")
        if self.entry_price < 0:
            raise PayoffError(
                f"entry price {self.entry_price} is negative: give the positive price paid or "
                "received; the quantity's sign says which"
            )

    def intrinsic(self, spot: Decimal) -> Decimal:
        """Value per share at expiration."""
        if self.kind == "stock":
            return spot
        assert self.strike is not None
        if self.kind == "call":
            return max(_ZERO, spot - self.strike)
        return max(_ZERO, self.strike - spot)

    @property
    def slope_above(self) -> Decimal:
        """d(P&L)/d(spot) above every strike: stock and calls move with the underlying."""
        return self.quantity * self.multiplier if self.kind != "put" else _ZERO


def from_ticket(ticket: Ticket, price_per_leg: Mapping[str, Decimal]) -> list[PayoffLeg]:
    """Payoff legs for an order ticket, with each leg's (unsigned) fill price by symbol."""
    legs: list[PayoffLeg] = []
    for leg in ticket.legs:
        if leg.symbol not in price_per_leg:
            raise PayoffError(f"no price for {leg.symbol.strip()}: wait for quotes")
        price = abs(price_per_leg[leg.symbol])
        if leg.instrument_type is InstrumentType.EQUITY_OPTION:
            legs.append(
                _option_leg(leg.symbol, leg.signed_quantity, price, multiplier(leg.instrument_type))
            )
        else:
            legs.append(PayoffLeg("stock", leg.signed_quantity, None, None, 1, price))
    return legs


def from_positions(
    positions: Iterable[tuple[str, Decimal, Decimal]], *, shares_per_contract: int = 100
) -> list[PayoffLeg]:
    """Payoff legs for held positions given as (symbol, signed quantity, average open price)."""
    legs: list[PayoffLeg] = []
    for symbol, quantity, average in positions:
        if quantity == 0:
            continue
        if is_option_symbol(symbol):
            legs.append(_option_leg(symbol, quantity, abs(average), shares_per_contract))
        else:
            legs.append(PayoffLeg("stock", quantity, None, None, 1, abs(average)))
    return legs


def _option_leg(symbol: str, quantity: Decimal, price: Decimal, mult: int) -> PayoffLeg:
    try:
        option = parse_option(symbol)
    except SymbolError as exc:
        raise PayoffError(f"{symbol.strip()!r} is not an option symbol") from exc
    kind: PayoffKind = "call" if option.option_type is OptionType.CALL else "put"
    return PayoffLeg(kind, quantity, option.strike, option.expiration, mult, price)


def first_expiration(legs: Iterable[PayoffLeg]) -> date | None:
    dates = [leg.expiration for leg in legs if leg.expiration is not None]
    return min(dates) if dates else None


def pnl_at(
    legs: Sequence[PayoffLeg],
    underlying_price: Decimal,
    *,
    vol: float | None = None,
    rate: float = 0.0,
) -> Decimal:
    """Total P&L in dollars if the underlying is at ``underlying_price`` at the first expiration.

    Later-expiring options are worth their Black-Scholes value for the time they have left when
    ``vol`` is given, else their intrinsic value.
    """
    first = first_expiration(legs)
    total = _ZERO
    for leg in legs:
        value = _value_at(leg, underlying_price, first, vol, rate)
        total += leg.quantity * leg.multiplier * (value - leg.entry_price)
    return total


def _value_at(
    leg: PayoffLeg, spot: Decimal, first: date | None, vol: float | None, rate: float
) -> Decimal:
    if leg.kind == "stock" or vol is None or first is None or leg.expiration is None:
        return leg.intrinsic(spot)
    if leg.expiration <= first:
        return leg.intrinsic(spot)
    assert leg.strike is not None
    years = (leg.expiration - first).days / 365.0
    value = blackscholes.price(
        max(float(spot), _MIN_SPOT), float(leg.strike), years, vol, leg.kind == "call", rate
    )
    return Decimal(repr(round(value, 6)))


def _cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True, slots=True)
class PayoffSummary:
    """Max profit and max loss (a positive amount; None = unlimited) and sorted breakevens."""

    max_profit: Decimal | None
    max_loss: Decimal | None
    breakevens: tuple[Decimal, ...]
    legs: tuple[PayoffLeg, ...]
    vol: float | None = None
    rate: float = 0.0

    def pnl_at(self, underlying_price: Decimal) -> Decimal:
        return pnl_at(self.legs, underlying_price, vol=self.vol, rate=self.rate)

    def curve(self, lo: Decimal, hi: Decimal, points: int) -> list[tuple[Decimal, Decimal]]:
        """``points`` evenly spaced (price, P&L rounded to cents) pairs from ``lo`` to ``hi``."""
        if points < 2:
            raise ValueError(f"a curve needs at least 2 points, not {points}")
        if hi <= lo:
            raise ValueError(f"curve range {lo}..{hi} is empty: give hi > lo")
        step = (hi - lo) / (points - 1)
        prices = [lo + step * i for i in range(points - 1)] + [hi]
        return [(price, _cents(self.pnl_at(price))) for price in prices]


def analyze(
    legs: Sequence[PayoffLeg], spot: Decimal, vol: float | None = None, rate: float = 0.0
) -> PayoffSummary:
    """Max profit, max loss and breakevens of ``legs`` at the first expiration.

    Exact when the payoff is piecewise linear (one expiration, or no volatility given): P&L is
    evaluated at 0 and at every strike, and the slope above the highest strike decides whether
    profit or loss is unlimited.  Otherwise the range 0 … 3× the highest strike or spot is scanned.
    """
    if not legs:
        raise PayoffError("no legs to analyze: add a leg or a position")
    expirations = {leg.expiration for leg in legs if leg.expiration is not None}
    slope = sum((leg.slope_above for leg in legs), _ZERO)
    strikes = sorted({leg.strike for leg in legs if leg.strike is not None})

    def pnl(price: Decimal) -> Decimal:
        return pnl_at(legs, price, vol=vol, rate=rate)

    if vol is None or len(expirations) <= 1:
        kinks = [_ZERO, *(k for k in strikes if k > 0)]
        roots = _linear_roots(kinks, [pnl(k) for k in kinks], slope)
    else:
        top = max([spot, *strikes]) * 3
        grid = sorted({*(top * i / _SCAN_POINTS for i in range(_SCAN_POINTS + 1)), *strikes})
        kinks = grid
        roots = _scan_roots(grid, [pnl(p) for p in grid], pnl)
        if slope != 0:
            # Beyond the scan the P&L keeps moving with the slope: one more crossing is possible.
            last = pnl(grid[-1])
            if last * slope < 0:
                roots.append(grid[-1] - last / slope)
    values = [pnl(k) for k in kinks]
    max_profit = None if slope > 0 else _cents(max(values))
    max_loss = None if slope < 0 else _cents(max(_ZERO, -min(values)))
    breakevens = tuple(sorted({_cents(r) for r in roots}))
    return PayoffSummary(max_profit, max_loss, breakevens, tuple(legs), vol, rate)


def _linear_roots(xs: list[Decimal], ys: list[Decimal], slope_after: Decimal) -> list[Decimal]:
    """Zeros of the piecewise-linear function through (xs, ys), continued with ``slope_after``."""
    roots: list[Decimal] = []
    for (a, va), (b, vb) in itertools.pairwise(zip(xs, ys, strict=True)):
        if va == 0:
            roots.append(a)
        elif vb != 0 and (va < 0) != (vb < 0):
            roots.append(a + va * (b - a) / (va - vb))
    last_x, last_y = xs[-1], ys[-1]
    if last_y == 0:
        roots.append(last_x)
    elif slope_after != 0 and (last_y < 0) != (slope_after < 0):
        roots.append(last_x - last_y / slope_after)
    return roots


def _scan_roots(xs: list[Decimal], ys: list[Decimal], pnl: _PnlFn) -> list[Decimal]:
    """Sign changes on a sampled curve, each refined by bisection."""
    roots: list[Decimal] = []
    for (a, va), (b, vb) in itertools.pairwise(zip(xs, ys, strict=True)):
        if va == 0:
            roots.append(a)
            continue
        if vb == 0 or (va < 0) == (vb < 0):
            continue
        lo, hi, vlo = a, b, va
        for _ in range(_BISECTIONS):
            mid = (lo + hi) / 2
            vmid = pnl(mid)
            if (vmid < 0) == (vlo < 0):
                lo, vlo = mid, vmid
            else:
                hi = mid
            if hi - lo < Decimal("0.0001"):
                break
        roots.append((lo + hi) / 2)
    if ys[-1] == 0:
        roots.append(xs[-1])
    return roots
