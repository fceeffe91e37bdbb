"""Price increments (tick schedules) and rounding onto them.

tastytrade publishes an instrument's increments as ``tick-sizes``: a list of ``{value, threshold}``
where ``value`` applies to prices below ``threshold`` and the last entry (no threshold) applies
above. A limit price off that grid passes a dry-run but is rejected at routing, so every price the
app sends is checked here first.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal
from enum import StrEnum
from typing import Any

_MAX_INCREMENT = Decimal(100)
_MAX_THRESHOLD = Decimal(1_000_000_000)


class TickError(ValueError):
    """A price that is not on its instrument's tick grid, or a malformed schedule."""


class Rounding(StrEnum):
    NEAREST = "nearest"
    UP = "up"
    DOWN = "down"


@dataclass(frozen=True, slots=True)
class TickBand:
    increment: Decimal
    below: Decimal | None  # applies to prices strictly below this; None = no upper bound


@dataclass(frozen=True, slots=True)
class TickSchedule:
    """Bands in ascending order of threshold; the last band has no threshold."""

    bands: tuple[TickBand, ...]

    def __post_init__(self) -> None:
        if not self.bands:
            raise TickError("a tick schedule needs at least one band")
        if self.bands[-1].below is not None:
            raise TickError("the last tick band must have no threshold")
        for band in self.bands:
            if not band.increment.is_finite() or band.increment <= 0:
                raise TickError(f"tick increment {band.increment} must be positive")
            # Real ticks are cents and their fractions; anything else is corrupt broker data
            # (and would overflow the rounding arithmetic).
            exponent = band.increment.as_tuple().exponent
            if band.increment > _MAX_INCREMENT or (isinstance(exponent, int) and exponent < -6):
                raise TickError(f"tick increment {band.increment} is not a price increment")
            if band.below is not None and not (
                band.below.is_finite() and 0 < band.below < _MAX_THRESHOLD
            ):
                raise TickError(f"tick threshold {band.below} is not a price")
        thresholds = [b.below for b in self.bands[:-1]]
        if any(t is None for t in thresholds) or thresholds != sorted(thresholds):  # type: ignore[type-var]
            raise TickError("tick thresholds must be ascending")

    @classmethod
    def uniform(cls, increment: str | Decimal) -> TickSchedule:
        return cls((TickBand(Decimal(increment), None),))

    @classmethod
    def from_wire(cls, entries: Iterable[Mapping[str, Any]]) -> TickSchedule:
        """Build from the API's ``tick-sizes`` list (threshold optional on the last entry)."""
        bands: list[TickBand] = []
        for entry in entries:
            try:
                value = Decimal(str(entry["value"]))
                threshold = entry.get("threshold")
                below = None if threshold is None else Decimal(str(threshold))
                if not value.is_finite() or (below is not None and not below.is_finite()):
                    raise ArithmeticError("not a number")
            except (KeyError, ArithmeticError) as exc:  # broker data: malformed is refused
                raise TickError(f"tick size entry {dict(entry)!r} is not a valid tick") from exc
            bands.append(TickBand(value, below))
        bands.sort(key=lambda b: (b.below is None, b.below or Decimal(0)))
        return cls(tuple(bands))

    def to_wire(self) -> list[dict[str, str]]:
        out: list[dict[str, str]] = []
        for band in self.bands:
            entry = {"value": str(band.increment)}
            if band.below is not None:
                entry["threshold"] = str(band.below)
            out.append(entry)
        return out

    def increment_at(self, price: Decimal) -> Decimal:
        """The tick that applies to ``price`` (by magnitude: credits and debits alike)."""
        magnitude = abs(price)
        for band in self.bands:
            if band.below is None or magnitude < band.below:
                return band.increment
        raise AssertionError("unreachable: the last band has no threshold")  # pragma: no cover

    def is_on_grid(self, price: Decimal) -> bool:
        magnitude = abs(price)
        return magnitude % self.increment_at(magnitude) == 0

    def round(self, price: Decimal, how: Rounding = Rounding.NEAREST) -> Decimal:
        """Round a price's magnitude onto the grid, keeping its sign."""
        sign = -1 if price < 0 else 1
        magnitude = abs(price)
        increment = self.increment_at(magnitude)
        mode = {
            Rounding.NEAREST: ROUND_HALF_UP,
            Rounding.UP: ROUND_CEILING,
            Rounding.DOWN: ROUND_FLOOR,
        }[how]
        steps = (magnitude / increment).quantize(Decimal(1), rounding=mode)
        rounded = steps * increment
        # Crossing a threshold can change the increment: re-snap once in the new band.
        new_increment = self.increment_at(rounded)
        if new_increment != increment:
            steps = (rounded / new_increment).quantize(Decimal(1), rounding=mode)
            rounded = steps * new_increment
        return sign * rounded.quantize(_exponent_of(self))

    def nudge(self, price: Decimal, ticks: int) -> Decimal:
        """Move a price by whole ticks (positive = higher magnitude), never through zero."""
        result = self.round(price)
        sign = -1 if result < 0 else 1
        magnitude = abs(result)
        step = 1 if ticks > 0 else -1
        for _ in range(abs(ticks)):
            if step > 0:
                magnitude += self.increment_at(magnitude)
            else:
                below = magnitude - self.increment_at(magnitude - _smallest(self))
                if below <= 0:
                    break
                magnitude = below
        return sign * magnitude.quantize(_exponent_of(self))


def _smallest(schedule: TickSchedule) -> Decimal:
    return min(b.increment for b in schedule.bands)


def _exponent_of(schedule: TickSchedule) -> Decimal:
    """The quantum prices are shown with: the finest increment's, and at least cents."""
    exponent = min(-2, *(int(b.increment.normalize().as_tuple().exponent) for b in schedule.bands))
    return Decimal(1).scaleb(exponent)


#: SPY, QQQ, IWM and similar: every option trades in pennies.
PENNY_ALL = TickSchedule.uniform("0.01")
#: Penny-pilot classes: 0.01 below $3, 0.05 at and above.
PENNY_PILOT = TickSchedule(
    (TickBand(Decimal("0.01"), Decimal("3")), TickBand(Decimal("0.05"), None))
)
#: Everything else: 0.05 below $3, 0.10 at and above.
NICKEL_DIME = TickSchedule(
    (TickBand(Decimal("0.05"), Decimal("3")), TickBand(Decimal("0.10"), None))
)
#: Listed stocks at or above $1.
STOCK = TickSchedule.uniform("0.01")
