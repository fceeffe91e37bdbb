"""The help screen: every key, grouped by where it applies, from the action registry."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import ClassVar

from rich.console import Group
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
    "confirm": "Yes/no prompts (cancel an order)",
    "price": "New-price dialog (replace an order)",
    "history": "History screen (transactions and orders)",
    "netliq": "Net-liq history screen",
    "findings": "Reconciliation findings screen",
    "chat": "Assistant (chat pane; Enter sends)",
}


def help_table(remaps: Mapping[str, str], display: Callable[[str], str] | None = None) -> Group:
    """Every action grouped by scope; ``remaps`` (valid ``[ui.keys]`` entries) win, and are
    marked so a user sees their own keys; ``display`` formats a key as the footer does."""
    show = display or (lambda key: key)

    def table(header: bool) -> Table:
        # Same fixed widths in every section so the columns line up down the screen.
        out = Table(show_header=header, header_style="bold", expand=True, box=None, pad_edge=False)
        out.add_column("Key", no_wrap=True, width=14)
        out.add_column("Action", ratio=1)
        out.add_column(Text("Id (for [ui.keys])"), style="dim", no_wrap=True, width=24)
        return out

    parts: list[Table | Text] = [table(header=True)]
    for scope in keymap.scopes():
        parts.append(Text(_SCOPE_TITLES.get(scope, scope), style="bold underline"))
        section = table(header=False)
        for action in keymap.ACTIONS:
            if action.scope == scope:
                keys = keymap.key_for(action.id, remaps)
                label = " ".join(show(k.strip()) for k in keys.split(",") if k.strip())
                description = Text(action.description)
                if action.id in remaps:
                    description.append(" (your key)", style="italic")
                section.add_row(Text(label), description, action.id)
        parts.append(section)
    return Group(*parts)


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
        config = getattr(self.app, "config", None)
        keys, _ = keymap.check_remaps(config.ui.keys if config is not None else {})

        def display(key: str) -> str:
            return self.app.get_key_display(Binding(key, ""))

        with VerticalScroll() as scroll:
            scroll.border_title = "Keys — Esc to close, ↑/↓ PgUp/PgDn to scroll"
            yield Static(help_table(keys, display))
            yield Static(
                "\nRemap any key in the config file, e.g.\n"
                '  [ui.keys]\n  "order.confirm" = "ctrl+y"\n'
                "Ctrl+P opens the command palette: symbols, screens, actions and themes."
            )
