"""Pictures of the main screen and every secondary screen, at two sizes and in two themes.

Regenerate only for an intended visual change:
``.venv/bin/python -m pytest tests/snapshots --snapshot-update`` (and say so in the commit).
"""

from __future__ import annotations

from typing import Any

import pytest
from textual.pilot import Pilot

from tests.snapshots.conftest import SIZES, THEMES, Picture

pytestmark = pytest.mark.parametrize("theme", THEMES)
sized = pytest.mark.parametrize("size", list(SIZES))


def press(*keys: str) -> Any:
    async def steps(pilot: Pilot[Any]) -> None:
        await pilot.press(*keys)

    return steps


# The main screen with each pane focused (the focused pane's border and footer keys change).
PANES = {"board": "1", "positions": "2", "chain": "3", "builder": "4", "orders": "5"}


@sized
@pytest.mark.parametrize("pane", list(PANES))
def test_main_screen(snap_compare: Any, picture: Picture, theme: str, size: str, pane: str) -> None:
    assert snap_compare(
        picture.app(theme),
        terminal_size=SIZES[size],
        run_before=picture.ready(press(PANES[pane])),
    )


SCREENS = {"help": ("f1",), "symbol-entry": ("slash", "s", "p")}


@sized
@pytest.mark.parametrize("screen", list(SCREENS))
def test_screen(snap_compare: Any, picture: Picture, theme: str, size: str, screen: str) -> None:
    assert snap_compare(
        picture.app(theme),
        terminal_size=SIZES[size],
        run_before=picture.ready(press(*SCREENS[screen])),
    )
