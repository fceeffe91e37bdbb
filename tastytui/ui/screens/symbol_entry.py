"""Fast symbol entry (``/``): type a ticker, see suggestions, enter picks it.

Suggestions come from the broker's symbol search, debounced and run in a worker.  Enter takes
the highlighted suggestion when the arrows were used, else the typed ticker — but only after
the broker confirms it exists: a wrong ticker gets a message and nothing changes.  Escape
cancels.  The screen returns the chosen symbol (upper case) or None.
"""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.timer import Timer
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from tastytui.domain.symbols import SymbolError, is_option_symbol, normalize_equity
from tastytui.ui import format as fmt

DEBOUNCE = 0.25
MAX_SUGGESTIONS = 12


class SymbolEntry(ModalScreen[str | None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="symbol.cancel"),
        Binding("down", "suggestion(1)", "Next", id="symbol.next", show=False),
        Binding("up", "suggestion(-1)", "Previous", id="symbol.previous", show=False),
    ]
    DEFAULT_CSS = """
    SymbolEntry { align: center top; }
    SymbolEntry > Vertical {
        margin-top: 4; width: 64; max-width: 95%; height: auto;
        border: round $primary; background: $surface; padding: 0 1;
    }
    SymbolEntry #symbol-message { height: auto; color: $text-muted; }
    SymbolEntry #symbol-message.-error { color: $error; }
    SymbolEntry OptionList { height: auto; max-height: 14; border: none; }
    """

    def __init__(self, initial: str = "") -> None:
        super().__init__()
        self.initial = initial
        #: Symbols of the suggestions shown, in order.
        self.suggestions: list[str] = []
        self._picked = False  # the user moved through the suggestions with the arrows
        self._debounce: Timer | None = None

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = "Symbol — enter opens it · esc cancels"
            yield Input(self.initial, placeholder="ticker or name, e.g. AAPL", id="symbol-input")
            yield Static("type a ticker; suggestions follow", id="symbol-message")
            yield OptionList(id="symbol-suggestions")

    def on_mount(self) -> None:
        field = self.query_one(Input)
        field.cursor_blink = False  # deterministic screenshots
        field.focus()

    # ------------------------------------------------------------ typing

    @on(Input.Changed, "#symbol-input")
    def _changed(self, event: Input.Changed) -> None:
        self._picked = False
        self._say("")
        if self._debounce is not None:
            self._debounce.stop()
        text = event.value.strip()
        if not text:
            self._show([])
            self.workers.cancel_group(self, "symbol-search")
            return
        self._debounce = self.set_timer(DEBOUNCE, lambda: self._search(text))

    @work(exclusive=True, group="symbol-search", exit_on_error=False)
    async def _search(self, text: str) -> None:
        services = getattr(self.app, "services", None)
        if services is None:
            return
        try:
            results = await services.accounts.search(text.split("/", 1)[0])
        except Exception as exc:  # a failed search only loses the suggestions
            if self.is_attached:
                self._say(f"search failed: {exc}", error=True)
            return
        typed = [field.value.strip() for field in self.query(Input)]
        if not self.is_attached or not typed or not self.query(OptionList):
            return  # the entry closed (or is closing) while the broker answered
        if typed[0] != text:
            return  # the user typed on: a newer search is coming
        self._show([(r.symbol, r.description) for r in results[:MAX_SUGGESTIONS]])

    def _show(self, rows: list[tuple[str, str]]) -> None:
        options = self.query_one(OptionList)
        options.clear_options()
        self.suggestions = [fmt.clean(symbol) for symbol, _ in rows]
        prompts: list[Option] = []
        for i, (symbol, description) in enumerate(rows):
            prompt = fmt.inert(symbol, "bold", max_length=24)
            prompt.append("  ")
            prompt.append_text(fmt.inert(description or "", "dim", max_length=48))
            prompts.append(Option(prompt, id=str(i)))
        options.add_options(prompts)

    def action_suggestion(self, step: int) -> None:
        options = self.query_one(OptionList)
        if not self.suggestions:
            return
        current = options.highlighted
        if current is None:
            options.highlighted = 0 if step > 0 else len(self.suggestions) - 1
        else:
            options.highlighted = max(0, min(len(self.suggestions) - 1, current + step))
        self._picked = True

    # ------------------------------------------------------------ choosing

    @on(OptionList.OptionSelected, "#symbol-suggestions")
    def _clicked(self, event: OptionList.OptionSelected) -> None:
        index = int(event.option.id or 0)
        if index < len(self.suggestions):
            self._choose(self.suggestions[index])

    @on(Input.Submitted, "#symbol-input")
    def _submitted(self, event: Input.Submitted) -> None:
        options = self.query_one(OptionList)
        if self._picked and options.highlighted is not None:
            self._choose(self.suggestions[options.highlighted])
            return
        self._choose(event.value)

    def _choose(self, text: str) -> None:
        raw = text.strip()
        if raw and is_option_symbol(raw.upper()):
            self._say(
                "option symbols are not taken here: type the underlying (e.g. SPY) and pick "
                "the contract in the chain",
                error=True,
            )
            return
        try:
            symbol = normalize_equity(raw)
        except SymbolError as exc:
            self._say(str(exc), error=True)
            return
        if getattr(self.app, "services", None) is None:
            self._say("not connected yet: wait for the connection, then try again", error=True)
            return
        self._say(f"checking {symbol}…")
        self._verify(symbol)

    @work(exclusive=True, group="symbol-verify", exit_on_error=False)
    async def _verify(self, symbol: str) -> None:
        services: Any = getattr(self.app, "services", None)
        if services is None:
            return
        try:
            # Search the root of a class ticker (BRK for BRK/B): the slash would end up in
            # the search URL's path.
            results = await services.accounts.search(symbol.split("/", 1)[0])
        except Exception as exc:
            self._say(f"cannot check {symbol} now: {exc} — try again", error=True)
            return
        if any(str(r.symbol).upper() == symbol for r in results):
            self.dismiss(symbol)
            return
        hint = " or pick a suggestion with ↓" if self.suggestions else ""
        self._say(f"no such symbol: {symbol} — check the ticker{hint}", error=True)

    def action_cancel(self) -> None:
        self.dismiss(None)

    def _say(self, text: str, *, error: bool = False) -> None:
        message = self.query_one("#symbol-message", Static)
        message.set_class(error, "-error")
        # Typed text and broker text are shown literally (never parsed as markup).
        message.update(Text(fmt.clean(text, max_length=300)))

    @property
    def message(self) -> str:
        """The message line as plain text (tests, screen readers)."""
        return str(self.query_one("#symbol-message", Static).content)
