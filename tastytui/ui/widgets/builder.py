"""The order builder: legs, size, price mode, time in force — and the way into the review step.

The builder never sends anything.  ``ctrl+o`` asks the order service for a review (validation,
pricing, the broker's dry-run, payoff and the risk guard) and opens the review screen, where the
explicit confirm key is the only way an order leaves.  Live leg prices and the ticket's natural
and mid are pulled from the QuoteStore at the app's flush rate, only when a leg's symbol changed.

The heavy service modules (the SDK) are imported lazily: this module is imported before the
first frame is painted.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import replace
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any, ClassVar

from rich.console import Group
from rich.style import Style
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.widget import Widget
from textual.widgets import Input, Static

from tastytui.domain import strategies
from tastytui.domain.orders import InstrumentType, Leg, OrderAction, OrderType, TimeInForce
from tastytui.domain.symbols import SymbolError, format_strike, is_option_symbol, parse_option
from tastytui.domain.ticket import (
    WEEKLY_ROOTS,
    LegQuote,
    PriceMode,
    Ticket,
    TicketError,
    auto_price,
    mid_price,
    natural_price,
)
from tastytui.domain.ticks import Rounding, TickSchedule
from tastytui.services.errors import ServiceError
from tastytui.ui import format as fmt
from tastytui.ui import keymap
from tastytui.ui.widgets.pane import Pane

if TYPE_CHECKING:
    from tastytui.services.orders import Review, SentOrder
    from tastytui.ui.screens.review import ReviewScreen

log = logging.getLogger(__name__)

MAX_LEGS = 4
_TIF_CYCLE = (TimeInForce.DAY, TimeInForce.GTC, TimeInForce.GTD, TimeInForce.IOC)
_MODE_CYCLE = (PriceMode.NATURAL, PriceMode.MID, PriceMode.CUSTOM)
#: TicketError fields that point at the legs (the cursor moves to the leg named).
_LEG_FIELDS = frozenset({"legs", "symbol", "strike", "expiration", "action"})

EMPTY_HELP = (
    "No legs yet. Add them from the option chain with b (buy) or s (sell) on a contract, "
    "pick a strategy template with t in the chain, or close/roll a position (x / r in "
    "positions). Then ctrl+o reviews the order."
)


def contract_label(symbol: str) -> str:
    """'SPY 18 Dec 26 660 P' for an option (OCC or streamer form); a ticker as it is."""
    try:
        option = parse_option(symbol)
    except SymbolError:
        return symbol.strip()
    kind = "C" if option.is_call else "P"
    return f"{option.root} {option.expiration:%d %b %y} {format_strike(option.strike)} {kind}"


def short_price(price: Decimal | None) -> str:
    """'1.47 cr', '2.10 db', '0.00' — the builder's compact net price."""
    if price is None:
        return "—"
    if price == 0:
        return "0.00"
    magnitude = abs(price)
    # Never round for display: an off-grid custom price must look off-grid.
    text = f"{magnitude:.2f}" if magnitude == round(magnitude, 2) else f"{magnitude.normalize():f}"
    return f"{text} {'cr' if price > 0 else 'db'}"


def strategy_label(ticket: Ticket) -> str:
    """'1× SPY Dec 18 Short put vertical 680/676 (bull, credit)' from the legs alone."""
    if not ticket.legs:
        return ""
    legs: list[strategies.StrategyLeg] = []
    expirations: set[date] = set()
    try:
        for leg in ticket.legs:
            option = None
            if leg.instrument_type is InstrumentType.EQUITY_OPTION:
                option = parse_option(leg.symbol)
                expirations.add(option.expiration)
            legs.append((option, leg.signed_quantity))
        underlying = ticket.underlying(WEEKLY_ROOTS)
    except (SymbolError, TicketError) as exc:
        return str(exc)
    label = strategies.describe(legs)
    when = f" {next(iter(expirations)):%b %d}" if len(expirations) == 1 else ""
    if not expirations:
        return f"{underlying} {label}"
    return f"{ticket.quantity}× {underlying}{when} {label}"


def _same_contract(a: str, b: str) -> bool:
    if is_option_symbol(a) and is_option_symbol(b):
        return parse_option(a) == parse_option(b)
    return a.strip().upper() == b.strip().upper()


def _flip(action: OrderAction) -> OrderAction:
    return OrderAction.for_change(not action.is_buy, action.is_opening)


def parse_price(text: str, direction: int) -> Decimal:
    """A typed price: '1.25', '1.25 cr', '1.25 db', '-1.25' (debit), '+1.25' (credit).

    ``direction`` (+1 credit, -1 debit, 0 unknown) applies when the text does not say.
    Raises ValueError with a message saying how to type it.
    """
    raw = text.strip().lower()
    sign = 0
    for suffix, value in (("credit", 1), ("debit", -1), ("cr", 1), ("db", -1), ("dr", -1)):
        if raw.endswith(suffix):
            raw, sign = raw[: -len(suffix)].strip(), value
            break
    if raw.startswith(("+", "-")):
        sign = sign or (1 if raw[0] == "+" else -1)
        raw = raw[1:].strip()
    try:
        amount = Decimal(raw)
    except InvalidOperation:
        raise ValueError(
            f"{text.strip()!r} is not a price: type a number such as 1.25, optionally with cr or db"
        ) from None
    if not amount.is_finite() or amount < 0:
        raise ValueError(f"{text.strip()!r} is not a price: type a positive number such as 1.25")
    sign = sign or direction
    if sign == 0:
        raise ValueError(
            f"is {amount} a credit or a debit? Type it as '{amount} cr' or '{amount} db'"
        )
    return amount * sign


class TicketView(Widget, can_focus=True):
    """The ticket as a few lines of text; repainted when the ticket or a leg's quote changes."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "ticket-view--buy",
        "ticket-view--sell",
        "ticket-view--cursor",
        "ticket-view--dim",
        "ticket-view--stale",
        "ticket-view--error",
        "ticket-view--busy",
        "ticket-view--ok",
        "ticket-view--note",
        "ticket-view--strong",
        "ticket-view--mark",
    }
    DEFAULT_CSS = """
    TicketView { height: 1fr; }
    TicketView > .ticket-view--buy { color: $price-up; }
    TicketView > .ticket-view--sell { color: $price-down; }
    TicketView > .ticket-view--cursor { background: $boost; text-style: bold; }
    TicketView > .ticket-view--dim { color: $muted; }
    TicketView > .ticket-view--stale { color: $stale; }
    TicketView > .ticket-view--error { color: $error; text-style: bold; }
    TicketView > .ticket-view--busy { color: $warning; }
    TicketView > .ticket-view--ok { color: $success; }
    TicketView > .ticket-view--note { color: $accent; text-style: italic; }
    TicketView > .ticket-view--strong { text-style: bold; }
    TicketView > .ticket-view--mark { color: $error; text-style: bold reverse; }
    """

    def __init__(self, builder: BuilderPane, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.builder = builder

    def style(self, name: str) -> Style:
        return self.get_component_rich_style(f"ticket-view--{name}", partial=True)

    def render(self) -> Group:
        return Group(*self.builder.render_ticket(self))


class PromptInput(Input):
    """A one-line entry for a typed price or a GTD date (Escape, ``builder.cancel_entry``,
    gives up)."""

    DEFAULT_CSS = """
    PromptInput { display: none; height: 3; }
    PromptInput.-open { display: block; }
    """


class BuilderPane(Pane):
    """Composes a :class:`Ticket` and hands it to the review step."""

    BINDINGS: ClassVar[list[BindingType]] = list(keymap.bindings("builder"))
    DEFAULT_CSS = """
    BuilderPane #builder-status { height: auto; max-height: 4; }
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.ticket = Ticket(legs=())
        self.price_mode = PriceMode.MID
        self.note = ""
        #: Who composed the ticket, for the journal: "keys", or "chat" for a staged one.
        self.source = "keys"
        self.cursor = 0
        self.message = ""
        #: "info", "error", "busy" or "ok": how the status line is drawn.
        self.message_level = "info"
        #: The TicketError field the last review complained about (marked on screen).
        self.error_field: str | None = None
        self.schedule: TickSchedule | None = None
        self._schedule_for: str | None = None
        self.reviewing = False
        self.review_screen: ReviewScreen | None = None
        #: Order ids this builder sent, to report their fate on the status line.
        self.sent_ids: set[int] = set()
        self._watched: set[str] = set()
        self._keys: set[str] = set()
        self._prompt: str | None = None

    # ------------------------------------------------------------------ layout

    def compose(self) -> ComposeResult:
        self.border_title = "Order builder"
        yield TicketView(self, id="builder-ticket")
        yield PromptInput(id="builder-prompt")
        yield Static(id="builder-status")

    @property
    def view(self) -> TicketView:
        return self.query_one(TicketView)

    def on_mount(self) -> None:
        self.set_interval(1.0, self._tick_ages)

    def on_unmount(self) -> None:
        services = self.services
        if services is not None:
            services.dxlink.release(self)

    # ------------------------------------------------------------------ app hooks

    def services_ready(self) -> None:
        self._watch_symbols()
        self._load_schedule()
        self._refresh()

    def refresh_quotes(self, dirty: set[str]) -> None:
        if self.ticket.legs and not self._keys.isdisjoint(dirty):
            self.view.refresh()

    def service_event(self, event: object) -> None:
        from tastytui.services.events import OrderEvent

        if (
            isinstance(event, OrderEvent)
            and event.order_id in self.sent_ids
            and (event.status in _REPORTED or event.is_fill)
        ):
            text = f"Order #{event.order_id} {event.status}"
            if event.reject_reason:
                text += f": {fmt.clean(event.reject_reason)}"
            level = (
                "error"
                if event.status in ("Rejected", "Cancelled", "Expired", "Removed")
                else ("ok" if event.status == "Filled" else "info")
            )
            self._say(text, level)

    def _tick_ages(self) -> None:
        # Stale legs show their age; repaint once a second while any leg is stale.
        if self.ticket.legs and any(self._is_stale(leg.symbol) for leg in self.ticket.legs):
            self.view.refresh()

    # ------------------------------------------------------------------ public API

    def add_leg(self, leg: Leg) -> None:
        """Add a leg to the ticket; the same contract on the same side adds to its quantity."""
        self.source = "keys"  # the trader reshaped it: it is theirs now
        legs = list(self.ticket.legs)
        for i, existing in enumerate(legs):
            if not _same_contract(existing.symbol, leg.symbol):
                continue
            if existing.action.is_buy == leg.action.is_buy:
                legs[i] = replace(existing, quantity=existing.quantity + leg.quantity)
                self.cursor = i
                # More of one leg of a spread changes its ratios: a custom price no longer fits.
                self._set_ticket(replace(self.ticket, legs=tuple(legs)), structural=len(legs) > 1)
                self._say(f"{contract_label(leg.symbol)}: quantity now {legs[i].quantity}", "info")
                return
            side = "buying" if existing.action.is_buy else "selling"
            self._say(
                f"The ticket is already {side} {contract_label(leg.symbol)}: flip it with f, "
                "or remove it with delete — a contract can be in only one leg",
                "error",
            )
            return
        if len(legs) >= MAX_LEGS:
            self._say(
                f"A ticket holds at most {MAX_LEGS} legs: remove one (delete) or send this "
                "order first",
                "error",
            )
            return
        candidate = replace(self.ticket, legs=(*legs, self._opening_or_closing(leg)))
        try:
            candidate.underlying(WEEKLY_ROOTS)
        except TicketError:
            current = self._underlying() or "another underlying"
            self._say(
                f"The ticket is for {current}: {contract_label(leg.symbol)} is on another "
                "underlying. Send or clear (ctrl+l) this ticket first.",
                "error",
            )
            return
        except SymbolError as exc:
            self._say(f"Cannot add {fmt.clean(leg.symbol)}: {exc}", "error")
            return
        self.cursor = len(candidate.legs) - 1
        self._set_ticket(candidate)
        self._say(f"Added {leg_action_text(candidate.legs[-1])}", "info")

    def copy_text(self) -> str | None:
        legs = self.ticket.legs
        return "\n".join(f"{leg.action.value} {leg.quantity} {leg.symbol}" for leg in legs) or None

    def load_ticket(self, ticket: Ticket, note: str = "", source: str = "keys") -> None:
        """Replace the ticket being built (close/roll, chat staging, templates)."""
        self.note = fmt.clean(note, max_length=200)
        self.source = source
        mode = PriceMode.CUSTOM if ticket.price is not None else PriceMode.MID
        self.price_mode = mode
        self.cursor = 0
        self._set_ticket(ticket, structural=False)
        self._say("Ticket loaded: review it with ctrl+o" if ticket.legs else "", "info")

    def ticket_for_send(self, review: Review) -> Ticket:
        """The builder's current ticket as the user would confirm it against ``review``.

        In natural/mid mode the builder holds no price; the reviewed price is what the user saw
        and confirms.  A changed leg, size, type, time in force, custom price or price mode
        makes this differ from the review, and the order service refuses it.
        """
        ticket = self.ticket
        if self.price_mode is not review.price_mode:
            return ticket
        if ticket.order_type is OrderType.LIMIT and self.price_mode is not PriceMode.CUSTOM:
            return ticket.with_price(review.ticket.price)
        return ticket

    # ------------------------------------------------------------------ actions

    def action_cursor(self, step: int) -> None:
        if self.ticket.legs:
            self.cursor = max(0, min(len(self.ticket.legs) - 1, self.cursor + step))
            self.view.refresh()

    def action_price_mode(self) -> None:
        if self.ticket.order_type is OrderType.MARKET:
            self._say("A market order has no price: press m for a limit order", "error")
            return
        following = _MODE_CYCLE[(_MODE_CYCLE.index(self.price_mode) + 1) % len(_MODE_CYCLE)]
        if following is PriceMode.CUSTOM:
            start = self.limit_price()
            if start is None:
                self._say("No live price to start a custom price from: type one with e", "info")
                self.price_mode = PriceMode.CUSTOM
                self._set_ticket(self.ticket.with_price(None), structural=False)
                self.open_prompt("price")
                return
            self.price_mode = PriceMode.CUSTOM
            self._set_ticket(self.ticket.with_price(start), structural=False)
        else:
            self.price_mode = following
            self._set_ticket(self.ticket.with_price(None), structural=False)
        self._say(f"Price mode: {self.price_mode.value}", "info")

    def action_nudge(self, ticks: int) -> None:
        if not self.ticket.legs:
            self._say("No legs to price yet.", "error")
            return
        if self.ticket.order_type is OrderType.MARKET:
            self._say("A market order has no price: press m for a limit order", "error")
            return
        if self.schedule is None:
            self._say("Tick sizes are still loading: try again in a moment", "busy")
            self._load_schedule()
            return
        base = self.limit_price()
        if base is None:
            self._say(
                "No live price to nudge from: wait for quotes or type a price with e", "error"
            )
            return
        price = self.schedule.nudge(self.schedule.round(base, Rounding.NEAREST), ticks)
        self.price_mode = PriceMode.CUSTOM
        self._set_ticket(self.ticket.with_price(price), structural=False)
        self._say(f"Custom price {short_price(price)}", "info")

    def action_quantity(self, step: int) -> None:
        if not self.ticket.legs:
            self._say("No legs yet: add legs before setting the quantity.", "error")
            return
        size = self.ticket.quantity + step
        if size < 1:
            self._say(
                "The quantity is already 1: delete removes a leg, ctrl+l clears the ticket",
                "error",
            )
            return
        try:
            ticket = self.ticket.with_quantity(size)
        except TicketError as exc:
            self._say(str(exc), "error", field=exc.field)
            return
        self._set_ticket(ticket, structural=False)
        self._say(f"Quantity {size}", "info")

    def action_cycle_tif(self) -> None:
        current = self.ticket.time_in_force
        index = _TIF_CYCLE.index(current) if current in _TIF_CYCLE else -1
        following = _TIF_CYCLE[(index + 1) % len(_TIF_CYCLE)]
        self._set_ticket(
            replace(self.ticket, time_in_force=following, gtd_date=None), structural=False
        )
        if following is TimeInForce.GTD:
            self._say(
                "Good-till-date needs a date: type the last day the order may work "
                "(YYYY-MM-DD) and press Enter",
                "info",
            )
            self.open_prompt("date")
        else:
            self._say(f"Time in force: {following.value}", "info")

    def action_gtd_date(self) -> None:
        self.open_prompt("date")

    def action_enter_price(self) -> None:
        if not self.ticket.legs:
            self._say("No legs to price yet.", "error")
            return
        if self.ticket.order_type is OrderType.MARKET:
            self._say("A market order has no price: press m for a limit order", "error")
            return
        self.open_prompt("price")

    def action_order_type(self) -> None:
        if self.ticket.order_type is OrderType.LIMIT:
            self._set_ticket(
                replace(self.ticket, order_type=OrderType.MARKET, price=None), structural=False
            )
            self._say("Market order: fills at whatever the market pays", "info")
        else:
            self.price_mode = PriceMode.MID
            self._set_ticket(
                replace(self.ticket, order_type=OrderType.LIMIT, price=None), structural=False
            )
            self._say("Limit order at the mid", "info")

    def action_remove_leg(self) -> None:
        if not self.ticket.legs:
            self._say("No legs to remove.", "info")
            return
        legs = list(self.ticket.legs)
        removed = legs.pop(self.cursor)
        self.cursor = max(0, min(self.cursor, len(legs) - 1))
        self._set_ticket(replace(self.ticket, legs=tuple(legs)))
        self._say(f"Removed {contract_label(removed.symbol)}", "info")

    def action_flip_leg(self) -> None:
        if not self.ticket.legs:
            self._say("No legs to flip.", "info")
            return
        legs = list(self.ticket.legs)
        leg = legs[self.cursor]
        legs[self.cursor] = replace(leg, action=_flip(leg.action))
        self._set_ticket(replace(self.ticket, legs=tuple(legs)))
        self._say(f"{leg_action_text(legs[self.cursor])}", "info")

    def action_clear_ticket(self) -> None:
        self.note = ""
        self.source = "keys"
        self.price_mode = PriceMode.MID
        self.cursor = 0
        self._set_ticket(Ticket(legs=()), structural=False)
        self._say("Ticket cleared.", "info")

    def action_review(self) -> None:
        """Review the current ticket (a worker) and open the review step."""
        if self.reviewing:
            self._say("Reviewing… (already asked)", "busy")
            return
        if self.review_screen is not None and self.review_screen.sending:
            self._say("An order is being sent: review again when it has an answer", "busy")
            return
        services = self.services
        if services is None:
            self._say("Not connected yet: the review needs tastytrade's preview", "error")
            return
        if not self.ticket.legs:
            self._say(EMPTY_HELP, "error", field="legs")
            return
        self.reviewing = True
        self._say("Reviewing… (validating, pricing and previewing at tastytrade)", "busy")
        self._review(self.ticket, self.price_mode, services.accounts.current)

    # ------------------------------------------------------------------ review

    @work(exclusive=True, group="builder-review", exit_on_error=False)
    async def _review(self, ticket: Ticket, mode: PriceMode, account: str) -> None:
        services = self.services
        try:
            if services is None:
                raise ServiceError("not connected")
            review = await services.orders.review(
                ticket, account, price_mode=mode, source=self.source
            )
        except TicketError as exc:
            self._say(str(exc), "error", field=exc.field)
            if not isinstance(self.app.focused, Input):  # never steal focus from typing
                self.view.focus()
            return
        except ServiceError as exc:
            self._say(f"Review failed: {exc}", "error")
            return
        except Exception as exc:  # the console stays up; the message says what broke
            log.exception("review failed")
            self._say(f"Review failed: {type(exc).__name__}: {exc}", "error")
            return
        finally:
            self.reviewing = False
        if self.ticket != ticket or self.price_mode is not mode:
            self._say("The ticket changed while it was reviewed: press ctrl+o again", "error")
            return
        self._say("Reviewed: confirm in the review window", "info")
        self._open_review(review)

    def _open_review(self, review: Review) -> None:
        from tastytui.ui.screens.review import ReviewScreen

        services = self.services
        assert services is not None
        previous = self.review_screen
        if previous is not None and previous.is_attached:
            previous.dismiss(None)
        orders = services.orders

        async def send(reviewed: Review, ticket: Ticket) -> SentOrder:
            return await orders.send(reviewed, ticket=ticket)

        screen = ReviewScreen(
            review,
            current_ticket=self.ticket_for_send,
            send=send,
            spot=self.underlying_price(review.underlying),
            profile=self.tasty.profile_name,
        )
        self.review_screen = screen

        def closed(result: SentOrder | None) -> None:
            if self.review_screen is screen:
                self.review_screen = None
            if result is not None:
                self._sent(result, review)

        self.app.push_screen(screen, closed)

    def _sent(self, sent: SentOrder, review: Review) -> None:
        # A trader expects the ticket to empty once it is at the broker: pressing the keys
        # again must not send a duplicate.  The order lives on in the live-orders pane.
        self.sent_ids.add(sent.order_id)
        self.note = ""
        self.source = "keys"
        self.price_mode = PriceMode.MID
        self.cursor = 0
        self._set_ticket(Ticket(legs=()), structural=False)
        how = " (confirmed after a lost answer)" if sent.recovered else ""
        self._say(
            f"Sent #{sent.order_id} {fmt.clean(review.description)}{how} — {sent.status}; "
            "ticket cleared",
            "ok",
        )

    # ------------------------------------------------------------------ prompt

    def open_prompt(self, kind: str) -> None:
        prompt = self.query_one(PromptInput)
        self._prompt = kind
        prompt.value = ""
        if kind == "price":
            prompt.placeholder = "price, e.g. 1.25 (cr / db) — Enter sets it, Esc cancels"
        else:
            prompt.placeholder = "GTD date YYYY-MM-DD — Enter sets it, Esc cancels"
        prompt.add_class("-open")
        prompt.focus()

    def action_cancel_entry(self) -> None:
        if self._prompt is not None:
            self.close_prompt("Entry cancelled.")

    def close_prompt(self, message: str = "", level: str = "info") -> None:
        self._prompt = None
        prompt = self.query_one(PromptInput)
        prompt.remove_class("-open")
        self.view.focus()
        if message:
            self._say(message, level)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        kind, text = self._prompt, event.value
        if kind == "price":
            self._apply_price(text)
        elif kind == "date":
            self._apply_date(text)

    def _apply_price(self, text: str) -> None:
        try:
            price = parse_price(text, self._direction())
        except ValueError as exc:
            self._say(str(exc), "error", field="price")
            return
        self.price_mode = PriceMode.CUSTOM
        self._set_ticket(self.ticket.with_price(price), structural=False)
        self.close_prompt(f"Custom price {short_price(price)}")

    def _apply_date(self, text: str) -> None:
        try:
            when = date.fromisoformat(text.strip())
        except ValueError:
            self._say(
                f"{text.strip()!r} is not a date: type it as YYYY-MM-DD, e.g. 2026-12-18",
                "error",
                field="time_in_force",
            )
            return
        today = self._today()
        if today is not None and when < today:
            self._say(
                f"{when} is in the past: type today or a later date", "error", field="time_in_force"
            )
            return
        self._set_ticket(
            replace(self.ticket, time_in_force=TimeInForce.GTD, gtd_date=when), structural=False
        )
        self.close_prompt(f"Good till {when:%d %b %Y}")

    def _direction(self) -> int:
        """+1 when the ticket is a credit, -1 a debit, 0 unknown (for a typed price)."""
        for price in (self.ticket.price, self.limit_price()):
            if price is not None and price != 0:
                return 1 if price > 0 else -1
        if len(self.ticket.legs) == 1:
            return -1 if self.ticket.legs[0].action.is_buy else 1
        return 0

    # ------------------------------------------------------------------ state

    def _set_ticket(self, ticket: Ticket, *, structural: bool = True) -> None:
        """Install a new ticket; ``structural`` changes (legs, sides) drop a custom price."""
        if structural and self.price_mode is PriceMode.CUSTOM and ticket.legs:
            # A custom price belonged to the old legs: start again from the mid.
            self.price_mode = PriceMode.MID
            ticket = ticket.with_price(None)
        if not ticket.legs:
            ticket = replace(ticket, price=None)
        changed = ticket != self.ticket
        self.ticket = ticket
        self.cursor = max(0, min(self.cursor, len(ticket.legs) - 1))
        self.error_field = None
        if self.is_mounted:
            self._watch_symbols()
            self._load_schedule()
        if changed and self.review_screen is not None:
            self.review_screen.ticket_changed()
        self._refresh()

    def _say(self, text: str, level: str = "info", *, field: str | None = None) -> None:
        self.message = text
        self.message_level = level
        self.error_field = field
        if field in _LEG_FIELDS:
            # Put the cursor on the leg the message names, if it names one.
            for i, leg in enumerate(self.ticket.legs):
                if leg.symbol.strip() in text or contract_label(leg.symbol) in text:
                    self.cursor = i
                    break
        self._refresh()

    def _refresh(self) -> None:
        if self.is_mounted:
            self.view.refresh()
            self.query_one("#builder-status", Static).update(self.status_text())
            self.border_subtitle = self._subtitle()

    def _subtitle(self) -> str:
        if not self.ticket.legs:
            return ""
        return f"{len(self.ticket.legs)} leg{'s' if len(self.ticket.legs) > 1 else ''}"

    def _today(self) -> date | None:
        services = self.services
        return services.accounts.today() if services is not None else None

    def _underlying(self) -> str | None:
        try:
            return self.ticket.underlying(WEEKLY_ROOTS) if self.ticket.legs else None
        except (TicketError, SymbolError):
            return None

    def _opening_or_closing(self, leg: Leg) -> Leg:
        """A leg that reduces a held position closes it (Sell to Close a long, …)."""
        services = self.services
        if services is None or not leg.action.is_opening:
            return leg
        held = Decimal(0)
        with contextlib.suppress(Exception):
            for position in services.accounts.held():
                if _same_contract(position.symbol, leg.symbol):
                    held += position.quantity
        if held != 0 and (held > 0) != leg.action.is_buy and leg.quantity <= abs(held):
            return replace(leg, action=OrderAction.for_change(leg.action.is_buy, opening=False))
        return leg

    def _watch_symbols(self) -> None:
        services = self.services
        if services is None:
            return
        wanted = {leg.symbol for leg in self.ticket.legs}
        underlying = self._underlying()
        if underlying is not None:
            wanted.add(underlying)
        dropped, added = self._watched - wanted, wanted - self._watched
        if dropped:
            services.dxlink.unsubscribe(self, ["Quote", "Trade"], dropped)
        if added:
            services.dxlink.subscribe(self, ["Quote", "Trade"], added)
        self._watched = wanted
        self._keys = {services.store.streamer_key(s) for s in wanted}

    def _load_schedule(self) -> None:
        underlying = self._underlying()
        has_option = any(
            leg.instrument_type is InstrumentType.EQUITY_OPTION for leg in self.ticket.legs
        )
        if underlying is None or self.services is None:
            return
        if underlying == self._schedule_for and self.schedule is not None:
            return
        if not has_option:
            from tastytui.domain.ticks import STOCK

            self.schedule, self._schedule_for = STOCK, underlying
            return
        self._fetch_schedule(underlying)

    @work(exclusive=True, group="builder-ticks", exit_on_error=False)
    async def _fetch_schedule(self, underlying: str) -> None:
        services = self.services
        if services is None:
            return
        try:
            schedule = await services.accounts.tick_schedule(underlying)
        except Exception as exc:  # shown; nudging waits for the next try
            self._say(f"Could not load {underlying}'s tick sizes: {exc}", "error")
            return
        self.schedule, self._schedule_for = schedule, underlying
        self._refresh()

    # ------------------------------------------------------------------ live prices

    def _leg_quote(self, symbol: str) -> LegQuote | None:
        services = self.services
        if services is None:
            return None
        quote = services.store.quote(symbol)
        if quote is None or quote.bid is None or quote.ask is None:
            return None
        try:
            return LegQuote(Decimal(repr(round(quote.bid, 4))), Decimal(repr(round(quote.ask, 4))))
        except (InvalidOperation, TypeError, ValueError):
            return None

    def _is_stale(self, symbol: str) -> bool:
        services = self.services
        if services is None:
            return False
        age = services.store.age(symbol)
        return age is None or age > services.config.streaming.stale_after

    def _quotes(self) -> dict[str, LegQuote]:
        out: dict[str, LegQuote] = {}
        for leg in self.ticket.legs:
            quote = self._leg_quote(leg.symbol)
            if quote is not None:
                out[leg.symbol] = quote
        return out

    def live_prices(self) -> tuple[Decimal | None, Decimal | None]:
        """The ticket's natural and mid right now (None without live quotes for every leg)."""
        if not self.ticket.legs:
            return None, None
        quotes = self._quotes()
        try:
            return natural_price(self.ticket, quotes), mid_price(self.ticket, quotes)
        except (TicketError, ArithmeticError):
            return None, None

    def limit_price(self) -> Decimal | None:
        """The limit price the ticket would carry now: custom, or natural/mid on the tick grid."""
        ticket = self.ticket
        if ticket.order_type is OrderType.MARKET or not ticket.legs:
            return None
        if self.price_mode is PriceMode.CUSTOM:
            return ticket.price
        quotes = self._quotes()
        try:
            if self.schedule is None:
                natural, mid = natural_price(ticket, quotes), mid_price(ticket, quotes)
                return natural if self.price_mode is PriceMode.NATURAL else mid
            return auto_price(ticket, quotes, self.schedule, self.price_mode)
        except (TicketError, ArithmeticError):
            return None

    def underlying_price(self, underlying: str) -> Decimal | None:
        services = self.services
        if services is None:
            return None
        value = services.store.mid(underlying) or services.store.last(underlying)
        if value is None:
            return None
        return Decimal(repr(round(float(value), 2)))

    # ------------------------------------------------------------------ drawing

    def render_ticket(self, view: TicketView) -> list[Text]:
        """The ticket's lines: note, strategy, legs, price and terms, live natural/mid."""
        lines: list[Text] = []
        dim, strong = view.style("dim"), view.style("strong")
        mark = view.style("mark")
        field = self.error_field
        if self.note:
            lines.append(Text(fmt.clean(self.note), style=view.style("note")))
        if not self.ticket.legs:
            lines.append(Text(EMPTY_HELP, style=dim))
            return lines
        lines.append(Text(strategy_label(self.ticket), style=strong))
        for i, leg in enumerate(self.ticket.legs):
            lines.append(self._leg_line(view, i, leg))
        ticket = self.ticket
        terms = Text(no_wrap=True, overflow="ellipsis")
        if ticket.order_type is OrderType.MARKET:
            terms.append("Market", mark if field == "order_type" else strong)
        else:
            terms.append(f"Limit {self.price_mode.value} ", dim)
            terms.append(short_price(self.limit_price()), mark if field == "price" else strong)
        terms.append(" · ", dim)
        terms.append("Qty ", dim)
        terms.append(str(ticket.quantity), mark if field == "quantity" else strong)
        terms.append(" · ", dim)
        tif = ticket.time_in_force.value
        if ticket.gtd_date is not None:
            tif += f" {ticket.gtd_date:%d %b %y}"
        elif ticket.time_in_force is TimeInForce.GTD:
            tif += " (no date: d)"
        terms.append(tif, mark if field == "time_in_force" else strong)
        lines.append(terms)
        natural, mid = self.live_prices()
        live = Text(no_wrap=True, overflow="ellipsis")
        live.append("nat ", dim)
        live.append(short_price(natural))
        live.append(" · mid ", dim)
        live.append(short_price(mid))
        lines.append(live)
        return lines

    def _leg_line(self, view: TicketView, i: int, leg: Leg) -> Text:
        line = Text(no_wrap=True, overflow="ellipsis")
        pointer = "▸ " if i == self.cursor else "  "
        line.append(pointer, view.style("strong"))
        line.append(_ACTION_CODES[leg.action], view.style("buy" if leg.action.is_buy else "sell"))
        unit = "" if leg.instrument_type is InstrumentType.EQUITY_OPTION else "sh"
        line.append(f" {leg.quantity:>2}{unit} ")
        line.append(fmt.inert(contract_label(leg.symbol)))
        quote = self._leg_quote(leg.symbol)
        if quote is None:
            line.append("  —", view.style("dim"))
        else:
            stale = self._is_stale(leg.symbol)
            line.append(
                f"  {(quote.bid + quote.ask) / 2:.2f}", view.style("stale") if stale else ""
            )
            if stale and self.services is not None:
                line.append(f" {fmt.age(self.services.store.age(leg.symbol))}", view.style("stale"))
        if i == self.cursor and view.has_focus:
            line.stylize(view.style("cursor"))
        if self.error_field in _LEG_FIELDS and i == self.cursor:
            line.stylize(view.style("mark"), 0, len(pointer))
        return line

    def status_text(self) -> Text:
        view = self.view
        style = {
            "error": view.style("error"),
            "busy": view.style("busy"),
            "ok": view.style("ok"),
        }.get(self.message_level, view.style("dim"))
        return Text(fmt.clean(self.message), style=style)

    def view_text(self) -> str:
        """The pane's text as shown, status line included (tests, the chat's view)."""
        lines = [line.plain for line in self.render_ticket(self.view)]
        if self.message:
            lines.append(fmt.clean(self.message))
        return "\n".join(lines)


#: Order states worth a line in the builder after it sent the order (the orders pane has all).
_REPORTED = frozenset(
    {"Filled", "Rejected", "Cancelled", "Expired", "Removed", "Partially Removed"}
)

_ACTION_CODES = {
    OrderAction.BUY_TO_OPEN: "BTO",
    OrderAction.SELL_TO_OPEN: "STO",
    OrderAction.BUY_TO_CLOSE: "BTC",
    OrderAction.SELL_TO_CLOSE: "STC",
}


def leg_action_text(leg: Leg) -> str:
    return f"{leg.action.value} {leg.quantity} {contract_label(leg.symbol)}"
