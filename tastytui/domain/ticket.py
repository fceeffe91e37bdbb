"""The order ticket: what the user is about to send, its validation and its auto-pricing.

Prices are signed per unit of the ticket (one "unit" of the spread): negative is a debit (you
pay), positive a credit.  Every check raises :class:`TicketError` naming the offending field and
saying how to fix it, so the UI can focus that field and show the message verbatim.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from enum import StrEnum

from tastytui.domain.orders import InstrumentType, Leg, OrderType, TimeInForce
from tastytui.domain.symbols import (
    OptionSymbol,
    SymbolError,
    format_strike,
    is_option_symbol,
    normalize_equity,
    parse_option,
)
from tastytui.domain.ticks import Rounding, TickSchedule

#: Weekly/PM-settled roots whose underlying has another name; pass to ``root_to_underlying``.
WEEKLY_ROOTS: Mapping[str, str] = {"SPXW": "SPX", "NDXP": "NDX", "RUTW": "RUT", "VIXW": "VIX"}

SHARES_PER_CONTRACT = 100

#: Order types whose price field is required (a limit price).
_PRICED = frozenset({OrderType.LIMIT, OrderType.STOP_LIMIT, OrderType.MARKETABLE_LIMIT})
_UNPRICED = frozenset({OrderType.MARKET, OrderType.NOTIONAL_MARKET})
_MAX_PRICE = Decimal(1_000_000_000)
#: No order holds more: also keeps int() away from absurd values (int(Decimal("1e999999"))
#: takes half a minute — a hang, from one mistyped or hostile quantity).
MAX_QUANTITY = Decimal(1_000_000)


class TicketError(ValueError):
    """A ticket that cannot be sent; ``field`` names what the user has to change."""

    def __init__(self, message: str, *, field: str = "ticket") -> None:
        super().__init__(message)
        self.field = field


class PriceMode(StrEnum):
    NATURAL = "natural"
    MID = "mid"
    CUSTOM = "custom"


@dataclass(frozen=True, slots=True)
class LegQuote:
    """The market for one leg, per share or per contract unit."""

    bid: Decimal
    ask: Decimal


def multiplier(instrument_type: InstrumentType) -> int:
    """Shares controlled by one unit of a leg: 100 for an option contract, 1 for a share."""
    return SHARES_PER_CONTRACT if instrument_type is InstrumentType.EQUITY_OPTION else 1


def _is_whole_positive(quantity: Decimal) -> bool:
    return (
        quantity.is_finite()
        and 0 < quantity <= MAX_QUANTITY
        and quantity == quantity.to_integral_value()
    )


@dataclass(frozen=True, slots=True)
class Ticket:
    """An order being composed: legs, type, signed per-unit price and time in force."""

    legs: tuple[Leg, ...]
    order_type: OrderType = OrderType.LIMIT
    price: Decimal | None = None
    time_in_force: TimeInForce = TimeInForce.DAY
    gtd_date: date | None = None

    @property
    def quantity(self) -> Decimal:
        """The size: the greatest common divisor of the leg quantities (2 for a 2×(1:1) spread).

        0 without legs; 1 when some quantity is not a positive whole number (validation says so).
        """
        if not self.legs:
            return Decimal(0)
        if not all(_is_whole_positive(leg.quantity) for leg in self.legs):
            return Decimal(1)
        return Decimal(math.gcd(*(int(leg.quantity) for leg in self.legs)))

    @property
    def ratios(self) -> tuple[Decimal, ...]:
        """Each leg's quantity per unit of the ticket (1:2:1 for a butterfly)."""
        size = self.quantity
        return tuple(leg.quantity / size for leg in self.legs) if size else ()

    def with_price(self, price: Decimal | None) -> Ticket:
        return replace(self, price=price)

    def with_quantity(self, size: int | Decimal) -> Ticket:
        """The same spread at another size, keeping the leg ratios."""
        new = Decimal(size)
        if not _is_whole_positive(new):
            raise TicketError(
                f"quantity {size} is not a whole number from 1 to {MAX_QUANTITY:,}: "
                "enter a whole number of units",
                field="quantity",
            )
        for leg in self.legs:  # ratios of invalid legs mean nothing (and may overflow)
            if not _is_whole_positive(leg.quantity):
                raise TicketError(
                    f"quantity {leg.quantity} for {leg.symbol.strip()} is not a whole number "
                    f"from 1 to {MAX_QUANTITY:,}: fix that leg first",
                    field="quantity",
                )
        legs = tuple(
            replace(leg, quantity=r * new) for leg, r in zip(self.legs, self.ratios, strict=True)
        )
        for leg in legs:  # a large ratio times the new size can pass the per-leg limit
            if not _is_whole_positive(leg.quantity):
                raise TicketError(
                    f"quantity {size} makes {leg.quantity:,} of {leg.symbol.strip()}, over "
                    f"{MAX_QUANTITY:,}: enter a smaller size",
                    field="quantity",
                )
        return replace(self, legs=legs)

    @property
    def is_opening(self) -> bool:
        return any(leg.action.is_opening for leg in self.legs)

    @property
    def is_closing_only(self) -> bool:
        return bool(self.legs) and not self.is_opening

    def underlying(self, root_to_underlying: Mapping[str, str] | None = None) -> str:
        """The one underlying all legs share (SPXW options → 'SPX' given WEEKLY_ROOTS)."""
        names = {leg_underlying(leg, root_to_underlying) for leg in self.legs}
        if not names:
            raise TicketError("the ticket has no legs: add a leg", field="legs")
        if len(names) > 1:
            raise TicketError(
                f"legs on different underlyings ({', '.join(sorted(names))}): "
                "send one order per underlying",
                field="legs",
            )
        return names.pop()


def leg_underlying(leg: Leg, root_to_underlying: Mapping[str, str] | None = None) -> str:
    """An equity leg is its own underlying; an option leg's is its root (mapped if given)."""
    if leg.instrument_type is InstrumentType.EQUITY_OPTION:
        root = _parse_leg_option(leg).root
        return (root_to_underlying or {}).get(root, root)
    return leg.symbol.strip().upper()


def _parse_leg_option(leg: Leg) -> OptionSymbol:
    try:
        return parse_option(leg.symbol)
    except SymbolError as exc:
        raise TicketError(
            f"{leg.symbol!r} is not an option symbol: pick the contract from the chain",
            field="symbol",
        ) from exc


def _describe(option: OptionSymbol) -> str:
    kind = "call" if option.is_call else "put"
    return f"{option.root} {format_strike(option.strike)} {kind} expiring {option.expiration}"


def _position_key(symbol: str) -> str:
    """One spelling per instrument so OCC and streamer forms of a contract compare equal."""
    if is_option_symbol(symbol):
        return parse_option(symbol).occ
    return symbol.strip().upper()


def validate(
    ticket: Ticket,
    *,
    today: date,
    chain_lookup: Callable[[OptionSymbol], bool] | None = None,
    positions: Mapping[str, Decimal] | None = None,
    tick_schedule: TickSchedule | None = None,
    max_legs: int = 4,
    root_to_underlying: Mapping[str, str] | None = None,
) -> None:
    """Raise :class:`TicketError` for the first problem that would stop the order.

    ``chain_lookup`` says whether a contract is listed; ``positions`` maps symbols to the signed
    quantity held (checked for closing legs only); ``tick_schedule`` is the price grid.
    """
    _check_legs(ticket, max_legs)
    _check_symbols(ticket, today, chain_lookup)
    ticket.underlying(root_to_underlying)
    if positions is not None:
        _check_closing(ticket, positions)
    _check_price(ticket, tick_schedule)
    _check_time_in_force(ticket, today)


def _check_legs(ticket: Ticket, max_legs: int) -> None:
    if not ticket.legs:
        raise TicketError("the ticket has no legs: add a leg from the chain", field="legs")
    if len(ticket.legs) > max_legs:
        raise TicketError(
            f"{len(ticket.legs)} legs is more than the {max_legs} allowed in one order: "
            "split it into separate orders",
            field="legs",
        )
    for leg in ticket.legs:
        q = leg.quantity
        if not q.is_finite() or q != q.to_integral_value():
            raise TicketError(
                f"quantity {q} for {leg.symbol.strip()} is not a whole number: "
                "enter a whole number of "
                + (
                    "contracts" if leg.instrument_type is InstrumentType.EQUITY_OPTION else "shares"
                ),
                field="quantity",
            )
        if q <= 0:
            raise TicketError(
                f"quantity {q} for {leg.symbol.strip()} must be at least 1: "
                "enter a positive quantity and choose buy or sell with the action",
                field="quantity",
            )
        if q > MAX_QUANTITY:
            raise TicketError(
                f"quantity {q} for {leg.symbol.strip()} is more than the {MAX_QUANTITY:,} one "
                "order can hold: enter a smaller quantity",
                field="quantity",
            )


def _check_symbols(
    ticket: Ticket, today: date, chain_lookup: Callable[[OptionSymbol], bool] | None
) -> None:
    seen: set[str] = set()
    options: list[OptionSymbol] = []
    for leg in ticket.legs:
        if leg.instrument_type is InstrumentType.EQUITY_OPTION:
            option = _parse_leg_option(leg)
            key = option.occ
            options.append(option)
        elif leg.instrument_type is InstrumentType.EQUITY:
            try:
                key = normalize_equity(leg.symbol)
            except SymbolError as exc:
                raise TicketError(str(exc), field="symbol") from exc
        else:
            raise TicketError(
                f"{leg.symbol} is an index and cannot be traded: trade its options instead",
                field="symbol",
            )
        if key in seen:
            raise TicketError(
                f"{leg.symbol.strip()} appears in two legs: combine them into one leg",
                field="legs",
            )
        seen.add(key)
    for option in options:
        if option.expiration < today:
            raise TicketError(
                f"{_describe(option)} has expired: pick a later expiration",
                field="expiration",
            )
        if chain_lookup is not None and not chain_lookup(option):
            raise TicketError(
                f"{_describe(option)} is not listed: pick a strike and expiration from the chain",
                field="strike",
            )


def _check_closing(ticket: Ticket, positions: Mapping[str, Decimal]) -> None:
    held: dict[str, Decimal] = {}
    for symbol, quantity in positions.items():
        if not quantity.is_finite():
            continue  # an unknown quantity is no evidence of a position
        try:
            key = _position_key(symbol)
        except SymbolError:
            continue  # a position we cannot name cannot be closed by this ticket either
        held[key] = held.get(key, Decimal(0)) + quantity
    for leg in ticket.legs:
        if leg.action.is_opening:
            continue
        have = held.get(_position_key(leg.symbol), Decimal(0))
        name = leg.symbol.strip()
        # Selling to close needs a long position; buying to close needs a short one.
        same_side = -have if leg.action.is_buy else have
        if same_side <= 0:
            needed, opener = (
                ("short", "Buy to Open") if leg.action.is_buy else ("long", "Sell to Open")
            )
            raise TicketError(
                f"{leg.action.value} {name}: you hold no {needed} position to close: "
                f"use {opener} to open a new position",
                field="action",
            )
        if leg.quantity > same_side:
            raise TicketError(
                f"{leg.action.value} {leg.quantity} {name} but only {same_side} are held: "
                f"reduce the quantity to {same_side}",
                field="quantity",
            )


def _check_price(ticket: Ticket, schedule: TickSchedule | None) -> None:
    price = ticket.price
    if ticket.order_type in _UNPRICED:
        if price is not None:
            raise TicketError(
                "a market order takes no price: clear the price or switch to a limit order",
                field="price",
            )
        return
    if price is None:
        if ticket.order_type in _PRICED:
            raise TicketError(
                "a limit order needs a price: enter a price or choose natural or mid",
                field="price",
            )
        return
    if not price.is_finite() or abs(price) >= _MAX_PRICE:
        raise TicketError(
            f"price {price} is not a usable price: enter a price below {_MAX_PRICE}",
            field="price",
        )
    if len(ticket.legs) == 1:
        leg = ticket.legs[0]
        if price == 0:
            raise TicketError(
                "a single-leg order cannot be priced at 0: enter a price of at least one tick",
                field="price",
            )
        # Buying one instrument always pays and selling always receives.
        if leg.action.is_buy and price > 0:
            raise TicketError(
                f"buying pays a debit but {price} is a credit: enter the price as a debit",
                field="price",
            )
        if not leg.action.is_buy and price < 0:
            raise TicketError(
                f"selling receives a credit but {price} is a debit: enter the price as a credit",
                field="price",
            )
    if schedule is not None and not schedule.is_on_grid(price):
        below = schedule.round(price, Rounding.DOWN)
        above = schedule.round(price, Rounding.UP)
        increment = schedule.increment_at(price)
        raise TicketError(
            f"price {abs(price)} is not a multiple of the {increment} tick: "
            f"use {abs(below)} or {abs(above)}",
            field="price",
        )


def _check_time_in_force(ticket: Ticket, today: date) -> None:
    if ticket.time_in_force is TimeInForce.GTD:
        if ticket.gtd_date is None:
            raise TicketError(
                "good-till-date needs a date: enter the last day the order may work",
                field="time_in_force",
            )
        if ticket.gtd_date < today:
            raise TicketError(
                f"good-till-date {ticket.gtd_date} is in the past: enter today or a later date",
                field="time_in_force",
            )
    elif ticket.gtd_date is not None:
        raise TicketError(
            f"a date only applies to GTD orders, not {ticket.time_in_force.value}: "
            "clear the date or choose GTD",
            field="time_in_force",
        )


def _unit_multiplier(ticket: Ticket) -> int:
    """Prices of mixed stock+option tickets are per share, like options (buy-writes)."""
    return max((multiplier(leg.instrument_type) for leg in ticket.legs), default=1)


def _quote_for(leg: Leg, quotes: Mapping[str, LegQuote]) -> LegQuote:
    quote = quotes.get(leg.symbol)
    name = leg.symbol.strip()
    if quote is None or not (quote.bid.is_finite() and quote.ask.is_finite()):
        raise TicketError(
            f"no live quote for {name}: wait for data or enter a custom price", field="price"
        )
    # A crossed, negative, empty (0 × 0) or absurd market cannot price an order.
    if quote.bid < 0 or quote.ask <= 0 or quote.bid > quote.ask or quote.ask >= _MAX_PRICE:
        raise TicketError(
            f"no live quote for {name} (bid {quote.bid}, ask {quote.ask}): "
            "wait for data or enter a custom price",
            field="price",
        )
    return quote


def _net(ticket: Ticket, quotes: Mapping[str, LegQuote], *, aggressive: bool) -> Decimal:
    """Signed per-unit price taking (aggressive) or making (passive) the market on every leg."""
    if not ticket.legs:
        raise TicketError("the ticket has no legs: add a leg from the chain", field="legs")
    for leg in ticket.legs:
        if not _is_whole_positive(leg.quantity):
            raise TicketError(
                f"quantity {leg.quantity} for {leg.symbol.strip()} is not a whole number from 1 "
                f"to {MAX_QUANTITY:,}: enter a whole number",
                field="quantity",
            )
    size = ticket.quantity
    unit = _unit_multiplier(ticket)
    total = Decimal(0)
    for leg in ticket.legs:
        quote = _quote_for(leg, quotes)
        if leg.action.is_buy:
            total -= (
                (quote.ask if aggressive else quote.bid)
                * leg.quantity
                * multiplier(leg.instrument_type)
            )
        else:
            total += (
                (quote.bid if aggressive else quote.ask)
                * leg.quantity
                * multiplier(leg.instrument_type)
            )
    return total / (size * unit)


def natural_price(ticket: Ticket, quotes: Mapping[str, LegQuote]) -> Decimal:
    """The signed per-unit price that fills now: pay the ask on buys, receive the bid on sells."""
    return _net(ticket, quotes, aggressive=True)


def mid_price(ticket: Ticket, quotes: Mapping[str, LegQuote]) -> Decimal:
    """The signed per-unit price halfway between the natural and the opposite side."""
    return (_net(ticket, quotes, aggressive=True) + _net(ticket, quotes, aggressive=False)) / 2


def auto_price(
    ticket: Ticket,
    quotes: Mapping[str, LegQuote],
    schedule: TickSchedule,
    mode: PriceMode,
) -> Decimal:
    """The price to fill into the ticket for ``mode``, on the tick grid.

    Mid is rounded to the nearest tick.  Natural is exact when on the grid (it is whenever every
    leg is); otherwise it is rounded towards the marketable side so it still fills.  Custom keeps
    the user's price.
    """
    if mode is PriceMode.CUSTOM:
        if ticket.price is None:
            raise TicketError("custom pricing needs a price: enter a price", field="price")
        if not ticket.price.is_finite():
            raise TicketError("the price is not a number: enter a price", field="price")
        return ticket.price
    if mode is PriceMode.MID:
        return schedule.round(mid_price(ticket, quotes), Rounding.NEAREST)
    natural = natural_price(ticket, quotes)
    if schedule.is_on_grid(natural):
        return natural
    # Marketable = pay more on a debit (larger magnitude), accept less on a credit.
    return schedule.round(natural, Rounding.UP if natural < 0 else Rounding.DOWN)
