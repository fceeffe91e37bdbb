"""The review step: the only place an order is sent.

The screen shows what the service's review found — the priced order, the dry-run's buying-power
effect and fees, the broker's warnings and errors, max profit / max loss / breakevens, the risk
guard's verdict and the P&L-at-expiration curve — and sends only on the explicit confirm key
(``order.confirm``, a priority binding).  One review sends at most once: the key is disabled
while sending, and after any attempt it only repeats the outcome.  A refused review never
reaches the service's ``send``.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import date
from decimal import Decimal
from typing import ClassVar

from rich.style import Style
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from tastytui.domain.clock import NEW_YORK
from tastytui.domain.orders import InstrumentType, Leg, OrderType
from tastytui.domain.ticket import Ticket
from tastytui.services.errors import AmbiguousOrder, ServiceError
from tastytui.services.fills import price_text
from tastytui.services.orders import OrderNotPlaced, Review, SentOrder
from tastytui.ui import format as fmt
from tastytui.ui import keymap
from tastytui.ui.widgets.builder import contract_label
from tastytui.ui.widgets.footer import KeyFooter
from tastytui.ui.widgets.payoff_chart import PayoffChart

log = logging.getLogger(__name__)

SendFn = Callable[[Review, Ticket], Awaitable[SentOrder]]
#: Seconds a send may take before the footer shows the confirm key disabled.
_SLOW_SEND = 0.25


def leg_line(leg: Leg) -> str:
    unit = "" if leg.instrument_type is InstrumentType.EQUITY_OPTION else " sh"
    return f"{leg.action.value:<13} {leg.quantity:>4}{unit}  {contract_label(leg.symbol)}"


def _when(day: date | None) -> str:
    return "" if day is None else f" until {day:%d %b %Y}"


class ReviewScreen(ModalScreen[SentOrder | None]):
    """Dismissed with the :class:`SentOrder` after a successful send, else ``None``."""

    BINDINGS: ClassVar[list[BindingType]] = list(keymap.bindings("review"))
    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "review--buy",
        "review--sell",
        "review--dim",
        "review--strong",
        "review--warn",
        "review--bad",
        "review--good",
        "review--live",
    }
    DEFAULT_CSS = """
    ReviewScreen > .review--buy { color: $price-up; }
    ReviewScreen > .review--sell { color: $price-down; }
    ReviewScreen > .review--dim { color: $muted; }
    ReviewScreen > .review--strong { text-style: bold; }
    ReviewScreen > .review--warn { color: $warning; text-style: bold; }
    ReviewScreen > .review--bad { color: $error; text-style: bold; }
    ReviewScreen > .review--good { color: $success; text-style: bold; }
    ReviewScreen > .review--live { background: $badge-live; color: $foreground; text-style: bold; }
    ReviewScreen { align: center middle; }
    ReviewScreen > #review-box {
        width: 104; max-width: 98%; height: auto; max-height: 95%;
        border: thick $primary; background: $surface; padding: 0 1;
    }
    ReviewScreen.-refused > #review-box { border: thick $error; }
    ReviewScreen.-live > #review-box { border: thick $error; }
    ReviewScreen #review-body { height: auto; max-height: 24; }
    ReviewScreen #review-summary { height: auto; }
    ReviewScreen #review-chart { height: 9; margin-top: 1; }
    ReviewScreen #review-status { height: auto; margin-top: 1; text-style: bold; }
    ReviewScreen #review-status.-error { color: $error; }
    ReviewScreen #review-status.-ok { color: $success; }
    ReviewScreen #review-status.-busy { color: $warning; }
    """

    def __init__(
        self,
        review: Review,
        *,
        current_ticket: Callable[[Review], Ticket],
        send: SendFn,
        spot: Decimal | None = None,
        profile: str = "sim",
    ) -> None:
        super().__init__()
        self.review = review
        self.current_ticket = current_ticket
        self._send = send
        self.spot = spot
        self.profile = profile
        self.sending = False
        #: Set after a send attempt or a refusal: the confirm key then only repeats it.
        self.final_message: str | None = None
        self.ticket_changed_after_review = False
        self.status_text = ""

    # ------------------------------------------------------------------ layout

    def compose(self) -> ComposeResult:
        with Vertical(id="review-box") as box:
            box.border_title = "Review order"
            box.border_subtitle = self._keys_hint()
            with VerticalScroll(id="review-body"):
                yield Static(id="review-summary")
                if self.review.payoff is not None:
                    yield PayoffChart(self.review.payoff, self.spot, id="review-chart")
            yield Static(id="review-status")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.query_one("#review-summary", Static).update(self.summary_text())
        self.set_class(not self.review.sendable, "-refused")
        self.set_class(self.profile == "live", "-live")
        if self.ticket_changed_after_review and self.review.sendable:
            self._set_status(self._changed_text(), "error")
        elif self.review.sendable:
            self._set_status(f"Ready. {self._keys_hint()}.", "ok")
        else:
            self._set_status(self._refusal_text(), "error")

    def _key(self, action_id: str) -> str:
        config = getattr(self.app, "config", None)
        remaps = config.ui.keys if config is not None else {}
        return keymap.key_for(action_id, remaps)

    def _keys_hint(self) -> str:
        return (
            f"{self._key('order.confirm')} sends this order · {self._key('order.back')} goes back"
        )

    def _style(self, name: str) -> Style:
        return self.get_component_rich_style(f"review--{name}", partial=True)

    def summary_text(self) -> Text:
        """Everything the trader must see before sending, as inert text with theme styles."""
        review = self.review
        ticket = review.ticket
        dim, strong = self._style("dim"), self._style("strong")
        out = Text(no_wrap=False)
        live = self.profile == "live"
        out.append(f" {self.profile.upper()} ", self._style("live") if live else strong)
        if live:
            out.append(" real money", self._style("bad"))
        out.append(f"  account {review.account}\n", dim)
        head = fmt.clean(review.description)
        if review.replaces is not None:
            head = f"Replace #{review.replaces}: {head}"
        out.append(head + "\n", strong)
        for leg in ticket.legs:
            out.append("  ")
            out.append(
                fmt.clean(leg_line(leg)), self._style("buy" if leg.action.is_buy else "sell")
            )
            out.append("\n")
        out.append("Price  ", dim)
        if ticket.order_type is OrderType.MARKET:
            out.append("Market order", strong)
        else:
            out.append(f"{ticket.order_type.value} {price_text(ticket.price)}", strong)
            out.append(f" ({review.price_mode.value})", dim)
        out.append(f" · {ticket.time_in_force.value}{_when(ticket.gtd_date)}")
        if review.natural is not None and review.mid is not None:
            out.append(
                f"    natural {price_text(review.natural)} · mid {price_text(review.mid)}", dim
            )
        out.append("\nBuying power  ", dim)
        out.append(_money(review.bp_change), strong)
        if review.new_buying_power is not None:
            out.append("  → new ", dim)
            out.append(_money(review.new_buying_power))
        out.append("    Fees  ", dim)
        out.append(_money(review.fees))
        out.append("\n")
        payoff = review.payoff
        if payoff is None:
            out.append("Max profit / max loss could not be computed\n", dim)
        else:
            out.append("Max profit  ", dim)
            out.append("unlimited" if payoff.max_profit is None else _money(payoff.max_profit))
            out.append("    Max loss  ", dim)
            if payoff.max_loss is None:
                out.append("unlimited", self._style("bad"))
            else:
                out.append(_money(payoff.max_loss), strong)
            out.append("    Breakeven  ", dim)
            out.append(", ".join(f"{b:.2f}" for b in payoff.breakevens) or "none")
            out.append("\n")
        for warning in review.warnings:
            out.append("Warning: ", self._style("warn"))
            out.append(fmt.inert(warning))
            out.append("\n")
        for error in review.errors:
            out.append("tastytrade error: ", self._style("bad"))
            out.append(fmt.inert(error))
            out.append("\n")
        out.append("Risk  ", dim)
        if review.verdict.allowed:
            out.append("✓ within your risk limits", self._style("good"))
        else:
            out.append("✗ refused by risk limit ", self._style("bad"))
            out.append(fmt.clean(review.verdict.message), self._style("bad"))
        created = review.created_at.astimezone(NEW_YORK)
        out.append(f"\nReviewed at {created:%H:%M:%S} ET", dim)
        return out

    # ------------------------------------------------------------------ state

    def _refusal_text(self) -> str:
        reasons = "; ".join(self.review.problems) or "the review does not allow it"
        return f"Cannot be sent — {fmt.clean(reasons)}. Change the ticket and review it again."

    def _set_status(self, text: str, level: str) -> None:
        self.status_text = text
        status = self.query_one("#review-status", Static)
        status.update(fmt.inert(text))
        for name in ("error", "ok", "busy"):
            status.set_class(name == level, f"-{name}")

    def ticket_changed(self) -> None:
        """The builder's ticket changed while this review is open: it can no longer be sent."""
        self.ticket_changed_after_review = True
        if not self.is_mounted:
            return  # on_mount shows it
        if not self.sending and self.final_message is None and self.review.sendable:
            self._set_status(self._changed_text(), "error")

    def _changed_text(self) -> str:
        return (
            "The ticket changed after this review: go back and review it again "
            f"({self._key('order.back')}, then {self._key('builder.review')})."
        )

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "confirm" and self.sending:
            return None  # shown disabled: no second send while the first is in flight
        return True

    # ------------------------------------------------------------------ actions

    def action_confirm(self) -> None:
        if self.sending:
            return
        if self.final_message is not None:
            self.app.bell()
            self._set_status(self.final_message, "error")
            return
        if not self.review.sendable:
            self.app.bell()
            self._set_status(self._refusal_text(), "error")
            return
        ticket = self.current_ticket(self.review)
        self.sending = True  # before any await: a second press finds it set
        # The footer shows the confirm key disabled only if the answer is slow: recomposing it
        # at once competed with the POST, and this screen's removal waits for that recompose
        # (benchmarks/round_trip.py).  ``check_action`` refuses a second press either way.
        self.set_timer(_SLOW_SEND, self._show_sending_keys)
        self._set_status("Sending… waiting for tastytrade's answer (do not close).", "busy")
        self.run_worker(self._send_once(ticket), group="review-send", exit_on_error=False)

    def _show_sending_keys(self) -> None:
        if self.sending:
            self.refresh_bindings()

    async def _send_once(self, ticket: Ticket) -> None:
        try:
            sent = await self._send(self.review, ticket)
        except AmbiguousOrder as exc:
            # The answer was lost: the service looked the order up and says what it found.
            headline = "" if isinstance(exc, OrderNotPlaced) else "Outcome unknown — "
            self._finish_failed(f"{headline}{exc}")
            return
        except ServiceError as exc:
            self._finish_failed(f"Not sent — {exc}")
            return
        except Exception as exc:  # a bug must not look like "sent"; the journal has the intent
            log.exception("send failed")
            self._finish_failed(f"Not confirmed — {type(exc).__name__}: {exc}")
            return
        self.sending = False
        self.dismiss(sent)

    def _finish_failed(self, reason: str) -> None:
        self.sending = False
        self.refresh_bindings()
        text = fmt.clean(reason).rstrip()
        if not text.endswith((".", "!", "?")):
            text += "."
        self.final_message = (
            f"{text} Nothing is sent again automatically: go back "
            f"({self._key('order.back')}) and review the ticket again to retry."
        )
        self._set_status(self.final_message, "error")

    def action_back(self) -> None:
        if self.sending:
            # Closing now would cancel the send mid-flight; its answer is seconds away.
            self._set_status("Sending… wait for tastytrade's answer before going back.", "busy")
            return
        self.dismiss(None)


def _money(value: Decimal | None) -> str:
    return fmt.money(None if value is None else float(value))
