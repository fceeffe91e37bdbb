"""Typed messages that cross widget boundaries (slow events only — never one per quote)."""

from __future__ import annotations

from typing import Any

from textual.message import Message


class ServicesReady(Message):
    """The broker connection is up and every service exists (``app.services``)."""


class ConnectFailed(Message):
    def __init__(self, reason: str) -> None:
        super().__init__()
        self.reason = reason


class ServiceEvent(Message):
    """A service-layer event (OrderEvent, Notice, PositionsChanged, ReconcileEvent …)."""

    def __init__(self, event: Any) -> None:
        super().__init__()
        self.event = event


class HealthChanged(Message):
    def __init__(self, snapshot: Any) -> None:
        super().__init__()
        self.snapshot = snapshot

    def can_replace(self, message: Message) -> bool:
        # A burst of health changes collapses into the latest one.
        return isinstance(message, HealthChanged)


class SymbolChosen(Message):
    """The user picked a symbol (symbol entry or palette): show its chain and quote."""

    def __init__(self, symbol: str, add_to_board: bool = True) -> None:
        super().__init__()
        self.symbol = symbol
        self.add_to_board = add_to_board


class StageTicket(Message):
    """Load a ticket into the order builder (close/roll from positions, chat, templates)."""

    def __init__(
        self, ticket: Any, note: str = "", review: bool = False, source: str = "keys"
    ) -> None:
        super().__init__()
        self.ticket = ticket
        self.note = note
        self.review = review
        #: Who composed it, journalled with the order: "keys" or "chat".
        self.source = source


class AddLeg(Message):
    """Add one leg to the order builder (chain keys b/s, quote board, chat)."""

    def __init__(self, leg: Any) -> None:
        super().__init__()
        self.leg = leg  # tastytui.domain.orders.Leg
