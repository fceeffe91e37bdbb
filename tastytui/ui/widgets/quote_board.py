"""The quote board: a watchlist of underlyings with live quotes, change, IV rank and a sparkline.

The grid is :class:`~tastytui.ui.widgets.board_lines.BoardLines` (Line API, per-row strip
cache); this pane owns the symbol list, the DXLink subscriptions and the slow data (IV rank from
the market metrics, fetched in a worker every five minutes — never per tick).  Quotes arrive only
through :meth:`refresh_quotes` at the app's flush rate.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from datetime import datetime, time, timedelta
from typing import TYPE_CHECKING, Any, ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import BindingType

from tastytui.domain.clock import NEW_YORK, new_york_now
from tastytui.domain.symbols import SymbolError, normalize_equity
from tastytui.ui import format as fmt
from tastytui.ui import keymap
from tastytui.ui.messages import SymbolChosen
from tastytui.ui.widgets.board_lines import BoardDetail, BoardLines
from tastytui.ui.widgets.pane import Pane

if TYPE_CHECKING:
    from tastytui.services.runtime import Services

#: What every board symbol streams: quotes, last sale, and Summary for the previous close.
QUOTE_KINDS = ("Quote", "Trade", "Summary")
CANDLE_PERIOD = "5m"
#: Candle series are held for the rows on screen plus this margin (a 500-row board would
#: otherwise stream 500 histories); they are dropped beyond ``_CANDLE_KEEP`` rows away.
_CANDLE_MARGIN = 10
_CANDLE_KEEP = 40
_METRICS_EVERY = 300.0


class QuoteBoard(Pane):
    """Symbols with last, change, bid/ask, size, IV rank and an intraday sparkline."""

    BINDINGS: ClassVar[list[BindingType]] = keymap.bindings("board")

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.lines = BoardLines(id="board-lines")
        self.detail = BoardDetail(self.lines, id="board-detail")
        self.watchlist_name: str | None = None
        # Separate subscription owners so each group is released on its own.
        self._quote_owner = object()
        self._candle_owner = object()
        self._profile_owner = object()
        self._candles: set[str] = set()
        self._profile: str | None = None
        self._last_check: float | None = None

    def compose(self) -> ComposeResult:
        self.border_title = "Quotes"
        yield self.lines
        yield self.detail

    def on_mount(self) -> None:
        symbols: list[str] = []
        for raw in self.tasty.config.ui.watchlist:
            with contextlib.suppress(SymbolError):
                symbols.append(normalize_equity(raw))
        self.lines.set_symbols(symbols)
        self.lines.clock = self.tasty.clock
        self.lines.empty_text = "connecting…"

    def on_unmount(self) -> None:
        services = self.services
        if services is not None:
            for owner in (self._quote_owner, self._candle_owner, self._profile_owner):
                services.dxlink.release(owner)

    # ------------------------------------------------------------------ hooks

    def services_ready(self) -> None:
        services = self.services
        if services is None:
            return
        lines = self.lines
        lines.store = services.store
        lines.clock = services.clock
        lines.stale_after = services.config.streaming.stale_after
        lines.empty_text = "No symbols — press / to add one, or w to load a watchlist"
        self._subscribe(lines.symbols)
        self._follow_cursor()
        self._update_candles()
        self._load_metrics(list(lines.symbols))
        self.set_interval(_METRICS_EVERY, self._refresh_metrics)
        lines.refresh()
        self.detail.refresh()

    def refresh_quotes(self, dirty: set[str]) -> None:
        lines = self.lines
        if dirty:
            lines.invalidate(dirty)
            current = lines.current
            if current is not None and current in dirty:
                self.detail.refresh()
        clock = lines.clock
        now = clock.monotonic() if clock is not None else 0.0
        # Ages and sparklines move with the clock, not the stream: check them once a second.
        if self._last_check is None or now - self._last_check >= 1.0:
            self._last_check = now
            if lines.check_visible():
                self.detail.refresh()
            self._update_candles()

    # ------------------------------------------------------------------ symbols

    def copy_text(self) -> str | None:
        return self.lines.current

    def add_symbol(self, symbol: str) -> None:
        """Add a symbol to the board (no duplicates) and put the cursor on it."""
        try:
            ticker = normalize_equity(symbol)
        except SymbolError as exc:
            self.notify(fmt.clean(str(exc)), severity="error", markup=False)
            return
        lines = self.lines
        row = lines.row_of(ticker)
        if row is None:
            lines.set_symbols([*lines.symbols, ticker])
            self._subscribe([ticker])
            self._load_metrics([ticker])
            row = len(lines.symbols) - 1
        lines.move_cursor(row)
        self._cursor_changed()

    def set_symbols(self, symbols: Iterable[str], name: str | None = None) -> None:
        """Replace the board's symbols (a broker watchlist); subscriptions follow."""
        lines = self.lines
        new = list(dict.fromkeys(symbols))
        keep = set(new)
        gone = [s for s in lines.symbols if s not in keep]
        added = [s for s in new if lines.row_of(s) is None]
        services = self.services
        if services is not None and gone:
            services.dxlink.unsubscribe(self._quote_owner, QUOTE_KINDS, gone)
        for symbol in gone:
            lines.added_at.pop(symbol, None)
        lines.set_symbols(new)
        lines.move_cursor(0)
        self._subscribe(added)
        self._load_metrics(added)
        self.watchlist_name = name
        self._set_title()
        self._cursor_changed()
        self._update_candles()

    def _set_title(self) -> None:
        if self.watchlist_name:
            title = fmt.inert(f"Quotes · {self.watchlist_name}", max_length=40)
            self.border_title = title
        else:
            self.border_title = "Quotes"

    def _subscribe(self, symbols: Iterable[str]) -> None:
        symbols = list(symbols)
        services = self.services
        if services is None or not symbols:
            return
        services.dxlink.subscribe(self._quote_owner, QUOTE_KINDS, symbols)
        now = services.clock.monotonic()
        for symbol in symbols:
            self.lines.added_at.setdefault(symbol, now)

    def _cursor_changed(self) -> None:
        self._follow_cursor()
        self.detail.refresh()

    def _follow_cursor(self) -> None:
        """Stream the Profile (description) of the cursor symbol only."""
        services = self.services
        current = self.lines.current
        if services is None or current == self._profile:
            return
        if self._profile is not None:
            services.dxlink.unsubscribe(self._profile_owner, ["Profile"], [self._profile])
        if current is not None:
            services.dxlink.subscribe(self._profile_owner, ["Profile"], [current])
        self._profile = current

    def _update_candles(self) -> None:
        """Hold intraday candles for the rows on screen (plus a margin), drop far ones."""
        services = self.services
        lines = self.lines
        if services is None or not lines.symbols:
            return
        first, last = lines.visible_rows()
        want = lines.symbols[max(0, first - _CANDLE_MARGIN) : last + _CANDLE_MARGIN]
        keep = set(lines.symbols[max(0, first - _CANDLE_KEEP) : last + _CANDLE_KEEP])
        since = _session_start_ms(services)
        for symbol in want:
            if symbol not in self._candles:
                lines.candle_of[symbol] = services.dxlink.subscribe_candles(
                    self._candle_owner, symbol, CANDLE_PERIOD, since
                )
                self._candles.add(symbol)
        for symbol in [s for s in self._candles if s not in keep]:
            candle = lines.candle_of.pop(symbol, None)
            if candle is not None:
                services.dxlink.unsubscribe(self._candle_owner, ["Candle"], [candle])
            self._candles.discard(symbol)

    # ------------------------------------------------------------------ IV rank

    def _refresh_metrics(self) -> None:
        self._load_metrics(list(self.lines.symbols))

    @work(group="board-metrics", exit_on_error=False)
    async def _load_metrics(self, symbols: list[str]) -> None:
        services = self.services
        if services is None or not symbols:
            return
        try:
            infos = await services.accounts.metrics(symbols)
        except Exception:  # IV rank is optional: the board keeps working without it
            return
        ranks: dict[str, float] = {}
        for symbol, info in infos.items():
            rank = _iv_rank(info)
            if rank is not None:
                ranks[symbol] = rank
        self.lines.iv_rank.update(ranks)
        self.lines.invalidate(set(ranks))
        self.detail.refresh()

    # ------------------------------------------------------------------ actions

    def action_cursor_move(self, delta: int) -> None:
        self.lines.move_cursor(self.lines.cursor + delta)
        self._cursor_changed()

    def action_cursor_page(self, direction: int) -> None:
        self.lines.move_cursor(self.lines.cursor + direction * self.lines.page_size())
        self._cursor_changed()

    def action_cursor_edge(self, end: int) -> None:
        self.lines.move_cursor(len(self.lines.symbols) - 1 if end else 0)
        self._cursor_changed()

    def action_open_chain(self) -> None:
        symbol = self.lines.current
        if symbol is not None:
            self.post_message(SymbolChosen(symbol, add_to_board=False))

    def action_remove_symbol(self) -> None:
        lines = self.lines
        symbol = lines.current
        if symbol is None:
            self.notify("The board is empty: / adds a symbol.")
            return
        services = self.services
        if services is not None:
            services.dxlink.unsubscribe(self._quote_owner, QUOTE_KINDS, [symbol])
            candle = lines.candle_of.pop(symbol, None)
            if candle is not None:
                services.dxlink.unsubscribe(self._candle_owner, ["Candle"], [candle])
        self._candles.discard(symbol)
        lines.added_at.pop(symbol, None)
        lines.set_symbols([s for s in lines.symbols if s != symbol])
        self._cursor_changed()

    def action_choose_watchlist(self) -> None:
        from tastytui.ui.screens.watchlists import WatchlistPicker

        if self.services is None:
            self.notify("Not connected yet: watchlists load once the broker is up.")
            return

        def chosen(result: tuple[str, list[str]] | None) -> None:
            if result is None:
                return
            name, symbols = result
            self.set_symbols(symbols, name)
            self.notify(f"Loaded {len(symbols)} symbols", title=fmt.clean(name), markup=False)

        self.app.push_screen(WatchlistPicker(), chosen)


def _iv_rank(info: Any) -> float | None:
    """IV rank in percent from a MarketMetricInfo (the API sends a 0–1 fraction)."""
    for name in (
        "tw_implied_volatility_index_rank",
        "tos_implied_volatility_index_rank",
        "implied_volatility_index_rank",
    ):
        value = getattr(info, name, None)
        if value is None:
            continue
        try:
            rank = float(value)
        except (TypeError, ValueError):
            continue
        return rank * 100 if rank <= 1.0 else rank
    return None


def _session_start_ms(services: Services) -> int:
    """Epoch ms of today's 09:30 New York open (yesterday's before the open)."""
    now = new_york_now(services.clock)
    start = datetime.combine(now.date(), time(9, 30), NEW_YORK)
    if now < start:
        start -= timedelta(days=1)
    return int(start.timestamp() * 1000)
