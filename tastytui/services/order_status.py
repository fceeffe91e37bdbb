"""Status, size and price text of placed orders, without importing the SDK.

The console imports its panes before the first frame, and the SDK pulls pandas (half a second):
the helpers the orders and positions panes need at import time live here, duck-typed on the
SDK's ``PlacedOrder`` (only its attributes are read).  :mod:`tastytui.services.fills`
re-exports them.
"""

from __future__ import annotations

import math
from decimal import Decimal
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tastytrade.order import Leg, PlacedOrder

_ZERO = Decimal(0)
#: Statuses after which an order never changes again.
TERMINAL_STATUSES = frozenset(
    {"Filled", "Cancelled", "Expired", "Rejected", "Removed", "Partially Removed"}
)


def is_terminal_status(status: str) -> bool:
    return status in TERMINAL_STATUSES


def order_size(order: PlacedOrder) -> Decimal:
    """Spread units of the order: ``size``, else the gcd of the leg quantities."""
    if order.size:
        return Decimal(order.size)
    quantities = [int(leg.quantity or 0) for leg in order.legs]
    return Decimal(math.gcd(*quantities)) if quantities else _ZERO


def _leg_filled(leg: Leg) -> Decimal:
    from_fills = sum((f.quantity for f in leg.fills or []), _ZERO)
    if leg.quantity is not None and leg.remaining_quantity is not None:
        return max(from_fills, Decimal(leg.quantity) - leg.remaining_quantity)
    return from_fills


def filled_units(order: PlacedOrder) -> Decimal:
    """Spread units filled so far (a multi-leg order fills every leg in proportion)."""
    size = order_size(order)
    if not order.legs or not size:
        return _ZERO
    leg = order.legs[0]
    quantity = Decimal(leg.quantity or 0)
    if not quantity:
        return _ZERO
    return _leg_filled(leg) * size / quantity


def price_text(price: Decimal | None) -> str:
    """'1.25 credit', '2.10 debit', 'even' — how traders say a net price."""
    if price is None:
        return "market"
    if price == 0:
        return "0.00 even"
    return f"{abs(price):.2f} {'credit' if price > 0 else 'debit'}"


def describe_placed(order: PlacedOrder) -> str:
    """A fallback description from the order itself (when the journal has none)."""
    legs = ", ".join(
        f"{leg.action.value} {leg.quantity} {leg.symbol.strip()}" for leg in order.legs
    )
    return f"{order.underlying_symbol} {legs}"
