"""Live orders pane: working and today's orders; cancel, replace at a new price, re-price at mid.

Rows come from the account service's order cache (REST on start-up and reconciliation, account
stream pushes) in a :class:`KeyedTable` diffed by order id.  Every change of a working order
goes through the order service (replace re-reviews; cancel reads the order back) behind an
explicit confirmation.  Fills and rejections are announced by the services' ``Notice``s (shown
by the app), so this pane never notifies them a second time.
"""

from __future__ import annotations

import contextlib
from decimal import Decimal
from typing import TYPE_CHECKING, ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.widgets import Static

from tastytui.domain.clock import NEW_YORK
from tastytui.domain.ticket import TicketError
from tastytui.domain.ticks import STOCK, TickSchedule
from tastytui.services.errors import AmbiguousOrder, BrokerRejected, CircuitOpen, ServiceError
from tastytui.services.events import (
    BalancesChanged,
    OrderEvent,
    PositionsChanged,
    ReconcileEvent,
)
from tastytui.services.order_status import (  # not services.fills: no SDK before the frame
    describe_placed,
    filled_units,
    is_terminal_status,
    order_size,
    price_text,
)
from tastytui.ui import format as fmt
from tastytui.ui import keymap
from tastytui.ui.widgets.keyed_table import Cell, Column, KeyedTable, Row
from tastytui.ui.widgets.pane import Pane

if TYPE_CHECKING:
    # The SDK pulls pandas: imported where it is used, after the first frame.
    from tastytrade.order import PlacedOrder

    from tastytui.services.orders import Review

# Narrow panes show the first columns, so status and what the order is come first; the
# selected order's reject reason is also spelt out in full under the table.
COLUMNS = (
    Column("status", "Status", 10),
    Column("order", "Order", 32),
    Column("filled", "Filled", 6, right=True),
    Column("price", "Price", 13, right=True),
    Column("time", "Time", 8),
    Column("reason", "Reason", 48),
)
_EMPTY = (
    "No orders today — build one in the order builder (4) or from the chain (3), review it "
    "(ctrl+o) and confirm; it shows here while it works."
)
_STATUS_STYLE = {
    "Filled": "up",
    "Rejected": "error",
    "Cancelled": "muted",
    "Expired": "muted",
    "Removed": "muted",
    "Partially Removed": "muted",
    "Live": "accent",
    "Cancel Requested": "warn",
    "Replace Requested": "warn",
}


def _key(order_id: int) -> str:
    return f"o:{order_id}"


def order_cells(order: PlacedOrder, description: str) -> tuple[Cell, ...]:
    """One row: time, what, status, filled/total, limit price, reject reason (broker text)."""
    at = order.received_at or order.updated_at
    time_text = at.astimezone(NEW_YORK).strftime("%H:%M:%S") if at is not None else ""
    status = order.status.value
    size = order_size(order)
    filled = filled_units(order)
    price = price_text(order.price) if order.price is not None else order.order_type.value
    reason = ""
    if order.reject_reason:
        reason = order.reject_reason
    elif order.replacing_order_id is not None:
        reason = f"replaced by #{order.replacing_order_id}"
    elif order.replaces_order_id is not None:
        reason = f"replaces #{order.replaces_order_id}"
    cells = {
        "time": (time_text, "muted"),
        "order": (f"#{order.id} {description}", "" if not is_terminal_status(status) else "muted"),
        "status": (status, _STATUS_STYLE.get(status, "")),
        "filled": (f"{_num(filled)}/{_num(size)}", "up" if filled and filled == size else ""),
        "price": (price, ""),
        "reason": (reason, "error" if order.reject_reason else "muted"),
    }
    return tuple(cells[column.key] for column in COLUMNS)


def _cache_behind(cached: str, event: str) -> bool:
    """Whether an order event says more than the order cache knows.

    Events are queued while account-stream pushes update the cache at once, so a cache that
    has already reached a final status (Routed and Live events arriving after the Filled push)
    is ahead, not behind: no need to read every live order again.
    """
    if cached == event:
        return False
    return not (is_terminal_status(cached) and not is_terminal_status(event))


def _num(value: Decimal) -> str:
    return format(value.normalize(), "f") if value else "0"


def sort_orders(orders: list[PlacedOrder]) -> list[PlacedOrder]:
    """Working orders first, then today's finished ones; newest first in each."""
    return sorted(orders, key=lambda o: (is_terminal_status(o.status.value), -o.id))


class OrdersTable(KeyedTable):
    pass


class OrdersPane(Pane):
    BINDINGS: ClassVar[list[BindingType]] = [*keymap.bindings("orders")]
    DEFAULT_CSS = """
    OrdersPane #orders-empty { padding: 0 1; color: $text-muted; }
    OrdersPane #orders-detail { height: auto; max-height: 3; padding: 0 1; color: $text-muted; }
    OrdersPane #orders-detail.-rejected { color: $error; }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.orders: dict[str, PlacedOrder] = {}
        self._descriptions: dict[int, str] = {}
        # Each order's cells, kept while the cache holds the same order object: a busy day has
        # thousands of orders and ``sync`` runs on every order event.
        self._cells: dict[int, tuple[PlacedOrder, tuple[Cell, ...]]] = {}
        self._ready = False
        #: Orders being read after an event the cache was behind on (one request each).
        self._reloading: set[int] = set()
        # What the two Statics show: ``update`` re-lays out the whole screen (25-30 ms at
        # 200x50), and ``sync`` runs on every order event and once a second.
        self._shown: dict[str, str] = {}

    def compose(self) -> ComposeResult:
        self.border_title = "Live orders"
        yield Static("loading orders…", id="orders-empty")
        table = OrdersTable(COLUMNS, id="orders-table", fixed_columns=0)
        table.display = False
        yield table
        yield Static("", id="orders-detail")

    @property
    def table(self) -> OrdersTable:
        return self.query_one(OrdersTable)

    # ------------------------------------------------------------------ service hooks

    def services_ready(self) -> None:
        self._ready = True
        # Pushes for orders we do not track (placed elsewhere) change the cache without an
        # event: a cheap once-a-second diff picks them up.
        self.set_interval(1.0, self.sync)
        self.sync()

    def service_event(self, event: object) -> None:
        services = self.services
        if services is None:
            return
        current = services.accounts.current
        if isinstance(event, OrderEvent) and event.account == current:
            cached = services.accounts.order(event.order_id)
            if cached is None or _cache_behind(cached.status.value, event.status):
                # Learnt by polling (stream down?) or before its push: read that order.
                self._reload(event.order_id)
            self.sync()
        elif (
            isinstance(event, ReconcileEvent | PositionsChanged | BalancesChanged)
            and event.account == current
        ):
            self.sync()

    def _reload(self, order_id: int) -> None:
        if order_id in self._reloading:
            return
        self._reloading.add(order_id)
        self.run_worker(self._reload_order(order_id), group="orders-reload", exit_on_error=False)

    async def _reload_order(self, order_id: int) -> None:
        try:
            services = self.services
            if services is None:
                return
            try:
                await services.accounts.refresh_order(order_id)
            except ServiceError:
                return  # the stream and the next reconciliation bring it; the rows stay
            self.sync()
        finally:
            self._reloading.discard(order_id)

    def _row_cells(self, order: PlacedOrder) -> tuple[Cell, ...]:
        cached = self._cells.get(order.id)
        if cached is not None and cached[0] is order:
            return cached[1]
        cells = order_cells(order, self._description(order))
        if order.id in self._descriptions:  # else the journal may name it later
            self._cells[order.id] = (order, cells)
        return cells

    def _description(self, order: PlacedOrder) -> str:
        cached = self._descriptions.get(order.id)
        if cached is not None:
            return cached
        services = self.services
        entry = (
            services.journal.by_broker_id(order.id, services.profile_name)
            if services is not None
            else None
        )
        if entry is not None and entry.description:
            self._descriptions[order.id] = entry.description
            return entry.description
        return describe_placed(order)

    def sync(self) -> None:
        """Show the account's working and today's orders (only changed cells repaint)."""
        services = self.services
        if services is None:
            return
        orders = sort_orders(services.accounts.live_orders())
        empty = self.query_one("#orders-empty", Static)
        table = self.table
        rows: list[Row] = [(_key(o.id), self._row_cells(o)) for o in orders]
        self.orders = {_key(o.id): o for o in orders}
        if len(self._cells) > len(orders):
            shown = {o.id for o in orders}
            self._cells = {k: v for k, v in self._cells.items() if k in shown}
        if not rows:
            self._update_static(empty, _EMPTY)
            empty.display, table.display = True, False
        else:
            empty.display, table.display = False, True
        had = bool(table.keys)
        table.set_rows(rows)
        if had != bool(rows):
            self.refresh_bindings()
        self._show_detail()

    def on_keyed_table_row_highlighted(self, event: KeyedTable.RowHighlighted) -> None:
        self._show_detail()

    def _show_detail(self) -> None:
        """The selected order in full under the table (the reason column may be off-screen)."""
        detail = self.query_one("#orders-detail", Static)
        order = self.selected()
        detail.display = order is not None
        if order is None:
            return
        status = order.status.value
        text = f"#{order.id} {status}"
        if order.reject_reason:
            text += f" — {order.reject_reason}"
        else:
            text += (
                f" · {_num(filled_units(order))}/{_num(order_size(order))} filled"
                f" · {price_text(order.price)} · {self._description(order)}"
            )
        detail.set_class(status == "Rejected", "-rejected")
        self._update_static(detail, text)

    def _update_static(self, widget: Static, text: str) -> None:
        """Update only when the text changed (broker text: always inert)."""
        key = widget.id or ""
        if self._shown.get(key) != text:
            self._shown[key] = text
            widget.update(fmt.inert(text, max_length=400))

    # ------------------------------------------------------------------ selection

    def selected(self) -> PlacedOrder | None:
        key = self.table.selected_key() if self.table.display else None
        return self.orders.get(key) if key is not None else None

    def copy_text(self) -> str | None:
        order = self.selected()
        return None if order is None else f"#{order.id} {describe_placed(order)}"

    def select_order(self, order_id: int) -> bool:
        return self.table.select_key(_key(order_id))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("cancel_order", "replace_order", "reprice_mid"):
            return bool(self.orders)
        return True

    def _working(self, verb: str) -> PlacedOrder | None:
        order = self.selected()
        if order is None:
            self.notify(
                f"No order selected: move to an order (↑/↓) to {verb} it.",
                severity="warning",
                markup=False,
            )
            return None
        status = order.status.value
        if is_terminal_status(status):
            self.notify(
                f"Order #{order.id} is {status}: there is nothing to {verb}.",
                severity="warning",
                markup=False,
            )
            return None
        return order

    # ------------------------------------------------------------------ cancel

    def action_cancel_order(self) -> None:
        order = self._working("cancel")
        if order is not None:
            self._cancel_flow(order)

    @work(group="orders-change", exclusive=True, exit_on_error=False)
    async def _cancel_flow(self, order: PlacedOrder) -> None:
        from tastytui.ui.screens.order_confirm import ConfirmCancel

        services = self.services
        if services is None:
            return
        description = self._description(order)
        lines = [
            f"#{order.id} {description}",
            f"{order.status.value} · {_num(filled_units(order))}/{_num(order_size(order))} "
            f"filled · limit {price_text(order.price)}",
        ]
        if not await self.app.push_screen_wait(ConfirmCancel(f"Cancel order #{order.id}?", lines)):
            return
        tracked = services.fills.is_tracking(order.id)
        try:
            placed = await services.orders.cancel(services.accounts.current, order.id)
        except ServiceError as exc:
            self.notify(
                f"Order #{order.id} not cancelled: {fmt.clean(str(exc))}",
                severity="error",
                markup=False,
            )
            self.sync()
            return
        if not tracked:
            # The fill tracker announces orders it tracks; this one is ours to report.
            self.notify(f"Order #{order.id} {placed.status.value}.", markup=False)
        self.sync()

    # ------------------------------------------------------------------ replace / re-mid

    def action_replace_order(self) -> None:
        order = self._working("replace")
        if order is not None:
            self._replace_flow(order, re_mid=False)

    def action_reprice_mid(self) -> None:
        order = self._working("re-price")
        if order is not None:
            self._replace_flow(order, re_mid=True)

    async def _schedule(self, order: PlacedOrder) -> TickSchedule | None:
        services = self.services
        if services is None:
            return None
        if all(leg.instrument_type.value != "Equity Option" for leg in order.legs):
            return STOCK
        try:
            return await services.accounts.tick_schedule(order.underlying_symbol)
        except ServiceError:
            return None  # the review still checks the grid; the dialog just cannot pre-check

    @work(group="orders-change", exclusive=True, exit_on_error=False)
    async def _replace_flow(self, order: PlacedOrder, *, re_mid: bool) -> None:
        from tastytui.services.orders import describe_review
        from tastytui.ui.screens.order_confirm import ConfirmReplace
        from tastytui.ui.screens.replace_order import NewPriceScreen

        services = self.services
        if services is None:
            return
        if order.order_type.value != "Limit":
            self.notify(
                f"Order #{order.id} is a {order.order_type.value} order: only limit orders "
                "can be re-priced (cancel it and send a limit order).",
                severity="warning",
                markup=False,
            )
            return
        price: Decimal | None = None
        if not re_mid:
            schedule = await self._schedule(order)
            remaps = dict(self.tasty.config.ui.keys)
            price = await self.app.push_screen_wait(
                NewPriceScreen(
                    order.id,
                    self._description(order),
                    order.price,
                    schedule,
                    multi_leg=len(order.legs) > 1,
                    key_hint=keymap.key_for("price.cancel", remaps),
                )
            )
            if price is None:
                return
        account = services.accounts.current
        what = "at the mid" if re_mid else f"at {price_text(price)}"
        try:
            review = await services.orders.replace(
                account, order.id, price=price, re_mid=re_mid, source="keys"
            )
        except (TicketError, ServiceError) as exc:
            self.notify(
                f"Order #{order.id} not replaced {what}: {fmt.clean(str(exc))}",
                severity="error",
                markup=False,
            )
            return
        title = f"Replace order #{order.id} {what}?"
        # A refused review is shown with its verdict and can only be closed.
        confirmed = await self.app.push_screen_wait(
            ConfirmReplace(title, describe_review(review), review.problems)
        )
        if confirmed and review.sendable:
            await self._send(review)

    async def _send(self, review: Review) -> None:
        services = self.services
        if services is None:
            return
        try:
            sent = await services.orders.send(review)
        except (BrokerRejected, CircuitOpen, AmbiguousOrder):
            # The order service already published a Notice saying what happened.
            await self._reload_now()
            return
        except (TicketError, ServiceError) as exc:
            self.notify(f"Not replaced: {fmt.clean(str(exc))}", severity="error", markup=False)
            return
        await self._reload_now()
        self.select_order(sent.order_id)

    async def _reload_now(self) -> None:
        services = self.services
        if services is None:
            return
        # On failure the stream and the next reconciliation bring the new state.
        with contextlib.suppress(ServiceError):
            await services.accounts.refresh_orders()
        self.sync()
