"""Reconciliation findings (F7): what differed between our book and the broker, newest first.

Shows the orders-halted banner when a position vanished at the broker (with the key that
resumes new orders) and reconciles on request, in a worker, with progress on screen.
"""

from __future__ import annotations

import logging
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.content import Content
from textual.widgets import DataTable, Static

from tastytui.domain.clock import NEW_YORK
from tastytui.ui import format as fmt
from tastytui.ui import keymap
from tastytui.ui.screens.secondary import SecondaryScreen, short_symbol, theme_style

if TYPE_CHECKING:
    from tastytui.services.reconcile import Finding

log = logging.getLogger(__name__)

_KIND_LABELS = {
    "adopted": "adopted",
    "vanished": "VANISHED (risk)",
    "quantity": "quantity",
    "order-resolved": "order resolved",
    "order-unresolved": "order unknown",
}
_COLUMNS: tuple[tuple[str, str, int], ...] = (
    ("time", "Time (NY)", 14),
    ("account", "Account", 8),
    ("kind", "Kind", 15),
    ("symbol", "Symbol", 18),
    ("ours", "Ours", 7),
    ("broker", "Broker", 7),
    ("detail", "Detail", 20),
)


def _quantity(value: Decimal | None) -> str:
    return "—" if value is None else f"{value:+}"


def _when(at: datetime, today: object) -> str:
    local = at.astimezone(NEW_YORK)
    return f"{local:%H:%M:%S}" if local.date() == today else f"{local:%m-%d %H:%M}"


class FindingsScreen(SecondaryScreen):
    BINDINGS: ClassVar[list[BindingType]] = [
        *keymap.bindings("findings"),
        # The global resume key, shown in this screen's footer while orders are halted (same
        # id, so a [ui.keys] remap of app.resume moves it here too).
        Binding(
            keymap.BY_ID["app.resume"].key,
            "resume",
            keymap.BY_ID["app.resume"].description,
            id="app.resume",
        ),
    ]

    DEFAULT_CSS = """
    FindingsScreen #halted {
        height: auto; padding: 0 1; background: $error; color: $text; text-style: bold;
        display: none;
    }
    FindingsScreen #findings-summary { height: 1; padding: 0 1; }
    FindingsScreen #findings-table { height: 1fr; }
    FindingsScreen #finding-detail {
        height: auto; max-height: 4; padding: 0 1; border-top: solid $pane-border;
    }
    """

    def __init__(self) -> None:
        super().__init__()
        self.running = False
        self.error = ""
        self._shown: list[Finding] = []
        self._columns_for = 0

    def compose_body(self) -> ComposeResult:
        yield Static(id="halted")
        yield Static(id="findings-summary")
        table: DataTable[Text] = DataTable(
            id="findings-table", cursor_type="row", zebra_stripes=True
        )
        self._add_columns(table, self.app.size.width)
        yield table
        yield Static(id="findings-empty", classes="screen-empty")
        yield Static(id="finding-detail")

    @staticmethod
    def _add_columns(table: DataTable[Text], screen_width: int) -> None:
        # Fixed widths; the detail column takes the rest (the full text is shown below).
        fixed = sum(width for *_, width in _COLUMNS[:-1]) + 2 * len(_COLUMNS) + 2
        for key, label, width in _COLUMNS:
            if key == "detail":
                width = max(width, screen_width - fixed)
            table.add_column(label, key=key, width=width)

    def on_resize(self) -> None:
        width = self.app.size.width
        if width == self._columns_for:
            return
        self._columns_for = width
        table: DataTable[Text] = self.query_one("#findings-table", DataTable)
        table.clear(columns=True)
        self._add_columns(table, width)
        self._shown = []  # repaint every row into the new columns
        self._paint_table()

    def on_mount(self) -> None:
        self._columns_for = self.app.size.width
        self._paint()
        super().on_mount()
        self.query_one(DataTable).focus()

    # ------------------------------------------------------------------ hooks

    def services_missing(self) -> None:
        self._paint()

    def load(self) -> None:
        self._paint()

    def service_event(self, event: object) -> None:
        from tastytui.services.events import ReconcileEvent

        if isinstance(event, ReconcileEvent):
            self._paint()

    def health_changed(self, snapshot: object) -> None:
        self._paint()
        self.refresh_bindings()

    def tick(self) -> None:
        # Ages ("12s ago") move with the clock; the table itself only changes on new findings.
        self._paint_summary()
        self._paint_table()

    # ------------------------------------------------------------------ actions

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "resume":
            # Hidden (and passed on to the app's own binding) unless orders are halted.
            services = self.services
            return services is not None and services.reconciler.halted is not None
        if action == "reconcile_now":
            return self.services is not None and not self.running
        return True

    def action_resume(self) -> None:
        self.tasty.action_resume_orders()
        self._paint()
        self.refresh_bindings()

    def action_reconcile_now(self) -> None:
        if self.services is None or self.running:
            return
        self.running = True
        self.error = ""
        self._paint_summary()
        self.refresh_bindings()
        self._reconcile()

    @work(exclusive=True, group="reconcile-now", exit_on_error=False)
    async def _reconcile(self) -> None:
        services = self.services
        if services is None:
            return
        try:
            found = await services.reconciler.reconcile("requested on the findings screen")
        except Exception as exc:  # shown on screen; the screen and the console stay usable
            log.warning("reconcile now failed: %s", exc)
            self.error = fmt.clean(str(exc) or type(exc).__name__, max_length=300)
            self.notify(self.error, title="Reconciliation failed", severity="error")
        else:
            if found:
                self.notify(f"Reconciliation: {len(found)} new finding(s).", severity="warning")
            else:
                self.notify("Reconciliation: the broker agrees with our book.")
        finally:
            self.running = False
            if self.is_attached:
                self._paint()
                self.refresh_bindings()

    @on(DataTable.RowHighlighted)
    def _highlighted(self, message: DataTable.RowHighlighted) -> None:
        self._paint_detail(message.cursor_row)

    # ------------------------------------------------------------------ painting

    def _paint(self) -> None:
        services = self.services
        banner = self.query_one("#halted", Static)
        halted = services.reconciler.halted if services is not None else None
        banner.display = halted is not None
        if halted is not None:
            banner.update(
                Content.assemble(
                    "⚠ ",
                    fmt.clean(halted, max_length=400),
                    (
                        f"\nPress {self.key_label('app.resume')} to resume new orders once "
                        "you have reviewed the findings below.",
                        "not bold",
                    ),
                )
            )
        self._paint_summary()
        self._paint_table()

    def _paint_summary(self) -> None:
        summary = self.query_one("#findings-summary", Static)
        services = self.services
        run = self.key_label("findings.run")
        if services is None:
            summary.update(Content.styled("Not connected to the broker yet.", "$text-muted"))
            return
        if self.running:
            summary.update(
                Content.styled("Reconciling every account with the broker…", "bold $warning")
            )
            return
        if self.error:
            summary.update(
                Content.assemble(
                    ("Reconciliation failed: ", "bold $error"),
                    self.error,
                    (f" — {run} tries again.", "$text-muted"),
                )
            )
            return
        summary.update(
            Content.assemble(
                (self._last_run_text(), ""),
                (f" · {len(services.reconciler.findings)} finding(s)", ""),
                (f" · {run} reconcile now", "$text-muted"),
            )
        )

    def _last_run_text(self) -> str:
        services = self.services
        if services is None:
            return ""
        at = services.health.snapshot.last_reconcile_at
        if at is None:
            return "Not reconciled yet"
        return f"Last reconciliation {at.astimezone(NEW_YORK):%H:%M:%S} ET ({self._ago(at)} ago)"

    def _ago(self, at: datetime) -> str:
        services = self.services
        if services is None:
            return "—"
        return fmt.age(max(0.0, (services.clock.now() - at).total_seconds()))

    def _paint_table(self) -> None:
        services = self.services
        table: DataTable[Text] = self.query_one("#findings-table", DataTable)
        empty = self.query_one("#findings-empty", Static)
        findings = list(reversed(services.reconciler.findings)) if services is not None else []
        table.loading = self.running and not findings
        table.display = bool(findings)
        empty.display = not findings
        if not findings:
            if services is None:
                empty.update("Findings appear once the broker connection is up.")
            else:
                at = services.health.snapshot.last_reconcile_at
                when = (
                    f"last reconciliation at {at.astimezone(NEW_YORK):%H:%M:%S} ET "
                    f"({self._ago(at)} ago)"
                    if at is not None
                    else "no reconciliation has run yet"
                )
                empty.update(
                    f"No findings — {when}. {self.key_label('findings.run')} reconciles now."
                )
            self._shown = []
            table.clear()
            self._paint_detail(None)
            return
        if findings == self._shown:
            return
        # Findings only change when a reconciliation ran: a rebuild is rare and small.
        self._shown = findings
        today = services.accounts.today() if services is not None else None
        risk = theme_style(self.app, "error", bold=True)
        warn = theme_style(self.app, "warning")
        cursor = table.cursor_row
        table.clear()
        for index, finding in enumerate(findings):
            style = risk if finding.is_risk else warn
            table.add_row(
                Text(_when(finding.at, today)),
                fmt.inert(finding.account),
                Text(_KIND_LABELS.get(finding.kind.value, finding.kind.value), style=style),
                fmt.inert(short_symbol(finding.symbol)) if finding.symbol else Text("—"),
                Text(_quantity(finding.ours), justify="right"),
                Text(_quantity(finding.broker), justify="right"),
                fmt.inert(finding.detail),
                key=str(index),
            )
        table.move_cursor(row=min(max(cursor, 0), len(findings) - 1))
        self._paint_detail(table.cursor_row)

    def _paint_detail(self, row: int | None) -> None:
        detail = self.query_one("#finding-detail", Static)
        if row is None or not (0 <= row < len(self._shown)):
            detail.display = False
            return
        finding = self._shown[row]
        detail.display = True
        detail.update(Content(fmt.clean(finding.detail, max_length=600)))
