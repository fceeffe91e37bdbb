"""Closing and rolling held positions: the legs of the order, never the order itself.

Inputs are plain ``(symbol, option, signed quantity)`` triples (``option`` is None for stock), so
the positions pane, the chat and tests share one rule set.  Errors are :class:`RollError` with a
sentence saying what to do instead.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from tastytui.domain.chain import ChainExpiration, OptionChain
from tastytui.domain.orders import InstrumentType, Leg, OrderAction
from tastytui.domain.symbols import OptionSymbol, format_strike

HeldLeg = tuple[str, OptionSymbol | None, Decimal]

#: tastytrade accepts at most this many legs in one order.
MAX_LEGS = 4


class RollError(ValueError):
    """The position cannot be closed or rolled in one order; the message says what to do."""


def _merged(positions: Iterable[HeldLeg]) -> list[HeldLeg]:
    """One entry per symbol (a position split across strategies is summed), flat ones dropped."""
    totals: dict[str, HeldLeg] = {}
    for symbol, option, quantity in positions:
        previous = totals.get(symbol)
        total = quantity + (previous[2] if previous is not None else Decimal(0))
        totals[symbol] = (symbol, option, total)
    return [item for item in totals.values() if item[2] != 0]


def closing_legs(positions: Iterable[HeldLeg]) -> tuple[Leg, ...]:
    """The legs that flatten ``positions``: opposite side, ``…_TO_CLOSE``, same quantities."""
    legs = []
    for symbol, option, quantity in _merged(positions):
        action = OrderAction.SELL_TO_CLOSE if quantity > 0 else OrderAction.BUY_TO_CLOSE
        kind = InstrumentType.EQUITY if option is None else InstrumentType.EQUITY_OPTION
        legs.append(Leg(kind, symbol, action, abs(quantity)))
    if not legs:
        raise RollError("nothing is held here: there is nothing to close")
    if len(legs) > MAX_LEGS:
        raise RollError(
            f"closing this takes {len(legs)} legs, more than the {MAX_LEGS} one order allows: "
            "close one strategy at a time"
        )
    return tuple(legs)


@dataclass(frozen=True, slots=True)
class RollPlan:
    """The legs of a roll (closing legs first) and what moved."""

    legs: tuple[Leg, ...]
    from_expiration: date
    to_expiration: date
    #: Strikes that were not listed in the new expiration: (old, new).
    moved: tuple[tuple[Decimal, Decimal], ...]

    def describe_move(self) -> str:
        text = f"{self.from_expiration:%b %d} → {self.to_expiration:%b %d}"
        if self.moved:
            text += " (strikes moved to the nearest listed: " + ", ".join(
                f"{format_strike(a)}→{format_strike(b)}" for a, b in self.moved
            )
            text += ")"
        return text


def next_expiration(chain: OptionChain, option: OptionSymbol) -> ChainExpiration | None:
    """The first listed expiration of the same root after ``option``'s."""
    later = [
        e for e in chain.expirations if e.root == option.root and e.expiration > option.expiration
    ]
    return min(later, key=lambda e: e.expiration) if later else None


def roll_legs(positions: Sequence[HeldLeg], chain: OptionChain) -> RollPlan:
    """Close the option legs of ``positions`` and open the same structure one expiration later.

    Same strikes when listed, else the nearest listed strike.  Stock is left alone (a covered
    call rolls its call).  Raises :class:`RollError` when it cannot be one order.
    """
    options = [
        (symbol, option, quantity)
        for symbol, option, quantity in _merged(positions)
        if option is not None
    ]
    if not options:
        raise RollError("stock does not expire: there is nothing to roll (x closes it)")
    expirations = {option.expiration for _, option, _ in options}
    roots = {option.root for _, option, _ in options}
    if len(expirations) > 1 or len(roots) > 1:
        raise RollError(
            "legs with different expirations (a calendar or diagonal) cannot be rolled in one "
            "step: close it (x) and open the new position from the chain"
        )
    if 2 * len(options) > MAX_LEGS:
        raise RollError(
            f"rolling {len(options)} legs takes {2 * len(options)} legs, more than the "
            f"{MAX_LEGS} one order allows: close it (x) and open the new one from the chain"
        )
    first = options[0][1]
    target = next_expiration(chain, first)
    if target is None or not target.strikes:
        raise RollError(
            f"no {first.root} expiration after {first.expiration} is listed: nothing to roll to"
        )
    closing = closing_legs(options)
    opening: list[Leg] = []
    moved: list[tuple[Decimal, Decimal]] = []
    contracts: set[OptionSymbol] = set()
    for _, option, quantity in options:
        row = target.find(option.strike)
        if row is None:
            row = target.strikes[target.nearest_index(option.strike)]
            moved.append((option.strike, row.strike))
        contract = row.contract(option.option_type)
        contracts.add(contract)
        action = OrderAction.BUY_TO_OPEN if quantity > 0 else OrderAction.SELL_TO_OPEN
        opening.append(Leg(InstrumentType.EQUITY_OPTION, contract.occ, action, abs(quantity)))
    if len(contracts) < len(opening):
        raise RollError(
            f"the {target.expiration} expiration does not list strikes close enough to keep "
            "the structure: pick the new strikes in the chain"
        )
    return RollPlan(
        closing + tuple(opening), first.expiration, target.expiration, tuple(sorted(set(moved)))
    )
