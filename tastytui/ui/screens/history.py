"""Transaction and order history (F5) of the current account, every page, with filters.

The date range is asked of the broker (changing it reloads, in a worker); the symbol text and
the type/status filters narrow the loaded rows at once, without another request.  A failed
load keeps the rows already shown and says how to retry.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Horizontal
from textual.content import Content
from textual.widgets import DataTable, Input, Select, Static, TabbedContent, TabPane

from tastytui.domain.clock import NEW_YORK
from tastytui.ui import format as fmt
from tastytui.ui import keymap
from tastytui.ui.screens.secondary import SecondaryScreen, short_symbol, theme_style

log = logging.getLogger(__name__)

#: Date-range presets: key → label.
RANGES: tuple[tuple[str, str], ...] = (
    ("today", "Today"),
    ("7d", "7 days"),
    ("30d", "30 days"),
    ("90d", "90 days"),
    ("ytd", "Year to date"),
    ("1y", "1 year"),
    ("all", "All"),
)
DEFAULT_RANGE = "30d"
ALL = "All"
TXN_TYPES = (ALL, "Trade", "Receive Deliver", "Money Movement")
ORDER_GROUPS: dict[str, frozenset[str] | None] = {
    ALL: None,
    "Filled": frozenset({"Filled"}),
    "Working": frozenset({"Received", "Routed", "In Flight", "Live", "Contingent"}),
    "Cancelled": frozenset({"Cancelled", "Cancel Requested", "Removed", "Partially Removed"}),
    "Rejected": frozenset({"Rejected"}),
    "Expired": frozenset({"Expired"}),
}
_ACTIONS = {
    "Buy to Open": "BTO",
    "Sell to Open": "STO",
    "Buy to Close": "BTC",
    "Sell to Close": "STC",
    "Buy": "BUY",
    "Sell": "SELL",
}
# (key, label, width); the last column takes the rest of the screen's width.
TXN_COLUMNS: tuple[tuple[str, str, int], ...] = (
    ("when", "Date (NY)", 14),
    ("type", "Type", 13),
    ("symbol", "Symbol", 19),
    ("qty", "Qty", 4),
    ("price", "Price", 8),
    ("value", "Net value", 10),
    ("fees", "Fees", 5),
    ("description", "Description", 20),
)
ORDER_COLUMNS: tuple[tuple[str, str, int], ...] = (
    ("when", "Received (NY)", 14),
    ("status", "Status", 9),
    ("underlying", "Under", 5),
    ("legs", "Legs", 34),
    ("price", "Price", 10),
    ("tif", "TIF", 4),
    ("filled", "Filled", 6),
    ("note", "Note", 16),
)
_TIME_FORMAT = "%y-%m-%d %H:%M"


def range_start(key: str, today: date) -> date | None:
    """The first day of a date-range preset (None: no limit)."""
    days = {"today": 0, "7d": 7, "30d": 30, "90d": 90, "1y": 365}
    if key in days:
        return today - timedelta(days=days[key])
    if key == "ytd":
        return date(today.year, 1, 1)
    return None


def range_label(key: str) -> str:
    return dict(RANGES).get(key, key)


def _text_fields_txn(txn: Any) -> Iterable[str]:
    yield txn.symbol or ""
    if txn.symbol:
        yield short_symbol(txn.symbol)
    yield txn.underlying_symbol or ""
    yield txn.description or ""


def _text_fields_order(order: Any) -> Iterable[str]:
    yield order.underlying_symbol or ""
    for leg in order.legs:
        yield leg.symbol
        yield short_symbol(leg.symbol)


def _matches(fields: Iterable[str], text: str) -> bool:
    needle = text.strip().upper()
    return not needle or any(needle in f.upper() for f in fields)


def txn_matches(txn: Any, text: str, kind: str) -> bool:
    """Does a transaction pass the symbol text filter and the type filter?"""
    if kind != ALL and txn.transaction_type != kind:
        return False
    return _matches(_text_fields_txn(txn), text)


def order_matches(order: Any, text: str, group: str) -> bool:
    """Does an order pass the symbol text filter and the status group?"""
    statuses = ORDER_GROUPS.get(group)
    if statuses is not None and order.status.value not in statuses:
        return False
    return _matches(_text_fields_order(order), text)


def legs_summary(order: Any) -> str:
    parts = []
    for leg in order.legs:
        action = _ACTIONS.get(leg.action.value, leg.action.value)
        quantity = leg.quantity if leg.quantity is not None else ""
        parts.append(f"{action} {quantity} {short_symbol(leg.symbol)}".replace("  ", " "))
    return ", ".join(parts)


def filled_summary(order: Any) -> str:
    if not order.legs:
        return "—"
    leg = order.legs[0]
    filled = sum((f.quantity for f in leg.fills or ()), Decimal(0))
    size = leg.quantity or order.size or 0
    return f"{filled.normalize():f}/{Decimal(size).normalize():f}"


def price_text(price: Decimal | None, order_type: str = "Limit") -> str:
    """Signed prices (SDK 13: debit negative) as '1.25 cr' / '2.10 db'; market orders 'MKT'."""
    if price is None:
        return "MKT" if order_type == "Market" else "—"
    if price == 0:
        return "0.00"
    return f"{abs(price):,.2f} {'db' if price < 0 else 'cr'}"


@dataclass
class TabState:
    """One tab's data: rows loaded for (account, range), and how the last load went."""

    rows: list[Any] = field(default_factory=list)
    state: str = "loading"  # loading | ready | error | offline
    error: str = ""
    loaded_for: tuple[str, str] | None = None


class HistoryScreen(SecondaryScreen):
    BINDINGS: ClassVar[list[BindingType]] = [*keymap.bindings("history")]

    DEFAULT_CSS = """
    HistoryScreen #history-filters { height: 1; padding: 0 1; margin-bottom: 1; }
    HistoryScreen .filter-label { width: auto; padding: 0 1 0 0; color: $text-muted; }
    HistoryScreen #range { width: 20; margin-right: 2; }
    HistoryScreen #symbol { width: 28; margin-right: 2; }
    HistoryScreen #history-account { width: 1fr; text-align: right; }
    HistoryScreen .tab-filters { height: 1; margin-bottom: 1; }
    HistoryScreen #txn-type, HistoryScreen #order-status { width: 22; margin-right: 2; }
    HistoryScreen .tab-status { width: 1fr; }
    HistoryScreen TabbedContent { height: 1fr; }
    HistoryScreen TabPane { padding: 0 1; height: 1fr; }
    HistoryScreen DataTable { height: 1fr; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.range = DEFAULT_RANGE
        self.txns = TabState()
        self.orders = TabState()
        self._type_options = list(TXN_TYPES)
        self._columns_for = 0

    def compose_body(self) -> ComposeResult:
        with Horizontal(id="history-filters"):
            yield Static("Range", classes="filter-label")
            yield Select(
                [(label, key) for key, label in RANGES],
                value=self.range,
                allow_blank=False,
                compact=True,
                id="range",
            )
            yield Static("Symbol", classes="filter-label")
            yield Input(placeholder="e.g. SPY (press /)", compact=True, id="symbol")
            yield Static(id="history-account")
        with TabbedContent(initial="txns"):
            with TabPane("Transactions", id="txns"):
                with Horizontal(classes="tab-filters"):
                    yield Static("Type", classes="filter-label")
                    yield Select(
                        [(t, t) for t in TXN_TYPES],
                        value=ALL,
                        allow_blank=False,
                        compact=True,
                        id="txn-type",
                    )
                    yield Static(id="txn-status", classes="tab-status")
                yield self._table("txn-table", TXN_COLUMNS)
                yield Static(id="txn-empty", classes="screen-empty")
            with TabPane("Orders", id="orders"):
                with Horizontal(classes="tab-filters"):
                    yield Static("Status", classes="filter-label")
                    yield Select(
                        [(g, g) for g in ORDER_GROUPS],
                        value=ALL,
                        allow_blank=False,
                        compact=True,
                        id="order-status",
                    )
                    yield Static(id="order-status-line", classes="tab-status")
                yield self._table("order-table", ORDER_COLUMNS)
                yield Static(id="order-empty", classes="screen-empty")

    def _table(self, table_id: str, columns: tuple[tuple[str, str, int], ...]) -> DataTable[Text]:
        table: DataTable[Text] = DataTable(id=table_id, cursor_type="row", zebra_stripes=True)
        self._add_columns(table, columns, self.app.size.width)
        return table

    @staticmethod
    def _add_columns(
        table: DataTable[Text], columns: tuple[tuple[str, str, int], ...], screen_width: int
    ) -> None:
        # Fixed widths (no re-measuring per row); the last column gets what is left so the
        # table fits without a horizontal scrollbar: pane padding 2, scrollbar 2, cells 2 each.
        fixed = sum(width for *_, width in columns[:-1]) + 2 * len(columns) + 4
        for index, (key, label, width) in enumerate(columns):
            if index == len(columns) - 1:
                width = max(width, screen_width - fixed)
            table.add_column(label, key=key, width=width)

    def on_mount(self) -> None:
        self._columns_for = self.app.size.width
        self._paint_txns()
        self._paint_orders()
        super().on_mount()
        self.query_one("#txn-table", DataTable).focus()

    def on_resize(self) -> None:
        width = self.app.size.width
        if width == self._columns_for:
            return
        self._columns_for = width
        for table_id, columns in (("#txn-table", TXN_COLUMNS), ("#order-table", ORDER_COLUMNS)):
            table: DataTable[Text] = self.query_one(table_id, DataTable)
            table.clear(columns=True)
            self._add_columns(table, columns, width)
        self._paint_txns()
        self._paint_orders()

    # ------------------------------------------------------------------ filter values

    @property
    def text_filter(self) -> str:
        return self.query_one("#symbol", Input).value

    @property
    def txn_type(self) -> str:
        value = self.query_one("#txn-type", Select).value
        return value if isinstance(value, str) else ALL

    @property
    def order_group(self) -> str:
        value = self.query_one("#order-status", Select).value
        return value if isinstance(value, str) else ALL

    # ------------------------------------------------------------------ loading

    def services_missing(self) -> None:
        self.txns.state = self.orders.state = "offline"
        self._paint_txns()
        self._paint_orders()

    def load(self) -> None:
        if self.services is None:
            return
        self.query_one("#history-account", Static).update(f"Account {self.account}")
        self.txns.state = self.orders.state = "loading"
        self._paint_txns()
        self._paint_orders()
        self._fetch_txns(self.account, self.range)
        self._fetch_orders(self.account, self.range)

    def _start(self, key: str) -> date | None:
        services = self.services
        if services is None:
            return None
        return range_start(key, services.accounts.today())  # New York's date, injected clock

    @work(exclusive=True, group="history-txns", exit_on_error=False)
    async def _fetch_txns(self, account: str, key: str) -> None:
        services = self.services
        if services is None:
            return
        start = self._start(key)
        try:
            rows = await services.accounts.transactions(account, start_date=start, sort="Desc")
        except Exception as exc:  # shown on the tab; earlier rows stay
            log.warning("transactions: %s", exc)
            self.txns.state, self.txns.error = "error", str(exc) or type(exc).__name__
        else:
            self.txns = TabState(list(rows), "ready", "", (account, key))
        if self.is_attached:
            self._paint_txns()

    @work(exclusive=True, group="history-orders", exit_on_error=False)
    async def _fetch_orders(self, account: str, key: str) -> None:
        services = self.services
        if services is None:
            return
        start = self._start(key)
        try:
            rows = await services.accounts.order_history(account, start_date=start, sort="Desc")
        except Exception as exc:  # shown on the tab; earlier rows stay
            log.warning("order history: %s", exc)
            self.orders.state, self.orders.error = "error", str(exc) or type(exc).__name__
        else:
            self.orders = TabState(list(rows), "ready", "", (account, key))
        if self.is_attached:
            self._paint_orders()

    # ------------------------------------------------------------------ events & actions

    @on(Select.Changed, "#range")
    def _range_changed(self, message: Select.Changed) -> None:
        if isinstance(message.value, str) and message.value != self.range:
            self.range = message.value
            self.load()

    @on(Select.Changed, "#txn-type")
    def _type_changed(self) -> None:
        self._paint_txns()

    @on(Select.Changed, "#order-status")
    def _status_changed(self) -> None:
        self._paint_orders()

    @on(Input.Changed, "#symbol")
    def _text_changed(self) -> None:
        self._paint_txns()
        self._paint_orders()

    @on(Input.Submitted, "#symbol")
    def _text_submitted(self) -> None:
        self._active_table().focus()

    def _active_table(self) -> DataTable[Text]:
        active = self.query_one(TabbedContent).active
        return self.query_one("#order-table" if active == "orders" else "#txn-table", DataTable)

    def action_reload(self) -> None:
        self.load()

    def action_switch_tab(self) -> None:
        tabs = self.query_one(TabbedContent)
        tabs.active = "orders" if tabs.active == "txns" else "txns"
        self._active_table().focus()

    def action_cycle_range(self) -> None:
        keys = [key for key, _ in RANGES]
        select: Select[str] = self.query_one("#range", Select)
        select.value = keys[(keys.index(self.range) + 1) % len(keys)]

    def action_cycle_type(self) -> None:
        if self.query_one(TabbedContent).active == "orders":
            select: Select[str] = self.query_one("#order-status", Select)
            options = list(ORDER_GROUPS)
            current = self.order_group
        else:
            select = self.query_one("#txn-type", Select)
            options = self._txn_type_options()
            current = self.txn_type
        index = options.index(current) if current in options else -1
        select.value = options[(index + 1) % len(options)]

    def action_focus_filter(self) -> None:
        self.query_one("#symbol", Input).focus()

    def _txn_type_options(self) -> list[str]:
        seen = sorted({t.transaction_type for t in self.txns.rows} - set(TXN_TYPES))
        return [*TXN_TYPES, *seen]

    # ------------------------------------------------------------------ painting

    def _paint_txns(self) -> None:
        tab = self.txns
        options = self._txn_type_options()
        if options != self._type_options:
            # Types the broker uses beyond the usual three become choices too.
            select: Select[str] = self.query_one("#txn-type", Select)
            current = self.txn_type
            self._type_options = options
            with select.prevent(Select.Changed):
                select.set_options([(t, t) for t in options])
                select.value = current if current in options else ALL
        kind, text = self.txn_type, self.text_filter
        rows = [t for t in tab.rows if txn_matches(t, text, kind)]
        table: DataTable[Text] = self.query_one("#txn-table", DataTable)
        self._fill(table, [self._txn_row(t) for t in rows], [str(t.id) for t in rows])
        self._paint_tab(
            tab,
            table,
            self.query_one("#txn-status", Static),
            self.query_one("#txn-empty", Static),
            noun="transactions",
            shown=len(rows),
            filtered=bool(text.strip()) or kind != ALL,
            filter_desc=self._filter_desc(text, kind, "type"),
        )

    def _paint_orders(self) -> None:
        tab = self.orders
        group, text = self.order_group, self.text_filter
        rows = [o for o in tab.rows if order_matches(o, text, group)]
        table: DataTable[Text] = self.query_one("#order-table", DataTable)
        self._fill(table, [self._order_row(o) for o in rows], [str(o.id) for o in rows])
        self._paint_tab(
            tab,
            table,
            self.query_one("#order-status-line", Static),
            self.query_one("#order-empty", Static),
            noun="orders",
            shown=len(rows),
            filtered=bool(text.strip()) or group != ALL,
            filter_desc=self._filter_desc(text, group, "status"),
        )

    @staticmethod
    def _filter_desc(text: str, kind: str, what: str) -> str:
        parts = []
        if text.strip():
            parts.append(f"“{fmt.clean(text.strip(), max_length=30)}”")
        if kind != ALL:
            parts.append(f"{what} {kind}")
        return " and ".join(parts)

    def _paint_tab(
        self,
        tab: TabState,
        table: DataTable[Text],
        status: Static,
        empty: Static,
        *,
        noun: str,
        shown: int,
        filtered: bool,
        filter_desc: str,
    ) -> None:
        account = self.account or "—"
        period = range_label(self.range).lower()
        where = f"{account} · {'all dates' if self.range == 'all' else period}"
        table.loading = tab.state == "loading" and not tab.rows
        if tab.state == "offline":
            status.update(Content.styled("Not connected to the broker yet.", "$text-muted"))
        elif tab.state == "loading":
            status.update(Content.styled(f"Loading {noun} for {where}…", "$text-muted"))
        elif tab.state == "error":
            status.update(
                Content.assemble(
                    (f"Could not read {noun}: ", "bold $error"),
                    fmt.clean(tab.error, max_length=200),
                    (f" — {self.key_label('history.reload')} retries.", "$text-muted"),
                )
            )
        else:
            count = f"{shown} of {len(tab.rows)}" if filtered else f"{len(tab.rows)}"
            status.update(Content.assemble(f"{count} {noun}", (f" · {where}", "$text-muted")))
        nothing = shown == 0 and tab.state != "loading"
        table.display = not nothing
        empty.display = nothing
        if not nothing:
            return
        if tab.state == "offline":
            empty.update(f"The {noun} appear once the broker connection is up.")
        elif tab.state == "error" and not tab.rows:
            empty.update(
                Content.assemble(
                    f"No {noun} loaded. ",
                    fmt.clean(tab.error, max_length=200),
                    f"\n{self.key_label('history.reload')} retries.",
                )
            )
        elif filtered and tab.rows:
            empty.update(
                f"No {noun} match {filter_desc} — clear the filter "
                f"({self.key_label('history.filter')}) or pick another "
                f"{'type' if noun == 'transactions' else 'status'} "
                f"({self.key_label('history.type')})."
            )
        else:
            empty.update(
                f"No {noun} for {account} "
                f"{'at all' if self.range == 'all' else 'in ' + period} — "
                f"{self.key_label('history.range')} picks a longer range."
            )

    @staticmethod
    def _fill(table: DataTable[Text], rows: list[list[Text]], keys: list[str]) -> None:
        """Replace the rows only if what is shown changed (keeps the cursor otherwise)."""
        current = [str(k.value) for k in table.rows]
        if current == keys:
            return
        cursor = table.cursor_row
        table.clear()
        for key, row in zip(keys, rows, strict=True):
            table.add_row(*row, key=key)
        if keys:
            table.move_cursor(row=min(max(cursor, 0), len(keys) - 1))

    def _money(self, value: Decimal | None) -> Text:
        if value is None:
            return Text("—", justify="right")
        name = "price-up" if value > 0 else ("price-down" if value < 0 else "text-muted")
        return Text(fmt.num(float(value)), style=theme_style(self.app, name), justify="right")

    def _txn_row(self, txn: Any) -> list[Text]:
        when = txn.executed_at.astimezone(NEW_YORK)
        fees = sum(
            (
                abs(v)
                for v in (
                    txn.commission,
                    txn.clearing_fees,
                    txn.regulatory_fees,
                    txn.proprietary_index_option_fees,
                )
                if v is not None
            ),
            Decimal(0),
        )
        quantity = "" if txn.quantity is None else f"{txn.quantity.normalize():f}"
        return [
            Text(f"{when:{_TIME_FORMAT}}"),
            fmt.inert(txn.transaction_sub_type or txn.transaction_type, max_length=13),
            fmt.inert(short_symbol(txn.symbol) if txn.symbol else "—"),
            Text(quantity, justify="right"),
            Text(fmt.num(float(txn.price)) if txn.price is not None else "", justify="right"),
            self._money(txn.net_value),
            Text(fmt.num(float(fees)) if fees else "", justify="right"),
            fmt.inert(txn.description or ""),
        ]

    def _order_row(self, order: Any) -> list[Text]:
        at = order.received_at or order.updated_at
        status = order.status.value
        style = {
            "Filled": "price-up",
            "Rejected": "error",
            "Cancelled": "text-muted",
            "Expired": "text-muted",
        }.get(status, "warning")
        return [
            Text(f"{at.astimezone(NEW_YORK):{_TIME_FORMAT}}"),
            Text(status, style=theme_style(self.app, style)),
            fmt.inert(order.underlying_symbol or ""),
            fmt.inert(legs_summary(order)),
            Text(price_text(order.price, order.order_type.value), justify="right"),
            fmt.inert(order.time_in_force.value),
            Text(filled_summary(order), justify="right"),
            fmt.inert(order.reject_reason or ""),
        ]
