"""Net-liq history (F6): a chart of the account's net liquidating value over a chosen period."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.content import Content
from textual.widgets import Static

from tastytui.domain.clock import NEW_YORK
from tastytui.ui import format as fmt
from tastytui.ui import keymap
from tastytui.ui.screens.secondary import SecondaryScreen
from tastytui.ui.widgets.line_chart import LineChart


@dataclass(frozen=True, slots=True)
class Period:
    key: str
    label: str
    time_back: str | None  # the API's period; None → ``span`` back from now
    span: timedelta | None = None


#: The API accepts 1d, 1m, 3m, 6m, 1y and all; one week is asked for with a start time.
PERIODS: tuple[Period, ...] = (
    Period("1d", "1 day", "1d"),
    Period("1w", "1 week", None, timedelta(days=7)),
    Period("1m", "1 month", "1m"),
    Period("3m", "3 months", "3m"),
    Period("6m", "6 months", "6m"),
    Period("1y", "1 year", "1y"),
    Period("all", "all time", "all"),
)
DEFAULT_PERIOD = "1m"
log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Sample:
    at: datetime
    open: float
    close: float


def samples_from_wire(rows: Iterable[Any]) -> list[Sample]:
    """NetLiqOhlc rows → samples sorted by time; rows with an unreadable time are skipped."""
    out = []
    for row in rows:
        try:
            at = datetime.fromisoformat(str(row.time))
        except ValueError:
            continue
        if at.tzinfo is None:
            continue
        out.append(Sample(at, float(row.open), float(row.close)))
    out.sort(key=lambda s: s.at)
    return out


def x_label_format(samples: list[Sample]) -> str:
    span = samples[-1].at - samples[0].at if samples else timedelta(0)
    if span <= timedelta(days=2):
        return "%H:%M"
    if span <= timedelta(days=400):
        return "%b %d"
    return "%b %Y"


class NetLiqScreen(SecondaryScreen):
    BINDINGS: ClassVar[list[BindingType]] = [*keymap.bindings("netliq")]

    DEFAULT_CSS = """
    NetLiqScreen #netliq-periods { height: 1; padding: 0 1; }
    NetLiqScreen #netliq-summary { height: 2; padding: 0 1; }
    NetLiqScreen #netliq-chart { height: 1fr; margin: 0 1; }
    """

    def __init__(self, period: str = DEFAULT_PERIOD) -> None:
        super().__init__()
        self.period = next((p for p in PERIODS if p.key == period), PERIODS[2])
        self.samples: list[Sample] = []
        self.state = "loading"  # loading | ready | empty | error | offline
        self.error = ""

    def compose_body(self) -> ComposeResult:
        yield Static(id="netliq-periods")
        yield Static(id="netliq-summary")
        yield LineChart(id="netliq-chart")
        yield Static(id="netliq-empty", classes="screen-empty")

    def on_mount(self) -> None:
        self._paint()
        super().on_mount()

    # ------------------------------------------------------------------ data

    def services_missing(self) -> None:
        self.state = "offline"
        self._paint()

    def load(self) -> None:
        self.state = "loading"
        self._paint()
        self._fetch()

    @work(exclusive=True, group="netliq", exit_on_error=False)
    async def _fetch(self) -> None:
        services = self.services
        if services is None:
            return
        account, period = self.account, self.period
        try:
            if period.time_back is not None:
                rows = await services.accounts.net_liq_history(account, period.time_back)
            else:
                start = services.clock.now() - (period.span or timedelta(days=7))
                rows = await services.accounts.net_liq_history(account, start_time=start)
        except Exception as exc:  # shown on screen; the screen stays usable
            log.warning("net-liq history: %s", exc)
            self.state, self.error = "error", str(exc) or type(exc).__name__
        else:
            if account != self.account or period != self.period:
                return  # the user moved on while this was loading
            self.samples = samples_from_wire(rows)
            self.state = "ready" if self.samples else "empty"
        self._paint()

    # ------------------------------------------------------------------ actions

    def action_period(self, step: int) -> None:
        index = PERIODS.index(self.period)
        self.period = PERIODS[(index + step) % len(PERIODS)]
        self.load()

    def action_reload(self) -> None:
        if self.services is not None:
            self.load()

    # ------------------------------------------------------------------ painting

    def _paint(self) -> None:
        parts: list[str | tuple[str, str]] = [(" Period ", "$text-muted")]
        for p in PERIODS:
            parts.append((f" {p.key} ", "reverse bold" if p == self.period else ""))
            parts.append(" ")
        parts.append(
            (
                f"   {self.key_label('netliq.prev')}/{self.key_label('netliq.next')} "
                f"change period · {self.key_label('netliq.reload')} reload",
                "$text-muted",
            )
        )
        self.query_one("#netliq-periods", Static).update(Content.assemble(*parts))
        summary = self.query_one("#netliq-summary", Static)
        chart = self.query_one(LineChart)
        empty = self.query_one("#netliq-empty", Static)
        chart.loading = self.state == "loading"
        showing_chart = self.state in ("ready", "loading")
        chart.display = showing_chart
        empty.display = not showing_chart
        account = self.account or "—"
        if self.state == "offline":
            summary.update(Content.styled("Not connected to the broker yet.", "$text-muted"))
            empty.update("Net-liq history appears once the broker connection is up.")
        elif self.state == "loading":
            summary.update(
                Content.styled(
                    f"Loading net-liq history for {account} ({self.period.label})…",
                    "$text-muted",
                )
            )
        elif self.state == "error":
            summary.update(
                Content.assemble(
                    ("Could not read the net-liq history: ", "bold $error"),
                    fmt.clean(self.error, max_length=300),
                )
            )
            empty.update(
                f"{self.key_label('netliq.reload')} retries; "
                f"{self.key_label('netliq.prev')}/{self.key_label('netliq.next')} "
                "picks another period."
            )
        elif self.state == "empty":
            summary.update(f"{account}: no net-liq history for {self.period.label}.")
            empty.update(
                f"No net-liq history for {account} in the last {self.period.label} — "
                f"{self.key_label('netliq.next')} picks a longer period."
            )
        else:
            summary.update(self._summary(account))
            fmt_x = x_label_format(self.samples)
            chart.set_data(
                [s.close for s in self.samples],
                [s.at.astimezone(NEW_YORK).strftime(fmt_x) for s in self.samples],
            )

    def _summary(self, account: str) -> Content:
        first, last = self.samples[0], self.samples[-1]
        start, current = first.open or first.close, last.close
        change = current - start
        ratio = change / start if start else None
        high = max(s.close for s in self.samples)
        low = min(s.close for s in self.samples)
        style = "$price-up" if change >= 0 else "$price-down"
        sign = "+" if change >= 0 else "-"
        fmt_day = "%b %d %H:%M" if x_label_format(self.samples) == "%H:%M" else "%b %d %Y"
        begin = first.at.astimezone(NEW_YORK).strftime(fmt_day)
        end = last.at.astimezone(NEW_YORK).strftime(fmt_day)
        return Content.assemble(
            ("Net liq ", "$text-muted"),
            (fmt.money(current), "bold"),
            (f"   {self.period.key} change ", "$text-muted"),
            (f"{sign}{fmt.money(abs(change))}", style),
            (f" ({'+' if change >= 0 else ''}{fmt.pct(ratio, 2)})", style),
            ("   high ", "$text-muted"),
            fmt.money(high),
            ("  low ", "$text-muted"),
            fmt.money(low),
            (
                f"\n{account} · {len(self.samples)} samples · {begin} → {end} (New York)",
                "$text-muted",
            ),
        )
