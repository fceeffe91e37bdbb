"""Live orders pane (placeholder until its issue lands)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import Static

from tastytui.ui.widgets.pane import Pane


class OrdersPane(Pane):
    def compose(self) -> ComposeResult:
        self.border_title = "Live orders"
        yield Static("loading…")
