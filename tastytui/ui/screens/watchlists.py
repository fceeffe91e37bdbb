"""Choose a broker watchlist (private or public) to load onto the quote board."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from tastytui.domain.symbols import SymbolError, normalize_equity
from tastytui.ui import format as fmt

#: Instrument types the board can show (it lists underlyings, not contracts).
_BOARD_TYPES = frozenset({"Equity", "Index", ""})


@dataclass(frozen=True, slots=True)
class WatchlistChoice:
    name: str
    kind: str  # "private" or "public"
    symbols: tuple[str, ...]
    skipped: int  # entries the board cannot show (options, futures, malformed)


def board_symbols(entries: Iterable[Mapping[str, Any]] | None) -> tuple[list[str], int]:
    """The board symbols of watchlist entries, and how many entries were skipped."""
    symbols: list[str] = []
    skipped = 0
    for entry in entries or ():
        raw = entry.get("symbol")
        kind = entry.get("instrument-type") or entry.get("instrument_type") or ""
        if not isinstance(raw, str) or str(kind) not in _BOARD_TYPES:
            skipped += 1
            continue
        try:
            symbol = normalize_equity(raw)
        except SymbolError:
            skipped += 1
            continue
        if symbol not in symbols:
            symbols.append(symbol)
    return symbols, skipped


def choices(private: Iterable[Any], public: Iterable[Any]) -> list[WatchlistChoice]:
    out: list[WatchlistChoice] = []
    for kind, lists in (("private", private), ("public", public)):
        for watchlist in lists:
            symbols, skipped = board_symbols(watchlist.watchlist_entries)
            out.append(WatchlistChoice(str(watchlist.name), kind, tuple(symbols), skipped))
    return out


class WatchlistPicker(ModalScreen[tuple[str, list[str]] | None]):
    """Lists private then public watchlists; enter loads one, escape keeps the board."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss_none", "Cancel", id="watchlists.cancel"),
        Binding("r", "reload", "Reload", id="watchlists.reload"),
    ]
    DEFAULT_CSS = """
    WatchlistPicker { align: center middle; }
    WatchlistPicker > Vertical {
        width: 64; max-width: 95%; height: auto; max-height: 80%;
        border: round $primary; background: $surface; padding: 0 1;
    }
    WatchlistPicker #watchlists-status { color: $text-muted; height: auto; }
    WatchlistPicker #watchlists-status.-error { color: $error; }
    WatchlistPicker OptionList { height: auto; max-height: 20; border: none; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.choices: list[WatchlistChoice] = []

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = "Load a watchlist onto the board"
            yield Static("loading watchlists…", id="watchlists-status")
            yield OptionList(id="watchlists")

    def on_mount(self) -> None:
        self.query_one(OptionList).focus()
        self._load()

    def action_dismiss_none(self) -> None:
        self.dismiss(None)

    def action_reload(self) -> None:
        self._load()

    @work(exclusive=True, group="watchlists", exit_on_error=False)
    async def _load(self) -> None:
        status = self.query_one("#watchlists-status", Static)
        status.remove_class("-error")
        status.update("loading watchlists…")
        services = getattr(self.app, "services", None)
        if services is None:
            status.add_class("-error")
            status.update("Not connected: watchlists load once the broker is up.")
            return
        accounts = services.accounts
        results: tuple[Any, Any] = await asyncio.gather(
            accounts.watchlists(), accounts.public_watchlists(), return_exceptions=True
        )
        private, public = results
        problems = [r for r in (private, public) if isinstance(r, BaseException)]
        self.choices = choices(
            [] if isinstance(private, BaseException) else private,
            [] if isinstance(public, BaseException) else public,
        )
        options = self.query_one(OptionList)
        options.clear_options()
        options.add_options([self._option(i, c) for i, c in enumerate(self.choices)])
        if problems:
            status.add_class("-error")
            reason = fmt.clean(str(problems[0]), max_length=200)
            status.update(Text(f"Could not read every watchlist: {reason} — r retries"))
        elif not self.choices:
            status.update("No watchlists at this login — create one at tastytrade; esc closes")
        else:
            status.update("enter loads the highlighted watchlist · esc keeps the board")
        if self.choices:
            options.highlighted = 0

    def _option(self, index: int, choice: WatchlistChoice) -> Option:
        prompt = fmt.inert(choice.name, "bold", max_length=40)
        count = len(choice.symbols)
        prompt.append(f"  {count} symbol{'s' if count != 1 else ''} · {choice.kind}", "dim")
        if choice.skipped:
            prompt.append(f" · {choice.skipped} not shown (options/futures)", "dim")
        return Option(prompt, id=str(index))

    @on(OptionList.OptionSelected)
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        choice = self.choices[int(event.option.id or 0)]
        if not choice.symbols:
            self.notify(
                "That watchlist has no stocks or ETFs the board can show.", severity="warning"
            )
            return
        self.dismiss((choice.name, list(choice.symbols)))
