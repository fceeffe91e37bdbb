"""Marking positions to market and deriving balances and buying power from them.

Net liquidating value = cash + long values − short values.  Buying power follows the domain's
margin approximations: derivative buying power = net liq − Σ requirements per underlying.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from tastytui.domain.margin import MarginError, MarginPosition, requirement
from tastytui.domain.orders import InstrumentType
from tastytui.domain.symbols import parse_occ
from tastytui.sim.ledger import Account, Position
from tastytui.sim.market import MarketModel

CENT = Decimal("0.01")


def to_decimal(value: float, places: int = 4) -> Decimal:
    return Decimal(repr(round(value, places)))


def money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True, slots=True)
class Valuation:
    cash: Decimal
    long_equity: Decimal
    short_equity: Decimal
    long_derivative: Decimal
    short_derivative: Decimal
    requirement: Decimal
    margin: bool

    @property
    def net_liq(self) -> Decimal:
        return (
            self.cash
            + self.long_equity
            - self.short_equity
            + self.long_derivative
            - self.short_derivative
        )

    @property
    def derivative_buying_power(self) -> Decimal:
        # The margin rules charge every position in ``requirement`` (a cash account's stock at
        # 100 %), so net liq − requirement holds for cash and margin accounts alike.
        return max(Decimal(0), self.net_liq - self.requirement)

    @property
    def equity_buying_power(self) -> Decimal:
        return self.derivative_buying_power * (2 if self.margin else 1)


def position_mark(market: MarketModel, position: Position) -> Decimal:
    """Mid price per share (equities) or per contract unit (options)."""
    return to_decimal(market.mark(position.symbol))


def _margin_position(market: MarketModel, position: Position) -> MarginPosition:
    option = (
        parse_occ(position.symbol)
        if position.instrument_type is InstrumentType.EQUITY_OPTION
        else None
    )
    return MarginPosition(
        option, position.quantity, position_mark(market, position), position.multiplier
    )


def requirement_for(
    market: MarketModel, positions: Iterable[Position], margin_account: bool
) -> Decimal:
    """Σ per-underlying requirements; raises MarginError for positions the account may not hold."""
    by_underlying: dict[str, list[MarginPosition]] = defaultdict(list)
    for position in positions:
        if position.quantity != 0:
            by_underlying[position.underlying].append(_margin_position(market, position))
    total = Decimal(0)
    for underlying, group in sorted(by_underlying.items()):
        spot = to_decimal(market.spot(underlying))
        total += requirement(group, spot, margin_account)
    return money(total)


def value_account(
    market: MarketModel,
    account: Account,
    positions: Iterable[Position],
    cash: Decimal | None = None,
) -> Valuation:
    """Balances of an account holding ``positions`` (optionally with hypothetical cash)."""
    long_eq = short_eq = long_der = short_der = Decimal(0)
    held = [p for p in positions if p.quantity != 0]
    for position in held:
        value = position_mark(market, position) * abs(position.quantity) * position.multiplier
        if position.instrument_type is InstrumentType.EQUITY_OPTION:
            if position.quantity > 0:
                long_der += value
            else:
                short_der += value
        elif position.quantity > 0:
            long_eq += value
        else:
            short_eq += value
    try:
        required = requirement_for(market, held, account.margin)
    except MarginError:
        # An impossible book (e.g. a naked call in a cash account) is fully restricted.
        required = Decimal("1e12")
    return Valuation(
        cash=money(account.cash if cash is None else cash),
        long_equity=money(long_eq),
        short_equity=money(short_eq),
        long_derivative=money(long_der),
        short_derivative=money(short_der),
        requirement=required,
        margin=account.margin,
    )
