"""An option chain as the app reasons about it: expirations, strikes and their contracts."""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable
from dataclasses import FrozenInstanceError, dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from tastytui.domain.symbols import OptionSymbol, OptionType
from tastytui.domain.ticks import PENNY_PILOT, TickSchedule


@dataclass(frozen=True, slots=True)
class ChainStrike:
    strike: Decimal
    call: OptionSymbol
    put: OptionSymbol

    def contract(self, option_type: OptionType) -> OptionSymbol:
        return self.call if option_type is OptionType.CALL else self.put


#: Builds an expiration's strikes, sorted by strike, when they are first needed.
StrikeLoader = Callable[[], Iterable[ChainStrike]]


class ChainExpiration:
    """One expiration of one root (SPX monthlies and SPXW weeklies are separate).

    Immutable.  Its strikes are given up front, or built once on first use by ``loader``
    (``ChainExpiration.deferred``): an index chain lists ~15,000 strikes (30,000 contracts) over
    ~70 expirations while the console shows one, and building them all up front cost several
    times the fetch itself (benchmarks/chain_open.py).
    """

    __slots__ = (
        "_loader",
        "_prices",
        "_strikes",
        "expiration",
        "expiration_type",
        "root",
        "settlement",
    )

    root: str
    expiration: date
    expiration_type: str  # "Regular" (monthly), "Weekly", "Quarterly", "End-Of-Month"
    settlement: str  # "PM" or "AM"
    _strikes: tuple[ChainStrike, ...]
    _prices: tuple[Decimal, ...]
    _loader: StrikeLoader | None

    def __init__(
        self,
        root: str,
        expiration: date,
        expiration_type: str,
        settlement: str,
        strikes: Iterable[ChainStrike] = (),
    ) -> None:
        init = object.__setattr__
        init(self, "root", root)
        init(self, "expiration", expiration)
        init(self, "expiration_type", expiration_type)
        init(self, "settlement", settlement)
        init(self, "_loader", None)
        self._install(strikes)

    @classmethod
    def deferred(
        cls,
        root: str,
        expiration: date,
        expiration_type: str,
        settlement: str,
        loader: StrikeLoader,
    ) -> ChainExpiration:
        """An expiration whose strikes ``loader`` builds on first use (once)."""
        exp = cls(root, expiration, expiration_type, settlement)
        object.__setattr__(exp, "_loader", loader)
        return exp

    def _install(self, strikes: Iterable[ChainStrike]) -> None:
        rows = tuple(strikes)
        object.__setattr__(self, "_strikes", rows)
        object.__setattr__(self, "_prices", tuple(s.strike for s in rows))

    def _load(self) -> None:
        loader = self._loader
        if loader is not None:
            self._install(loader())
            object.__setattr__(self, "_loader", None)

    def __setattr__(self, name: str, value: Any) -> None:
        raise FrozenInstanceError(f"cannot assign to field {name!r}")

    def __delattr__(self, name: str) -> None:
        raise FrozenInstanceError(f"cannot delete field {name!r}")

    def _key(self) -> tuple[Any, ...]:
        return (self.root, self.expiration, self.expiration_type, self.settlement, self.strikes)

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        assert isinstance(other, ChainExpiration)
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        count = "not loaded" if self._loader is not None else str(len(self._strikes))
        return (
            f"ChainExpiration(root={self.root!r}, expiration={self.expiration!r}, "
            f"expiration_type={self.expiration_type!r}, settlement={self.settlement!r}, "
            f"strikes: {count})"
        )

    @property
    def strikes(self) -> tuple[ChainStrike, ...]:
        """The listed strikes, lowest first."""
        if self._loader is not None:
            self._load()
        return self._strikes

    @property
    def loaded(self) -> bool:
        """True once the strikes exist (a deferred expiration builds them on first use)."""
        return self._loader is None

    @property
    def is_monthly(self) -> bool:
        return self.expiration_type == "Regular"

    def dte(self, today: date) -> int:
        return (self.expiration - today).days

    def strike_prices(self) -> tuple[Decimal, ...]:
        if self._loader is not None:
            self._load()
        return self._prices

    def nearest_index(self, price: Decimal | float) -> int:
        """Index of the strike closest to ``price`` (the at-the-money row)."""
        prices = self.strike_prices()
        if not prices:
            raise ValueError(f"expiration {self.expiration} has no strikes")
        target = Decimal(str(price))
        i = bisect.bisect_left(prices, target)
        if i == 0:
            return 0
        if i >= len(prices):
            return len(prices) - 1
        before, after = prices[i - 1], prices[i]
        return i - 1 if target - before <= after - target else i

    def find(self, strike: Decimal) -> ChainStrike | None:
        prices = self.strike_prices()
        i = bisect.bisect_left(prices, strike)
        if i < len(prices) and prices[i] == strike:
            return self._strikes[i]
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
