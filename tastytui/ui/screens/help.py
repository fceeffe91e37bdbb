"""The help screen: every key, grouped by where it applies, from the action registry."""

from __future__ import annotations

from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from tastytui.ui import keymap

_SCOPE_TITLES = {
    "app": "Everywhere",
    "board": "Quote board",
    "chain": "Option chain",
    "positions": "Positions",
    "orders": "Live orders",
    "builder": "Order builder",
    "review": "Order review (the only place an order is sent)",
}


def help_table(remaps: dict[str, str]) -> Table:
    table = Table(show_header=True, header_style="bold", expand=True, box=None, pad_edge=False)
    table.add_column("Key", no_wrap=True, width=14)
    table.add_column("Action")
    table.add_column("Id (for [ui.keys])", style="dim", no_wrap=True)
    for scope in keymap.scopes():
        table.add_row(Text(_SCOPE_TITLES.get(scope, scope), style="bold underline"), "", "")
        for action in keymap.ACTIONS:
            if action.scope == scope:
                table.add_row(keymap.key_for(action.id, remaps), action.description, action.id)
    return table


class HelpScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,f1,q", "dismiss", "Close", id="help.close"),
    ]
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll {
        width: 90; max-width: 95%; height: 90%; border: round $primary; background: $surface;
        padding: 0 1;
    }
    """

    def compose(self) -> ComposeResult:
        remaps = getattr(self.app, "config", None)
        keys = remaps.ui.keys if remaps is not None else {}
        with VerticalScroll() as scroll:
            scroll.border_title = "Keys — Esc to close"
            yield Static(help_table(keys))
            yield Static(
                "\nRemap any key in the config file, e.g.\n"
                '  [ui.keys]\n  "order.confirm" = "ctrl+y"\n'
                "Ctrl+P opens the command palette: symbols, screens, actions and themes."
            )
