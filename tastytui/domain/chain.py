"""An option chain as the app reasons about it: expirations, strikes and their contracts."""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from tastytui.domain.symbols import OptionSymbol, OptionType
from tastytui.domain.ticks import PENNY_PILOT, TickSchedule


@dataclass(frozen=True, slots=True)
class ChainStrike:
    strike: Decimal
    call: OptionSymbol
    put: OptionSymbol

    def contract(self, option_type: OptionType) -> OptionSymbol:
        return self.call if option_type is OptionType.CALL else self.put


@dataclass(frozen=True, slots=True)
class ChainExpiration:
    """One expiration of one root (SPX monthlies and SPXW weeklies are separate)."""

    root: str
    expiration: date
    expiration_type: str  # "Regular" (monthly), "Weekly", "Quarterly", "End-Of-Month"
    settlement: str  # "PM" or "AM"
    strikes: tuple[ChainStrike, ...]
    _prices: tuple[Decimal, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_prices", tuple(s.strike for s in self.strikes))

    @property
    def is_monthly(self) -> bool:
        return self.expiration_type == "Regular"

    def dte(self, today: date) -> int:
        return (self.expiration - today).days

    def strike_prices(self) -> tuple[Decimal, ...]:
        return self._prices

    def nearest_index(self, price: Decimal | float) -> int:
        """Index of the strike closest to ``price`` (the at-the-money row)."""
        if not self.strikes:
            raise ValueError(f"expiration {self.expiration} has no strikes")
        target = Decimal(str(price))
        i = bisect.bisect_left(self._prices, target)
        if i == 0:
            return 0
        if i >= len(self._prices):
            return len(self._prices) - 1
        before, after = self._prices[i - 1], self._prices[i]
        return i - 1 if target - before <= after - target else i

    def find(self, strike: Decimal) -> ChainStrike | None:
        i = bisect.bisect_left(self._prices, strike)
        if i < len(self._prices) and self._prices[i] == strike:
            return self.strikes[i]
        return None


@dataclass(frozen=True, slots=True)
class OptionChain:
    underlying: str
    expirations: tuple[ChainExpiration, ...]  # sorted by (date, root)
    tick_schedule: TickSchedule = PENNY_PILOT
    shares_per_contract: int = 100

    def contains(self, option: OptionSymbol) -> bool:
        """True when the contract is listed in this chain (root, expiration and strike exist)."""
        for exp in self.expirations:
            if exp.root == option.root and exp.expiration == option.expiration:
                return exp.find(option.strike) is not None
        return False

    def expiration(self, when: date, root: str | None = None) -> ChainExpiration | None:
        for exp in self.expirations:
            if exp.expiration == when and (root is None or exp.root == root):
                return exp
        return None

    def upcoming(self, today: date) -> tuple[ChainExpiration, ...]:
        return tuple(e for e in self.expirations if e.expiration >= today)

    def nearest_dte(self, today: date, target_dte: int) -> ChainExpiration | None:
        """The listed expiration whose DTE is closest to ``target_dte`` (ties: the earlier)."""
        live = self.upcoming(today)
        if not live:
            return None
        return min(live, key=lambda e: (abs(e.dte(today) - target_dte), e.expiration))
