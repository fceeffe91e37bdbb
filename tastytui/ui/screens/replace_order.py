"""The new-price dialog for replacing a working order: validated on the tick grid before review.

The user types the price as a positive number; the order keeps its side (a debit stays a debit,
a credit a credit).  Nothing is sent from here: the result goes to the order service's replace,
which reviews it again, and the review is confirmed on its own screen.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from tastytui.domain.ticks import Rounding, TickSchedule
from tastytui.services.fills import price_text
from tastytui.ui import format as fmt
from tastytui.ui import keymap


class PriceError(ValueError):
    """A price the order cannot take; the message says how to fix it."""


def _plain(value: Decimal) -> str:
    return f"{value:.2f}" if value == value.quantize(Decimal("0.01")) else format(value, "f")


def parse_new_price(
    text: str, current: Decimal | None, schedule: TickSchedule | None, *, multi_leg: bool
) -> Decimal:
    """The signed new price from what the user typed (a magnitude), or :class:`PriceError`."""
    raw = text.strip().replace("$", "").replace(",", "")
    if not raw:
        raise PriceError("enter a price, e.g. 1.25")
    try:
        magnitude = Decimal(raw)
    except InvalidOperation:
        raise PriceError(f"{text.strip()!r} is not a number: enter a price such as 1.25") from None
    if not magnitude.is_finite():
        raise PriceError(f"{text.strip()!r} is not a usable price: enter a price such as 1.25")
    side = "credit" if current is not None and current > 0 else "debit"
    if magnitude < 0:
        raise PriceError(
            f"enter the price without a sign: this order stays a {side} "
            "(to change sides, cancel it and build a new order)"
        )
    if magnitude == 0 and not multi_leg:
        raise PriceError("a single-leg order cannot be priced at 0: enter at least one tick")
    signed = magnitude if side == "credit" else -magnitude
    if schedule is not None and not schedule.is_on_grid(signed):
        below = abs(schedule.round(signed, Rounding.DOWN))
        above = abs(schedule.round(signed, Rounding.UP))
        low, high = sorted((below, above))
        increment = schedule.increment_at(signed)
        raise PriceError(
            f"{_plain(magnitude)} is not on the {_plain(increment)} tick grid: "
            f"use {_plain(low)} or {_plain(high)}"
        )
    if current is not None and signed == current:
        raise PriceError(f"{_plain(magnitude)} is the current price: enter a different price")
    return signed


class NewPriceScreen(ModalScreen[Decimal | None]):
    """Ask for a new limit price; dismisses with the signed price, or None when cancelled."""

    BINDINGS: ClassVar[list[BindingType]] = [*keymap.bindings("price")]
    DEFAULT_CSS = """
    NewPriceScreen { align: center middle; }
    NewPriceScreen > Vertical {
        width: 64; max-width: 95%; height: auto; border: round $primary;
        background: $surface; padding: 0 1;
    }
    NewPriceScreen #price-error { color: $error; height: auto; }
    NewPriceScreen #price-hint { color: $text-muted; }
    """

    def __init__(
        self,
        order_id: int,
        description: str,
        current: Decimal | None,
        schedule: TickSchedule | None,
        *,
        multi_leg: bool,
        key_hint: str = "",
    ) -> None:
        super().__init__()
        self.order_id = order_id
        self.description = description
        self.current = current
        self.schedule = schedule
        self.multi_leg = multi_leg
        self.key_hint = key_hint

    def compose(self) -> ComposeResult:
        side = "credit" if self.current is not None and self.current > 0 else "debit"
        grid = ""
        if self.schedule is not None and self.current is not None:
            grid = f" on the {_plain(self.schedule.increment_at(self.current))} tick grid"
        with Vertical() as box:
            box.border_title = f"Replace order #{self.order_id} at a new price"
            yield Static(fmt.inert(self.description, max_length=120), id="price-order")
            yield Static(Text(f"Current price: {price_text(self.current)}"), id="price-current")
            start = _plain(abs(self.current)) if self.current is not None else ""
            yield Input(value=start, placeholder="new price, e.g. 1.25", id="price-input")
            yield Static(
                Text(
                    f"New {side} price{grid}. Enter reviews it; "
                    f"{self.key_hint or 'Esc'} cancels. Nothing is sent yet."
                ),
                id="price-hint",
            )
            yield Static("", id="price-error")

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_submit()

    def on_input_changed(self, event: Input.Changed) -> None:
        self.query_one("#price-error", Static).update("")

    def action_submit(self) -> None:
        text = self.query_one(Input).value
        try:
            price = parse_new_price(text, self.current, self.schedule, multi_leg=self.multi_leg)
        except PriceError as exc:
            self.query_one("#price-error", Static).update(Text(fmt.clean(str(exc))))
            return
        self.dismiss(price)

    def action_cancel(self) -> None:
        self.dismiss(None)
