"""TEMPORARY stand-in until tastytui.domain.margin lands (to be deleted)."""

from dataclasses import dataclass
from decimal import Decimal
from typing import Any


class MarginError(ValueError):
    pass


@dataclass(frozen=True)
class MarginPosition:
    option: Any
    quantity: Decimal
    mark: Decimal
    multiplier: int


def requirement(positions: Any, spot: Decimal, margin_account: bool) -> Decimal:
    total = Decimal(0)
    for p in positions:
        value = abs(p.quantity) * p.mark * p.multiplier
        total += value if p.option is not None else value / 2
    return total
