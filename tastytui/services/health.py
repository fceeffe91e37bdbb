"""One observable health state for the UI: connections, token, breaker, queue, reconciliation."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import Any


class LinkState(StrEnum):
    CONNECTING = "connecting"
    UP = "up"
    DEGRADED = "degraded"  # working, but retrying or slow
    DOWN = "down"
    OFF = "off"  # not started


class BreakerState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half-open"


@dataclass(frozen=True, slots=True)
class HealthSnapshot:
    rest: LinkState = LinkState.OFF
    dxlink: LinkState = LinkState.OFF
    account_stream: LinkState = LinkState.OFF
    breaker: BreakerState = BreakerState.CLOSED
    token_expires_at: datetime | None = None
    auth_problem: str | None = None  # e.g. "grant revoked: run tastytui login"
    rate_queue: int = 0
    last_error: str | None = None
    last_reconcile_at: datetime | None = None
    reconcile_findings: int = 0
    orders_halted: str | None = None  # why new orders are halted, if they are
    stale_symbols: int = 0

    @property
    def ready(self) -> bool:
        """Every link up and the book reconciled once: the data on screen can be trusted."""
        links = (self.rest, self.dxlink, self.account_stream)
        return all(s is LinkState.UP for s in links) and self.last_reconcile_at is not None


Listener = Callable[[HealthSnapshot], Any]


@dataclass
class Health:
    """Mutable holder with change listeners (called synchronously on the event loop)."""

    snapshot: HealthSnapshot = field(default_factory=HealthSnapshot)
    _listeners: list[Listener] = field(default_factory=list)

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    def update(self, **changes: Any) -> None:
        new = replace(self.snapshot, **changes)
        if new == self.snapshot:
            return
        self.snapshot = new
        for listener in list(self._listeners):
            listener(new)
