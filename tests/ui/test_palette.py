"""The command palette finds symbols, screens, keyed actions and themes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual.command import CommandList, CommandPalette
from textual.pilot import Pilot

from tastytui.ui import keymap
from tastytui.ui.commands import TastyCommands
from tastytui.ui.screens.watchlists import WatchlistPicker
from tastytui.ui.widgets.quote_board import QuoteBoard
from tests.ui.harness import SimThread, make_app, picture_sim_config, until, wait_ready


def hit_index(pilot: Pilot[Any], text: str) -> int | None:
    screen = pilot.app.screen
    if not isinstance(screen, CommandPalette):
        return None
    results = screen.query_one(CommandList)
    for i in range(results.option_count):
        if text in str(results.get_option_at_index(i).prompt):
            return i
    return None


async def choose(pilot: Pilot[Any], query: str, wanted: str) -> None:
    """Open the palette, type ``query``, wait for the hit ``wanted`` and run it."""
    await pilot.press("ctrl+p")
    await until(pilot, lambda: isinstance(pilot.app.screen, CommandPalette))
    await pilot.press(*query)
    await until(pilot, lambda: hit_index(pilot, wanted) is not None)
    index = hit_index(pilot, wanted)
    assert index is not None
    pilot.app.screen.query_one(CommandList).highlighted = index
    await pilot.press("enter")


async def test_palette_finds_a_symbol_and_an_action(tmp_path: Path) -> None:
    with SimThread(picture_sim_config()) as sim:
        app = make_app(sim.base_url, tmp_path, clock=sim.config.clock)
        async with app.run_test(size=(120, 35)) as pilot:
            await wait_ready(pilot)
            board = app.query_one(QuoteBoard)
            await choose(pilot, "nflx", "Symbol: NFLX")
            await until(pilot, lambda: "NFLX" in board.lines.symbols)
            await choose(pilot, "watchlist", "Quotes: Watchlist")
            await until(pilot, lambda: isinstance(app.screen, WatchlistPicker))


async def test_palette_lists_screens_every_keyed_action_and_themes(tmp_path: Path) -> None:
    app = make_app("http://127.0.0.1:9", tmp_path)  # no broker needed for the command list
    async with app.run_test(size=(120, 35)) as pilot:
        await pilot.pause()
        commands = TastyCommands(app.screen)._commands()
        helps = {c.help.rsplit(" · ", 1)[-1]: c for c in commands}
        for action in keymap.ACTIONS:
            if action.scope in ("app", "board") and action.id != "app.palette":
                assert action.id in helps, action.id
        assert helps["app.history"].title == "Screen: Transaction and order history"
        assert helps["app.history"].help.lower().startswith("f5")
        assert "order.confirm" not in helps  # sending stays on the review screen
        themes = [c.title for c in commands if c.title.startswith("Theme: ")]
        assert "Theme: tastytui-light" in themes
        next(c for c in commands if c.title == "Theme: tastytui-light").run()
        assert app.theme == "tastytui-light"
