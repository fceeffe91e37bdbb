"""``y`` copies the item under the cursor through OSC 52 (the local clipboard, even over SSH)."""

from __future__ import annotations

from pathlib import Path

from tastytui.ui.widgets.chain import ChainPane
from tests.ui.harness import SimThread, make_app, picture_sim_config, settle, wait_ready


async def test_y_copies_the_current_item_of_the_focused_pane(tmp_path: Path) -> None:
    with SimThread(picture_sim_config()) as sim:
        app = make_app(sim.base_url, tmp_path, clock=sim.config.clock)
        async with app.run_test(size=(120, 35)) as pilot:
            await wait_ready(pilot)
            await pilot.press("1", "y")
            assert app.clipboard == "SPY"  # the board's cursor row
            await pilot.press("3")
            await settle(pilot)
            contract = app.query_one(ChainPane).grid.contract()
            assert contract is not None
            await pilot.press("y")
            assert app.clipboard == contract.occ  # the chain's contract, in OCC form
            await pilot.press("2", "y")
            assert app.clipboard.split()[1] == "AAPL"  # the first position group's legs
            app.clear_notifications()
            await pilot.press("5", "y")  # no orders today: nothing to copy, and it says so
            assert app.clipboard.split()[1] == "AAPL"
            assert any("Nothing to copy" in n.message for n in app._notifications)
