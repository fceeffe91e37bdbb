"""The soak's invariants, computed from the broker's ledger, the journal and what was observed.

Pure functions over plain data so the definitions are easy to read (and to test):

- **duplicates**: more than one order at the broker carrying the same external identifier;
- **lost**: an order at the broker we do not know (no journal row, or a row without its broker
  id, or a row that says "not sent"), or a journal row naming a broker order that does not
  exist;
- **orphan legs**: an order with a leg filled in a different proportion from its siblings, or
  a fill execution that did not fill every leg;
- **fills not surfaced**: a fill at the broker whose quantity the journal does not hold or that
  no ``OrderEvent`` reported;
- **rejections not surfaced**: a rejected order whose journal row is not REJECTED with the
  broker's reason, or that no ``OrderEvent`` reported.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from tastytui.domain.orders import OrderStatus
from tastytui.services.journal import JournalEntry, JournalState
from tastytui.sim.ledger import Order

INTENT_PREFIX = "tt-"


@dataclass
class SeenOrder:
    """What the console's event bus said about one broker order."""

    statuses: list[str] = field(default_factory=list)
    max_filled: Decimal = Decimal(0)
    reject_reason: str | None = None


@dataclass
class LedgerVerdict:
    at_broker: int = 0
    filled: int = 0
    partially_filled_then_ended: int = 0
    rejected: int = 0
    cancelled: int = 0
    replaced: int = 0
    working: int = 0
    duplicates: list[str] = field(default_factory=list)
    lost: list[str] = field(default_factory=list)
    orphan_legs: list[str] = field(default_factory=list)
    fills_not_surfaced: list[str] = field(default_factory=list)
    rejections_not_surfaced: list[str] = field(default_factory=list)
    #: Intents still SENT/UNKNOWN with no order at the broker (inside the resolution grace).
    unresolved: list[str] = field(default_factory=list)


def ours(orders: Mapping[int, Order]) -> list[Order]:
    """Orders placed by tastytui (they carry an intent id as external identifier)."""
    return [
        o
        for o in orders.values()
        if o.external_identifier and o.external_identifier.startswith(INTENT_PREFIX)
    ]


def orphan_leg_problem(order: Order) -> str | None:
    """Why a leg of ``order`` filled without its siblings, or None when every leg moved as one."""
    if not order.legs or not order.size:
        return None
    units: set[Decimal] = set()
    groups: list[set[str]] = []
    for leg in order.legs:
        ratio = leg.quantity / order.size
        filled = leg.quantity - leg.remaining
        if ratio:
            units.add(filled / ratio)
        groups.append({f.group for f in leg.fills})
    if len(units) > 1:
        return f"order #{order.id}: legs filled {sorted(units)} units"
    if any(g != groups[0] for g in groups[1:]):
        return f"order #{order.id}: a fill execution missed a leg"
    if units and units.pop() != order.filled_units:
        return f"order #{order.id}: legs and the order disagree on filled units"
    return None


def judge(
    orders: Mapping[int, Order],
    entries: Iterable[JournalEntry],
    seen: Mapping[int, SeenOrder],
) -> LedgerVerdict:
    """Every invariant over the final state (see the module docstring)."""
    verdict = LedgerVerdict()
    journal = {e.intent_id: e for e in entries}
    placed = ours(orders)
    by_intent: dict[str, list[Order]] = defaultdict(list)
    for order in placed:
        assert order.external_identifier is not None
        by_intent[order.external_identifier].append(order)
    verdict.at_broker = len(placed)
    for intent, found in sorted(by_intent.items()):
        if len(found) > 1:
            ids = ", ".join(f"#{o.id}" for o in found)
            verdict.duplicates.append(f"{intent}: {len(found)} orders ({ids})")
        entry = journal.get(intent)
        if entry is None:
            verdict.lost.append(f"{intent}: at the broker (#{found[0].id}) but not journalled")
        elif entry.broker_id is None:
            if entry.state.is_unresolved:
                verdict.lost.append(f"{intent}: at the broker (#{found[0].id}), still unresolved")
            else:
                verdict.lost.append(
                    f"{intent}: at the broker (#{found[0].id}) but journalled {entry.state}"
                )
        elif entry.broker_id not in {o.id for o in found}:
            verdict.lost.append(f"{intent}: journal says #{entry.broker_id}, broker has others")
    for intent, entry in journal.items():
        if intent in by_intent:
            continue
        if entry.broker_id is not None:
            verdict.lost.append(f"{intent}: journal says #{entry.broker_id}, the broker has none")
        elif entry.state.is_unresolved:
            verdict.unresolved.append(intent)
    for order in placed:
        status = order.status
        if status is OrderStatus.FILLED:
            verdict.filled += 1
        elif status is OrderStatus.REJECTED:
            verdict.rejected += 1
        elif status in (OrderStatus.CANCELLED, OrderStatus.EXPIRED):
            if order.replacing_order_id is not None:
                verdict.replaced += 1
            else:
                verdict.cancelled += 1
            if order.filled_units:
                verdict.partially_filled_then_ended += 1
        elif not status.is_terminal:
            verdict.working += 1
        assert order.external_identifier is not None
        entry = journal.get(order.external_identifier)
        observed = seen.get(order.id, SeenOrder())
        if order.filled_units:
            journalled = entry.filled_quantity if entry is not None else Decimal(0)
            if journalled != order.filled_units or observed.max_filled != order.filled_units:
                verdict.fills_not_surfaced.append(
                    f"order #{order.id}: {order.filled_units} filled at the broker, journal "
                    f"{journalled}, events {observed.max_filled}"
                )
        if status is OrderStatus.REJECTED:
            ok = (
                entry is not None
                and entry.state is JournalState.REJECTED
                and entry.reject_reason == order.reject_reason
                and "Rejected" in observed.statuses
            )
            if not ok:
                verdict.rejections_not_surfaced.append(
                    f"order #{order.id}: rejected ({order.reject_reason}); journal "
                    f"{entry.state if entry else None}, events {observed.statuses}"
                )
    for order in orders.values():  # every order, the starting book's too
        problem = orphan_leg_problem(order)
        if problem is not None:
            verdict.orphan_legs.append(problem)
    return verdict
