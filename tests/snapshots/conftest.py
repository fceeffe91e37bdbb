"""Deterministic pictures of the console: seeded frozen tape, manual clock, no cursor blink.

One simulator serves a whole module (pictures only read from it); each picture builds a fresh
app at a fixed terminal size and theme, waits until every link is up and the panes have data,
then lets ``snap_compare`` take the SVG.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Input

from tests.ui.harness import SimThread, make_app, picture_sim_config, settle, wait_ready

#: The two terminal sizes every picture is taken at: the minimum comfortable size and a wide
#: one that shows the chat column.
SIZES = {"120x35": (120, 35), "180x50": (180, 50)}
THEMES = ("tastytui-dark", "tastytui-light")


@pytest.fixture(autouse=True)
def _no_cursor_blink(monkeypatch: pytest.MonkeyPatch) -> None:
    # A blinking cursor is drawn or not depending on when the picture is taken.
    monkeypatch.setattr(Input, "_toggle_cursor", lambda self: None)


@pytest.fixture(scope="module")
def picture_sim() -> Iterator[SimThread]:
    with SimThread(picture_sim_config()) as sim:
        yield sim


Steps = Callable[[Pilot[Any]], Awaitable[None]]


class Picture:
    """Builds the app for one picture and the ``run_before`` that readies it."""

    def __init__(self, sim: SimThread, tmp_path: Path) -> None:
        self.sim = sim
        self.tmp_path = tmp_path

    def app(self, theme: str, config_text: str = "") -> Any:
        return make_app(
            self.sim.base_url,
            self.tmp_path,
            clock=self.sim.config.clock,
            theme=theme,
            config_text=config_text,
        )

    @staticmethod
    def ready(then: Steps | None = None) -> Steps:
        async def run_before(pilot: Pilot[Any]) -> None:
            await wait_ready(pilot)
            if then is not None:
                await then(pilot)
                await settle(pilot)

        return run_before


@pytest.fixture
def picture(picture_sim: SimThread, tmp_path: Path) -> Picture:
    return Picture(picture_sim, tmp_path)
