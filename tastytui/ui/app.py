"""The console's App: wiring only — themes, keys, panes, the service connection and timers.

Start-up paints the first frame before any heavy import: the SDK (pandas) and the simulator are
imported inside the connect worker, which runs after the first refresh.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
from typing import TYPE_CHECKING, Any

from textual import on, work
from textual.app import App, ComposeResult
from textual.containers import Horizontal, Vertical
from textual.css.query import NoMatches
from textual.notifications import Notify
from textual.screen import Screen
from textual.widgets import Static

from tastytui.config import Config
from tastytui.domain.clock import Clock, SystemClock
from tastytui.ui import keymap
from tastytui.ui.commands import TastyCommands
from tastytui.ui.heap import HeapPolicy
from tastytui.ui.messages import (
    AddLeg,
    ConnectFailed,
    HealthChanged,
    ServiceEvent,
    ServicesReady,
    StageTicket,
    SymbolChosen,
)
from tastytui.ui.themes import DEFAULT_THEME, DOMAIN_DEFAULTS, load_themes
from tastytui.ui.toasts import NoticeRack, to_retire
from tastytui.ui.widgets.builder import BuilderPane
from tastytui.ui.widgets.chain import ChainPane
from tastytui.ui.widgets.chat import ChatPane
from tastytui.ui.widgets.footer import KeyFooter
from tastytui.ui.widgets.orders import OrdersPane
from tastytui.ui.widgets.pane import Pane
from tastytui.ui.widgets.positions import PositionsPane
from tastytui.ui.widgets.quote_board import QuoteBoard
from tastytui.ui.widgets.status_bar import StatusBar

if TYPE_CHECKING:
    from tastytui.services.runtime import Services
    from tastytui.ui.connect import Connector

log = logging.getLogger(__name__)

MIN_WIDTH, MIN_HEIGHT = 100, 28


class TooSmall(Static):
    DEFAULT_CSS = """
    TooSmall {
        layer: overlay; dock: top; width: 100%; height: 100%;
        content-align: center middle; background: $background; color: $warning;
        display: none;
    }
    """


class TastyApp(App[None]):
    CSS_PATH = "styles/app.tcss"
    TITLE = "tastytui"
    BINDINGS = keymap.bindings("app")
    COMMANDS = App.COMMANDS | {TastyCommands}
    # Textual declares this a plain (mutable) list attribute; it is never mutated.
    HORIZONTAL_BREAKPOINTS = [  # noqa: RUF012
        (0, "-narrow"),
        (150, "-normal"),
        (175, "-wide"),
    ]

    def __init__(
        self,
        config: Config,
        profile_name: str,
        *,
        connector: Connector | None = None,
        clock: Clock | None = None,
        low_bandwidth: bool | None = None,
    ) -> None:
        super().__init__()
        self.config = config
        self.profile_name = profile_name
        self.clock: Clock = clock or SystemClock()
        self.low_bandwidth = config.ui.low_bandwidth if low_bandwidth is None else low_bandwidth
        self.flush_hz = config.ui.low_bandwidth_hz if self.low_bandwidth else config.ui.flush_hz
        if connector is None:
            from tastytui.ui.connect import DefaultConnector

            connector = DefaultConnector(config, profile_name, self.clock)
        self.connector = connector
        self.services: Services | None = None
        self.market_state = "—"
        self._unsubscribe: list[Any] = []
        self._heap = HeapPolicy()
        self._pane_list: list[Pane] = []
        # The theme is chosen before the first frame: switching it in on_mount re-parses and
        # re-applies the whole stylesheet to every mounted widget (a fifth of the start-up).
        loaded = load_themes()
        for theme in loaded.themes:
            self.register_theme(theme)
        self.theme_problems: list[str] = loaded.errors
        wanted = config.ui.theme
        self.theme = wanted if wanted in self.available_themes else DEFAULT_THEME
        if wanted not in self.available_themes:
            self.theme_problems.append(f"theme {wanted!r} not found; using {DEFAULT_THEME}")
        self.key_problems: list[str] = []

    # ------------------------------------------------------------------ layout

    def compose(self) -> ComposeResult:
        yield StatusBar(self.profile_name, id="status")
        with Horizontal(id="body"):
            with Vertical(id="left"):
                yield QuoteBoard(id="board")
                yield PositionsPane(id="positions")
            with Vertical(id="center"):
                yield ChainPane(id="chain")
                with Horizontal(id="bottom"):
                    yield BuilderPane(id="builder")
                    yield OrdersPane(id="orders")
            yield ChatPane(id="chat")
        yield TooSmall(id="too-small")
        yield KeyFooter()

    def get_theme_variable_defaults(self) -> dict[str, str]:
        # Built-in Textual themes get the domain colours too, so TCSS never breaks.
        return dict(DOMAIN_DEFAULTS)

    @property
    def main_screen(self) -> Screen[Any]:
        """The screen holding the panes: ``App.query`` only searches the active screen, and
        events, quotes and resizes must reach the panes while F1/F5/… screens are on top."""
        return self.screen_stack[0] if self.screen_stack else self.screen

    def _panes(self) -> list[Pane]:
        # Empty once shutdown pruned the screens: late service events then reach nobody.
        if not self.screen_stack:
            return []
        # The panes are composed once: a DOM query per service event cost ~1 ms each.
        if not self._pane_list:
            self._pane_list = list(self.screen_stack[0].query(Pane))
        return [pane for pane in self._pane_list if pane.is_attached]

    def _refresh_status(self) -> None:
        if self.screen_stack:
            for bar in self.screen_stack[0].query_children(StatusBar):
                bar.refresh()

    # ------------------------------------------------------------------ start-up

    def on_mount(self) -> None:
        if self.theme_problems:
            # Quotes file names and config text: never markup (a "[/]" would crash the toast).
            self.notify(
                "\n".join(self.theme_problems), title="Themes", severity="warning", markup=False
            )
        remaps, self.key_problems = keymap.check_remaps(self.config.ui.keys)
        if remaps:
            self.set_keymap(remaps)
        if self.key_problems:
            self.notify(
                "\n".join(self.key_problems), title="Keys", severity="warning", markup=False
            )
        self._check_size()
        self.set_interval(5.0, self._watch_terminal)
        if not self.is_headless:
            # An SSH drop hangs up the terminal: leave cleanly (services closed, simulator
            # child stopped) instead of dying mid-write or spinning as an orphan.
            with contextlib.suppress(NotImplementedError, RuntimeError):
                asyncio.get_running_loop().add_signal_handler(
                    signal.SIGHUP, lambda: self.exit(message="terminal closed")
                )
        # Paint first; connect (and import the SDK) after the first frame.
        self.call_after_refresh(self._connect_services)

    @work(exclusive=True, group="connect", exit_on_error=False)
    async def _connect_services(self) -> None:
        status = self.main_screen.query_one(StatusBar)
        try:
            services = await self.connector.connect(status.set_message)
        except Exception as exc:  # every failure is shown, the console stays up
            from tastytui.services.errors import ServiceError

            reason = str(exc) if isinstance(exc, ServiceError) else f"{type(exc).__name__}: {exc}"
            self.post_message(ConnectFailed(reason))
            return
        self.services = services
        # What is loaded by now (Textual, the SDK, pandas, the panes) lives as long as the
        # console: collected once and frozen, and the young generation enlarged (see heap.py).
        # Full collections paused the loop for 60-300 ms, several times a second under the
        # soak and a quote storm (benchmarks/soak.py, storm.py).  Undone on exit.
        self._heap.settle()
        self._unsubscribe.append(
            services.events.subscribe(lambda e: self.post_message(ServiceEvent(e)))
        )
        self._unsubscribe.append(
            services.health.subscribe(lambda h: self.post_message(HealthChanged(h)))
        )
        for name, job in services.jobs().items():
            self.run_worker(job(), name=name, group="services", exit_on_error=False)
        self.set_interval(1.0 / max(0.5, self.flush_hz), self._flush_quotes)
        self.set_interval(60.0, self._poll_market_state)
        self._poll_market_state()
        self.post_message(ServicesReady())

    @on(ServicesReady)
    def _on_services_ready(self) -> None:
        status = self.main_screen.query_one(StatusBar)
        status.set_message("connected")
        for pane in self._panes():
            pane.services_ready()

    @on(ConnectFailed)
    def _connect_failed(self, message: ConnectFailed) -> None:
        self.main_screen.query_one(StatusBar).set_message(f"not connected: {message.reason}")
        self.notify(message.reason, title="Cannot connect", severity="error", timeout=30)

    @work(exclusive=True, group="market-state", exit_on_error=False)
    async def _poll_market_state(self) -> None:
        if self.services is None:
            return
        with contextlib.suppress(Exception):
            sessions = await self.services.accounts.market_status()
            if sessions:
                self.market_state = str(sessions[0].status.value)

    # ------------------------------------------------------------------ data flow

    def _flush_quotes(self) -> None:
        """Drain the QuoteStore's dirty set once per tick and hand it to every pane."""
        if self.services is None:
            return
        dirty = self.services.store.drain_dirty()
        with self.batch_update():
            for pane in self._panes():
                pane.refresh_quotes(dirty)

    @on(ServiceEvent)
    def _service_event(self, message: ServiceEvent) -> None:
        from tastytui.services.events import Level, Notice

        event = message.event
        if isinstance(event, Notice):
            severity = {Level.INFO: "information", Level.WARNING: "warning", Level.ERROR: "error"}
            from tastytui.ui.format import clean

            # Notices quote broker text (reject reasons): never parsed as markup.
            self.notify(clean(event.text), severity=severity[event.level], markup=False)  # type: ignore[arg-type]
        for pane in self._panes():
            pane.service_event(event)
        self._refresh_status()

    def _on_notify(self, event: Notify) -> None:
        # Runs before App._on_notify (handlers are called along the MRO), which adds the new
        # toast and refreshes the rack: make room first (see toasts.py).
        for notification in to_retire(self._notifications):
            self._unnotify(notification, refresh=False)

    def _refresh_notifications(self) -> None:
        # Textual mounts a widget pair per notification; NoticeRack reuses its slots.
        if self._disable_notifications or not self.screen_stack:
            return
        screen = self.screen
        try:
            rack = screen.get_child_by_type(NoticeRack)
        except NoMatches:
            rack = NoticeRack()
            screen.mount(rack)
        self.call_later(rack.show, self._notifications)

    @on(HealthChanged)
    def _health_changed(self) -> None:
        self._refresh_status()

    # ------------------------------------------------------------------ size & terminal

    def on_resize(self) -> None:
        self._check_size()

    def _check_size(self) -> None:
        width, height = self.size
        notice = self.main_screen.query_one(TooSmall)
        small = width < MIN_WIDTH or height < MIN_HEIGHT
        notice.display = small
        if small:
            notice.update(
                f"Terminal too small: {width}×{height}.\n"
                f"tastytui needs at least {MIN_WIDTH}×{MIN_HEIGHT}; enlarge the window."
            )

    def _watch_terminal(self) -> None:
        """Exit when the terminal goes away (an SSH drop) instead of spinning as an orphan."""
        if self.is_headless:
            return
        stream = sys.__stdin__
        if stream is None or stream.closed or not os.isatty(stream.fileno()):
            self.exit(message="terminal closed")

    # ------------------------------------------------------------------ actions

    def action_focus_pane(self, pane_id: str) -> None:
        screen = self.main_screen
        if self.screen is not screen:
            return
        if screen.has_class("-zoom"):
            self._zoom(None)
        pane = screen.query_one(f"#{pane_id}", Pane)
        first = next((w for w in pane.query("*") if w.focusable), None)
        (first or pane).focus()
        if not pane.display:
            # A pane the layout leaves out at this width (the assistant on narrow screens)
            # opens zoomed rather than squeezing the others.
            self._zoom(pane)

    def action_zoom(self) -> None:
        """Toggle the focused pane filling the body (narrow terminals hide columns); the status
        bar and footer stay, so the profile badge is never covered."""
        screen = self.main_screen
        if self.screen is not screen:
            return
        if screen.has_class("-zoom"):
            self._zoom(None)
            return
        chain = screen.focused.ancestors_with_self if screen.focused is not None else []
        target = next((node for node in chain if isinstance(node, Pane)), None)
        if target is None:
            self.notify("Focus a pane first (1-6), then z zooms it.")
        else:
            self._zoom(target)

    def _zoom(self, target: Pane | None) -> None:
        screen = self.main_screen
        if target is None:
            screen.remove_class("-zoom")
            for node in screen.query(".-zoom-hidden, .-zoom-target"):
                node.remove_class("-zoom-hidden", "-zoom-target")
            return
        for pane in self._panes():
            pane.set_class(pane is not target, "-zoom-hidden")
        target.add_class("-zoom-target")
        for container in screen.query("#left, #center, #bottom"):
            container.set_class(target not in container.walk_children(), "-zoom-hidden")
        screen.add_class("-zoom")

    def action_copy(self) -> None:
        """Copy the focused pane's current item; OSC 52 reaches the local clipboard over SSH."""
        focused = self.screen.focused
        chain = focused.ancestors_with_self if focused is not None else []
        pane = next((node for node in chain if isinstance(node, Pane)), None)
        text = pane.copy_text() if pane is not None else None
        if not text:
            self.notify("Nothing to copy here: put the cursor on a row first.")
            return
        self.copy_to_clipboard(text)
        first = text.splitlines()[0]
        more = f" (+{len(text.splitlines()) - 1} lines)" if "\n" in text else ""
        self.notify(f"Copied {first}{more}", markup=False)

    def action_help(self) -> None:
        from tastytui.ui.screens.help import HelpScreen

        self.push_screen(HelpScreen())

    def action_symbol_entry(self) -> None:
        from tastytui.ui.screens.symbol_entry import SymbolEntry

        def chosen(symbol: str | None) -> None:
            if symbol:
                self.post_message(SymbolChosen(symbol))

        self.push_screen(SymbolEntry(), chosen)

    def action_open_history(self) -> None:
        from tastytui.ui.screens.history import HistoryScreen
        from tastytui.ui.screens.secondary import show_secondary

        show_secondary(self, HistoryScreen)

    def action_open_netliq(self) -> None:
        from tastytui.ui.screens.netliq import NetLiqScreen
        from tastytui.ui.screens.secondary import show_secondary

        show_secondary(self, NetLiqScreen)

    def action_open_findings(self) -> None:
        from tastytui.ui.screens.findings import FindingsScreen
        from tastytui.ui.screens.secondary import show_secondary

        show_secondary(self, FindingsScreen)

    def action_switch_account(self) -> None:
        """Cycle to the next account of this login."""
        if self.services is None:
            return
        numbers = self.services.accounts.account_numbers()
        if len(numbers) < 2:
            self.notify("This login has only one account.")
            return
        current = self.services.accounts.current
        following = numbers[(numbers.index(current) + 1) % len(numbers)]
        self.services.accounts.switch(following)
        self.refresh_account()
        self.notify(f"Account {following}")

    @work(exclusive=True, group="account-refresh", exit_on_error=False)
    async def refresh_account(self) -> None:
        if self.services is None:
            return
        accounts = self.services.accounts
        with contextlib.suppress(Exception):
            await accounts.refresh_balances()
            await accounts.refresh_orders()
        self._refresh_status()

    # ------------------------------------------------------------------ routing

    @on(SymbolChosen)
    def _symbol_chosen(self, message: SymbolChosen) -> None:
        self.main_screen.query_one(ChainPane).show_symbol(message.symbol)
        if message.add_to_board:
            self.main_screen.query_one(QuoteBoard).add_symbol(message.symbol)

    @on(AddLeg)
    def _add_leg(self, message: AddLeg) -> None:
        self.main_screen.query_one(BuilderPane).add_leg(message.leg)

    @on(StageTicket)
    def _stage_ticket(self, message: StageTicket) -> None:
        builder = self.main_screen.query_one(BuilderPane)
        builder.load_ticket(message.ticket, message.note, message.source)
        if message.review:
            builder.action_review()

    def action_resume_orders(self) -> None:
        if self.services is not None:
            if self.services.reconciler.halted is None:
                self.notify("New orders are not halted.")
                return
            self.services.reconciler.resume_orders()
            self.notify("New orders resumed.")

    async def action_quit(self) -> None:
        self.exit()

    async def on_unmount(self) -> None:
        # Every way out (quit key, hang-up, lost terminal, a crash) passes here.
        await self._shutdown_services()

    async def _shutdown_services(self) -> None:
        self._heap.release()  # the next app in this process (tests) starts with the defaults
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self.workers.cancel_group(self, "services")
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.connector.close(), timeout=10)
