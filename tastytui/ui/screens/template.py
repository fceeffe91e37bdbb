"""The strategy template picker: which structure, which side, and strikes by width or by delta.

It only collects the choice (validated, with a message saying how to fix bad input); the chain
pane builds the legs with ``domain.strategies.build_template`` around the money of the
expiration on screen and stages the ticket in the order builder.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, OptionList, RadioButton, RadioSet, Static
from textual.widgets.option_list import Option

from tastytui.domain.strategies import Direction, StrategyKind
from tastytui.domain.symbols import OptionType
from tastytui.ui import keymap

TEMPLATE_KINDS: tuple[StrategyKind, ...] = (
    StrategyKind.VERTICAL,
    StrategyKind.STRANGLE,
    StrategyKind.STRADDLE,
    StrategyKind.IRON_CONDOR,
    StrategyKind.BUTTERFLY,
    StrategyKind.CALENDAR,
)
#: Structures built from one option type (the side matters).
SIDED = frozenset({StrategyKind.VERTICAL, StrategyKind.BUTTERFLY, StrategyKind.CALENDAR})
#: Structures with wings a width applies to.
WINGED = frozenset({StrategyKind.VERTICAL, StrategyKind.IRON_CONDOR, StrategyKind.BUTTERFLY})
#: Structures whose strikes can be picked by delta (a straddle is always at the money).
BY_DELTA = frozenset(TEMPLATE_KINDS) - {StrategyKind.STRADDLE}

_HINTS: dict[StrategyKind, str] = {
    StrategyKind.VERTICAL: (
        "Vertical: credit sells one strike out of the money (or at the delta) and buys the wing "
        "'width' further out; debit buys at the money and sells the wing."
    ),
    StrategyKind.STRANGLE: (
        "Strangle: a put below and a call above the money, one strike out (or at the delta). "
        "Width does not apply."
    ),
    StrategyKind.STRADDLE: (
        "Straddle: the at-the-money put and call. Side, width and delta do not apply."
    ),
    StrategyKind.IRON_CONDOR: (
        "Iron condor: short put and call one strike out (or at the delta), wings 'width' "
        "further out. Credit by default."
    ),
    StrategyKind.BUTTERFLY: (
        "Butterfly: body at the money (or at the delta), wings 'width' each way. Debit by default."
    ),
    StrategyKind.CALENDAR: (
        "Calendar: sells this expiration and buys the next one a week or more later, same "
        "strike (at the money or at the delta). Width does not apply."
    ),
}


@dataclass(frozen=True, slots=True)
class TemplateChoice:
    """What the user asked for; the pane turns it into legs."""

    kind: StrategyKind
    option_type: OptionType | None = None
    direction: Direction | None = None  # None: the structure's usual direction
    width: Decimal | None = None  # None: the adjacent strike
    target_delta: float | None = None  # set when picking strikes by delta


def parse_width(text: str) -> Decimal | None:
    """A wing width typed by the user; empty means the adjacent strike."""
    raw = text.strip()
    if not raw:
        return None
    try:
        width = Decimal(raw)
    except InvalidOperation:
        raise ValueError(
            f"width {raw!r} is not a number: enter a strike distance such as 5, "
            "or leave it empty for the adjacent strike"
        ) from None
    if not width.is_finite() or width <= 0:
        raise ValueError(f"width {raw} must be a positive distance such as 5")
    return width


def parse_delta(text: str) -> float:
    """A target delta typed as 0.16 or as 16 (both mean a 16 delta)."""
    raw = text.strip()
    if not raw:
        raise ValueError("enter a target delta such as 0.16 (or 16), or pick strikes by width")
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"delta {raw!r} is not a number: enter e.g. 0.16 or 16") from None
    if 1 <= value < 100:
        value /= 100.0
    if not 0 < value < 1:
        raise ValueError(f"delta {raw} must be between 0 and 1 (or 1 and 99): e.g. 0.16")
    return value


class TemplatePicker(ModalScreen[TemplateChoice | None]):
    """Enter builds the highlighted strategy; Escape closes without staging anything."""

    BINDINGS: ClassVar[list[BindingType]] = list(keymap.bindings("template"))
    DEFAULT_CSS = """
    TemplatePicker { align: center middle; }
    TemplatePicker > #template-box {
        width: 96; max-width: 98%; height: auto; max-height: 95%;
        border: round $primary; background: $surface; padding: 0 1;
    }
    TemplatePicker #template-row { height: auto; }
    TemplatePicker #template-kind { width: 20; height: 8; }
    TemplatePicker .template-col { width: 1fr; height: auto; padding: 0 0 0 1; }
    TemplatePicker .template-col > RadioSet { width: 100%; }
    TemplatePicker #template-value { width: 100%; }
    TemplatePicker #template-hint { color: $text-muted; height: auto; }
    TemplatePicker #template-error { color: $error; height: auto; }
    """

    def __init__(self, title: str) -> None:
        super().__init__()
        self.title_text = title

    def compose(self) -> ComposeResult:
        with Vertical(id="template-box") as box:
            box.border_title = "Strategy template"
            box.border_subtitle = "Enter build · Esc cancel"
            yield Static(Text(self.title_text, style="bold"), id="template-title")
            with Horizontal(id="template-row"):
                yield OptionList(
                    *(Option(kind.value, id=kind.name) for kind in TEMPLATE_KINDS),
                    id="template-kind",
                )
                with Vertical(classes="template-col"):
                    yield Label("Side")
                    with RadioSet(id="template-side"):
                        yield RadioButton("Puts", value=True, id="side-put")
                        yield RadioButton("Calls", id="side-call")
                with Vertical(classes="template-col"):
                    yield Label("Direction")
                    with RadioSet(id="template-direction"):
                        yield RadioButton("Usual", value=True, id="dir-usual")
                        yield RadioButton("Credit (sell)", id="dir-credit")
                        yield RadioButton("Debit (buy)", id="dir-debit")
                with Vertical(classes="template-col"):
                    yield Label("Strikes by")
                    with RadioSet(id="template-by"):
                        yield RadioButton("Width", value=True, id="by-width")
                        yield RadioButton("Delta", id="by-delta")
                    yield Input(placeholder="width, e.g. 5", id="template-value")
            yield Static(id="template-hint")
            yield Static(id="template-error")

    def on_mount(self) -> None:
        kinds = self.query_one("#template-kind", OptionList)
        kinds.highlighted = 0
        kinds.focus()
        self._update_hint()

    # ------------------------------------------------------------------ state

    @property
    def kind(self) -> StrategyKind:
        kinds = self.query_one("#template-kind", OptionList)
        index = kinds.highlighted or 0
        return TEMPLATE_KINDS[index]

    def _by_delta(self) -> bool:
        return self.query_one("#by-delta", RadioButton).value

    @on(OptionList.OptionHighlighted, "#template-kind")
    @on(RadioSet.Changed, "#template-by")
    def _update_hint(self) -> None:
        kind = self.kind
        self.query_one("#template-hint", Static).update(Text(_HINTS[kind]))
        self.query_one("#template-side", RadioSet).disabled = kind not in SIDED
        value = self.query_one("#template-value", Input)
        value.placeholder = "delta, e.g. 0.16" if self._by_delta() else "width, e.g. 5"
        self.query_one("#template-error", Static).update("")

    @on(OptionList.OptionSelected, "#template-kind")
    def _selected(self) -> None:
        self.action_build()

    def choice(self) -> TemplateChoice:
        """The validated choice; raises ValueError with a message saying what to change."""
        kind = self.kind
        option_type = None
        if kind in SIDED:
            calls = self.query_one("#side-call", RadioButton).value
            option_type = OptionType.CALL if calls else OptionType.PUT
        direction: Direction | None = None
        if self.query_one("#dir-credit", RadioButton).value:
            direction = "credit"
        elif self.query_one("#dir-debit", RadioButton).value:
            direction = "debit"
        text = self.query_one("#template-value", Input).value
        width: Decimal | None = None
        delta: float | None = None
        if self._by_delta():
            if kind not in BY_DELTA:
                raise ValueError(
                    f"a {kind.value.lower()} is always at the money: pick strikes by width"
                )
            delta = parse_delta(text)
        else:
            width = parse_width(text)
            if width is not None and kind not in WINGED:
                raise ValueError(
                    f"a {kind.value.lower()} has no wings: clear the width to build it"
                )
        return TemplateChoice(kind, option_type, direction, width, delta)

    # ------------------------------------------------------------------ actions

    def action_build(self) -> None:
        try:
            choice = self.choice()
        except ValueError as exc:
            self.query_one("#template-error", Static).update(Text(str(exc)))
            return
        self.dismiss(choice)

    def action_cancel(self) -> None:
        self.dismiss(None)
