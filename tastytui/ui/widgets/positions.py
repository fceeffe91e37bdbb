"""Positions pane: the book grouped by underlying and strategy, marked live; close and roll.

Tens of rows in a :class:`KeyedTable` (laid out again only when the visible rows change;
otherwise only the rows whose cells changed repaint).  Quotes are pulled: the app's flush marks
the pane dirty when a held symbol changed, and a timer at about 1 Hz recomputes the portfolio
from the service layer.  ``x`` and ``r`` build a closing or rolling ticket and hand it to the
order builder with ``StageTicket``; nothing is sent from here.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import ClassVar, Literal

from textual import work
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.widgets import Static

from tastytui.domain.closing import HeldLeg, RollError, closing_legs, roll_legs
from tastytui.domain.orders import InstrumentType, Leg, OrderType
from tastytui.domain.symbols import format_strike
from tastytui.domain.ticket import PriceMode, Ticket, TicketError, auto_price
from tastytui.domain.ticks import STOCK
from tastytui.services.errors import ServiceError
from tastytui.services.events import BalancesChanged, PositionsChanged
from tastytui.services.order_status import price_text
from tastytui.services.portfolio import Portfolio, PositionView, StrategyView, Totals
from tastytui.ui import format as fmt
from tastytui.ui import keymap
from tastytui.ui.messages import StageTicket
from tastytui.ui.widgets.keyed_table import Cell, Column, KeyedTable, Row
from tastytui.ui.widgets.pane import Pane

# A narrow pane shows only the first columns (the label stays fixed while scrolling right):
# the open P&L comes first.
COLUMNS = (
    Column("name", "Position", 19),
    Column("open", "Open P&L", 8, right=True),
    Column("qty", "Qty", 4, right=True),
    Column("day", "Day P&L", 8, right=True),
    Column("mark", "Mark", 12, right=True),
    Column("avg", "Avg open", 8, right=True),
    Column("delta", "Δ", 7, right=True),
    Column("gamma", "Γ", 6, right=True),
    Column("theta", "Θ", 7, right=True),
    Column("vega", "Vega", 7, right=True),
    Column("bwd", "βΔ", 7, right=True),
    Column("dte", "DTE", 3, right=True),
)
TOTAL_KEY = "total"
_EMPTY = (
    "No positions — pick a symbol (/) to open its chain (3), add legs with b/s, then "
    "review in the order builder (4)."
)

#: No-break space: indentation that survives every renderer (plain spaces may be collapsed).
_INDENT = "\u00a0"

RowKind = Literal["underlying", "strategy", "leg", "total"]


@dataclass(frozen=True, slots=True)
class PositionRow:
    """What a table row stands for (the cursor's target for close, roll and expand)."""

    kind: RowKind
    underlying: str
    label: str
    legs: tuple[PositionView, ...]
    strategy_key: str | None = None


def _qty(quantity: Decimal) -> str:
    return format(quantity.normalize(), "f")


def _pnl(value: float | None) -> Cell:
    """Whole dollars: the column must fit a narrow pane next to the label."""
    if value is not None and abs(value) < 0.5:
        value = 0.0  # never "-0"
    style = "" if not value else ("up" if value > 0 else "down")
    return fmt.signed(value, 0), style


def _units(legs: Sequence[PositionView]) -> int:
    sizes = [abs(v.held.quantity) for v in legs]
    if not sizes or any(s != s.to_integral_value() for s in sizes):
        return 1
    return math.gcd(*(int(s) for s in sizes)) or 1


def _net(legs: Sequence[PositionView], price: str) -> float | None:
    """Signed price per unit of the structure (long value +); None when a leg has none."""
    units = _units(legs)
    unit = max(v.held.multiplier for v in legs)
    total = 0.0
    for view in legs:
        value = view.mark if price == "mark" else float(view.held.average_open)
        if value is None:
            return None
        total += value * float(view.held.quantity) * view.held.multiplier
    return total / (units * unit)


def _age_text(value: float | None, age: float | None, stale: bool) -> Cell:
    if value is None:
        return "—", "stale"
    text = fmt.num(value, 2)
    if stale:
        # Never shown as fresh: dimmed, with how old it is.
        return (f"{text} {fmt.age(age)}" if age is not None else f"{text} ?"), "stale"
    return text, ""


def _greeks(totals: Totals | PositionView, dim: bool) -> dict[str, Cell]:
    muted = "stale" if dim else ""
    return {
        "delta": (fmt.num(totals.delta, 1), muted),
        "gamma": (fmt.num(totals.gamma, 2), muted),
        "theta": (fmt.signed(totals.theta, 2), muted),
        "vega": (fmt.signed(totals.vega, 2), muted),
        "bwd": (fmt.num(totals.beta_delta, 1), muted),
    }


def _row(**cells: Cell) -> tuple[Cell, ...]:
    """Cells in column order; columns not given are blank."""
    return tuple(cells.get(column.key, ("", "")) for column in COLUMNS)


def leg_label(view: PositionView) -> str:
    option = view.held.option
    if option is None:
        return f"{view.held.symbol} shares"
    kind = "call" if option.is_call else "put"
    return f"{option.expiration:%b %d} {format_strike(option.strike)} {kind}"


def short_label(label: str) -> str:
    """'Short put vertical 648/642 (bull, credit)' → 'Short put vertical 648/642'."""
    return label.split(" (", 1)[0]


def strategy_key(underlying: str, strategy: StrategyView) -> str:
    """Stable across refreshes: the members, not the position in the list."""
    members = ",".join(sorted(v.held.symbol.replace(" ", "") for v in strategy.legs))
    return f"s:{underlying}:{members}"


def build_rows(
    portfolio: Portfolio, expanded: set[str], collapsed: set[str]
) -> list[tuple[Row, PositionRow]]:
    """The table rows: underlying, its strategies, their legs when expanded, then the totals."""
    out: list[tuple[Row, PositionRow]] = []
    for under in portfolio.underlyings:
        name = under.underlying
        spot = f"  {fmt.num(under.spot, 2)}" if under.spot is not None else ""
        marker = "▸" if name in collapsed else "▾"
        all_legs = tuple(v for s in under.strategies for v in s.legs)
        t = under.totals
        cells = _row(
            name=(f"{marker} {name}{spot}", "group"),
            open=_pnl(t.open_pnl),
            day=_pnl(t.day_pnl),
            **_greeks(t, t.incomplete),
        )
        key = f"u:{name}"
        out.append(((key, cells), PositionRow("underlying", name, name, all_legs)))
        if name in collapsed:
            continue
        seen: dict[str, int] = {}
        for strategy in under.strategies:
            skey = strategy_key(name, strategy)
            seen[skey] = seen.get(skey, 0) + 1
            if seen[skey] > 1:
                skey = f"{skey}#{seen[skey]}"
            legs = strategy.legs
            open_ = skey in expanded
            units = _units(legs)
            qty = _qty(legs[0].held.quantity) if len(legs) == 1 else f"{units}×"
            stale = any(v.stale for v in legs)
            ages = [v.mark_age for v in legs if v.mark_age is not None]
            dtes = [v.dte for v in legs if v.dte is not None]
            st = strategy.totals
            if len(legs) == 1:
                # One leg: its own per-unit prices, as the leg row shows them.
                avg: float | None = float(legs[0].held.average_open)
                mark = legs[0].mark
            else:
                # A structure: the signed net per unit (debit paid +, credit received −).
                avg, mark = _net(legs, "avg"), _net(legs, "mark")
            cells = _row(
                name=(f"{_INDENT}{'▾' if open_ else '▸'} {short_label(strategy.label)}", "accent"),
                qty=(qty, ""),
                avg=(fmt.num(avg, 2), ""),
                mark=_age_text(mark, max(ages) if ages else None, stale),
                open=_pnl(st.open_pnl),
                day=_pnl(st.day_pnl),
                dte=(str(min(dtes)) if dtes else "", ""),
                **_greeks(st, st.incomplete),
            )
            out.append(((skey, cells), PositionRow("strategy", name, strategy.label, legs, skey)))
            if not open_:
                continue
            for view in legs:
                cells = _row(
                    name=(f"{_INDENT * 3}{leg_label(view)}", "muted"),
                    qty=(_qty(view.held.quantity), "down" if view.held.quantity < 0 else ""),
                    avg=(fmt.num(float(view.held.average_open), 2), ""),
                    mark=_age_text(view.mark, view.mark_age, view.stale),
                    open=_pnl(view.open_pnl),
                    day=_pnl(view.day_pnl),
                    dte=(str(view.dte) if view.dte is not None else "", ""),
                    **_greeks(view, view.mark is None),
                )
                lkey = f"{skey}/{view.held.symbol}"
                out.append(
                    (
                        (lkey, cells),
                        PositionRow("leg", name, leg_label(view), (view,), skey),
                    )
                )
    g = portfolio.totals
    cells = _row(
        name=(f"Total (βΔ {portfolio.beta_symbol})", "bold"),
        open=_pnl(g.open_pnl),
        day=_pnl(g.day_pnl),
        **_greeks(g, g.incomplete),
    )
    out.append(((TOTAL_KEY, cells), PositionRow("total", "", "Total", ())))
    return out


def _held(legs: Iterable[PositionView]) -> list[HeldLeg]:
    return [(v.held.symbol, v.held.option, v.held.quantity) for v in legs]


class PositionsTable(KeyedTable):
    pass


class PositionsPane(Pane):
    BINDINGS: ClassVar[list[BindingType]] = [*keymap.bindings("positions")]
    DEFAULT_CSS = """
    PositionsPane #positions-empty { padding: 0 1; color: $text-muted; }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.expanded: set[str] = set()
        self.collapsed: set[str] = set()
        self.rows: dict[str, PositionRow] = {}
        self._watched: set[str] = set()
        self._subscribed: tuple[frozenset[str], frozenset[str]] = (frozenset(), frozenset())
        self._dirty = False
        self._has_stale = False
        self._ticks = 0
        self._betas_for: set[str] = set()

    def compose(self) -> ComposeResult:
        self.border_title = "Positions"
        yield Static("loading positions…", id="positions-empty")
        table = PositionsTable(COLUMNS, id="positions-table", fixed_columns=1)
        table.display = False
        yield table

    @property
    def table(self) -> PositionsTable:
        return self.query_one(PositionsTable)

    # ------------------------------------------------------------------ service hooks

    def services_ready(self) -> None:
        hz = self.tasty.flush_hz
        # P&L aggregates at ~1 Hz, never faster than the flush: recomputing the portfolio is
        # the cost now that only changed rows repaint (as a DataTable, any changed cell
        # re-rendered every row: at 2 Hz a third of the CPU under a quote storm).
        self.set_interval(max(1.0, 1.0 / max(hz, 0.1)), self._tick)
        self._positions_changed()

    def refresh_quotes(self, dirty: set[str]) -> None:
        if not self._dirty and not self._watched.isdisjoint(dirty):
            self._dirty = True

    def service_event(self, event: object) -> None:
        services = self.services
        if services is None:
            return
        if isinstance(event, PositionsChanged) and event.account == services.accounts.current:
            self._positions_changed()
        elif isinstance(event, BalancesChanged) and event.account == services.accounts.current:
            self._dirty = True

    def on_unmount(self) -> None:
        services = self.services
        if services is not None:
            services.dxlink.release(self)

    def _tick(self) -> None:
        # Marks age without any quote arriving (that is how they go stale), so every few ticks
        # the rows are recomputed anyway; the diff repaints only cells that changed.
        self._ticks += 1
        if self._dirty or self._has_stale or self._ticks % 4 == 0:
            self.refresh_rows()

    def _positions_changed(self) -> None:
        services = self.services
        if services is None:
            return
        self._resubscribe()
        underlyings, _ = services.accounts.watched_symbols()
        missing = set(underlyings) - self._betas_for
        if missing:
            self._betas_for |= missing
            self._load_betas(sorted(underlyings))
        self.refresh_rows()
        self.refresh_bindings()

    def _resubscribe(self) -> None:
        services = self.services
        if services is None:
            return
        underlyings, options = services.accounts.watched_symbols()
        dx = services.dxlink
        old_under, old_options = self._subscribed
        new_under, new_options = frozenset(underlyings), frozenset(options)
        if old_under - new_under:
            dx.unsubscribe(self, ["Quote"], sorted(old_under - new_under))
        if old_options - new_options:
            dx.unsubscribe(self, ["Quote", "Greeks"], sorted(old_options - new_options))
        if new_under - old_under:
            dx.subscribe(self, ["Quote"], sorted(new_under - old_under))
        if new_options - old_options:
            dx.subscribe(self, ["Quote", "Greeks"], sorted(new_options - old_options))
        self._subscribed = (new_under, new_options)
        self._watched = set(new_under | new_options)

    @work(group="positions-betas", exclusive=True, exit_on_error=False)
    async def _load_betas(self, symbols: list[str]) -> None:
        services = self.services
        if services is None:
            return
        try:
            await services.accounts.metrics(symbols)
        except ServiceError:
            return  # no betas: beta-weighted deltas stay "—" (never guessed)
        self._dirty = True

    # ------------------------------------------------------------------ rendering

    def refresh_rows(self) -> None:
        self._dirty = False
        services = self.services
        empty = self.query_one("#positions-empty", Static)
        table = self.table
        if services is None:
            return
        accounts = services.accounts
        if not accounts.positions_loaded(accounts.current):
            empty.update("loading positions…")
            empty.display, table.display = True, False
            return
        portfolio = accounts.portfolio()
        if not portfolio.underlyings:
            empty.update(_EMPTY)
            empty.display, table.display = True, False
            self.rows = {}
            table.set_rows([])
            return
        built = build_rows(portfolio, self.expanded, self.collapsed)
        self.rows = {row[0]: target for row, target in built}
        self._has_stale = any(v.stale for v in portfolio.positions)
        empty.display, table.display = False, True
        table.set_rows([row for row, _ in built])

    # ------------------------------------------------------------------ selection

    def selected(self) -> PositionRow | None:
        key = self.table.selected_key() if self.table.display else None
        return self.rows.get(key) if key is not None else None

    def copy_text(self) -> str | None:
        row = self.selected()
        if row is None:
            return None
        return "\n".join(f"{_qty(leg.held.quantity)} {leg.symbol.strip()}" for leg in row.legs)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("close_position", "roll_position", "toggle_expand"):
            return bool(self.rows)
        return True

    def action_toggle_expand(self) -> None:
        row = self.selected()
        if row is None:
            self.notify("No position selected: move to a strategy with ↑/↓ first.", markup=False)
            return
        if row.kind == "underlying":
            self.collapsed ^= {row.underlying}
        elif row.strategy_key is not None:
            self.expanded ^= {row.strategy_key}
            if row.kind == "leg":
                self.table.select_key(row.strategy_key)
        self.refresh_rows()

    def _target(self, verb: str) -> PositionRow | None:
        row = self.selected()
        if row is None or row.kind == "total" or not row.legs:
            self.notify(
                f"Nothing to {verb}: select a position or strategy (↑/↓), then press the key.",
                severity="warning",
                markup=False,
            )
            return None
        return row

    def action_close_position(self) -> None:
        row = self._target("close")
        if row is not None:
            self._stage_close(row)

    def action_roll_position(self) -> None:
        row = self._target("roll")
        if row is not None:
            self._stage_roll(row)

    # ------------------------------------------------------------------ staging tickets

    @work(group="positions-stage", exclusive=True, exit_on_error=False)
    async def _stage_close(self, row: PositionRow) -> None:
        try:
            legs = closing_legs(_held(row.legs))
        except RollError as exc:
            self.notify(f"Cannot close {row.label}: {exc}", severity="warning", markup=False)
            return
        what = (
            f"{row.underlying} {row.label}"
            if row.kind != "underlying"
            else f"all {row.label} positions"
        )
        await self._stage(row.underlying, legs, f"Closing {what}")

    @work(group="positions-stage", exclusive=True, exit_on_error=False)
    async def _stage_roll(self, row: PositionRow) -> None:
        services = self.services
        if services is None:
            return
        name = f"{row.underlying} {row.label}"
        try:
            chain = await services.accounts.chain(row.underlying)
            plan = roll_legs(_held(row.legs), chain)
        except RollError as exc:
            self.notify(f"Cannot roll {name}: {exc}", severity="warning", markup=False)
            return
        except ServiceError as exc:
            self.notify(
                f"Cannot roll {name}: {fmt.clean(str(exc))}", severity="error", markup=False
            )
            return
        await self._stage(row.underlying, plan.legs, f"Rolling {name} {plan.describe_move()}")

    async def _stage(self, underlying: str, legs: tuple[Leg, ...], note: str) -> None:
        """Price the ticket at the mid (on the tick grid) when quotes allow, then stage it."""
        services = self.services
        if services is None:
            return
        ticket = Ticket(legs=legs, order_type=OrderType.LIMIT)
        try:
            quotes = await services.accounts.leg_quotes([leg.symbol for leg in legs])
            has_option = any(leg.instrument_type is InstrumentType.EQUITY_OPTION for leg in legs)
            schedule = await services.accounts.tick_schedule(underlying) if has_option else STOCK
            ticket = ticket.with_price(auto_price(ticket, quotes, schedule, PriceMode.MID))
            note += f" — limit at mid {price_text(ticket.price)}"
        except (TicketError, ServiceError) as exc:
            note += f" — no mid price ({fmt.clean(str(exc))}): set a price in the builder"
        self.post_message(StageTicket(ticket, note=note))
        self.notify(f"{note}. Review it in the order builder (4).", markup=False)
