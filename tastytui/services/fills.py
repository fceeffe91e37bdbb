"""Fill tracking: an acknowledged order is not a filled one.

Every order we placed is tracked until it ends.  Two sources feed it:

- pushes from the account stream (:meth:`FillTracker.on_order`, called by the stream service
  for every pushed Order), which are fast but can be missed, duplicated or arrive out of order;
- REST polling (:meth:`FillTracker.run_polling`) on the schedule from the field — every 5 s for
  the first 30 s, every 15 s for the next 30 s, then every 60 s — which works with no stream.

Whatever the source, an order's state only moves forward (Live after Filled is ignored), every
change is journalled and published as an :class:`OrderEvent`, fills, partial fills and
rejections also as a :class:`Notice`, and a terminal status stops the tracking.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from decimal import Decimal

from tastytrade import Account
from tastytrade.order import InstrumentType, PlacedOrder

from tastytui.domain.clock import Clock
from tastytui.services.broker import Broker, guarded
from tastytui.services.errors import BrokerRejected, ServiceError
from tastytui.services.events import EventBus, Level, Notice, OrderEvent
from tastytui.services.journal import Journal, JournalEntry

# Re-exported: they moved to an SDK-free module the panes import before the first frame.
from tastytui.services.order_status import TERMINAL_STATUSES
from tastytui.services.order_status import describe_placed as describe_placed
from tastytui.services.order_status import filled_units as filled_units
from tastytui.services.order_status import is_terminal_status as is_terminal_status
from tastytui.services.order_status import order_size as order_size
from tastytui.services.order_status import price_text as price_text

log = logging.getLogger(__name__)

Schedule = Callable[[float], float]
Sleep = Callable[[float], Awaitable[None]]

_ZERO = Decimal(0)
_TERMINAL = TERMINAL_STATUSES
#: How far along its life a status is; a push with a lower rank is stale and ignored.
_STATUS_RANK = {
    "Received": 0,
    "Routed": 1,
    "In Flight": 2,
    "Contingent": 2,
    "Live": 3,
    "Cancel Requested": 4,
    "Replace Requested": 4,
    **{status: 10 for status in _TERMINAL},
}


def poll_interval(elapsed: float) -> float:
    """Seconds until the next REST poll of an order tracked for ``elapsed`` seconds.

    5 s during the first 30 s (fills usually come fast), 15 s for the next 30 s, then 60 s.
    """
    if elapsed < 30.0:
        return 5.0
    if elapsed < 60.0:
        return 15.0
    return 60.0


def _status_rank(status: str) -> int:
    return _STATUS_RANK.get(status, 3)


def average_net_price(order: PlacedOrder) -> Decimal | None:
    """The average fill price per unit, signed like the SDK's prices (credit +, debit −)."""
    units = filled_units(order)
    if not units:
        return None
    has_option = any(leg.instrument_type == InstrumentType.EQUITY_OPTION for leg in order.legs)
    unit = 100 if has_option else 1
    total = _ZERO
    for leg in order.legs:
        mult = 100 if leg.instrument_type == InstrumentType.EQUITY_OPTION else 1
        side = -1 if leg.action.value.startswith("Buy") else 1
        for fill in leg.fills or []:
            total += side * fill.fill_price * fill.quantity * mult
    return (total / (units * unit)).quantize(Decimal("0.01"))


async def sdk_account(broker: Broker, number: str) -> Account:
    """The SDK Account for ``number`` among this login's accounts (fetched if not listed)."""
    for account in broker.accounts:
        if account.account_number == number:
            return account
    account = await guarded(Account.get(broker.session, number), f"read account {number}")
    broker.accounts.append(account)
    return account


@dataclass
class TrackedOrder:
    """An order being watched until it ends."""

    account: str
    order_id: int
    intent_id: str
    description: str
    underlying: str
    started: float
    next_poll: float
    status: str | None = None
    filled: Decimal = _ZERO
    quantity: Decimal = _ZERO


class FillTracker:
    """Tracks our working orders from pushes and polls; journals and publishes every change."""

    def __init__(
        self,
        broker: Broker,
        journal: Journal,
        events: EventBus,
        clock: Clock,
        *,
        schedule: Schedule = poll_interval,
        sleep: Sleep = asyncio.sleep,
        profile: str | None = None,
    ) -> None:
        self.broker = broker
        self.profile = profile or broker.endpoint.profile
        self.journal = journal
        self.events = events
        self.clock = clock
        self.schedule = schedule
        self._sleep = sleep
        self._tracked: dict[int, TrackedOrder] = {}
        self._done: set[int] = set()
        self._wake = asyncio.Event()

    # ------------------------------------------------------------------ state

    def tracked(self) -> list[TrackedOrder]:
        return sorted(self._tracked.values(), key=lambda t: t.order_id)

    def is_tracking(self, order_id: int) -> bool:
        return order_id in self._tracked

    def _start(
        self, entry: JournalEntry, order_id: int, *, finished_ok: bool = False
    ) -> TrackedOrder | None:
        """Begin tracking (idempotent); not for orders already seen to end."""
        if order_id in self._done or (entry.state.is_terminal and not finished_ok):
            return None
        tracked = self._tracked.get(order_id)
        if tracked is None:
            now = self.clock.monotonic()
            tracked = TrackedOrder(
                account=entry.account,
                order_id=order_id,
                intent_id=entry.intent_id,
                description=entry.description,
                underlying=entry.underlying,
                started=now,
                next_poll=now + self.schedule(0.0),
                # None: the first status we see is published, even one the journal knows.
                status=None,
                filled=entry.filled_quantity,
                quantity=entry.quantity,
            )
            self._tracked[order_id] = tracked
            self._wake.set()
        return tracked

    def track(self, intent_id: str, placed: PlacedOrder) -> None:
        """Start tracking an order we placed (the POST's answer) and record its status."""
        entry = self.journal.by_intent(intent_id)
        if entry is None:
            log.warning("not tracking order %s: intent %s is not journalled", placed.id, intent_id)
            return
        # An order found after a lost answer may already be filled: still report it once.
        if self._start(entry, placed.id, finished_ok=True) is not None:
            self._apply(placed)

    def resume(self) -> int:
        """Track every accepted/working order in the journal (start-up); returns how many."""
        count = 0
        for entry in self.journal.working(self.profile):
            if entry.broker_id is not None and self._start(entry, entry.broker_id) is not None:
                count += 1
        return count

    def on_order(self, placed: PlacedOrder) -> None:
        """An Order pushed by the account stream (or read by anyone): apply it if it is ours.

        A push may arrive before the POST's answer: the order is then found in the journal by
        its external identifier (the intent id) and tracking starts from the push.
        """
        if placed.id in self._done:
            return
        if placed.id not in self._tracked:
            entry = self.journal.by_broker_id(placed.id, self.profile)
            if entry is None and placed.external_identifier:
                candidate = self.journal.by_intent(placed.external_identifier)
                if candidate is not None and candidate.profile == self.profile:
                    entry = candidate
            if entry is None or self._start(entry, placed.id) is None:
                return
        self._apply(placed)

    # ------------------------------------------------------------------ applying a status

    def _apply(self, placed: PlacedOrder) -> None:
        tracked = self._tracked.get(placed.id)
        if tracked is None:
            return
        status = placed.status.value
        previous = tracked.status
        filled = filled_units(placed)
        if previous is not None and _status_rank(status) < _status_rank(previous):
            return  # a stale or out-of-order push: never move backwards
        if status == previous and filled <= tracked.filled:
            return  # a duplicate
        filled = max(filled, tracked.filled)
        grew = filled > tracked.filled
        tracked.status = status
        tracked.filled = filled
        size = order_size(placed)
        if size:
            tracked.quantity = size
        detail = None
        if status == "Cancelled" and placed.replacing_order_id is not None:
            detail = f"replaced by order #{placed.replacing_order_id}"
        self.journal.apply_broker_status(
            tracked.intent_id,
            status,
            broker_id=placed.id,
            filled_quantity=filled,
            reject_reason=placed.reject_reason,
            detail=detail,
        )
        self.events.publish(
            OrderEvent(
                account=tracked.account,
                order_id=placed.id,
                status=status,
                previous_status=previous,
                underlying=tracked.underlying,
                description=tracked.description,
                external_identifier=placed.external_identifier or tracked.intent_id,
                filled_quantity=filled,
                quantity=tracked.quantity,
                reject_reason=placed.reject_reason,
                at=self.clock.now(),
            )
        )
        self._notify(tracked, placed, status, grew)
        if is_terminal_status(status):
            self._tracked.pop(placed.id, None)
            self._done.add(placed.id)

    def _notify(self, tracked: TrackedOrder, placed: PlacedOrder, status: str, grew: bool) -> None:
        what = f"#{placed.id} {tracked.description}"
        at = price_text(average_net_price(placed))
        if status == "Filled":
            self.events.publish(Notice(Level.INFO, f"Filled: {what} @ {at}"))
        elif status == "Rejected":
            reason = placed.reject_reason or "no reason given"
            self.events.publish(Notice(Level.ERROR, f"Rejected: {what}: {reason}"))
        elif status in ("Cancelled", "Removed", "Partially Removed"):
            if placed.replacing_order_id is not None:
                text = f"Replaced: {what} by order #{placed.replacing_order_id}"
            else:
                text = f"{status}: {what}"
                if tracked.filled:
                    text += f" ({tracked.filled} of {tracked.quantity} filled @ {at})"
            self.events.publish(Notice(Level.INFO, text))
        elif status == "Expired":
            self.events.publish(Notice(Level.WARNING, f"Expired: {what}"))
        elif grew:
            self.events.publish(
                Notice(
                    Level.INFO,
                    f"Partially filled: {tracked.filled} of {tracked.quantity} — {what} @ {at}",
                )
            )

    # ------------------------------------------------------------------ polling

    async def fetch(self, account: str, order_id: int) -> PlacedOrder:
        sdk = await sdk_account(self.broker, account)
        return await guarded(
            sdk.get_order(self.broker.session, order_id), f"read order #{order_id}"
        )

    async def poll(self, order_id: int) -> PlacedOrder | None:
        """Read one tracked order over REST now and apply what it says."""
        tracked = self._tracked.get(order_id)
        if tracked is None:
            return None
        now = self.clock.monotonic()
        tracked.next_poll = now + self.schedule(now - tracked.started)
        try:
            placed = await self.fetch(tracked.account, order_id)
        except BrokerRejected as exc:
            # The broker says no such order: polling cannot help; reconciliation will look.
            self._tracked.pop(order_id, None)
            self.journal.note(tracked.intent_id, f"tracking stopped: {exc}")
            self.events.publish(Notice(Level.WARNING, f"Stopped tracking order #{order_id}: {exc}"))
            return None
        except ServiceError as exc:
            log.warning("polling order %s failed (%s); next try on schedule", order_id, exc)
            return None
        self._apply(placed)
        return placed

    async def poll_due(self) -> int:
        """Poll every tracked order whose time has come; returns how many were polled."""
        now = self.clock.monotonic()
        due = [t.order_id for t in self._tracked.values() if t.next_poll <= now]
        for order_id in due:
            try:
                await self.poll(order_id)
            except Exception:  # a bug in one poll must not stop tracking every order
                log.exception("polling order %s failed", order_id)
        return len(due)

    async def run_polling(self) -> None:
        """The polling worker: runs until cancelled (the app starts it as a worker)."""
        while True:
            await self.poll_due()
            if not self._tracked:
                self._wake.clear()
                await self._wake.wait()
                continue
            soonest = min(t.next_poll for t in self._tracked.values())
            delay = soonest - self.clock.monotonic()
            if delay > 0:
                await self._sleep_or_wake(delay)

    async def _sleep_or_wake(self, delay: float) -> None:
        """Sleep ``delay`` s, or less if a new order starts being tracked meanwhile."""
        self._wake.clear()
        sleeper = asyncio.ensure_future(self._sleep(delay))
        waker = asyncio.ensure_future(self._wake.wait())
        try:
            await asyncio.wait({sleeper, waker}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (sleeper, waker):
                task.cancel()
