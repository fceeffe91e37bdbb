"""Symbol entry (``/``) against the simulator: suggestions, add, wrong tickers, hostile text."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest
from textual.geometry import Region
from textual.message import Message
from textual.pilot import Pilot
from textual.widget import Widget
from textual.widgets import Input, OptionList

from tastytui.sim import universe
from tastytui.ui.messages import SymbolChosen
from tastytui.ui.screens.symbol_entry import SymbolEntry
from tastytui.ui.widgets.quote_board import QuoteBoard
from tests.ui.harness import SimThread, make_app, picture_sim_config, until, wait_ready

HOSTILE = "[bold]x[/] \x1b]52;c;SGVsbG8=\x07Apple Inc."


def on_screen(widget: Widget) -> str:
    """What the widget paints, as text."""
    width, height = widget.size
    return "\n".join(s.text for s in widget.render_lines(Region(0, 0, width, height)))


async def open_entry(pilot: Pilot[Any]) -> SymbolEntry:
    await pilot.press("slash")
    await until(pilot, lambda: isinstance(pilot.app.screen, SymbolEntry))
    screen = pilot.app.screen
    assert isinstance(screen, SymbolEntry)
    return screen


async def test_slash_then_typing_adds_a_symbol_and_opens_its_chain(tmp_path: Path) -> None:
    seen: list[Message] = []
    with SimThread(picture_sim_config()) as sim:
        app = make_app(sim.base_url, tmp_path, clock=sim.config.clock)
        async with app.run_test(size=(120, 35), message_hook=seen.append) as pilot:
            await wait_ready(pilot)
            board = app.query_one(QuoteBoard)
            entry = await open_entry(pilot)
            await pilot.press("n", "f", "l")
            await until(pilot, lambda: "NFLX" in entry.suggestions)  # debounced search
            await pilot.press("x", "enter")  # lower case is fine
            await until(pilot, lambda: "NFLX" in board.lines.symbols)
            assert board.lines.current == "NFLX"
            assert any(isinstance(m, SymbolChosen) and m.symbol == "NFLX" for m in seen)


async def test_a_wrong_symbol_gets_a_message_and_changes_nothing(tmp_path: Path) -> None:
    with SimThread(picture_sim_config()) as sim:
        app = make_app(sim.base_url, tmp_path, clock=sim.config.clock)
        async with app.run_test(size=(120, 35)) as pilot:
            await wait_ready(pilot)
            board = app.query_one(QuoteBoard)
            before = list(board.lines.symbols)
            entry = await open_entry(pilot)
            await pilot.press("x", "y", "z", "q", "enter")
            await until(pilot, lambda: "no such symbol: XYZQ — check the ticker" in entry.message)
            assert app.screen is entry
            entry.query_one(Input).value = "9x"
            await pilot.press("enter")
            assert "is not a ticker" in entry.message
            await pilot.press("escape")
            assert not isinstance(app.screen, SymbolEntry)
            assert board.lines.symbols == before


async def test_a_hostile_description_renders_literally(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = universe.BY_SYMBOL["AAPL"]
    monkeypatch.setitem(universe.BY_SYMBOL, "AAPL", dataclasses.replace(spec, description=HOSTILE))
    with SimThread(picture_sim_config()) as sim:
        app = make_app(sim.base_url, tmp_path, clock=sim.config.clock)
        async with app.run_test(size=(120, 35)) as pilot:
            await wait_ready(pilot)
            board = app.query_one(QuoteBoard)
            # The board's detail line shows the cursor symbol's description (DXLink Profile).
            await pilot.press("1", "down", "down", "down")
            assert board.lines.current == "AAPL"
            await until(pilot, lambda: "[bold]x[/]" in on_screen(board.detail))
            assert "\x1b" not in on_screen(board.detail)
            # The symbol entry's suggestions show the search result's description.
            entry = await open_entry(pilot)
            await pilot.press("a", "a", "p")
            await until(pilot, lambda: "AAPL" in entry.suggestions)
            painted = on_screen(entry.query_one(OptionList))
            assert "[bold]x[/]" in painted and "Apple Inc." in painted
            assert "\x1b" not in painted and "\x07" not in painted
