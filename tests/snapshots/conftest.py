"""Deterministic pictures of the console: seeded frozen tape, manual clock, no cursor blink.

A picture session runs one app (at a fixed terminal size and theme) against a simulator and
walks through every pane and screen, taking a named SVG of each with Textual's own exporter;
each is compared with its stored snapshot through syrupy, normalised as pytest-textual-snapshot
does.  Walking all views in one app keeps the suite fast: one start-up per size and theme.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pytest_textual_snapshot import SVGImageExtension
from syrupy import SnapshotAssertion
from textual.pilot import Pilot
from textual.widgets import Input

from tests.snapshots.svg import canonical
from tests.ui.harness import settle

#: The two terminal sizes every picture is taken at: the minimum comfortable size and a wide
#: one that shows the assistant's column.
SIZES = {"120x35": (120, 35), "180x50": (180, 50)}
THEMES = ("tastytui-dark", "tastytui-light")
#: Where a changed picture is written (ignored by git).
FAILED = Path(__file__).parent / "__failed__"


@pytest.fixture(autouse=True)
def _no_cursor_blink(monkeypatch: pytest.MonkeyPatch) -> None:
    # A blinking cursor is drawn or not depending on when the picture is taken.
    monkeypatch.setattr(Input, "_toggle_cursor", lambda self: None)


class Album:
    """Named pictures of one app; ``check()`` fails listing every view that changed."""

    def __init__(self, snapshot: SnapshotAssertion, test: str) -> None:
        self.snapshot = snapshot.use_extension(SVGImageExtension)
        self.test = test
        self.changed: list[str] = []
        self.taken: list[str] = []

    async def take(self, pilot: Pilot[Any], name: str) -> None:
        await settle(pilot)
        # Toasts time out on the wall clock: never part of a picture.
        pilot.app.clear_notifications()
        await pilot.pause(0.2)
        svg = canonical(pilot.app.export_screenshot(title=name))
        self.taken.append(name)
        matched = self.snapshot(name=name) == svg  # syrupy records the comparison
        if not matched:
            self.changed.append(name)
            # Keep what was seen, to compare with the stored picture.
            FAILED.mkdir(exist_ok=True)
            (FAILED / f"{self.test}[{name}].svg").write_text(svg, encoding="utf-8")

    def check(self) -> None:
        assert not self.changed, f"pictures changed: {', '.join(self.changed)}"


@pytest.fixture
def album(snapshot: SnapshotAssertion, request: pytest.FixtureRequest) -> Album:
    return Album(snapshot, request.node.name)


async def until(pilot: Pilot[Any], check: Callable[[], bool], timeout: float = 30.0) -> None:
    async with asyncio.timeout(timeout):
        while not check():
            await pilot.pause(0.05)
