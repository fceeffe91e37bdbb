"""Option chain pane (placeholder until its issue lands)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import Static

from tastytui.ui.widgets.pane import Pane


class ChainPane(Pane):
    def compose(self) -> ComposeResult:
        self.border_title = "Option chain"
        yield Static("loading…")

    def show_symbol(self, symbol: str) -> None:
        """Show ``symbol``'s chain (and keep it as the chain's underlying)."""
