"""The status bar: profile badge, account, money, New York time and connection health."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual.widget import Widget

from tastytui.domain.clock import new_york_now
from tastytui.ui import format as fmt
from tastytui.ui.keymap import key_label

if TYPE_CHECKING:
    from tastytui.ui.app import TastyApp

_LINK_GLYPH = {"up": "●", "degraded": "◐", "connecting": "○", "down": "✕", "off": "·"}


class StatusBar(Widget):
    """Two lines; repainted once a second and whenever health or balances change."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "status-bar--sim",
        "status-bar--cert",
        "status-bar--live",
        "status-bar--up",
        "status-bar--down",
        "status-bar--warn",
        "status-bar--dim",
        "status-bar--label",
    }

    DEFAULT_CSS = """
    StatusBar { height: 2; }
    """

    def __init__(self, profile: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.profile = profile
        self.message = "starting…"

    @property
    def tasty(self) -> TastyApp:
        return self.app  # type: ignore[return-value]

    def on_mount(self) -> None:
        self.set_interval(1.0, self.refresh)

    def set_message(self, text: str) -> None:
        self.message = text
        self.refresh()

    def _style(self, name: str) -> Any:
        return self.get_component_rich_style(f"status-bar--{name}", partial=True)

    def render(self) -> Text:
        app = self.tasty
        line1 = Text(no_wrap=True, overflow="ellipsis")
        badge = self.profile.upper()
        line1.append(
            f" {badge} ",
            self._style(self.profile if self.profile in ("sim", "cert", "live") else "sim"),
        )
        services = app.services
        now = new_york_now(app.clock)
        if services is None:
            line1.append(f"  {self.message}", self._style("dim"))
        else:
            accounts = services.accounts
            number = accounts.current
            line1.append(f" {number}", self._style("label"))
            balance = accounts.balances(number)
            if balance is not None:
                line1.append("  NL ", self._style("dim"))
                line1.append(fmt.money(float(balance.net_liquidating_value)))
                line1.append("  BP ", self._style("dim"))
                line1.append(fmt.money(float(balance.derivative_buying_power)))
            day = accounts.day_pnl(number) if accounts.positions_loaded(number) else None
            line1.append("  Day ", self._style("dim"))
            if day is None:
                line1.append("—", self._style("dim"))
            else:
                sign = "+" if day >= 0 else "-"
                line1.append(
                    f"{sign}{fmt.money(abs(day))}", self._style("up" if day >= 0 else "down")
                )
        line1.append(f"  {now:%H:%M:%S} ET", self._style("label"))
        line1.append(f" {app.market_state}", self._style("dim"))
        line2 = Text(no_wrap=True, overflow="ellipsis")
        if services is None:
            line2.append(" REST · DXLink · Account · ", self._style("dim"))
        else:
            h = services.health.snapshot
            for label, state in (
                ("REST", h.rest),
                ("DXLink", h.dxlink),
                ("Account", h.account_stream),
            ):
                style = (
                    "up"
                    if state.value == "up"
                    else ("warn" if state.value in ("degraded", "connecting") else "down")
                )
                line2.append(f" {label} ", self._style("dim"))
                line2.append(_LINK_GLYPH.get(state.value, "?"), self._style(style))
            line2.append("  Breaker ", self._style("dim"))
            breaker = {"closed": "up", "half-open": "warn"}.get(h.breaker.value, "down")
            line2.append(h.breaker.value, self._style(breaker))
            line2.append("  Reconciled ", self._style("dim"))
            if h.last_reconcile_at is None:
                line2.append("never", self._style("warn"))
            else:
                ago = (app.clock.now() - h.last_reconcile_at).total_seconds()
                line2.append(f"{fmt.age(max(0.0, ago))} ago", self._style("label"))
                if h.reconcile_findings:
                    count = h.reconcile_findings
                    noun = "finding" if count == 1 else "findings"
                    line2.append(f" ({count} {noun})", self._style("warn"))
            line2.append("  Stale ", self._style("dim"))
            line2.append(str(h.stale_symbols), self._style("warn" if h.stale_symbols else "label"))
            if h.orders_halted:
                line2.append("  ORDERS HALTED", self._style("down"))
                line2.append(
                    f" {key_label(app, 'app.findings')} review · "
                    f"{key_label(app, 'app.resume')} resume",
                    self._style("warn"),
                )
            elif h.auth_problem:
                line2.append(f"  {h.auth_problem}", self._style("down"))
            elif h.rate_queue:
                line2.append(f"  queue {h.rate_queue}", self._style("warn"))
        return Text("\n").join([line1, line2])
