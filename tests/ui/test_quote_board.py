"""The quote board against the simulator: prices, repaints, staleness, removal, watchlists."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from textual.app import App, ComposeResult

from tastytui.domain.clock import ManualClock
from tastytui.services.quotes import QuoteStore
from tastytui.ui.screens.watchlists import WatchlistPicker
from tastytui.ui.themes import DOMAIN_DEFAULTS
from tastytui.ui.widgets.board_lines import BoardLines
from tastytui.ui.widgets.quote_board import QuoteBoard
from tests.ui.harness import (
    PICTURE_TIME,
    SimThread,
    make_app,
    picture_sim_config,
    until,
    wait_ready,
)

PRICE = re.compile(r"\d[\d,]*\.\d\d")
DEFAULT = ["SPY", "QQQ", "IWM", "AAPL", "MSFT", "NVDA", "TSLA", "AMZN"]


def row_text(board: QuoteBoard, symbol: str) -> str:
    row = board.lines.row_of(symbol)
    assert row is not None, f"{symbol} is not on the board"
    return board.lines.render_line(row + 1 - int(board.lines.scroll_offset.y)).text


async def test_board_shows_the_configured_symbols_with_prices(tmp_path: Path) -> None:
    with SimThread(picture_sim_config()) as sim:
        app = make_app(sim.base_url, tmp_path, clock=sim.config.clock)
        async with app.run_test(size=(120, 35)) as pilot:
            await wait_ready(pilot)
            board = app.query_one(QuoteBoard)
            assert board.lines.symbols == DEFAULT
            store = board.lines.store
            assert store is not None
            await until(pilot, lambda: all(PRICE.search(row_text(board, s)) for s in DEFAULT))
            spy = row_text(board, "SPY")
            assert f"{store.last('SPY'):,.2f}" in spy and "%" in spy
            # IV rank (metrics worker) and the intraday sparkline (candles) arrive too.
            await until(pilot, lambda: "SPY" in board.lines.iv_rank)
            await until(pilot, lambda: any(c in row_text(board, "SPY") for c in "▁▂▃▄▅▆▇█"))
            header = board.lines.render_line(0).text
            assert "Last" in header and "Chg%" in header and "IVR" in header


async def test_new_quotes_repaint_only_their_rows(tmp_path: Path) -> None:
    with SimThread(picture_sim_config()) as sim:
        app = make_app(sim.base_url, tmp_path, clock=sim.config.clock)
        async with app.run_test(size=(120, 35)) as pilot:
            await wait_ready(pilot)
            board = app.query_one(QuoteBoard)
            before = row_text(board, "SPY")
            assert sim.server is not None
            server = sim.server
            sim.run(lambda: server.control.step(20))  # the frozen tape moves on demand
            await until(pilot, lambda: row_text(board, "SPY") != before)
            # Repainting is per row and bounded by what is on screen, not by the tick count.
            rendered = board.lines.rows_rendered
            await pilot.pause(0.5)
            assert board.lines.rows_rendered - rendered <= len(DEFAULT)


async def test_a_stale_symbol_is_dimmed_with_its_age_and_keeps_its_price(tmp_path: Path) -> None:
    clock = ManualClock(PICTURE_TIME)
    with SimThread(picture_sim_config(clock=clock)) as sim:
        app = make_app(sim.base_url, tmp_path, clock=clock)
        async with app.run_test(size=(120, 35)) as pilot:
            await wait_ready(pilot)
            board = app.query_one(QuoteBoard)
            price = PRICE.search(row_text(board, "AAPL"))
            assert price is not None
            assert sim.server is not None
            server = sim.server
            sim.run(lambda: server.control.set_stale("AAPL"))
            clock.advance(30)
            sim.run(lambda: server.control.step(1))  # everyone else gets a fresh event
            await until(pilot, lambda: "age 30s" in row_text(board, "AAPL"))
            await until(pilot, lambda: "age" not in row_text(board, "SPY"))  # SPY is fresh
            aapl = row_text(board, "AAPL")
            assert price.group() in aapl  # never blanked
            row = board.lines.row_of("AAPL")
            assert row is not None
            strip = board.lines.render_line(row + 1)
            assert any(seg.style is not None and seg.style.dim for seg in strip)
            assert "age 30s" in row_text(board, "AAPL")


async def test_delete_removes_the_cursor_symbol_and_its_subscription(tmp_path: Path) -> None:
    with SimThread(picture_sim_config()) as sim:
        app = make_app(sim.base_url, tmp_path, clock=sim.config.clock)
        async with app.run_test(size=(120, 35)) as pilot:
            await wait_ready(pilot)
            board = app.query_one(QuoteBoard)
            await pilot.press("1", "down", "down")  # focus the board, cursor to IWM
            assert board.lines.current == "IWM"
            assert app.services is not None
            dxlink = app.services.dxlink
            holders = dxlink.subscriptions()[("Quote", "IWM")]  # positions may hold it too
            await pilot.press("delete")
            assert "IWM" not in board.lines.symbols and len(board.lines.symbols) == 7
            assert board.lines.current == "AAPL"  # the next row takes the cursor
            assert dxlink.subscriptions().get(("Quote", "IWM"), 0) == holders - 1
            assert ("Quote", "SPY") in dxlink.subscriptions()


async def test_w_loads_a_broker_watchlist(tmp_path: Path) -> None:
    with SimThread(picture_sim_config()) as sim:
        app = make_app(sim.base_url, tmp_path, clock=sim.config.clock)
        async with app.run_test(size=(120, 35)) as pilot:
            await wait_ready(pilot)
            board = app.query_one(QuoteBoard)
            await pilot.press("1", "w")
            await until(pilot, lambda: isinstance(app.screen, WatchlistPicker))
            picker = app.screen
            assert isinstance(picker, WatchlistPicker)
            await until(pilot, lambda: len(picker.choices) > 1)
            names = [c.name for c in picker.choices]
            assert "My Watchlist" in names and "Liquid ETFs" in names  # private and public
            wanted = names.index("Liquid ETFs")
            await pilot.press(*["down"] * wanted, "enter")
            expected = list(picker.choices[wanted].symbols)
            await until(pilot, lambda: board.lines.symbols == expected)
            assert "Liquid ETFs" in str(board.border_title)
            await until(pilot, lambda: all(PRICE.search(row_text(board, s)) for s in expected))


# --------------------------------------------------------------------------- 500 symbols


class GridApp(App[None]):
    def __init__(self, store: QuoteStore, clock: ManualClock) -> None:
        super().__init__()
        self.store = store
        self.clock = clock

    def get_theme_variable_defaults(self) -> dict[str, str]:
        return dict(DOMAIN_DEFAULTS)

    def compose(self) -> ComposeResult:
        lines = BoardLines()
        lines.store = self.store
        lines.clock = self.clock
        yield lines


async def test_500_symbols_render_only_the_rows_on_screen() -> None:
    clock = ManualClock(PICTURE_TIME)
    store = QuoteStore(clock)
    symbols = [f"S{i:04d}" for i in range(500)]
    fields = ("eventSymbol", "bidPrice", "askPrice", "bidSize", "askSize")

    def tick(price: float) -> None:
        values: list[Any] = []
        for s in symbols:
            values += [s, price, price + 0.02, 100, 200]
        store.apply_compact("Quote", fields, values)

    tick(10.0)
    app = GridApp(store, clock)
    async with app.run_test(size=(60, 22)) as pilot:
        lines = app.query_one(BoardLines)
        lines.set_symbols(symbols)
        lines.focus()
        await pilot.pause()
        on_screen = lines.scrollable_content_region.height - 1
        first = lines.rows_rendered
        assert 0 < first <= on_screen
        tick(11.0)  # every symbol changes
        assert lines.invalidate(store.drain_dirty()) == on_screen
        await pilot.pause()
        assert lines.rows_rendered - first <= on_screen
        lines.move_cursor(499)  # jump to the end: still only a screenful is rendered
        await pilot.pause()
        assert lines.visible_rows()[1] == 500
        assert lines.rows_rendered - first <= 3 * on_screen
        assert "S0499" in lines.render_line(on_screen).text
