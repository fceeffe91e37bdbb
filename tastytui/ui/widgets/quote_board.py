"""Quotes pane (placeholder until its issue lands)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import Static

from tastytui.ui.widgets.pane import Pane


class QuoteBoard(Pane):
    def compose(self) -> ComposeResult:
        self.border_title = "Quotes"
        yield Static("loading…")

    def add_symbol(self, symbol: str) -> None:
        """Add a symbol to the board (no duplicates)."""
