"""Order builder pane (placeholder until its issue lands)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import Static

from tastytui.ui.widgets.pane import Pane


class BuilderPane(Pane):
    def compose(self) -> ComposeResult:
        self.border_title = "Order builder"
        yield Static("loading…")

    def add_leg(self, leg: object) -> None:
        """Add a leg (tastytui.domain.orders.Leg) to the ticket being built."""

    def load_ticket(self, ticket: object, note: str = "") -> None:
        """Replace the ticket being built (close/roll, chat staging, templates)."""

    def action_review(self) -> None:
        """Open the review step for the current ticket."""
