"""The console shell against the simulator: connects, shows health, stays up on failure."""

from __future__ import annotations

from pathlib import Path

from tastytui.ui.widgets.status_bar import StatusBar
from tests.ui.harness import SimThread, make_app, picture_sim_config, wait_ready


async def test_console_connects_and_shows_account_and_health(tmp_path: Path) -> None:
    with SimThread(picture_sim_config()) as sim:
        app = make_app(sim.base_url, tmp_path, clock=sim.config.clock)
        async with app.run_test(size=(120, 35)) as pilot:
            await wait_ready(pilot)
            text = app.query_one(StatusBar).render().plain
            assert " SIM " in text and "5WT00001" in text and "NL $" in text
            assert "REST ●" in text and "DXLink ●" in text and "Account ●" in text
            assert "10:30:00 ET Open" in text


async def test_unreachable_broker_is_reported_and_the_console_stays_up(tmp_path: Path) -> None:
    app = make_app("http://127.0.0.1:9", tmp_path)
    async with app.run_test(size=(120, 35)) as pilot:
        for _ in range(100):
            await pilot.pause(0.05)
            if "not connected" in app.query_one(StatusBar).message:
                break
        assert "could not reach" in app.query_one(StatusBar).message
        await pilot.press("f1")
        assert type(app.screen).__name__ == "HelpScreen"


async def test_terminal_too_small_notice(tmp_path: Path) -> None:
    app = make_app("http://127.0.0.1:9", tmp_path)
    async with app.run_test(size=(90, 24)) as pilot:
        await pilot.pause(0.1)
        notice = app.query_one("#too-small")
        assert notice.display
        assert "90×24" in str(notice.render())
