"""Positions pane (placeholder until its issue lands)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import Static

from tastytui.ui.widgets.pane import Pane


class PositionsPane(Pane):
    def compose(self) -> ComposeResult:
        self.border_title = "Positions"
        yield Static("loading…")
