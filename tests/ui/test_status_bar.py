"""The status bar against the simulator: every field the console issue lists, in two lines that
fit 120 columns, coloured from the theme, following the clock and the health state."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.cells import cell_len
from rich.text import Text
from textual.color import Color

from tastytui.domain.clock import ManualClock
from tastytui.services.health import BreakerState
from tastytui.ui.widgets.status_bar import StatusBar
from tests.ui.harness import SimThread, make_app, picture_sim_config, until, wait_ready


def lines(bar: StatusBar) -> list[str]:
    return bar.render().plain.split("\n")


def style_of(text: Text, needle: str, after: str = "") -> Any:
    """The style of the span holding all of ``needle`` (searched after ``after``)."""
    start = text.plain.index(needle, text.plain.index(after) + len(after) if after else 0)
    for span in text.spans:
        if span.start <= start and start + len(needle) <= span.end:
            return span.style
    raise AssertionError(f"no one span holds {needle!r}")


async def test_every_field_fits_two_lines_of_120_columns(tmp_path: Path) -> None:
    with SimThread(picture_sim_config()) as sim:
        clock = sim.config.clock
        assert isinstance(clock, ManualClock)
        app = make_app(sim.base_url, tmp_path, clock=clock)
        async with app.run_test(size=(120, 35)) as pilot:
            await wait_ready(pilot)
            bar = app.main_screen.query_one(StatusBar)
            top, bottom = lines(bar)
            for field in (" SIM ", "5WT00001", "NL $", "BP $", "Day ", "10:30:00 ET", "Open"):
                assert field in top, field
            for field in ("REST ●", "DXLink ●", "Account ●", "Breaker closed", "Stale 0"):
                assert field in bottom, field
            assert "Reconciled 0s ago" in bottom
            assert cell_len(top) <= 120 and cell_len(bottom) <= 120

            # Day P&L is signed and coloured by its sign (the seeded book is down today).
            text = bar.render()
            day = top.split("Day ", 1)[1].split()[0]
            assert day[0] in "+-" and "$" in day
            expected = bar.get_component_rich_style(
                "status-bar--up" if day[0] == "+" else "status-bar--down", partial=True
            )
            assert style_of(text, day) == expected

            # Time moves with the injected clock; quotes age into staleness and the last
            # reconciliation ages too (the frozen tape sends nothing new).
            clock.advance(40)
            await until(pilot, lambda: "Stale 0" not in lines(bar)[1])
            top, bottom = lines(bar)
            assert "10:30:40 ET" in top
            assert "Reconciled 40s ago" in bottom
            stale = bottom.split("Stale ", 1)[1].split()[0]
            assert int(stale) > 0
            warn = bar.get_component_rich_style("status-bar--warn", partial=True)
            assert style_of(bar.render(), stale, after="Stale ") == warn


async def test_breaker_and_halt_warnings_fit_and_stand_out(tmp_path: Path) -> None:
    with SimThread(picture_sim_config()) as sim:
        app = make_app(sim.base_url, tmp_path, clock=sim.config.clock)
        async with app.run_test(size=(120, 35)) as pilot:
            await wait_ready(pilot)
            services = app.services
            assert services is not None
            bar = app.main_screen.query_one(StatusBar)
            services.health.update(
                breaker=BreakerState.OPEN,
                orders_halted="New orders halted: 1 position(s) closed at the broker",
                reconcile_findings=3,
            )
            await pilot.pause(0.1)
            bottom = lines(bar)[1]
            assert "Breaker open" in bottom and "(3 findings)" in bottom
            # The halt warning and the keys that deal with it are inside the 120 columns.
            halted = bottom.index("ORDERS HALTED")
            assert cell_len(bottom[: halted + len("ORDERS HALTED f7 review · ^r resume")]) <= 120
            assert "f7 review · ^r resume" in bottom
            text = bar.render()
            down = bar.get_component_rich_style("status-bar--down", partial=True)
            assert style_of(text, "open", after="Breaker ") == down
            assert style_of(text, "ORDERS HALTED") == down
            services.health.update(breaker=BreakerState.HALF_OPEN, orders_halted=None)
            await pilot.pause(0.1)
            bottom = lines(bar)[1]
            assert "Breaker half-open" in bottom and "ORDERS HALTED" not in bottom
            assert style_of(
                bar.render(), "half-open", after="Breaker "
            ) == bar.get_component_rich_style("status-bar--warn", partial=True)


async def test_live_badge_uses_the_danger_colour(tmp_path: Path) -> None:
    with SimThread(picture_sim_config()) as sim:
        app = make_app(sim.base_url, tmp_path, clock=sim.config.clock)
        async with app.run_test(size=(120, 35)) as pilot:
            await wait_ready(pilot)
            live = StatusBar("live")
            await app.main_screen.mount(live)
            await pilot.pause(0.1)
            text = live.render()
            assert text.plain.startswith(" LIVE ")
            style = style_of(text, " LIVE ")
            danger = Color.parse(app.get_css_variables()["badge-live"]).rich_color
            assert danger in (style.bgcolor, style.color)
            sim_style = style_of(app.main_screen.query(StatusBar).first().render(), " SIM ")
            assert sim_style != style
