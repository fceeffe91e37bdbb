"""Typed events the services publish for whoever listens (the console, the chat, tests).

Slow, meaningful changes only — order status changes, fills, rejections, reconciliation
findings, notices.  Quotes never travel as events: the UI pulls them from the QuoteStore.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, TypeVar


class Level(StrEnum):
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"


@dataclass(frozen=True, slots=True)
class Notice:
    """Something the user should read (shown as a notification)."""

    level: Level
    text: str


@dataclass(frozen=True, slots=True)
class OrderEvent:
    """An order changed status (from the account stream or from polling)."""

    account: str
    order_id: int
    status: str
    previous_status: str | None
    underlying: str
    description: str
    external_identifier: str | None
    filled_quantity: Decimal
    quantity: Decimal
    reject_reason: str | None = None
    at: datetime | None = None

    @property
    def is_fill(self) -> bool:
        return self.status == "Filled" or (self.filled_quantity > 0 and self.status == "Live")


@dataclass(frozen=True, slots=True)
class PositionsChanged:
    account: str


@dataclass(frozen=True, slots=True)
class BalancesChanged:
    account: str


@dataclass(frozen=True, slots=True)
class ReconcileEvent:
    """A reconciliation finished; ``findings`` are human-readable differences."""

    account: str
    findings: tuple[str, ...]
    halted: bool


E = TypeVar("E")
Handler = Callable[[Any], Any]


class EventBus:
    """Synchronous publish/subscribe on the event loop thread."""

    def __init__(self) -> None:
        self._handlers: list[tuple[type[Any] | None, Handler]] = []

    def subscribe(self, handler: Handler, kind: type[Any] | None = None) -> Callable[[], None]:
        entry = (kind, handler)
        self._handlers.append(entry)
        return lambda: self._handlers.remove(entry) if entry in self._handlers else None

    def publish(self, event: Any) -> None:
        for kind, handler in list(self._handlers):
            if kind is None or isinstance(event, kind):
                handler(event)
