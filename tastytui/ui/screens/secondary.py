"""The base of the full-screen views opened with F-keys (history, net liq, findings).

Each keeps the status bar on top (the profile badge must never be hidden) and the footer at the
bottom, follows the current account (F9 switches it while the screen is open) and reloads when
the account changes.  Opening one secondary screen from another replaces it instead of stacking.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar

from rich.style import Style
from textual.app import App, ComposeResult
from textual.binding import BindingType
from textual.color import Color
from textual.screen import Screen
from textual.widgets import Footer

from tastytui.domain.symbols import SymbolError, parse_occ
from tastytui.ui import format as fmt
from tastytui.ui import keymap
from tastytui.ui.widgets.status_bar import StatusBar

if TYPE_CHECKING:
    from tastytui.services.runtime import Services
    from tastytui.ui.app import TastyApp


class SecondaryScreen(Screen[None]):
    """Status bar + body + footer; hooks for services, account changes and service events."""

    BINDINGS: ClassVar[list[BindingType]] = []

    DEFAULT_CSS = """
    SecondaryScreen { layout: vertical; }
    SecondaryScreen .screen-title { height: 1; padding: 0 1; text-style: bold; }
    SecondaryScreen .screen-note { height: auto; padding: 0 1; color: $text-muted; }
    SecondaryScreen .screen-error { height: auto; padding: 0 1; color: $error; }
    SecondaryScreen .screen-empty {
        height: 1fr; padding: 1 2; content-align: center middle; color: $text-muted;
    }
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.account = ""
        self._unsubscribe: list[Callable[[], None]] = []
        self._attached = False

    @property
    def tasty(self) -> TastyApp:
        return self.app  # type: ignore[return-value]

    @property
    def services(self) -> Services | None:
        return self.tasty.services

    # ------------------------------------------------------------------ layout

    def compose(self) -> ComposeResult:
        yield StatusBar(self.tasty.profile_name, classes="screen-status")
        yield from self.compose_body()
        yield Footer()

    def compose_body(self) -> ComposeResult:
        """The screen's own widgets, between the status bar and the footer."""
        yield from ()

    # ------------------------------------------------------------------ life cycle

    def on_mount(self) -> None:
        self._attach_services()
        # Services may connect after the screen opened, and F9 may switch the account: a
        # cheap check once a second catches both even if no service event arrives.
        self.set_interval(1.0, self._check)

    def on_unmount(self) -> None:
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe.clear()

    def _attach_services(self) -> None:
        services = self.services
        if services is None:
            self.services_missing()
            return
        if not self._attached:
            self._attached = True
            self._unsubscribe.append(services.events.subscribe(self._bus_event))
            self._unsubscribe.append(services.health.subscribe(self._health_event))
        self.account = services.accounts.current
        self.load()

    def _check(self) -> None:
        services = self.services
        if services is None:
            return
        if not self._attached or services.accounts.current != self.account:
            self._attach_services()
        self.tick()

    def _bus_event(self, event: object) -> None:
        # Called synchronously by the publisher on the app's loop: defer the work.
        self.call_later(self._after_event, event)

    def _after_event(self, event: object) -> None:
        if not self.is_attached:
            return  # closed while the call was queued
        self.query_one(StatusBar).refresh()
        services = self.services
        if services is not None and services.accounts.current != self.account:
            self._attach_services()
            return
        self.service_event(event)

    def _health_event(self, snapshot: object) -> None:
        self.call_later(self._after_health, snapshot)

    def _after_health(self, snapshot: object) -> None:
        if not self.is_attached:
            return
        self.query_one(StatusBar).refresh()
        self.health_changed(snapshot)

    # ------------------------------------------------------------------ hooks

    def services_missing(self) -> None:
        """Not connected yet: show why the screen is empty."""

    def load(self) -> None:
        """(Re)load the screen's data for ``self.account`` (start a worker here)."""

    def service_event(self, event: object) -> None:
        """A service event for the same account (reconciliation, orders, notices …)."""

    def health_changed(self, snapshot: object) -> None:
        """The health snapshot changed (halted orders, reconciliation time …)."""

    def tick(self) -> None:
        """Once a second (ages shown on screen)."""

    # ------------------------------------------------------------------ actions

    def action_close(self) -> None:
        self.dismiss()

    def key_label(self, action_id: str) -> str:
        """The key of an action as the footer shows it, after the user's remaps."""
        return key_label(self.app, action_id)


def key_label(app: App[Any], action_id: str) -> str:
    return keymap.key_label(app, action_id)


def show_secondary(app: App[Any], screen_type: type[SecondaryScreen]) -> None:
    """Open a secondary screen; from another secondary screen, replace it (no deep stacks)."""
    current = app.screen
    if isinstance(current, screen_type):
        return
    if isinstance(current, SecondaryScreen):
        app.switch_screen(screen_type())
    else:
        app.push_screen(screen_type())


def theme_style(app: App[Any], variable: str, *, bold: bool = False) -> Style:
    """A Rich style in a theme colour, for renderables that cannot say ``$variable``
    themselves (DataTable cells)."""
    value = app.get_css_variables().get(variable)
    if value is None:
        return Style(bold=bold)
    try:
        return Style(color=Color.parse(value).rich_color, bold=bold)
    except Exception:  # a theme value Textual cannot parse: plain text, never a crash
        return Style(bold=bold)


def short_symbol(symbol: str) -> str:
    """An OCC option as 'SPY 12/18/26 580P'; anything else cleaned of control characters."""
    try:
        option = parse_occ(symbol)
    except SymbolError:
        return fmt.clean(symbol.strip())
    strike = format(option.strike.normalize(), "f")
    return f"{option.root} {option.expiration:%m/%d/%y} {strike}{option.option_type.value}"
